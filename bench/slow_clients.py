"""Normal-client throughput with and without 500 slowloris-style connections.

Half of the slow connections trickle their request head one byte at a time and
never finish it; the other half send a complete head announcing a large body and
then trickle the body a byte at a time.  A slow connection that the server
closes is opened again, so the count stays at 500 for the whole measurement.

    python bench/slow_clients.py [--slow 500] [--duration 5]

Saved to ``bench/results/slow_clients.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CLIENT_CORE,
    Server,
    ensure_peers,
    have_tools,
    machine,
    now,
    save,
    wrk,
)

KINDS = [
    "corral-asyncio",
    "corral-asyncio-t4",
    "corral-gthread",
    "corral-gevent",
    "corral-sync",
    "gunicorn-sync",
    "gunicorn-gthread",
    "granian",
    "waitress",
]
HEAD = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
BODY_HEAD = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n"


async def _one_slow(port: int, trickle_body: bool, interval: float, stop: float) -> None:
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(interval)
            continue
        try:
            if trickle_body:
                writer.write(BODY_HEAD)
                payload = b"x" * 1000000
            else:
                payload = HEAD[:-1]  # never completes the head
            for i in range(len(payload)):
                if time.monotonic() >= stop or reader.at_eof():
                    break
                writer.write(payload[i : i + 1])
                await writer.drain()
                await asyncio.sleep(interval)
        except OSError:
            pass
        finally:
            writer.close()


async def _slowloris(port: int, count: int, interval: float, seconds: float) -> None:
    stop = time.monotonic() + seconds
    tasks = [
        asyncio.ensure_future(_one_slow(port, i % 2 == 1, interval, stop)) for i in range(count)
    ]
    await asyncio.gather(*tasks, return_exceptions=True)


def start_slowloris(port: int, count: int, seconds: float) -> subprocess.Popen[bytes]:
    """Run the slow connections in a separate process on the client core."""
    return subprocess.Popen(
        ["taskset", "-c", CLIENT_CORE, sys.executable, __file__, "--loris", str(port),
         "--slow", str(count), "--seconds", str(seconds)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def measure(kind: str, slow: int, duration: float) -> dict[str, float]:
    srv = Server(kind, "hello").start()
    try:
        wrk(srv.port, duration=1)
        base = wrk(srv.port, duration=duration)["rps"]
        loris = start_slowloris(srv.port, slow, duration + 10)
        time.sleep(3)  # let the slow connections open and start trickling
        loaded = wrk(srv.port, duration=duration)["rps"]
        loris.kill()
        loris.wait()
    finally:
        srv.stop()
    kept = loaded / base if base else 0.0
    print(f"{kind:18} {base:10.0f} -> {loaded:10.0f} req/s  ({kept:6.1%} kept)", flush=True)
    return {"normal": base, "with_slow": loaded, "kept": kept}


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--slow", type=int, default=500)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--loris", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.loris:
        asyncio.run(_slowloris(args.loris, args.slow, 1.0, args.seconds))
        return {}
    have_tools()
    ensure_peers()
    kinds = [k for k in KINDS if not args.only or k in args.only.split(",")]
    results = {k: measure(k, args.slow, args.duration) for k in kinds}
    data = {
        "machine": machine(),
        "date": now(),
        "command": f"python bench/slow_clients.py --slow {args.slow} --duration {args.duration:g}",
        "slow": args.slow,
        "results": results,
    }
    save("slow_clients", data)
    return data


if __name__ == "__main__":
    main()
