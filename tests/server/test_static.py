"""--static-map: files served by the server itself, for every worker class, over real
sockets with raw requests and with `requests`."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
import requests

from corral.server.static import parse_range
from tests.support import APPS, WORKER_CLASSES, ServerProcess, parse_response

brotli = pytest.importorskip("brotli")

SMALL = b"0123456789abcdef" * 64  # 1 KiB
BIG = os.urandom(1 << 20) + b"end"
CSS = b"body { color: red; }\n" * 200
SECRET = b"top secret outside the mapped directory"


class Static:
    def __init__(self, name: str, proc: ServerProcess, calls: Path) -> None:
        self.name = name
        self.proc = proc
        self.calls = calls
        self.base = f"http://{proc.host}:{proc.port}"

    def raw(self, target: str, extra: bytes = b"", method: bytes = b"GET"
            ) -> tuple[int, dict[str, str], bytes, bytes]:
        data = self.proc.request(method + b" " + target.encode("latin-1") + b" HTTP/1.1\r\n"
                                 b"Host: t\r\n" + extra + b"Connection: close\r\n\r\n")
        status, headers, body, _ = parse_response(data)
        return status, headers, body, data

    def app_paths(self) -> list[str]:
        return self.calls.read_text().split() if self.calls.exists() else []


@pytest.fixture(scope="module", params=[w[0] for w in WORKER_CLASSES],
                ids=[w[0] for w in WORKER_CLASSES])
def static(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Static]:
    tmp = tmp_path_factory.mktemp("static")
    root = tmp / "public"
    (root / "sub").mkdir(parents=True)
    (root / "small.txt").write_bytes(SMALL)
    (root / "big.bin").write_bytes(BIG)
    (root / "style.css").write_bytes(CSS)
    (root / "style.css.gz").write_bytes(gzip.compress(CSS))
    (root / "style.css.br").write_bytes(brotli.compress(CSS))
    (root / "sub" / "page.html").write_bytes(b"<p>hi</p>")
    (root / "caf\u00e9.txt").write_bytes(b"utf-8 name")
    (tmp / "secret.txt").write_bytes(SECRET)
    (root / "escape.txt").symlink_to(tmp / "secret.txt")
    (root / "inside.txt").symlink_to(root / "small.txt")
    (root / "outdir").symlink_to(tmp)
    calls = tmp / "calls.txt"
    args = ["ops_app:app", "-b", "127.0.0.1:0", "-w", "1", *dict(WORKER_CLASSES)[request.param],
            "--static-map", f"/static={root}", "--static-map", f"/assets/v2={root / 'sub'}",
            "--static-max-age", "60"]
    with ServerProcess(args, env={"OPS_APP_CALLS": str(calls)}) as proc:
        yield Static(request.param, proc, calls)


def test_get_served_without_the_app(static: Static) -> None:
    status, headers, body, _ = static.raw("/static/small.txt")
    assert (status, body) == (200, SMALL)
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-length"] == str(len(SMALL))
    assert headers["cache-control"] == "public, max-age=60"
    assert headers["etag"].startswith('"') and headers["last-modified"].endswith("GMT")
    assert headers["accept-ranges"] == "bytes"
    assert "/static/small.txt" not in static.app_paths()
    status, headers, body, _ = static.raw("/assets/v2/page.html")
    assert (status, body) == (200, b"<p>hi</p>")
    assert headers["content-type"].startswith("text/html")
    status, _, body, _ = static.raw("/static/caf%C3%A9.txt")
    assert (status, body) == (200, b"utf-8 name")
    status, _, body, _ = static.raw("/static/inside.txt")  # a link that stays inside
    assert (status, body) == (200, SMALL)
    status, _, body, _ = static.raw("/other")  # anything else goes to the app
    assert (status, body) == (200, b"hello")
    assert "/other" in static.app_paths()


def test_big_file_with_requests(static: Static) -> None:
    r = requests.get(static.base + "/static/big.bin", timeout=30)
    assert r.status_code == 200 and r.content == BIG
    assert r.headers["content-type"] == "application/octet-stream"


def test_keep_alive_after_static_file(static: Static) -> None:
    with requests.Session() as s:
        for _ in range(3):
            assert s.get(static.base + "/static/small.txt", timeout=10).content == SMALL
            assert s.get(static.base + "/static/big.bin", timeout=30).content == BIG
            assert s.get(static.base + "/other", timeout=10).content == b"hello"


def test_conditional_requests(static: Static) -> None:
    _, headers, _, _ = static.raw("/static/small.txt")
    etag, modified = headers["etag"], headers["last-modified"]
    status, h, body, raw = static.raw("/static/small.txt", f"If-None-Match: {etag}\r\n".encode())
    assert (status, body) == (304, b"") and h["etag"] == etag
    assert raw.endswith(b"\r\n\r\n")
    status, _, _, _ = static.raw("/static/small.txt",
                                 f'If-None-Match: "other", W/{etag}\r\n'.encode())
    assert status == 304
    status, _, _, _ = static.raw("/static/small.txt", b'If-None-Match: "other"\r\n')
    assert status == 200
    status, _, _, _ = static.raw("/static/small.txt", f"If-Modified-Since: {modified}\r\n"
                                 .encode())
    assert status == 304
    old = formatdate(time.time() - 86400 * 365, usegmt=True)
    status, _, body, _ = static.raw("/static/small.txt", f"If-Modified-Since: {old}\r\n"
                                    .encode())
    assert (status, body) == (200, SMALL)
    # If-None-Match wins over If-Modified-Since
    status, _, _, _ = static.raw("/static/small.txt", b'If-None-Match: "other"\r\n'
                                 + f"If-Modified-Since: {modified}\r\n".encode())
    assert status == 200


def test_ranges(static: Static) -> None:
    size = len(BIG)
    status, h, body, _ = static.raw("/static/big.bin", b"Range: bytes=10-19\r\n")
    assert (status, body) == (206, BIG[10:20])
    assert h["content-range"] == f"bytes 10-19/{size}" and h["content-length"] == "10"
    status, h, body, _ = static.raw("/static/big.bin", b"Range: bytes=-3\r\n")
    assert (status, body) == (206, b"end")
    status, h, body, _ = static.raw("/static/big.bin", f"Range: bytes={size - 100}-\r\n"
                                    .encode())
    assert (status, body) == (206, BIG[-100:])
    r = requests.get(static.base + "/static/big.bin", headers={"Range": "bytes=1000-"},
                     timeout=30)
    assert r.status_code == 206 and r.content == BIG[1000:]
    status, h, _, _ = static.raw("/static/big.bin", f"Range: bytes={size}-\r\n".encode())
    assert status == 416 and h["content-range"] == f"bytes */{size}"
    status, _, body, _ = static.raw("/static/small.txt", b"Range: bytes=0-1,5-6\r\n")
    assert (status, body) == (200, SMALL)  # several ranges: the whole file
    status, _, body, _ = static.raw("/static/small.txt", b"Range: lines=1-2\r\n")
    assert (status, body) == (200, SMALL)
    status, _, body, _ = static.raw("/static/small.txt", b"Range: bytes=0-3\r\n"
                                    b'If-Range: "stale"\r\n')
    assert (status, body) == (200, SMALL)
    _, h, _, _ = static.raw("/static/small.txt")
    status, _, body, _ = static.raw("/static/small.txt", b"Range: bytes=0-3\r\n"
                                    + f"If-Range: {h['etag']}\r\n".encode())
    assert (status, body) == (206, SMALL[:4])


def test_precompressed_siblings(static: Static) -> None:
    status, h, body, _ = static.raw("/static/style.css", b"Accept-Encoding: gzip\r\n")
    assert status == 200 and h["content-encoding"] == "gzip"
    assert gzip.decompress(body) == CSS and h["vary"] == "Accept-Encoding"
    assert h["content-type"] == "text/css; charset=utf-8"
    gz_etag = h["etag"]
    status, h, body, _ = static.raw("/static/style.css", b"Accept-Encoding: gzip, br\r\n")
    assert h["content-encoding"] == "br" and brotli.decompress(body) == CSS
    assert h["etag"] != gz_etag
    status, h, body, _ = static.raw("/static/style.css", b"Accept-Encoding: br;q=0, gzip\r\n")
    assert h["content-encoding"] == "gzip"
    status, h, body, _ = static.raw("/static/style.css")
    assert body == CSS and "content-encoding" not in h and h["vary"] == "Accept-Encoding"
    status, h, body, _ = static.raw("/static/style.css", b"Accept-Encoding: identity\r\n")
    assert body == CSS and "content-encoding" not in h
    r = requests.get(static.base + "/static/style.css", headers={"Accept-Encoding": "gzip"},
                     timeout=10)
    assert r.headers["content-encoding"] == "gzip" and r.content == CSS
    status, h, _, _ = static.raw("/static/small.txt", b"Accept-Encoding: gzip\r\n")
    assert "vary" not in h and "content-encoding" not in h  # no sibling


def test_head(static: Static) -> None:
    data = static.proc.request(b"HEAD /static/big.bin HTTP/1.1\r\nHost: t\r\n"
                               b"Connection: close\r\n\r\n")
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and rest == b""
    assert f"Content-Length: {len(BIG)}".encode() in head


def test_other_methods(static: Static) -> None:
    for method in (b"POST", b"PUT", b"DELETE", b"OPTIONS"):
        extra = b"Content-Length: 0\r\n"
        status, h, _, _ = static.raw("/static/small.txt", extra, method)
        assert status == 405 and h["allow"] == "GET, HEAD"


@pytest.mark.parametrize("target", [
    "/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/%2E%2E%2Fsecret.txt",
    "/static/sub/..%2F..%2Fsecret.txt", "/static/..%5csecret.txt", "/static/%5c..%5csecret.txt",
    "/static/small.txt%00.png", "/static/escape.txt", "/static/outdir/secret.txt",
    "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static//../secret.txt",
    "/assets/v2/../secret.txt", "/assets/v2/%2e%2e/small.txt",
])
def test_no_way_out(static: Static, target: str) -> None:
    status, _, body, _ = static.raw(target)
    assert status in (400, 404), target
    assert SECRET not in body and SMALL not in body
    assert static.proc.proc is not None and static.proc.proc.poll() is None


def test_missing_and_directories(static: Static) -> None:
    for target in ("/static/nope.txt", "/static/sub", "/static/sub/", "/static", "/static/"):
        status, _, _, _ = static.raw(target)
        assert status == 404, target
    assert not any(p.startswith("/static") for p in static.app_paths())


# -- units ------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=0-0", (0, 0)), ("bytes=5-", (5, 99)), ("bytes=-10", (90, 99)),
    ("bytes=-1000", (0, 99)), ("bytes=50-1000", (50, 99)), ("bytes=100-", "unsatisfiable"),
    ("bytes=-0", "unsatisfiable"), ("bytes=5-2", None), ("bytes=1-2,4-5", None),
    ("items=1-2", None), ("bytes=a-b", None), ("bytes=-", None), ("bytes= 3 - 4", (3, 4)),
])
def test_parse_range(header: str, expected: object) -> None:
    assert parse_range(header, 100) == expected


def test_bad_static_map_is_one_line(tmp_path: Path) -> None:
    env = ServerProcess([]).env
    for entry, needle in ((f"static={tmp_path}", "URL_PREFIX=DIR"),
                          (f"/static={tmp_path / 'missing'}", "is not a directory")):
        out = subprocess.run([sys.executable, "-m", "corral", "ops_app:app", "-b",
                              "127.0.0.1:0", "--static-map", entry], cwd=APPS, env=env,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode != 0
        assert needle in out.stdout + out.stderr
        assert "Traceback" not in out.stdout + out.stderr


def test_static_socket_closed_cleanly(static: Static) -> None:
    """A client that goes away in the middle of a big file leaves the worker serving."""
    with socket.create_connection((static.proc.host, static.proc.port), timeout=10) as s:
        s.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        s.recv(1000)
    status, _, body, _ = static.raw("/static/small.txt")
    assert (status, body) == (200, SMALL)


def test_static_map_from_a_config_file(tmp_path: Path) -> None:
    from corral.server.config import Settings

    conf = tmp_path / "corral.conf.py"
    conf.write_text(f"static_map = ['/static={tmp_path}', '/media=/srv/media']\n"
                    "static_max_age = 600\ncompress = True\n")
    settings = Settings.from_argv(["-c", str(conf), "ops_app:app"])
    assert settings.static_map == [f"/static={tmp_path}", "/media=/srv/media"]
    assert settings.static_max_age == 600 and settings.compress
    assert settings.compress_min_size == 1024
    settings = Settings.from_argv(["-c", str(conf), "ops_app:app", "--static-map", "/x=y"])
    assert settings.static_map == ["/x=y"]  # the command line wins, as for --bind
