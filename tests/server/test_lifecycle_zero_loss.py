"""Graceful lifecycle without a lost request, on every worker class.

Keep-alive clients that never retry (Python's ``http.client``) send POSTs while
workers are recycled (--max-requests), the configuration is reloaded (HUP), the
worker count shrinks (TTOU), a worker is told to stop (TERM), the master is
replaced (USR2, then TERM to the old one) or the whole server stops gracefully.
Every request sent must get its own answer: a worker that is going to close a
keep-alive connection says ``Connection: close`` on the last response, and
never closes a connection a request is arriving on.  Every failure is counted;
zero is the bar.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from tests.server.arb_helpers import alive, wait_until
from tests.support import WORKER_CLASSES, ServerProcess

IDS = [n for n, _ in WORKER_CLASSES]
ARGS = [a for _, a in WORKER_CLASSES]


class KeepAliveLoad:
    """``conns`` threads, each a keep-alive ``http.client`` connection sending
    POSTs one after the other (no retries; a closed connection is reopened for
    the next request, as http.client does).  Bounded in requests and time."""

    def __init__(self, srv: ServerProcess, conns: int, per_conn: int = 100_000,
                 seconds: float = 60.0) -> None:
        self.srv = srv
        self.conns = conns
        self.per_conn = per_conn
        self.deadline = time.monotonic() + seconds
        self.stop = threading.Event()
        self.no_reconnect = threading.Event()  # a closed connection ends its client
        self.ok = 0
        self.closes = 0  # responses that said Connection: close
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(i,), daemon=True)
                         for i in range(conns)]

    def __enter__(self) -> KeepAliveLoad:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def finish(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(30)
        assert not any(t.is_alive() for t in self._threads), "a client hung"

    def wait_ok(self, more: int, timeout: float = 30.0) -> None:
        target = self.ok + more
        wait_until(lambda: self.ok >= target or bool(self.failures), timeout,
                   f"{more} more answered requests")

    def _client(self, i: int) -> None:
        conn = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=30)
        n = 0
        try:
            while not self.stop.is_set() and n < self.per_conn and time.monotonic() < self.deadline:
                if conn.sock is None and self.no_reconnect.is_set():
                    return
                body = f"{i}:{n}".encode()
                n += 1
                try:
                    conn.request("POST", "/echo", body=body,
                                 headers={"Content-Type": "text/plain"})
                    resp = conn.getresponse()
                    data = resp.read()
                except Exception as e:  # counted, never retried
                    with self._lock:
                        self.failures.append(f"client {i} request {n}: {e!r}")
                    conn.close()
                    continue
                with self._lock:
                    if resp.status == 200 and data == body:
                        self.ok += 1
                    else:
                        self.failures.append(f"client {i} request {n}: {resp.status} {data!r}")
                    if resp.will_close:
                        self.closes += 1
        finally:
            conn.close()


def _server(worker_args: list[str], *extra: str) -> ServerProcess:
    return ServerProcess(["http_app:app", "-b", "127.0.0.1:0", "--keep-alive", "5",
                          "--graceful-timeout", "20", *extra, *worker_args]).start()


def _check(load: KeepAliveLoad, srv: ServerProcess) -> None:
    assert load.failures == [], f"{len(load.failures)} failed requests (ok: {load.ok}): " \
        f"{load.failures[:5]}\n--- server output ---\n{srv.output()[-3000:]}"


@pytest.mark.parametrize("worker_args", ARGS, ids=IDS)
def test_sequential_posts_through_max_requests(worker_args: list[str]) -> None:
    """One keep-alive client, 500 POSTs one after the other, a worker recycled
    every 50 requests: nothing lost, and each recycle's last response said
    ``Connection: close``."""
    with _server(worker_args, "-w", "1", "--max-requests", "50") as srv:
        with KeepAliveLoad(srv, conns=1, per_conn=500) as load:
            wait_until(lambda: load.ok + len(load.failures) >= 500, 120, "500 requests")
        _check(load, srv)
        assert load.ok == 500
        assert load.closes >= 9


def _pids(srv: ServerProcess) -> set[int]:
    return set(srv.worker_pids())


def _replaced(srv: ServerProcess, old: set[int], timeout: float = 40.0) -> None:
    wait_until(lambda: not (old & _pids(srv)), timeout, f"workers {old} replaced")


def _term_a_worker(srv: ServerProcess) -> int:
    """TERM one of the workers; the pid. --max-requests keeps recycling them, so
    the list may be empty for a moment, or name one that has just exited."""
    sent: list[int] = []

    def term() -> bool:
        for pid in sorted(_pids(srv)):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            sent.append(pid)
            return True
        return False

    wait_until(term, 40, "a worker to stop")
    return sent[0]


@pytest.mark.parametrize("worker_args", ARGS, ids=IDS)
def test_concurrent_keepalive_load_through_every_event(worker_args: list[str]) -> None:
    """~50 keep-alive connections posting continuously while workers are
    recycled by --max-requests, the server is reloaded (HUP), loses a worker
    (TTOU) and a worker is told to stop (TERM): not one failed request."""
    with _server(worker_args, "-w", "3", "--max-requests", "400",
                 "--max-requests-jitter", "100") as srv:
        wait_until(lambda: len(_pids(srv)) == 3, 20, "3 workers")
        with KeepAliveLoad(srv, conns=50, seconds=150) as load:
            load.wait_ok(500)
            before = _pids(srv)
            srv.signal(signal.SIGHUP)
            _replaced(srv, before)
            load.wait_ok(300)
            srv.signal(signal.SIGTTOU)
            wait_until(lambda: len(_pids(srv)) == 2, 40, "2 workers after TTOU")
            load.wait_ok(300)
            victim = _term_a_worker(srv)
            wait_until(lambda: not alive(victim), 40, "the TERMed worker gone")
            load.wait_ok(300)
        _check(load, srv)
        assert load.closes > 0  # recycles and stops did happen under the load


@pytest.mark.parametrize("worker_args", ARGS, ids=IDS)
def test_usr2_then_old_master_term(worker_args: list[str]) -> None:
    """USR2 starts a new master on the same sockets; TERM to the old one then
    stops its workers gracefully while keep-alive clients carry on."""
    with _server(worker_args, "-w", "2") as srv:
        with KeepAliveLoad(srv, conns=20, seconds=120) as load:
            load.wait_ok(200)
            srv.signal(signal.SIGUSR2)
            new = int(srv.wait_for(
                rf"Listening at: http://127.0.0.1:{srv.port} \((?!{srv.pid})(\d+)\)").group(1))
            wait_until(lambda: len(srv.worker_pids()) >= 3, 30, "the new master's workers")
            load.wait_ok(200)
            srv.signal(signal.SIGTERM)  # the old master retires
            assert srv.wait(40) == 0
            load.wait_ok(200)
        try:
            _check(load, srv)
        finally:
            os.kill(new, signal.SIGTERM)
            wait_until(lambda: not alive(new), 30, "the new master gone")


@pytest.mark.parametrize("worker_args", ARGS, ids=IDS)
def test_graceful_stop_answers_every_request_in_flight(worker_args: list[str]) -> None:
    """TERM to the master: every request sent on an open connection is answered
    (the last one with ``Connection: close``); clients stop opening connections
    just before the signal."""
    with _server(worker_args, "-w", "2") as srv:
        with KeepAliveLoad(srv, conns=30, seconds=120) as load:
            load.wait_ok(300)
            load.no_reconnect.set()
            time.sleep(0.3)  # connections being opened are accepted by now
            srv.signal(signal.SIGTERM)
            assert srv.wait(40) == 0
        _check(load, srv)


@pytest.mark.parametrize("worker_args", ARGS, ids=IDS)
def test_request_arriving_at_the_keepalive_timeout_is_answered(worker_args: list[str]) -> None:
    """The first bytes of a request that arrive before the keep-alive timeout
    make it a request in flight: it is answered although the rest comes after
    the timeout (bounded by --header-timeout)."""
    import socket

    with ServerProcess(["http_app:app", "-b", "127.0.0.1:0", "-w", "1", "--keep-alive", "1",
                        "--header-timeout", "10", *worker_args]).start() as srv:
        with socket.create_connection((srv.host, srv.port), timeout=20) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            first = b""
            while b"hello" not in first:
                piece = sock.recv(4096)
                assert piece, first
                first += piece
            if b"Connection: close" in first:
                return  # sync: no keep-alive at all
            time.sleep(0.6)
            sock.sendall(b"GET / HTTP/1.1\r\n")  # before the 1 s timeout
            time.sleep(1.5)  # past it
            sock.sendall(b"Host: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                piece = sock.recv(4096)
                if not piece:
                    break
                data += piece
        assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"hello"), data


@pytest.mark.parametrize("worker_args", ARGS, ids=IDS)
def test_request_sent_just_after_a_stop_is_answered(worker_args: list[str]) -> None:
    """The response before a stop said keep-alive; the client's next request,
    sent a moment after the worker began stopping, is answered (with
    ``Connection: close``), not cut off; a connection left idle is then let go."""
    import socket

    with ServerProcess(["http_app:app", "-b", "127.0.0.1:0", "-w", "1", "--keep-alive", "30",
                        *worker_args]).start() as srv:
        wait_until(lambda: len(srv.worker_pids()) == 1, 20, "1 worker")
        worker = srv.worker_pids()[0]
        with socket.create_connection((srv.host, srv.port), timeout=20) as sock, \
                socket.create_connection((srv.host, srv.port), timeout=20) as idle:
            for s in (sock, idle):
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                first = b""
                while not first.endswith(b"hello"):
                    piece = s.recv(4096)
                    assert piece, first
                    first += piece
                if b"Connection: close" in first:
                    return  # sync: no keep-alive at all
            os.kill(worker, signal.SIGTERM)
            time.sleep(0.3)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                piece = sock.recv(4096)
                if not piece:
                    break
                data += piece
            assert data.startswith(b"HTTP/1.1 200 OK"), data
            assert b"\r\nConnection: close\r\n" in data and data.endswith(b"hello")
            t0 = time.monotonic()
            idle.settimeout(10)
            assert idle.recv(100) == b""  # quiet, so closed by the stopping worker
            assert time.monotonic() - t0 < 5.0
        wait_until(lambda: not alive(worker), 20, "the stopped worker gone")


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
@pytest.mark.parametrize("worker_args", ARGS, ids=IDS)
def test_wrk_keepalive_load_through_recycling_hup_and_ttou(worker_args: list[str]) -> None:
    """wrk (a peer we did not write) with 50 keep-alive connections, workers
    recycled every ~300 requests, a HUP and a TTOU during the run: wrk reports
    no socket error and no non-2xx answer."""
    with _server(worker_args, "-w", "3", "--max-requests", "300",
                 "--max-requests-jitter", "50") as srv:
        wait_until(lambda: len(_pids(srv)) == 3, 20, "3 workers")
        wrk = subprocess.Popen(
            ["wrk", "-t2", "-c50", "-d8s", "--timeout", "20s",
             f"http://{srv.host}:{srv.port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(2.5)
            srv.signal(signal.SIGHUP)
            time.sleep(2.5)
            srv.signal(signal.SIGTTOU)
            out, _ = wrk.communicate(timeout=60)
        finally:
            if wrk.poll() is None:
                wrk.kill()
                wrk.wait(10)
        assert wrk.returncode == 0, out
        assert " requests in " in out, out
        assert "Socket errors" not in out and "Non-2xx" not in out, \
            f"{out}\n--- server output ---\n{srv.output()[-3000:]}"
