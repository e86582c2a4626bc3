"""The server benchmark's traffic and reference server do what its report says.

* realistic traffic (wrk with bench/realistic.lua): no two requests alike,
  many clients and paths, about 400 bytes of header fields; repeated traffic:
  one request over and over;
* the Flask benchmark app answers every path that traffic sends;
* bench/raw_server.py answers keep-alive requests with its fixed 200;
* bench/wsgi_floor.py runs the app on keep-alive requests too, and the environ it
  builds for a realistic request has every key and value corral's has that PEP
  3333 and the request call for (so its figure is a floor for the same work);
* bench/ab.py checks an earlier revision out beside the working tree, with the
  compiled head scanner in place.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def _serve_and_ask(argv: list[str], body: bytes) -> None:
    """Start a reference server on a free port, send three requests on one
    keep-alive connection, expect ``body`` each time and a clean exit on TERM."""
    pytest.importorskip("uvloop")
    pytest.importorskip("httptools")
    port = free_port()
    proc = subprocess.Popen([sys.executable, *argv[:1], "--port", str(port), *argv[1:]],
                            stderr=subprocess.PIPE, cwd=str(ROOT),
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
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
            assert (resp.status, resp.read()) == (200, body)
        conn.close()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
        assert proc.stderr is not None
        assert proc.stderr.read() == b""
        proc.stderr.close()


def test_raw_server_answers_keep_alive_requests() -> None:
    _serve_and_ask([str(ROOT / "bench" / "raw_server.py")], b"Hello, World!")


@pytest.mark.parametrize("parse", ["scan", "split", "httptools"])
def test_wsgi_floor_runs_the_app_on_keep_alive_requests(parse: str) -> None:
    _serve_and_ask([str(ROOT / "bench" / "wsgi_floor.py"), "--parse", parse,
                    "bench.apps:hello"], b"Hello, world!")


@pytest.mark.parametrize("parse", ["scan", "split", "httptools"])
def test_wsgi_floor_environ_matches_corrals_for_realistic_requests(
        parse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("httptools")
    from bench import hotpath, wsgi_floor

    seen: list[dict[str, Any]] = []

    def keep(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    class Transport:
        def __init__(self) -> None:
            self.out: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.out.append(data)

        def close(self) -> None:
            raise AssertionError("keep-alive requests close nothing")

        def get_extra_info(self, name: str) -> Any:
            return ("127.0.0.1", 40000)

    requests = hotpath.realistic(20)
    monkeypatch.setattr(wsgi_floor, "_APP", [keep])
    monkeypatch.setattr(wsgi_floor._Floor, "base", {
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_SOFTWARE": "floor",
        "SCRIPT_NAME": ""})
    floor = wsgi_floor.PARSERS[parse]()
    transport = Transport()
    floor.connection_made(transport)  # type: ignore[arg-type]
    for request in requests:
        floor.data_received(request)
    assert len(seen) == len(transport.out) == len(requests)
    floor_environs, seen[:] = list(seen), []
    proto = hotpath.protocol(keep)
    hotpath.feed(proto, requests)
    assert len(seen) == len(requests)
    for theirs, ours in zip(floor_environs, seen, strict=True):
        cgi = {k: v for k, v in ours.items() if k.isupper() and k != "RAW_URI"}
        assert set(cgi) - {"CONTENT_LENGTH", "CONTENT_TYPE"} <= set(theirs)
        same = {k: v for k, v in cgi.items() if not k.startswith(("SERVER_", "REMOTE_"))}
        assert {k: theirs.get(k) for k in same} == same


@pytest.mark.skipif(not list((ROOT / "src/corral/server/http").glob("_headscan*.so")),
                    reason="the head scanner is not compiled here")
def test_ab_checks_a_revision_out_with_its_compiled_parts(tmp_path: Path) -> None:
    from bench import ab

    tree = ab.checkout("HEAD", tmp_path)
    try:
        assert (tree / "src/corral/server/http/cycle.py").is_file()
        for folder, name in ab.COMPILED:
            same = ((tree / folder / f"{name}.c").read_bytes()
                    == (ROOT / folder / f"{name}.c").read_bytes())
            built = list((ROOT / folder).glob(f"{name}*.so"))
            assert built, f"{name} is not compiled here"
            for so in built:
                theirs = (tree / folder / so.name).read_bytes()
                # the working tree's build when the source is the same, else its own
                assert (theirs == so.read_bytes()) is same
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                       check=False)
