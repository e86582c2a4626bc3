"""--user, --group, --initgroups and --daemon, over real processes.

Switching identities needs root: those tests skip otherwise.  Workers are
checked through /proc/<pid>/status (Uid, Gid and Groups lines), and every
server answers real requests.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.server.config import Settings
from tests.server.arb_helpers import alive, get, wait_until, wait_workers
from tests.support import APPS, ROOT, ServerProcess, recv_all

pytestmark = pytest.mark.timeout(40)

NOBODY = pwd.getpwnam("nobody")
NOGROUP = grp.getgrgid(NOBODY.pw_gid).gr_name  # "nogroup" on Debian
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
UNIX_LISTEN_RE = re.compile(r"Listening at: unix:(\S+) \((\d+)\)")


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("switching the workers' user and group needs root")


def identity(pid: int) -> dict[str, list[int]]:
    """The Uid, Gid (real, effective, saved, fs) and Groups lines of a process."""
    found: dict[str, list[int]] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                found[key] = [int(v) for v in value.split()]
    return found


def assert_runs_as(pid: int, uid: int, gid: int, groups: set[int]) -> None:
    ids = identity(pid)
    assert ids["Uid"] == [uid] * 4, ids
    assert ids["Gid"] == [gid] * 4, ids
    assert set(ids["Groups"]) == groups, ids


def corral(*args: str, cwd: Path | str = APPS) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CORRAL_CMD_ARGS", "WEB_CONCURRENCY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(ROOT / "src")
    return subprocess.run(
        [sys.executable, "-m", "corral", *args], cwd=cwd, env=env,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20,
    )


@pytest.fixture(scope="module")
def open_apps() -> Iterator[Path]:
    """A copy of the test app in a directory every user can read.  The workers
    switch to an account (``nobody``) that may not be able to read the checkout
    (a clone under ``/root`` or in a private home directory)."""
    path = Path(tempfile.mkdtemp(prefix="corral-apps-"))
    try:
        path.chmod(0o755)
        shutil.copy(APPS / "arb_app.py", path / "arb_app.py")
        (path / "arb_app.py").chmod(0o644)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def serve(apps: Path, *args: str) -> ServerProcess:
    return ServerProcess(["arb_app:app", "-b", "127.0.0.1:0", *args], cwd=apps)


def served_by(srv: ServerProcess, pids: list[int]) -> None:
    """Requests are answered, and by these worker processes."""
    status, body = get(srv)
    assert status == 200
    assert int(body.split()[0]) in pids


# -- settings -------------------------------------------------------------------------


def test_user_and_group_resolve_to_ids(tmp_path: Path) -> None:
    def resolve(*argv: str) -> Settings:
        return Settings.from_argv(list(argv), {}, cwd=str(tmp_path))

    default = resolve()
    assert (default.user, default.group) == (os.geteuid(), os.getegid())
    assert (default.initgroups, default.daemon) == (False, False)
    named = resolve("-u", "nobody", "--group", NOGROUP, "--initgroups", "-D")
    assert (named.user, named.group) == (NOBODY.pw_uid, NOBODY.pw_gid)
    assert (named.uid, named.gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
    assert (named.initgroups, named.daemon) == (True, True)
    numeric = resolve("--user", "4242", "-g", "4343")
    assert (numeric.user, numeric.group) == (4242, 4343)
    (tmp_path / "corral.conf.py").write_text(f"user = 'nobody'\ngroup = {NOBODY.pw_gid}\n")
    from_file = resolve()
    assert (from_file.user, from_file.group) == (NOBODY.pw_uid, NOBODY.pw_gid)
    assert Settings(user=None, group="0").group == 0


@pytest.mark.parametrize(
    ("flag", "line"),
    [
        ("--user", "corral: error: --user: no such user: 'corral-no-such-account'"),
        ("-g", "corral: error: --group: no such group: 'corral-no-such-account'"),
    ],
    ids=["user", "group"],
)
def test_unknown_user_or_group_exits_2(flag: str, line: str) -> None:
    result = corral("arb_app:app", flag, "corral-no-such-account")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]


# -- switching identity (root only) ---------------------------------------------------


@pytest.mark.parametrize("worker", ["sync", "gthread", "asyncio", "gevent"])
def test_workers_switch_while_the_master_stays(worker: str, open_apps: Path) -> None:
    need_root()
    master_ids = identity(os.getpid())
    with serve(open_apps, "-k", worker, "-w", "2", "-u", "nobody", "-g", NOGROUP) as srv:
        pids = wait_workers(srv, 2)
        for pid in pids:  # a worker switches early in its boot, but after the fork
            deadline = time.monotonic() + 10
            while identity(pid)["Uid"][0] != NOBODY.pw_uid and time.monotonic() < deadline:
                time.sleep(0.05)
            assert_runs_as(pid, NOBODY.pw_uid, NOBODY.pw_gid, set())
        served_by(srv, pids)
        assert identity(srv.pid) == master_ids


@pytest.mark.parametrize("preload", [False, True], ids=["fork-then-load", "preload"])
def test_numeric_ids(preload: bool, open_apps: Path) -> None:
    need_root()
    args = ["-k", "sync", "-u", str(NOBODY.pw_uid), "-g", str(NOBODY.pw_gid)]
    with serve(open_apps, *args, *(["--preload"] if preload else [])) as srv:
        [pid] = wait_workers(srv, 1)
        status, body = get(srv)
        assert status == 200
        answered_by, _, imported_in = body.split()
        assert int(answered_by) == pid
        # the application is imported by the worker itself unless preloaded
        assert int(imported_in) == (srv.pid if preload else pid)
        assert_runs_as(pid, NOBODY.pw_uid, NOBODY.pw_gid, set())


def account_with_groups() -> pwd.struct_passwd:
    """A non-root account with supplementary groups, else ``nobody``."""
    for entry in pwd.getpwall():
        if entry.pw_uid and len(set(os.getgrouplist(entry.pw_name, entry.pw_gid))) > 1:
            return entry
    return NOBODY


def test_initgroups_sets_the_supplementary_groups(open_apps: Path) -> None:
    need_root()
    account = account_with_groups()
    expected = set(os.getgrouplist(account.pw_name, account.pw_gid))
    args = ["-k", "sync", "-u", account.pw_name, "-g", str(account.pw_gid), "--initgroups"]
    with serve(open_apps, *args) as srv:
        [pid] = wait_workers(srv, 1)
        served_by(srv, [pid])
        assert_runs_as(pid, account.pw_uid, account.pw_gid, expected)
        assert account.pw_gid in expected


def test_unix_socket_and_log_file_belong_to_the_worker_user(tmp_path: Path,
                                                            open_apps: Path) -> None:
    need_root()
    path = tmp_path / "corral.sock"
    access_log = tmp_path / "access.log"
    srv = ServerProcess(
        ["arb_app:app", "-b", f"unix:{path}", "-k", "sync", "-u", "nobody", "-g", NOGROUP,
         "--access-logfile", str(access_log)],
        listen_re=UNIX_LISTEN_RE, cwd=open_apps,
    )
    with srv:
        [pid] = wait_workers(srv, 1)
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(10)
            client.connect(str(path))
            client.sendall(REQUEST)
            answer = recv_all(client)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.split(b"\r\n\r\n", 1)[1].split()[0] == str(pid).encode()
        assert_runs_as(pid, NOBODY.pw_uid, NOBODY.pw_gid, set())
        st = access_log.stat()
        assert (st.st_uid, st.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
        wait_until(lambda: '"GET / HTTP/1.1" 200' in access_log.read_text(), 5, "access line")
    assert not path.exists()


# -- daemon -----------------------------------------------------------------------------


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        return int(f.read().rsplit(b")", 1)[1].split()[1])


def ancestors() -> set[int]:
    """This process and every process above it (the ones an orphan can go to)."""
    found, pid = set(), os.getpid()
    while pid > 0:
        found.add(pid)
        pid = parent_of(pid) if pid != 1 else 0
    return found


def test_daemon_detaches_and_answers(tmp_path: Path) -> None:
    pidfile = tmp_path / "corral.pid"
    errorlog = tmp_path / "error.log"
    started = time.monotonic()
    result = corral(
        "arb_app:app", "-b", "127.0.0.1:0", "-k", "sync", "--daemon", "--chdir", str(APPS),
        "-p", str(pidfile), "--error-logfile", str(errorlog), cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10
    assert (result.stdout, result.stderr) == ("", "")
    pid = int(pidfile.read_text())
    group = os.getpgid(pid)
    assert group != os.getpgrp()
    try:
        assert os.getsid(pid) != os.getsid(0)
        assert parent_of(pid) in ancestors()  # adopted by init or a subreaper above us
        assert os.readlink(f"/proc/{pid}/fd/0") == os.devnull
        assert os.readlink(f"/proc/{pid}/cwd") == str(APPS)
        listening = re.search(r"Listening at: http://127\.0\.0\.1:(\d+) \((\d+)\)",
                              errorlog.read_text())
        assert listening is not None and int(listening.group(2)) == pid
        with socket.create_connection(("127.0.0.1", int(listening.group(1))), 10) as client:
            client.sendall(REQUEST)
            answer = recv_all(client)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert int(answer.split(b"\r\n\r\n", 1)[1].split()[0]) != pid  # a worker answered
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not alive(pid), 15, "the daemon to stop")
        wait_until(lambda: not pidfile.exists(), 5, "the pid file to go")
    finally:
        if alive(pid):
            os.killpg(group, signal.SIGKILL)


def test_daemon_reports_a_failed_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = corral("arb_app:app", "-b", f"127.0.0.1:{port}", "-k", "sync", "-D")
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"corral: error: cannot listen at 127.0.0.1:{port}: Address already in use"
    ]
