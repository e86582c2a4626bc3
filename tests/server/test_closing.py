"""Sans-IO and socket-pair units of :mod:`corral.server.workers._closing` and the
stop-time keep-alive limit of :class:`corral.server.workers._buffered.Timeouts`."""

from __future__ import annotations

import socket
import threading
import time

from corral.server.config import Settings
from corral.server.http.parser import Limits
from corral.server.workers._buffered import RequestBuffer, Timeouts
from corral.server.workers._closing import (
    LINGER_BYTES,
    LINGER_TIME,
    LINGER_TIMEOUT,
    STOP_IDLE_GRACE,
    Lingering,
    close_or_linger,
    linger_close,
    pending_bytes,
)


def test_lingering_bounds() -> None:
    state = Lingering(100.0)
    assert state.read(1000, 101.0)
    assert not state.expired(101.0 + LINGER_TIMEOUT - 0.1)
    assert state.expired(101.0 + LINGER_TIMEOUT)  # too long between reads
    assert state.expired(100.0 + LINGER_TIME)  # too long in all
    assert not state.read(0, 102.0)  # the client closed
    assert not Lingering(0.0).read(LINGER_BYTES, 1.0)  # too much


def test_pending_bytes_sees_unread_input() -> None:
    a, b = socket.socketpair()
    with a, b:
        assert pending_bytes(a.fileno()) == 0
        b.sendall(b"GET / HTTP/1.1\r\n")
        deadline = time.monotonic() + 5
        while not pending_bytes(a.fileno()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pending_bytes(a.fileno()) == 16
    assert pending_bytes(-1) == 0


def test_linger_close_reads_until_the_peer_closes() -> None:
    """The response is readable by a peer that keeps sending, then closes."""
    a, b = socket.socketpair()
    with b:
        a.sendall(b"HTTP/1.1 413 Content Too Large\r\n\r\n")
        t = threading.Thread(target=linger_close, args=(a,))
        t.start()
        for _ in range(50):
            b.sendall(b"x" * 65536)  # still uploading: never a reset
        b.settimeout(5)
        got = b""
        while True:
            piece = b.recv(4096)
            if not piece:
                break
            got += piece
        assert got.startswith(b"HTTP/1.1 413")
        b.close()
        t.join(10)
        assert not t.is_alive()


def test_close_or_linger_closes_at_once_when_nothing_is_left() -> None:
    a, b = socket.socketpair()
    with b:
        t0 = time.monotonic()
        close_or_linger(a, False)
        assert a.fileno() == -1 and time.monotonic() - t0 < 1.0
        b.settimeout(5)
        assert b.recv(10) == b""


def test_stopping_worker_lets_a_quiet_keepalive_connection_go_sooner() -> None:
    t = Timeouts(Settings(keepalive=30))
    buf = RequestBuffer(Limits(), 1 << 20)
    quiet = STOP_IDLE_GRACE + 0.1
    assert t.check(buf, 1, 0.0, 0.0, quiet) == Timeouts.OK
    assert t.check(buf, 1, 0.0, 0.0, quiet, stopping=True) == Timeouts.CLOSE
    assert t.check(buf, 1, 0.0, 0.0, STOP_IDLE_GRACE - 0.1, stopping=True) == Timeouts.OK
    buf.feed(b"GET / HTTP/1.1\r\n")  # a request began: the head timeout rules, not the stop
    assert t.check(buf, 1, 0.0, 0.0, quiet, stopping=True) == Timeouts.OK
