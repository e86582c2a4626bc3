"""Closing a connection without losing what is on it.

Two rules, shared by every worker class:

* **An idle keep-alive connection is closed only when no request is on its way.**
  :func:`pending_bytes` tells whether bytes of a next request already sit in the
  kernel's receive queue; such a connection is not idle: its request is read and
  answered (with ``Connection: close`` when the worker is stopping).

  When the worker stops gracefully, an idle keep-alive connection whose last
  response said it could stay is closed once it has been quiet for
  :data:`STOP_IDLE_GRACE` seconds (or its keep-alive timeout, if shorter): a
  client busy on it sends its next request well within that, and gets it
  answered with ``Connection: close``; a client that left it idle is let go
  quickly, so a stop does not wait for every idle connection's timeout.

* **Lingering close** (RFC 9112 section 9.6): when the server answers an error
  while the client is still sending (a body over ``--limit-request-body``, a
  malformed request, a timed-out upload), closing the socket at once would make
  the kernel answer the unread input with a reset, which destroys the response
  before the client reads it.  Instead the write side is shut (the client sees
  the end of the response), and whatever still arrives is read and thrown away
  until the client closes, for at most :data:`LINGER_TIME` seconds in all,
  :data:`LINGER_TIMEOUT` seconds between two reads and :data:`LINGER_BYTES`
  bytes (nginx's ``lingering_close``, with its default times).

:class:`Lingering` is the sans-IO bookkeeping for event-loop workers;
:func:`linger_close` is the blocking form for workers that own a thread (or a
greenlet) per connection.
"""

from __future__ import annotations

import array
import fcntl
import socket
import termios
import time
from collections.abc import Callable

STOP_IDLE_GRACE = 1.0  # seconds of quiet before a stopping worker closes an idle connection
LINGER_TIME = 30.0  # seconds a lingering close may last in all
LINGER_TIMEOUT = 5.0  # seconds to wait for the next bytes before giving up
LINGER_BYTES = 64 << 20  # bytes read and discarded at most
RECV_SIZE = 65536


def pending_bytes(fd: int) -> int:
    """Bytes waiting in the receive queue of socket ``fd`` (0 when unknown)."""
    buf = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, buf, True)
    except (OSError, ValueError):
        return 0
    return buf[0]


class Lingering:
    """The limits of one lingering close: feed it what was read, ask when to stop."""

    __slots__ = ("deadline", "last", "got")

    def __init__(self, now: float) -> None:
        self.deadline = now + LINGER_TIME
        self.last = now
        self.got = 0

    def read(self, size: int, now: float) -> bool:
        """``size`` bytes were read and discarded; False when the limits are reached."""
        self.got += size
        self.last = now
        return size > 0 and self.got < LINGER_BYTES and now < self.deadline

    def expired(self, now: float) -> bool:
        return now >= self.deadline or now - self.last >= LINGER_TIMEOUT


def shut_write(sock: socket.socket) -> None:
    """Send our end of stream (FIN) while still reading."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except (OSError, ValueError):
        pass


def linger_close(sock: socket.socket, notify: Callable[[], None] | None = None) -> None:
    """Blocking lingering close of ``sock`` (after the response was sent);
    ``notify`` is called between reads (the worker's heartbeat)."""
    try:
        shut_write(sock)
        state = Lingering(time.monotonic())
        while True:
            now = time.monotonic()
            wait = min(state.deadline - now, LINGER_TIMEOUT)
            if wait <= 0:
                break
            sock.settimeout(wait)
            data = sock.recv(RECV_SIZE)
            if notify is not None:
                notify()
            if not state.read(len(data), time.monotonic()):
                break
    except (OSError, ValueError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def close_or_linger(sock: socket.socket, unfinished: bool,
                    notify: Callable[[], None] | None = None) -> None:
    """Close ``sock`` after its last response: lingering when the request was not
    read to its end or more bytes wait to be read, at once otherwise."""
    try:
        fd = sock.fileno()
    except (OSError, ValueError):
        return
    if fd < 0:
        return
    if unfinished or pending_bytes(fd):
        linger_close(sock, notify)
    else:
        try:
            sock.close()
        except OSError:
            pass
