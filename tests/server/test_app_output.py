"""What the server does with an application's response, over real sockets, for
every worker class: hop-by-hop header fields are dropped with a warning (as
Gunicorn drops them) rather than refused; 204 and 304 never carry
Content-Length; a 1xx status, which WSGI can only give as the final one, is an
application error (500)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.support import WORKER_CLASSES, ServerProcess, parse_response, read_response

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", params=[w for w, _ in WORKER_CLASSES])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess]]:
    args = ["output_app:app", "-b", "127.0.0.1:0", "-w", "1", *dict(WORKER_CLASSES)[request.param]]
    with ServerProcess(args) as proc:
        yield request.param, proc


def target(code: int, headers: list[str], body: str = "") -> str:
    query = "&".join(f"h={quote(h)}" for h in headers)
    return f"/status?code={code}&body={body}&{query}"


def get(proc: ServerProcess, path: str) -> tuple[int, dict[str, str], bytes]:
    raw = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
    status, headers, body, _ = parse_response(proc.request(raw))
    return status, headers, body


@pytest.mark.parametrize("field", [
    "Connection: keep-alive", "Connection: Upgrade", "Keep-Alive: timeout=5, max=100",
    "Transfer-Encoding: chunked", "Upgrade: websocket", "TE: trailers", "Trailer: X-Sum",
    "Proxy-Connection: keep-alive", "Proxy-Authenticate: Basic",
])
def test_hop_by_hop_fields_are_dropped_with_a_warning(server: tuple[str, ServerProcess],
                                                      field: str) -> None:
    _, proc = server
    name, _, value = field.partition(": ")
    status, headers, body = get(proc, target(200, [field, "X-Kept: yes"], "streamed"))
    assert (status, body) == (200, b"streamed")
    assert headers["x-kept"] == "yes"
    if name.lower() == "connection":
        assert headers["connection"] == "close"  # the server's own decision
    else:
        assert name.lower() not in headers
    proc.wait_for(rf"Dropped hop-by-hop response header\(s\).*{name}")


def test_connection_close_from_the_app_still_closes(server: tuple[str, ServerProcess]) -> None:
    _, proc = server
    with proc.connect() as s:
        s.sendall(f"GET {target(200, ['Connection: close'], 'bye')} HTTP/1.1\r\n"
                  "Host: t\r\n\r\n".encode())
        status, headers, body = read_response(s)
        assert (status, body, headers["connection"]) == (200, b"bye", "close")
        assert s.recv(1) == b""


@pytest.mark.parametrize("code", [204, 304])
def test_no_content_length_on_204_and_304(server: tuple[str, ServerProcess], code: int) -> None:
    worker, proc = server
    with proc.connect() as s:
        for _ in range(1 if worker == "sync" else 2):  # and the connection goes on
            s.sendall(f"GET {target(code, ['Content-Length: 5', 'ETag: x'], 'hello')} "
                      "HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            status, headers, body = read_response(s)
            assert status == code and body == b""
            assert "content-length" not in headers and "transfer-encoding" not in headers
            assert headers["etag"] == "x"


def test_head_keeps_the_content_length(server: tuple[str, ServerProcess]) -> None:
    _, proc = server
    raw = (f"HEAD {target(200, ['Content-Length: 5'], 'hello')} HTTP/1.1\r\nHost: t\r\n"
           "Connection: close\r\n\r\n").encode()
    data = proc.request(raw)
    assert b"Content-Length: 5\r\n" in data and data.endswith(b"\r\n\r\n")


@pytest.mark.parametrize("code", [100, 101, 103])
def test_final_1xx_status_is_a_500(server: tuple[str, ServerProcess], code: int) -> None:
    _, proc = server
    status, _, _ = get(proc, target(code, ["Upgrade: websocket"] if code == 101 else []))
    assert status == 500
