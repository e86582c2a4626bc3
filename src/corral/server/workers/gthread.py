"""The ``gthread`` worker: a selector loop for I/O plus a pool of request threads.

The main thread waits in ``epoll`` on the listeners and on every connection that
is not answering a request.  It accepts, reads with non-blocking sockets into a
:class:`~corral.server.workers._buffered.RequestBuffer` until a whole request
(head and body) has arrived, so a trickling client never holds a pool thread,
keeps idle keep-alive connections, and enforces the header/body/keep-alive
timeouts and ``--min-data-rate``.  A connection with a complete request is
handed to one of ``--threads`` pool threads, which runs the shared request
cycle, writes the response with blocking sends, answers any pipelined requests
already buffered and re-arms the connection in ``epoll`` (one-shot
registrations, so a connection is owned by exactly one thread at a time).

A client that stops reading is bounded by ``--send-timeout`` (seconds without
progress; its connection is closed), and the time a pool thread waits on it
does not count towards ``--timeout``: the stuck-request watch measures the
application only.  TLS handshakes are driven by the selector loop with
non-blocking sockets, so silent or slow TLS clients never hold a pool thread;
PROXY headers, when configured, are still read in a pool thread (bounded by
``--header-timeout``) before the connection joins the loop.  At
``--worker-connections`` the loop keeps accepting and sheds the idlest
connection not answering a request (see :mod:`corral.server.workers._pressure`).
"""

from __future__ import annotations

import errno
import select
import socket
import ssl
import time

from corral.server.http.cycle import ConnInfo
from corral.server.http.errors import ParseError
from corral.server.http.parser import Limits
from corral.server.http.proxy import accept_proxy
from corral.server.http.response import FileChunk
from corral.server.sockets import Listener
from corral.server.tls import TLS_RECORD_HANDSHAKE, accept_tls, refuse_plain, suppresses_ragged_eofs
from corral.server.wakeup import WakePipe
from corral.server.workers._blocking_io import (
    RECV_SIZE,
    body_reader,
    read_now,
    send_all,
    send_file,
    send_now,
)
from corral.server.workers._buffered import (
    NO_BODY,
    ExpectBody,
    RequestBuffer,
    Timeouts,
    fetch_blocking,
)
from corral.server.workers._closing import Lingering, pending_bytes, shut_write
from corral.server.workers._pressure import Shedder
from corral.server.workers._threads import Job, ThreadPool, Watch
from corral.server.workers.base import EXIT_BOOT_ERROR, Worker

TICK = 0.5
_ARMED = select.EPOLLIN | select.EPOLLONESHOT if hasattr(select, "epoll") else 0
_ARMED_OUT = select.EPOLLOUT | select.EPOLLONESHOT if hasattr(select, "epoll") else 0
_ACCEPT_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ECONNABORTED, errno.EPROTO)
_now = time.monotonic


class Conn:
    """One client connection."""

    __slots__ = ("sock", "fd", "buffer", "info", "last", "head_start", "served", "busy",
                 "eof", "sent", "gone", "tls", "handshaking", "linger")

    def __init__(self, sock: socket.socket, info: ConnInfo, buffer: RequestBuffer) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.buffer = buffer
        self.info = info
        self.last = self.head_start = _now()
        self.served = 0
        self.busy = False  # owned by a pool thread
        self.eof = False
        self.sent = False  # some byte of the current response went out
        self.gone = False  # closed (or abandoned after a timeout)
        self.tls: ssl.SSLContext | None = None  # TLS to start on the first bytes
        self.handshaking = False  # wrapped, TLS handshake under way
        self.linger: Lingering | None = None  # answered and closing: input is discarded


class ThreadWorker(Worker):
    """Selector loop + thread pool; see the module docstring."""

    multithread = True

    def run(self) -> None:
        if not hasattr(select, "epoll"):
            self.log.error("the gthread worker needs epoll (Linux); use -k asyncio")
            raise SystemExit(EXIT_BOOT_ERROR)
        s = self.settings
        self.limits = Limits.from_settings(s)
        self.spool_size = s.body_spool_size
        self.timeouts = Timeouts(s)
        self.send_timeout = s.send_timeout or None
        self.shedder: Shedder[Conn] = Shedder(_sheddable, _last, TICK)
        self.waiting: list[Conn] = []  # accepted while every place was busy: not read yet
        self.max_conns = s.worker_connections
        self.keepalive_allowed = self.timeouts.keepalive > 0 and self.alive
        self.needs_setup = s.proxy_protocol
        self.poll = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.by_fd: dict[int, Listener] = {}
        self.accepting = False
        # a pool thread that frees a place while the cap holds connections back
        # (waiting, or still in the listen backlog) wakes the loop
        self.wake = WakePipe()
        self.poll.register(self.wake.r, select.EPOLLIN)
        self.pool = ThreadPool(s.threads, self.log)
        self.watch = Watch(self)
        for listener in self.listeners:
            listener.sock.setblocking(False)
            self.by_fd[listener.sock.fileno()] = listener
        self.set_accepting(True)
        try:
            self.serve_forever()
        finally:
            self.pool.shutdown()
            self.poll.close()
            self.wake.close()  # (a stuck pool thread may still close a connection)

    def connection_infos(self) -> list[ConnInfo]:
        return [conn.info for conn in list(getattr(self, "conns", {}).values())]

    def stop_keepalive(self) -> None:
        self.keepalive_allowed = False
        super().stop_keepalive()

    def set_accepting(self, on: bool) -> None:
        if on == self.accepting:
            return
        self.accepting = on
        for fd in self.by_fd:
            if on:
                self.poll.register(fd, select.EPOLLIN)
            else:
                self.poll.unregister(fd)

    # -- the loop ------------------------------------------------------------------
    def serve_forever(self) -> None:
        conns = self.conns
        next_tick = 0.0
        deadline: float | None = None
        while True:
            if not self.alive and deadline is None:
                deadline = _now() + self.settings.graceful_timeout
                self.begin_stop()
            if deadline is not None and (not self.conns or _now() >= deadline):
                return
            try:
                events = self.poll.poll(TICK)
            except InterruptedError:
                events = []
            for fd, _ in events:
                conn = conns.get(fd)  # nearly always: a client's bytes
                if conn is not None:
                    if not conn.busy:
                        self.readable(conn)
                    continue
                listener = self.by_fd.get(fd)
                if listener is not None:
                    self.accept(listener)
                elif fd == self.wake.r:
                    self.wake.drain()
            if self.waiting or not self.accepting:
                self.fill_places()  # a place may have come free: no wait for the tick
            now = _now()
            if now >= next_tick:
                next_tick = now + TICK
                self.housekeeping(now)

    def housekeeping(self, now: float) -> None:
        self.notify()
        for job in self.watch.expired():
            self.abandon(job.owner)
        check = self.timeouts.check
        stopping = not self.alive
        room = False  # an idle connection to shed for a new one
        for conn in list(self.conns.values()):
            if conn.busy or conn.gone:
                continue
            room = True  # one to shed at least
            if conn.linger is not None:
                if conn.linger.expired(now):
                    self.close(conn)
                continue
            verdict = check(conn.buffer, conn.served, conn.last, conn.head_start, now,
                            stopping)
            if verdict == Timeouts.REQUEST_TIMEOUT:
                self.fail(conn, 408, "request timed out")
            elif verdict == Timeouts.CLOSE and not pending_bytes(conn.fd):
                self.close(conn)  # idle, and no byte of a next request arrived
        self.fill_places(shed=True, room=room)

    def fill_places(self, shed: bool = False, room: bool = False) -> None:
        """Give free places to the waiting connections (with ``shed``, shedding
        idle ones to make them), then to new ones: accept again once nothing
        waits and there is a free place (or, with ``room``, one to shed)."""
        while self.waiting and (len(self.conns) < self.max_conns or (shed and self.shed())):
            self.admit(self.waiting.pop(0))
        if (not self.accepting and self.alive and not self.waiting
                and (room or len(self.conns) < self.max_conns)):
            self.set_accepting(True)

    def begin_stop(self) -> None:
        """Graceful stop: accept nothing more.  Every response framed from now on
        says ``Connection: close``; an idle keep-alive connection (whose last
        response said it could stay) is still read: a request arriving on it is
        answered, and it closes once quiet (see :meth:`Timeouts.check`)."""
        self.set_accepting(False)
        waiting, self.waiting = self.waiting, []
        for conn in waiting:  # the cap no longer matters: answer them too
            self.admit(conn)

    # -- accepting -----------------------------------------------------------------
    def accept(self, listener: Listener) -> None:
        for _ in range(64):
            if not self.alive:  # stopping: the other workers take the new connections
                return
            try:
                sock, addr = listener.sock.accept()
            except OSError as e:
                if e.errno not in _ACCEPT_AGAIN:
                    self.log.error("Cannot accept a connection: %s", e)
                return
            full = len(self.conns) >= self.max_conns and not self.shed()
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = listener.ssl_context
            info = ConnInfo(addr or "", sock.getsockname(), "https" if tls else "http",
                            self.keepalive_allowed)
            conn = Conn(sock, info, RequestBuffer(self.limits, self.spool_size))
            conn.tls = tls
            if full:  # every place is busy: this one waits, unread, for a free one
                self.waiting.append(conn)
                self.set_accepting(False)
                return
            self.admit(conn)

    def admit(self, conn: Conn) -> None:
        """Take an accepted connection into the loop (or its setup thread)."""
        self.conns[conn.fd] = conn
        conn.last = conn.head_start = _now()
        if self.needs_setup:
            tls, conn.tls = conn.tls, None
            conn.busy = True
            self.pool.submit(self.setup, conn, tls)
        else:  # a TLS handshake, if any, is driven by this loop: see handshake()
            self.poll.register(conn.fd, _ARMED)

    def shed(self) -> bool:
        """At --worker-connections: close the idlest connection not answering a
        request (408 if it was partway through one) to make room."""
        # a copy, made in one step: pool threads close connections meanwhile
        victim = self.shedder.pick(list(self.conns.values()))
        if victim is None:
            return False
        if victim.buffer.idle or victim.linger is not None:
            self.close(victim)
        else:
            self.fail(victim, 408, "request timed out")
        return True

    def forget(self, conn: Conn) -> None:
        """Drop a connection that never got as far as a request."""
        conn.gone = True
        self.conns.pop(conn.fd, None)
        conn.buffer.release()

    def setup(self, conn: Conn, tls: ssl.SSLContext | None) -> None:
        """In a pool thread: PROXY header and TLS handshake, blocking with the
        header timeout, then hand the connection to the loop."""
        sock = conn.sock
        try:
            sock.settimeout(self.timeouts.header or None)
            info = conn.info
            info.peer, info.sockname = accept_proxy(sock, self.settings, info.peer,
                                                    info.sockname)
            if tls is not None:
                wrapped = accept_tls(sock, tls, self.settings, self.log)
                if wrapped is None:  # refused or failed; accept_tls closed it
                    self.forget(conn)
                    return
                sock = conn.sock = wrapped
            sock.setblocking(False)
        except ParseError as e:
            self.fail(conn, e.status, e.reason)
            return
        except (OSError, ValueError) as e:
            self.log.debug("Connection setup failed: %s", e)
            self.linger(conn)  # let the client see our close, not a reset
            return
        conn.busy = False
        conn.head_start = _now()
        self.poll.register(conn.fd, _ARMED)

    def handshake(self, conn: Conn) -> None:
        """TLS, driven by the loop: on the first bytes make sure they are TLS (a
        plain-text 400 if they look like HTTP), wrap the socket, then step the
        handshake each time the socket is ready; no thread ever waits on it.
        ``--header-timeout`` and ``--min-data-rate`` bound it from housekeeping."""
        ctx = conn.tls
        if ctx is not None:
            try:
                first = conn.sock.recv(1, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                self.rearm(conn)
                return
            except OSError:
                self.close(conn)
                return
            if not first:
                self.close(conn)
                return
            if first[0] != TLS_RECORD_HANDSHAKE:
                self.forget_registered(conn)
                refuse_plain(conn.sock, first, self.log)
                return
            conn.tls = None
            try:
                conn.sock = ctx.wrap_socket(conn.sock, server_side=True,
                                            do_handshake_on_connect=False,
                                            suppress_ragged_eofs=suppresses_ragged_eofs(ctx))
            except (OSError, ValueError) as e:
                self.log.debug("TLS handshake failed: %s", e)
                self.close(conn)
                return
            conn.handshaking = True
        sock = conn.sock
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self.rearm(conn)
            return
        except ssl.SSLWantWriteError:
            self.rearm(conn, _ARMED_OUT)
            return
        except (OSError, ValueError) as e:
            self.log.debug("TLS handshake failed: %s", e)
            self.close(conn)
            return
        conn.handshaking = False
        conn.last = conn.head_start = _now()
        self.readable(conn)  # the request may have come with the last handshake bytes

    def forget_registered(self, conn: Conn) -> None:
        """Drop a connection from the loop without closing its socket."""
        try:
            self.poll.unregister(conn.fd)
        except (OSError, ValueError):
            pass
        self.forget(conn)

    # -- reading -------------------------------------------------------------------
    def readable(self, conn: Conn) -> None:
        if conn.linger is not None:
            self.discard(conn)
            return
        if conn.tls is not None or conn.handshaking:
            self.handshake(conn)
            return
        sock = conn.sock
        buf = conn.buffer
        try:
            if sock.__class__ is socket.socket:  # (non-blocking: see read_now)
                data = read_now(conn.fd, RECV_SIZE)
            else:  # TLS: what its layer holds decrypted goes too
                data = sock.recv(RECV_SIZE)
                while sock.pending():  # type: ignore[attr-defined]
                    data += sock.recv(RECV_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            self.rearm(conn)
            return
        except OSError:
            self.close(conn)
            return
        now = conn.last = _now()
        if not buf.received and not buf.ready:  # nothing fed since it was idle: a new head
            conn.head_start = now
        try:
            if data:
                buf.feed(data)
            else:
                conn.eof = True
                buf.feed_eof()
        except ParseError as e:
            if data:
                self.fail(conn, e.status, e.reason)
            else:
                self.close(conn)
            return
        if buf.ready:
            conn.busy = True
            self.pool.submit(self.handle, conn)
        elif buf.error is not None:
            self.fail(conn, buf.error.status, buf.error.reason)
        elif conn.eof:
            self.close(conn)
        else:
            self.rearm(conn)

    def rearm(self, conn: Conn, events: int = _ARMED) -> None:
        try:
            self.poll.modify(conn.fd, events)
        except (OSError, ValueError):
            self.close(conn)

    # -- answering (pool threads) ------------------------------------------------------
    def handle(self, conn: Conn) -> None:
        """Answer every complete request buffered on ``conn``, then give it back."""
        sock = conn.sock
        buf = conn.buffer
        try:
            if type(sock) is not socket.socket:  # TLS: sends block, bounded by a timeout
                sock.settimeout(self.send_timeout)
            while buf.ready and not conn.gone:
                if not self.answer(conn) or conn.eof:
                    self.finish(conn)
                    return
            if conn.gone:
                return
            if buf.error is not None:  # bad bytes after the requests just answered
                self.fail(conn, buf.error.status, buf.error.reason)
                return
            if sock.gettimeout() != 0.0:
                sock.setblocking(False)
        except OSError:
            self.close(conn)
            return
        except BaseException:
            self.close(conn)  # never leave a connection owned by no one
            raise
        conn.last = conn.head_start = _now()
        conn.busy = False
        self.rearm(conn)

    def answer(self, conn: Conn) -> bool:
        """One exchange (the next buffered request); True when the connection
        may carry another request."""
        sock = conn.sock
        head, body = conn.buffer.ready.popleft()
        self.request_started()  # before framing: the last one says Connection: close
        job = self.watch.begin(conn)
        if body.__class__ is ExpectBody:
            body.fetch = fetch_blocking(  # type: ignore[union-attr]
                conn.buffer, body_reader(sock, self.timeouts.body, self.timeouts, job.pause, job.resume), sock.sendall)
        conn.sent = False
        keep = False
        ex = self.cycle.exchange(head, body, conn.info)
        try:
            for out in ex.output:
                if job.timed_out:
                    break
                conn.sent = True
                self.send(sock, out, job)
            else:
                keep = ex.keep_alive
        except OSError as e:
            self.log.debug("Client went away while sending the response: %s", e)
        finally:
            self.watch.discard(job)
            try:
                ex.close()
            finally:
                if body is not NO_BODY:
                    body.release()
        conn.served += 1
        return keep and not job.timed_out

    def send(self, sock: socket.socket, out: bytes | FileChunk, job: Job) -> None:
        """Write one piece of output; the wait for the client is not the app's
        time (--timeout), and is bounded by --send-timeout (sooner when other
        requests wait for a thread: see :mod:`corral.server.workers._blocking_io`).
        What the kernel takes at once (nearly always all of a small answer)
        goes without marking the wait."""
        data: bytes | memoryview | FileChunk = out
        if out.__class__ is bytes and sock.__class__ is socket.socket and sock.gettimeout() == 0.0:
            sent = send_now(sock, out)  # type: ignore[arg-type]
            if sent == len(out):  # type: ignore[arg-type]
                return
            data = memoryview(out)[sent:]  # type: ignore[arg-type]
        job.pause()
        needed = self.pool.needed
        try:
            if isinstance(data, FileChunk):
                send_file(sock, data, self.send_timeout, needed=needed)
            else:
                send_all(sock, data, self.send_timeout, needed=needed)
        finally:
            job.resume()

    # -- closing -------------------------------------------------------------------
    def fail(self, conn: Conn, status: int, reason: str) -> None:
        """Answer a protocol error (best effort) and close, lingering."""
        try:
            conn.sock.settimeout(1.0)
            conn.sock.sendall(self.cycle.error_response(status, reason))
        except OSError:
            self.close(conn)
            return
        self.linger(conn)

    def finish(self, conn: Conn) -> None:
        """Close after the last response: lingering when the client may still be
        sending (a request read only in part, bytes not read yet)."""
        if conn.eof or (conn.buffer.idle and not pending_bytes(conn.fd)):
            self.close(conn)
        else:
            self.linger(conn)

    def linger(self, conn: Conn) -> None:
        """Shut our side and let the loop discard the client's input until it
        closes (:mod:`corral.server.workers._closing`), so it reads the response."""
        if conn.gone:
            return
        conn.buffer.release()
        conn.linger = Lingering(_now())
        try:
            conn.sock.setblocking(False)
        except (OSError, ValueError):
            self.close(conn)
            return
        shut_write(conn.sock)
        conn.busy = False
        try:
            self.poll.modify(conn.fd, _ARMED)
        except FileNotFoundError:  # not in the loop yet (refused during setup)
            try:
                self.poll.register(conn.fd, _ARMED)
            except (OSError, ValueError):
                self.close(conn)
        except (OSError, ValueError):
            self.close(conn)

    def discard(self, conn: Conn) -> None:
        """Read and drop what a lingering connection still sends."""
        state = conn.linger
        assert state is not None
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            self.rearm(conn)
            return
        except OSError:
            self.close(conn)
            return
        if state.read(len(data), _now()):
            self.rearm(conn)
        else:
            self.close(conn)

    def close(self, conn: Conn) -> None:
        if conn.gone:
            return
        conn.gone = True
        self.conns.pop(conn.fd, None)
        try:
            self.poll.unregister(conn.fd)
        except (OSError, ValueError):
            pass
        conn.buffer.release()
        try:
            conn.sock.close()
        except OSError:
            pass
        if self.waiting or not self.accepting:  # its place goes to a waiting one
            self.wake.wake()

    def abandon(self, conn: Conn) -> None:
        """The request of ``conn`` is stuck in a pool thread: answer 503 if nothing
        was sent, and cut the connection (the stuck thread keeps its socket)."""
        conn.gone = True
        self.conns.pop(conn.fd, None)
        sock = conn.sock
        try:
            if not conn.sent:
                sock.settimeout(1.0)
                sock.sendall(self.cycle.error_response(503, "request timed out"))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _last(conn: Conn) -> float:
    return conn.last


def _sheddable(conn: Conn) -> bool:
    # a request already in the socket, not yet read by the loop, is about to be
    # answered: shedding it would lose a request the client has sent whole
    return not (conn.busy or conn.gone or conn.buffer.ready
                or (conn.buffer.idle and conn.linger is None and pending_bytes(conn.fd)))


__all__ = ["ThreadWorker"]
