"""--paste / --paster: the application comes from a PasteDeploy configuration
file whose app factory lives in this module."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, WORKER_CLASSES, ServerProcess, parse_response

pytestmark = pytest.mark.timeout(40)

REQUEST = b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

INI = """\
[DEFAULT]
shared = from-defaults

[app:main]
use = call:tests.server.test_paste:make_app
greeting = {greeting}

[app:other]
use = call:tests.server.test_paste:make_app
greeting = the other section
"""


def make_app(global_conf: dict[str, str], **local_conf: str) -> Callable[..., Iterable[bytes]]:
    """The PasteDeploy app factory named by the ini files below."""
    greeting = local_conf["greeting"]
    here = global_conf.get("here", "")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = f"{greeting} | {environ['PATH_INFO']} | {here} | {global_conf['shared']}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


def write_ini(folder: Path, greeting: str = "hello from paste") -> Path:
    path = folder / "site.ini"
    path.write_text(INI.format(greeting=greeting))
    return path


def get(srv: ServerProcess) -> tuple[int, bytes]:
    status, _, body, _ = parse_response(srv.request(REQUEST))
    return status, body


def corral(*args: str, cwd: Path, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    full_env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", "PATH": "/usr/bin:/bin", **(env or {})}
    return subprocess.run([sys.executable, "-m", "corral", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("klass", ["sync", "gthread", "asyncio"])
def test_paste_file_without_positional_app(tmp_path: Path, klass: str) -> None:
    ini = write_ini(tmp_path)
    args = ["--paste", str(ini), "-b", "127.0.0.1:0", *dict(WORKER_CLASSES)[klass]]
    with ServerProcess(args, cwd=tmp_path) as srv:
        status, body = get(srv)
    assert status == 200
    assert body == f"hello from paste | /hello | {tmp_path} | from-defaults".encode()


def test_paster_spelling_relative_path_and_section(tmp_path: Path) -> None:
    write_ini(tmp_path)
    args = ["--paster", "site.ini#other", "-b", "127.0.0.1:0", "-k", "sync"]
    with ServerProcess(args, cwd=tmp_path) as srv:
        status, body = get(srv)
    assert status == 200 and body.startswith(b"the other section | /hello")


def test_paste_wins_over_a_positional_app(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, "paste wins")
    args = ["no_such_module:app", "--paste", str(ini), "-b", "127.0.0.1:0", "-k", "sync"]
    with ServerProcess(args, cwd=tmp_path) as srv:
        assert get(srv)[1].startswith(b"paste wins |")


def test_paste_survives_a_hup(tmp_path: Path) -> None:
    write_ini(tmp_path, "before")
    args = ["--paste", "site.ini", "-b", "127.0.0.1:0", "-k", "sync"]
    with ServerProcess(args, cwd=tmp_path) as srv:
        assert get(srv)[1].startswith(b"before |")
        write_ini(tmp_path, "after the hang up")
        srv.signal(1)  # SIGHUP: new settings, new workers
        srv.wait_for("Hang up")
        deadline = time.monotonic() + 20
        body = b""
        while time.monotonic() < deadline:  # the old worker retires once the new one is up
            body = get(srv)[1]
            if body.startswith(b"after the hang up |"):
                break
            time.sleep(0.1)
        assert body.startswith(b"after the hang up |"), srv.output()


def test_check_config_loads_the_paste_app(tmp_path: Path) -> None:
    write_ini(tmp_path)
    result = corral("--paste", "site.ini", "--check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_missing_paste_file_is_one_line_and_exit_4(tmp_path: Path) -> None:
    result = corral("--paste", "absent.ini", "-b", "127.0.0.1:0", cwd=tmp_path)
    assert result.returncode == 4
    assert result.stderr.splitlines() == [
        f"corral: error: Failed to load app 'config:{tmp_path}/absent.ini': "
        f"no such PasteDeploy configuration file: {tmp_path}/absent.ini"
    ]


def test_missing_pastedeploy_is_one_line_and_exit_4(tmp_path: Path) -> None:
    write_ini(tmp_path)
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    # run at start-up from PYTHONPATH: paste.deploy cannot be imported afterwards
    (shadow / "sitecustomize.py").write_text("import sys\nsys.modules['paste.deploy'] = None\n")
    result = corral("--paste", "site.ini", "-b", "127.0.0.1:0", cwd=tmp_path,
                    env={"PYTHONPATH": f"{shadow}:{ROOT}:{ROOT / 'src'}"})
    assert result.returncode == 4
    assert result.stderr.splitlines() == [
        f"corral: error: Failed to load app 'config:{tmp_path}/site.ini': "
        "PasteDeploy is not installed (pip install PasteDeploy)"
    ]


@pytest.mark.parametrize("content, reason", [
    ("[app:main]\nuse = call:tests.server.no_such_module:make_app\n", "ModuleNotFoundError"),
    ("[server:main]\nuse = egg:nothing\n", "LookupError"),
    ("not an ini file at all\n", "MissingSectionHeaderError"),
])
def test_bad_paste_file_stops_the_server_with_4(tmp_path: Path, content: str,
                                                reason: str) -> None:
    (tmp_path / "bad.ini").write_text(content)
    result = corral("--paste", "bad.ini", "-b", "127.0.0.1:0", "-k", "sync", cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    failures = [line for line in result.stderr.splitlines() if "Failed to load app" in line]
    assert len(failures) == 1 and reason in failures[0], result.stderr
    assert f"'config:{tmp_path}/bad.ini'" in failures[0]
