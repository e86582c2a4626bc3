"""A Gunicorn deployment keeps working when the command name becomes ``corral``:
config files found where Gunicorn finds them, its environment variables, its
command lines, its worker class names, its hook objects, systemd's readiness
protocol; and what corral cannot do is refused in one line.  Every test drives the
real ``corral`` command in a temporary working directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import APPS, ROOT, ServerProcess

APP = """\
import os


def application(environ, start_response):
    body = f"pid={os.getpid()} path={environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CORRAL_CMD_ARGS", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "PORT",
                        "NOTIFY_SOCKET", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), str(APPS)])
    env.update(extra or {})
    return env


def corral(*args: str, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corral", *args], cwd=cwd,
                          env=clean_env(env), capture_output=True, text=True, timeout=timeout)


def settings_of(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(line.split(" = ", 1) for line in result.stdout.splitlines())


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def server(site: Path, *args: str, env: dict[str, str] | None = None) -> ServerProcess:
    extra = dict(env or {})
    return ServerProcess(list(args), cwd=site, env=extra)


def get(srv: ServerProcess, path: str = "/") -> bytes:
    return srv.request(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


def booted_workers(srv: ServerProcess, count: int) -> list[int]:
    srv.wait_for(r"(?s)" + r".*".join([r"Booting worker with pid: \d+"] * count), timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = srv.worker_pids()
        if len(pids) == count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"expected {count} workers, have {srv.worker_pids()}")


# -- configuration found and read as Gunicorn finds it ---------------------------------


@pytest.mark.timeout(90)
def test_gunicorn_conf_py_is_read_and_named_in_the_log(site: Path) -> None:
    (site / "gunicorn.conf.py").write_text("workers = 3\nbind = '127.0.0.1:0'\n")
    with server(site, "app:application") as srv:
        assert len(booted_workers(srv, 3)) == 3
        assert f"Configuration read from {site / 'gunicorn.conf.py'}" in srv.output()
        assert b"200 OK" in get(srv)


def test_corral_conf_py_comes_before_gunicorn_conf_py(site: Path) -> None:
    (site / "gunicorn.conf.py").write_text("workers = 3\n")
    (site / "corral.conf.py").write_text("workers = 5\n")
    assert settings_of(corral("app:application", "--print-config", cwd=site))["workers"] == "5"
    (site / "corral.conf.py").unlink()
    values = settings_of(corral("app:application", "--print-config", cwd=site))
    assert values["workers"] == "3"
    assert values["config"] == repr(str(site / "gunicorn.conf.py"))
    # -c wins over both default files; file: as in Gunicorn
    (site / "other.py").write_text("workers = 4\n")
    values = settings_of(corral("app:application", "--print-config", "-c", "file:other.py",
                                cwd=site))
    assert values["workers"] == "4"


def test_precedence_is_gunicorns(site: Path) -> None:
    """Command line > $CORRAL_CMD_ARGS > $GUNICORN_CMD_ARGS > config file > defaults
    (taken from $WEB_CONCURRENCY and $PORT when set)."""
    (site / "gunicorn.conf.py").write_text(
        "workers = 2\ntimeout = 11\nkeepalive = 9\nbacklog = 77\ngraceful_timeout = 5\n")
    env = {"WEB_CONCURRENCY": "6", "PORT": "5123",
           "GUNICORN_CMD_ARGS": "--timeout 12 --keep-alive 8 --graceful-timeout 6",
           "CORRAL_CMD_ARGS": "--keep-alive 7 --graceful-timeout 4"}
    values = settings_of(corral("app:application", "--print-config", "--graceful-timeout", "3",
                                cwd=site, env=env))
    assert values["workers"] == "2"  # config file over $WEB_CONCURRENCY
    assert values["bind"] == "['0.0.0.0:5123']"  # $PORT: the default bind
    assert values["backlog"] == "77"
    assert values["timeout"] == "12"  # $GUNICORN_CMD_ARGS over the config file
    assert values["keepalive"] == "7"  # $CORRAL_CMD_ARGS over $GUNICORN_CMD_ARGS
    assert values["graceful_timeout"] == "3"  # the command line over everything
    (site / "gunicorn.conf.py").unlink()
    assert settings_of(corral("app:application", "--print-config", cwd=site,
                              env=env))["workers"] == "6"
    # GUNICORN_CMD_ARGS may name the config file, as in Gunicorn
    (site / "prod.py").write_text("workers = 4\n")
    values = settings_of(corral("app:application", "--print-config", cwd=site,
                                env={"GUNICORN_CMD_ARGS": "-c prod.py"}))
    assert values["workers"] == "4"


@pytest.mark.timeout(90)
def test_gunicorn_cmd_args_in_a_real_server(site: Path) -> None:
    with server(site, "app:application", "-b", "127.0.0.1:0",
                env={"GUNICORN_CMD_ARGS": "--workers 2 -k sync"}) as srv:
        assert len(booted_workers(srv, 2)) == 2
        assert "Using worker: sync" in srv.output()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(90)
def test_port_environment_variable_binds_all_interfaces(site: Path) -> None:
    port = _free_port()
    with server(site, "app:application", env={"PORT": str(port)}) as srv:
        assert f"Listening at: http://0.0.0.0:{port}" in srv.output()
        assert b"200 OK" in get(srv)


@pytest.mark.timeout(90)
def test_web_concurrency_gives_the_default_worker_count(site: Path) -> None:
    with server(site, "app:application", "-b", "127.0.0.1:0",
                env={"WEB_CONCURRENCY": "2"}) as srv:
        assert len(booted_workers(srv, 2)) == 2


@pytest.mark.timeout(60)
def test_config_file_typo_is_warned_with_the_closest_name(site: Path) -> None:
    (site / "gunicorn.conf.py").write_text(
        "import multiprocessing\nwokers = 4\nBASE_DIR = '/srv'\n"
        "def helper():\n    return 1\nbind = '127.0.0.1:0'\n"
        "def post_frok(server, worker):\n    pass\n")
    with server(site, "app:application") as srv:
        srv.wait_for(r"Booting worker")
        out = srv.output()
    assert re.search(r"WARNING\] config file .*gunicorn\.conf\.py: 'wokers' is not a setting "
                     r"and is ignored; did you mean 'workers'\?", out), out
    assert "'post_frok' is not a setting and is ignored; did you mean 'post_fork'?" in out
    # imports, helper functions and constants are not reported
    assert "multiprocessing" not in out and "helper" not in out and "BASE_DIR" not in out
    checked = corral("app:application", "--check-config", cwd=site)
    assert checked.returncode == 0
    assert "corral: warning: config file" in checked.stderr and "'workers'" in checked.stderr


@pytest.mark.parametrize(("text", "flag_args", "reason"), [
    ("http_protocols = ['h2', 'h1']\n", ["--http-protocols", "h2"], "HTTP/2 is not supported"),
    ("dirty_apps = ['tasks:App']\n", ["--dirty-app", "tasks:App"], "dirty arbiters"),
    ("control_socket = '/run/g.ctl'\n", ["--control-socket", "/run/g.ctl"],
     "control socket"),
    ("protocol = 'uwsgi'\n", ["--protocol", "uwsgi"], "uwsgi wire protocol"),
])
def test_refused_family_is_one_line_in_a_file_as_on_the_command_line(
        site: Path, text: str, flag_args: list[str], reason: str) -> None:
    cli = corral("app:application", *flag_args, cwd=site)
    assert cli.returncode == 2
    assert cli.stderr.splitlines()[-1].startswith(f"corral: error: {flag_args[0]}: ")
    assert reason in cli.stderr
    (site / "gunicorn.conf.py").write_text(text)
    from_file = corral("app:application", cwd=site)
    assert from_file.returncode == 2
    assert from_file.stderr.count("\n") == 1 and reason in from_file.stderr
    assert "gunicorn.conf.py" in from_file.stderr


def test_settings_that_ask_for_nothing_missing_are_accepted(site: Path) -> None:
    (site / "gunicorn.conf.py").write_text(
        "http_protocols = ['h1']\ncontrol_socket_disable = True\nhttp_parser = 'auto'\n")
    result = corral("app:application", "--check-config", "--http-protocols", "h1", cwd=site)
    assert (result.returncode, result.stderr) == (0, "")


# -- command lines ---------------------------------------------------------------------


def test_short_version_flag(site: Path) -> None:
    result = corral("-v", cwd=site)
    assert result.returncode == 0 and result.stdout.startswith("corral ")


@pytest.mark.parametrize(("args", "name", "value"), [
    (["--error-log", "err.log"], "errorlog", "'err.log'"),
    (["--graceful", "7"], "graceful_timeout", "7"),
    (["--access-logfi", "-"], "accesslog", "'-'"),
    (["--worker-conn", "50"], "worker_connections", "50"),
    (["--limit-request-field_size", "100"], "limit_request_field_size", "100"),
    (["-m", "0o22"], "umask", "18"),
    (["-m", "18"], "umask", "18"),  # Gunicorn reads a umask without a leading 0 as decimal
    (["--proxy-protocol"], "proxy_protocol", "True"),
    (["--proxy-protocol", "v2"], "proxy_protocol", "True"),
    (["-w", "3", "-t", "5"], "workers", "3"),
])
def test_gunicorn_command_lines(site: Path, args: list[str], name: str, value: str) -> None:
    values = settings_of(corral(*args, "--print-config", "app:application", cwd=site))
    assert values[name] == value


def test_help_shows_defaults(site: Path) -> None:
    out = corral("--help", cwd=site).stdout
    text = " ".join(out.split())
    assert "Maximum number of pending connections. [2048]" in text
    assert "[$WEB_CONCURRENCY or 1]" in text
    assert "[0.0.0.0:$PORT if $PORT is set, else 127.0.0.1:8000]" in text
    assert "-v, --version" in out


# -- worker classes ----------------------------------------------------------------------


@pytest.mark.timeout(90)
@pytest.mark.parametrize(("name", "ours"), [
    ("sync", "sync"),
    ("gthread", "gthread"),
    ("gunicorn.workers.sync.SyncWorker", "sync"),
    ("gunicorn.workers.gthread.ThreadWorker", "gthread"),
    ("gunicorn.workers.ggevent.GeventWorker", "gevent"),
    ("egg:gunicorn#gthread", "gthread"),
    ("gevent_pywsgi", "gevent"),
])
def test_worker_classes_by_gunicorns_names(site: Path, name: str, ours: str) -> None:
    with server(site, "app:application", "-b", "127.0.0.1:0", "-k", name) as srv:
        srv.wait_for(r"Booting worker")
        assert f"Using worker: {ours}" in srv.output()
        assert b"200 OK" in get(srv)


def test_sync_with_threads_is_gthread_as_in_gunicorn(site: Path) -> None:
    values = settings_of(corral("app:application", "--print-config", "-k", "sync",
                                "--threads", "4", cwd=site))
    assert values["worker_class"] == "'gthread'"


GUNICORN_API_WORKER = """\
from gunicorn.workers.base import Worker


class MyWorker(Worker):
    def run(self):
        pass
"""


@pytest.mark.parametrize(("name", "says"), [
    ("uvicorn.workers.UvicornWorker", "runs ASGI applications"),
    ("uvicorn_worker.UvicornWorker", "runs ASGI applications"),
    ("asgi", "runs ASGI applications"),
    ("gunicorn.workers.gasgi.ASGIWorker", "runs ASGI applications"),
    ("aiohttp.GunicornWebWorker", "runs aiohttp applications"),
    ("eventlet", "eventlet is deprecated"),
    ("gunicorn.workers.geventlet.EventletWorker", "eventlet is deprecated"),
    ("tornado", "a Tornado WSGI application runs under"),
    ("egg:gunicorn#tornado", "a Tornado WSGI application runs under"),
    ("myworker.MyWorker", "written against Gunicorn's worker API"),
])
def test_worker_classes_corral_cannot_run_are_refused(site: Path, name: str, says: str) -> None:
    (site / "myworker.py").write_text(GUNICORN_API_WORKER)
    result = corral("app:application", "-b", "127.0.0.1:0", "-k", name, cwd=site)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert says in last and "Traceback" not in result.stderr
    assert re.search(r"use|serve|run", last)


# -- boot failures -------------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("preload", [False, True])
def test_import_failure_deep_inside_shows_the_traceback(site: Path, preload: bool) -> None:
    (site / "broken.py").write_text("import helpers.db\n")
    (site / "helpers").mkdir()
    (site / "helpers" / "__init__.py").write_text("")
    (site / "helpers" / "db.py").write_text("URL = None\n\nraise RuntimeError('no DATABASE_URL')\n")
    args = ["broken:app", "-b", "127.0.0.1:0"] + (["--preload"] if preload else [])
    result = corral(*args, cwd=site)
    assert result.returncode == 4
    summary = ("Failed to load app 'broken:app': error while importing 'broken': "
               "RuntimeError: no DATABASE_URL")
    assert summary in result.stderr
    tail = result.stderr[result.stderr.index(summary):]
    assert "Traceback (most recent call last):" in tail
    assert re.search(r'File ".*helpers/db\.py", line 3, in <module>', tail), tail


def test_config_file_that_raises_shows_its_traceback(site: Path) -> None:
    (site / "gunicorn.conf.py").write_text("import os\n\nworkers = int(os.environ['NO_SUCH'])\n")
    result = corral("app:application", cwd=site)
    assert result.returncode == 2
    first, _, rest = result.stderr.partition("\n")
    assert first.startswith("corral: error: config file ") and "KeyError: 'NO_SUCH'" in first
    assert re.search(r'File ".*gunicorn\.conf\.py", line 3, in <module>', rest), rest


# -- hook objects --------------------------------------------------------------------------

HOOKS_CONF = """\
import json
import shutil
import os

bind = "127.0.0.1:0"
workers = 1
OUT = os.environ["HOOK_OUT"]


def record(name, **values):
    with open(OUT, "a") as f:
        f.write(json.dumps({"hook": name, **values}, default=repr) + "\\n")


def when_ready(server):
    server.log.info("Server is ready. Spawning workers")
    record("when_ready", pid=server.pid, cfg_workers=server.cfg.workers,
           num_workers=server.num_workers, workers=len(server.WORKERS),
           listeners=len(server.LISTENERS), timeout=server.timeout,
           proc_name=server.proc_name, kind=server.cfg.worker_class_str)


def pre_fork(server, worker):
    record("pre_fork", age=worker.age, workers=len(server.WORKERS))


def post_fork(server, worker):
    server.log.info("Worker spawned (pid: %s)", worker.pid)
    record("post_fork", pid=worker.pid, real=os.getpid(), age=worker.age,
           alive=worker.alive, tmp=callable(worker.tmp.notify), ppid=worker.ppid,
           sockets=len(worker.sockets), log=callable(worker.log.info),
           cfg_timeout=worker.cfg.timeout)


def post_worker_init(worker):
    worker.log.info("worker %s initialised", worker.pid)
    record("post_worker_init", pid=worker.pid, nr=worker.nr, booted=callable(worker.tmp.last_update))


def pre_request(worker, req):
    req.started = 1234
    worker.log.debug("%s %s", req.method, req.path)
    record("pre_request", method=req.method, path=req.path, uri=req.uri, query=req.query,
           version=list(req.version), headers=req.headers, remote_addr=req.remote_addr,
           scheme=req.scheme, nr=worker.nr)


def post_request(worker, req, environ, resp):
    record("post_request", started=req.started, status=resp.status,
           status_code=resp.status_code, headers=resp.headers, sent=resp.sent,
           path_info=environ["PATH_INFO"], nr=worker.nr)


def nworkers_changed(server, new_value, old_value):
    record("nworkers_changed", new=new_value, old=old_value)


def child_exit(server, worker):
    record("child_exit", pid=worker.pid)


def worker_exit(server, worker):
    record("worker_exit", pid=worker.pid, alive=worker.alive)


def on_exit(server):
    record("on_exit", pid=server.pid)
"""


def read_records(path: Path) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            out.setdefault(record["hook"], []).append(record)
    return out


@pytest.mark.timeout(90)
@pytest.mark.parametrize("worker", ["sync", "gthread", "asyncio", "gevent"])
def test_hook_objects_carry_gunicorns_attributes(site: Path, worker: str) -> None:
    (site / "gunicorn.conf.py").write_text(HOOKS_CONF)
    out = site / "hooks.jsonl"
    with server(site, "app:application", "-k", worker, env={"HOOK_OUT": str(out)}) as srv:
        srv.wait_for(r"initialised")
        with srv.connect() as s:
            s.sendall(b"GET /a%20b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nX-Trace: t1\r\n"
                      b"Connection: close\r\n\r\n")
            reply = s.recv(65536)
        assert b"200 OK" in reply
        deadline = time.monotonic() + 10
        while "post_request" not in read_records(out) and time.monotonic() < deadline:
            time.sleep(0.05)
        master = srv.pid
        srv.signal(signal.SIGTTIN)
        deadline = time.monotonic() + 10
        while "nworkers_changed" not in read_records(out) and time.monotonic() < deadline:
            time.sleep(0.05)
        srv.wait_for(r"Worker spawned \(pid: \d+\)")
        srv.wait_for(r"Server is ready\. Spawning workers")
    seen = read_records(out)
    assert seen["on_exit"][0]["pid"] == master
    assert seen["worker_exit"] and {r["pid"] for r in seen["worker_exit"]} <= {r["pid"] for r in seen["post_fork"]}
    ready = seen["when_ready"][0]
    assert ready["pid"] == master and ready["cfg_workers"] == 1 and ready["listeners"] == 1
    assert ready["timeout"] == 30 and ready["num_workers"] == 1 and ready["kind"] == worker
    fork = seen["post_fork"][0]
    assert fork["pid"] == fork["real"] and fork["ppid"] == master and fork["alive"] is True
    assert fork["tmp"] is True and fork["sockets"] == 1 and fork["log"] is True
    assert fork["age"] == seen["pre_fork"][0]["age"] and fork["cfg_timeout"] == 30
    pre = seen["pre_request"][0]
    assert (pre["method"], pre["path"], pre["uri"], pre["query"]) == (
        "GET", "/a%20b", "/a%20b?x=1&y=2", "x=1&y=2")
    assert pre["version"] == [1, 1] and pre["scheme"] == "http"
    assert ["X-TRACE", "t1"] in pre["headers"] and ["HOST", "h"] in pre["headers"]
    assert pre["remote_addr"][0] == "127.0.0.1"
    post = seen["post_request"][0]
    assert post["started"] == 1234  # the same req object in both hooks
    assert (post["status"], post["status_code"], post["path_info"]) == ("200 OK", 200, "/a b")
    assert ["Content-Type", "text/plain"] in post["headers"]
    assert post["sent"] == len(reply.split(b"\r\n\r\n", 1)[1])
    assert seen["nworkers_changed"][0]["new"] == 2
    # counted before the response is framed (so the request that reaches
    # --max-requests already says Connection: close): both hooks see it counted
    assert post["nr"] == pre["nr"] == 1


def test_post_request_with_three_or_two_parameters(site: Path) -> None:
    (site / "gunicorn.conf.py").write_text(
        "def post_request(worker, req, environ):\n    pass\n")
    assert corral("app:application", "--check-config", cwd=site).returncode == 0
    (site / "gunicorn.conf.py").write_text("def post_request(worker, req):\n    pass\n")
    assert corral("app:application", "--check-config", cwd=site).returncode == 0


SSL_CONTEXT_CONF = """\
import os
import ssl

bind = "127.0.0.1:0"
certfile = os.environ["CERT"]
keyfile = os.environ["KEY"]


def ssl_context(conf, default_ssl_context_factory):
    context = default_ssl_context_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    conf_seen = conf.certfile == certfile
    with open(os.environ["HOOK_OUT"], "w") as f:
        f.write(f"called {conf_seen}")
    return context
"""


@pytest.mark.timeout(60)
def test_ssl_context_hook_adjusts_the_tls_context(site: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(site / "cert.pem"))
    cert.private_key_pem.write_to_path(str(site / "key.pem"))
    (site / "gunicorn.conf.py").write_text(SSL_CONTEXT_CONF)
    out = site / "hook.txt"
    env = {"CERT": str(site / "cert.pem"), "KEY": str(site / "key.pem"), "HOOK_OUT": str(out)}
    with server(site, "app:application", env=env) as srv:
        srv.wait_for(r"Booting worker")
        assert out.read_text() == "called True"
        modern = ssl.create_default_context()
        ca.configure_trust(modern)
        with socket.create_connection((srv.host, srv.port), timeout=10) as raw, \
                modern.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.3"
        old = ssl.create_default_context()
        ca.configure_trust(old)
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection((srv.host, srv.port), timeout=10) as raw, \
                pytest.raises(ssl.SSLError):
            old.wrap_socket(raw, server_hostname="127.0.0.1")


# -- systemd readiness ---------------------------------------------------------------------


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[
        tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        path = str(tmp_path / "notify.sock")
        sock.bind(path)
        name = path
    else:
        name = f"@corral-test-{os.getpid()}-{time.monotonic_ns()}"
        sock.bind("\0" + name[1:])
    sock.settimeout(30)
    try:
        yield sock, name
    finally:
        sock.close()


def receive_until(sock: socket.socket, needle: str, got: list[str]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = sock.recv(4096).decode()
        got.append(message)
        if needle in message.split("\n"):
            return message
    raise AssertionError(f"{needle} not received: {got}")


@pytest.mark.timeout(90)
def test_sd_notify_ready_reloading_stopping(site: Path,
                                            notify_socket: tuple[socket.socket, str]) -> None:
    sock, name = notify_socket
    got: list[str] = []
    srv = server(site, "app:application", "-b", "127.0.0.1:0", "-w", "2",
                 env={"NOTIFY_SOCKET": name})
    with srv:
        ready = receive_until(sock, "READY=1", got)
        assert re.search(r"STATUS=Listening at http://127\.0\.0\.1:\d+ with 2 asyncio workers",
                         ready), ready
        srv.signal(signal.SIGHUP)
        reloading = receive_until(sock, "RELOADING=1", got)
        assert re.search(r"MONOTONIC_USEC=\d+", reloading)
        receive_until(sock, "READY=1", got)
        srv.signal(signal.SIGTERM)
        receive_until(sock, "STOPPING=1", got)
        assert srv.wait(30) == 0


# -- deploy/: the shipped files work together -----------------------------------------------

DEPLOY = ROOT / "deploy"


def _unit_value(text: str, key: str) -> str:
    m = re.search(rf"^{key}=(.*)$", text, re.M)
    assert m, key
    return m.group(1).strip()


def test_deploy_files_agree_on_the_socket() -> None:
    socket_unit = (DEPLOY / "corral.socket").read_text()
    service = (DEPLOY / "corral.service").read_text()
    nginx = (DEPLOY / "nginx.conf").read_text()
    path = _unit_value(socket_unit, "ListenStream")
    assert path.startswith("/"), "nginx reaches corral through the unix socket"
    upstreams = re.findall(r"^\s*server unix:(\S+)", nginx, re.M)
    assert upstreams == [path]
    assert _unit_value(service, "Type") == "notify"
    assert "corral.socket" in _unit_value(service, "Requires")
    exec_start = _unit_value(service, "ExecStart")
    assert "--bind" not in exec_start and " -b " not in exec_start  # from corral.socket
    assert "--daemon" not in exec_start


@pytest.mark.timeout(60)
def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    corral_bin = Path(sys.executable).with_name("corral")
    assert corral_bin.exists()
    for name in ("corral.socket", "corral.service"):
        text = (DEPLOY / name).read_text()
        # the unit names a virtualenv that exists on the target machine: use ours
        text = text.replace("/srv/myapp/.venv/bin/corral", str(corral_bin))
        (tmp_path / name).write_text(text)
    result = subprocess.run([analyze, "verify", "--man=no", "corral.socket", "corral.service"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=50)
    if result.returncode != 0 and "Failed to" in result.stderr and "bus" in result.stderr:
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


class Nginx:
    """nginx in the foreground (``daemon off``) with a prefix under ``root``."""

    def __init__(self, root: Path, server_block: str) -> None:
        self.root = root
        for sub in ("logs", "temp"):
            (root / sub).mkdir(exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (root / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {root}/nginx.pid;\n"
            f"error_log {root}/logs/error.log info;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n access_log {root}/logs/access.log;\n"
            f" client_body_temp_path {root}/temp/body;\n proxy_temp_path {root}/temp/proxy;\n"
            f" fastcgi_temp_path {root}/temp/fcgi;\n uwsgi_temp_path {root}/temp/uwsgi;\n"
            f" scgi_temp_path {root}/temp/scgi;\n include {root}/site.conf;\n}}\n")
        (root / "site.conf").write_text(server_block)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
             "-e", str(self.root / "logs" / "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGQUIT)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def _http_get(port: int, path: str = "/") -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
                  .encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


@pytest.mark.timeout(120)
def test_nginx_in_front_of_two_instances_as_shipped(site: Path) -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (CI installs it: .ci/run)")
    socket_path = _unit_value((DEPLOY / "corral.socket").read_text(), "ListenStream")
    sockets = [site / "one.sock", site / "two.sock"]
    block = (DEPLOY / "nginx.conf").read_text()
    # the shipped file, with the socket of corral.socket moved under tmp, its commented
    # second instance enabled, and a free port instead of 80
    block = block.replace(f"server unix:{socket_path} ", f"server unix:{sockets[0]} ")
    block = re.sub(r"# server unix:\S+", f"server unix:{sockets[1]}", block)
    port = _free_port()
    block = block.replace("listen 80;", f"listen 127.0.0.1:{port};")
    assert f"unix:{sockets[0]}" in block and f"unix:{sockets[1]}" in block
    # (the TCP listener only tells the test harness that the instance is up)
    instances = [server(site, "app:application", "-b", f"unix:{path}", "-b", "127.0.0.1:0",
                        "-w", "1")
                 for path in sockets]
    (site / "nginx").mkdir()
    nginx = Nginx(site / "nginx", block)
    try:
        for inst in instances:
            inst.start()
            inst.wait_for(r"Booting worker")
        nginx.start(port)
        served: dict[int, int] = {}
        for i in range(20):
            status, body = _http_get(port, f"/r{i}")
            assert status == 200, body
            pid = int(re.match(rb"pid=(\d+)", body).group(1))  # type: ignore[union-attr]
            served[pid] = served.get(pid, 0) + 1
        workers = [set(inst.worker_pids()) for inst in instances]
        per_instance = [sum(n for pid, n in served.items() if pid in w) for w in workers]
        assert all(n >= 5 for n in per_instance), per_instance  # round robin
        # lose one instance outright (SIGKILL: no goodbye) while requests keep coming
        statuses: list[int] = []

        def client() -> None:
            for i in range(60):
                statuses.append(_http_get(port, f"/during{i}")[0])

        thread = threading.Thread(target=client)
        thread.start()
        deadline = time.monotonic() + 30
        while len(statuses) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(instances[0].pid, signal.SIGKILL)
        instances[0].wait(10)
        thread.join(60)
        assert not thread.is_alive() and statuses == [200] * 60, statuses
        for i in range(10):
            status, body = _http_get(port, f"/after{i}")
            assert status == 200, (i, body)
            assert int(re.match(rb"pid=(\d+)", body).group(1)) in workers[1]  # type: ignore[union-attr]
    finally:
        nginx.stop()
        for inst in instances:
            inst.stop()


# -- --user cannot read the application ------------------------------------------------------


@pytest.mark.timeout(60)
def test_worker_user_who_cannot_read_the_app_is_told_in_one_line() -> None:
    if os.geteuid() != 0:
        pytest.skip("switching the workers' user needs root")
    # a private home directory: mode 0700, owned by root, in a directory anyone may enter
    private = Path(tempfile.mkdtemp(prefix="corral-private-"))
    try:
        (private / "app.py").write_text(APP)
        result = corral("app:application", "-b", "127.0.0.1:0", "-u", "nobody", cwd=private)
    finally:
        shutil.rmtree(private)
    assert result.returncode == 4
    lines = [line for line in result.stderr.splitlines() if "[ERROR]" in line]
    assert lines and "Traceback" not in result.stderr, result.stderr
    assert re.search(rf"Failed to load app 'app:application': user 'nobody' cannot read "
                     rf"{re.escape(str(private))} \(mode 0700, owner root\)", lines[0]), lines
