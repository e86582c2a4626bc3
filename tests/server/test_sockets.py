"""Listeners: address parsing, binding in-process, and unix/fd/systemd over processes."""

from __future__ import annotations

import os
import re
import socket
import stat
import sys
from pathlib import Path

import pytest

from corral.server.config import Settings
from corral.server.sockets import (
    ListenerError,
    close_listeners,
    create_listeners,
    parse_address,
    systemd_fds,
)
from tests.server.arb_helpers import SYNC, get
from tests.support import APPS, ServerProcess, parse_response, recv_all


class NullLog:
    def debug(self, *a: object) -> None:
        pass


@pytest.mark.parametrize(
    ("bind", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:9000", ("::1", 9000)),
        ("[::1]", ("::1", 8000)),
        ("localhost", ("localhost", 8000)),
        (":5000", ("0.0.0.0", 5000)),
        ("unix:/tmp/x.sock", "/tmp/x.sock"),
        ("fd://3", "fd://3"),
    ],
)
def test_parse_address(bind: str, expected: object) -> None:
    assert parse_address(bind) == expected


@pytest.mark.parametrize("bind", ["host:port", "[::1", "1.2.3.4:70000"])
def test_parse_address_rejects(bind: str) -> None:
    with pytest.raises(ListenerError):
        parse_address(bind)


def test_inet_listeners_real_port_and_options() -> None:
    settings = Settings(bind=["127.0.0.1:0", "[::1]:0"], backlog=16)
    try:
        listeners = create_listeners(settings, NullLog())
    except ListenerError as e:  # hosts without IPv6
        pytest.skip(str(e))
    try:
        v4, v6 = listeners
        port4 = v4.sock.getsockname()[1]
        assert v4.url == f"http://127.0.0.1:{port4}" and port4 != 0
        assert v6.url.startswith("http://[::1]:") and v6.family == socket.AF_INET6
        for lst in listeners:
            assert lst.sock.getblocking() is False
            assert lst.sock.get_inheritable()
            assert lst.sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
            assert lst.ssl_context is None
    finally:
        close_listeners(listeners)


def test_address_in_use_is_an_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ListenerError, match=f"127.0.0.1:{port}"):
            create_listeners(Settings(bind=[f"127.0.0.1:{port}"]), NullLog())


def test_unix_socket_stale_file_replaced_live_one_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    (lst,) = create_listeners(Settings(bind=[f"unix:{path}"]), NullLog())
    try:
        assert lst.url == f"unix:{path}" and lst.family == socket.AF_UNIX
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        with pytest.raises(ListenerError, match="another server"):
            create_listeners(Settings(bind=[f"unix:{path}"]), NullLog())
    finally:
        close_listeners([lst])
    assert not os.path.exists(path)


@pytest.mark.parametrize(("umask", "mode"), [(0, 0o777), ("022", 0o755), (0o077, 0o700)])
def test_unix_socket_mode_follows_umask(tmp_path: Path, umask: object, mode: int) -> None:
    path = str(tmp_path / "m.sock")
    (lst,) = create_listeners(Settings(bind=[f"unix:{path}"], umask=umask), NullLog())
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
    finally:
        close_listeners([lst])


def test_unix_path_that_is_not_a_socket_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    path.write_text("x")
    with pytest.raises(ListenerError, match="not a socket"):
        create_listeners(Settings(bind=[f"unix:{path}"]), NullLog())
    assert path.read_text() == "x"


def test_systemd_fds_only_for_this_pid() -> None:
    env = {"LISTEN_FDS": "2", "LISTEN_PID": str(os.getpid() + 1)}
    assert systemd_fds(env) == [] and "LISTEN_FDS" in env
    env = {"LISTEN_FDS": "2", "LISTEN_PID": str(os.getpid()), "LISTEN_FDNAMES": "a:b"}
    assert systemd_fds(env) == [3, 4]
    assert env == {}


def test_server_on_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "corral.sock")
    srv = ServerProcess(
        ["arb_app:app", "-b", f"unix:{path}", *SYNC],
        listen_re=re.compile(r"Listening at: unix:(\S+) \((\d+)\)"),
    )
    with srv:
        assert srv.host == path
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(path)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert parse_response(recv_all(s))[0] == 200
        srv.signal(15)
        assert srv.wait(10) == 0
    assert not os.path.exists(path)


@pytest.mark.parametrize("mode", ["fd", "systemd"])
def test_inherited_socket(mode: str) -> None:
    bind = ["-b", "fd://3"] if mode == "fd" else []
    srv = ServerProcess(
        [str(APPS / "arb_launch.py"), mode, "arb_app:app", *bind, *SYNC],
        command=[sys.executable],
        listen_re=re.compile(r"Listening at: http://(127\.0\.0\.1):(\d+)"),
    )
    with srv:
        launched = int(srv.wait_for(r"Listening socket port: (\d+)").group(1))
        assert srv.port == launched
        assert get(srv)[0] == 200
        # the activation variables are not passed on to the application
        assert get(srv, "/env?LISTEN_FDS")[1] == b"-"
