"""Sans-IO HTTP/1.1 request parser built on httptools (llhttp).

Bytes go in with :meth:`RequestParser.feed`; events come out.  The parser never
touches a socket, so every worker class shares it and it can be tested alone.

Events returned by ``feed``/``feed_eof``, in order:

* :class:`RequestHead` -- the request line and header section are complete.
* ``bytes`` -- a piece of (de-chunked) body.
* :data:`END` -- the message is complete; the parser is ready for the next
  pipelined request on the same connection.

A protocol violation raises :class:`corral.server.http.errors.ParseError` with the
HTTP status to answer (400, 413, 414, 431, 501, 505) and a short reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Limits:
    """Size limits applied while parsing (0 means unlimited where noted)."""

    request_line: int = 4094  # 0 = unlimited
    fields: int = 100
    field_size: int = 8190
    body: int = 0  # 0 = unlimited


@dataclass(slots=True)
class RequestHead:
    method: str  # e.g. "GET"
    raw_uri: str  # the request target exactly as sent (latin-1 decoded)
    path: str  # percent-encoded path part of the target
    query: str  # query string without "?"
    version: tuple[int, int]  # (1, 1) or (1, 0)
    headers: list[tuple[str, str]] = field(default_factory=list)  # names upper-cased? no: as sent, latin-1
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
