"""Shared helpers for the arbiter, signal and listener process tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.support import WORKER_CLASSES, ServerProcess

# Worker classes the fault tests run against.
FAULT_WORKERS = WORKER_CLASSES
FAULT_IDS = [name for name, _ in FAULT_WORKERS]
SYNC = ["-k", "sync"]


class ArbServer(ServerProcess):
    """A ServerProcess that prints the server's log when the test fails."""

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            print(f"--- server output ---\n{self.output()}")
        super().__exit__(*exc)


def start(*args: str, workers: list[str] | None = None, **kw: object) -> ServerProcess:
    """A started server for ``tests/apps/arb_app.py`` (or the spec given first)."""
    argv = list(args)
    if not argv or argv[0].startswith("-"):
        argv.insert(0, "arb_app:app")
    srv = ArbServer([*argv, "-b", "127.0.0.1:0", *(workers or SYNC)], **kw)  # type: ignore[arg-type]
    return srv.start()


def get(srv: ServerProcess, path: str = "/", timeout: float = 10.0) -> tuple[int, bytes]:
    data = srv.request(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(), timeout
    )
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def wait_until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or cond}")


def wait_workers(srv: ServerProcess, n: int, timeout: float = 10.0) -> list[int]:
    """Wait until the arbiter has exactly ``n`` children that answer requests."""
    wait_until(lambda: len(srv.worker_pids()) == n, timeout, f"{n} workers")
    return srv.worker_pids()


def proc_title(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode().strip()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left to an uninterested reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != b"Z"


def wait_serving(srv: ServerProcess, pids: list[int], timeout: float = 10.0) -> None:
    """Make requests until each worker in ``pids`` has answered one (all booted)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while not set(pids) <= seen:
        assert time.monotonic() < deadline, f"workers {pids} not all serving: {seen}"
        status, body = get(srv)
        if status == 200:
            seen.add(int(body.split()[0]))
