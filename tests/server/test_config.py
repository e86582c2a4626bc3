"""The settings table: parsing, precedence, validation, config files, reference."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from corral.server import hooks
from corral.server.config import (
    BY_NAME,
    SETTINGS,
    ConfigError,
    Settings,
    UsageError,
    build_parser,
    markdown_reference,
    print_config,
)
from tests.support import ROOT

CONTRACT_DEFAULTS = {
    "bind": ["127.0.0.1:8000"],
    "workers": 1,
    "worker_class": "asyncio",
    "threads": 1,
    "worker_connections": 1000,
    "loop": "auto",
    "timeout": 30,
    "graceful_timeout": 30,
    "keepalive": 2,
    "header_timeout": 10.0,
    "body_timeout": 30.0,
    "max_requests": 0,
    "max_requests_jitter": 0,
    "backlog": 2048,
    "reuse_port": False,
    "preload_app": False,
    "pythonpath": None,
    "raw_env": [],
    "pidfile": None,
    "proc_name": None,
    "config": "./corral.conf.py",
    "root_path": "",
    "accesslog": None,
    "access_log_format": '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
    "errorlog": "-",
    "loglevel": "info",
    "capture_output": False,
    "forwarded_allow_ips": ["127.0.0.1", "::1"],
    "secure_scheme_headers": {
        "X-FORWARDED-PROTOCOL": "ssl",
        "X-FORWARDED-PROTO": "https",
        "X-FORWARDED-SSL": "on",
    },
    "limit_request_line": 4094,
    "limit_request_fields": 100,
    "limit_request_field_size": 8190,
    "limit_request_body": 0,
    "body_spool_size": 1048576,
    "proxy_protocol": False,
    "proxy_allow_ips": ["127.0.0.1", "::1"],
    "certfile": None,
    "keyfile": None,
    "ca_certs": None,
    "cert_reqs": 0,
    "ciphers": None,
    "do_handshake_on_connect": False,
    "check_config": False,
    "print_config": False,
    "app_uri": None,
}


def resolve(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> Settings:
    return Settings.from_argv(list(argv), env or {}, cwd=str(tmp_path))


def test_contract_defaults(tmp_path: Path) -> None:
    s = resolve(tmp_path)
    for name, value in CONTRACT_DEFAULTS.items():
        assert getattr(s, name) == value, name
    assert s.chdir == str(tmp_path)
    for name, fn in hooks.DEFAULT_HOOKS.items():
        assert getattr(s, name) is fn


def test_table_is_data() -> None:
    assert len(BY_NAME) == len(SETTINGS)
    flags = [f for s in SETTINGS for f in s.flags]
    assert len(flags) == len(set(flags)), "a flag is used twice"


@pytest.mark.parametrize(
    ("argv", "name", "value"),
    [
        (["-w", "4"], "workers", 4),
        (["--workers=3"], "workers", 3),
        (["-b", "0.0.0.0:80", "--bind", "unix:/tmp/s"], "bind", ["0.0.0.0:80", "unix:/tmp/s"]),
        (["-k", "sync"], "worker_class", "sync"),
        (["-t", "0"], "timeout", 0),
        (["--keep-alive", "5"], "keepalive", 5),
        (["--preload"], "preload_app", True),
        (["-e", "A=1", "--env", "B=x=y"], "raw_env", ["A=1", "B=x=y"]),
        (["-p", "/tmp/pid"], "pidfile", "/tmp/pid"),
        (["-n", "web"], "proc_name", "web"),
        (["--log-file", "/tmp/e.log"], "errorlog", "/tmp/e.log"),
        (["--error-logfile", "/tmp/e.log"], "errorlog", "/tmp/e.log"),
        (["--log-level", "DEBUG"], "loglevel", "debug"),
        (["--access-logformat", "%(h)s"], "access_log_format", "%(h)s"),
        (["--forwarded-allow-ips", "10.0.0.1, 10.0.0.2"], "forwarded_allow_ips",
         ["10.0.0.1", "10.0.0.2"]),
        (["--forwarded-allow-ips", "*"], "forwarded_allow_ips", ["*"]),
        (["--limit-request-field-size", "100"], "limit_request_field_size", 100),
        (["--limit-request-field_size", "200"], "limit_request_field_size", 200),
        (["--header-timeout", "2.5"], "header_timeout", 2.5),
        (["--proxy-allow-from", "*"], "proxy_allow_ips", ["*"]),
        (["app:make()"], "app_uri", "app:make()"),
    ],
)
def test_cli_flags(tmp_path: Path, argv: list[str], name: str, value: object) -> None:
    assert getattr(resolve(tmp_path, *argv), name) == value


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["-w", "abc"], {}, "--workers: invalid int value: 'abc'"),
        (["-w", "0"], {}, "--workers: must be >= 1, got 0"),
        (["--timeout", "-1"], {}, "--timeout: must be >= 0, got -1"),
        (["--loop", "tokio"], {}, "--loop: invalid choice: 'tokio'"),
        (["-e", "NOEQUALS"], {}, "--env: expected KEY=VALUE"),
        ([], {"WEB_CONCURRENCY": "many"}, "WEB_CONCURRENCY (workers): invalid int value"),
        ([], {"CORRAL_CMD_ARGS": "--backlog x"}, "--backlog (in $CORRAL_CMD_ARGS): invalid"),
    ],
)
def test_bad_values_name_the_setting(
    tmp_path: Path, argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        resolve(tmp_path, *argv, env=env)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--bogus"):
        resolve(tmp_path, "--bogus")
    with pytest.raises(ConfigError, match=r"^\$CORRAL_CMD_ARGS: unrecognized arguments: --x"):
        resolve(tmp_path, env={"CORRAL_CMD_ARGS": "--x"})
    with pytest.raises(ConfigError, match=r"^\$CORRAL_CMD_ARGS: No closing quotation"):
        resolve(tmp_path, env={"CORRAL_CMD_ARGS": "-n 'web"})


def test_precedence(tmp_path: Path) -> None:
    (tmp_path / "corral.conf.py").write_text(
        "workers = 2\ntimeout = 11\nkeepalive = 9\nbacklog = 77\nbind = '0.0.0.0:1'\n"
    )
    env = {"WEB_CONCURRENCY": "3", "CORRAL_CMD_ARGS": "--timeout 12 --keep-alive 8"}
    s = resolve(tmp_path, "--keep-alive", "7", env=env)
    assert s.backlog == 77  # config file over default
    assert s.bind == ["0.0.0.0:1"]  # a string in the file means one address
    assert s.workers == 2  # config file over $WEB_CONCURRENCY (a default, as in Gunicorn)
    assert resolve(tmp_path / "absent", env=env).workers == 3
    assert s.timeout == 12  # CORRAL_CMD_ARGS over config file
    assert s.keepalive == 7  # command line over everything
    assert resolve(tmp_path, "-w", "5", env=env).workers == 5


def test_config_file_option_and_hooks(tmp_path: Path) -> None:
    conf = tmp_path / "other.py"
    conf.write_text(
        "import os\n"
        "_private = 1\n"
        "unknown_name = 2\n"
        "wsgi_app = 'cfg_app:app'\n"
        "raw_env = ['X=1']\n"
        "secure_scheme_headers = {'x-proto': 'https'}\n"
        "def post_fork(server, worker):\n"
        "    pass\n"
        "def post_request(worker, req, *rest):\n"
        "    pass\n"
    )
    s = resolve(tmp_path, "-c", str(conf))
    assert s.app_uri == "cfg_app:app"
    assert s.env == {"X": "1"}
    assert s.secure_scheme_headers == {"X-PROTO": "https"}
    assert s.post_fork.__name__ == "post_fork" and s.post_fork is not hooks.post_fork
    assert s.post_request is not hooks.post_request
    # relative -c is resolved against the working directory; CORRAL_CMD_ARGS may name it
    assert resolve(tmp_path, env={"CORRAL_CMD_ARGS": "-c other.py"}).raw_env == ["X=1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("def on_starting():\n    pass\n", "on_starting (config file"),
        ("when_ready = 3\n", "when_ready (config file"),
        ("workers = 'four'\n", "workers (config file"),
        ("workers = True\n", "workers (config file"),
        ("bind = 8000\n", "bind (config file"),
        ("workers = = 2\n", "SyntaxError"),
        ("raise ValueError('boom')\n", "ValueError: boom"),
    ],
)
def test_bad_config_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "corral.conf.py").write_text(text)
    with pytest.raises(ConfigError) as err:
        resolve(tmp_path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.py"):
        resolve(tmp_path, "-c", "nope.py")


def test_python_module_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cfg_pyconf.py").write_text("threads = 6\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve(tmp_path, "-c", "python:cfg_pyconf").threads == 6


def test_reload_rereads_the_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf.py"
    conf.write_text("workers = 2\n")
    s = resolve(tmp_path, "--timeout", "5")
    conf.write_text("workers = 4\n")
    fresh = s.reread()
    assert (s.workers, fresh.workers, fresh.timeout) == (2, 4, 5)
    conf.write_text("workers = 'x'\n")
    with pytest.raises(ConfigError):
        s.reread()


def test_settings_overrides_and_assignment() -> None:
    s = Settings(workers="3", bind="127.0.0.1:0")
    assert (s.workers, s.bind) == (3, ["127.0.0.1:0"])
    s.timeout = "7"
    assert s.timeout == 7
    with pytest.raises(ConfigError, match="--timeout"):
        s.timeout = "soon"
    with pytest.raises(TypeError):
        Settings(no_such_setting=1)
    with pytest.raises(AttributeError):
        _ = s.no_such_setting
    assert s.reread().workers == 3


def test_print_config_sorted(tmp_path: Path) -> None:
    out = io.StringIO()
    print_config(resolve(tmp_path, "-w", "3"), out)
    lines = out.getvalue().splitlines()
    names = [line.split(" = ", 1)[0] for line in lines]
    assert names == sorted(names) == sorted(BY_NAME)
    assert "workers = 3" in lines
    assert "on_starting = corral.server.hooks.on_starting" in lines


def test_parser_help_lists_every_flag() -> None:
    text = build_parser().format_help()
    for s in SETTINGS:
        for flag in s.flags:
            assert flag in text


def test_markdown_reference_covers_every_setting() -> None:
    text = markdown_reference()
    for s in SETTINGS:
        assert f"`{s.name}`" in text
    assert "`$WEB_CONCURRENCY` or 1" in text


def test_readme_reference_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "update_readme.py"), "--check"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
