"""--access-log-json, and escaping in the format-string access log: hostile user agents
and paths cannot break a line or a field."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.server.config import Settings
from corral.server.logging import Logger, escape
from tests.support import WORKER_CLASSES, ServerProcess, parse_response

HOSTILE_UA = 'evil\\" "x" \\\\ \t\x7f caf\xe9 {"json": 1} %(h)s'
ENVIRON = {
    "REMOTE_ADDR": "10.1.2.3",
    "REQUEST_METHOD": "GET",
    "RAW_URI": '/a%22b%5Cc%00d%0Ae?q="1"',
    "PATH_INFO": '/a"b\\c\x00d\ne',
    "QUERY_STRING": 'q="1"',
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_REFERER": "http://ref/\x1b[31m",
    "HTTP_USER_AGENT": HOSTILE_UA,
    "HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0",  # alice:secret
}


@pytest.fixture
def logger_for(tmp_path: Path) -> Iterator[object]:
    made: list[Logger] = []

    def make(**settings: object) -> tuple[Logger, Path]:
        path = tmp_path / f"access{len(made)}.log"
        log = Logger(Settings(accesslog=str(path), errorlog=str(tmp_path / "e.log"),
                              **settings))
        made.append(log)
        return log, path

    yield make
    for log in made:
        log.close()


def test_json_line_fields(logger_for) -> None:  # type: ignore[no-untyped-def]
    log, path = logger_for(access_log_json=True)
    log.access(ENVIRON, "404 Not Found", [("Content-Type", "text/html")], 1234, 0.0025)
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["remote_addr"] == "10.1.2.3" and entry["user"] == "alice"
    assert entry["request"] == 'GET /a%22b%5Cc%00d%0Ae?q="1" HTTP/1.1'
    assert entry["method"] == "GET" and entry["path"] == ENVIRON["PATH_INFO"]
    assert entry["query"] == 'q="1"' and entry["protocol"] == "HTTP/1.1"
    assert entry["status"] == 404 and entry["bytes"] == 1234
    assert entry["referer"] == ENVIRON["HTTP_REFERER"]
    assert entry["user_agent"] == HOSTILE_UA
    assert entry["duration_us"] == 2500
    assert isinstance(entry["pid"], int) and entry["time"][:4].isdigit()
    log.access({"REQUEST_METHOD": "GET"}, "200 OK", [], 0, 0.0)
    entry = json.loads(path.read_text().splitlines()[1])
    assert entry["user_agent"] is None and entry["referer"] is None and entry["user"] is None


def test_format_string_line_escaped(logger_for) -> None:  # type: ignore[no-untyped-def]
    log, path = logger_for(access_log_format='%(h)s "%(r)s" %(s)s "%(f)s" "%(a)s" %(U)s')
    log.access(ENVIRON, "200 OK", [], 5, 0.1)
    text = path.read_text()
    assert text.count("\n") == 1  # the newline in the path did not split the line
    line = text.rstrip("\n")
    assert "\x00" not in line and "\x1b" not in line and "\x7f" not in line
    # every quoted field is whole: split on unescaped quotes
    m = re.fullmatch(r'(\S+) "((?:[^"\\]|\\.)*)" (\d+) "((?:[^"\\]|\\.)*)" '
                     r'"((?:[^"\\]|\\.)*)" (.*)', line)
    assert m, line
    assert m.group(5) == escape(HOSTILE_UA)
    assert m.group(5) == ('evil\\\\\\" \\"x\\" \\\\\\\\ \\t\\x7f caf\xe9 {\\"json\\": 1} %(h)s')
    assert m.group(4) == "http://ref/\\x1b[31m"
    assert m.group(6) == '/a\\"b\\\\c\\x00d\\ne'


def test_escape_passes_ordinary_text() -> None:
    assert escape("Mozilla/5.0 (X11; Linux x86_64) caf\xe9") == (
        "Mozilla/5.0 (X11; Linux x86_64) caf\xe9")
    assert escape("\x85\x9f\xa0") == "\\x85\\x9f\xa0"


@pytest.mark.parametrize("worker", [w[0] for w in WORKER_CLASSES])
def test_json_lines_from_real_server(worker: str, tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    args = ["ops_app:app", "-b", "127.0.0.1:0", "-w", "1", *dict(WORKER_CLASSES)[worker],
            "--access-log-json", "--access-logfile", str(path)]
    hostile = [
        (b"/plain", b"curl/8"),
        (b"/a%22b%5Cc%00d%0A%0De%7F", b'ua \\" quote'),
        (b"/caf%C3%A9/%FF%FE?x=%22&y=\\", b"ua\twith tab \xe9\xff"),
        (b'/q"uote\\back', b'{"json": "inject", "status": 999}'),
    ]
    sent = 0
    with ServerProcess(args) as proc:
        for target, ua in hostile:
            data = proc.request(b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nUser-Agent: " + ua
                                + b"\r\nConnection: close\r\n\r\n")
            status, _, _, _ = parse_response(data)
            sent += status != 400  # what the parser refuses is answered before any app
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().count("\n") >= sent:
                break
            time.sleep(0.05)
    lines = path.read_text().splitlines()
    assert len(lines) == sent >= 2
    entries = [json.loads(line) for line in lines]
    assert entries[0]["path"] == "/plain" and entries[0]["user_agent"] == "curl/8"
    for entry in entries:
        assert entry["status"] == 200 and entry["duration_us"] >= 0
        assert set(entry) >= {"time", "remote_addr", "request", "method", "path", "status",
                              "bytes", "referer", "user_agent", "duration_us"}
    by_agent = {e["user_agent"]: e for e in entries}
    if 'ua \\" quote' in by_agent:
        assert by_agent['ua \\" quote']["path"] == '/a"b\\c\x00d\n\re\x7f'
