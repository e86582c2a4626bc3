"""Sending and receiving on sockets a thread blocks on (the sync, gthread and
gevent workers; the asyncio worker's inline reads of a ``100 Continue`` body).

Reads of a request body the application asked for (:func:`body_reader`,
:func:`fd_reader`) wait at most ``--body-timeout`` between reads and give up
when the client sends slower than ``--min-data-rate``.

Writes are bounded by progress, not by total time.

A client that stops reading a large response must cost its own connection and
nothing else.  ``socket.sendall`` with a timeout bounds the *whole* write (a
slow but steady reader of a big file gets cut off) and, in the sync worker,
blocks the heartbeat.  :func:`send_all` and :func:`send_file` instead fail with
:class:`TimeoutError` only once ``timeout`` seconds pass with no byte accepted
by the kernel (``--send-timeout``); while they wait they call ``beat`` every
``step`` seconds (the sync worker's heartbeat), so a stalled reader is never
taken for a stuck application.

A pool thread writing to a client that does not read gives the thread back
sooner when it is needed: with ``needed`` (true while other requests wait for a
thread), a write that made no progress for :data:`YIELD_AFTER` seconds fails
at once, closing that connection, so stalled readers cannot starve the pool.

They work on plain, TLS and gevent sockets: the socket is put in timeout mode
(non-blocking underneath), and each ``send`` takes what the kernel accepts.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable

from corral.server.http.response import FileChunk
from corral.server.workers._buffered import Timeouts, file_pieces

_now = time.monotonic
RECV_SIZE = 65536  # bytes asked for per read
YIELD_AFTER = 2.0  # seconds without progress after which a needed thread gives up
# bytes one os.sendfile call may send: with a fast local reader a call for the whole
# file can run for a long time, holding up the other connections of a loop or hub
MAX_CALL = 2 << 20


# read_now(fd, size) -> bytes: what a non-blocking socket holds (b"" at its
# end; BlockingIOError when nothing is there).  socket.recv and os.read let
# other threads take the GIL for the length of the call, which for a read that
# cannot block only hands the interpreter to a pool thread that the reader then
# waits on: the gthread loop reads its ready connections with the compiled form
# (src/corral/server/workers/_heldread.c), which keeps the GIL; os.read is the
# same read where that is not built (or with CORRAL_PURE_PYTHON).
read_now: Callable[[int, int], bytes] = os.read
HELD_READ = False
if not os.environ.get("CORRAL_PURE_PYTHON"):
    try:
        from corral.server.workers import _heldread  # type: ignore[attr-defined]
    except ImportError:  # built without a compiler
        pass
    else:
        read_now = _heldread.recv
        HELD_READ = True


class SendStalled(TimeoutError):
    """No byte of the response went out for ``--send-timeout`` seconds."""


def wait_step(timeout: float | None, beat: Callable[[], object] | None,
              every: float = 1.0) -> float | None:
    """The socket timeout for one wait: the send timeout, or less when
    something must be done in between (None: block without bound)."""
    if beat is None:
        return timeout or None
    return min(timeout, every) if timeout else every


def _stalled(timeout: float | None, step: float | None, last: float,
             needed: Callable[[], bool] | None) -> str | None:
    """Why to give up after a wait without progress, or None to wait on."""
    waited = _now() - last
    if timeout and (step == timeout or waited >= timeout):
        return f"no progress writing the response for {timeout:g}s"
    if needed is not None and waited >= YIELD_AFTER and needed():
        return f"no progress for {waited:.0f}s while other requests wait for a thread"
    return None


def send_now(sock: socket.socket, data: bytes | memoryview) -> int:
    """What the kernel takes of ``data`` at once, on a non-blocking plain socket."""
    try:
        return sock.send(data)
    except BlockingIOError:
        return 0


def send_all(sock: socket.socket, data: bytes | memoryview, timeout: float | None,
             beat: Callable[[], object] | None = None, every: float = 1.0,
             needed: Callable[[], bool] | None = None) -> None:
    """Send all of ``data``; :class:`SendStalled` after ``timeout`` seconds (None
    or 0: no bound) without progress (or sooner, see ``needed`` above)."""
    # a non-blocking plain socket stays non-blocking (no system call to switch
    # it back and forth): its waits are select() calls, and it first takes
    # what fits at once, usually all of it, before anything is set up to wait
    polled = sock.gettimeout() == 0.0 and type(sock) is socket.socket
    view = data
    if polled:
        n = send_now(sock, view)
        if n == len(view):
            return
        view = memoryview(view)[n:]
    if needed is not None and beat is None:
        beat = _nothing
    step = wait_step(timeout, beat, every)
    if not polled and sock.gettimeout() != step:
        sock.settimeout(step)
    last = _now()
    while True:
        try:
            n = sock.send(view)
        except (TimeoutError, BlockingIOError) as e:
            if e.__class__ is BlockingIOError and select.select([], [sock], [], step)[1]:
                continue
            if beat is not None:
                beat()
            why = _stalled(timeout, step, last, needed)
            if why is not None:
                raise SendStalled(why) from None
            continue
        if n == len(view):  # the common case: the kernel took it all at once
            return
        view = memoryview(view)[n:]
        last = _now()


def send_file(sock: socket.socket, chunk: FileChunk, timeout: float | None,
              beat: Callable[[], object] | None = None, every: float = 1.0,
              needed: Callable[[], bool] | None = None) -> bool:
    """Send part of a file: ``os.sendfile`` on plain sockets, read+send otherwise;
    the same progress bounds as :func:`send_all`.  True when it went out with
    ``os.sendfile``."""
    if needed is not None and beat is None:
        beat = _nothing
    try:
        infd = chunk.file.fileno()
    except (AttributeError, OSError, ValueError):
        infd = -1
    if type(sock) is not socket.socket or infd < 0:
        for piece in file_pieces(chunk):
            send_all(sock, piece, timeout, beat, every, needed)
        return False
    step = wait_step(timeout, beat, every)
    if sock.gettimeout() != step:
        sock.settimeout(step)  # (a timeout makes the descriptor non-blocking)
    fd = sock.fileno()
    offset, left = chunk.offset, chunk.count
    last = _now()
    while left > 0:
        try:
            n = os.sendfile(fd, infd, offset, min(left, MAX_CALL))
        except BlockingIOError:
            n = -1
        if n == 0:  # the file is shorter than announced
            return True
        if n > 0:
            offset += n
            left -= n
            last = _now()
            if n == MAX_CALL:
                time.sleep(0)  # under gevent: let the hub's other greenlets run
            continue
        if select.select([], [fd], [], step)[1]:
            continue
        if beat is not None:
            beat()
        why = _stalled(timeout, step, last, needed)
        if why is not None:
            raise SendStalled(why)
    return True


def _nothing() -> None:
    pass


def body_reader(sock: socket.socket, timeout: float | None, rates: Timeouts,
                pause: Callable[[], object], resume: Callable[[], object]
                ) -> Callable[[], bytes]:
    """``recv()`` for a body the app reads after ``100 Continue`` on a socket a
    thread blocks on: at most ``timeout`` (--body-timeout) between reads, no
    slower than --min-data-rate from the first call.  ``pause``/``resume``
    bracket each wait: it is the client's time, not the app's (--timeout)."""
    start = _now()
    received = 0

    def recv() -> bytes:
        nonlocal received
        wait = timeout or None
        floor = rates.rate_deadline(received, start)
        if floor is not None:
            left = floor - _now()
            if left <= 0:
                raise TimeoutError("the body came slower than --min-data-rate")
            wait = min(wait or left, left)
        sock.settimeout(wait)
        pause()
        try:
            data = sock.recv(RECV_SIZE)
        finally:
            resume()
        received += len(data)
        return data

    return recv


def fd_reader(fd: int, timeout: float, rates: Timeouts | None = None) -> Callable[[], bytes]:
    """``recv()`` for :func:`fetch_blocking` on a non-blocking descriptor: at most
    ``timeout`` between reads, and (with ``rates``) no slower than
    ``--min-data-rate`` from the first call."""
    start = time.monotonic()
    received = 0

    def recv() -> bytes:
        nonlocal received
        while True:
            wait = timeout or None
            floor = rates.rate_deadline(received, start) if rates is not None else None
            if floor is not None:
                left = max(0.0, floor - time.monotonic())
                wait = min(wait or left, left)
            readable, _, _ = select.select([fd], [], [], wait)
            if not readable:
                raise TimeoutError("timed out reading the request body")
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            received += len(data)
            return data

    return recv


__all__ = ["MAX_CALL", "RECV_SIZE", "YIELD_AFTER", "SendStalled", "body_reader", "fd_reader", "send_all",
           "send_file", "wait_step"]
