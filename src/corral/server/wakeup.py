"""A self-pipe: a loop that waits on descriptors (the arbiter's ``select``,
the ``gthread`` worker's ``epoll``) is woken from a signal handler or another
thread by a byte written to it.

``wake()`` may be called from anywhere, any number of times, also after
``close()``: a pipe already full or closed means a wake-up is pending or no
longer wanted.  ``close()`` marks the pipe closed before it closes the
descriptors, so a late ``wake()`` never writes into whatever takes their
numbers next.
"""

from __future__ import annotations

import errno
import os


class WakePipe:
    __slots__ = ("r", "w")

    def __init__(self) -> None:
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def wake(self) -> None:
        try:
            os.write(self.w, b".")
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EBADF):
                raise

    def drain(self) -> None:
        """Read every pending wake-up byte."""
        try:
            while os.read(self.r, 4096):
                pass
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EINTR, errno.EBADF):
                raise

    def close(self) -> None:
        r, w = self.r, self.w
        if r < 0:
            return
        self.r = self.w = -1
        os.close(r)
        os.close(w)


__all__ = ["WakePipe"]
