"""The ``corral`` command as a real process: exit statuses and messages."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corral import __version__
from tests.support import APPS, ROOT, ServerProcess


def corral(
    *args: str, cwd: Path | str = APPS, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("CORRAL_CMD_ARGS", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY",
                             "PORT", "PYTHONPATH")}
    full_env["PYTHONPATH"] = str(ROOT / "src")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=30,
    )


def settings_of(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(line.split(" = ", 1) for line in result.stdout.splitlines())


def test_version() -> None:
    result = corral("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"corral {__version__}")


def test_missing_app_spec_is_a_usage_error() -> None:
    result = corral()
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "usage: corral [OPTIONS] APP_URI",
        "corral: error: the following arguments are required: APP_URI",
    ]


def test_unknown_option() -> None:
    result = corral("cfg_app:app", "--no-such-flag")
    assert result.returncode == 2
    assert "corral: error: unrecognized arguments: --no-such-flag" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["-w", "abc"], {}, "corral: error: --workers: invalid int value: 'abc'"),
        (["--limit-request-line", "-5"], {},
         "corral: error: --limit-request-line: must be >= 0, got -5"),
        ([], {"WEB_CONCURRENCY": "lots"},
         "corral: error: WEB_CONCURRENCY (workers): invalid int value: 'lots'"),
        ([], {"CORRAL_CMD_ARGS": "--keep-alive never"},
         "corral: error: --keep-alive (in $CORRAL_CMD_ARGS): invalid int value: 'never'"),
    ],
)
def test_bad_setting_exits_2_naming_it(
    args: list[str], env: dict[str, str], line: str
) -> None:
    result = corral("cfg_app:app", *args, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]


def test_bad_config_file_value(tmp_path: Path) -> None:
    (tmp_path / "corral.conf.py").write_text("timeout = 'long'\n")
    result = corral("cfg_app:app", "--check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("corral: error: timeout (config file ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("spec", "reason", "raised_in"),
    [
        ("cfg_nowhere:app", "No module named 'cfg_nowhere'", None),
        ("cfg_inner_import:app", "No module named 'cfg_no_such_dependency'",
         "cfg_inner_import.py"),
        ("cfg_app:not_callable", "not a callable application", None),
        ("cfg_app:failing_factory()", "RuntimeError: database unreachable", "cfg_app.py"),
        ("cfg_app:create_app(open('x'))", "arguments must be literals", None),
    ],
)
def test_bad_app_spec_exits_4_with_one_line(spec: str, reason: str,
                                             raised_in: str | None) -> None:
    """A one-line summary; when the application's own code raised, its traceback
    follows (as in Gunicorn), naming the file and line."""
    result = corral(spec, "--check-config")
    assert result.returncode == 4
    first, _, rest = result.stderr.partition("\n")
    assert first.startswith(f"corral: error: Failed to load app {spec!r}: ")
    assert reason in first
    if raised_in is None:
        assert rest == ""
    else:
        assert rest.startswith("Traceback (most recent call last):")
        assert re.search(rf'File ".*{re.escape(raised_in)}", line \d+', rest), rest


def test_check_config_ok() -> None:
    result = corral("cfg_app:create_app('x', k=2)", "--check-config")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(("worker", "reason"), [
    ("nope", "unknown worker class 'nope'"),
    ("no_such_module:Worker", "cannot load worker class 'no_such_module:Worker'"),
    ("corral.server.workers.sync:Missing", "has no attribute 'Missing'"),
])
def test_check_config_refuses_a_bad_worker_class(worker: str, reason: str) -> None:
    result = corral("cfg_app:app", "--check-config", "-k", worker)
    assert result.returncode == 2
    assert result.stderr.startswith("corral: error: ") and reason in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_env_chdir_and_pythonpath(tmp_path: Path) -> None:
    # the module imports only with CFG_FLAG=1; --chdir makes the apps directory importable
    assert corral("cfg_needs_env:app", "--check-config", "--chdir", str(APPS),
                  cwd=tmp_path).returncode == 4
    ok = corral("cfg_needs_env:app", "--check-config", "--chdir", str(APPS), "-e", "CFG_FLAG=1",
                cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    via_path = corral("cfg_needs_env:app", "--check-config", "--pythonpath", str(APPS),
                      "--env", "CFG_FLAG=1", cwd=tmp_path)
    assert via_path.returncode == 0, via_path.stderr


def test_print_config_precedence(tmp_path: Path) -> None:
    (tmp_path / "corral.conf.py").write_text(
        "workers = 2\ntimeout = 11\nkeepalive = 9\nbacklog = 77\n"
        "def when_ready(server):\n    pass\n"
    )
    result = corral(
        "cfg_app:app", "--print-config", "--keep-alive", "7",
        "--limit-request-field_size", "123", cwd=tmp_path,
        env={"WEB_CONCURRENCY": "3", "CORRAL_CMD_ARGS": "--timeout 12 --keep-alive 8"},
    )
    lines = result.stdout.splitlines()
    assert lines == sorted(lines)
    values = settings_of(result)
    assert values["backlog"] == "77"
    assert values["workers"] == "2"  # the config file over $WEB_CONCURRENCY (a default)
    assert values["timeout"] == "12"
    assert values["keepalive"] == "7"
    assert values["limit_request_field_size"] == "123"
    assert values["app_uri"] == "'cfg_app:app'"
    assert values["when_ready"] == "__config__.when_ready"


def test_print_config_with_explicit_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "site.py"
    conf.write_text("bind = ['0.0.0.0:80', 'unix:/run/x.sock']\n")
    values = settings_of(corral("--print-config", "-c", str(conf)))
    assert values["bind"] == "['0.0.0.0:80', 'unix:/run/x.sock']"
    missing = corral("--print-config", "-c", str(tmp_path / "absent.py"))
    assert missing.returncode == 2 and "absent.py" in missing.stderr


HOOKS_CONF = """
import sys

bind = "127.0.0.1:0"
worker_class = "sync"
accesslog = "-"
access_log_format = "ACCESS %(m)s %(U)s %(s)s %({x-hook}o)s"


def mark(*words):
    print("HOOK", *words, file=sys.stderr, flush=True)


def on_starting(server):
    mark("on_starting")


def when_ready(server):
    mark("when_ready")


def post_fork(server, worker):
    mark("post_fork")


def post_worker_init(worker):
    mark("post_worker_init")


def on_reload(server):
    mark("on_reload")
"""


@pytest.mark.timeout(60)
def test_config_file_hooks_and_access_log_in_a_real_server(tmp_path: Path) -> None:
    conf = tmp_path / "hooks.py"
    conf.write_text(HOOKS_CONF)
    with ServerProcess(["cfg_app:app", "-c", str(conf)]) as srv:
        srv.wait_for("HOOK post_worker_init")
        response = srv.request(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"cfg app")
        srv.wait_for("ACCESS GET /hello 200 -")
        conf.write_text(HOOKS_CONF.replace("ACCESS", "RELOADED"))
        srv.signal(signal.SIGHUP)
        srv.wait_for(r"HOOK on_reload[\s\S]*HOOK post_worker_init")
        # the old worker may answer until it is retired: retry a bounded number of times
        for _ in range(50):
            srv.request(b"GET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if "RELOADED GET /again 200 -" in srv.output():
                break
            time.sleep(0.1)
        srv.wait_for("RELOADED GET /again 200 -", timeout=2)
        out = srv.output()
    order = [line.split()[1] for line in out.splitlines() if line.startswith("HOOK ")]
    assert order[0] == "on_starting"
    assert set(order[:4]) == {"on_starting", "when_ready", "post_fork", "post_worker_init"}
