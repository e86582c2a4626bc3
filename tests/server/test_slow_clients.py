"""Slow and stalled clients cost their own connection, never a worker or a thread.

* A client that asks for a large response and never reads it: the others are
  served meanwhile, the stuck-request watch (``--timeout``) does not fire for it,
  and ``--send-timeout`` closes that connection alone.
* ``--min-data-rate``: a request head or body trickled below the rate after its
  grace gets 408 long before ``--header-timeout``/``--body-timeout``; an upload
  that keeps the rate is served.
* A flood of idle and trickling connections past ``--worker-connections`` does
  not keep a new client out: the idlest connection is shed for it.
* TLS: silent TCP connections on a TLS listener do not delay a real TLS client
  (``gthread`` drives handshakes from its selector loop, not its pool threads).

Every worker class, except where the sync worker (one connection at a time by
design) is only checked for what it promises: not killed, serving again once
the stalled client is cut off.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.faults import WORKERS, start
from tests.server.test_tls import Certs
from tests.support import WORKER_CLASSES, ServerProcess, recv_all

pytestmark = pytest.mark.slow

APP = "slow_app:application"
CONCURRENT = [w for w in WORKERS if w != "sync"]
TIMEOUT = 2  # --timeout: the stuck-request watch
SEND_TIMEOUT = 4.0  # --send-timeout
BIG_MIB = 64


def get_ok(srv: ServerProcess, timeout: float = 10.0) -> tuple[int, float]:
    """GET /ok on a fresh connection: (status, seconds taken); status 0 if closed."""
    t0 = time.monotonic()
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as s:
        s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = recv_all(s)
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, time.monotonic() - t0


def drain(s: socket.socket, limit: float) -> tuple[int, bool]:
    """Read until the server closes or ``limit`` s pass: (bytes read, closed)."""
    got = 0
    deadline = time.monotonic() + limit
    s.setblocking(False)
    while time.monotonic() < deadline:
        if not select.select([s], [], [], deadline - time.monotonic())[0]:
            continue
        try:
            data = s.recv(1 << 20)
        except BlockingIOError:
            continue
        except ConnectionResetError:
            return got, True
        if not data:
            return got, True
        got += len(data)
    return got, False


# -- a client that never reads ------------------------------------------------------


@pytest.fixture(scope="module", params=WORKERS)
def stall_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess]]:
    srv = start(request.param, "--timeout", str(TIMEOUT), "--send-timeout", str(SEND_TIMEOUT),
                "--graceful-timeout", "3", app=APP)
    try:
        yield request.param, srv
    finally:
        srv.stop()


def test_a_client_that_never_reads_costs_only_its_connection(
    stall_server: tuple[str, ServerProcess],
) -> None:
    worker, srv = stall_server
    pids = srv.worker_pids()
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((srv.host, srv.port))
    try:
        stalled.sendall(f"GET /big?mb={BIG_MIB} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        t0 = time.monotonic()
        if worker != "sync":
            # past --timeout and past --send-timeout, others are served promptly
            served = 0
            while time.monotonic() - t0 < SEND_TIMEOUT + TIMEOUT:
                status, took = get_ok(srv)
                assert status == 200
                assert took < 3.0, f"a normal client waited {took:.1f}s"
                served += 1
                time.sleep(0.2)
            assert served >= 5
        else:
            time.sleep(SEND_TIMEOUT + TIMEOUT)  # the worker waits on the client
        # the stalled connection was closed by the server, long before 64 MiB went out
        got, closed = drain(stalled, 20.0)
        assert closed, "the stalled connection is still open"
        assert got < BIG_MIB << 20
    finally:
        stalled.close()
    status, _ = get_ok(srv, timeout=20)
    assert status == 200
    assert srv.worker_pids() == pids, "the worker was replaced"
    assert "WORKER TIMEOUT" not in srv.output()


@pytest.mark.parametrize("worker", ["gthread", "asyncio-t4"])
def test_stalled_readers_cannot_starve_the_thread_pool(worker: str) -> None:
    """More clients that never read a large response than the worker has threads
    (default --send-timeout, 30 s): a normal client is still answered within a few
    seconds, as a thread stuck on a stalled reader gives up when others need it."""
    srv = start(worker, "--threads", "2", "--timeout", str(TIMEOUT), app=APP)
    stalled: list[socket.socket] = []
    try:
        pids = srv.worker_pids()
        for _ in range(3):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect((srv.host, srv.port))
            s.sendall(f"GET /big?mb={BIG_MIB} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            stalled.append(s)
        time.sleep(1.0)
        status, took = get_ok(srv, timeout=20)
        assert status == 200
        assert took < 10, f"a normal client waited {took:.1f}s behind stalled readers"
        assert srv.worker_pids() == pids
        assert "WORKER TIMEOUT" not in srv.output()
    finally:
        for s in stalled:
            s.close()
        srv.stop()


def test_a_slow_but_steady_reader_gets_everything(stall_server: tuple[str, ServerProcess]) -> None:
    """--send-timeout is about progress, not the whole write: a reader slower than
    the response is long, but steady, is not cut off."""
    _, srv = stall_server
    mib = 4
    with socket.create_connection((srv.host, srv.port), timeout=20) as s:
        s.sendall(f"GET /big?mb={mib} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        got = 0
        t0 = time.monotonic()
        while True:  # about 1 MiB/s: the whole response takes longer than --send-timeout
            data = s.recv(65536)
            if not data:
                break
            got += len(data)
            ahead = got / (1 << 20) - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
            assert time.monotonic() - t0 < 60
    assert time.monotonic() - t0 > SEND_TIMEOUT
    assert got > mib << 20  # head + chunked body


# -- minimum data rate ----------------------------------------------------------------


@pytest.fixture(scope="module", params=WORKERS)
def rate_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess]]:
    srv = start(request.param, "--min-data-rate", "200", "--min-data-rate-grace", "1",
                "--header-timeout", "30", "--body-timeout", "30", app=APP)
    try:
        yield request.param, srv
    finally:
        srv.stop()


def trickle_until_closed(s: socket.socket, payload: bytes, interval: float,
                         limit: float) -> tuple[float, bytes]:
    """Send ``payload`` a byte every ``interval`` s until the server closes."""
    t0 = time.monotonic()
    for i in range(len(payload)):
        if time.monotonic() - t0 > limit:
            break
        try:
            s.send(payload[i : i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - t0, b""
        if select.select([s], [], [], interval)[0]:
            try:
                answer = recv_all(s)
            except OSError:
                answer = b""
            return time.monotonic() - t0, answer
    raise AssertionError(f"still open after {limit}s of trickling")


@pytest.mark.parametrize("what", ["head", "body"])
def test_a_request_below_the_minimum_rate_gets_408(
    rate_server: tuple[str, ServerProcess], what: str,
) -> None:
    worker, srv = rate_server
    if what == "body" and worker == "sync":
        pytest.skip("the sync worker streams bodies to the app (bounded by --body-timeout)")
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        if what == "body":
            s.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
            payload = b"y" * 5000
        else:
            s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
            payload = b"X-Pad: " + b"p" * 4000 + b"\r\n\r\n"
        took, answer = trickle_until_closed(s, payload, 0.25, 20)
    assert took < 10, f"cut after {took:.1f}s, not by the rate"  # the timeouts are 30 s
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:100]


def test_a_100_continue_body_below_the_minimum_rate_is_cut(
    rate_server: tuple[str, ServerProcess],
) -> None:
    """A body the app asked for (``Expect: 100-continue``), trickled: the read
    fails by the rate, not by the 30 s timeouts, and no worker is lost."""
    worker, srv = rate_server
    if worker == "sync":
        pytest.skip("the sync worker streams bodies to the app (bounded by --body-timeout)")
    pids = srv.worker_pids()
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        s.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100 ")
        took, answer = trickle_until_closed(s, b"y" * 5000, 0.25, 20)
    assert took < 10, f"cut after {took:.1f}s, not by the rate"
    assert not answer.startswith(b"HTTP/1.1 200 "), answer[:100]
    assert get_ok(srv)[0] == 200
    assert srv.worker_pids() == pids


def test_an_upload_that_keeps_the_rate_is_served(rate_server: tuple[str, ServerProcess]) -> None:
    _, srv = rate_server
    size, pieces = 4000, 10  # 400 bytes every 0.4 s: 1000 B/s for 4 s, past the grace
    with socket.create_connection((srv.host, srv.port), timeout=20) as s:
        s.sendall(f"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
                  "Connection: close\r\n\r\n".encode())
        for _ in range(pieces):
            time.sleep(0.4)
            s.sendall(b"z" * (size // pieces))
        answer = recv_all(s)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:100]
    assert answer.endswith(str(size).encode())


# -- floods past --worker-connections ---------------------------------------------------


@pytest.mark.parametrize("worker", CONCURRENT)
def test_a_new_client_is_served_through_a_flood(worker: str) -> None:
    """600 idle connections and 100 tricklers (a byte every 2 s) against a worker
    taking 100 connections, default rates and timeouts: a new client is served."""
    srv = start(worker, "--worker-connections", "100", app=APP)
    socks: list[socket.socket] = []
    try:
        tricklers = []
        for _ in range(100):
            s = socket.create_connection((srv.host, srv.port), timeout=10)
            s.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            tricklers.append(s)
        socks += tricklers
        for _ in range(600):
            socks.append(socket.create_connection((srv.host, srv.port), timeout=10))
        t0 = time.monotonic()
        for s in tricklers:  # one byte each, as the flood goes on
            try:
                s.send(b"t")
            except OSError:
                pass
        took = []
        for _ in range(3):
            status, secs = get_ok(srv, timeout=15)
            assert status == 200
            took.append(secs)
        assert min(took) < 5.0, took
        assert time.monotonic() - t0 < 30
        assert len(srv.worker_pids()) == 1
    finally:
        for s in socks:
            s.close()
        srv.stop()


# -- TLS handshakes ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    root: Path = tmp_path_factory.mktemp("slow-certs")
    return Certs(root)


@pytest.mark.parametrize("worker", CONCURRENT)
def test_silent_tcp_connections_do_not_delay_a_tls_client(worker: str, certs: Certs) -> None:
    args = dict(WORKER_CLASSES)[worker]
    srv = ServerProcess([APP, "-b", "127.0.0.1:0", "-w", "1", *args, "--certfile",
                         str(certs.certfile), "--keyfile", str(certs.keyfile),
                         "--header-timeout", "20", "--min-data-rate", "0"])
    srv.start()
    silent: list[socket.socket] = []
    try:
        srv.wait_for(r"Booting worker with pid: \d+")
        ctx = certs.client_context()
        assert tls_get(srv, ctx)[0] == 200  # the worker is up
        # more silent connections than the worker has threads
        silent = [socket.create_connection((srv.host, srv.port), timeout=10) for _ in range(12)]
        time.sleep(0.5)
        for _ in range(3):
            status, took = tls_get(srv, ctx)
            assert status == 200
            assert took < 3.0, f"a TLS client waited {took:.1f}s behind silent connections"
    finally:
        for s in silent:
            s.close()
        srv.stop()


def tls_get(srv: ServerProcess, ctx: ssl.SSLContext) -> tuple[int, float]:
    t0 = time.monotonic()
    with socket.create_connection((srv.host, srv.port), timeout=15) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = recv_all(s)
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, time.monotonic() - t0


@pytest.mark.parametrize("worker", CONCURRENT)
def test_a_tls_client_that_never_reads_costs_only_its_connection(worker: str,
                                                                  certs: Certs) -> None:
    args = dict(WORKER_CLASSES)[worker]
    srv = ServerProcess([APP, "-b", "127.0.0.1:0", "-w", "1", *args, "--certfile",
                         str(certs.certfile), "--keyfile", str(certs.keyfile),
                         "--timeout", str(TIMEOUT), "--send-timeout", str(SEND_TIMEOUT)])
    srv.start()
    try:
        srv.wait_for(r"Booting worker with pid: \d+")
        ctx = certs.client_context()
        assert tls_get(srv, ctx)[0] == 200
        pids = srv.worker_pids()
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect((srv.host, srv.port))
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(f"GET /big?mb={BIG_MIB} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            time.sleep(SEND_TIMEOUT + TIMEOUT)
            assert tls_get(srv, ctx)[0] == 200  # served meanwhile
            got = 0
            s.settimeout(10)
            try:
                while data := s.recv(1 << 20):
                    got += len(data)
            except (ConnectionResetError, ssl.SSLError):
                pass
        assert got < BIG_MIB << 20  # cut off by --send-timeout
        assert srv.worker_pids() == pids
        assert "WORKER TIMEOUT" not in srv.output()
    finally:
        srv.stop()
