"""Parser value types: size limits, the request head, the end-of-message marker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Limits:
    """Size limits applied while parsing (0 means unlimited)."""

    request_line: int = 4094
    fields: int = 100
    field_size: int = 8190
    body: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """Limits from the ``limit_request_*`` settings."""
        return cls(
            int(getattr(settings, "limit_request_line", 4094) or 0),
            int(getattr(settings, "limit_request_fields", 100) or 0),
            int(getattr(settings, "limit_request_field_size", 8190) or 0),
            int(getattr(settings, "limit_request_body", 0) or 0),
        )

    def head_budget(self) -> int:
        """Bytes a request head may occupy before it is refused (0 = unlimited)."""
        if not self.fields or not self.field_size:
            return 0
        line = self.request_line or 65536
        return line + 4 + (self.fields + 2) * (self.field_size + 4)


@dataclass(slots=True)
class RequestHead:
    method: str  # e.g. "GET"
    raw_uri: str  # the request target exactly as sent (latin-1 decoded)
    path: str  # percent-encoded path part of the target
    query: str  # query string without "?"
    version: tuple[int, int]  # (1, 1) or (1, 0)
    headers: list[tuple[str, str]] = field(default_factory=list)  # as sent, latin-1
    content_length: int | None = None
    chunked: bool = False
    keep_alive: bool = True  # what the request allows (version + Connection header)
    expect_continue: bool = False
    upgrade: bool = False


class _End:
    __slots__ = ()

    def __repr__(self) -> str:
        return "END"


END = _End()
