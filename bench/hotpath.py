"""Where the time goes per request in the ``asyncio`` worker (hello app).

Drives :class:`corral.server.workers.asyncio.HttpProtocol` in-process with a
fake transport (no system calls, no event loop), so the figure is the Python
work per request: parsing, environ, the app, framing, the worker's own
bookkeeping.  Then runs the same loop under cProfile and groups the time by
module.  Saved to ``bench/results/hotpath.json``.

    python bench/hotpath.py [--requests 50000]

For a live worker (with the event loop and system calls) use
``-k bench.profile_worker:ProfiledAsyncioWorker``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.apps import hello
from bench.common import machine, now, save
from corral.server.config import Settings
from corral.server.logging import Logger
from corral.server.workers.asyncio import (
    AsyncioWorker,
    ConnectionManager,
    HttpProtocol,
    new_event_loop,
)

REQUEST = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\n"
           b"Accept: */*\r\n\r\n")


class FakeTransport:
    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1

    def get_extra_info(self, key: str) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(key)

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def protocol() -> HttpProtocol:
    settings = Settings()
    worker = AsyncioWorker(0, 0, [], lambda: hello, settings, Logger(settings))
    worker.wsgi = hello
    worker.cycle = worker.make_cycle()
    worker.notify = lambda: None  # type: ignore[method-assign]
    mgr = ConnectionManager(worker, new_event_loop("auto"))
    proto = HttpProtocol(mgr, None)
    proto.connection_made(FakeTransport())
    return proto


def group(path: str) -> str:
    for key in ("quick", "parser", "strict", "environ", "response", "cycle", "body", "logging"):
        if f"/http/{key}.py" in path or f"/server/{key}.py" in path:
            return f"http/{key}.py" if key != "logging" else "logging.py"
    if "/workers/" in path:
        return "workers (asyncio.py, _buffered.py, base.py)"
    if "bench/apps.py" in path:
        return "the app"
    return "builtins / C calls"


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=50000)
    args = ap.parse_args(argv)
    n = args.requests
    proto = protocol()
    receive = proto.data_received
    release = proto.mgr.release_held  # what the loop does at the end of its pass

    def fresh() -> list[bytes]:
        """A new bytes object per request, as each read gives (no cached hash)."""
        return [bytes(bytearray(REQUEST)) for _ in range(n)]

    def feed(data: bytes) -> None:
        receive(data)
        release()

    for req in fresh()[:2000]:
        feed(req)
    best = float("inf")
    for _ in range(3):
        batch = fresh()
        t0 = time.perf_counter()
        for req in batch:
            feed(req)
        best = min(best, (time.perf_counter() - t0) / n)
    batch = fresh()
    prof = cProfile.Profile()
    prof.enable()
    for req in batch:
        feed(req)
    prof.disable()
    stats = pstats.Stats(prof)
    by_group: dict[str, float] = defaultdict(float)
    top = []
    for (path, line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_group[group(path)] += tt
        top.append((tt, f"{Path(path).name}:{line}({func})"))
    total = sum(by_group.values())
    shares = {k: v / total for k, v in sorted(by_group.items(), key=lambda kv: -kv[1])}
    top.sort(reverse=True)
    data = {
        "machine": machine(),
        "date": now(),
        "command": f"python bench/hotpath.py --requests {n}",
        "us_per_request": best * 1e6,
        "shares": shares,
        "top": [{"function": f, "share": t / total} for t, f in top[:12]],
    }
    save("hotpath", data)
    print(f"{best * 1e6:.1f} us of Python per request (no syscalls)")
    for k, v in shares.items():
        print(f"  {v:6.1%}  {k}")
    return data


if __name__ == "__main__":
    main()
