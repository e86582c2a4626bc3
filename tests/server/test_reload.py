"""--reload (both engines, the worker classes), --spew and -R with --daemon,
over real server processes serving an application written into ``tmp_path``."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from corral.server.reloader import Watcher
from tests.server.arb_helpers import alive, wait_until
from tests.support import ROOT, WORKER_CLASSES, ServerProcess, parse_response, recv_all

pytestmark = pytest.mark.timeout(60)

CLASSES = ["sync", "gthread", "asyncio", "gevent"]
ENGINES = ["poll", "inotify"]
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

APP = '''\
{prelude}
def app(environ, start_response):
    body = {body}
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''


def write_app(folder: Path, body: str, prelude: str = "", name: str = "live_app") -> Path:
    """Write the app module; each version has another size, so that a stale
    ``.pyc`` (same mtime second, same size) can never pass for the new source."""
    path = folder / f"{name}.py"
    path.write_text(APP.format(prelude=prelude, body=body))
    return path


def get(srv: ServerProcess) -> tuple[int, bytes]:
    status, _, body, _ = parse_response(srv.request(REQUEST))
    return status, body


def wait_for(srv: ServerProcess, status: int, body: bytes | None, timeout: float = 15.0,
             part: bytes = b"") -> None:
    """Ask until the answer is ``status`` with ``body`` (any body when None)
    containing ``part``."""
    deadline = time.monotonic() + timeout
    last: tuple[int, bytes] | None = None
    while time.monotonic() < deadline:
        try:
            last = get(srv)
        except OSError:
            last = None
        if (last is not None and last[0] == status and (body is None or last[1] == body)
                and part in last[1]):
            return
        time.sleep(0.1)
    raise AssertionError(f"wanted {status} {body!r}, last answer {last!r}:\n{srv.output()}")


def reload_server(folder: Path, klass: str, engine: str, *extra: str) -> ServerProcess:
    args = ["live_app:app", "-b", "127.0.0.1:0", "-w", "1", *dict(WORKER_CLASSES)[klass],
            "--reload", "--reload-engine", engine, "--chdir", str(folder), *extra]
    return ServerProcess(args, cwd=folder)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("klass", CLASSES)
def test_edited_module_is_served_by_a_fresh_worker(tmp_path: Path, klass: str,
                                                   engine: str) -> None:
    path = write_app(tmp_path, 'b"first"')
    with reload_server(tmp_path, klass, engine) as srv:
        assert get(srv) == (200, b"first")
        write_app(tmp_path, 'b"second version"')
        wait_for(srv, 200, b"second version", timeout=10)
        srv.wait_for(re.escape(f"Worker reloading: {path} modified"))
        write_app(tmp_path, 'b"third"')
        wait_for(srv, 200, b"third", timeout=10)
        assert srv.proc is not None and srv.proc.poll() is None


@pytest.mark.parametrize("engine", ENGINES)
def test_extra_file_change_reloads(tmp_path: Path, engine: str) -> None:
    data = tmp_path / "greeting.txt"
    data.write_text("hello")
    prelude = "import pathlib\nGREETING = pathlib.Path('greeting.txt').read_bytes()"
    write_app(tmp_path, "GREETING", prelude)
    with reload_server(tmp_path, "sync", engine, "--reload-extra-file", str(data)) as srv:
        assert get(srv) == (200, b"hello")
        tmp = tmp_path / "greeting.txt.new"
        tmp.write_text("good morning")
        os.replace(tmp, data)  # saved the way many editors do: a rename over the file
        wait_for(srv, 200, b"good morning", timeout=10)
        srv.wait_for(re.escape(f"Worker reloading: {data} modified"))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("klass", CLASSES)
def test_syntax_error_keeps_the_server_until_fixed(tmp_path: Path, klass: str,
                                                   engine: str) -> None:
    path = write_app(tmp_path, 'b"working"')
    with reload_server(tmp_path, klass, engine) as srv:
        assert get(srv) == (200, b"working")
        path.write_text(path.read_text().replace('b"working"', 'b"broken" +'))
        wait_for(srv, 500, None, timeout=10, part=b"SyntaxError")
        assert b"live_app.py" in get(srv)[1]
        srv.wait_for("Waiting for a change of the application's files")
        booted = srv.output().count("Booting worker")
        time.sleep(2.5)  # no respawn loop while the file stays broken
        assert srv.output().count("Booting worker") == booted, srv.output()
        assert srv.proc is not None and srv.proc.poll() is None
        write_app(tmp_path, 'b"fixed at last"')
        wait_for(srv, 200, b"fixed at last", timeout=10)
        assert srv.proc.poll() is None


def test_error_in_an_imported_module_is_watched(tmp_path: Path) -> None:
    helper = tmp_path / "live_helper.py"
    helper.write_text("VALUE = b'one'\n")
    write_app(tmp_path, "live_helper.VALUE", "import live_helper")
    with reload_server(tmp_path, "sync", "auto") as srv:
        assert get(srv) == (200, b"one")
        helper.write_text("VALUE = undefined_name\n")
        wait_for(srv, 500, None, timeout=10, part=b"NameError")
        helper.write_text("VALUE = b'two, repaired'\n")
        wait_for(srv, 200, b"two, repaired", timeout=10)


def test_missing_module_is_awaited(tmp_path: Path) -> None:
    path = write_app(tmp_path, 'b"here"')
    trigger = tmp_path / "trigger.txt"
    trigger.write_text("0")
    with reload_server(tmp_path, "sync", "auto", "--reload-extra-file", str(trigger)) as srv:
        assert get(srv) == (200, b"here")
        path.rename(tmp_path / "elsewhere.py")
        trigger.write_text("12")
        wait_for(srv, 500, None, timeout=10, part=b"No module named 'live_app'")
        write_app(tmp_path, 'b"back again"')
        wait_for(srv, 200, b"back again", timeout=10)
        assert srv.proc is not None and srv.proc.poll() is None


def test_without_reload_edits_are_ignored(tmp_path: Path) -> None:
    write_app(tmp_path, 'b"stays"')
    args = ["live_app:app", "-b", "127.0.0.1:0", "-k", "sync", "--chdir", str(tmp_path)]
    with ServerProcess(args, cwd=tmp_path) as srv:
        assert get(srv) == (200, b"stays")
        write_app(tmp_path, 'b"not seen"')
        time.sleep(2.0)
        assert get(srv) == (200, b"stays")
        assert "reloading" not in srv.output()


def watch(polling: bool, files: list[Path]) -> tuple[Watcher, list[str]]:
    seen: list[str] = []
    done = threading.Event()

    def changed(path: str) -> None:
        seen.append(path)
        done.set()

    watcher = Watcher([str(f) for f in files], changed, interval=0.2,
                      boot_time=time.time(), polling=polling)
    watcher.begin()
    return watcher, seen


@pytest.mark.parametrize("polling", [True, False], ids=["poll", "notify"])
def test_watcher_ignores_removal_and_sees_return(tmp_path: Path,
                                                 polling: bool) -> None:
    target = tmp_path / "watched.cfg"
    target.write_text("a = 1\n")
    time.sleep(0.05)
    watcher, seen = watch(polling, [target, tmp_path / "not_yet.cfg"])
    try:
        (tmp_path / "unrelated.txt").write_text("noise")
        target.unlink()
        time.sleep(0.6)
        assert seen == []
        target.write_text("a = 2, longer\n")
        wait_until(lambda: seen == [str(target)], 5, "the change to be seen")
    finally:
        watcher.stop()


@pytest.mark.parametrize("polling", [True, False], ids=["poll", "notify"])
def test_watcher_sees_a_file_appear(tmp_path: Path, polling: bool) -> None:
    later = tmp_path / "later.cfg"
    watcher, seen = watch(polling, [later])
    try:
        time.sleep(0.3)
        later.write_text("now\n")
        wait_until(lambda: seen == [str(later)], 5, "the new file to be seen")
    finally:
        watcher.stop()


def test_spew_prints_executed_lines(tmp_path: Path) -> None:
    write_app(tmp_path, 'b"traced"', name="spew_app")
    args = ["spew_app:app", "-b", "127.0.0.1:0", "-k", "sync", "--spew",
            "--chdir", str(tmp_path)]
    with ServerProcess(args, cwd=tmp_path) as srv:
        assert get(srv) == (200, b"traced")
        srv.wait_for(r'spew_app:4: +start_response\("200 OK"')
        srv.wait_for(r"spew_app:6: +return \[body\]")
        srv.wait_for(r"corral\.server\.workers\.sync:\d+: ")


def test_stdio_inheritance_with_daemon(tmp_path: Path) -> None:
    prelude = "import sys\nprint('printed by the app at import')"
    write_app(tmp_path, 'b"daemonized"', prelude, name="stdio_app")
    out = tmp_path / "inherited.out"
    pidfile = tmp_path / "corral.pid"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
               PYTHONUNBUFFERED="1")
    with open(out, "wb") as stream:
        result = subprocess.run(
            [sys.executable, "-m", "corral", "stdio_app:app", "-b", "127.0.0.1:0", "-k", "sync",
             "--daemon", "-R", "-p", str(pidfile), "--chdir", str(tmp_path),
             "--access-logfile", "-"],
            stdin=subprocess.DEVNULL, stdout=stream, stderr=subprocess.STDOUT, env=env,
            cwd=tmp_path, timeout=20,
        )
    assert result.returncode == 0, out.read_text()
    pid = int(pidfile.read_text())
    try:
        assert os.readlink(f"/proc/{pid}/fd/0") == os.devnull
        assert os.readlink(f"/proc/{pid}/fd/1") == str(out)
        assert os.readlink(f"/proc/{pid}/fd/2") == str(out)
        listening = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", out.read_text())
        assert listening is not None, out.read_text()
        with socket.create_connection(("127.0.0.1", int(listening.group(1))), 10) as client:
            client.sendall(REQUEST)
            assert recv_all(client).endswith(b"daemonized")
        wait_until(lambda: "printed by the app at import" in out.read_text(), 5, "app output")
        wait_until(lambda: '"GET / HTTP/1.1" 200' in out.read_text(), 5, "the access log")
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not alive(pid), 15, "the daemon to stop")


@pytest.mark.parametrize("spec", ["no_such_module:app", "live_app:missing"])
def test_an_app_that_never_loaded_is_still_one_line_and_exit_4(tmp_path: Path,
                                                              spec: str) -> None:
    write_app(tmp_path, 'b"x"')
    out = subprocess.run(
        [sys.executable, "-m", "corral", spec, "--reload", "-b", "127.0.0.1:0",
         "--chdir", str(tmp_path)],
        capture_output=True, text=True, timeout=30, cwd=str(tmp_path),
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"},
    )
    assert out.returncode == 4
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and spec in lines[0], out.stderr
