"""The ``gevent`` worker: a greenlet per connection (``pip install corral[gevent]``).

The standard library is monkey-patched in :meth:`GeventWorker.init_process`
before the application is loaded, so the app's blocking calls (sockets, sleeps,
database drivers written in Python) yield to other greenlets.  Each connection's
greenlet buffers a whole request with the shared
:class:`~corral.server.workers._buffered.RequestBuffer`, runs the shared request
cycle and keeps the connection alive for the next request.

A request that blocks cooperatively past ``--timeout`` is interrupted with
:class:`~corral.server.http.errors.RequestTimeout` (503, stack logged, worker
replaced); one that blocks the whole hub stops the heartbeat and is handled by
the arbiter's SIGABRT as in the sync worker.  Note that ``--preload`` loads the
app in the arbiter, before this worker can patch anything.

Writes make progress or end: a client that takes no byte of its response for
``--send-timeout`` seconds is dropped, and that wait is not counted towards
``--timeout``.  A request arriving slower than ``--min-data-rate`` (after its
grace) gets 408.  At ``--worker-connections`` the acceptor sheds the idlest
connection that is waiting for its client (never one running the app) instead
of leaving new clients in the backlog.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from corral.server.http.cycle import ConnInfo
from corral.server.http.errors import ParseError, RequestTimeout
from corral.server.http.parser import Limits
from corral.server.http.proxy import accept_proxy
from corral.server.sockets import Listener
from corral.server.tls import suppresses_ragged_eofs
from corral.server.workers._blocking_io import RECV_SIZE, body_reader, send_all, send_file
from corral.server.workers._buffered import (
    ExpectBody,
    RequestBuffer,
    Timeouts,
    fetch_blocking,
)
from corral.server.workers._closing import STOP_IDLE_GRACE, close_or_linger, pending_bytes
from corral.server.workers._pressure import Shedder
from corral.server.workers.base import EXIT_BOOT_ERROR, Worker, call_hook

TICK = 0.5
_now = time.monotonic


class Shed(BaseException):
    """Raised in a connection's greenlet, while it waits for its client, to make
    room for a new connection at --worker-connections (a BaseException, as
    GreenletExit: should data have woken the greenlet first, the app does not
    catch it as an error of its own)."""


class GeventWorker(Worker):
    """A greenlet per connection; see the module docstring."""

    def init_process(self) -> None:
        try:
            from gevent import monkey
        except ImportError:
            self.log.error("the gevent worker needs gevent: pip install 'corral[gevent]'")
            sys.exit(EXIT_BOOT_ERROR)
        monkey.patch_all()
        import gevent
        import gevent.pool

        # the hub (and what it imports) before --user/--group may take away read
        # access to the interpreter's files
        gevent.get_hub()
        super().init_process()

    def run(self) -> None:
        import gevent
        import gevent.event
        from gevent.pool import Pool

        s = self.settings
        self.limits = Limits.from_settings(s)
        self.spool_size = s.body_spool_size
        self.keepalive = float(s.keepalive)
        self.header_timeout = s.header_timeout or None
        self.body_timeout = s.body_timeout or None
        self.send_timeout = s.send_timeout or None
        self.rates = Timeouts(s)
        # greenlets waiting for their client: when its last byte came, its socket
        self.reading: dict[Any, tuple[float, int]] = {}
        self.infos: dict[int, ConnInfo] = {}  # the open connections
        self.running: dict[Any, float] = {}  # greenlet -> request start
        # the cap is kept by shedding (see acceptor()), not by the pool, so that a
        # new connection never waits for a shed one's greenlet to finish
        self.max_conns = s.worker_connections
        self.shedder: Shedder[Any] = Shedder(self.sheddable, self.last_byte, TICK)
        pool = Pool()
        self.freed = gevent.event.Event()  # set as a connection's greenlet ends
        socks = []
        acceptors = []
        for listener in self.listeners:
            lsock = socket.socket(listener.family, socket.SOCK_STREAM,
                                  fileno=os.dup(listener.sock.fileno()))
            lsock.settimeout(None)  # cooperative: accept() yields to other greenlets
            socks.append(lsock)
            acceptors.append(gevent.spawn(self.acceptor, lsock, listener, pool))
        try:
            while self.alive:
                self.notify()
                self.check_deadlines()
                gevent.sleep(TICK)
        finally:
            gevent.killall(acceptors)
            for lsock, listener in zip(socks, self.listeners, strict=True):
                self.accept_pending(lsock, listener, pool)
                lsock.close()
            # idle keep-alive connections stay until their keep-alive timeout: a
            # request arriving on one is answered (with Connection: close)
            deadline = _now() + s.graceful_timeout
            while len(pool) and _now() < deadline:
                self.notify()
                pool.join(timeout=TICK)
            pool.kill(block=False)

    def connection_infos(self) -> list[ConnInfo]:
        return list(getattr(self, "infos", {}).values())

    def check_deadlines(self) -> None:
        """Interrupt requests that blocked cooperatively past --timeout."""
        if not self.timeout:
            return
        limit = _now() - self.timeout
        for g, started in list(self.running.items()):
            if started < limit:
                del self.running[g]
                self.alive = False
                self.aborted = True
                call_hook(self.settings, self.log, "worker_abort", self)
                self.log_timeout(g.gr_frame)
                g.kill(RequestTimeout(f"request exceeded the {self.timeout}s timeout"),
                       block=False)

    def acceptor(self, lsock: socket.socket, listener: Listener, pool: Any) -> None:
        import gevent

        while self.alive:
            try:
                sock, addr = lsock.accept()
            except OSError as e:
                self.log.debug("accept failed: %s", e)
                gevent.sleep(0.01)
                continue
            while len(pool) >= self.max_conns and not self.shed():  # all are busy
                self.freed.clear()
                self.freed.wait(TICK)  # (a place freed, or a connection to shed)
            pool.spawn(self.handle, listener, sock, addr).link(self.place_freed)

    def place_freed(self, _greenlet: Any) -> None:
        self.freed.set()  # (linked after the pool's own discard of the greenlet)

    def sheddable(self, g: Any) -> bool:
        """Waiting for its client, and no request of it already in its socket
        (the greenlet may not have been woken for it yet)."""
        waiting = self.reading.get(g)
        return waiting is not None and not pending_bytes(waiting[1])

    def last_byte(self, g: Any) -> float:
        return self.reading[g][0]

    def shed(self) -> bool:
        """At --worker-connections: interrupt the connection whose client has been
        silent longest (only those waiting for their client, never one running
        the app); its greenlet answers 408 if a request was partway, and ends."""
        g = self.shedder.pick(self.reading)
        if g is None:
            return False
        del self.reading[g]  # (its greenlet ends at its next switch)
        g.kill(Shed(), block=False)
        return True

    def accept_pending(self, lsock: socket.socket, listener: Listener, pool: Any) -> None:
        """At a graceful stop, still answer connections already queued."""
        lsock.settimeout(0)
        for _ in range(1024):
            try:
                sock, addr = lsock.accept()
            except OSError:
                return
            sock.settimeout(None)
            pool.spawn(self.handle, listener, sock, addr)

    # -- one connection ----------------------------------------------------------------
    def handle(self, listener: Listener, sock: socket.socket, addr: Any) -> None:
        unfinished: bool | None = None  # None: the connection failed, just close it
        try:
            info = ConnInfo(addr or "", sock.getsockname(),
                            "https" if listener.ssl_context else "http",
                            self.keepalive > 0 and self.alive)
            sock.settimeout(self.header_timeout)
            if self.settings.proxy_protocol:  # in clear, before any TLS handshake
                info.peer, info.sockname = accept_proxy(sock, self.settings, info.peer,
                                                        info.sockname)
            sock = self.setup(listener, sock)
            self.infos[id(info)] = info
            try:
                unfinished = self.serve(sock, info)
            finally:
                del self.infos[id(info)]
        except ParseError as e:
            self.send_error(sock, e.status, e.reason)
            unfinished = True
        except (OSError, ValueError, Shed) as e:
            self.log.debug("Connection ended: %r", e)
        finally:
            if unfinished is None:
                try:
                    sock.close()
                except OSError:
                    pass
            else:
                close_or_linger(sock, unfinished)

    def setup(self, listener: Listener, sock: socket.socket) -> socket.socket:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.header_timeout)
        if listener.ssl_context is not None:
            # the context was made before patching: wrap with gevent's SSLSocket
            from gevent.ssl import SSLSocket

            ctx = listener.ssl_context
            sock = SSLSocket(sock=sock, server_side=True, _context=ctx,
                             suppress_ragged_eofs=suppresses_ragged_eofs(ctx))
        return sock

    def serve(self, sock: socket.socket, info: ConnInfo) -> bool:
        """Read whole requests and answer them until the connection ends; True
        when a request was left unfinished (the client may still be sending)."""
        import gevent

        buf = RequestBuffer(self.limits, self.spool_size)
        served = 0
        current = gevent.getcurrent()
        try:
            while True:
                if not self.read_request(sock, buf, served):
                    return not buf.idle
                while buf.ready:
                    if not self.answer(sock, buf, info, current):
                        return not buf.idle
                    served += 1
        finally:
            buf.release()

    def read_request(self, sock: socket.socket, buf: RequestBuffer, served: int) -> bool:
        """Read until a complete request is buffered; False when the connection ends."""
        import gevent

        head_deadline = None
        idle_since = None
        # when this request (or the fresh connection) began: --min-data-rate; and
        # when the client last sent something: who is shed first at the cap
        start = last_byte = _now()
        current = gevent.getcurrent()
        reading = self.reading
        fd = sock.fileno()
        while not buf.ready:
            if buf.error is not None:  # after the requests before it were answered
                self.send_error(sock, buf.error.status, buf.error.reason)
                return False
            kept = buf.idle and served > 0  # an idle keep-alive connection
            if kept:
                if idle_since is None:
                    idle_since = _now()
                timeout = self.idle_wait(sock, idle_since)
                if timeout is None:
                    return False
            else:
                if buf.in_body:
                    timeout = self.body_timeout
                else:
                    if head_deadline is None:
                        head_deadline = start + (self.header_timeout or 1e9)
                    timeout = max(0.001, head_deadline - _now())
                floor = self.rates.rate_deadline(buf.received, start)
                if floor is not None:
                    timeout = max(0.001, min(timeout or 1e9, floor - _now()))
            sock.settimeout(timeout)
            reading[current] = (last_byte, fd)
            try:
                data = sock.recv(RECV_SIZE)
            except (TimeoutError, Shed) as e:
                if kept and e.__class__ is not Shed:
                    continue  # idle_wait() decides
                if not buf.idle:
                    self.send_error(sock, 408, "request timed out")
                return False
            finally:
                reading.pop(current, None)
            if not data:
                return False
            last_byte = _now()
            if kept:
                start = last_byte
                head_deadline = start + (self.header_timeout or 1e9)
                idle_since = None
            buf.feed(data)
        return True

    def idle_wait(self, sock: socket.socket, idle_since: float) -> float | None:
        """How long to wait for the next request on an idle keep-alive
        connection (short waits, so a stop is noticed), or None to close it:
        quiet past --keep-alive, or past STOP_IDLE_GRACE once stopping, and no
        byte of a next request arrived."""
        limit = self.keepalive
        if not self.alive:
            limit = min(limit, STOP_IDLE_GRACE) if limit else STOP_IDLE_GRACE
        if not limit:
            return TICK
        left = idle_since + limit - _now()
        if left <= 0:
            return None if not pending_bytes(sock.fileno()) else TICK
        return min(left, TICK)

    def answer(self, sock: socket.socket, buf: RequestBuffer, info: ConnInfo,
               current: Any) -> bool:
        """One exchange; True when the connection may carry another request."""
        head, body = buf.ready.popleft()
        if body.__class__ is ExpectBody:
            body.fetch = fetch_blocking(  # type: ignore[union-attr]
                buf, self._reader(sock, current), sock.sendall)
        sock.settimeout(self.send_timeout)
        self.request_started()  # before framing: the last one says Connection: close
        self.running[current] = _now()
        ex = self.cycle.exchange(head, body, info)
        keep = False
        try:
            for out in ex:
                self.send(sock, out, current)
            else:
                keep = ex.keep_alive
        except RequestTimeout:
            if not ex.headers_sent:
                self.send_error(sock, 503, "request timed out")
        finally:
            self.running.pop(current, None)
            try:
                ex.close()
            finally:
                body.release()
        return keep

    def send(self, sock: socket.socket, out: Any, current: Any) -> None:
        """Write one piece of output; the wait for the client is bounded by
        --send-timeout and not counted as the app's time (--timeout)."""
        started = self.running.pop(current, None)
        t0 = _now()
        try:
            if out.__class__ is bytes:
                send_all(sock, out, self.send_timeout)
            elif send_file(sock, out, self.send_timeout):
                self.log.debug("Sent %d bytes of a file with sendfile", out.count)
        finally:
            if started is not None and current not in self.running:
                self.running[current] = started + (_now() - t0)

    def _reader(self, sock: socket.socket, current: Any) -> Any:
        """``recv()`` for a body the app reads after ``100 Continue``; the wait
        is the client's time, not the app's (--timeout): the greenlet leaves
        the running set while it waits."""
        started: float | None = None
        t0 = 0.0

        def pause() -> None:
            nonlocal started, t0
            started = self.running.pop(current, None)
            t0 = _now()

        def resume() -> None:
            if started is not None and current not in self.running:
                self.running[current] = started + (_now() - t0)

        return body_reader(sock, self.body_timeout, self.rates, pause, resume)

    def send_error(self, sock: socket.socket, status: int, reason: str) -> None:
        try:
            sock.settimeout(1.0)
            sock.sendall(self.cycle.error_response(status, reason))
        except OSError:
            pass


__all__ = ["GeventWorker"]
