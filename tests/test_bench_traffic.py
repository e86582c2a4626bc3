"""The server benchmark's traffic and reference server do what its report says.

* realistic traffic (wrk with bench/realistic.lua): no two requests alike,
  many clients and paths, about 400 bytes of header fields; repeated traffic:
  one request over and over;
* the Flask benchmark app answers every path that traffic sends;
* bench/raw_server.py answers keep-alive requests with its fixed 200.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import traffic  # noqa: E402
from bench.common import free_port  # noqa: E402

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@needs_wrk
def test_realistic_requests_all_differ_and_carry_about_400_bytes_of_headers() -> None:
    heads = traffic.capture("realistic", duration=1, connections=2)
    s = traffic.summarize(heads)
    assert s["requests"] >= 100
    assert s["distinct_requests"] == s["requests"]
    assert s["distinct_request_ids"] == s["requests"]
    assert s["distinct_paths"] >= min(100, s["requests"] // 4)
    assert s["distinct_cookies"] >= min(1000, s["requests"] // 4)
    assert 350 <= s["field_bytes_min"] and s["field_bytes_max"] <= 600
    assert 380 <= s["field_bytes_median"] <= 500


@needs_wrk
def test_repeated_traffic_is_one_request() -> None:
    heads = traffic.capture("repeated", duration=1, connections=2)
    assert len(heads) >= 10
    assert len(set(heads)) == 1


@needs_wrk
def test_flask_app_answers_every_path_of_the_realistic_traffic() -> None:
    pytest.importorskip("flask")
    from bench.apps import flask_app

    heads = traffic.capture("realistic", duration=1, connections=2)
    paths = {h.split(b" ", 2)[1].decode() for h in heads}
    client = flask_app.test_client()
    statuses = {p: client.get(p).status_code for p in sorted(paths)[:400]}
    assert set(statuses.values()) == {200}, {p: c for p, c in statuses.items() if c != 200}


def test_raw_server_answers_keep_alive_requests() -> None:
    pytest.importorskip("uvloop")
    pytest.importorskip("httptools")
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "raw_server.py"),
                             "--port", str(port)], stderr=subprocess.PIPE)
    try:
        conn = None
        deadline = time.monotonic() + 20
        while conn is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.connect()
            except OSError:
                conn = None
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)
        for path in ("/", "/search?q=x", "/products/7"):  # one connection throughout
            conn.request("GET", path, headers={"X-Request-Id": path})
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"Hello, World!")
        conn.close()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
        assert proc.stderr is not None
        assert proc.stderr.read() == b""
        proc.stderr.close()
