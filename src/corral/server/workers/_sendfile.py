"""``os.sendfile`` for the ``asyncio`` worker's plain (non-TLS) connections.

A :class:`~corral.server.http.response.FileChunk` goes straight from the file to
the socket, without passing through Python, once everything written to the
transport before it has gone out (the transport's write buffer is empty: the
bytes on the wire stay in order).  The socket is non-blocking; when the kernel
takes no more, :class:`FileSender` waits for the socket to become writable
through the loop.  Neither asyncio's selector loop nor uvloop lets a reader or
writer be added on a descriptor a transport owns (and uvloop does not implement
``loop.sendfile``), so the wait is registered on a duplicate of the descriptor,
made only when a wait is needed and closed when the chunk is done or the
connection is lost.  While the sender holds it the transport writes nothing
(the response's output waits for the chunk), so the two never interleave.

A reader on the same machine can drain the socket as fast as the kernel fills it,
so one ``os.sendfile`` call is capped (:data:`~._blocking_io.MAX_CALL`) and a few
calls at most are made before the loop serves other connections.

``--send-timeout`` holds as for buffered writes: a client that takes no byte
for that long loses its connection (and only it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from corral.server.http.response import FileChunk
from corral.server.workers._blocking_io import MAX_CALL

_now = time.monotonic
BURST = 4  # sendfile calls per writable event before letting other connections run


def file_fd(chunk: FileChunk) -> int:
    """The descriptor of ``chunk``'s file, or -1 when it has none."""
    try:
        return int(chunk.file.fileno())
    except (AttributeError, OSError, ValueError):
        return -1


class FileSender:
    """Send one :class:`FileChunk` on a connection's socket from the event loop;
    ``done(True)`` once it all went out (or the file turned out shorter),
    ``done(False)`` when the connection failed or stalled (it is then aborted)."""

    __slots__ = ("proto", "transport", "loop", "chunk_fd", "offset", "left", "sock_fd",
                 "wait_fd", "done", "timeout", "last", "timer", "sent", "finished", "ok", "pending",
                 "calls", "steps")

    def __init__(self, proto: Any, chunk: FileChunk, chunk_fd: int, timeout: float,
                 done: Callable[[bool], None]) -> None:
        self.proto = proto
        self.transport = proto.transport
        self.loop = proto.mgr.loop
        self.chunk_fd = chunk_fd
        self.offset = chunk.offset
        self.left = chunk.count
        self.sock_fd = proto.fileno()
        self.wait_fd = -1  # the duplicate descriptor the loop watches, once needed
        self.done = done
        self.timeout = timeout
        self.last = _now()
        self.timer: Any = None
        self.sent = 0
        self.finished = False
        self.ok = False
        self.pending = False  # start() returned: report the end through done()
        self.calls = self.steps = 0  # for the debug line

    def start(self) -> bool | None:
        """Send what the socket takes now: True when that was all of it, False
        when the connection failed (it is aborted), None when the rest follows
        from the loop (``done`` then tells how it ended)."""
        if self.sock_fd < 0:  # the socket is already closed
            self.proto.abort()
            return False
        self._step()
        if self.finished:
            return self.ok
        self.pending = True
        if self.timeout:
            self.timer = self.loop.call_later(self.timeout, self._check)
        return None

    def _step(self) -> None:
        self.steps += 1
        if self.finished:
            return
        proto = self.proto
        if proto.closing or proto.lost:
            self._end(False)
            return
        if self.transport.get_write_buffer_size():  # earlier output still going out
            self._wait()
            return
        for _ in range(BURST):
            self.calls += 1
            try:
                n = os.sendfile(self.sock_fd, self.chunk_fd, self.offset, min(self.left, MAX_CALL))
            except BlockingIOError:
                break
            except OSError:  # the client went away
                self.proto.abort()
                self._end(False)
                return
            if n == 0:  # the file is shorter than announced
                self._end(True)
                return
            self.offset += n
            self.left -= n
            self.sent += n
            self.last = proto.wsince = _now()
            if self.left <= 0:
                self._end(True)
                return
        self._wait()

    def _wait(self) -> None:
        if self.wait_fd < 0:
            try:
                self.wait_fd = os.dup(self.sock_fd)
                self.loop.add_writer(self.wait_fd, self._step)
            except (OSError, RuntimeError, ValueError):
                self.proto.abort()
                self._end(False)

    def _check(self) -> None:
        """--send-timeout: no byte taken for that long closes the connection."""
        self.timer = None
        if self.finished:
            return
        idle = _now() - self.last
        if idle >= self.timeout:
            self.proto.mgr.worker.log.debug(
                "Closing a connection whose client read nothing for %ss", self.timeout)
            self.proto.abort()
            self._end(False)
            return
        self.timer = self.loop.call_later(self.timeout - idle, self._check)

    def cancel(self) -> None:
        """The connection is gone: let go of the descriptor, report failure."""
        self._end(False)

    def _end(self, ok: bool) -> None:
        if self.finished:
            return
        self.finished = True
        self.ok = ok
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        fd, self.wait_fd = self.wait_fd, -1
        if fd >= 0:
            try:
                self.loop.remove_writer(fd)
            finally:
                os.close(fd)  # the transport's own descriptor keeps the socket open
        if ok:
            self.proto.mgr.worker.log.debug(
                "Sent %d bytes of a file with sendfile (%d calls in %d steps)",
                self.sent, self.calls, self.steps)
        if self.pending:
            self.done(ok)


__all__ = ["FileSender", "file_fd"]
