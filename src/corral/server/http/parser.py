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

llhttp already refuses most RFC 9112 violations (Content-Length with
Transfer-Encoding, repeated or malformed Content-Length, bad chunk sizes, missing
CRLF after chunk data, header names that are not tokens, whitespace before the
colon, obsolete line folding, control characters in values, bad targets).  The
checks it leaves to its caller live in :mod:`corral.server.http.strict` and run
once per request head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httptools

from corral.server.http import strict
from corral.server.http.errors import ParseError


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

_IDLE, _HEAD, _BODY = 0, 1, 2


class RequestParser:
    """Incremental parser for the requests of one connection (pipelining aware)."""

    __slots__ = (
        "limits",
        "_hp",
        "_events",
        "_state",
        "_url",
        "_headers",
        "_head",
        "_head_bytes",
        "_budget",
        "_body_len",
        "_error",
        "_closed",
        "_raw_left",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._budget = self.limits.head_budget()
        self._hp = httptools.HttpRequestParser(self)
        self._events: list[RequestHead | bytes | _End] = []
        self._state = _IDLE
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head: RequestHead | None = None
        self._head_bytes = 0
        self._body_len = 0
        self._error: ParseError | None = None
        self._closed = False
        self._raw_left = 0  # body bytes of an upgrade request, counted by hand

    # -- public API ---------------------------------------------------------
    @property
    def in_message(self) -> bool:
        """True while a request has started but is not complete."""
        return self._state != _IDLE or self._raw_left > 0

    def feed(self, data: bytes) -> list[RequestHead | bytes | _End]:
        """Parse ``data``; return the events it completes."""
        if self._error is not None:
            raise self._error
        if self._closed or not data:
            return []
        events = self._events = []
        if self._raw_left:
            data = self._take_raw(data)
            if not data or self._closed:
                return events
        if self._state != _BODY:
            self._head_bytes += len(data)
        try:
            self._hp.feed_data(data)
        except httptools.HttpParserUpgrade as up:
            self._after_upgrade(data[up.args[0] :] if up.args else b"")
        except httptools.HttpParserError as exc:
            if self._error is None:
                if self._closed:  # data after a request that closes the connection
                    return events
                self._error = strict.error_from_llhttp(exc, self._url)
            raise self._error from None
        if self._state == _HEAD and self._budget and self._head_bytes > self._budget:
            self._fail(431, "request header section too large")
        return events

    def feed_eof(self) -> list[RequestHead | bytes | _End]:
        """The client closed its side: a request cut short is an error."""
        if self._error is not None:
            raise self._error
        if self.in_message and not self._closed:
            self._fail(400, "incomplete request")
        return []

    # -- llhttp callbacks ---------------------------------------------------
    def on_message_begin(self) -> None:
        self._state = _HEAD
        self._url = b""
        self._headers = []
        self._body_len = 0

    def on_url(self, url: bytes) -> None:
        url = self._url + url if self._url else url
        self._url = url
        limit = self.limits.request_line
        if limit and len(url) + 14 > limit:
            self._fail(414, "request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        headers = self._headers
        headers.append((name, value))
        limits = self.limits
        if limits.field_size and len(name) + len(value) + 2 > limits.field_size:
            self._fail(431, "header field too large")
        if limits.fields and len(headers) > limits.fields:
            self._fail(431, "too many header fields")
        if self._state == _BODY:
            strict.check_trailer(name)

    def on_headers_complete(self) -> None:
        try:
            head = strict.build_head(self._hp, self._url, self._headers, self.limits)
        except ParseError as exc:
            self._error = exc
            raise
        self._head = head
        self._state = _BODY
        self._head_bytes = 0
        self._headers = []
        self._events.append(head)
        if head.upgrade and head.content_length:
            self._raw_left = head.content_length

    def on_body(self, body: bytes) -> None:
        limit = self.limits.body
        if limit:
            self._body_len += len(body)
            if self._body_len > limit:
                self._fail(413, "request body too large")
        self._events.append(body)

    def on_message_complete(self) -> None:
        if self._raw_left:  # upgrade request whose body llhttp does not read
            return
        self._finish()

    # -- internals ----------------------------------------------------------
    def _finish(self) -> None:
        self._state = _IDLE
        self._events.append(END)
        head = self._head
        if head is not None and not head.keep_alive:
            self._closed = True
        self._head = None

    def _fail(self, status: int, reason: str) -> None:
        self._error = ParseError(status, reason)
        raise self._error

    def _after_upgrade(self, rest: bytes) -> None:
        """llhttp stops after an upgrade request; HTTP/1.1 goes on for WSGI."""
        self._hp = httptools.HttpRequestParser(self)
        if self._raw_left:
            rest = self._take_raw(rest)
        if rest and not self._closed:
            events = self._events
            more = self.feed(rest)
            events.extend(more)
            self._events = events

    def _take_raw(self, data: bytes) -> bytes:
        n = min(self._raw_left, len(data))
        piece, rest = data[:n], data[n:]
        self._raw_left -= n
        if piece:
            self.on_body(piece)
        if not self._raw_left:
            self._finish()
        return rest
