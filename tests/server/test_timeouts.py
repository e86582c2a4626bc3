"""Timeouts that protect workers, for every worker class: the whole request head
within --header-timeout whatever the trickle rate, an idle request body closed after
--body-timeout, an idle keep-alive connection closed after --keep-alive; a client
that trickles never holds the worker (or an app thread) from other clients, except
the sync worker, which serves one connection at a time by design and is only held
for as long as the header timeout."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from functools import partial

import pytest

from tests.server.faults import WORKERS, Background, get, start
from tests.support import WORKER_CLASSES, ServerProcess, read_response

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 1.0
KEEPALIVE = 1
SLACK = 2.0  # accept/close latency allowed on top of a timeout (loaded CI machines)
ONE_AT_A_TIME = {"sync"}


@pytest.fixture(scope="module", params=WORKERS)
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess]]:
    srv = start(
        request.param, "--header-timeout", str(HEADER_TIMEOUT), "--body-timeout",
        str(BODY_TIMEOUT), "--keep-alive", str(KEEPALIVE),
    )
    try:
        yield request.param, srv
    finally:
        srv.stop()


def closed_by_server(sock: socket.socket, wait: float) -> bytes | None:
    """Wait up to ``wait`` s; everything the server sent once it closed, None if still open."""
    data = b""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not select.select([sock], [], [], deadline - time.monotonic())[0]:
            return None
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return None


def trickle(sock: socket.socket, data: bytes, interval: float, limit: float) -> tuple[float, bytes]:
    """Send ``data`` a byte per ``interval`` s until the server closes; (seconds, bytes read)."""
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < limit:
        try:
            sock.send(data[i % len(data) : i % len(data) + 1])
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start, b""
        i += 1
        answer = closed_by_server(sock, interval)
        if answer is not None:
            return time.monotonic() - start, answer
    raise AssertionError(f"connection still open after {limit}s of trickling")


def assert_not_served(answer: bytes) -> None:
    """A timed-out client is closed, with a 408 at most (a trickler may be cut off
    before it reads the answer)."""
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def trickle_head(srv: ServerProcess, interval: float) -> tuple[float, bytes]:
    with socket.create_connection((srv.host, srv.port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
        return trickle(sock, b"X-Slow: abcdefgh\r\n", interval, HEADER_TIMEOUT + 3 * SLACK)


@pytest.mark.timeout(30)
def test_request_head_must_arrive_within_header_timeout(server: tuple[str, ServerProcess]) -> None:
    """Two clients trickle their head, one fast and one slow: both are cut off."""
    worker, srv = server
    pids = srv.worker_pids()
    intervals = (0.05, 0.5)
    tricklers = [Background(partial(trickle_head, srv, i)) for i in intervals]
    other = Background(lambda: get(srv, "/ok", timeout=15))
    for interval, trickler in zip(intervals, tricklers, strict=True):
        elapsed, answer = trickler.result()
        if worker in ONE_AT_A_TIME:  # the second trickler waited for the first one
            assert elapsed <= 2 * HEADER_TIMEOUT + SLACK, elapsed
        else:
            assert HEADER_TIMEOUT - interval - 0.2 <= elapsed <= HEADER_TIMEOUT + SLACK, elapsed
        assert_not_served(answer)
    assert other.result()[0] == 200
    assert srv.worker_pids() == pids


@pytest.mark.timeout(30)
def test_trickler_does_not_hold_the_worker(server: tuple[str, ServerProcess]) -> None:
    worker, srv = server
    with socket.create_connection((srv.host, srv.port), timeout=10) as sock:
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)
        begun = time.monotonic()
        status = get(srv, "/ok", timeout=15)[0]
        waited = time.monotonic() - begun
    assert status == 200
    if worker in ONE_AT_A_TIME:
        assert waited <= HEADER_TIMEOUT + SLACK, waited  # bounded by the header timeout
    else:
        assert waited < 1.0, waited


@pytest.mark.timeout(30)
def test_idle_request_body_is_closed_after_body_timeout(server: tuple[str, ServerProcess]) -> None:
    worker, srv = server
    with socket.create_connection((srv.host, srv.port), timeout=10) as sock:
        sock.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        begun = time.monotonic()
        if worker not in ONE_AT_A_TIME:  # the stalled body holds no app thread
            assert get(srv, "/ok", timeout=5)[0] == 200
        answer = closed_by_server(sock, BODY_TIMEOUT + 3 * SLACK)
        elapsed = time.monotonic() - begun
    assert answer is not None, "connection still open"
    assert elapsed <= BODY_TIMEOUT + SLACK, elapsed
    assert_not_served(answer)


@pytest.mark.timeout(30)
def test_idle_keep_alive_connection_is_closed(server: tuple[str, ServerProcess]) -> None:
    worker, srv = server
    with socket.create_connection((srv.host, srv.port), timeout=10) as sock:
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock)[0] == 200
        begun = time.monotonic()
        rest = closed_by_server(sock, KEEPALIVE + 3 * SLACK)
        elapsed = time.monotonic() - begun
    assert rest is not None, "idle keep-alive connection still open"
    assert rest == b""
    assert elapsed <= KEEPALIVE + SLACK, elapsed
    if worker in ONE_AT_A_TIME:
        assert elapsed < 0.5  # no keep-alive at all


@pytest.mark.timeout(30)
@pytest.mark.parametrize("worker", [w for w, args in WORKER_CLASSES if "--threads" in args])
def test_slow_clients_hold_no_app_thread(worker: str) -> None:
    """With a single app thread, clients stalled in their head or body leave it free."""
    with start(worker, "--threads", "1", "--header-timeout", "5", "--body-timeout", "5") as srv:
        stalled = []
        try:
            for data in [b"GET /ok HTTP/1.1\r\nHost: x\r\n",
                         b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc"] * 2:
                sock = socket.create_connection((srv.host, srv.port), timeout=10)
                stalled.append(sock)
                sock.sendall(data)
            time.sleep(0.2)
            begun = time.monotonic()
            assert get(srv, "/ok", timeout=10)[0] == 200
            assert time.monotonic() - begun < 1.0
        finally:
            for sock in stalled:
                sock.close()


@pytest.mark.timeout(40)
def test_stalled_head_or_body_is_answered_408(server: tuple[str, ServerProcess]) -> None:
    """A head or a body that stops arriving half-way gets a 408, then the
    connection closes: the same answer from every worker class."""
    worker, srv = server
    stalled = (
        (b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Half: ", HEADER_TIMEOUT),
        (b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789", BODY_TIMEOUT),
    )
    for data, limit in stalled:
        with socket.create_connection((srv.host, srv.port), timeout=10) as sock:
            sock.sendall(data)
            answer = closed_by_server(sock, limit + 3 * SLACK)
        assert answer is not None, (worker, data[:20], "connection still open")
        assert answer.startswith(b"HTTP/1.1 408 "), (worker, data[:20], answer[:120])
