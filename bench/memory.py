"""What an idle keep-alive connection costs a worker.

Opens N connections (default 1,000) to a one-worker server, sends one request
on each and keeps them all open and idle, then reads the worker's RSS from
``/proc``.  Per-connection cost = (RSS with N idle connections - RSS after one
warm-up request) / N.  Saved to ``bench/results/memory.json``.

    python bench/memory.py [--connections 1000]
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Server, ensure_peers, machine, now, rss_kib, save

KINDS = ["corral-asyncio", "corral-asyncio-t4", "corral-gthread", "corral-gevent"]
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def measure(kind: str, count: int) -> dict[str, float]:
    srv = Server(kind, "hello", ["--keep-alive", "120", "--worker-connections", str(count + 100)])
    srv.start()
    socks: list[socket.socket] = []
    try:
        pid = srv.worker_pid()
        time.sleep(0.5)
        base = rss_kib(pid)
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(REQUEST)
            socks.append(s)
        for s in socks:  # every connection answered once, then idle
            data = b""
            while b"Hello, world!" not in data:
                data += s.recv(4096)
        time.sleep(1.0)
        loaded = rss_kib(pid)
    finally:
        for s in socks:
            s.close()
        srv.stop()
    per_conn = (loaded - base) * 1024 / count
    print(f"{kind:18} base {base / 1024:6.1f} MiB  with {count} idle: {loaded / 1024:6.1f} MiB"
          f"  per connection {per_conn / 1024:5.1f} KiB", flush=True)
    return {"base_kib": base, "loaded_kib": loaded, "per_connection_bytes": per_conn}


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--only", default="")
    args = ap.parse_args(argv)
    ensure_peers()
    kinds = [k for k in KINDS if not args.only or k in args.only.split(",")]
    results = {k: measure(k, args.connections) for k in kinds}
    data = {
        "machine": machine(),
        "date": now(),
        "command": f"python bench/memory.py --connections {args.connections}",
        "connections": args.connections,
        "results": results,
    }
    save("memory", data)
    return data


if __name__ == "__main__":
    main()
