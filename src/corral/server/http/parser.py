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

Ordinary requests whose head (and Content-Length body, if any) arrive whole in
one ``feed`` skip llhttp: :func:`corral.server.http.strict.fast_head` takes them
with one regular expression over a grammar narrower than llhttp's, and leaves
everything else, including every request to refuse, to llhttp.  Both routes give
the same events (``tests/server/test_hotpath_equivalence.py`` compares them).

With ``--permit-obsolete-folding`` or ``--strip-header-spaces`` the parser is a
:class:`LenientParser`: it holds each request head back until it is complete and
hands :func:`corral.server.http.strict.rewrite_head`'s version of it to the
machinery above, so only header sections are rewritten, never bodies.
"""

from __future__ import annotations

from typing import NoReturn

import httptools

from corral.server.http import strict
from corral.server.http.errors import ParseError
from corral.server.http.head import END, Limits, RequestHead, _End

__all__ = ["END", "Limits", "ParseError", "RequestHead", "RequestParser"]

_IDLE, _HEAD, _BODY = 0, 1, 2


class RequestParser:
    """Incremental parser for the requests of one connection (pipelining aware)."""

    fast = True  # take ordinary whole heads without llhttp (False: llhttp for all)

    __slots__ = (
        "limits",
        "_hp",
        "_events",
        "_state",
        "_url",
        "_headers",
        "_head",
        "_head_bytes",
        "_cur_len",
        "_budget",
        "_body_len",
        "_error",
        "_closed",
        "_raw_left",
        "_method",
        "_method_buf",
        "_start",
    )

    def __new__(cls, limits: Limits | None = None) -> RequestParser:
        if cls is RequestParser and limits is not None and limits.rewrites_heads:
            cls = LenientParser
        return object.__new__(cls)

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._budget = self.limits.head_budget()
        self._hp = self._llhttp()
        self._events: list[RequestHead | bytes | _End] = []
        self._state = _IDLE
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head: RequestHead | None = None
        self._head_bytes = 0
        self._cur_len = 0
        self._body_len = 0
        self._error: ParseError | None = None
        self._closed = False
        self._raw_left = 0  # body bytes of an upgrade request, counted by hand
        self._method: str | None = None  # an extension method llhttp does not know
        self._method_buf = b""
        self._start: bytes | None = None  # request line bytes, for extension methods

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
        if self._method_buf:
            return self._extension_method(data)
        size = self._cur_len = len(data)  # also what counts against the head budget
        if self._state == _IDLE and self._method is None and self.fast:
            data = self._fast(data, events)
            if not data:
                return events
        if self._state == _IDLE:
            self._start = data  # the bytes of a request line starting here
        elif self._state == _HEAD and self._start is not None and len(self._start) < 256:
            self._start += data
        else:
            self._start = None
        try:
            self._hp.feed_data(data)
        except httptools.HttpParserInvalidMethodError:
            start, self._start = self._start, None
            if start is None or events or self._closed:  # the line began mid-data
                self._error = ParseError(400, "invalid method")
                raise self._error from None
            return self._extension_method(start)
        except httptools.HttpParserUpgrade as up:
            self._after_upgrade(data[up.args[0] :] if up.args else b"")
        except httptools.HttpParserError as exc:
            if self._error is None:
                if self._closed:  # data after a request that closes the connection
                    return events
                self._error = strict.error_from_llhttp(exc, self._url)
            raise self._error from None
        if self._state == _HEAD:
            self._head_bytes += size
            if self._budget and self._head_bytes > self._budget:
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
        self._head_bytes = 0
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
        self._headers.append((name, value))  # checked once the section is complete

    def on_headers_complete(self) -> None:
        try:
            # every field fits in the bytes fed since the head began
            head = strict.build_head(self._hp, self._url, self._headers, self.limits,
                                     self._head_bytes + self._cur_len, self._method)
            self._method = None
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
        if self._headers:  # trailer fields of a chunked body
            try:
                strict.check_trailers(self._headers, self.limits)
            except ParseError as exc:
                self._error = exc
                raise
        if self._raw_left:  # upgrade request whose body llhttp does not read
            return
        self._finish()

    # -- internals ----------------------------------------------------------
    def _fast(self, data: bytes, events: list[RequestHead | bytes | _End]) -> bytes:
        """Take the ordinary requests (see :func:`strict.fast_head`) that sit
        whole at the front of ``data`` without llhttp; return what is left for it."""
        pos = 0
        size = len(data)
        limits = self.limits
        while True:
            end = data.find(b"\r\n\r\n", pos) + 4
            if end < 4:
                break
            head = strict.fast_head(data, pos, end, limits)
            if head is None:
                break
            clen = head.content_length
            if clen:
                if size - end < clen:  # the body is still to come: llhttp reads it
                    break
                events.append(head)
                events.append(data[end : end + clen])
                end += clen
            else:
                events.append(head)
            events.append(END)
            pos = end
            if not head.keep_alive:
                self._closed = True  # what follows a closing request is ignored
                return b""
            if pos == size:
                return b""
        return data[pos:] if pos else data

    def _finish(self) -> None:
        self._state = _IDLE
        self._events.append(END)
        head = self._head
        if head is not None and not head.keep_alive:
            self._closed = True
        self._head = None

    def _fail(self, status: int, reason: str) -> NoReturn:
        self._error = ParseError(status, reason)
        raise self._error

    def _llhttp(self) -> httptools.HttpRequestParser:
        hp = httptools.HttpRequestParser(self)
        if self.limits.any_version:
            # any HTTP/digit.digit, taken as 1.1 by strict.build_head, so the
            # connection's fate is this parser's to decide (llhttp would close
            # after an "HTTP/2.0" request as after HTTP/1.0)
            hp.set_dangerous_leniencies(lenient_version=True, lenient_keep_alive=True)
        return hp

    def _after_upgrade(self, rest: bytes) -> None:
        """llhttp stops after an upgrade request; HTTP/1.1 goes on for WSGI."""
        self._hp = self._llhttp()
        if self._raw_left:
            rest = self._take_raw(rest)
        if rest and not self._closed:
            events = self._events
            more = RequestParser.feed(self, rest)
            events.extend(more)
            self._events = events

    def _extension_method(self, data: bytes) -> list[RequestHead | bytes | _End]:
        """llhttp knows a fixed set of methods; RFC 9110 allows any token.

        The request line is handed to a fresh llhttp parser with a placeholder
        method, and the real one is put into the head.  (Only for a request that
        starts a piece of input: a pipelined one right after another is refused.)
        """
        buf = self._method_buf + data
        limits = self.limits
        if limits.any_method:  # no length cap but the request line's
            m = strict.METHOD_SP_ANY.match(buf)
            cap = limits.request_line or max(self._budget, 65536)
        else:
            m = strict.METHOD_SP.match(buf)
            cap = strict.MAX_METHOD
        if m is None:
            if len(buf) <= cap and strict.METHOD_PREFIX.fullmatch(buf):
                self._method_buf = buf  # wait for the rest of the method
                self._state = _HEAD
                return []
            if limits.any_method and len(buf) > cap:
                self._fail(414, "request line too long")
            self._fail(400, "invalid method")
        if limits.any_method and limits.request_line and m.end(1) > limits.request_line:
            self._fail(414, "request line too long")
        self._method_buf = b""
        method = m.group(1).decode("ascii")
        self._method = method.upper() if limits.casefold else method
        self._hp = self._llhttp()
        self._state = _IDLE
        return RequestParser.feed(self, b"GET" + buf[m.end(1) :])

    def _take_raw(self, data: bytes) -> bytes:
        n = min(self._raw_left, len(data))
        piece, rest = data[:n], data[n:]
        self._raw_left -= n
        if piece:
            self.on_body(piece)
        if not self._raw_left:
            self._finish()
        return rest


class LenientParser(RequestParser):
    """A :class:`RequestParser` that rewrites each request head before parsing it
    (obsolete line folding, whitespace before a colon; see
    :func:`corral.server.http.strict.rewrite_head`).

    A head is held back until its blank line arrives; then the rewritten head
    alone goes to :meth:`RequestParser.feed`, and the body after it goes in
    pieces that end where the message may end (its Content-Length, or a blank
    line for a chunked body), so the next pipelined head is rewritten too."""

    __slots__ = ("_pending", "_clen_left", "_tail")

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._pending = b""  # an incomplete head
        self._clen_left = 0  # Content-Length body bytes still to come
        self._tail = b""  # the last bytes of a chunked body fed so far

    def feed(self, data: bytes) -> list[RequestHead | bytes | _End]:
        if self._error is not None:
            raise self._error
        if self._closed or not data:
            return []
        events: list[RequestHead | bytes | _End] = []
        while data and not self._closed:
            if self._state == _BODY or self._raw_left or self._method_buf:
                cut = self._body_cut(data)
                piece, data = data[:cut], data[cut:]
                events.extend(RequestParser.feed(self, piece))
                continue
            pending = (self._pending + data).lstrip(b"\r\n")
            end = pending.find(b"\r\n\r\n") + 4
            if end < 4:
                if self._budget and len(pending) > self._budget:
                    self._pending = b""  # too large: refused as usual
                    self._state = _IDLE
                    return events + RequestParser.feed(self, pending)
                self._pending = pending
                self._state = _HEAD if pending else _IDLE
                return events
            self._pending = b""
            self._state = _IDLE
            limits = self.limits
            head = strict.rewrite_head(pending[:end], limits.fold, limits.strip_spaces)
            events.extend(RequestParser.feed(self, head))
            data = pending[end:]
            current = self._head
            if self._state == _BODY and current is not None and not current.chunked:
                self._clen_left = current.content_length or 0
            self._tail = b""
        return events

    def _body_cut(self, data: bytes) -> int:
        """How much of ``data`` may go to llhttp without passing the message end."""
        if self._raw_left:
            return min(self._raw_left, len(data))
        if self._method_buf:
            return len(data)
        if self._clen_left:
            n = min(self._clen_left, len(data))
            self._clen_left -= n
            return n
        tail = self._tail
        at = (tail + data).find(b"\r\n\r\n")
        if at < 0:
            self._tail = (tail + data)[-3:]
            return len(data)
        self._tail = b""
        return at + 4 - len(tail)
