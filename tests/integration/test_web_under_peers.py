"""corral.web runs under other WSGI servers: the same app answers the same way
under corral, Gunicorn and waitress (real processes, raw HTTP)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ServerProcess, parse_response

TESTS = Path(__file__).resolve().parent.parent
SPEC = "diffapp_corral:create_app()"
WAITRESS_RE = re.compile(r"Serving on http://(127\.0\.0\.1):(\d+)")

SERVERS = {
    "corral": ([sys.executable, "-m", "corral"], [SPEC, "-b", "127.0.0.1:0"], None),
    "gunicorn": ([sys.executable, "-m", "gunicorn"], [SPEC, "-b", "127.0.0.1:0"], None),
    "waitress": (
        [sys.executable, "-m", "waitress"],
        ["--listen=127.0.0.1:0", "--call", "diffapp_corral:create_app"],
        WAITRESS_RE,
    ),
}

REQUESTS = [
    ("GET", "/", b""),
    ("GET", "/user/42", b""),
    ("GET", "/nope", b""),
    ("POST", "/", b""),
    ("GET", "/bp/", b""),
]


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    command, args, listen_re = SERVERS[request.param]
    kw = {"listen_re": listen_re} if listen_re else {}
    srv = ServerProcess(args, command=command, cwd=TESTS / "web", **kw)  # type: ignore[arg-type]
    srv.env["PYTHONPATH"] = f"{TESTS / 'web'}:{srv.env['PYTHONPATH']}"
    srv.start()
    yield srv
    srv.stop()


def _ask(srv: ServerProcess, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    raw = (
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    status, _headers, data, _rest = parse_response(srv.request(raw))
    return status, data


@pytest.mark.timeout(60)
def test_same_answers_under_every_server(server: ServerProcess) -> None:
    from tests.web.diffapp_corral import create_app

    client = create_app().test_client()
    for method, path, body in REQUESTS:
        expected = client.open(path, method=method, data=body)
        status, data = _ask(server, method, path, body)
        assert status == expected.status_code, (method, path)
        assert data == expected.data, (method, path)
