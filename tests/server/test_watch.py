"""The stuck-request watch is read by the main thread while request threads add
and remove their requests: checking it never fails on a set that changed."""

from __future__ import annotations

import sys
import threading
import time
from types import SimpleNamespace

from corral.server.workers._threads import Watch


def test_expired_while_threads_come_and_go() -> None:
    worker = SimpleNamespace(timeout=30)
    watch = Watch(worker)
    stop = threading.Event()

    def requests() -> None:  # as gthread's pool threads do, one request after another
        while not stop.is_set():
            job = watch.add(object())
            job.begin()
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
