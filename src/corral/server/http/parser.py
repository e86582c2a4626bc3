"""Sans-IO HTTP/1.1 request parser built on httptools (llhttp).

Bytes go in with :meth:`RequestParser.feed`; events come out.  The parser never
touches a socket, so every worker class shares it and it can be tested alone.

Events returned by ``feed``/``feed_eof``, in order:

* :class:`RequestHead` -- the request line and header section are complete.
* ``bytes`` -- a piece of (de-chunked) body.
* :data:`END` -- the message is complete; the parser is ready for the next
  pipelined request on the same connection.

A protocol violation is a :class:`corral.server.http.errors.ParseError` with the
HTTP status to answer (400, 413, 414, 431, 501, 505) and a short reason.  When a
piece of input holds events before the violation (a complete request, then
bytes that are not one), ``feed`` returns those events and keeps the error:
:attr:`RequestParser.error` holds it and the next ``feed``/``feed_eof`` raises
it.  So the requests before bad bytes are answered whatever the reads were.

The parser knows where every message starts and ends, so the results never
depend on how the input was cut into reads:

* a request head is cut at its blank line and fed to llhttp alone, piece by
  piece as it arrives, so llhttp refuses bad bytes as soon as they come and
  every head starts llhttp at its first byte (which is what lets a head whose
  method llhttp does not know be read, see :meth:`RequestParser._take_method`);
  llhttp is never fed past the head budget, nor further than a little past
  ``--limit-request-line`` before the request line ends, and the target is
  measured once complete, so the first violation in byte order is the one
  answered;
* bodies are framed here: a Content-Length body is counted, a chunked body is
  read by a small decoder whose chunk-size lines (extensions included) are
  bounded by ``--limit-request-field-size`` (8190 bytes when unlimited) and
  whose trailer section is bounded like a header section; extension bytes count
  against ``--limit-request-body`` as body bytes do.

llhttp already refuses most RFC 9112 violations in heads (repeated or malformed
Content-Length, header names that are not tokens, whitespace before the colon,
obsolete line folding, control characters in values, bad targets).  The checks
it leaves to its caller live in :mod:`corral.server.http.strict` and run once
per request head; ``--limit-request-field-size`` is measured there on the raw
lines, as Gunicorn measures it (the line as sent, plus its CRLF).

Ordinary requests whose head (and Content-Length body, if any) arrive whole in
one ``feed`` skip llhttp: :func:`corral.server.http.strict.fast_head` takes them
with one regular expression over a grammar narrower than llhttp's, and leaves
everything else, including every request to refuse, to llhttp.  Both routes give
the same events (``tests/server/test_hotpath_equivalence.py`` compares them).

With ``--permit-obsolete-folding`` or ``--strip-header-spaces`` the parser is a
:class:`LenientParser`: it holds each request head back until it is complete and
hands :func:`corral.server.http.strict.rewrite_head`'s version of it to llhttp,
so only header sections are rewritten, never bodies.
"""

from __future__ import annotations

from typing import NoReturn

import httptools

from corral.server.http import strict
from corral.server.http.errors import ParseError
from corral.server.http.head import END, Limits, RequestHead, _End

__all__ = ["END", "Limits", "ParseError", "RequestHead", "RequestParser"]

Event = RequestHead | bytes | _End

# Where the parser is.  _HEAD: a request head has begun (llhttp reads it);
# _NOBODY: the head is complete and llhttp is about to end the message; then the
# body states; _CLOSED: a request that closes the connection was read, so what
# follows is ignored.
(_IDLE, _HEAD, _NOBODY, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS,
 _CLOSED) = range(9)
_BODY_STATES = frozenset({_LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS})
DEFAULT_CHUNK_LINE = 8190  # chunk-size line bound when --limit-request-field-size is 0
DEFAULT_TRAILERS = 8190 * 32  # trailer section bound when the header limits are 0
_LINE_SLACK = 80  # room for the method and version around a target at the limit
_RAW_KEPT = 65536  # head bytes kept for an extension method when lines are not measured


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
        "_raw",
        "_tail",
        "_line_seen",
        "_budget",
        "_body_len",
        "_left",
        "_line",
        "_error",
        "_method",
        "_method_buf",
        "_chunk_line",
        "_trailer_max",
    )

    def __new__(cls, limits: Limits | None = None) -> RequestParser:
        if cls is RequestParser and limits is not None and limits.rewrites_heads:
            cls = LenientParser
        return object.__new__(cls)

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits = limits or Limits()
        self._budget = limits.head_budget()
        self._chunk_line = limits.field_size or DEFAULT_CHUNK_LINE
        self._trailer_max = self._budget or DEFAULT_TRAILERS
        self._hp = self._llhttp()
        self._events: list[Event] = []
        self._state = _IDLE
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head: RequestHead | None = None
        self._head_bytes = 0  # bytes of the current head fed so far
        self._raw: list[bytes] = []  # those bytes, for measuring its lines
        self._tail = b""  # the last bytes of the head so far (a blank line may span reads)
        self._line_seen = False  # the request line of the head so far has ended
        self._body_len = 0  # body bytes (and chunk extension bytes) of this message
        self._left = 0  # bytes of a Content-Length body or of a chunk still to come
        self._line = bytearray()  # a chunk-size line, CRLF or trailer section in progress
        self._error: ParseError | None = None
        self._method: str | None = None  # an extension method llhttp does not know
        self._method_buf: bytes | None = None  # the start of such a head, until its SP

    # -- public API ---------------------------------------------------------
    @property
    def in_message(self) -> bool:
        """True while a request has started but is not complete."""
        return _IDLE != self._state != _CLOSED

    @property
    def error(self) -> ParseError | None:
        """The protocol violation found, if any: once set, ``feed`` raises it."""
        return self._error

    def feed(self, data: bytes) -> list[Event]:
        """Parse ``data``; return the events it completes.

        Raises :class:`ParseError` when ``data`` holds a violation and no event
        before it; with events before it, returns them and keeps the error for
        the next call (see :attr:`error`)."""
        if self._error is not None:
            raise self._error
        if self._state == _CLOSED or not data:
            return []
        events = self._events = []
        try:
            self._parse(data)
        except ParseError as exc:
            self._error = exc
            if not events:
                raise
        return events

    def feed_eof(self) -> list[Event]:
        """The client closed its side: a request cut short is an error."""
        if self._error is not None:
            raise self._error
        if self.in_message:
            self._fail(400, "incomplete request")
        return []

    # -- llhttp callbacks ---------------------------------------------------
    def on_message_begin(self) -> None:
        pass  # the state is this parser's own (see _parse)

    def on_url(self, url: bytes) -> None:
        self._url = self._url + url if self._url else url  # measured once complete

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._headers:
            self._check_url()
        self._headers.append((name, value))  # checked once the section is complete

    def _check_url(self) -> None:
        """--limit-request-line (414), once the target is complete: llhttp hands it
        over in as many pieces as there were reads, and a bad byte in it must win
        (or not) the same way however it was cut."""
        limit = self.limits.request_line
        if limit and len(self._url) + 14 > limit:
            self._fail(414, "request line too long")

    def on_headers_complete(self) -> None:
        limits = self.limits
        try:
            if not self._headers:
                self._check_url()
            if limits.field_size and self._head_bytes > limits.field_size:  # a line may be
                strict.check_field_lines(b"".join(self._raw), limits.field_size)  # too long
            head = strict.build_head(self._hp, self._url, self._headers, limits, self._method)
        except ParseError as exc:
            self._error = exc
            raise
        self._head = head
        self._headers = []
        self._events.append(head)
        if head.chunked:
            self._state = _CHUNK_SIZE
            self._line = bytearray()
        elif head.content_length:
            self._state = _LENGTH
            self._left = head.content_length
        else:
            self._state = _NOBODY

    def on_body(self, body: bytes) -> None:
        pass  # never called: llhttp reads heads only

    def on_message_complete(self) -> None:
        if self._state == _NOBODY:
            if not self._hp.should_keep_alive():
                # llhttp would refuse what follows (it reads Proxy-Connection as
                # Connection, for one); whether the connection goes on is
                # strict.check_head's decision, so a fresh llhttp reads the next head
                self._hp = self._llhttp()
            self._finish()

    # -- the input loop -------------------------------------------------------
    # Each step takes ``data`` from ``pos`` and returns where it stopped, so a read
    # holding many small messages or chunks is never copied once per message.
    def _parse(self, data: bytes) -> None:
        pos = 0
        size = len(data)
        fast = self.fast  # until a head of this read needs llhttp (both give the same)
        while pos < size:
            state = self._state
            if state == _IDLE:
                if data[pos] in b"\r\n":  # empty lines before a request line are ignored
                    pos += 1
                    continue
                if fast:
                    taken = self._fast(data, pos, self._events)
                    if taken != pos:  # took some: see what follows afresh
                        pos = taken
                        continue
                    fast = False
                self._begin()
                data, pos = self._head_piece(data, pos)
                size = len(data)
            elif state == _HEAD:
                data, pos = self._head_piece(data, pos)
                size = len(data)
            elif state == _LENGTH or state == _CHUNK_DATA:
                pos = self._counted(data, pos)
            elif state == _CLOSED:
                return
            elif state == _CHUNK_SIZE:
                pos = self._chunk_size(data, pos)
            elif state == _CHUNK_END:
                pos = self._chunk_end(data, pos)
            else:
                pos = self._trailers(data, pos)

    def _begin(self) -> None:
        """A request head begins at the current position."""
        self._state = _HEAD
        self._url = b""
        self._headers = []
        self._head_bytes = 0
        self._raw = []
        self._tail = b""
        self._line_seen = False
        self._body_len = 0
        self._method = None
        self._method_buf = None

    def _head_piece(self, data: bytes, pos: int) -> tuple[bytes, int]:
        """Feed llhttp the part of ``data`` from ``pos`` up to the end of the head;
        return where to go on (a new buffer when a placeholder method went in)."""
        if self._method_buf is not None:
            data, pos = self._take_method(self._method_buf + data[pos:]), 0
            if not data:
                return data, pos
        tail = self._tail
        end = head_end(tail, data, pos)
        found = end >= 0
        if not found:
            end = len(data)
        # llhttp never reads past the head budget, nor far past the request-line
        # limit while the line has not ended, so what it finds before those points
        # comes first however the head was cut into reads
        budget = cap = self._budget
        line_limit = self.limits.request_line
        if line_limit and not self._line_seen and (not cap or line_limit + _LINE_SLACK < cap):
            cap = line_limit + _LINE_SLACK
        if cap and self._head_bytes + end - pos > cap:
            end = pos + cap - self._head_bytes
            found = False
        piece = data[pos:end] if pos or end < len(data) else data
        if not self._line_seen:
            self._line_seen = b"\n" in piece
        self._tail = b"" if found else (tail + piece)[-3:]
        if self.limits.field_size or self._head_bytes <= _RAW_KEPT:
            self._raw.append(piece)  # (without a field-size limit, only the start)
        self._head_bytes += len(piece)
        try:
            self._hp.feed_data(piece)
        except httptools.HttpParserInvalidMethodError:
            if self._error is not None:
                raise self._error from None
            start = b"".join(self._raw)  # every byte of this head so far
            return self._take_method(start + data[end:]), 0
        except httptools.HttpParserUpgrade:
            self._hp = self._llhttp()  # llhttp stops after an upgrade head
            if self._state == _NOBODY:
                self._finish()
        except httptools.HttpParserError as exc:
            if self._error is not None:
                raise self._error from None
            self._fail_with(strict.error_from_llhttp(exc, self._url))
        state = self._state
        if state == _HEAD and end < len(data):
            if not self._line_seen and cap and self._head_bytes >= cap:
                self._fail(414, "request line too long")
            if budget and self._head_bytes >= budget:
                self._fail(431, "request header section too large")
        elif state in _BODY_STATES:
            self._hp = self._llhttp()  # llhttp expects a body it will never see
        return data, end

    def _take_method(self, buf: bytes) -> bytes:
        """llhttp knows a fixed set of methods; RFC 9110 allows any token.

        ``buf`` is the start of a head llhttp refused at its method.  Once the
        method and the space after it are here, the head goes to a fresh llhttp
        parser with a placeholder method and the real one is put into the head;
        returns those bytes (b"" while the method is still arriving)."""
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
                return b""
            if limits.any_method and len(buf) > cap:
                self._fail(414, "request line too long")
            self._fail(400, "invalid method")
        if limits.any_method and limits.request_line and m.end(1) > limits.request_line:
            self._fail(414, "request line too long")
        method = m.group(1).decode("ascii")
        self._begin()
        self._method = method.upper() if limits.casefold else method
        self._hp = self._llhttp()
        return b"GET" + buf[m.end(1) :]

    def _counted(self, data: bytes, pos: int) -> int:
        """Content-Length body bytes, or the data of one chunk."""
        end = min(len(data), pos + self._left)
        piece = data[pos:end] if pos or end < len(data) else data
        self._left -= end - pos
        length = self._state == _LENGTH
        self._body(piece, len(piece) if length else 0)  # a chunk was counted whole
        if not self._left:
            if length:
                self._finish()
            else:
                self._state = _CHUNK_END
        return end

    def _chunk_size(self, data: bytes, pos: int) -> int:
        """A chunk-size line (with its extensions), bounded by the field-size limit."""
        limit = self._chunk_line
        line = self._line
        if line:  # the line began in an earlier read
            done = len(line)
            line += data[pos : pos + limit + 2 - done]
            at = line.find(b"\r\n", max(0, done - 1))
            if at < 0:
                if len(line) > limit:
                    self._fail(400, "chunk size line too long")
                return len(data)
            text, self._line = bytes(line[:at]), bytearray()
            after = pos + at + 2 - done
        else:
            at = data.find(b"\r\n", pos, pos + limit + 2)
            if at < 0:
                if len(data) - pos > limit:
                    self._fail(400, "chunk size line too long")
                line += data[pos:]
                return len(data)
            text, after = data[pos:at], at + 2
        if len(text) > limit:
            self._fail(400, "chunk size line too long")
        m = strict.CHUNK_LINE.fullmatch(text)
        if m is None:
            self._fail(400, "invalid chunk size line")
        size = int(m.group(1), 16)
        self._body(b"", len(text) - m.end(1) + size)  # extensions count as body bytes
        if size:
            self._state = _CHUNK_DATA
            self._left = size
        else:
            self._state = _TRAILERS
        return after

    def _chunk_end(self, data: bytes, pos: int) -> int:
        """The CRLF after a chunk's data."""
        line = self._line
        end = min(len(data), pos + 2 - len(line))
        line += data[pos:end]
        if line != b"\r\n"[: len(line)]:
            self._fail(400, "missing CRLF after chunk data")
        if len(line) == 2:
            self._line = bytearray()
            self._state = _CHUNK_SIZE
        return end

    def _trailers(self, data: bytes, pos: int) -> int:
        """The trailer section: a CRLF alone, or fields up to a blank line."""
        most = self._trailer_max
        line = self._line
        if line:  # the section began in an earlier read
            done = len(line)
            line += data[pos : pos + most + 4 - done]
            if line[:2] == b"\r\n":
                at = -2
            else:
                at = line.find(b"\r\n\r\n", max(0, done - 3))
                if at < 0:
                    if len(line) > most:
                        self._fail(431, "trailer section too large")
                    return len(data)
            block, self._line = bytes(line[: max(at, 0)]), bytearray()
            after = pos + at + 4 - done
        elif data.startswith(b"\r\n", pos):
            block, after = b"", pos + 2
        else:
            at = data.find(b"\r\n\r\n", pos, pos + most + 4)
            if at < 0:
                if len(data) - pos > most:
                    self._fail(431, "trailer section too large")
                line += data[pos:]
                return len(data)
            block, after = data[pos:at], at + 4
        if block:
            strict.check_trailer_block(block, self.limits)
        self._finish()
        return after

    def _body(self, piece: bytes, count: int) -> None:
        """``count`` more body bytes, ``piece`` the ones for the application."""
        limit = self.limits.body
        if limit:
            self._body_len += count
            if self._body_len > limit:
                self._fail(413, "request body too large")
        if piece:
            self._events.append(piece)

    def _fast(self, data: bytes, pos: int, events: list[Event]) -> int:
        """Take the ordinary requests (see :func:`strict.fast_head`) that sit
        whole in ``data`` from ``pos`` without llhttp; return where they end."""
        size = len(data)
        limits = self.limits
        while True:
            end = data.find(b"\r\n\r\n", pos) + 4
            if end < 4:
                return pos
            head = strict.fast_head(data, pos, end, limits)
            if head is None:
                return pos
            clen = head.content_length
            if clen:
                if size - end < clen:  # the body is still to come: read it the long way
                    return pos
                events.append(head)
                events.append(data[end : end + clen])
                end += clen
            else:
                events.append(head)
            events.append(END)
            pos = end
            if not head.keep_alive:
                self._state = _CLOSED  # what follows a closing request is ignored
                return size
            if pos == size:
                return pos

    def _finish(self) -> None:
        self._events.append(END)
        head = self._head
        self._state = _CLOSED if head is not None and not head.keep_alive else _IDLE
        self._head = None
        self._method = None
        self._raw = []

    def _fail(self, status: int, reason: str) -> NoReturn:
        self._fail_with(ParseError(status, reason))

    def _fail_with(self, error: ParseError) -> NoReturn:
        self._error = error
        raise error

    def _llhttp(self) -> httptools.HttpRequestParser:
        hp = httptools.HttpRequestParser(self)
        if self.limits.any_version:
            # any HTTP/digit.digit, taken as 1.1 by strict.build_head, so the
            # connection's fate is this parser's to decide (llhttp would close
            # after an "HTTP/2.0" request as after HTTP/1.0)
            hp.set_dangerous_leniencies(lenient_version=True, lenient_keep_alive=True)
        return hp


class LenientParser(RequestParser):
    """A :class:`RequestParser` that rewrites each request head before parsing it
    (obsolete line folding, whitespace before a colon; see
    :func:`corral.server.http.strict.rewrite_head`).

    A head is held back until its blank line arrives; then the rewritten head
    goes to llhttp.  Bodies are framed as usual, so the next pipelined head is
    rewritten too."""

    __slots__ = ("_pending",)

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._pending = b""  # an incomplete head

    def _head_piece(self, data: bytes, pos: int) -> tuple[bytes, int]:
        if self._method_buf is not None or self._head_bytes:  # already rewritten
            return super()._head_piece(data, pos)
        end = head_end(self._pending[-3:], data, pos)
        if end < 0:
            pending = self._pending + data[pos:]
            if self._budget and len(pending) > self._budget:
                self._pending = b""  # too large: refused as usual
                return super()._head_piece(pending, 0)
            self._pending = pending
            return data, len(data)
        original, self._pending = self._pending + data[pos:end], b""
        limits = self.limits
        if limits.field_size and len(original) > limits.field_size:
            strict.check_field_lines(original, limits.field_size, limits.fold)
        head = strict.rewrite_head(original, limits.fold, limits.strip_spaces)
        rest, at = super()._head_piece(head, 0)
        if rest is head and at == len(head):
            return data, end
        return rest[at:] + data[end:], 0  # a placeholder method went in: read it again


def head_end(tail: bytes, data: bytes, pos: int) -> int:
    """Where the blank line ending a head is complete in ``data`` (searched from
    ``pos``; ``tail``: the last bytes of the head before it), or -1."""
    if tail:
        joint = (tail + data[pos : pos + 3]).find(b"\r\n\r\n")
        if joint >= 0:
            return pos + joint + 4 - len(tail)
    at = data.find(b"\r\n\r\n", pos)
    return at + 4 if at >= 0 else -1
