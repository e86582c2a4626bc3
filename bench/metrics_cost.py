"""Per-request cost of --metrics-bind: what a worker does for each request (the
in-flight gauge up, then Metrics.observe: a counter, a histogram and the gauge down),
timed in a process writing to a multiprocess directory as a worker does.

    .venv/bin/python bench/metrics_cost.py [N]
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    from corral.server import metrics

    m = metrics.enable()
    try:
        statuses = ["200 OK", "404 Not Found", "200 OK", "302 Found"]
        inc = m.in_flight.inc
        observe = m.observe
        for _ in range(1000):  # warm up: label children made, files mapped
            inc()
            observe("GET", "200 OK", 0.001)
        t0 = time.perf_counter()
        for i in range(n):
            inc()
            observe("GET", statuses[i & 3], 0.0012)
        per = (time.perf_counter() - t0) / n
        print(f"metrics per request: {per * 1e6:.2f} us ({n} requests)")
    finally:
        m.remove()


if __name__ == "__main__":
    main()
