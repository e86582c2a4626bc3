"""The gthread loop's read of a ready connection (``read_now``): the compiled
form that keeps the GIL (``_heldread.recv``) answers as ``os.read``, its
stand-in where it is not built, does: the bytes there, b"" at the end of the
input, BlockingIOError with nothing to read, the error of a reset connection.
Checked on real connected sockets, both forms side by side, and in a process
where the compiled form is switched off."""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from corral.server.workers import _blocking_io

Read = Callable[[int, int], bytes]
READS: dict[str, Read | None] = {"os.read": os.read, "compiled": None}
if _blocking_io.HELD_READ:
    READS["compiled"] = _blocking_io.read_now


@pytest.fixture(params=list(READS))
def read(request: pytest.FixtureRequest) -> Read:
    fn = READS[request.param]
    if fn is None:
        pytest.skip("the compiled read is not built here")
    return fn


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A TCP connection on 127.0.0.1: (server side, non-blocking; client side)."""
    with socket.create_server(("127.0.0.1", 0)) as lsock:
        client = socket.create_connection(lsock.getsockname(), timeout=5)
        server, _ = lsock.accept()
    server.setblocking(False)
    try:
        yield server, client
    finally:
        server.close()
        client.close()


def wait_readable(sock: socket.socket) -> None:
    assert select.select([sock], [], [], 5)[0], "nothing arrived"


def test_the_extension_is_built_where_a_compiler_is() -> None:
    """CI machines have a C compiler: there gthread reads with the compiled form."""
    if os.environ.get("CORRAL_PURE_PYTHON"):
        assert not _blocking_io.HELD_READ and _blocking_io.read_now is os.read
    else:
        assert _blocking_io.HELD_READ, "src/corral/server/workers/_heldread.c was not built"


def test_what_is_there_then_nothing_then_the_end(read: Read,
                                                 pair: tuple[socket.socket, socket.socket]
                                                 ) -> None:
    server, client = pair
    with pytest.raises(BlockingIOError):
        read(server.fileno(), 1024)
    client.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    wait_readable(server)
    assert read(server.fileno(), 1024) == b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    client.sendall(b"abcdef")
    wait_readable(server)
    assert read(server.fileno(), 4) == b"abcd"  # no more than asked
    assert read(server.fileno(), 4) == b"ef"
    with pytest.raises(BlockingIOError):
        read(server.fileno(), 1024)
    client.shutdown(socket.SHUT_WR)
    wait_readable(server)
    assert read(server.fileno(), 1024) == b""
    assert read(server.fileno(), 0) == b""


def test_a_large_read(read: Read, pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    data = os.urandom(200_000)
    threading.Thread(target=client.sendall, args=(data,), daemon=True).start()
    got = bytearray()
    deadline = time.monotonic() + 10
    while len(got) < len(data) and time.monotonic() < deadline:
        wait_readable(server)
        got += read(server.fileno(), 65536)
    assert bytes(got) == data


def test_a_reset_connection(read: Read, pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # RST
    wait_readable(server)
    with pytest.raises(ConnectionResetError):
        read(server.fileno(), 1024)


def test_bad_arguments(read: Read) -> None:
    """Errors as os.read gives them."""
    for fd, size, error in ((1_000_000, 10, "EBADF"), (-1, 10, "EBADF"), (0, -1, "EINVAL")):
        with pytest.raises(OSError) as raised:
            read(fd, size)
        assert raised.value.errno == getattr(errno, error)
    with pytest.raises(OverflowError):
        read(1 << 40, 10)


def test_switched_off_in_a_pure_python_process() -> None:
    code = ("import os\n"
            "from corral.server.workers import _blocking_io as b\n"
            "assert b.read_now is os.read and not b.HELD_READ\n")
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "CORRAL_PURE_PYTHON": "1"},
                   check=True, timeout=60)
