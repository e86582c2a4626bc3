"""Helpers for the fault and timeout tests: servers of one worker class running
``tests/apps/fault_app.py``, and small raw-HTTP clients."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from tests.support import WORKER_CLASSES, ServerProcess, recv_all

WORKERS = [name for name, _ in WORKER_CLASSES]
BOOT_RE = r"Booting worker with pid: (\d+)"
T = TypeVar("T")


def start(worker: str, *extra: str, workers: int = 1, app: str = "fault_app:application") -> ServerProcess:
    """A fault-app server of one worker class, with every worker booted."""
    srv = ServerProcess(
        [app, "-b", "127.0.0.1:0", "-w", str(workers), *dict(WORKER_CLASSES)[worker], *extra]
    )
    srv.start()
    try:
        wait_until(lambda: len(booted(srv)) >= workers, 15, f"{workers} workers booted")
        wait_until(lambda: len(srv.worker_pids()) == workers, 15, f"{workers} workers")
        if app.startswith("fault_app:"):
            wait_serving(srv, workers)
    except BaseException:
        srv.stop()
        raise
    return srv


def wait_serving(srv: ServerProcess, workers: int, timeout: float = 15.0) -> None:
    """Wait until ``workers`` distinct workers have answered (their app is loaded and
    their signal handlers are installed, so a signal now is a signal to a live worker)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        assert time.monotonic() < deadline, f"only {len(seen)} of {workers} workers answer"
        try:
            seen.add(get(srv, "/ok", timeout=5)[1].get("x-pid", ""))
        except OSError:
            time.sleep(0.05)


def booted(srv: ServerProcess) -> list[int]:
    return [int(p) for p in re.findall(BOOT_RE, srv.output())]


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get(srv: ServerProcess, path: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection; status 0 if the server closed without answer."""
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = recv_all(s)
    if not data:
        return 0, {}, b""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return int(lines[0].split(" ", 2)[1]), headers, body


class Background(Generic[T]):
    """Run ``fn`` in a thread; ``result()`` joins and returns its value or raises."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], T]) -> None:
        try:
            self.value = fn()
        except BaseException as exc:  # re-raised in result()
            self.error = exc

    def result(self, timeout: float = 30.0) -> T:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background client still running"
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]
