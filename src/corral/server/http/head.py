"""Parser value types: size limits, the request head, the end-of-message marker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corral.server.config import Settings

# What header fields whose names contain ``_`` need (``Limits.underscore``):
UNDERSCORE_DROPPED = 0  # every one is dropped from environ
UNDERSCORE_SOME = 1  # a trusted peer may pass those named in ``Limits.forwarders``
UNDERSCORE_ANY = 2  # any one may be kept or refused (--header-map, ``*`` forwarders)
UNDERSCORE_REFUSE = 3  # as ANY, and those no forwarder may send are refused at once

_DEFAULT_FORWARDERS = frozenset({"SCRIPT_NAME", "PATH_INFO"})
_ENVIRON_KEYS: dict[str, str | None] = {
    "Content-Type": "CONTENT_TYPE",
    "Content-Length": "CONTENT_LENGTH",
}
FIELD_SIZE = 8190  # --limit-request-field-size by default (and when set to 0)


def environ_key(name: str) -> str | None:
    """The WSGI environ key of a header field name (``HTTP_*``, ``CONTENT_TYPE``,
    ``CONTENT_LENGTH``); None for a name containing ``_``, which would otherwise
    pass for the same name with ``-`` (remembered per name)."""
    key = _ENVIRON_KEYS.get(name, "")
    if key != "":
        return key
    upper = name.upper()
    if upper in ("CONTENT-TYPE", "CONTENT-LENGTH"):
        key = upper.replace("-", "_")
    elif "_" in name:
        key = None
    else:
        key = "HTTP_" + upper.replace("-", "_")
    if len(_ENVIRON_KEYS) < 2048:
        _ENVIRON_KEYS[name] = key
    return key


def forwarder_names(settings: Settings) -> frozenset[str]:
    """``forwarder_headers`` as upper-case names (``*`` stays as it is)."""
    return frozenset(n.strip().upper() for n in settings.forwarder_headers if n.strip())


def underscore_policy(header_map: str, forwarders: frozenset[str]) -> int:
    """One of the ``UNDERSCORE_*`` values for these settings."""
    if header_map == "refuse":
        return UNDERSCORE_REFUSE
    if header_map != "drop" or "*" in forwarders:
        return UNDERSCORE_ANY
    if any("_" in name for name in forwarders):
        return UNDERSCORE_SOME
    return UNDERSCORE_DROPPED


@dataclass(slots=True)
class Limits:
    """Size limits applied while parsing (0 means unlimited), and the parsing
    leniencies Gunicorn users may ask for (all off by default)."""

    request_line: int = 4094
    fields: int = 100
    field_size: int = 8190
    body: int = 0
    fold: bool = False  # --permit-obsolete-folding
    strip_spaces: bool = False  # --strip-header-spaces
    any_method: bool = False  # --permit-unconventional-http-method
    any_version: bool = False  # --permit-unconventional-http-version
    casefold: bool = False  # --casefold-http-method
    underscore: int = UNDERSCORE_SOME
    forwarders: frozenset[str] = _DEFAULT_FORWARDERS
    spool: int = 0  # --body-spool-limit: largest body a buffering worker keeps
    # what the compiled head reader needs of these, in one tuple (see headscan)
    packed: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.packed = (self.request_line, self.field_size, self.fields, self.body,
                       int(self.underscore == UNDERSCORE_REFUSE), int(self.casefold))

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """Limits from the ``limit_request_*`` and the leniency settings."""
        forwarders = forwarder_names(settings)
        return cls(
            settings.limit_request_line,
            settings.limit_request_fields,
            # 0 is the default, not "unlimited", as in Gunicorn
            settings.limit_request_field_size or FIELD_SIZE,
            settings.limit_request_body,
            settings.permit_obsolete_folding,
            settings.strip_header_spaces,
            settings.permit_unconventional_http_method,
            settings.permit_unconventional_http_version,
            settings.casefold_http_method,
            underscore_policy(settings.header_map, forwarders),
            forwarders,
            settings.body_spool_limit,
        )

    def head_budget(self) -> int:
        """Bytes a request head may occupy before it is refused (0 = unlimited)."""
        if not self.fields or not self.field_size:
            return 0
        line = self.request_line or 65536
        return line + 4 + (self.fields + 2) * (self.field_size + 4)


@dataclass(slots=True)
class RequestHead:
    """A checked request head (every field given: no defaults to work out per request)."""

    method: str  # e.g. "GET"
    raw_uri: str  # the request target exactly as sent (latin-1 decoded)
    path: str  # percent-encoded path part of the target
    query: str  # query string without "?"
    version: tuple[int, int]  # (1, 1) or (1, 0)
    # the field lines as sent (latin-1): name, value, name, value... (one list,
    # no pair per field: the pairs are made only when asked for, see headers)
    lines: list[str]
    content_length: int | None
    chunked: bool
    keep_alive: bool  # what the request allows (version + Connection header)
    expect_continue: bool
    upgrade: bool
    # the fields by WSGI environ key (HTTP_*, CONTENT_TYPE, CONTENT_LENGTH), a
    # repeated field's values joined with commas, names with "_" left out: made
    # while the head is checked, so the environ builder adds them in one step
    fields: dict[str, str]
    underscored: bool  # a field name with "_" was sent (left out of fields)
    # a field the environ builder reads from a trusted peer (the forwarded
    # scheme or client address: see strict.flag_forwarding) was sent
    forwarded: bool

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The field lines as sent: (name, value) pairs, latin-1."""
        lines = self.lines
        return list(zip(lines[0::2], lines[1::2], strict=True))


class _End:
    __slots__ = ()

    def __repr__(self) -> str:
        return "END"


END = _End()
