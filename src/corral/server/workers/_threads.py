"""The thread pool and stuck-request watch shared by the threaded workers.

In the ``gthread`` worker and the ``asyncio`` worker with ``--threads N`` the
application runs in pool threads while the main thread keeps doing I/O and
heartbeats, so the arbiter never sees a stuck request.  :class:`Watch` keeps a
deadline per running request; the worker checks it periodically and, for a
request over ``--timeout``, answers 503 to its client, logs the stuck thread's
stack and stops gracefully so the arbiter replaces it.  The deadline measures the
application alone: while a request's thread waits for its client to take the
response (:meth:`Job.pause` .. :meth:`Job.resume`), its clock stops; a client
that stops reading is bounded by ``--send-timeout`` instead, which closes only
that connection.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from corral.server.workers.base import call_hook


class ThreadPool:
    """``size`` daemon threads running submitted callables in order."""

    def __init__(self, size: int, log: Any, name: str = "corral-app") -> None:
        self.log = log
        self._q: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True)
            for i in range(max(1, size))
        ]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._q.put((fn, args))

    def needed(self) -> bool:
        """Work is waiting for a thread (every thread is busy)."""
        return not self._q.empty()

    def _run(self) -> None:
        get = self._q.get
        while True:
            item = get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except BaseException:  # never let one request kill a pool thread
                self.log.exception("Unhandled error in a request thread")

    def shutdown(self, wait: float = 0.0) -> None:
        for _ in self._threads:
            self._q.put(None)
        deadline = time.monotonic() + wait
        for t in self._threads:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            t.join(left)


class Job:
    """One request running in a pool thread."""

    __slots__ = ("owner", "started", "ident", "timed_out", "waiting")

    def __init__(self, owner: Any, started: float = 0.0, ident: int | None = None) -> None:
        self.owner = owner  # the connection the request came on
        self.started = started  # set by the pool thread when it starts the request
        self.ident = ident  # that thread's
        self.timed_out = False
        self.waiting = 0.0  # since when the thread waits for the client (0: it does not)

    def pause(self) -> None:
        """In the pool thread: from now on it waits for the client, not the app."""
        self.waiting = time.monotonic()

    def resume(self) -> None:
        """In the pool thread: back to the app; the wait does not count."""
        waited = self.waiting
        if waited:
            self.started += time.monotonic() - waited  # first, then the flag
            self.waiting = 0.0


class Watch:
    """The requests running in pool threads, checked against ``--timeout``."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.timeout = float(worker.timeout or 0)
        self.jobs: set[Job] = set()
        # discard(job): the request is over (the set's own method: no Python
        # call between a pool thread and the set)
        self.discard: Callable[[Job], None] = self.jobs.discard

    def begin(self, owner: Any, job: Job | None = None) -> Job:
        """In the pool thread: a request starts now, timed from here on.
        ``job``: the one made for it when it was queued (whose owner keeps
        it to know its request is in a thread), else a new one."""
        if job is None:
            job = Job(owner, time.monotonic(), threading.get_ident())
        else:
            job.started = time.monotonic()
            job.ident = threading.get_ident()
        self.jobs.add(job)
        return job

    def expired(self) -> list[Job]:
        """Jobs over the timeout, each reported once (stack logged, worker
        asked to stop so the arbiter replaces it)."""
        if not self.timeout or not self.jobs:
            return []
        limit = time.monotonic() - self.timeout
        # over a copy, made in one step: gthread's request threads add and
        # remove their jobs meanwhile
        out = [j for j in list(self.jobs)
               if j.started and not j.timed_out and not j.waiting and j.started < limit]
        for job in out:
            job.timed_out = True
            self.jobs.discard(job)
            self.report(job)
        return out

    def report(self, job: Job) -> None:
        worker = self.worker
        worker.alive = False
        worker.aborted = True
        call_hook(worker.settings, worker.log, "worker_abort", worker)
        frame = sys._current_frames().get(job.ident) if job.ident is not None else None
        worker.log_timeout(frame)
