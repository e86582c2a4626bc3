"""Slow and stalled clients under load: what keeps them from costing more than
their own connection, shared by the ``asyncio`` and ``gthread`` workers.

* :class:`Shedder`: at ``--worker-connections`` these workers keep accepting;
  each new connection sheds the one whose client has been silent longest among
  those not answering a request (an idle keep-alive connection, a silent fresh
  one, the slowest trickler; a partial request gets 408), so a flood of idle or
  trickling clients cannot leave a new client in the listen backlog.  A
  connection whose request has arrived (read, or still in its socket) is never
  shed: only when every connection is answering or about to answer a request
  does a new one wait, unread, for a free place, and it gets the first place
  freed.  (The ``gevent`` worker does the same with its greenlets.)
* :func:`write_stalled`: ``--send-timeout`` for an asyncio transport.  Output a
  client does not take waits in the transport's buffer; once writing is paused
  (or a close waits to flush) nothing more is added, so any shrinking of the
  buffer is progress, and ``--send-timeout`` seconds without it drop that
  connection alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class Shedder(Generic[T]):
    """Picks the connection to shed: the ``eligible`` one with the oldest
    ``last`` activity.  The ranking is made once and reused for ``ttl`` seconds
    (re-checking each pick), so a burst of accepts costs one sort, not a scan
    per accept."""

    def __init__(self, eligible: Callable[[T], bool], last: Callable[[T], float],
                 ttl: float) -> None:
        self.eligible = eligible
        self.last = last
        self.ttl = ttl
        self.order: list[T] = []  # idlest last
        self.at = 0.0

    def pick(self, conns: Iterable[T], skip: T | None = None) -> T | None:
        """The connection to shed now (never ``skip``), or None."""
        now = time.monotonic()
        eligible = self.eligible
        if not self.order or now - self.at > self.ttl:
            self.order = sorted((c for c in conns if eligible(c)), key=self.last, reverse=True)
            self.at = now
        order = self.order
        while order:
            conn = order.pop()
            if conn is not skip and eligible(conn):
                return conn
        return None

    def forget(self) -> None:
        """Rank afresh at the next pick."""
        self.order = []


class Writer(Protocol):
    """What :func:`write_stalled` needs of a connection."""

    transport: Any
    wsize: int  # the buffer's smallest size seen while stalled (-1: not measured)
    wsince: float  # when it last shrank


def write_stalled(conn: Writer, now: float, limit: float) -> bool:
    """True when ``conn``'s output waits (writing paused, or a close waiting to
    flush) and its client took none of it for ``limit`` seconds."""
    try:
        size = conn.transport.get_write_buffer_size()
    except (AttributeError, RuntimeError):
        return False
    if size <= 0:
        return False
    if conn.wsize < 0 or size < conn.wsize:
        conn.wsize = size
        conn.wsince = now
        return False
    return now - conn.wsince > limit


__all__ = ["Shedder", "Writer", "write_stalled"]
