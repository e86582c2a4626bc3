"""The ``asyncio`` worker (the default): one event loop does all socket I/O.

Each connection is an :class:`HttpProtocol` feeding the shared sans-IO parser
through a :class:`~corral.server.workers._buffered.RequestBuffer`: the loop
buffers every whole request (large bodies spill to a temporary file) before the
application sees it, so a client trickling its head or body costs a buffer, not
a worker.  The application runs inline on the loop (``--threads 1``) or on a
pool of ``--threads N`` threads; either way responses are written with
back-pressure: while the transport is paused the exchange iterator (or the pool
thread producing it) waits instead of buffering without bound.

Keep-alive, pipelining (answered in order), ``--worker-connections``,
``--header-timeout``/``--body-timeout``/``--keep-alive``/``--min-data-rate``,
``--send-timeout`` and graceful shutdown are handled by
:class:`ConnectionManager`'s periodic tick, which is also the heartbeat and, in
thread mode, the watch for requests stuck past ``--timeout`` (a thread waiting
for a client to read is not stuck: ``--send-timeout`` bounds it, closing only
that connection).  At the connection cap the idlest connection is shed for a new
one (see :mod:`corral.server.workers._pressure`).

A ``wsgi.file_wrapper`` body (a :class:`FileChunk`) goes out with ``os.sendfile``
on plain connections once the transport's buffer is empty, and is read and
written under TLS (see :mod:`corral.server.workers._sendfile`).
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from corral.server.http.cycle import ConnInfo, Exchange
from corral.server.http.errors import ParseError
from corral.server.http.parser import RequestHead
from corral.server.http.proxy import ProxyHeaderParser, proxy_parser
from corral.server.http.response import FileChunk
from corral.server.workers._blocking_io import YIELD_AFTER, fd_reader
from corral.server.workers._buffered import (
    CONTINUE,
    MAX_PIPELINED,
    NO_BODY,
    Body,
    ExpectBody,
    RequestBuffer,
    fetch_blocking,
    file_pieces,
)
from corral.server.workers._closing import Lingering, pending_bytes
from corral.server.workers._manager import ANSWERING, ARRIVING, IDLE, TICK, ConnectionManager
from corral.server.workers._prelude import Prelude
from corral.server.workers._sendfile import FileSender, file_fd
from corral.server.workers._threads import Job
from corral.server.workers.base import EXIT_BOOT_ERROR, Worker

_now = time.monotonic

HOLD_MAX = 16384  # larger pieces of output are written at once
HOLD_COUNT = 64  # answers held per connection before they are written


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """An event loop for ``--loop auto|asyncio|uvloop``."""
    if kind in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()  # type: ignore[no-any-return]
    return asyncio.new_event_loop()


class HttpProtocol(Prelude):
    """One client connection: buffer requests, run them in order, write back."""

    __slots__ = (
        "mgr", "transport", "buffer", "conn", "phase", "exchange", "body", "out",
        "wpaused", "rpaused", "capped", "closing", "eof", "last", "head_start",
        "served", "job", "writable", "sent", "lost", "threaded",
        "make_exchange", "held", "linger", "wsize", "wsince", "stash", "sending",
    )

    def __init__(self, mgr: ConnectionManager, tls: ssl.SSLContext | None) -> None:
        self.mgr = mgr
        self.tls = tls
        self.proxy: ProxyHeaderParser | None = None
        self.lost = False
        # TLS started by this protocol (after a PROXY header): bytes read before
        # the TLS layer took the transport over, None when not in that phase
        self.pre_tls: bytearray | None = None
        self.transport: Any = None
        # inline mode reads a 100-continue body with blocking reads on the raw
        # socket, which TLS rules out: such requests are then buffered whole.
        early = mgr.pool is not None or tls is None
        self.buffer = RequestBuffer(mgr.limits, mgr.spool_size, early)
        self.conn: ConnInfo = mgr.conn_template
        # IDLE -> ARRIVING (first bytes of a request) -> ANSWERING (complete) -> IDLE;
        # closing, flow control (wpaused, rpaused, capped) and lingering are
        # separate: a connection may close or pause in any phase
        self.phase = ARRIVING
        self.exchange: Exchange | None = None
        self.body: Body | None = None
        self.out: Iterator[Any] | None = None  # the paused output iterator (inline mode)
        self.wpaused = False  # the transport asked us to stop writing
        self.rpaused = False  # reading paused: too many pipelined requests queued
        self.capped = False  # reading paused: over --worker-connections
        self.closing = False
        self.eof = False
        self.last = self.head_start = _now()
        self.served = 0
        self.job: Job | None = None
        self.writable: threading.Event | None = None  # thread mode back-pressure
        self.special = False  # a PROXY header or a TLS start is pending
        self.threaded = mgr.pool is not None
        self.make_exchange = mgr.cycle.exchange
        # small answers not written yet: they go out together at the end of the
        # loop's pass (see ConnectionManager.release_held); anything else written to this
        # connection releases them first, so the order on the wire holds
        self.held: list[bytes] | None = None
        self.sent = False  # thread mode: some bytes of the response went out
        # set once the connection is to close after an error while the client may
        # still be sending: what arrives is read and discarded (lingering close)
        self.linger: Lingering | None = None
        self.wsize = -1  # --send-timeout (see write_stalled)
        self.wsince = 0.0
        self.stash: bytes | None = None  # read while over the cap, kept for later
        self.sending: FileSender | None = None  # a FileChunk going out with sendfile

    # -- asyncio callbacks ---------------------------------------------------------
    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        self.transport = transport
        mgr = self.mgr
        peer = transport.get_extra_info("peername")
        sockname = transport.get_extra_info("sockname")
        scheme = "https" if self.tls is not None else "http"
        self.conn = ConnInfo(peer if peer else "", sockname, scheme, mgr.keepalive_allowed)
        mgr.opened(self)
        if mgr.proxy_protocol:
            self.proxy = proxy_parser(mgr.worker.settings, peer)
            self.special = self.proxy is not None
            if self.proxy is None and self.tls is not None:
                self._begin_tls(b"")

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.lost:
            return
        self.lost = self.closing = True
        self.held = None
        if self.sending is not None:
            self.sending.cancel()
        ex = self.exchange
        if ex is not None and self.job is None:  # inline exchange paused mid-response
            self.exchange = self.out = None
            self._end(ex)
        if self.writable is not None:
            self.writable.set()  # wake a pool thread waiting to write
        self.buffer.release()
        self.mgr.closed(self)

    def data_received(self, data: bytes) -> None:
        if self.linger is not None:
            if not self.linger.read(len(data), _now()) and self.phase is not ANSWERING:
                self.close()
            return
        if self.special:
            data = self._special(data)
            if not data:
                return
        if self.held is not None:
            self.release()
        buf = self.buffer
        self.last = now = _now()
        buf.feed(data)
        if self.phase is ANSWERING:
            if len(buf.ready) >= MAX_PIPELINED and not self.rpaused:
                self.rpaused = True
                self.transport.pause_reading()
        elif buf.ready:
            self.phase = IDLE
            self.serve()
        elif buf.error is not None:
            self._error(buf.error.status, buf.error.reason)
        else:
            if self.phase is IDLE:  # the first bytes of a request head
                self.phase = ARRIVING
                self.head_start = now
            if buf.continue_wanted:
                buf.continue_wanted = False
                self.transport.write(CONTINUE)

    def release(self) -> None:
        """Write the held answers now."""
        held = self.held
        if held is not None:
            self.held = None
            self.transport.writelines(held)

    def _special(self, data: bytes) -> bytes:
        """Bytes before HTTP (see :class:`Prelude`); or read while over
        --worker-connections (some loops read once even when reading is paused
        from connection_made): kept until a place is free."""
        if self.capped:
            self.stash = (self.stash or b"") + data
            self.transport.pause_reading()
            return b""
        return Prelude._special(self, data)

    def eof_received(self) -> bool:
        if self.held is not None:
            self.release()
        self.eof = True
        if self.linger is not None and self.phase is not ANSWERING:
            self.close()
            return False
        try:
            self.buffer.feed_eof()
        except ParseError:
            pass
        return bool(self.phase is ANSWERING or self.buffer.ready)  # True: answer first, then close

    def pause_writing(self) -> None:
        self.wpaused = True
        self.wsize = -1
        if self.writable is not None:
            self.writable.clear()

    def resume_writing(self) -> None:
        self.wpaused = False
        if self.writable is not None:  # thread mode
            if self.sending is None:
                self.writable.set()
            if self.phase is ANSWERING and self.job is None and not self.closing:
                self.phase = IDLE
                self.serve()
        elif (self.out is not None and self.sending is None and not self.closing
              and self._drive()):
            self.serve()

    # -- serving -------------------------------------------------------------------
    def serve(self) -> None:
        """Answer the queued complete requests in order (inline: each exchange's
        output is written here, small answers held for the end of the loop's
        pass) or hand the next one to a pool thread."""
        buf = self.buffer
        ready = buf.ready
        if self.threaded:
            if ready and not self.closing:
                head, body = ready.popleft()
                if body.__class__ is ExpectBody:
                    body.fetch = self._fetch_threaded  # type: ignore[union-attr]
                self._submit(head, body)
            else:
                self._idle()
            return
        make_exchange = self.make_exchange
        conn = self.conn
        mgr = self.mgr
        request_started = mgr.request_started
        holding = mgr.holding
        while ready and not self.closing:
            head, body = ready.popleft()
            if body.__class__ is ExpectBody:
                if self.held is not None:
                    self.release()  # before a 100 Continue
                fd = self.transport.get_extra_info("socket").fileno()
                body.fetch = fetch_blocking(  # type: ignore[union-attr]
                    buf, fd_reader(fd, mgr.body_timeout, mgr.timeouts),
                    self.transport.write)
            request_started()  # before framing: the last one says Connection: close
            # the exchange's output, written inline; when writing pauses (or a
            # file goes out with sendfile) the rest goes out from _drive()
            ex = self.exchange = make_exchange(head, body, conn)
            self.body = body
            self.out = out = ex.output
            self.phase = ANSWERING
            for data in out:
                if data.__class__ is bytes:
                    held = self.held
                    if held is None:
                        if len(data) <= HOLD_MAX:  # see ConnectionManager.release_held
                            self.held = [data]
                            if not holding:
                                mgr.loop.call_soon(mgr.flush_held)
                            holding.append(self)
                            continue
                    elif len(held) < HOLD_COUNT and len(data) <= HOLD_MAX:
                        held.append(data)
                        continue
                    else:
                        self.release()
                    self.transport.write(data)
                    if self.wpaused or self.closing:
                        return
                else:
                    sent = self._sendfile(data, self._sent)  # type: ignore[arg-type]
                    if sent is None:  # no sendfile here: read and write it
                        self.out = _chain(file_pieces(data), out)  # type: ignore[arg-type]
                        if not self._drive():
                            return
                        break  # _drive() wrote the rest and ended the exchange
                    if not sent:  # goes on in _sent(), or the connection failed
                        return
            else:  # the whole output went out
                self.exchange = self.out = None
                self.phase = IDLE
                if not self._end(ex):
                    self.finish()
                    return
        self.last = _now()
        if buf.error is not None:  # bad bytes after the requests just answered
            self._error(buf.error.status, buf.error.reason)
            return
        if self.eof or self.rpaused or buf.continue_wanted:
            self._idle()

    def _idle(self) -> None:
        """No request in hand: go back to reading."""
        if self.closing:
            return
        buf = self.buffer
        if buf.error is not None and self.phase is not ANSWERING:
            self._error(buf.error.status, buf.error.reason)
            return
        if self.eof:
            self.close()
            return
        if self.rpaused:
            self.rpaused = False
            if not self.capped:
                self.transport.resume_reading()
        if buf.continue_wanted:
            buf.continue_wanted = False
            if self.held is not None:
                self.release()
            self.transport.write(CONTINUE)

    def _drive(self) -> bool:
        """Write the current exchange's output until it ends (True) or the
        transport pauses (False)."""
        out = self.out
        assert out is not None
        if self.held is not None:
            self.release()
        write = self.transport.write
        for data in out:
            if data.__class__ is bytes:
                write(data)
            else:  # a FileChunk: sendfile, or expand it in front of the rest
                sent = self._sendfile(data, self._sent)
                if sent is None:
                    self.out = out = _chain(file_pieces(data), out)
                    return self._drive()
                if not sent:
                    return False
            if self.wpaused or self.closing:
                return False
        ex = self.exchange
        assert ex is not None
        self.exchange = self.out = None
        self.phase = IDLE
        self.last = _now()
        keep = self._end(ex)
        if not keep:
            self.finish()
            return False
        return True

    def _sendfile(self, chunk: FileChunk, done: Callable[[bool], None]) -> bool | None:
        """Send ``chunk`` with ``os.sendfile`` (see :mod:`._sendfile`): True when it
        all went out at once, False when it goes on (then ``done`` is called) or
        the connection failed, None when this connection cannot (TLS, no file
        descriptor): the caller reads and writes it instead."""
        fd = file_fd(chunk)
        if self.tls is not None or fd < 0:
            return None
        if self.held is not None:  # what comes before the file goes first
            self.release()
        sender = FileSender(self, chunk, fd, self.mgr.send_timeout, done)
        sent = sender.start()
        if sent is None:
            self.sending = sender
            return False
        return sent

    def _sent(self, ok: bool) -> None:
        """Inline mode: the FileChunk went out (ok) or the connection failed."""
        self.sending = None
        if ok and self.out is not None and not self.closing and not self.wpaused:
            if self._drive():
                self.serve()

    def _end(self, ex: Exchange) -> bool:
        """Finish one exchange: close it, free the body, count it as answered
        (the worker counted it when it started). True when the connection may
        carry another request, which is what its response said."""
        try:
            ex.close()
        finally:
            body = self.body
            if body is not None:
                self.body = None
                if body is not NO_BODY:
                    body.release()
        self.served += 1
        # a worker that stops (alive turning False, --max-requests included)
        # has its graceful stop begun by AsyncioWorker.stop_keepalive
        return ex.keep_alive and self.linger is None

    def _error(self, status: int, reason: str, exc: ParseError | None = None) -> None:
        """A protocol error: answer it and close, lingering.  While a response is
        under way, a request waiting for its ``100 Continue`` body gets the error
        from its read (the request cycle answers it), and the connection closes
        after that response."""
        if self.held is not None:
            self.release()
        if self.phase is ANSWERING:
            if exc is not None:
                self.buffer.fail(exc)
            if self.linger is None:
                self.linger = Lingering(_now())
            return
        self.transport.write(self.mgr.cycle.error_response(status, reason))
        self.finish(True)

    def finish(self, unfinished: bool = False) -> None:
        """Close after the last response: lingering (see
        :mod:`corral.server.workers._closing`) when the client may still be
        sending, at once otherwise."""
        if self.closing:
            return
        if self.held is not None:
            self.release()
        if not (unfinished or self.linger is not None or not self.buffer.idle
                or pending_bytes(self.fileno())) or self.eof:
            self.close()
            return
        if self.linger is None:
            self.linger = Lingering(_now())
        self.buffer.release()
        tr = self.transport
        try:
            if tr.can_write_eof():
                tr.write_eof()  # after what is buffered: the client reads the response
        except (OSError, RuntimeError, NotImplementedError):
            self.close()
            return
        if self.rpaused or self.capped:
            self.rpaused = False
            tr.resume_reading()

    def fileno(self) -> int:
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        try:
            return int(sock.fileno()) if sock is not None else -1
        except (OSError, ValueError):
            return -1

    def close(self) -> None:
        if not self.closing:
            if self.held is not None:
                self.release()
            self.closing = True
            self.wsize = -1
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection now, with whatever output it still holds."""
        self.closing = True
        self.held = None
        self.transport.abort()

    def sheddable(self) -> bool:
        """Not answering a request, nothing queued or held: only waiting for the
        client (idle keep-alive, a fresh connection, a request still arriving).
        A request already in the socket, not yet read by the loop, is about to be
        answered: it is not shed (bytes after the last response of a lingering
        connection are discarded anyway)."""
        return not (self.phase is ANSWERING or self.closing or self.capped or self.special
                    or self.buffer.ready or self.held is not None or self.wpaused
                    or (self.buffer.idle and self.linger is None
                        and pending_bytes(self.fileno())))

    # -- thread mode ---------------------------------------------------------------
    def _submit(self, head: RequestHead, body: Body) -> None:
        mgr = self.mgr
        assert mgr.pool is not None and mgr.watch is not None
        mgr.worker.request_started()  # before framing: the last one says Connection: close
        if self.writable is None:
            self.writable = threading.Event()
        if not self.wpaused:
            self.writable.set()
        self.phase = ANSWERING
        self.sent = False
        self.body = body
        job = self.job = Job(self)  # timed once a thread takes it (Watch.begin)
        mgr.pool.submit(self._run_in_thread, job, head, body)

    def _run_in_thread(self, job: Job, head: RequestHead, body: Body) -> None:
        """In a pool thread: run the exchange, posting output batches to the loop."""
        mgr = self.mgr
        assert mgr.watch is not None
        mgr.watch.begin(self, job)
        loop = mgr.loop
        ex = mgr.cycle.exchange(head, body, self.conn)
        batch: list[Any] = []
        size = 0
        sendfile = self.tls is None
        try:
            for data in ex:
                if self.closing or job.timed_out:
                    break
                if sendfile and data.__class__ is not bytes and file_fd(data) >= 0:  # type: ignore[arg-type]
                    batch.append(data)  # sent by the loop (see _thread_write)
                    if not self._post(batch, job):
                        return
                    batch, size = [], 0
                    continue
                pieces = [data] if data.__class__ is bytes else file_pieces(data)  # type: ignore[arg-type]
                for piece in pieces:
                    batch.append(piece)
                    size += len(piece)
                    if size >= 65536:
                        if not self._post(batch, job):
                            return
                        batch, size = [], 0
        finally:
            try:
                ex.close()
            finally:
                loop.call_soon_threadsafe(self._thread_done, job, batch, ex.keep_alive)

    def _fetch_threaded(self, body: ExpectBody) -> None:
        """In a pool thread: ask the loop for ``100 Continue`` and wait until it
        buffered the whole body (or the client idles past --body-timeout, or
        sends slower than --min-data-rate).  The wait is the client's time, not
        the app's (--timeout)."""
        self.mgr.loop.call_soon_threadsafe(self._send_continue)
        limit = self.mgr.body_timeout
        rates = self.mgr.timeouts
        start = _now()
        job = self.job
        if job is not None:
            job.pause()
        try:
            while not body.done.wait(0.25):
                now = _now()
                if self.closing or (limit and now - self.last > limit):
                    return
                floor = rates.rate_deadline(self.buffer.received, start)
                if floor is not None and now > floor:
                    return
        finally:
            if job is not None:
                job.resume()

    def _send_continue(self) -> None:
        if not self.closing:
            self.transport.write(CONTINUE)

    def _post(self, batch: list[bytes], job: Job) -> bool:
        """In a pool thread: hand a batch to the loop and wait until the
        transport can take more. False when the connection is gone."""
        ev = self.writable
        assert ev is not None
        ev.clear()
        self.mgr.loop.call_soon_threadsafe(self._thread_write, batch, job)
        job.pause()  # waiting for the client: not the app's time (--send-timeout)
        pool = self.mgr.pool
        assert pool is not None
        try:
            while not ev.wait(1.0):
                if self.closing or job.timed_out:
                    return False
                # progress: the write buffer shrinking, as the loop's tick sees it
                if _now() - max(job.waiting, self.wsince) >= YIELD_AFTER and pool.needed():
                    # the client takes nothing and other requests need this thread
                    self.mgr.loop.call_soon_threadsafe(self.abort)
                    return False
        finally:
            job.resume()
        return not (self.closing or job.timed_out)

    def _thread_write(self, batch: list[Any], job: Job) -> None:
        """Write a batch from a pool thread; one ending in a FileChunk wakes the
        thread only once that went out (see :meth:`_thread_sent`)."""
        if job is self.job and not self.closing:
            self.sent = True
            last = batch[-1]
            if last.__class__ is bytes:
                self.transport.writelines(batch)
            else:
                if len(batch) > 1:
                    self.transport.writelines(batch[:-1])
                if not self._sendfile(last, self._thread_sent):
                    return  # goes on; or the connection failed, which wakes the thread
        if not self.wpaused and self.writable is not None:
            self.writable.set()

    def _thread_sent(self, ok: bool) -> None:
        self.sending = None
        if not self.wpaused and self.writable is not None:
            self.writable.set()

    def _thread_done(self, job: Job, batch: list[bytes], keep_alive: bool) -> None:
        mgr = self.mgr
        assert mgr.watch is not None
        mgr.watch.discard(job)
        if job is not self.job:  # timed out and already answered
            return
        self.job = None
        self.phase = IDLE
        body = self.body
        if body is not None:
            self.body = None
            body.release()
        if self.closing:
            return
        if batch:
            self.transport.writelines(batch)
        self.last = _now()
        self.served += 1
        if not mgr.worker.alive and not mgr.stopping:
            mgr.begin_stop()
        if not keep_alive or self.linger is not None:
            self.finish()
        elif self.wpaused:  # the client is not reading: the next request waits
            self.phase = ANSWERING  # for resume_writing()
        else:
            self.serve()

    def timed_out(self) -> None:
        """The pool thread running this connection's request is stuck."""
        self.job = None
        if not self.closing:
            if not self.sent:
                self.transport.write(self.mgr.cycle.error_response(503, "request timed out"))
            self.close()


def _chain(first: Iterator[Any], rest: Iterator[Any]) -> Iterator[Any]:
    yield from first
    yield from rest


class AsyncioWorker(Worker):
    """One event loop per worker process; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multithread = self.settings.threads > 1
        self.manager: ConnectionManager | None = None

    def run(self) -> None:
        kind = self.settings.loop
        try:
            loop = new_event_loop(kind)
        except ImportError as e:
            self.log.error("--loop %s is not available: %s", kind, e)
            sys.exit(EXIT_BOOT_ERROR)
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(loop))
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        mgr = self.manager = ConnectionManager(self, loop, HttpProtocol)
        await mgr.start_accepting()
        loop.call_later(TICK, mgr.tick)
        if not self.alive:
            mgr.begin_stop()
        try:
            await mgr.done
        finally:
            mgr.stop_accepting()
            mgr.close_all()
            await asyncio.sleep(0)  # let transports flush their close

    def connection_infos(self) -> list[ConnInfo]:
        mgr = self.manager
        return [] if mgr is None else [proto.conn for proto in list(mgr.conns)]

    def stop_keepalive(self) -> None:
        """The worker starts stopping (TERM in the main thread, possibly inside an
        inline request; --max-requests; a pool thread's timeout): responses still
        to be framed say ``Connection: close``; the loop stops gracefully."""
        mgr = self.manager
        if mgr is not None:
            mgr.keepalive_allowed = False
        super().stop_keepalive()
        if mgr is not None and not mgr.loop.is_closed():
            mgr.loop.call_soon_threadsafe(mgr.begin_stop)


__all__ = ["AsyncioWorker", "ConnectionManager", "HttpProtocol", "new_event_loop"]
