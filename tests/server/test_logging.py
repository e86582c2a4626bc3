"""Error log format and levels, access log atoms, reopening files, captured output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from corral.server.config import Settings
from corral.server.logging import AccessFormat, Logger
from tests.support import ROOT

ENVIRON = {
    "REMOTE_ADDR": "10.1.2.3",
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/p%20q?x=1",
    "PATH_INFO": "/p q",
    "QUERY_STRING": "x=1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_REFERER": "http://ref/",
    "HTTP_USER_AGENT": 'agent "quoted"',
    "HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0",  # alice:secret
    "HTTP_X_REQUEST_ID": "rid-7",
    "CONTENT_TYPE": "text/plain",
    "wsgi.custom": "envval",
}
MakeLogger = Callable[..., Logger]
HEADERS = [("Content-Type", "text/html"), ("X-Cache", "HIT")]


@pytest.fixture
def make_logger() -> Iterator[MakeLogger]:
    made: list[Logger] = []

    def make(**settings: object) -> Logger:
        log = Logger(Settings(**settings))
        made.append(log)
        return log

    yield make
    for log in made:
        log.close()


def render(fmt: str, sent: int = 1234, elapsed: float = 1.5) -> str:
    return AccessFormat(fmt).render(ENVIRON, "404 Not Found", HEADERS, sent, elapsed)


def test_error_log_format_and_level(tmp_path: Path, make_logger: MakeLogger) -> None:
    path = tmp_path / "error.log"
    log = make_logger(errorlog=str(path), loglevel="warning")
    log.info("hidden")
    log.warning("Listening at: %s (%d)", "http://127.0.0.1:1", 42)
    try:
        raise ValueError("kaput")
    except ValueError:
        log.exception("Error handling request")
    text = path.read_text()
    assert "hidden" not in text
    line = re.compile(
        r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[(\d+)\] \[WARNING\] "
        r"Listening at: http://127.0.0.1:1 \(42\)$", re.M)
    m = line.search(text)
    assert m and int(m.group(1)) == os.getpid()
    assert "[ERROR] Error handling request" in text and "ValueError: kaput" in text


def test_default_access_format() -> None:
    fmt = Settings().access_log_format
    line = render(fmt)
    assert re.fullmatch(
        r'10\.1\.2\.3 - alice \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
        r'"GET /p%20q\?x=1 HTTP/1\.1" 404 1234 "http://ref/" "agent \\"quoted\\""', line
    ), line


@pytest.mark.parametrize(
    ("atom", "value"),
    [
        ("h", "10.1.2.3"), ("l", "-"), ("u", "alice"), ("r", "GET /p%20q?x=1 HTTP/1.1"),
        ("m", "GET"), ("U", "/p q"), ("q", "x=1"), ("H", "HTTP/1.1"), ("s", "404"),
        ("B", "1234"), ("b", "1234"), ("f", "http://ref/"), ("T", "1"), ("D", "1500000"),
        ("M", "1500"), ("L", "1.500000"), ("p", "<PID>"),
        ("{x-request-id}i", "rid-7"), ("{X-Request-Id}i", "rid-7"),
        ("{content-type}i", "text/plain"), ("{x-missing}i", "-"),
        ("{x-cache}o", "HIT"), ("{Content-Type}o", "text/html"), ("{nope}o", "-"),
        ("{wsgi.custom}e", "envval"), ("{remote_addr}e", "10.1.2.3"), ("{absent}e", "-"),
        ("zz", "-"),
    ],
)
def test_atoms(atom: str, value: str) -> None:
    value = value.replace("PID", str(os.getpid()))
    assert render(f"[%({atom})s]") == f"[{value}]"


def test_user_needs_basic_auth() -> None:
    fmt = AccessFormat("%(u)s")
    for auth in ["Bearer abc", "Basic !!!", "Basic bm9jb2xvbg=="]:
        assert fmt.render({"HTTP_AUTHORIZATION": auth}, "200 OK", [], 0, 0.0) == "-"


def test_access_log_to_file(tmp_path: Path, make_logger: MakeLogger) -> None:
    path = tmp_path / "access.log"
    log = make_logger(accesslog=str(path), access_log_format="%(m)s %(U)s %(s)s %(b)s")
    log.access(ENVIRON, "200 OK", HEADERS, 5, 0.01)
    log.access(ENVIRON, "500 Internal Server Error", [], 0, 0.01)
    assert path.read_text().splitlines() == ["GET /p q 200 5", "GET /p q 500 0"]


def test_no_access_log_by_default(tmp_path: Path, make_logger: MakeLogger) -> None:
    log = make_logger(errorlog=str(tmp_path / "e.log"))
    assert not log.access_enabled
    log.access(ENVIRON, "200 OK", [], 0, 0.0)
    assert (tmp_path / "e.log").read_text() == ""


def test_bad_format_is_logged_not_raised(tmp_path: Path, make_logger: MakeLogger) -> None:
    err = tmp_path / "e.log"
    log = make_logger(errorlog=str(err), accesslog=str(tmp_path / "a.log"),
                      access_log_format="%(h)d")
    log.access(ENVIRON, "200 OK", [], 0, 0.0)
    assert "Failed to format the access log line" in err.read_text()


def test_reopen_files_after_rotation(tmp_path: Path, make_logger: MakeLogger) -> None:
    err, acc = tmp_path / "e.log", tmp_path / "a.log"
    log = make_logger(errorlog=str(err), accesslog=str(acc), access_log_format="%(m)s")
    log.info("before")
    log.access(ENVIRON, "200 OK", [], 0, 0.0)
    err.rename(tmp_path / "e.log.1")
    acc.rename(tmp_path / "a.log.1")
    log.reopen_files()
    log.info("after")
    log.access(ENVIRON, "200 OK", [], 0, 0.0)
    assert "before" in (tmp_path / "e.log.1").read_text()
    assert "after" in err.read_text() and "before" not in err.read_text()
    assert acc.read_text() == "GET\n"


def test_new_logger_replaces_handlers(tmp_path: Path, make_logger: MakeLogger) -> None:
    make_logger(errorlog=str(tmp_path / "1.log"))  # not closed: the next one takes over
    second = make_logger(errorlog=str(tmp_path / "2.log"))
    second.info("once")
    assert (tmp_path / "1.log").read_text() == ""
    assert (tmp_path / "2.log").read_text().count("once") == 1


CAPTURE = """
import os, sys
from corral.server.config import Settings
from corral.server.logging import Logger
log = Logger(Settings(errorlog=sys.argv[1], capture_output=True))
print("from print", flush=True)
os.write(2, b"from fd 2\\n")
log.info("from log")
os.rename(sys.argv[1], sys.argv[1] + ".1")
log.reopen_files()
print("after reopen", flush=True)
"""


def test_capture_output(tmp_path: Path) -> None:
    path = tmp_path / "e.log"
    result = subprocess.run(
        [sys.executable, "-c", CAPTURE, str(path)], capture_output=True, timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"" and result.stderr == b""
    old = (tmp_path / "e.log.1").read_text()
    assert "from print" in old and "from fd 2" in old and "from log" in old
    assert path.read_text() == "after reopen\n"


def test_access_log_to_stdout(make_logger: MakeLogger, capsys: pytest.CaptureFixture[str]) -> None:
    log = make_logger(accesslog="-", access_log_format="%(s)s %(B)s")
    log.access(ENVIRON, "201 Created", [], 3, 0.0)
    assert capsys.readouterr().out == "201 3\n"
