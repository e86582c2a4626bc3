"""One request path: every worker class writes exactly what the one request
cycle frames, for every way an application may answer.

The expected bytes come from :class:`corral.server.http.cycle.RequestCycle`
driven in this process (the harness); the real server, one process per worker
class, must put the same bytes on the wire (the ``Date`` value aside) and keep
or close the connection as the cycle decided.  A field the environ builder adds
reaches a plain GET on every worker class (``tests/apps/answers_app.py`` adds
one when it is imported)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.server.http.cycle import ConnInfo
from tests.apps import answers_app
from tests.server.harness import Harness
from tests.support import WORKER_CLASSES, ServerProcess, read_response

pytestmark = pytest.mark.timeout(300)

DATE = re.compile(rb"\r\nDate: [^\r\n]*")
REQUESTS = {
    "keep_alive": b"GET /%s?b=c HTTP/1.1\r\nHost: t\r\nUser-Agent: probe/1\r\n\r\n",
    "close": b"GET /%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "post": b"POST /%s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    "http10": b"GET /%s HTTP/1.0\r\n\r\n",
    "head": b"HEAD /%s HTTP/1.1\r\nHost: t\r\n\r\n",
}
NAMES = sorted(answers_app.BY_NAME)


@pytest.fixture(scope="module", params=[w for w, _ in WORKER_CLASSES])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess]]:
    args = ["answers_app:app", "-b", "127.0.0.1:0", "-w", "1",
            *dict(WORKER_CLASSES)[request.param]]
    with ServerProcess(args) as proc:
        yield request.param, proc


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(Path(tmp_path_factory.mktemp("one-path")))
    yield h
    h.close()


def expected(harness: Harness, raw: bytes, keepalive_allowed: bool) -> tuple[bytes, bool]:
    conn = ConnInfo(("127.0.0.1", 5555), ("127.0.0.1", 8000), "http", keepalive_allowed)
    out, ex = harness.run(answers_app.app, raw, conn)
    return DATE.sub(b"", out), ex.keep_alive


def read_answer(s: socket.socket, size: int, timeout: float = 10.0) -> bytes:
    """What the server sends, ``Date`` left out, until that is ``size`` bytes
    long (or more, or the server closes)."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(DATE.sub(b"", data)) < size and time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            piece = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not piece:
            break
        data += piece
    return DATE.sub(b"", data)


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_every_worker_writes_what_the_cycle_frames(server: tuple[str, ServerProcess],
                                                  harness: Harness, kind: str) -> None:
    worker, proc = server
    failures = []
    for name in NAMES:
        raw = REQUESTS[kind] % name.encode()
        want, keep = expected(harness, raw, worker != "sync")
        with proc.connect() as s:
            s.sendall(raw)
            got = read_answer(s, len(want))
            if got != want:
                failures.append(f"{name}: {got!r} != {want!r}")
                continue
            if keep:  # the connection carries the next request
                s.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                status, _, body = read_response(s)
                if (status, body) != (200, b"hello"):
                    failures.append(f"{name}: next request got {status} {body!r}")
            else:
                s.settimeout(10)
                try:
                    rest = s.recv(1)
                except ConnectionResetError:
                    rest = b""
                if rest:
                    failures.append(f"{name}: open after a closing answer")
    assert not failures, "\n".join(failures)


def test_a_field_added_to_the_environ_builder_reaches_a_plain_get(
        server: tuple[str, ServerProcess]) -> None:
    worker, proc = server
    with proc.connect() as s:
        # the first request on a connection and those after it (sync: no keep-alive)
        for _ in range(1 if worker == "sync" else 3):
            s.sendall(b"GET /probe HTTP/1.1\r\nHost: t\r\n\r\n")
            status, _, body = read_response(s)
            assert (status, body) == (200, b"added")
    for raw in (b"GET /probe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                b"GET /probe HTTP/1.0\r\n\r\n"):
        status, _, body = read_response_once(proc, raw)
        assert (status, body) == (200, b"added")


def read_response_once(proc: ServerProcess, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with proc.connect() as s:
        s.sendall(raw)
        return read_response(s)
