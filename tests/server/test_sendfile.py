"""``os.sendfile`` on the event-driven worker classes: ``asyncio`` (inline and
``--threads 4``, on uvloop and on plain asyncio) and ``gevent`` send
``wsgi.file_wrapper`` responses and ``--static-map`` files with it on plain
connections, and keep reading and writing under TLS and with ``--no-sendfile``.

Real servers, real clients: a file of several MiB arrives intact (hash
compared), a Range answers its slice, the connection carries the next request,
and a client that stops reading costs only its own connection (closed after
``--send-timeout``).  That sendfile was used is read from the worker's debug
log, which names every file sent with it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.test_slow_clients import drain
from tests.server.test_tls import Certs
from tests.support import ServerProcess

APP = "tests.server.test_sendfile:app"
SIZE = 8 << 20  # several MiB: more than the socket buffers hold
SEND_TIMEOUT = 2.0
SENT = "of a file with sendfile"  # the debug line of each file sent with it

KINDS: list[tuple[str, list[str]]] = [
    ("asyncio-uvloop", ["-k", "asyncio", "--loop", "uvloop"]),
    ("asyncio-plain", ["-k", "asyncio", "--loop", "asyncio"]),
    ("asyncio-t4-uvloop", ["-k", "asyncio", "--threads", "4", "--loop", "uvloop"]),
    ("asyncio-t4-plain", ["-k", "asyncio", "--threads", "4", "--loop", "asyncio"]),
    ("gevent", ["-k", "gevent"]),
]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(os.environ["DATA_FILE"], "rb"))  # type: ignore[no-any-return]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    root = tmp_path_factory.mktemp("sendfile")
    data = os.urandom(SIZE)
    (root / "big.bin").write_bytes(data)
    return root, data


def serve(kind: str, root: Path, *extra: str) -> ServerProcess:
    args = [APP, "-b", "127.0.0.1:0", "-w", "1", *dict(KINDS)[kind], "--log-level", "debug",
            "--send-timeout", str(SEND_TIMEOUT), "--static-map", f"/static={root}", *extra]
    return ServerProcess(args, env={"DATA_FILE": str(root / "big.bin")}).start()


@pytest.fixture(scope="module", params=[k for k, _ in KINDS])
def server(request: pytest.FixtureRequest, files: tuple[Path, bytes]
           ) -> Iterator[tuple[str, ServerProcess]]:
    srv = serve(request.param, files[0])
    try:
        yield request.param, srv
    finally:
        srv.stop()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], bytes]:
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


def sent_lines(srv: ServerProcess, at_least: int, wait: float = 10.0) -> int:
    """How many files the log says went out with sendfile (waiting a little for
    the log to catch up, until ``at_least`` are seen)."""
    deadline = time.monotonic() + wait
    while True:
        n = srv.output().count(SENT)
        if n >= at_least or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


def test_large_files_ranges_and_keep_alive(server: tuple[str, ServerProcess],
                                           files: tuple[Path, bytes]) -> None:
    kind, srv = server
    data = files[1]
    before = srv.output().count(SENT)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.auto_open = 0  # a closed connection fails the next request: keep-alive held
    conn.connect()
    try:
        status, headers, body = get(conn, "/file")
        assert status == 200 and int(headers["Content-Length"]) == SIZE
        assert sha(body) == sha(data)
        status, headers, body = get(conn, "/static/big.bin")
        assert status == 200 and sha(body) == sha(data)
        status, headers, body = get(conn, "/static/big.bin",
                                    {"Range": "bytes=1000-3000999"})
        assert status == 206, headers
        assert headers["Content-Range"] == f"bytes 1000-3000999/{SIZE}"
        assert sha(body) == sha(data[1000:3001000])
        status, _, body = get(conn, "/small")
        assert (status, body) == (200, b"ok")
    finally:
        conn.close()
    assert sent_lines(srv, before + 3) >= before + 3, srv.output()[-3000:]


def test_a_stalled_reader_costs_only_its_connection(server: tuple[str, ServerProcess],
                                                    files: tuple[Path, bytes]) -> None:
    """A client that asks for the big file and reads nothing: the others are
    served meanwhile, and --send-timeout closes that connection (only it)."""
    kind, srv = server
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.settimeout(10)
    try:
        stalled.connect(("127.0.0.1", srv.port))
        stalled.sendall(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.5)  # the server is now blocked on this client's full window
        for _ in range(3):
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            try:
                status, _, body = get(conn, "/small")
                assert (status, body) == (200, b"ok")
                status, _, body = get(conn, "/static/big.bin")
                assert status == 200 and sha(body) == sha(files[1])
            finally:
                conn.close()
        time.sleep(SEND_TIMEOUT + 3)  # past --send-timeout (checked by the tick)
        got, closed = drain(stalled, 20)
        assert closed, f"{kind}: the stalled reader's connection was left open"
        assert got < SIZE, f"{kind}: the stalled reader got the whole file"
    finally:
        stalled.close()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        assert get(conn, "/small")[2] == b"ok"
    finally:
        conn.close()


@pytest.mark.parametrize("kind", [k for k, _ in KINDS])
@pytest.mark.parametrize("how", ["--no-sendfile", "SENDFILE=0", "tls"])
def test_read_and_write_without_sendfile(kind: str, how: str, files: tuple[Path, bytes],
                                         tmp_path: Path) -> None:
    """``--no-sendfile``/``SENDFILE=0`` and TLS connections: the file is read and
    written, arrives intact, and no file is logged as sent with sendfile."""
    root, data = files
    extra: list[str] = []
    ctx: ssl.SSLContext | None = None
    if how == "--no-sendfile":
        extra = ["--no-sendfile"]
    elif how == "tls":
        certs = Certs(tmp_path)
        extra = ["--certfile", str(certs.certfile), "--keyfile", str(certs.keyfile)]
        ctx = certs.client_context()
    args = [APP, "-b", "127.0.0.1:0", "-w", "1", *dict(KINDS)[kind], "--log-level", "debug",
            "--static-map", f"/static={root}", *extra]
    env = {"DATA_FILE": str(root / "big.bin")}
    if how == "SENDFILE=0":
        env["SENDFILE"] = "0"
    srv = ServerProcess(args, env=env).start()
    try:
        conn: http.client.HTTPConnection
        if ctx is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=30, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        try:
            for path in ("/file", "/static/big.bin"):
                status, _, body = get(conn, path)
                assert status == 200 and sha(body) == sha(data)
            status, _, body = get(conn, "/small")
            assert (status, body) == (200, b"ok")
        finally:
            conn.close()
        time.sleep(0.3)  # the log catches up
        log = srv.output()
    finally:
        srv.stop()
    assert "Booting worker" in log and SENT not in log


def read_response(f: Any) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length from a socket's file."""
    status = int(f.readline().split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, f.read(int(headers["content-length"]))


def test_pipelined_requests_stay_in_order(server: tuple[str, ServerProcess],
                                          files: tuple[Path, bytes]) -> None:
    """Requests sent together: a small answer, the file, a range and a small answer
    again come back whole and in order (nothing written while sendfile runs)."""
    kind, srv = server
    data = files[1]
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(b"GET /small HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /static/big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=-5000\r\n\r\n"
                  b"GET /small HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        f = s.makefile("rb")
        assert read_response(f)[::2] == (200, b"ok")
        status, _, body = read_response(f)
        assert status == 200 and sha(body) == sha(data)
        status, _, body = read_response(f)
        assert status == 206 and body == data[-5000:]
        assert read_response(f)[::2] == (200, b"ok")
        assert f.read() == b""
