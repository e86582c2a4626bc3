"""Blocking response writes bounded by progress, not by total time.

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
from corral.server.workers._buffered import file_pieces

_now = time.monotonic
YIELD_AFTER = 2.0  # seconds without progress after which a needed thread gives up


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


def send_all(sock: socket.socket, data: bytes | memoryview, timeout: float | None,
             beat: Callable[[], object] | None = None, every: float = 1.0,
             needed: Callable[[], bool] | None = None) -> None:
    """Send all of ``data``; :class:`SendStalled` after ``timeout`` seconds (None
    or 0: no bound) without progress (or sooner, see ``needed`` above)."""
    if needed is not None and beat is None:
        beat = _nothing
    step = wait_step(timeout, beat, every)
    # a non-blocking plain socket stays non-blocking (no system call to switch
    # it back and forth): its waits are select() calls
    polled = sock.gettimeout() == 0.0 and type(sock) is socket.socket
    if not polled and sock.gettimeout() != step:
        sock.settimeout(step)
    view = data
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
              needed: Callable[[], bool] | None = None) -> None:
    """Send part of a file: ``os.sendfile`` on plain sockets, read+send otherwise;
    the same progress bounds as :func:`send_all`."""
    if needed is not None and beat is None:
        beat = _nothing
    try:
        infd = chunk.file.fileno()
    except (AttributeError, OSError, ValueError):
        infd = -1
    if type(sock) is not socket.socket or infd < 0:
        for piece in file_pieces(chunk):
            send_all(sock, piece, timeout, beat, every, needed)
        return
    step = wait_step(timeout, beat, every)
    if sock.gettimeout() != step:
        sock.settimeout(step)  # (a timeout makes the descriptor non-blocking)
    fd = sock.fileno()
    offset, left = chunk.offset, chunk.count
    last = _now()
    while left > 0:
        try:
            n = os.sendfile(fd, infd, offset, left)
        except BlockingIOError:
            n = -1
        if n == 0:  # the file is shorter than announced
            return
        if n > 0:
            offset += n
            left -= n
            last = _now()
            continue
        if select.select([], [fd], [], step)[1]:
            continue
        if beat is not None:
            beat()
        why = _stalled(timeout, step, last, needed)
        if why is not None:
            raise SendStalled(why)


def _nothing() -> None:
    pass


__all__ = ["YIELD_AFTER", "SendStalled", "send_all", "send_file", "wait_step"]
