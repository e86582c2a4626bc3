"""HTTP behaviour over real sockets against a real server, for every worker class."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apps.http_app import FILE_DATA
from tests.support import WORKER_CLASSES, ServerProcess, parse_response, read_response, recv_all

HOST = b"Host: test\r\n"
BIG = 20 * 1024 * 1024


class Server:
    def __init__(self, name: str, proc: ServerProcess) -> None:
        self.name = name
        self.proc = proc

    def request(self, raw: bytes, timeout: float = 20.0) -> tuple[int, dict[str, str], bytes]:
        status, headers, body, _ = parse_response(self.proc.request(raw, timeout))
        return status, headers, body

    def get(self, target: str, extra: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        return self.request(b"GET " + target.encode() + b" HTTP/1.1\r\n" + HOST + extra +
                            b"Connection: close\r\n\r\n")


@pytest.fixture(scope="module", params=[w[0] for w in WORKER_CLASSES],
                ids=[w[0] for w in WORKER_CLASSES])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    data_file = tmp_path_factory.mktemp("http") / "file.bin"
    data_file.write_bytes(FILE_DATA)
    args = [
        "http_app:app", "-b", "127.0.0.1:0", "-w", "2", *dict(WORKER_CLASSES)[request.param],
        "--limit-request-line", "1024", "--limit-request-fields", "30",
        "--limit-request-field-size", "2048", "--limit-request-body", str(BIG + 1024),
    ]
    proc = ServerProcess(args, env={"HTTP_APP_FILE": str(data_file)})
    with proc:
        yield Server(request.param, proc)


def test_get(server: Server) -> None:
    status, headers, body = server.get("/")
    assert (status, body) == (200, b"hello")
    assert headers["server"] == "corral" and headers["date"].endswith("GMT")


def test_keep_alive_or_close(server: Server) -> None:
    with server.proc.connect() as s:
        s.sendall(b"GET /pid HTTP/1.1\r\n" + HOST + b"\r\n")
        status, headers, first = read_response(s)
        assert status == 200
        if headers.get("connection") == "close":
            assert server.name == "sync"
            assert recv_all(s) == b""
            return
        s.sendall(b"GET /pid HTTP/1.1\r\n" + HOST + b"\r\n")
        status, headers, second = read_response(s)
        assert status == 200 and first == second  # the same worker kept the connection


def test_http10_request(server: Server) -> None:
    data = server.proc.request(b"GET /stream?size=5&count=3 HTTP/1.0\r\n\r\n")
    status, headers, body, _ = parse_response(data)
    assert data.startswith(b"HTTP/1.0 200") and body == b"s" * 15
    assert "transfer-encoding" not in headers


def test_pipelining(server: Server) -> None:
    with server.proc.connect() as s:
        s.sendall(b"GET /big?size=3 HTTP/1.1\r\n" + HOST + b"\r\n"
                  b"POST /echo HTTP/1.1\r\n" + HOST + b"Content-Length: 4\r\n\r\nping"
                  b"GET /big?size=5 HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
        data = recv_all(s)
    status, headers, body, rest = parse_response(data)
    assert (status, body) == (200, b"bbb")
    if headers.get("connection") == "close":
        assert rest == b""
        return
    status, _, body, rest = parse_response(rest)
    assert (status, body) == (200, b"ping")
    status, _, body, rest = parse_response(rest)
    assert (status, body, rest) == (200, b"bbbbb", b"")


def test_pipelining_in_separate_packets_keeps_order(server: Server) -> None:
    # Each request in its own send, without waiting: a server may read several of
    # them in one pass and answer the bodiless ones by a faster route than the
    # ones with a body; the answers must still come back in request order.
    if server.name == "sync":
        pytest.skip("the sync worker answers one request per connection")
    rounds = 40
    with server.proc.connect() as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(rounds):
            s.sendall(b"GET /big?size=%d HTTP/1.1\r\n" % (i % 7 + 1) + HOST + b"\r\n")
            s.sendall(b"POST /echo HTTP/1.1\r\n" + HOST + b"Content-Length: 3\r\n\r\n%03d" % i)
        s.sendall(b"GET /big?size=9 HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
        s.settimeout(20)
        data = recv_all(s)
    bodies = []
    while data:
        status, headers, body, data = parse_response(data)
        assert status == 200
        bodies.append(body)
        if headers.get("connection") == "close":
            break
    expected = [x for i in range(rounds) for x in (b"b" * (i % 7 + 1), b"%03d" % i)]
    expected.append(b"b" * 9)
    assert bodies == expected and data == b""


def test_request_then_half_close_is_answered(server: Server) -> None:
    for _ in range(20):
        with server.proc.connect() as s:
            s.sendall(b"GET /big?size=4 HTTP/1.1\r\n" + HOST + b"\r\n")
            s.shutdown(socket.SHUT_WR)
            s.settimeout(10)
            status, _, body, rest = parse_response(recv_all(s))
        assert (status, body, rest) == (200, b"bbbb", b"")


def test_chunked_upload(server: Server) -> None:
    pieces = [b"line one\n", b"line ", b"two\nthree"]
    with server.proc.connect() as s:
        s.sendall(b"POST /lines HTTP/1.1\r\n" + HOST +
                  b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for p in pieces:
            s.sendall(b"%x\r\n%b\r\n" % (len(p), p))
            time.sleep(0.01)
        s.sendall(b"0\r\n\r\n")
        status, _, body, _ = parse_response(recv_all(s))
    assert status == 200 and json.loads(body) == ["line one\n", "line two\n", "three"]


def test_chunked_download(server: Server) -> None:
    status, headers, body = server.get("/stream?size=1000&count=50")
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert body == b"s" * 50000


def test_expect_100_continue(server: Server) -> None:
    with server.proc.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\n" + HOST + b"Expect: 100-continue\r\n"
                  b"Content-Length: 5\r\nConnection: close\r\n\r\n")
        s.settimeout(10)
        interim = s.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        rest = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        s.sendall(b"hello")
        status, _, body, _ = parse_response(rest + recv_all(s))
    assert (status, body) == (200, b"hello")


def test_expect_100_continue_not_read(server: Server) -> None:
    """An app that never reads the body answers without 100 Continue (streaming
    workers); a worker that buffers whole requests asks for the body first."""
    with server.proc.connect() as s:
        s.sendall(b"POST /noread HTTP/1.1\r\n" + HOST + b"Expect: 100-continue\r\n"
                  b"Content-Length: 5\r\nConnection: close\r\n\r\n")
        s.settimeout(10)
        data = s.recv(65536)
        if data.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
            assert server.name != "sync"
            s.sendall(b"hello")
            data = data[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        data += recv_all(s)
    assert parse_response(data)[:3:2] == (200, b"did not read")


def test_head(server: Server) -> None:
    data = server.proc.request(b"HEAD /big?size=100 HTTP/1.1\r\n" + HOST +
                               b"Connection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"\r\n\r\n")
    assert b"Content-Length: 100\r\n" in data and b"bbb" not in data


def test_early_disconnect_closes_iterable(server: Server, tmp_path: Path) -> None:
    record = tmp_path / "closed.txt"
    with server.proc.connect() as s:
        s.sendall(f"GET /recorded?record={record} HTTP/1.1\r\n".encode() + HOST + b"\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not record.exists():
        time.sleep(0.05)
    assert record.read_text() == "closed\n"
    assert server.get("/")[0] == 200


@pytest.mark.timeout(120)
def test_large_bodies(server: Server) -> None:
    payload = os.urandom(1024) * (BIG // 1024)
    status, _, body = server.request(b"POST /digest HTTP/1.1\r\n" + HOST +
                                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % BIG +
                                     payload, timeout=60)
    assert body == f"{BIG} {hashlib.sha256(payload).hexdigest()}".encode()
    status, headers, body = server.get(f"/big?size={BIG}")
    assert status == 200 and len(body) == BIG == int(headers["content-length"])
    status, headers, body = server.get(f"/stream?size={1024 * 1024}&count=20")
    assert status == 200 and len(body) == BIG


def test_file_wrapper(server: Server) -> None:
    status, headers, body = server.get("/file")
    assert status == 200 and headers["content-length"] == str(len(FILE_DATA))
    assert body == FILE_DATA


def test_environ_over_the_wire(server: Server) -> None:
    status, _, body = server.get("/environ/caf%C3%A9?q=1", b"X-Forwarded-Proto: https\r\n")
    env = json.loads(body)
    assert env["PATH_INFO"] == "/environ/caf\xc3\xa9" and env["QUERY_STRING"] == "q=1"
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["wsgi.url_scheme"] == "https"
    assert env["RAW_URI"] == "/environ/caf%C3%A9?q=1" and env["SERVER_PROTOCOL"] == "HTTP/1.1"


def test_app_error_is_500_with_logged_traceback(server: Server) -> None:
    status, headers, body = server.get("/error")
    assert status == 500 and b"on purpose" not in body and b"Traceback" not in body
    server.proc.wait_for("RuntimeError: the app failed on purpose")


def _req(line: bytes, headers: bytes = HOST, body: bytes = b"") -> bytes:
    return line + b"\r\n" + headers + b"\r\n" + body


BAD = [
    ("malformed", _req(b"GET / HTTP/1.1", b"Bad Header\r\n"), 400),
    ("smuggling", _req(b"POST / HTTP/1.1", HOST + b"Content-Length: 3\r\n"
                       b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400),
    ("missing-host", _req(b"GET / HTTP/1.1", b""), 400),
    ("bad-chunk", _req(b"POST /echo HTTP/1.1", HOST + b"Transfer-Encoding: chunked\r\n",
                       b"zz\r\n"), 400),
    ("line-too-long", _req(b"GET /" + b"a" * 2000 + b" HTTP/1.1"), 414),
    ("too-many-fields", _req(b"GET / HTTP/1.1", HOST + b"X-A: b\r\n" * 40), 431),
    ("field-too-large", _req(b"GET / HTTP/1.1", HOST + b"X-A: " + b"b" * 3000 + b"\r\n"), 431),
    ("body-too-large", _req(b"POST /echo HTTP/1.1", HOST + b"Content-Length: %d\r\n" % (BIG * 2)),
     413),
    ("unknown-coding", _req(b"POST / HTTP/1.1", HOST + b"Transfer-Encoding: foo, chunked\r\n",
                            b"0\r\n\r\n"), 501),
    ("version", _req(b"GET / HTTP/2.0"), 505),
]


@pytest.mark.parametrize("raw, status", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_requests_get_status_and_close(server: Server, raw: bytes, status: int) -> None:
    data = server.proc.request(raw)  # returns only once the server closed the connection
    got, headers, body, rest = parse_response(data)
    assert got == status and headers["connection"] == "close" and rest == b""
    assert b"Traceback" not in data


def test_bad_chunked_body_read_by_app(server: Server) -> None:
    raw = _req(b"POST /echo HTTP/1.1", HOST + b"Transfer-Encoding: chunked\r\n",
               b"5\r\nhello\r\nzz\r\n")
    status, _, _ = server.request(raw)
    assert status == 400


def test_worker_survives_bad_input(server: Server) -> None:
    before = server.proc.worker_pids()
    junk = [b"\x00\xff" * 100, b"GET\r\n\r\n", b"\r\n" * 50, os.urandom(4096),
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"]
    for raw in junk:
        with server.proc.connect(timeout=5) as s:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            recv_all(s)
    for _ in range(4):
        assert server.get("/")[0] == 200
    assert server.proc.worker_pids() == before


@pytest.fixture
def strict_timeouts(serve: object) -> ServerProcess:
    """A server with short timeouts and two listeners."""
    return serve("http_app:app", "--timeout", "2", "--header-timeout", "1",  # type: ignore[operator, no-any-return]
                 "-b", "127.0.0.1:0")


def test_every_listener_is_served(strict_timeouts: ServerProcess) -> None:
    ports = {int(p) for p in re.findall(r"Listening at: http://127\.0\.0\.1:(\d+)",
                                        strict_timeouts.output())}
    assert len(ports) == 2
    for port in ports:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
            assert parse_response(recv_all(s))[2] == b"hello"


def test_trickled_head_is_cut_at_header_timeout(strict_timeouts: ServerProcess) -> None:
    """--header-timeout 1 bounds the whole head, however steadily it trickles in."""
    raw = b"GET / HTTP/1.1\r\n" + HOST + b"X-Slow: " + b"x" * 100 + b"\r\n\r\n"
    started = time.monotonic()
    with strict_timeouts.connect() as s:
        s.settimeout(0.1)
        cut = None
        for byte in raw:
            try:
                s.sendall(bytes([byte]))
                s.recv(1024)  # returns only at EOF or with an error status: cut off
                cut = time.monotonic() - started
                break
            except TimeoutError:
                continue  # nothing from the server yet: keep trickling
            except OSError:
                cut = time.monotonic() - started
                break
    assert cut is not None and cut < 5, cut
    assert parse_response(strict_timeouts.request(
        b"GET / HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n"))[0] == 200


@pytest.mark.timeout(40)
def test_request_over_timeout_gets_503(strict_timeouts: ServerProcess) -> None:
    srv = strict_timeouts
    started = time.monotonic()
    status, _, body, _ = parse_response(srv.request(
        b"GET /sleep?s=30 HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n", timeout=20))
    assert status == 503 and time.monotonic() - started < 2 + 2 + 1
    srv.wait_for(r"(?s)WORKER TIMEOUT.*in app\n.*time.sleep")
    srv.wait_for("Booting worker with pid", timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if parse_response(srv.request(b"GET / HTTP/1.1\r\n" + HOST +
                                          b"Connection: close\r\n\r\n"))[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("no worker answered after the timeout")
