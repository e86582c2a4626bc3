"""Faults survived, against real processes of every worker class: a killed worker,
reloads and stops under load, a hung request, misbehaving apps, running out of file
descriptors and a full listen backlog.  Every loop is bounded in count and time."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.server.faults import WORKERS, Background, booted, get, start, wait_until
from tests.support import ServerProcess, run_load

pytestmark = pytest.mark.slow

OK = b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


# -- misbehaving applications: one server per worker class --------------------


@pytest.fixture(scope="module", params=WORKERS)
def app_server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    srv = start(request.param)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("path", "status", "marker"),
    [
        ("/raise-call", 500, "fault-in-call"),
        ("/raise-iter", 500, "fault-in-iteration"),
        ("/raise-close", 200, "fault-in-close"),
        # a small body of declared length is produced whole before anything is
        # sent, so failing half-way is still a clean 500
        ("/raise-late-sized", 500, "fault-late-in-body"),
        ("/non-iterable", 500, "/non-iterable"),
        ("/start-twice", 500, "/start-twice"),
        ("/no-start", 500, "/no-start"),
    ],
)
def test_app_errors_answer_500_log_and_keep_the_worker(
    app_server: ServerProcess, path: str, status: int, marker: str
) -> None:
    pids = app_server.worker_pids()
    before = app_server.output()
    got, _, body = get(app_server, path)
    assert got == status, body
    if status == 200:
        assert body == b"complete"
    else:
        assert b"Traceback" not in body and b"fault-in" not in body  # nothing leaks
    wait_until(lambda: marker in app_server.output()[len(before):], 5, f"{marker} in the log")
    assert "Traceback (most recent call last)" in app_server.output()[len(before):]
    assert get(app_server, "/ok")[0] == 200
    assert app_server.worker_pids() == pids


# -- process faults ---------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("worker", WORKERS)
def test_kill_9_under_load_fails_only_in_flight_requests(worker: str) -> None:
    threads = 4
    with start(worker, workers=2) as srv:
        victim = srv.worker_pids()[0]
        load = Background(lambda: run_load(srv.host, srv.port, OK, threads=threads, duration=1.5))
        time.sleep(0.5)
        assert victim in srv.worker_pids(), srv.output()
        os.kill(victim, signal.SIGKILL)
        ok, failed, reasons = load.result()
        assert failed <= threads, (reasons, srv.output())  # at most one request in flight per client
        assert ok > 0
        wait_until(lambda: len(srv.worker_pids()) == 2 and victim not in srv.worker_pids(), 10,
                   "a replacement worker")
        assert get(srv, "/ok")[0] == 200


@pytest.mark.timeout(60)
@pytest.mark.parametrize("worker", WORKERS)
def test_hup_under_load_fails_nothing(worker: str) -> None:
    with start(worker, workers=2) as srv:
        old = set(srv.worker_pids())
        load = Background(lambda: run_load(srv.host, srv.port, OK, threads=4, duration=2.0))
        time.sleep(0.5)
        srv.signal(signal.SIGHUP)
        ok, failed, reasons = load.result()
        assert failed == 0, (reasons, srv.output())
        assert ok > 0
        wait_until(lambda: len(srv.worker_pids()) == 2 and not old & set(srv.worker_pids()), 15,
                   "old workers retired after HUP")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("worker", WORKERS)
def test_term_lets_in_flight_requests_finish(worker: str) -> None:
    with start(worker, workers=2) as srv:
        clients = [Background(lambda: get(srv, "/sleep?s=1")) for _ in range(2)]
        time.sleep(0.3)
        srv.signal(signal.SIGTERM)
        for c in clients:
            status, _, body = c.result()
            assert status == 200, (body, srv.output())
        assert srv.wait(15) == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("worker", WORKERS)
def test_request_past_timeout_gets_503_and_a_traceback(worker: str) -> None:
    timeout = 2
    with start(worker, "--timeout", str(timeout), "--graceful-timeout", "2", workers=2) as srv:
        before = set(srv.worker_pids())
        started = time.monotonic()
        hung = Background(lambda: get(srv, "/hang", timeout=timeout + 8))
        served = 0
        while hung.thread.is_alive() and time.monotonic() - started < timeout + 3:
            assert get(srv, "/ok", timeout=5)[0] == 200  # others keep being served
            served += 1
            time.sleep(0.1)
        status, _, _ = hung.result()
        elapsed = time.monotonic() - started
        assert status == 503
        assert elapsed < timeout + 2, f"503 after {elapsed:.1f}s"
        assert served > 0
        srv.wait_for(r"(?s)WORKER TIMEOUT.*hang_here", 5)
        wait_until(lambda: len(set(booted(srv))) > len(before) and len(srv.worker_pids()) == 2,
                   10, "the hung worker replaced")
        assert get(srv, "/ok")[0] == 200


# -- resource exhaustion --------------------------------------------------------


@pytest.mark.timeout(60)
def test_out_of_file_descriptors_recovers(app_server: ServerProcess) -> None:
    srv = app_server
    pids = srv.worker_pids()
    status, _, body = get(srv, "/exhaust?s=1")
    assert status == 200 and int(body) > 0
    time.sleep(0.4)  # the app now holds every descriptor for 1 s
    # Connections made while the worker has no descriptor left wait in the
    # backlog (or are refused) and are served once the descriptors come back.
    clients = [Background(lambda: _get_retrying(srv, 15)) for _ in range(5)]
    for c in clients:
        assert c.result() == 200
    assert srv.worker_pids() == pids, "the worker died"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("worker", WORKERS)
def test_full_listen_backlog_recovers(worker: str) -> None:
    with start(worker, "--backlog", "1") as srv:
        pids = srv.worker_pids()
        busy = Background(lambda: get(srv, "/sleep?s=1"))
        time.sleep(0.2)
        clients = [Background(lambda: _get_retrying(srv, 20)) for _ in range(6)]
        assert busy.result()[0] == 200
        assert [c.result(30) for c in clients] == [200] * len(clients)
        assert srv.worker_pids() == pids


def _get_retrying(srv: ServerProcess, budget: float) -> int:
    """GET /ok, retrying refused or reset connections for ``budget`` seconds."""
    deadline = time.monotonic() + budget
    while True:
        try:
            status = get(srv, "/ok", timeout=max(1.0, deadline - time.monotonic()))[0]
            if status:
                return status
        except OSError:
            pass
        if time.monotonic() > deadline:
            return 0
        time.sleep(0.2)
