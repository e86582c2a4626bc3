"""The self-pipe shared by the arbiter and the gthread worker."""

from __future__ import annotations

import select

from corral.server.wakeup import WakePipe


def test_wake_makes_it_readable_until_drained() -> None:
    pipe = WakePipe()
    try:
        assert select.select([pipe.r], [], [], 0)[0] == []
        for _ in range(100_000):  # more than the pipe holds: a full pipe is a pending wake-up
            pipe.wake()
        assert select.select([pipe.r], [], [], 0)[0] == [pipe.r]
        pipe.drain()
        assert select.select([pipe.r], [], [], 0)[0] == []
    finally:
        pipe.close()


def test_wake_after_close_writes_nowhere() -> None:
    pipe = WakePipe()
    pipe.close()
    pipe.close()
    pipe.wake()  # a late caller (a signal, a stuck thread) is harmless
    pipe.drain()
    assert (pipe.r, pipe.w) == (-1, -1)
