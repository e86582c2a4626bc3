"""StatsD metrics: a real server sending datagrams to a socket the test binds."""

from __future__ import annotations

import os
import re
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.server.logconfig import LogConfigError
from corral.server.statsd import StatsdClient, metric_prefix, parse_statsd_address
from tests.support import WORKER_CLASSES, ServerProcess, recv_all

WORKERS = dict(WORKER_CLASSES)
DURATION = r"\d+\.\d+\|ms"
GET = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
GET_ERROR = b"GET /error HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


class Collector:
    """Datagrams received on a bound socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(0.2)
        self.seen: list[str] = []

    def wait_for(self, *patterns: str, timeout: float = 10.0) -> list[str]:
        """Read until datagrams matching ``patterns`` arrived in this order (each one
        right after the previous); return the matched datagrams."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._find(patterns)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{patterns} not received; got {self.seen}")
            try:
                self.seen.append(self.sock.recv(65536).decode())
            except TimeoutError:
                pass

    def _find(self, patterns: tuple[str, ...]) -> list[str] | None:
        for start in range(len(self.seen) - len(patterns) + 1):
            window = self.seen[start:start + len(patterns)]
            if all(re.fullmatch(p, d) for p, d in zip(patterns, window, strict=True)):
                del self.seen[:start + len(patterns)]
                return window
        return None


@pytest.fixture
def udp() -> Iterator[tuple[Collector, str]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield Collector(sock), f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def _start(*args: str) -> ServerProcess:
    return ServerProcess(["http_app:app", "-b", "127.0.0.1:0", *args]).start()


def _request_metrics(prefix: str, status: int, tags: str = "") -> tuple[str, ...]:
    p, t = re.escape(prefix), re.escape(tags)
    return (rf"{p}gunicorn\.request\.duration:{DURATION}{t}",
            rf"{p}gunicorn\.requests:1\|c\|@1\.0{t}",
            rf"{p}gunicorn\.request\.status\.{status}:1\|c\|@1\.0{t}")


@pytest.mark.parametrize("worker", ["sync", "gthread", "asyncio"])
def test_request_metrics_per_worker_class(worker: str, udp: tuple[Collector, str]) -> None:
    got, addr = udp
    with _start(*WORKERS[worker], "-w", "2", "--statsd-host", addr,
                "--statsd-prefix", "web") as srv:
        got.wait_for(r"web\.gunicorn\.workers:2\|g")
        assert srv.request(GET).startswith(b"HTTP/1.1 200")
        duration = got.wait_for(*_request_metrics("web.", 200))[0]
        assert float(duration.split(":")[1].split("|")[0]) < 10_000
        assert srv.request(GET_ERROR).startswith(b"HTTP/1.1 500")
        # an app error is logged as an exception, as Gunicorn does
        got.wait_for(r"web\.gunicorn\.log\.exception:1\|c\|@1\.0", *_request_metrics("web.", 500))
        srv.signal(signal.SIGTTIN)
        got.wait_for(r"web\.gunicorn\.workers:3\|g")
        srv.signal(signal.SIGTTOU)
        got.wait_for(r"web\.gunicorn\.workers:2\|g")


def test_no_prefix_and_dogstatsd_tags(udp: tuple[Collector, str]) -> None:
    got, addr = udp
    tags = "|#env:test,team:web"
    with _start(*WORKERS["gthread"], "--statsd-host", addr, "--dogstatsd-tags",
                "env:test,team:web") as srv:
        got.wait_for(r"gunicorn\.workers:1\|g" + re.escape(tags))
        with srv.connect() as s:  # two requests on one keep-alive connection
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
            assert recv_all(s).count(b"HTTP/1.1 200") == 2
        got.wait_for(*_request_metrics("", 200, tags), *_request_metrics("", 200, tags))


def test_master_log_lines_are_counted(udp: tuple[Collector, str]) -> None:
    got, addr = udp
    with _start("-k", "sync", "-w", "1", "--statsd-host", addr, "--statsd-prefix",
                "app.") as srv:
        got.wait_for(r"app\.gunicorn\.workers:1\|g")
        pid = srv.wait_for(r"Booting worker with pid: (\d+)").group(1)
        os.kill(int(pid), signal.SIGKILL)
        got.wait_for(r"app\.gunicorn\.log\.error:1\|c\|@1\.0")
        srv.wait_for(rf"Worker \(pid:{pid}\) was sent SIGKILL")


def test_access_log_still_written_with_statsd(tmp_path: Path,
                                              udp: tuple[Collector, str]) -> None:
    got, addr = udp
    access = tmp_path / "access.log"
    with _start("-k", "gthread", "--statsd-host", addr, "--access-logfile",
                str(access)) as srv:
        srv.request(GET)
        got.wait_for(*_request_metrics("", 200))
        deadline = time.monotonic() + 5
        while '"GET / HTTP/1.1" 200 5' not in access.read_text():
            assert time.monotonic() < deadline, access.read_text()
            time.sleep(0.05)
    with _start("-k", "gthread", "--statsd-host", addr) as srv:
        srv.request(GET)
        got.wait_for(*_request_metrics("", 200))
        assert "GET / HTTP/1.1" not in srv.output()


def test_unix_datagram_statsd_host() -> None:
    with tempfile.TemporaryDirectory(prefix="st") as tmp:
        path = os.path.join(tmp, "statsd.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        try:
            got = Collector(sock)
            with _start("-k", "asyncio", "--statsd-host", f"unix://{path}",
                        "--statsd-prefix", "u") as srv:
                got.wait_for(r"u\.gunicorn\.workers:1\|g")
                assert srv.request(GET).startswith(b"HTTP/1.1 200")
                got.wait_for(*_request_metrics("u.", 200))
        finally:
            sock.close()


@pytest.mark.parametrize("worker", ["sync", "asyncio"])
def test_requests_are_served_without_a_statsd_server(worker: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="st") as tmp:
        missing = os.path.join(tmp, "nobody.sock")
        for host in (f"127.0.0.1:{closed_port}", f"unix://{missing}"):
            with _start(*WORKERS[worker], "--statsd-host", host) as srv:
                for _ in range(20):
                    assert srv.request(GET).startswith(b"HTTP/1.1 200")
                assert "Traceback" not in srv.output()


def test_statsd_address_forms() -> None:
    assert parse_statsd_address("unix:///run/statsd.sock") == "/run/statsd.sock"
    assert parse_statsd_address("unix:/run/s.sock") == "/run/s.sock"
    assert parse_statsd_address("unix:8125") == ("unix", 8125)
    assert parse_statsd_address("stats.local:9125") == ("stats.local", 9125)
    assert parse_statsd_address("stats.local") == ("stats.local", 8125)
    assert parse_statsd_address("[::1]:9125") == ("::1", 9125)
    for bad in ("host:port", "host:0", "host:70000", "unix://", "[::1"):
        with pytest.raises(LogConfigError, match=r"^--statsd-host '.*': ") as err:
            parse_statsd_address(bad)
        assert "\n" not in str(err.value)


def test_prefix_gets_one_dot() -> None:
    assert [metric_prefix(p) for p in ("", "web", "web.", "web...", "a.b")] == [
        "", "web.", "web.", "web.", "a.b."]


def test_client_formats_and_never_raises() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        client = StatsdClient(("127.0.0.1", rx.getsockname()[1]), "p", "k:v")
        client.gauge("g", 3)
        client.increment("c", 2, 0.5)
        client.decrement("c", 1)
        client.histogram("h", 1.5)
        got = [rx.recv(100) for _ in range(4)]
        assert got == [b"p.g:3|g|#k:v", b"p.c:2|c|@0.5|#k:v", b"p.c:-1|c|@1.0|#k:v",
                       b"p.h:1.5|ms|#k:v"]
        client.close()
        client.increment("after.close")  # dropped quietly
    unreachable = StatsdClient("/nonexistent/dir/statsd.sock")
    unreachable.increment("x")
    unreachable.close()
