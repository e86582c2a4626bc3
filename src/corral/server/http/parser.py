"""Sans-IO HTTP/1.1 request parser.

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

* a request head is read with the one grammar of :mod:`corral.server.http.strict`.
  A head goes first to :func:`~corral.server.http.strict.match_head`, which
  reads a head whose blank line is in the input in one pass (the compiled
  scanner, or one regular expression over the whole head); what that does not
  take, and every head that arrives in pieces, goes to a
  :class:`~corral.server.http.strict.HeadReader`, which reads it a
  line at a time as the lines arrive, so a bad request line or a line past its
  limit is refused as soon as it shows, and the first violation in byte order
  is the one answered;
* bodies are framed here: a Content-Length body is counted, a chunked body is
  read by a small decoder whose chunk-size lines (extensions included) are
  bounded by ``--limit-request-field-size`` (8190 bytes when unlimited) and
  whose trailer section is bounded like a header section; extension bytes count
  against ``--limit-request-body`` as body bytes do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from corral.server.http import strict
from corral.server.http.errors import ParseError
from corral.server.http.head import END, Limits, RequestHead, _End

__all__ = ["END", "Limits", "ParseError", "RequestHead", "RequestParser"]

Event = RequestHead | bytes | _End

# Where the parser is.  _HEAD: a request head has begun and its blank line is still
# to come; then the body states; _CLOSED: a request that closes the connection was
# read, so what follows is ignored.
(_IDLE, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _CLOSED) = range(8)
DEFAULT_CHUNK_LINE = 8190  # chunk-size line bound when --limit-request-field-size is 0
DEFAULT_TRAILERS = 8190 * 32  # trailer section bound when the header limits are 0


class RequestParser:
    """Incremental parser for the requests of one connection (pipelining aware)."""

    __slots__ = (
        "limits",
        "_events",
        "_state",
        "_head",
        "_reader",
        "_buf",
        "_budget",
        "_body_len",
        "_left",
        "_line",
        "error",
        "_chunk_line",
        "_trailer_max",
        "in_message",
        "collect",
        "no_body",
    )

    def __init__(self, limits: Limits | None = None,
                 collect: Callable[[tuple[RequestHead, Any]], None] | None = None,
                 no_body: Any = None) -> None:
        self.limits = limits = limits or Limits()
        # with ``collect``: a whole request without a body, when no event of the
        # same ``feed`` comes before it, is given to ``collect`` as ``(head,
        # no_body)`` instead of being returned as its head and END (a caller
        # that buffers whole requests keeps them so, in order, with one step)
        self.collect = collect
        self.no_body = no_body
        self._budget = budget = limits.head_budget()
        self._chunk_line = limits.field_size or DEFAULT_CHUNK_LINE
        self._trailer_max = budget or DEFAULT_TRAILERS
        self._events: list[Event] = []
        self._state = _IDLE
        self._head: RequestHead | None = None
        self._reader: strict.HeadReader | None = None  # the head in progress
        self._buf = bytearray()  # its bytes so far
        self._body_len = 0  # body bytes (and chunk extension bytes) of this message
        self._left = 0  # bytes of a Content-Length body or of a chunk still to come
        self._line = bytearray()  # a chunk-size line, CRLF or trailer section in progress
        # the protocol violation found, if any: once set, ``feed`` raises it
        self.error: ParseError | None = None
        # True while a request has started but is not complete (set by ``feed``)
        self.in_message = False

    # -- public API ---------------------------------------------------------
    def feed(self, data: bytes) -> list[Event]:
        """Parse ``data``; return the events it completes.

        Raises :class:`ParseError` when ``data`` holds a violation and no event
        before it; with events before it, returns them and keeps the error for
        the next call (see :attr:`error`)."""
        if self.error is not None:
            raise self.error
        state = self._state
        if state == _CLOSED or not data:
            return []
        events = self._events = []
        try:  # the input loop: each step takes ``data`` from ``pos`` and returns
            # where it stopped, so a read holding many small messages or chunks
            # is never copied once per message
            pos = 0
            size = len(data)
            while True:
                if state == _IDLE:
                    if data[pos] in b"\r\n":  # empty lines before a request line are ignored
                        pos += 1
                    else:
                        pos = self._heads(data, pos, size, events)
                elif state == _HEAD:
                    pos = self._head_piece(data, pos)
                elif state == _LENGTH or state == _CHUNK_DATA:
                    pos = self._counted(data, pos)
                elif state == _CLOSED:
                    break
                elif state == _CHUNK_SIZE:
                    pos = self._chunk_size(data, pos)
                elif state == _CHUNK_END:
                    pos = self._chunk_end(data, pos)
                else:
                    pos = self._trailers(data, pos)
                if pos >= size:
                    break
                state = self._state
        except ParseError as exc:
            self.error = exc
            if self._state == _IDLE:  # a head had begun
                self._state = _HEAD
            self.in_message = self._state != _CLOSED
            if not events:
                raise
            return events
        self.in_message = _IDLE != self._state != _CLOSED
        return events

    def feed_eof(self) -> list[Event]:
        """The client closed its side: a request cut short is an error."""
        if self.error is not None:
            raise self.error
        if self.in_message:
            self._fail(400, "incomplete request")
        return []

    # -- the steps of the input loop ------------------------------------------
    def _heads(self, data: bytes, pos: int, size: int, events: list[Event]) -> int:
        """Requests from ``pos``, a request line's first byte (``size``: the
        length of ``data``): while a whole head (and its Content-Length body, if
        any) is in ``data``, take it here, its events onto ``events``; return
        where the next state begins."""
        limits = self.limits
        match_head = strict.match_head
        collect = self.collect
        no_body = self.no_body
        while True:
            whole = match_head(data, pos, size, limits)
            if whole is not None:
                head, end = whole
            else:  # not whole yet, or not in the whole-head form: line by line
                end = data.find(b"\r\n\r\n", pos) + 4
                if end < 4:  # the head goes on in later reads
                    self._reader = strict.HeadReader(limits, self._budget)
                    return self._head_piece(data, pos)
                reader = strict.HeadReader(limits, self._budget)
                reader.read(data[pos:end], end - pos)
                head = reader.head()
            clen = head.content_length
            if clen or head.chunked:
                events.append(head)
                if clen and size - end >= clen:  # the whole body is here too
                    events.append(data[end : end + clen])
                    end += clen
                else:
                    self._begin_body(head)
                    return end
                events.append(END)
            elif collect is not None and not events:  # no event before it: in order
                collect((head, no_body))
            else:
                events.append(head)
                events.append(END)
            if not head.keep_alive:
                self._state = _CLOSED  # what follows a closing request is ignored
                return size
            pos = end
            while pos < size and data[pos] in b"\r\n":
                pos += 1
            if pos == size:
                return pos

    def _head_piece(self, data: bytes, pos: int) -> int:
        """A head arriving in pieces: the lines of ``data`` from ``pos`` up to its
        blank line; return where it stopped."""
        reader = self._reader
        assert reader is not None
        buf = self._buf
        before = len(buf)
        buf += data[pos:] if pos else data
        end = reader.read(buf, len(buf))
        if end < 0:
            self._state = _HEAD
            reader.check_partial(buf, len(buf))
            return len(data)
        head = reader.head()
        self._reader = None
        self._buf = bytearray()
        self._events.append(head)
        if head.chunked or head.content_length:
            self._begin_body(head)
        else:
            self._finish(head)
        return pos + end - before

    def _begin_body(self, head: RequestHead) -> None:
        self._head = head
        self._body_len = 0
        if head.chunked:
            self._state = _CHUNK_SIZE
            self._line = bytearray()
        else:
            self._state = _LENGTH
            self._left = head.content_length or 0

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

    def _finish(self, head: RequestHead | None = None) -> None:
        self._events.append(END)
        head = head or self._head
        self._state = _CLOSED if head is not None and not head.keep_alive else _IDLE
        self._head = None

    def _fail(self, status: int, reason: str) -> NoReturn:
        error = self.error = ParseError(status, reason)
        raise error
