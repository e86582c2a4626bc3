"""The stuck-request watch is read by the main thread while request threads add
and remove their requests: checking it never fails on a set that changed."""

from __future__ import annotations

import sys
import threading
import time
from types import SimpleNamespace

import pytest

from corral.server.workers._threads import Job, Watch


@pytest.mark.parametrize("queued", [False, True], ids=["gthread", "asyncio-threads"])
def test_expired_while_threads_come_and_go(queued: bool) -> None:
    worker = SimpleNamespace(timeout=30)
    watch = Watch(worker)
    stop = threading.Event()

    def requests() -> None:  # as pool threads do, one request after another
        while not stop.is_set():
            owner = object()
            # asyncio --threads makes the job when it queues the request
            job = watch.begin(owner, Job(owner) if queued else None)
            assert job.started and job.ident == threading.get_ident()
            watch.discard(job)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    threads = [threading.Thread(target=requests, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 1.5
        checks = 0
        while time.monotonic() < deadline and checks < 200_000:
            assert watch.expired() == []  # nothing is over 30 s
            checks += 1
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        sys.setswitchinterval(interval)
