"""The connections of one ``asyncio`` worker (:class:`ConnectionManager`):
accepting, with ``--worker-connections`` (the idlest connection shed for a new
one, see :mod:`corral.server.workers._pressure`); the periodic tick that beats
the heartbeat, watches pool threads for ``--timeout`` and applies the
header/body/keep-alive timeouts, ``--min-data-rate`` and ``--send-timeout``;
graceful stop.  The connections themselves are
:class:`corral.server.workers.asyncio.HttpProtocol` objects.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

from corral.server.http.cycle import ConnInfo
from corral.server.http.parser import Limits
from corral.server.workers._buffered import Timeouts
from corral.server.workers._closing import pending_bytes
from corral.server.workers._pressure import Shedder, write_stalled
from corral.server.workers._threads import ThreadPool, Watch

if TYPE_CHECKING:
    from corral.server.workers.asyncio import AsyncioWorker, HttpProtocol

TICK = 0.5  # seconds between housekeeping passes (heartbeat, timeouts)
_now = time.monotonic

class Phase(Enum):
    """Where a connection is in its request cycle (``HttpProtocol.phase``)."""

    IDLE = "idle"  # between requests: the last one answered, no byte of the next yet
    ARRIVING = "arriving"  # a request is being read (a fresh connection counts)
    ANSWERING = "answering"  # a request is being answered (inline or by a pool thread)


IDLE, ARRIVING, ANSWERING = Phase



class ConnectionManager:
    """The connections of one worker: accept (with the cap), housekeeping,
    graceful stop."""

    def __init__(self, worker: AsyncioWorker, loop: asyncio.AbstractEventLoop,
                 protocol: Callable[[ConnectionManager, ssl.SSLContext | None], Any]
                 | None = None) -> None:
        s = worker.settings
        self.protocol = protocol  # makes a connection's protocol: (manager, TLS context)
        self.worker = worker
        self.loop = loop
        self.cycle = worker.cycle
        self.limits = Limits.from_settings(s)
        self.spool_size = s.body_spool_size
        self.timeouts = Timeouts(s)
        self.keepalive_allowed = self.timeouts.keepalive > 0
        self.header_timeout = self.timeouts.header
        self.body_timeout = self.timeouts.body
        self.max_conns = s.worker_connections
        self.send_timeout = s.send_timeout
        self.shedder: Shedder[HttpProtocol] = Shedder(_sheddable, _last, TICK)
        self.proxy_protocol = s.proxy_protocol
        self.conn_template = ConnInfo("", "", "http", self.keepalive_allowed)
        threads = s.threads
        self.pool = ThreadPool(threads, worker.log) if threads > 1 else None
        self.watch = Watch(worker) if threads > 1 else None
        self.conns: set[HttpProtocol] = set()
        self.waiting: deque[HttpProtocol] = deque()  # accepted beyond the cap
        self.servers: list[Any] = []
        self.accepting = False
        self.stopping = False
        self.stop_deadline = 0.0
        self.done: asyncio.Future[None] = loop.create_future()
        self.holding: list[HttpProtocol] = []
        # bound once: what the loop's pass ends with when answers are held, and
        # the worker's count of requests (a method read per request would make
        # a new bound method each time)
        self.flush_held = self.release_held
        self.request_started = worker.request_started

    def release_held(self) -> None:
        """Write the held answers of the connections in :attr:`holding`.

        A connection's small answers are held (``HttpProtocol.held``) and the
        connection put in :attr:`holding`; the first one put there in a pass of
        the loop schedules this call for the end of that pass.  So the answers
        go out when the loop has dealt with every connection that was ready: one
        burst of writes per pass instead of one write between every two app
        calls, which wakes the reader of those responses once per pass rather
        than once per response (measured in bench/RESULTS.md)."""
        holding = self.holding
        for proto in holding:
            if proto.held is not None:
                proto.release()
        holding.clear()

    # -- accepting -----------------------------------------------------------------
    async def start_accepting(self) -> None:
        if self.accepting or self.stopping:
            return
        self.accepting = True
        for listener in self.worker.listeners:
            sock = listener.sock.dup()  # closing a server closes its socket
            ctx = listener.ssl_context
            extra: dict[str, Any] = {}
            if ctx is not None and not self.proxy_protocol:
                extra = {"ssl": ctx, "ssl_handshake_timeout": self.header_timeout or None}
            try:
                server = await self.loop.create_server(
                    self._factory(ctx), sock=sock, **extra,
                    backlog=self.worker.settings.backlog,
                )
            except BaseException:
                sock.close()
                raise
            self.servers.append(server)

    def _factory(self, tls: ssl.SSLContext | None) -> Any:
        protocol = self.protocol
        assert protocol is not None
        return lambda: protocol(self, tls)

    def stop_accepting(self) -> None:
        self.accepting = False
        servers, self.servers = self.servers, []
        for server in servers:
            server.close()

    def opened(self, proto: HttpProtocol) -> None:
        self.conns.add(proto)
        if len(self.conns) - len(self.waiting) > self.max_conns and not self.shed(proto):
            proto.capped = proto.special = True
            proto.transport.pause_reading()
            self.waiting.append(proto)
            if self.accepting:
                self.stop_accepting()

    def shed(self, newcomer: HttpProtocol | None) -> bool:
        """Over --worker-connections: close the idlest connection not answering a
        request (408 if it was partway through sending one) for ``newcomer``."""
        victim = self.shedder.pick(self.conns, newcomer)
        if victim is None:
            return False
        if victim.buffer.idle or victim.linger is not None:
            victim.close()  # (a lingering one has had its answer: nothing more is written)
        else:
            victim._error(408, "request timed out")
        return True

    def closed(self, proto: HttpProtocol) -> None:
        self.conns.discard(proto)
        if proto.capped:
            try:
                self.waiting.remove(proto)
            except ValueError:
                pass
        while self.waiting and len(self.conns) - len(self.waiting) < self.max_conns:
            nxt = self.waiting.popleft()
            nxt.capped = False
            nxt.special = nxt.proxy is not None or nxt.pre_tls is not None
            nxt.head_start = nxt.last = _now()
            if not nxt.rpaused and not nxt.closing:
                nxt.transport.resume_reading()
            stash, nxt.stash = nxt.stash, None
            if stash and not nxt.closing:
                nxt.data_received(stash)
        if self.stopping:
            if not self.conns:
                self.loop.call_later(0.05, self._finish_if_idle)
        elif not self.accepting and len(self.conns) < self.max_conns:
            self.loop.create_task(self.start_accepting())

    # -- housekeeping ----------------------------------------------------------------
    def tick(self) -> None:
        worker = self.worker
        worker.notify()
        if self.watch is not None:
            for job in self.watch.expired():
                job.owner.timed_out()
        if not worker.alive and not self.stopping:
            self.begin_stop()
        if self.waiting and not self.stopping:  # a place may have gone idle since
            self.shedder.forget()
            for _ in range(len(self.waiting)):  # each victim's close frees one place
                if not self.shed(None):
                    break
        now = _now()
        if self.stopping and now >= self.stop_deadline and not self.done.done():
            self.done.set_result(None)
        self.expire(now)
        self.loop.call_later(TICK, self.tick)

    def expire(self, now: float) -> None:
        """Close connections idle past their timeout (408 for a partial request)."""
        check = self.timeouts.check
        send_timeout = self.send_timeout
        for proto in list(self.conns):
            if (proto.wpaused or proto.closing) and send_timeout and not proto.lost:
                if write_stalled(proto, now, send_timeout):
                    self.worker.log.debug("Closing a connection whose client read nothing "
                                          "for %ss", send_timeout)
                    proto.abort()
                continue
            if proto.phase is ANSWERING or proto.capped or proto.buffer.ready:
                continue
            if proto.linger is not None:
                if proto.linger.expired(now):
                    proto.close()
                continue
            verdict = check(proto.buffer, proto.served, proto.last, proto.head_start, now,
                            self.stopping)
            if verdict == Timeouts.REQUEST_TIMEOUT:
                proto._error(408, "request timed out")
            elif verdict == Timeouts.CLOSE and not pending_bytes(proto.fileno()):
                proto.close()  # idle, and no byte of a next request arrived

    def begin_stop(self) -> None:
        """Graceful stop: accept nothing more; every response framed from now on
        says ``Connection: close``.  An idle keep-alive connection (whose last
        response said it could stay) is still read: a request arriving on it is
        answered, and it closes once quiet (see :meth:`Timeouts.check`); a fresh one
        gets its first request answered (bounded by --header-timeout)."""
        if self.stopping:
            return
        self.stopping = True
        self.keepalive_allowed = False
        self.worker.alive = False
        self.stop_deadline = _now() + self.worker.settings.graceful_timeout
        self.stop_accepting()
        # connections accepted just before the listeners closed may still be on
        # their way to connection_made(): look again a moment later
        self.loop.call_later(0.05, self._finish_if_idle)

    def _finish_if_idle(self) -> None:
        if not self.conns and not self.done.done():
            self.done.set_result(None)

    def close_all(self) -> None:
        for proto in list(self.conns):
            proto.close()
        if self.pool is not None:
            self.pool.shutdown()


def _last(proto: HttpProtocol) -> float:
    return proto.last


def _sheddable(proto: HttpProtocol) -> bool:
    return proto.sheddable()


__all__ = ["TICK", "ConnectionManager"]
