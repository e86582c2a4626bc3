"""What the concurrent worker classes add over ``sync``: back-pressure, slow
clients, the connection cap, keep-alive and header timeouts, graceful stops with
idle keep-alive connections, and the stuck-thread timeout of threaded workers.

The servers run this module's :func:`app`.
"""

from __future__ import annotations

import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from tests.support import ServerProcess, read_response, recv_all

APP = "tests.server.test_workers_concurrency:app"
CLASSES = {
    "gthread": ["-k", "gthread", "--threads", "4"],
    "asyncio": ["-k", "asyncio"],
    "asyncio-t4": ["-k", "asyncio", "--threads", "4"],
    "gevent": ["-k", "gevent"],
}
THREADED = ["gthread", "asyncio-t4"]
MIB = 1024 * 1024


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    query = environ["QUERY_STRING"]
    if path == "/stream":  # COUNT chunks of 1 MiB, produced lazily
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"x" * MIB for _ in range(int(query or "1")))
    if path == "/sleep":
        time.sleep(float(query or "1"))
    if path == "/big":
        body = b"b" * int(query)
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [body]


def start(kind: str, *extra: str) -> ServerProcess:
    return ServerProcess([APP, "-b", "127.0.0.1:0", "-w", "1", *CLASSES[kind], *extra]).start()


def get(srv: ServerProcess, path: str = "/", timeout: float = 10.0) -> int:
    s = srv.connect(timeout)
    with s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = recv_all(s)
    return int(data.split(b" ", 2)[1]) if data else 0


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_worker(srv: ServerProcess) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pids = srv.worker_pids()
        if pids and get(srv) == 200:
            return pids[0]
        time.sleep(0.05)
    raise AssertionError("no worker")


@pytest.fixture(scope="module", params=list(CLASSES))
def srv(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    server = start(request.param, "--keep-alive", "1", "--header-timeout", "1")
    server.kind = request.param  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def test_slow_reader_does_not_grow_memory(srv: ServerProcess) -> None:
    pid = wait_worker(srv)
    before = rss_mib(pid)
    with srv.connect() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"GET /stream?200 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(1.5)  # read nothing: 200 MiB would be ready to go
        grown = rss_mib(pid) - before
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    assert grown < 32, f"worker grew by {grown:.1f} MiB for a client that does not read"
    assert get(srv) == 200


def test_client_sending_requests_but_never_reading_is_held_back(srv: ServerProcess) -> None:
    # Small requests for large answers, pipelined one per send and never read:
    # the worker must stop taking requests once the answers cannot drain, not
    # buffer them all (1,500 answers of 60 KB would be 90 MB).
    pid = wait_worker(srv)
    before = rss_mib(pid)
    request = b"GET /big?60000 HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * 900 + b"\r\n\r\n"
    sent = 0
    with srv.connect() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        deadline = time.monotonic() + 4
        while sent < 1500 and time.monotonic() < deadline:
            try:
                s.send(request)
                sent += 1
            except BlockingIOError:
                time.sleep(0.02)
        time.sleep(0.5)
        grown = rss_mib(pid) - before
        s.setblocking(True)
        s.settimeout(10)
        status, _, body = read_response(s)
        assert status == 200 and len(body) == 60000
    assert grown < 32, f"worker grew by {grown:.1f} MiB for {sent} requests never read"
    assert get(srv) == 200


def test_slow_clients_do_not_block_others(srv: ServerProcess) -> None:
    slow = []
    try:
        for _ in range(30):  # heads trickled and never finished
            s = srv.connect()
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            slow.append(s)
        t0 = time.monotonic()
        for _ in range(10):
            assert get(srv) == 200
        assert time.monotonic() - t0 < 3
    finally:
        for s in slow:
            s.close()


def test_keep_alive_idle_timeout_closes(srv: ServerProcess) -> None:
    with srv.connect() as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(s)[0] == 200
        t0 = time.monotonic()
        s.settimeout(5)
        assert s.recv(100) == b""  # closed by the server after --keep-alive 1
        assert 0.8 < time.monotonic() - t0 < 3


def test_header_timeout_for_a_trickled_head(srv: ServerProcess) -> None:
    with srv.connect() as s:
        t0 = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\n")
        for _ in range(3):
            time.sleep(0.3)
            try:
                s.sendall(b"X")
            except OSError:
                break
        s.settimeout(5)
        data = recv_all(s)
        assert data == b"" or data.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("kind", list(CLASSES))
def test_worker_connections_cap(kind: str) -> None:
    """At the cap, a new client takes the place of the idlest idle connection;
    while every connection is running the app, it waits for a free place."""
    with start(kind, "--worker-connections", "2", "--keep-alive", "30") as srv:
        wait_worker(srv)
        first, second = srv.connect(), srv.connect()
        try:
            for s in (first, second):
                s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                assert read_response(s)[0] == 200
            with srv.connect() as third:  # over the cap: an idle one is shed for it
                third.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                assert read_response(third, timeout=5)[0] == 200
            # (the idlest by the server's clock: normally the first, but a pool
            # thread may note the end of the first response after the second's)
            shed, _, _ = select.select([first, second], [], [], 5)
            assert len(shed) == 1
            shed[0].settimeout(5)
            assert recv_all(shed[0]) == b""
            sleep = b"GET /sleep?4 HTTP/1.1\r\nHost: t\r\n\r\n"
            # each sends before the next connects: a silent fresh connection may be
            # shed for a newcomer, one whose request has arrived is not
            with srv.connect() as busy1:
                busy1.sendall(sleep)
                with srv.connect() as busy2:
                    busy2.sendall(sleep)
                    # both running the app (second was shed for one of them); generous,
                    # so a loaded machine has both requests read before the fourth comes
                    time.sleep(1.5)
                    with srv.connect() as fourth:
                        fourth.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                        fourth.settimeout(1.0)
                        with pytest.raises(TimeoutError):
                            fourth.recv(100)  # every place is busy: not served yet
                        assert read_response(fourth, timeout=10)[0] == 200
                    for s in (busy1, busy2):
                        assert read_response(s, timeout=10)[0] == 200
        finally:
            first.close()
            second.close()


@pytest.mark.parametrize("kind", list(CLASSES))
def test_cap_never_sheds_a_request_already_sent(kind: str) -> None:
    """At the cap, a connection whose whole request is in its socket, not yet
    read, is not shed for a newcomer: the newcomer waits, both are answered."""
    with start(kind, "--worker-connections", "1") as srv:
        wait_worker(srv)
        request = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        lost = 0
        for _ in range(40):
            a = srv.connect()
            a.sendall(request)
            b = srv.connect()
            b.sendall(request)
            for s in (a, b):  # each closed once read, as a client does
                with s:
                    s.settimeout(10)
                    lost += not recv_all(s).startswith(b"HTTP/1.1 200 ")
        assert lost == 0


@pytest.mark.parametrize("kind", list(CLASSES))
def test_graceful_stop_with_idle_keep_alive(kind: str) -> None:
    with start(kind, "--keep-alive", "30") as srv:
        wait_worker(srv)
        idle = srv.connect()
        idle.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(idle)[0] == 200
        busy = srv.connect()
        busy.sendall(b"GET /sleep?1.5 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.5)
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        idle.settimeout(5)
        assert idle.recv(100) == b""  # idle keep-alive connection closed at once
        assert time.monotonic() - t0 < 1.5
        status, headers, body = read_response(busy)
        assert (status, body) == (200, b"ok")  # the in-flight request finished
        assert headers.get("connection") == "close"
        assert srv.wait(10) == 0
        idle.close()
        busy.close()


@pytest.mark.parametrize("kind", THREADED)
def test_slow_request_does_not_hold_up_those_that_came_with_it(kind: str) -> None:
    """Requests that arrive together with a slow one, on other keep-alive
    connections, go to the other threads: each is answered long before the
    slow one."""
    with start(kind, "--timeout", "30") as srv:
        wait_worker(srv)
        for _ in range(2):
            conns = [srv.connect(timeout=15) for _ in range(6)]
            try:
                for s in conns:  # every connection idle in the worker first
                    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                    assert read_response(s)[0] == 200
                slow, fast = conns[0], conns[1:]
                slow.sendall(b"GET /sleep?2 HTTP/1.1\r\nHost: t\r\n\r\n")
                for s in fast:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                t0 = time.monotonic()
                for s in fast:
                    assert read_response(s, timeout=10)[0] == 200
                waited = time.monotonic() - t0
                assert waited < 1.5, f"the fast requests waited {waited:.2f}s"
                assert read_response(slow, timeout=10)[0] == 200
            finally:
                for s in conns:
                    s.close()


@pytest.mark.timeout(40)
@pytest.mark.parametrize("kind", THREADED)
def test_stuck_thread_gets_503_while_others_are_served(kind: str) -> None:
    with start(kind, "--timeout", "2") as srv:
        wait_worker(srv)
        stuck = srv.connect(timeout=15)
        stuck.sendall(b"GET /sleep?30 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.3)
        assert get(srv) == 200  # another thread still answers
        t0 = time.monotonic()
        status, _, _ = read_response(stuck, timeout=15)
        assert status == 503 and time.monotonic() - t0 < 4
        stuck.close()
        srv.wait_for(r"(?s)WORKER TIMEOUT.*in app\n.*time.sleep")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if get(srv, timeout=2) == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("no worker answered after the timeout")


def _one_answer(s: socket.socket) -> bytes | None:
    """The next response to the "ok" app's request (None: the connection was
    closed before any byte of it)."""
    s.settimeout(10)
    data = b""
    while not (data.endswith(b"\r\n\r\nok") or (b"\r\n\r\n" in data and not data.startswith(
            b"HTTP/1.1 200 "))):
        more = s.recv(65536)
        if not more:
            return data or None
        data += more
    return data


CHURN_REQUESTS = [  # each answered "ok"; bodies unread by the app, drained by the server
    b"GET /?a=1 HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000,
    b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"400\r\n" + b"y" * 1024 + b"\r\n0\r\n\r\n",
]
SWITCH_OFTEN = "import sys\nsys.setswitchinterval(1e-5)\n"  # (a config file: the worker inherits it)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", list(CLASSES))
def test_churn_at_the_cap_with_threads_switching_often(
        kind: str, tmp_path: Any) -> None:
    """Keep-alive clients, new connections shed at a small cap, requests cut
    short and clients gone (reset) while their answer streams out, while the
    interpreter switches threads as often as it can: the worker goes on (the
    main thread never trips over what request threads change meanwhile) and
    every complete request it read is answered."""
    conf = tmp_path / "switch.conf.py"
    conf.write_text(SWITCH_OFTEN)
    with start(kind, "-c", str(conf), "--worker-connections", "6", "--timeout", "5",
               "--keep-alive", "2") as srv:
        pid = wait_worker(srv)
        stop = time.monotonic() + 3.0
        failures: list[str] = []

        def client(n: int) -> None:
            while time.monotonic() < stop:
                try:
                    with srv.connect(timeout=10) as s:
                        for i in range(n % 4 + 1):  # a few requests per connection
                            s.sendall(CHURN_REQUESTS[(n + i) % len(CHURN_REQUESTS)])
                            answer = _one_answer(s)
                            if answer is None:
                                break  # shed while idle, as a kept connection may be
                            if not answer.startswith(b"HTTP/1.1 200 "):
                                failures.append(repr(answer[:80]))
                        if n % 3 == 0:
                            s.sendall(b"GET / HTTP/1.1\r\nHost:")  # cut short
                        elif n % 3 == 1:  # gone while its answer streams out
                            s.sendall(b"GET /stream?4 HTTP/1.1\r\nHost: t\r\n\r\n")
                            s.recv(1000)
                            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))  # reset, not a close
                except TimeoutError:
                    failures.append("no answer in 10 s")
                except OSError:
                    pass  # shed at the cap: a closed connection, never a wrong answer

        threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not failures, failures[:5]
        assert srv.worker_pids() == [pid], "the worker was replaced"
        out = srv.output()
        assert "Traceback" not in out and "Exception in worker" not in out, out[-3000:]
