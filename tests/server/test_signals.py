"""Signals sent to the arbiter: TERM, INT, QUIT, HUP, TTIN, TTOU, USR1."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.server.arb_helpers import (
    FAULT_IDS,
    FAULT_WORKERS,
    SYNC,
    alive,
    get,
    start,
    wait_serving,
    wait_until,
    wait_workers,
)
from tests.support import ServerProcess, parse_response, recv_all, run_load

LOAD_REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("worker_args", [w[1] for w in FAULT_WORKERS], ids=FAULT_IDS)
def test_term_lets_in_flight_request_finish(worker_args: list[str]) -> None:
    with start("-w", "1", workers=worker_args) as srv:
        (worker,) = wait_workers(srv, 1)
        assert get(srv)[0] == 200  # booted: the next request is accepted at once
        with srv.connect() as s:
            s.sendall(b"GET /sleep?2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            time.sleep(0.5)  # the request is in the app now
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            status, _, body, _ = parse_response(recv_all(s))
        assert status == 200 and int(body.split()[0]) == worker
        assert srv.wait(10) == 0
        assert time.monotonic() - t0 < 5
        assert not alive(worker)


def test_term_kills_what_outlives_the_graceful_timeout() -> None:
    with start("-w", "1", "--graceful-timeout", "1") as srv:
        (worker,) = wait_workers(srv, 1)
        assert get(srv)[0] == 200  # booted: the next request is accepted at once
        with srv.connect() as s:
            s.sendall(b"GET /sleep?20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            time.sleep(0.3)
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            assert srv.wait(10) == 0
            assert 0.9 < time.monotonic() - t0 < 4
        assert not alive(worker)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT], ids=["INT", "QUIT"])
def test_int_and_quit_stop_fast(sig: int) -> None:
    with start("-w", "1") as srv:
        (worker,) = wait_workers(srv, 1)
        assert get(srv)[0] == 200  # booted: the next request is accepted at once
        with srv.connect() as s:
            s.sendall(b"GET /sleep?20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            time.sleep(0.3)
            t0 = time.monotonic()
            srv.signal(sig)
            assert srv.wait(10) == 0
            assert time.monotonic() - t0 < 3
            assert not recv_all(s).startswith(b"HTTP/1.1 200")
        wait_until(lambda: not alive(worker), 5, "worker gone")


def test_ttin_and_ttou_change_the_worker_count() -> None:
    with start("-w", "1") as srv:
        wait_workers(srv, 1)
        srv.signal(signal.SIGTTIN)
        wait_workers(srv, 2)
        srv.signal(signal.SIGTTIN)
        three = wait_workers(srv, 3)
        srv.signal(signal.SIGTTOU)
        two = wait_workers(srv, 2)
        assert three[0] not in two or len(set(three) - set(two)) == 1
        srv.signal(signal.SIGTTOU)
        srv.signal(signal.SIGTTOU)  # never below one worker
        wait_workers(srv, 1)
        time.sleep(0.5)
        assert len(srv.worker_pids()) == 1
        assert get(srv)[0] == 200


@pytest.mark.timeout(40)
@pytest.mark.parametrize("worker_args", [w[1] for w in FAULT_WORKERS], ids=FAULT_IDS)
def test_hup_under_load_fails_no_request_and_loads_new_code(
    tmp_path: Path, worker_args: list[str]
) -> None:
    version = tmp_path / "version"
    version.write_text("v1")
    env = {"ARB_VERSION_FILE": str(version)}
    with start("-w", "2", workers=worker_args, env=env) as srv:
        old = wait_workers(srv, 2)
        wait_serving(srv, old)
        assert get(srv)[1].split()[1] == b"v1"
        result: list[tuple[int, int, list[str]]] = []
        t = threading.Thread(
            target=lambda: result.append(
                run_load(srv.host, srv.port, LOAD_REQUEST, threads=4, duration=2.0)
            )
        )
        t.start()
        time.sleep(0.5)
        version.write_text("v2")
        srv.signal(signal.SIGHUP)
        t.join(40)
        ok, failed, reasons = result[0]
        assert failed == 0, reasons
        assert ok > 30
        # the old generation goes once the new one has booted
        wait_until(lambda: not set(old) & set(srv.worker_pids()), 10, "old workers gone")
        new = wait_workers(srv, 2)
        assert not set(old) & set(new)
        assert get(srv)[1].split()[1] == b"v2"
        assert srv.pid not in new


def test_hup_rereads_the_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf.py"
    conf.write_text("workers = 1\n")
    with start("-c", str(conf)) as srv:
        wait_workers(srv, 1)
        conf.write_text("workers = 3\n")
        srv.signal(signal.SIGHUP)
        wait_workers(srv, 3)
        srv.wait_for("Hang up")


class FileLogServer(ServerProcess):
    """A server whose error log goes to a file: read that instead of the output."""

    def __init__(self, logfile: Path, *args: str) -> None:
        super().__init__([*args, "--error-logfile", str(logfile)])
        self.logfile = logfile

    def output(self) -> str:
        try:
            return self.logfile.read_text()
        except FileNotFoundError:
            return ""


def test_usr1_reopens_log_files(tmp_path: Path) -> None:
    logfile = tmp_path / "error.log"
    rotated = tmp_path / "error.log.1"
    with FileLogServer(logfile, "arb_app:app", "-b", "127.0.0.1:0", *SYNC, "-w", "1") as srv:
        srv.wait_for("Booting worker")
        logfile.rename(rotated)
        srv.signal(signal.SIGUSR1)
        wait_until(logfile.exists, 5, "reopened log file")
        srv.signal(signal.SIGTTIN)
        wait_until(lambda: "Booting worker" in logfile.read_text(), 5, "new lines")
        assert "Handling signal: usr1" in rotated.read_text()


def test_usr2_starts_a_new_master_on_the_same_sockets(tmp_path: Path) -> None:
    pidfile = tmp_path / "corral.pid"
    with start("-w", "1", "-p", str(pidfile)) as srv:
        wait_workers(srv, 1)
        srv.signal(signal.SIGUSR2)
        new = int(srv.wait_for(rf"Listening at: http://127.0.0.1:{srv.port} \((?!{srv.pid})(\d+)\)").group(1))
        assert new in srv.worker_pids()  # the new master is a child of the old one
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip() == str(new), 10)
        assert (tmp_path / "corral.pid.oldbin").read_text().strip() == str(srv.pid)
        srv.signal(signal.SIGTERM)  # retire the old master: the new one keeps serving
        assert srv.wait(10) == 0
        for _ in range(5):
            status, body = get(srv)
            assert status == 200 and int(body.split()[0]) != srv.pid
        assert alive(new)
        os.kill(new, signal.SIGTERM)
        wait_until(lambda: not pidfile.exists(), 10, "new master gone")
