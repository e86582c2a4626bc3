"""Log config files and dicts, syslog and --logger-class, on a real server."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.server.config import Settings
from corral.server.logconfig import LogConfigError, logger_class, parse_syslog_address
from corral.server.logging import Logger
from corral.server.statsd import Statsd
from tests.support import APPS, ROOT, ServerProcess

GET = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
GET_ERROR = b"GET /error HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
ACCESS_LINE = r'127\.0\.0\.1 - - \[[^]]+\] "GET / HTTP/1\.1" 200 5 "-" "-"'


class TaggedLogger(Logger):
    """A custom logger class: every error log line starts with ``[tagged]``."""

    installed = False

    @classmethod
    def install(cls) -> None:
        cls.installed = True

    def log(self, level: int, msg: str, *args: Any, **kw: Any) -> None:
        super().log(level, "[tagged] " + msg, *args, **kw)

    def info(self, msg: str, *args: Any, **kw: Any) -> None:
        self.log(logging.INFO, msg, *args, **kw)


def _start(*args: str, cwd: Path | None = None) -> ServerProcess:
    return ServerProcess(["http_app:app", "-b", "127.0.0.1:0", "-k", "sync", "-w", "1",
                          *args], cwd=cwd).start()


def _wait_for_text(path: Path, pattern: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        if re.search(pattern, text, re.M):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} not in {path}:\n{text}")
        time.sleep(0.05)


INI = """\
[loggers]
keys=root,error,access
[handlers]
keys=file,stderr
[formatters]
keys=plain
[logger_root]
level=WARNING
handlers=
[logger_error]
level=INFO
handlers=file,stderr
propagate=0
qualname={name}.error
[logger_access]
level=INFO
handlers=file
propagate=0
qualname={name}.access
[handler_file]
class=FileHandler
formatter=plain
args=('%(here)s/out.log', 'a')
[handler_stderr]
class=StreamHandler
formatter=plain
args=(sys.stderr,)
[formatter_plain]
format=%(name)s|%(levelname)s|%(message)s
"""


def _dict_config(out: Path) -> dict[str, Any]:
    return {
        "root": {"level": "WARNING", "handlers": []},
        "formatters": {"plain": {"format": "%(name)s|%(levelname)s|%(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain",
                              "filename": str(out)},
                     "stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "loggers": {"corral.error": {"level": "INFO", "handlers": ["file", "stderr"],
                                     "propagate": False},
                    "corral.access": {"level": "INFO", "handlers": ["file"],
                                      "propagate": False}},
    }


def _check_routed(srv: ServerProcess, out: Path) -> None:
    _wait_for_text(out, r"^corral\.error\|INFO\|Listening at: http://127\.0\.0\.1:\d+")
    assert srv.request(GET).startswith(b"HTTP/1.1 200")
    _wait_for_text(out, rf"^corral\.access\|INFO\|{ACCESS_LINE}$")
    assert "corral.error|INFO|Listening at" in srv.output()
    assert "[INFO] Listening at" not in srv.output()  # the config replaced the default


@pytest.mark.parametrize("name", ["corral", "gunicorn"])
def test_ini_log_config(tmp_path: Path, name: str) -> None:
    conf = tmp_path / "logging.ini"
    conf.write_text(INI.format(name=name))
    with _start("--log-config", str(conf), "--access-logfile", str(tmp_path / "a.log"))\
            as srv:
        _check_routed(srv, tmp_path / "out.log")
    taken_over = tmp_path / "a.log"  # the config took the access log over
    assert not taken_over.exists() or not taken_over.read_text()


def test_logconfig_dict_in_config_file(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    conf = tmp_path / "corral.conf.py"
    conf.write_text(f"logconfig_dict = {_dict_config(out)!r}\n")
    with _start("-c", str(conf)) as srv:
        _check_routed(srv, out)


def test_log_config_json(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    conf = tmp_path / "logging.json"
    conf.write_text(json.dumps(_dict_config(out)))
    with _start("--log-config-json", str(conf)) as srv:
        _check_routed(srv, out)


def test_dict_defaults_send_errors_to_stderr_and_access_to_stdout(tmp_path: Path) -> None:
    conf = tmp_path / "logging.json"
    conf.write_text(json.dumps({"root": {"level": "CRITICAL", "handlers": []}}))
    with _start("--log-config-json", str(conf)) as srv:
        srv.request(GET)
        srv.wait_for(r"\[\d+\] \[INFO\] Listening at")
        srv.wait_for(rf"\[\d+\] \[INFO\] {ACCESS_LINE}")


@pytest.fixture
def syslog_server() -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock, f"udp://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def _receive_until(sock: socket.socket, pattern: bytes, seen: list[bytes],
                   timeout: float = 10.0) -> re.Match[bytes]:
    deadline = time.monotonic() + timeout
    while True:
        for datagram in seen:
            m = re.fullmatch(pattern, datagram, re.S)
            if m:
                return m
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} not received; got {seen}")
        try:
            seen.append(sock.recv(65536))
        except TimeoutError:
            pass


def test_syslog_error_and_access_lines(syslog_server: tuple[socket.socket, str]) -> None:
    sock, addr = syslog_server
    seen: list[bytes] = []
    with _start("--log-syslog", "--log-syslog-to", addr, "--log-syslog-prefix", "web",
                "--log-syslog-facility", "local0") as srv:
        m = _receive_until(sock, rb"<134>corral\.web\.error: \[(\d+)\] Listening at: "
                           rb"http://127\.0\.0\.1:\d+ \(\d+\)\x00", seen)
        assert int(m.group(1)) == srv.pid
        srv.request(GET)
        m = _receive_until(sock, rb"<134>corral\.web\.access: \[(\d+)\] "
                           + ACCESS_LINE.encode() + rb"\x00", seen)
        assert int(m.group(1)) in srv.worker_pids()
        srv.request(GET_ERROR)
        _receive_until(sock, rb"<131>corral\.web\.error: \[\d+\] Error handling request "
                       rb"/error\n.*RuntimeError: the app failed on purpose\x00", seen)
        assert "Listening at" in srv.output()  # the error log itself is still there


def test_syslog_default_prefix_without_access(syslog_server: tuple[socket.socket, str]
                                              ) -> None:
    sock, addr = syslog_server
    seen: list[bytes] = []
    with _start("--log-syslog", "--log-syslog-to", addr,
                "--disable-redirect-access-to-syslog") as srv:
        _receive_until(sock, rb"<14>corral\.http_app\.app\.error: \[\d+\] Listening at: "
                       rb".*\x00", seen)
        srv.request(GET)
        srv.request(GET_ERROR)  # its error line comes after any access line of GET
        _receive_until(sock, rb"<11>corral\.http_app\.app\.error: .*Error handling.*", seen)
        assert not [d for d in seen if b".access" in d or b'"GET / ' in d]


def test_custom_logger_class() -> None:
    with _start("--logger-class", f"{__name__}.TaggedLogger") as srv:
        srv.wait_for(r"\[INFO\] \[tagged\] Listening at: ")


def test_logger_class_names() -> None:
    assert logger_class(Settings()) is Logger
    assert logger_class(Settings(logger_class="simple")) is Logger
    assert logger_class(Settings(logger_class="simple", statsd_host="localhost:9")) is Statsd
    assert logger_class(Settings(statsd_host="localhost:9")) is Statsd
    custom = Settings(logger_class=f"{__name__}:TaggedLogger", statsd_host="localhost:9")
    assert logger_class(custom) is TaggedLogger and TaggedLogger.installed


def test_syslog_addresses() -> None:
    assert parse_syslog_address("udp://Example.org:5514") == (socket.SOCK_DGRAM,
                                                              ("example.org", 5514))
    assert parse_syslog_address("tcp://[::1]") == (socket.SOCK_STREAM, ("::1", 514))
    assert parse_syslog_address("udp://") == (socket.SOCK_DGRAM, ("localhost", 514))
    assert parse_syslog_address("unix:///dev/log") == (None, "/dev/log")
    assert parse_syslog_address("unix:///dev/log#dgram") == (socket.SOCK_DGRAM, "/dev/log")
    for bad in ("ftp://host", "/dev/log", "udp://host:port", "unix://"):
        with pytest.raises(LogConfigError, match=r"^--log-syslog-to "):
            parse_syslog_address(bad)


BAD_INI = "[loggers]\nkeys=root\n[logger_root\nlevel=INFO\n"


@pytest.mark.parametrize(("files", "args", "message"), [
    ({}, ["--logger-class", "no_such_module.Logger"],
     r"--logger-class 'no_such_module\.Logger': cannot import 'no_such_module': "),
    ({}, ["--logger-class", "logging.NoSuchLogger"],
     r"--logger-class 'logging\.NoSuchLogger': 'logging' has no class 'NoSuchLogger'"),
    ({}, ["--logger-class", "nodots"], r"--logger-class 'nodots': expected module\.Class"),
    ({}, ["--log-config", "missing.ini"], r"--log-config 'missing\.ini': no such file"),
    ({"bad.ini": BAD_INI}, ["--log-config", "bad.ini"], r"--log-config 'bad\.ini': "),
    ({"empty.ini": "[x]\n"}, ["--log-config", "empty.ini"],
     r"--log-config 'empty\.ini': missing section or option 'formatters'"),
    ({"bad.json": "{nope"}, ["--log-config-json", "bad.json"],
     r"--log-config-json 'bad\.json': not valid JSON: "),
    ({"list.json": "[]"}, ["--log-config-json", "list.json"],
     r"--log-config-json 'list\.json': expected a JSON object"),
    ({"c.py": "logconfig_dict = {'handlers': {'h': {'class': 'nowhere.Handler'}}}\n"},
     ["-c", "c.py"], r"logconfig_dict: Unable to configure handler 'h'"),
    ({}, ["--log-syslog", "--log-syslog-facility", "bogus"],
     r"--log-syslog-facility: unknown facility 'bogus'"),
    ({}, ["--log-syslog", "--log-syslog-to", "ftp://x"], r"--log-syslog-to 'ftp://x': "),
    ({}, ["--statsd-host", "host:port"],
     r"--statsd-host 'host:port': 'port' is not a valid port number"),
], ids=["module", "class", "nodots", "missing-ini", "bad-ini", "empty-ini", "bad-json",
        "list-json", "bad-dict", "facility", "syslog-to", "statsd-host"])
def test_bad_values_are_one_line(tmp_path: Path, files: dict[str, str], args: list[str],
                                 message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "CORRAL_CMD_ARGS")}
    env["PYTHONPATH"] = os.pathsep.join([str(APPS), str(ROOT), str(ROOT / "src")])
    proc = subprocess.run(
        [sys.executable, "-m", "corral", "http_app:app", "-b", "127.0.0.1:0", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and re.match(f"corral: error: {message}", lines[0]), lines


def test_bad_config_on_reload_keeps_logging(tmp_path: Path) -> None:
    log = Logger(Settings(errorlog=str(tmp_path / "error.log")))
    try:
        log.setup(Settings(errorlog=str(tmp_path / "error.log"),
                           logconfig=str(tmp_path / "missing.ini")))
        log.info("still here")
        text = (tmp_path / "error.log").read_text()
        assert "Cannot apply the logging settings, keeping the defaults: --log-config" in text
        assert "still here" in text
    finally:
        log.close()
