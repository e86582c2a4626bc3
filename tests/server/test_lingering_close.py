"""Lingering close and ``100 Continue``: an error answered while the client is
still sending reaches the client, on every worker class.

Real servers on 127.0.0.1; clients are Python's ``http.client`` (which sends the
whole body before it reads anything) and raw sockets.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support import WORKER_CLASSES, ServerProcess

LIMIT = 1000
BIG = 5 << 20  # 5 MB, far over the limit


@pytest.fixture(params=[args for _, args in WORKER_CLASSES], ids=[n for n, _ in WORKER_CLASSES],
                scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    srv = ServerProcess(["http_app:app", "-b", "127.0.0.1:0", "-w", "1",
                         "--limit-request-body", str(LIMIT), *request.param])
    with srv.start():
        yield srv


def _read_all(sock: socket.socket, timeout: float = 20.0) -> bytes:
    """Everything the server sends until it closes (a reset fails the test)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece


def test_http_client_upload_over_limit_gets_413(server: ServerProcess) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("POST", "/digest", body=b"a" * BIG)  # sent whole before reading
        resp = conn.getresponse()
        assert resp.status == 413
        assert resp.getheader("Connection") == "close"
        assert b"too large" in resp.read()
    finally:
        conn.close()


def test_raw_socket_upload_over_limit_gets_413(server: ServerProcess) -> None:
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % BIG)
        sent = 0
        piece = b"z" * 65536
        try:
            while sent < BIG:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the server may stop reading once it has lingered long enough
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 413 "), data[:200]
    assert b"\r\nConnection: close\r\n" in data


def test_chunked_upload_over_limit_gets_413(server: ServerProcess) -> None:
    """The size of a chunked body is known only as it arrives: the 413 comes in
    the middle of the upload, and the rest is read and discarded."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"c" * 65536)
        for _ in range(BIG // 65536):
            sock.sendall(chunk)
        sock.sendall(b"0\r\n\r\n")
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 413 "), data[:200]


def test_bad_request_while_body_still_arrives_gets_400(server: ServerProcess) -> None:
    """A malformed chunk in the middle of an upload: the 400 arrives although
    the client keeps sending."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"zz-not-hex\r\n")
        try:
            for _ in range(64):
                sock.sendall(b"y" * 65536)
        except OSError:
            pass
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]


def test_no_100_continue_for_a_body_over_the_limit(server: ServerProcess) -> None:
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"POST /digest HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % BIG)
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 413 "), data[:200]
    assert b"100 Continue" not in data


def test_100_continue_then_chunked_body_over_the_limit_gets_413(server: ServerProcess) -> None:
    """A chunked body may be acceptable, so ``100 Continue`` is sent; when the
    body then goes over the limit, the 413 still reaches the client."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"POST /digest HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        sock.settimeout(20)
        interim = b""
        while b"\r\n\r\n" not in interim:
            piece = sock.recv(4096)
            assert piece, interim
            interim += piece
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        rest = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        chunk = b"%x\r\n%s\r\n" % (65536, b"d" * 65536)
        try:
            for _ in range(BIG // 65536):
                sock.sendall(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        data = rest + _read_all(sock)
    assert data.startswith(b"HTTP/1.1 413 "), data[:200]


def test_100_continue_within_the_limit_is_served(server: ServerProcess) -> None:
    body = b"e" * (LIMIT // 2)
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        sock.settimeout(20)
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        sock.sendall(body)
        data = interim + _read_all(sock)
    assert b"HTTP/1.1 200 OK" in data and data.endswith(body)


def test_lingering_is_bounded_by_the_client_closing(server: ServerProcess) -> None:
    """Once the client has read the error and closed, the connection is gone at
    once (the worker answers the next client without waiting for the bounds)."""
    for _ in range(3):
        t0 = time.monotonic()
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        try:
            conn.request("POST", "/digest", body=b"f" * (LIMIT * 4))
            assert conn.getresponse().status == 413
        finally:
            conn.close()
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        try:
            conn.request("GET", "/")
            assert conn.getresponse().read() == b"hello"
        finally:
            conn.close()
        assert time.monotonic() - t0 < 5.0  # far below the 30 s bound
