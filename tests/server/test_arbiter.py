"""The arbiter over real processes: workers, respawn, boot failures, timeouts,
max-requests recycling, pid file, preload, hooks, process titles."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from corral.server.workers.base import Heartbeat
from tests.server.arb_helpers import (
    FAULT_IDS,
    FAULT_WORKERS,
    SYNC,
    alive,
    get,
    proc_title,
    start,
    wait_serving,
    wait_until,
    wait_workers,
)
from tests.support import APPS, ServerProcess, run_load

LOAD_REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def test_heartbeat_notify_booted_close() -> None:
    # (shared with the worker across fork: the timeout tests below prove that part)
    hb = Heartbeat()
    before = hb.last_update()
    assert not hb.booted()
    time.sleep(0.02)
    hb.notify()
    hb.mark_booted()
    assert hb.last_update() >= before + 0.02
    assert hb.booted()
    hb.close()
    assert not hb.booted()
    hb.notify()  # harmless once closed


def test_heartbeat_never_reads_older_while_being_written() -> None:
    """A worker notifying in a tight loop in another process: every reading the
    arbiter takes is a stamp at least as new as the one before the loop began
    (a write that cleared the stamp before storing it let a reading of 0.0
    through, and the arbiter aborted a healthy worker for a timeout)."""
    hb = Heartbeat()
    floor = hb.last_update()
    pid = os.fork()
    if pid == 0:  # the worker's side: notify as fast as it can for a while
        try:
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                for _ in range(1000):
                    hb.notify()
        finally:
            os._exit(0)
    try:
        reads = 0
        stale = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            for _ in range(1000):
                value = hb.last_update()
                if value < floor:
                    stale.append(value)
            reads += 1000
        assert not stale, f"{len(stale)} of {reads} readings older than the start: {stale[:3]}"
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        hb.close()


def test_serves_with_n_workers_and_titles() -> None:
    with start("-w", "2", "-n", "arbtest") as srv:
        pids = wait_workers(srv, 2)
        for pid in pids:
            srv.wait_for(rf"Booting worker with pid: {pid}")
        status, body = get(srv)
        assert status == 200
        assert int(body.split()[0]) in pids
        out = srv.output()
        assert f"Listening at: http://127.0.0.1:{srv.port} ({srv.pid})" in out
        wait_until(lambda: proc_title(srv.pid) == "corral: master [arbtest]", 5, "title")
        wait_until(lambda: proc_title(pids[0]) == "corral: worker [arbtest]", 5, "title")


@pytest.mark.timeout(40)
@pytest.mark.parametrize("worker_args", [w[1] for w in FAULT_WORKERS], ids=FAULT_IDS)
def test_kill9_worker_under_load_is_survived(worker_args: list[str]) -> None:
    with start("-w", "2", workers=worker_args) as srv:
        before = wait_workers(srv, 2)
        wait_serving(srv, before)
        result: list[tuple[int, int, list[str]]] = []
        t = threading.Thread(
            target=lambda: result.append(
                run_load(srv.host, srv.port, LOAD_REQUEST, threads=4, duration=1.5)
            )
        )
        t.start()
        time.sleep(0.5)
        os.kill(before[0], signal.SIGKILL)
        t.join(40)
        ok, failed, reasons = result[0]
        after = wait_workers(srv, 2)
        assert before[0] not in after and before[1] in after
        assert ok > 30
        # only what the killed worker had in flight may fail: one connection for
        # sync, at most the number of load threads otherwise
        assert failed <= (1 if worker_args == ["-k", "sync"] else 4), reasons
        srv.wait_for("was sent SIGKILL")  # (the log is read from a pipe: it may lag)
        assert get(srv)[0] == 200


@pytest.mark.parametrize("worker_args", [w[1] for w in FAULT_WORKERS], ids=FAULT_IDS)
def test_workers_stop_when_the_master_dies(worker_args: list[str]) -> None:
    with start("-w", "2", "-t", "4", workers=worker_args) as srv:
        pids = wait_workers(srv, 2)
        get(srv)
        srv.signal(signal.SIGKILL)
        wait_until(lambda: not any(alive(pid) for pid in pids), 8, "orphaned workers to exit")


def test_app_load_failure_exits_4_promptly() -> None:
    srv = ServerProcess(["arb_app:nope", "-b", "127.0.0.1:0", *SYNC])
    srv.start()  # the listener line comes before the workers fail
    try:
        assert srv.wait(10) == 4
        out = srv.output()
        assert "has no attribute 'nope'" in out
        assert out.count("Booting worker") == 1
    finally:
        srv.stop()


def test_unknown_worker_class_exits_2() -> None:
    srv = ServerProcess(["arb_app:app", "-b", "127.0.0.1:0", "-k", "nosuch"])
    with pytest.raises(RuntimeError, match="exited with 2"):
        srv.start()
    assert "unknown worker class 'nosuch'" in srv.output()
    srv.stop()


def test_worker_boot_error_exits_3() -> None:
    srv = ServerProcess(["arb_app:app", "-b", "127.0.0.1:0", "-k", "arb_worker:BrokenWorker"])
    srv.start()
    try:
        assert srv.wait(10) == 3
        assert "worker class that cannot boot" in srv.output()
    finally:
        srv.stop()


@pytest.mark.parametrize("worker_args", [w[1] for w in FAULT_WORKERS], ids=FAULT_IDS)
def test_max_requests_recycles_workers(worker_args: list[str]) -> None:
    with start("-w", "1", "--max-requests", "3", workers=worker_args) as srv:
        pids: list[int] = []
        deadline = time.monotonic() + 10
        while len(set(pids)) < 3 and time.monotonic() < deadline:
            status, body = get(srv)
            assert status == 200
            pids.append(int(body.split()[0]))
        assert len(set(pids)) >= 3, pids
        # the retired workers served at least --max-requests requests each
        first_two = [pids.count(pid) for pid in dict.fromkeys(pids)][:2]
        assert min(first_two) >= 3, pids
        assert "Autorestarting worker after current request." in srv.output()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("worker_args", [w[1] for w in FAULT_WORKERS], ids=FAULT_IDS)
def test_timeout_kills_hung_worker_with_503(worker_args: list[str]) -> None:
    with start("-w", "1", "-t", "2", workers=worker_args) as srv:
        (first,) = wait_workers(srv, 1)
        t0 = time.monotonic()
        status, _ = get(srv, "/hang", timeout=10)
        elapsed = time.monotonic() - t0
        assert status == 503
        assert elapsed < 2 + 2.5, elapsed
        out = srv.wait_for(r"WORKER TIMEOUT").string
        assert "in app" in out  # the traceback shows where the request hung
        wait_until(lambda: not alive(first) or first not in srv.worker_pids(), 10, "exit")
        wait_workers(srv, 1)
        assert get(srv)[0] == 200


def test_pidfile_written_stale_replaced_and_removed(tmp_path: Path) -> None:
    pidfile = tmp_path / "corral.pid"
    pidfile.write_text("999999\n")  # stale: no such process
    srv = start("-p", str(pidfile))
    try:
        wait_until(lambda: pidfile.read_text().strip() == str(srv.pid), 5, "pid file")
        srv.signal(signal.SIGTERM)
        assert srv.wait(10) == 0
        assert not pidfile.exists()
    finally:
        srv.stop()


def test_pidfile_of_live_server_refused(tmp_path: Path) -> None:
    pidfile = tmp_path / "corral.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # a live process
    srv = ServerProcess(["arb_app:app", "-b", "127.0.0.1:0", *SYNC, "-p", str(pidfile)])
    with pytest.raises(RuntimeError, match="Already running"):
        srv.start(timeout=10)
    srv.stop()
    assert pidfile.read_text().strip() == str(os.getpid())


def test_preload_loads_app_in_master() -> None:
    with start("--preload") as srv:
        pid, _, imported_in = get(srv)[1].split()
        assert int(imported_in) == srv.pid != int(pid)


def test_without_preload_app_loads_in_worker() -> None:
    with start() as srv:
        pid, _, imported_in = get(srv)[1].split()
        assert int(imported_in) == int(pid) != srv.pid


def test_server_hooks_are_called(tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    srv = start(
        "-w", "1", "-c", str(APPS / "arb_hooks.conf.py"), env={"ARB_HOOK_LOG": str(log)}
    )
    try:
        (worker,) = wait_workers(srv, 1)
        wait_until(lambda: "post_worker_init" in log.read_text(), 5, "post_worker_init")
        srv.signal(signal.SIGTTIN)
        wait_until(lambda: "nworkers_changed 2 1" in log.read_text(), 5, "nworkers_changed")
        srv.signal(signal.SIGHUP)
        wait_until(lambda: "on_reload" in log.read_text(), 5, "on_reload")
        srv.signal(signal.SIGTERM)
        assert srv.wait(10) == 0
    finally:
        srv.stop()
    lines = [line.split() for line in log.read_text().splitlines()]
    by_name: dict[str, list[str]] = {}
    for name, *rest in lines:
        by_name.setdefault(name, []).append(" ".join(rest))
    master = str(srv.pid)
    assert by_name["on_starting"] == [master]
    assert by_name["when_ready"] == [master]
    assert by_name["pre_fork"][0] == master
    assert by_name["post_fork"][0] == str(worker)
    assert by_name["post_worker_init"][0] == str(worker)
    assert str(worker) in by_name["worker_exit"]
    assert str(worker) in by_name["child_exit"]
    assert by_name["on_exit"] == [master]
    assert by_name["on_reload"] == [master]
    assert [n for n, *_ in lines].index("on_starting") == 0
