"""``sync`` worker: blocking, one connection at a time, closed after each response.

The worker waits in ``select`` on every listener (waking at least every
``timeout / 2`` seconds to beat its heartbeat), accepts one connection, reads the
request head (bounded by ``--header-timeout``), runs the request cycle with a
:class:`~corral.server.http.body.StreamBody` that reads the body as the app asks
for it (idle reads bounded by ``--body-timeout``), writes the response and closes.

One connection at a time is the design, so a slow client holds the worker: a
request head for at most ``--header-timeout`` (less when it trickles below
``--min-data-rate`` after its grace), a client that stops reading its response
for at most ``--send-timeout`` without progress.  While waiting on such a client
the worker keeps beating its heartbeat: the arbiter's ``--timeout`` measures the
application, not the client.  Put a buffering proxy in front of it for the open
internet (as with Gunicorn).
"""

from __future__ import annotations

import errno
import select
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from corral.server.http.body import StreamBody
from corral.server.http.cycle import ConnInfo, Exchange
from corral.server.http.errors import ClientDisconnected, ParseError, RequestTimeout
from corral.server.http.parser import Limits, RequestHead, RequestParser
from corral.server.http.proxy import accept_proxy
from corral.server.http.response import FileChunk, error_response
from corral.server.sockets import Listener
from corral.server.tls import accept_tls
from corral.server.workers._blocking_io import RECV_SIZE, send_all, send_file
from corral.server.workers._buffered import Timeouts
from corral.server.workers._closing import close_or_linger, linger_close
from corral.server.workers.base import Worker

if TYPE_CHECKING:
    from corral.server.config import Settings

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_ACCEPT_ERRORS = (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK, errno.EPROTO)


class Connection:
    """One accepted client: blocking reads through the parser, writes of output."""

    def __init__(self, sock: socket.socket, settings: Settings, limits: Limits,
                 beat: Callable[[], object] | None = None, rates: Timeouts | None = None,
                 ) -> None:
        self.sock = sock
        self.parser = RequestParser(limits)
        self.header_timeout = settings.header_timeout or None
        self.body_timeout = settings.body_timeout or None
        self.send_timeout = settings.send_timeout or None
        self.beat = beat  # the worker's heartbeat, beaten while waiting on the client
        self.rates = rates

    def read_head(self) -> tuple[RequestHead, list[Any]] | None:
        """Read until a request head is complete; None when the client left or
        sent nothing in time; ParseError(408) when a head began but did not
        arrive whole within --header-timeout."""
        start = time.monotonic()
        deadline = start + self.header_timeout if self.header_timeout else None
        received = 0
        events: list[Any] = []
        while True:
            floor = self.rates.rate_deadline(received, start) if self.rates else None
            if floor is not None and (deadline is None or floor < deadline):
                deadline = floor
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._check_partial()
                    return None
                self.sock.settimeout(left)
            try:
                data = self.sock.recv(RECV_SIZE)
            except TimeoutError:
                self._check_partial()
                return None
            except OSError:
                return None
            if not data:
                self.parser.feed_eof()
                return None
            received += len(data)
            if self.header_timeout:
                deadline = start + self.header_timeout
            events.extend(self.parser.feed(data))
            if events:
                head = events[0]
                assert isinstance(head, RequestHead)
                return head, events[1:]

    def _check_partial(self) -> None:
        """Out of time for the head: a head that began gets a 408 (ParseError),
        as in the other workers; a connection that sent nothing is just closed."""
        if self.parser.in_message:
            raise ParseError(408, "request timed out")

    def fill(self) -> list[Any]:
        """Read more of the body (StreamBody's fill callback); a client idle past
        --body-timeout gets a 408 (when nothing of the response went out yet)."""
        if self.parser.error is not None:  # found in what was read before
            raise self.parser.error
        self.sock.settimeout(self.body_timeout)
        try:
            data = self.sock.recv(RECV_SIZE)
        except TimeoutError:
            raise ParseError(408, "request timed out") from None
        except OSError as exc:
            raise ClientDisconnected(str(exc))
        if not data:
            raise ClientDisconnected("client closed the connection during the request body")
        return self.parser.feed(data)

    def send_continue(self) -> None:
        self.sock.settimeout(self.send_timeout)
        self.sock.sendall(CONTINUE)

    def write(self, out: bytes | FileChunk) -> None:
        """Write a piece of the response: --send-timeout bounds a wait without
        progress; the heartbeat goes on meanwhile."""
        if type(out) is bytes:
            send_all(self.sock, out, self.send_timeout, self.beat)
        else:
            assert isinstance(out, FileChunk)
            send_file(self.sock, out, self.send_timeout, self.beat)


class SyncWorker(Worker):
    """Blocking worker: one connection at a time."""

    multithread = False

    def run(self) -> None:
        self.limits = Limits.from_settings(self.settings)
        self.rates = Timeouts(self.settings)
        self.proxy_protocol = self.settings.proxy_protocol
        for listener in self.listeners:
            listener.sock.setblocking(False)
        by_fd = {listener.sock.fileno(): listener for listener in self.listeners}
        socks = [listener.sock for listener in self.listeners]
        wait = min(1.0, self.timeout / 2.0) if self.timeout else 1.0
        while self.alive:
            self.notify()
            try:
                ready, _, _ = select.select(socks, [], [], wait)
            except InterruptedError:
                continue
            except OSError as exc:
                if exc.errno == errno.EBADF and not self.alive:
                    return
                raise
            for sock in ready:
                self.accept(by_fd[sock.fileno()])
                if not self.alive:
                    break

    def accept(self, listener: Listener) -> None:
        """Serve the connections queued on ``listener``, one at a time."""
        while self.alive:
            try:
                client, addr = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.log.error("Cannot accept a connection: %s", exc)
                    time.sleep(0.1)
                elif exc.errno not in _ACCEPT_ERRORS:
                    raise
                return
            self.notify()
            try:
                self.handle(listener, client, addr)
            finally:
                self.notify()

    def handle(self, listener: Listener, client: socket.socket, addr: Any) -> None:
        client.setblocking(True)
        if client.family in (socket.AF_INET, socket.AF_INET6):
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(client, self.settings, self.limits, self.notify, self.rates)
        scheme = "http"
        try:
            sockname = client.getsockname()
            if self.proxy_protocol:
                client.settimeout(conn.header_timeout)
                addr, sockname = accept_proxy(client, self.settings, addr, sockname)
            if listener.ssl_context is not None:
                scheme = "https"
                tls = accept_tls(client, listener.ssl_context, self.settings, self.log)
                if tls is None:
                    return
                client = conn.sock = tls
            got = conn.read_head()
        except ParseError as exc:
            # a 408 means the client stopped sending: no input to wait out, and
            # lingering would hold this (only) worker longer for an idle client
            self.send_error(conn, exc.status, exc.reason, linger=exc.status != 408)
            return
        except (OSError, ValueError) as exc:
            self.log.debug("Connection failed before a request: %s", exc)
            client.close()
            return
        if got is None:
            client.close()
            return
        head, pending = got
        info = ConnInfo(addr, sockname, scheme, False,
                        conn.send_continue if head.expect_continue else None)
        body = StreamBody(conn.fill, pending, info.send_continue)
        self.request_started()
        complete = self.serve(conn, head, body, info)
        close_or_linger(client, not (complete and body.complete), self.notify)

    def serve(self, conn: Connection, head: RequestHead, body: StreamBody,
              info: ConnInfo) -> bool:
        """Run one exchange; True when the response went out whole."""
        ex: Exchange = self.cycle.exchange(head, body, info)
        try:
            for out in ex:
                conn.write(out)
            return True
        except RequestTimeout:
            if not ex.headers_sent:
                self.send_error(conn, 503, "", linger=False)
            return False
        except OSError as exc:
            self.log.debug("Client went away while sending the response: %s", exc)
            return False
        except Exception:
            self.log.exception("Error while serving %s", head.raw_uri)
            return False
        finally:
            ex.close()

    def send_error(self, conn: Connection, status: int, reason: str,
                   linger: bool = True) -> None:
        try:
            conn.sock.settimeout(conn.send_timeout)
            conn.sock.sendall(error_response(status, reason))
        except OSError:
            pass
        if linger:
            linger_close(conn.sock, self.notify)
        else:
            conn.sock.close()
