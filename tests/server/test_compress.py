"""--compress: responses compressed by the server, for every worker class, decoded with
the gzip module, brotli and `requests`."""

from __future__ import annotations

import gzip
import socket
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from corral.server.compress import Compress, accepted_encodings, choose_encoding, compressible
from tests.apps.ops_app import text
from tests.server.harness import Harness
from tests.server.harness import get as harness_get
from tests.support import WORKER_CLASSES, ServerProcess, parse_response

brotli = pytest.importorskip("brotli")

GZIP = b"Accept-Encoding: gzip\r\n"


class Server:
    def __init__(self, proc: ServerProcess) -> None:
        self.proc = proc
        self.base = f"http://{proc.host}:{proc.port}"

    def raw(self, target: str, extra: bytes = b"", method: bytes = b"GET"
            ) -> tuple[int, dict[str, str], bytes]:
        data = self.proc.request(method + b" " + target.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                                 + extra + b"Connection: close\r\n\r\n")
        status, headers, body, _ = parse_response(data)
        return status, headers, body


@pytest.fixture(scope="module", params=[w[0] for w in WORKER_CLASSES],
                ids=[w[0] for w in WORKER_CLASSES])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    args = ["ops_app:app", "-b", "127.0.0.1:0", "-w", "1", *dict(WORKER_CLASSES)[request.param],
            "--compress", "--compress-min-size", "500"]
    with ServerProcess(args) as proc:
        yield Server(proc)


def test_gzip_whole_body(server: Server) -> None:
    status, h, body = server.raw("/text?size=5000", GZIP)
    assert status == 200 and h["content-encoding"] == "gzip"
    assert gzip.decompress(body) == text(5000)
    assert h["content-length"] == str(len(body)) and len(body) < 1000
    assert h["vary"] == "Accept-Encoding"
    status, h, body = server.raw("/json?size=200", b"Accept-Encoding: deflate, gzip;q=0.8\r\n")
    assert h["content-encoding"] == "gzip" and gzip.decompress(body).startswith(b'{"items"')


def test_brotli_preferred(server: Server) -> None:
    status, h, body = server.raw("/text?size=5000", b"Accept-Encoding: gzip, deflate, br\r\n")
    assert h["content-encoding"] == "br" and brotli.decompress(body) == text(5000)
    status, h, body = server.raw("/text?size=5000", b"Accept-Encoding: br;q=0.5, gzip\r\n")
    assert h["content-encoding"] == "gzip"


def test_not_accepted_still_varies(server: Server) -> None:
    for extra in (b"", b"Accept-Encoding: identity\r\n", b"Accept-Encoding: gzip;q=0\r\n"):
        status, h, body = server.raw("/text?size=5000", extra)
        assert body == text(5000) and "content-encoding" not in h
        assert h["vary"] == "Accept-Encoding" and h["content-length"] == "5000"


def test_requests_decodes(server: Server) -> None:
    r = requests.get(server.base + "/text?size=20000", timeout=10)
    assert r.headers["content-encoding"] in ("gzip", "br") and r.content == text(20000)
    r = requests.get(server.base + "/stream?count=4&size=3000", timeout=10,
                     headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == b"".join(b"[part %d]" % i + text(3000) for i in range(4))


def test_streamed_body_flushed_per_chunk(server: Server) -> None:
    """Each chunk the app yields is sent as it is made, decodable on its own."""
    with socket.create_connection((server.proc.host, server.proc.port), timeout=20) as s:
        s.sendall(b"GET /stream?count=3&size=2000&delay=0.3 HTTP/1.1\r\nHost: t\r\n" + GZIP
                  + b"Connection: close\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, _, rest = buf.partition(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in head and b"Content-Encoding: gzip" in head
        assert b"Content-Length" not in head
        while b"\r\n" not in rest:
            rest += s.recv(65536)
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        while len(rest) < size:
            rest += s.recv(65536)
        first = rest[:size]
    decoder = zlib.decompressobj(31)
    assert decoder.decompress(first) == b"[part 0]" + text(2000)


def test_generator_app(server: Server) -> None:
    status, h, body = server.raw("/generator?size=3000", GZIP)
    assert h["content-encoding"] == "gzip" and gzip.decompress(body) == text(3000)
    assert h["content-type"] == "text/html"


@pytest.mark.parametrize(("query", "extra"), [
    ("/text?size=100", b""),  # below --compress-min-size
    ("/text?size=100&nolength=1", b""),  # ... also when the app gave no length
    ("/text?size=5000&type=image/png", b""),  # not a compressible type
    ("/text?size=5000&headers=" + quote("Content-Encoding:br"), b""),  # already encoded
    ("/text?size=5000&headers=" + quote("Cache-Control:public, no-transform"), b""),
    ("/text?size=5000&status=" + quote("206 Partial Content") + "&headers="
     + quote("Content-Range:bytes 0-4999/9000"), b""),
])
def test_left_alone(server: Server, query: str, extra: bytes) -> None:
    status, h, body = server.raw(query, GZIP + extra)
    size = int(query.split("size=")[1].split("&")[0])
    assert "content-encoding" not in h or h["content-encoding"] == "br"
    assert len(body) == size


def test_no_body_statuses_and_head(server: Server) -> None:
    status, h, body = server.raw("/text?size=5000&status=" + quote("204 No Content"), GZIP)
    assert status == 204 and "content-encoding" not in h and body == b""
    status, h, body = server.raw("/text?size=5000&status=" + quote("304 Not Modified"), GZIP)
    assert status == 304 and "content-encoding" not in h
    data = server.proc.request(b"HEAD /text?size=5000 HTTP/1.1\r\nHost: t\r\n" + GZIP
                               + b"Connection: close\r\n\r\n")
    head, _, rest = data.partition(b"\r\n\r\n")
    assert rest == b"" and b"Content-Encoding" not in head
    assert b"Content-Length: 5000" in head


def test_etag_weakened(server: Server) -> None:
    status, h, body = server.raw("/text?size=5000&headers=" + quote('ETag:"v1"'), GZIP)
    assert h["content-encoding"] == "gzip" and h["etag"] == 'W/"v1"'
    status, h, body = server.raw("/text?size=5000&headers=" + quote('ETag:"v1"'))
    assert h["etag"] == '"v1"'


def test_existing_vary_extended(server: Server) -> None:
    status, h, body = server.raw("/text?size=5000&headers=" + quote("Vary:Cookie"), GZIP)
    assert h["vary"] == "Cookie, Accept-Encoding"


def test_keep_alive_mixed(server: Server) -> None:
    with requests.Session() as s:
        for i in range(5):
            r = s.get(server.base + f"/text?size={1000 + i}", timeout=10)
            assert r.content == text(1000 + i)
            r = s.get(server.base + "/stream?count=2&size=700", timeout=10)
            assert r.content == b"[part 0]" + text(700) + b"[part 1]" + text(700)


# -- units ------------------------------------------------------------------------------
def test_accept_encoding_parsing() -> None:
    assert accepted_encodings("gzip, br;q=0.5, *;q=0") == {"gzip": 1.0, "br": 0.5, "*": 0.0}
    assert accepted_encodings("gzip;q=bad") == {"gzip": 0.0}
    assert choose_encoding("", True) is None
    assert choose_encoding("*", True) == "br"
    assert choose_encoding("*", False) == "gzip"
    assert choose_encoding("br", False) is None
    assert choose_encoding("GZIP", True) == "gzip"
    assert choose_encoding("*;q=0, gzip", True) == "gzip"


@pytest.mark.parametrize(("ctype", "expected"), [
    ("text/html; charset=utf-8", True), ("application/json", True),
    ("application/javascript", True), ("image/svg+xml", True),
    ("application/vnd.api+json", True), ("application/atom+xml", True),
    ("image/png", False), ("application/octet-stream", False), ("video/mp4", False),
    ("application/zip", False),
])
def test_compressible(ctype: str, expected: bool) -> None:
    assert compressible(ctype) is expected


def test_brotli_stream(server: Server) -> None:
    status, h, body = server.raw("/stream?count=3&size=2000", b"Accept-Encoding: br\r\n")
    assert h["content-encoding"] == "br" and h["transfer-encoding"] == "chunked"
    assert brotli.decompress(body) == b"".join(b"[part %d]" % i + text(2000) for i in range(3))


# -- through the request cycle, without sockets -------------------------------------------
def _cycle(tmp_path: Path, app: object, extra: bytes = GZIP) -> tuple[int, dict[str, str],
                                                                        bytes, str]:
    h = Harness(tmp_path)
    try:
        out, _ = h.run(Compress(app, 100), harness_get("/", extra))  # type: ignore[arg-type]
        status, headers, body, _ = parse_response(out)
        return status, headers, body, h.errors()
    finally:
        h.close()


def test_write_callable_is_compressed_with_the_body(tmp_path: Path) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(text(300))
        return [text(400)]

    status, h, body, _ = _cycle(tmp_path, app)
    assert h["content-encoding"] == "gzip" and gzip.decompress(body) == text(300) + text(400)


def test_error_replaced_with_exc_info(tmp_path: Path) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        try:
            raise ValueError("late")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                           sys.exc_info())
        return [b"failed " * 50]

    status, h, body, _ = _cycle(tmp_path, app)
    assert status == 500 and gzip.decompress(body) == b"failed " * 50


def test_iterable_closed(tmp_path: Path) -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield b""
            yield text(500)

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "application/json")])
        return Body()

    status, h, body, errors = _cycle(tmp_path, app)
    assert gzip.decompress(body) == text(500) and closed == [True]
    status, h, body, errors = _cycle(tmp_path, app, b"")
    assert body == text(500) and closed == [True, True]


def test_generator_failing_before_start_response(tmp_path: Path) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        raise RuntimeError("broken")
        yield b""

    status, h, body, errors = _cycle(tmp_path, app)
    assert status == 500 and "broken" in errors
