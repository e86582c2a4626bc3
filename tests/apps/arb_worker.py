"""Worker classes for the arbiter's boot-failure tests."""

from __future__ import annotations

from typing import Any

from corral.server.workers.base import Worker


class BrokenWorker(Worker):
    """Fails after the app loaded, while building its request cycle: exit 3."""

    def make_cycle(self) -> Any:
        raise RuntimeError("a worker class that cannot boot")

    def run(self) -> None:  # never reached
        raise AssertionError("unreachable")
