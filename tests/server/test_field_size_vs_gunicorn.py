"""``--limit-request-field-size`` counts as Gunicorn counts it: each header line as
sent (name, colon, whitespace, value) plus its CRLF.  Checked against a real
Gunicorn process with the same setting, line lengths on both sides of the limit."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.support import ServerProcess, parse_response

pytest.importorskip("gunicorn")
pytestmark = pytest.mark.timeout(120)

LIMITS = [8190, 200, 0]  # Gunicorn's default, a small one, and 0 (the default again)


def start(command: list[str], limit: int, extra: list[str]) -> ServerProcess:
    # Gunicorn's spelling of the flag, which corral accepts too
    proc = ServerProcess(["output_app:app", "-b", "127.0.0.1:0", "-w", "1",
                          "--limit-request-field_size", str(limit), *extra], command=command)
    try:
        return proc.start()
    except BaseException:
        proc.stop()
        raise


@pytest.fixture(scope="module", params=LIMITS)
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[int, ServerProcess, ServerProcess]]:
    limit = request.param
    ours = start([sys.executable, "-m", "corral"], limit, [])
    try:
        theirs = start([sys.executable, "-m", "gunicorn"], limit, ["-k", "sync"])
        try:
            yield limit, ours, theirs
        finally:
            theirs.stop()
    finally:
        ours.stop()


def status(proc: ServerProcess, line: bytes) -> int:
    raw = b"GET /environ HTTP/1.1\r\nHost: t\r\n" + line + b"\r\nConnection: close\r\n\r\n"
    return parse_response(proc.request(raw))[0]


@pytest.mark.parametrize("shape", ["plain", "spaces", "trailing"])
@pytest.mark.parametrize("delta", [-3, -2, -1, 0, 1, 2])
def test_field_size_as_gunicorn(pair: tuple[int, ServerProcess, ServerProcess], shape: str,
                                delta: int) -> None:
    limit, ours, theirs = pair
    length = (limit or 8190) - 2 + delta  # the line without its CRLF
    prefix = {"plain": b"X-Pad: ", "spaces": b"X-Pad:      ", "trailing": b"X-Pad: "}[shape]
    suffix = b"   " if shape == "trailing" else b""
    line = prefix + b"a" * (length - len(prefix) - len(suffix)) + suffix
    assert len(line) == length
    got, want = status(ours, line), status(theirs, line)
    assert (got == 200) == (want == 200), (len(line), got, want)
    assert got in (200, 431) and want in (200, 431)
    assert (got == 200) == (delta <= 0)
