"""Whole-request buffering for workers that read with non-blocking sockets.

:class:`RequestBuffer` is sans-IO: the worker feeds it whatever bytes arrived
and takes complete requests out of :attr:`RequestBuffer.ready` as
``(head, body)`` pairs, in arrival order (pipelining).  A body larger than
``spool_size`` spills to a temporary file, so a client trickling a huge upload
costs a file, not memory.  The ``asyncio``, ``gthread`` and ``gevent`` workers
share it.

A request that asks for ``100 Continue`` is the exception: the client waits for
the interim response before sending its body, and the application may answer
without wanting the body at all.  With ``early_expect`` such a request is put in
:attr:`RequestBuffer.ready` as soon as its head is complete, with an
:class:`ExpectBody`: the first read sends ``100 Continue`` and waits (through a
worker-supplied ``fetch``) for the rest of the body to be buffered.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Union

from corral.server.http.body import BodyWriter, BufferedBody
from corral.server.http.errors import ClientDisconnected, ParseError
from corral.server.http.parser import END, Limits, RequestHead, RequestParser
from corral.server.http.response import FileChunk
from corral.server.workers._closing import STOP_IDLE_GRACE

if TYPE_CHECKING:
    from corral.server.config import Settings

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

# Complete requests a connection may queue (pipelined) before reading pauses.
MAX_PIPELINED = 16


class ExpectBody(BufferedBody):
    """``wsgi.input`` of a request that asked for ``100 Continue``, handed to the
    application before its body arrived.

    ``fetch`` (set by the worker) sends ``100 Continue`` and returns once
    :meth:`finish` was called, or raises :class:`ClientDisconnected`.
    """

    def __init__(self) -> None:
        super().__init__(b"")
        self.complete = False
        self.fetch: Callable[[ExpectBody], None] | None = None
        self.done = threading.Event()
        self.error: ParseError | None = None  # set by :meth:`fail`

    def finish(self, body: BufferedBody) -> None:
        """The whole body has arrived (called by :class:`RequestBuffer`)."""
        self._file = body._file
        self.complete = True
        self.done.set()

    def fail(self, error: ParseError) -> None:
        """The body will not come whole: reading it raises ``error``."""
        self.error = error
        self.done.set()

    def _ensure(self) -> None:
        if not self.complete:
            if self.error is not None:
                raise self.error
            if self.fetch is None:
                raise ClientDisconnected("the request body is not available")
            fetch, self.fetch = self.fetch, None
            fetch(self)
            if self.error is not None:
                raise self.error
            if not self.complete:
                raise ClientDisconnected("the client did not send the request body")

    def read(self, size: int | None = -1) -> bytes:
        self._ensure()
        return super().read(size)

    def readline(self, size: int | None = -1) -> bytes:
        self._ensure()
        return super().readline(size)

    def drain(self) -> bool:
        """After the response: the connection is reusable only if the body came."""
        return self.complete


class _NoBody(BufferedBody):
    """The ``wsgi.input`` of every request without a body: always empty, shared."""

    def release(self) -> None:
        pass


NO_BODY = _NoBody(b"")

Body = Union[BufferedBody, ExpectBody]


class RequestBuffer:
    """Collects whole requests (head and complete body) from arbitrary reads."""

    __slots__ = ("parser", "spool_size", "early_expect", "ready", "continue_wanted",
                 "error", "received", "_head", "_writer", "_expect")

    def __init__(self, limits: Limits, spool_size: int, early_expect: bool = True) -> None:
        self.ready: deque[tuple[RequestHead, Body]] = deque()
        # whole requests without a body go straight to ready (see RequestParser)
        self.parser = RequestParser(limits, self.ready.append, NO_BODY)
        self.spool_size = spool_size
        self.early_expect = early_expect
        # without early_expect: set when a head asking for ``100 Continue`` arrived
        # and its body has not; the worker sends :data:`CONTINUE` once no earlier
        # response is pending.
        self.continue_wanted = False
        # a protocol violation, answered once the requests before it are: the
        # worker checks it whenever :attr:`ready` is empty and it is not answering
        self.error: ParseError | None = None
        # bytes fed since the buffer was last idle: what the partial request in
        # hand has sent so far (for --min-data-rate)
        self.received = 0
        self._head: RequestHead | None = None
        self._writer: BodyWriter | None = None
        self._expect: ExpectBody | None = None

    @property
    def in_head(self) -> bool:
        """A request has started but its head is not complete yet."""
        return self._head is None and self.parser.in_message

    @property
    def in_body(self) -> bool:
        """A head is complete and its body is still arriving."""
        return self._head is not None

    @property
    def idle(self) -> bool:
        """Nothing partial buffered (complete requests may wait in :attr:`ready`)."""
        return self._head is None and not self.parser.in_message

    @property
    def quiet(self) -> bool:
        """Nothing buffered at all: no partial request, none waiting."""
        return not self.ready and self._head is None and not self.parser.in_message

    def feed(self, data: bytes) -> None:
        """Parse ``data``.  A protocol violation does not raise: it goes to
        :attr:`error`, after the complete requests before it, and nothing more is
        parsed."""
        if self.error is not None:
            self.received += len(data)
            return
        parser = self.parser
        try:
            for ev in parser.feed(data):
                if ev is END:
                    if self._writer is None and self._expect is None:  # no body
                        self.ready.append((self._head, NO_BODY))  # type: ignore[arg-type]
                        self._head = None
                        self.continue_wanted = False
                    else:
                        self._end()
                elif ev.__class__ is bytes:
                    writer = self._writer
                    if writer is None:
                        writer = self._writer = BodyWriter(self.spool_size, parser.limits.spool)
                    writer.write(ev)  # type: ignore[arg-type]
                elif ev.content_length or ev.chunked:  # type: ignore[union-attr]
                    self._start(ev)  # type: ignore[arg-type]
                else:  # a head without a body: kept until its END
                    self._head = ev  # type: ignore[assignment]
        except ParseError as e:
            self.error = e
        else:
            self.error = parser.error
        if self._head is None and not parser.in_message:
            self.received = 0  # idle again: nothing of a next request yet
        else:
            self.received += len(data)
        if self.error is not None and self._expect is not None:
            expect, self._expect = self._expect, None
            expect.fail(self.error)  # its reader gets the error, not a wait

    def _start(self, head: RequestHead) -> None:
        """A head whose body is still to come (a head without one needs nothing
        but keeping, which :meth:`feed` does itself): refuse a body too large
        to spool, and prepare its ``100 Continue``."""
        self._head = head
        spool = self.parser.limits.spool
        if spool and head.content_length and head.content_length > spool:
            raise ParseError(413, "request body too large")
        if head.expect_continue and (head.chunked or head.content_length):
            if self.early_expect:
                expect = self._expect = ExpectBody()
                self.ready.append((head, expect))
            else:
                self.continue_wanted = True

    def _end(self) -> None:
        writer = self._writer
        head = self._head
        assert head is not None
        body = writer.body() if writer is not None else NO_BODY
        self._head = self._writer = None
        self.continue_wanted = False
        expect = self._expect
        if expect is not None:
            self._expect = None
            expect.finish(body)
        else:
            self.ready.append((head, body))

    def fail(self, error: ParseError) -> None:
        """The input broke off with ``error`` while a request waiting for its
        ``100 Continue`` body is being answered: that request's read raises it."""
        expect = self._expect
        if expect is not None:
            expect.fail(error)

    def feed_eof(self) -> None:
        """The client closed its side; a request cut short raises ParseError
        (unless a violation is already waiting in :attr:`error`)."""
        if self.error is None:
            self.parser.feed_eof()

    def release(self) -> None:
        """Free spooled bodies of requests that will never be answered."""
        while self.ready:
            self.ready.popleft()[1].release()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.body().release()
        expect, self._expect = self._expect, None
        if expect is not None:
            expect.done.set()  # wake a thread waiting for it


def fetch_blocking(buffer: RequestBuffer, recv: Callable[[], bytes],
                   send: Callable[[bytes], object]) -> Callable[[ExpectBody], None]:
    """An :attr:`ExpectBody.fetch` for a worker whose current thread may block on
    the connection: send ``100 Continue``, then ``recv()`` (which waits at most
    the body timeout, raising ``OSError`` past it) and parse until the body is
    complete."""

    def fetch(body: ExpectBody) -> None:
        send(CONTINUE)
        while not body.complete:
            try:
                data = recv()
            except OSError as e:
                raise ClientDisconnected(str(e) or "timed out reading the body") from None
            if not data:
                raise ClientDisconnected("client closed the connection during the body")
            buffer.feed(data)
            if buffer.error is not None and not body.complete:
                raise buffer.error  # a broken or too large body: answered as such

    return fetch


def file_pieces(chunk: FileChunk, size: int = 1 << 16) -> Iterator[bytes]:
    """The bytes of a :class:`FileChunk`, ``size`` at a time (for transports
    without ``sendfile``); stops early if the file turns out shorter."""
    left = chunk.count
    offset = chunk.offset
    f = chunk.file
    try:
        fd: int | None = f.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    while left > 0:
        n = min(size, left)
        if fd is not None:
            data = os.pread(fd, n, offset)
        else:
            f.seek(offset)
            data = f.read(n)
        if not data:
            return
        offset += len(data)
        left -= len(data)
        yield data


class Timeouts:
    """The limits of a connection that is not answering a request:
    ``--header-timeout`` for a whole request head (and for a fresh connection's
    first request), ``--body-timeout`` between body reads, ``--keep-alive`` idle
    between requests, and ``--min-data-rate`` for a request (or a fresh
    connection) that is arriving: after ``--min-data-rate-grace`` seconds from its
    start, it must have sent at least ``rate * (elapsed - grace)`` bytes.  The
    rate is what turns away a flood of tricklers long before the timeouts would:
    one byte every two seconds is cut after about six seconds, not thirty."""

    OK, CLOSE, REQUEST_TIMEOUT = 0, 1, 2

    def __init__(self, settings: Settings) -> None:
        self.keepalive = float(settings.keepalive)
        self.header = settings.header_timeout
        self.body = settings.body_timeout
        self.min_rate = settings.min_data_rate
        self.grace = settings.min_data_rate_grace

    def check(self, buf: RequestBuffer, served: int, last: float, head_start: float,
              now: float, stopping: bool = False) -> int:
        """OK, CLOSE (quietly) or REQUEST_TIMEOUT (answer 408, then close).
        ``head_start`` is when the request (or the fresh connection) began.
        While the worker is ``stopping``, an idle keep-alive connection closes
        after :data:`~corral.server.workers._closing.STOP_IDLE_GRACE` seconds
        of quiet if its keep-alive timeout is longer."""
        if buf.in_body:
            limit, since, partial = self.body, last, True
        elif buf.in_head or not served:
            limit, since, partial = self.header, head_start, buf.in_head
        else:
            limit = self.keepalive
            if stopping:
                limit = min(limit, STOP_IDLE_GRACE) if limit else STOP_IDLE_GRACE
            return self.CLOSE if limit and now - last > limit else self.OK
        if limit and now - since > limit:
            return self.REQUEST_TIMEOUT if partial else self.CLOSE
        if self.min_rate and buf.received < self.min_rate * (now - head_start - self.grace):
            return self.REQUEST_TIMEOUT if partial else self.CLOSE
        return self.OK

    def rate_deadline(self, received: int, start: float) -> float | None:
        """When a request that began at ``start`` and has sent ``received`` bytes
        falls below the minimum rate (None: no minimum), for workers that wait
        in a blocking read rather than check on a timer."""
        if not self.min_rate:
            return None
        return start + self.grace + received / self.min_rate
