"""--metrics-bind: Prometheus metrics of every worker, served by the arbiter."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import APPS, WORKER_CLASSES, ServerProcess, free_port

pytest.importorskip("prometheus_client")

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def scrape(url: str) -> dict[str, float]:
    """``name{labels}`` -> value, for every sample of the exposition."""
    r = requests.get(url, timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            m = _SAMPLE.match(line)
            assert m, line
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


def wait_for(url: str, name: str, value: float, timeout: float = 20.0) -> dict[str, float]:
    """Scrape until sample ``name`` reaches ``value`` (requests are counted just after
    their response went out); then the exact figures are compared."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(url)
        if samples.get(name, 0.0) >= value or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)


class Metered:
    def __init__(self, proc: ServerProcess, metrics_url: str) -> None:
        self.proc = proc
        self.base = f"http://{proc.host}:{proc.port}"
        self.metrics = metrics_url


@pytest.fixture(params=[w[0] for w in WORKER_CLASSES], ids=[w[0] for w in WORKER_CLASSES])
def metered(request: pytest.FixtureRequest) -> Iterator[Metered]:
    port = free_port()
    args = ["ops_app:app", "-b", "127.0.0.1:0", "-w", "3", *dict(WORKER_CLASSES)[request.param],
            "--metrics-bind", f"127.0.0.1:{port}"]
    with ServerProcess(args) as proc:
        yield Metered(proc, f"http://127.0.0.1:{port}/metrics")


def test_counts_match_exactly(metered: Metered) -> None:
    gets, posts, errors = 40, 7, 3
    pids = set()
    with requests.Session() as s:
        for _ in range(gets):
            r = s.get(metered.base + "/pid", timeout=10)
            assert r.status_code == 200
            pids.add(r.text)
    for _ in range(posts):  # new connections: spread over the workers
        assert requests.post(metered.base + "/", data=b"x" * 10, timeout=10).status_code == 200
    for _ in range(errors):
        assert requests.get(metered.base + "/error", timeout=10).status_code == 500
    total = gets + posts + errors
    samples = wait_for(metered.metrics, 'corral_request_duration_seconds_count{method="GET"}',
                       gets + errors)
    samples = wait_for(metered.metrics,
                       'corral_request_duration_seconds_count{method="POST"}', posts)
    assert samples['corral_requests_total{method="GET",status="2xx"}'] == gets
    assert samples['corral_requests_total{method="POST",status="2xx"}'] == posts
    assert samples['corral_requests_total{method="GET",status="5xx"}'] == errors
    counted = sum(v for k, v in samples.items() if k.startswith("corral_requests_total{"))
    assert counted == total
    assert samples['corral_request_duration_seconds_bucket{le="+Inf",method="GET"}'] == (
        gets + errors)
    assert samples['corral_request_duration_seconds_sum{method="GET"}'] > 0
    assert samples["corral_requests_in_flight"] == 0
    assert samples["corral_workers"] == 3
    assert samples["corral_worker_restarts_total"] == 0
    assert samples["corral_worker_timeouts_total"] == 0
    assert "corral_open_connections" in samples
    # the endpoint is not the app's, and scraping counts nothing
    assert requests.get(metered.base + "/metrics", timeout=10).text == "hello"
    again = wait_for(metered.metrics, 'corral_request_duration_seconds_count{method="GET"}',
                     gets + errors + 1)
    assert sum(v for k, v in again.items() if k.startswith("corral_requests_total{")) == (
        total + 1)
    assert requests.get(metered.metrics.replace("/metrics", "/other"),
                        timeout=10).status_code == 404


def test_in_flight_and_connections(metered: Metered) -> None:
    import threading

    done = threading.Event()

    def slow() -> None:
        requests.get(metered.base + "/sleep?s=5", timeout=30)
        done.set()

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        samples = wait_for(metered.metrics, "corral_requests_in_flight", 1, timeout=10)
        assert samples["corral_requests_in_flight"] == 1
        assert samples["corral_open_connections"] >= 1
    finally:
        thread.join(30)
    samples = scrape(metered.metrics)
    assert done.is_set()
    deadline = time.monotonic() + 10
    while samples["corral_requests_in_flight"] != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        samples = scrape(metered.metrics)
    assert samples["corral_requests_in_flight"] == 0


def test_worker_restart_counted(metered: Metered) -> None:
    pid = int(requests.get(metered.base + "/pid", timeout=10).text)
    os.kill(pid, signal.SIGKILL)
    samples = wait_for(metered.metrics, "corral_worker_restarts_total", 1)
    assert samples["corral_worker_restarts_total"] == 1
    deadline = time.monotonic() + 20
    while samples["corral_workers"] != 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        samples = scrape(metered.metrics)
    assert samples["corral_workers"] == 3


def test_worker_timeout_counted() -> None:
    port = free_port()
    args = ["ops_app:app", "-b", "127.0.0.1:0", "-w", "1", "-k", "sync", "--timeout", "2",
            "--metrics-bind", f"127.0.0.1:{port}"]
    url = f"http://127.0.0.1:{port}/metrics"
    with ServerProcess(args) as proc:
        r = requests.get(f"http://{proc.host}:{proc.port}/sleep?s=30", timeout=40)
        assert r.status_code in (500, 503)
        samples = wait_for(url, "corral_worker_timeouts_total", 1)
        assert samples["corral_worker_timeouts_total"] == 1
        assert samples["corral_worker_restarts_total"] == 0


def test_a_worker_file_not_yet_written_is_left_out(tmp_path: Path) -> None:
    """A worker's file is empty for a moment after the worker makes it (and stays
    so if the worker is killed then): a scrape leaves it out instead of failing."""
    port = free_port()
    args = ["ops_app:app", "-b", "127.0.0.1:0", "-w", "1", "--metrics-bind", f"127.0.0.1:{port}"]
    url = f"http://127.0.0.1:{port}/metrics"
    with ServerProcess(args, env={"TMPDIR": str(tmp_path)}) as proc:
        requests.get(f"http://{proc.host}:{proc.port}/", timeout=10)
        (directory,) = [p for p in tmp_path.iterdir() if p.name.startswith("corral-metrics-")]
        (directory / "counter_999999.db").touch()
        (directory / "gauge_liveall_999998.db").touch()
        deadline = time.monotonic() + 20  # the request is counted just after its response
        samples = scrape(url)  # a 500 here fails the test
        while 'corral_requests_total{method="GET",status="2xx"}' not in samples:
            assert time.monotonic() < deadline, samples
            time.sleep(0.1)
            samples = scrape(url)
        assert samples['corral_requests_total{method="GET",status="2xx"}'] == 1


def test_directory_removed_and_bad_bind(tmp_path: Path) -> None:
    port = free_port()
    env = {"TMPDIR": str(tmp_path)}
    args = ["ops_app:app", "-b", "127.0.0.1:0", "-w", "1", "--metrics-bind", f"127.0.0.1:{port}"]
    with ServerProcess(args, env=env) as proc:
        requests.get(f"http://{proc.host}:{proc.port}/", timeout=10)
        dirs = [p for p in tmp_path.iterdir() if p.name.startswith("corral-metrics-")]
        assert len(dirs) == 1 and any(dirs[0].iterdir())
        proc.signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert not any(p.name.startswith("corral-metrics-") for p in tmp_path.iterdir())
    base_env = {**ServerProcess([]).env, **env}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        for bind in ("nonsense", f"127.0.0.1:{taken.getsockname()[1]}"):
            out = subprocess.run([sys.executable, "-m", "corral", "ops_app:app", "-b",
                                  "127.0.0.1:0", "--metrics-bind", bind],
                                 cwd=APPS, env=base_env, capture_output=True, text=True,
                                 timeout=30)
            assert out.returncode != 0, out
            assert "--metrics-bind" in out.stdout + out.stderr
            assert "Traceback" not in out.stdout + out.stderr
    assert not any(p.name.startswith("corral-metrics-") for p in tmp_path.iterdir())
