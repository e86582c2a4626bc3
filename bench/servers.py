"""Requests/s of the same WSGI apps under corral's worker classes and under peers.

One worker each, the server pinned to core 0 and ``wrk -t1 -c50`` to core 1,
several interleaved rounds (every server once per round), medians and ratios
printed and saved to ``bench/results/servers.json``.

    python bench/servers.py [--rounds 5] [--duration 3] [--only corral-asyncio,granian]

Two ratios are reported for each pair: the ratio of the two medians, and the
median of the per-round ratios (each round measures every server within a few
seconds, so a slow spell of the machine hits both sides of a round's ratio).
The share of CPU time the hypervisor took (``steal`` in /proc/stat) during the
run is recorded: on a shared virtual machine it is what moves the figures most.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Server,
    cpu_times,
    ensure_peers,
    have_tools,
    load_average,
    machine,
    median,
    now,
    save,
    wrk,
)

SERVERS = [
    "corral-asyncio",
    "corral-asyncio-t4",
    "corral-gthread",
    "corral-sync",
    "gunicorn-sync",
    "gunicorn-gthread",
    "granian",
    "waitress",
]
APPS = ["hello", "flask_app"]

# (label, numerator, denominator, app, target)
RATIOS = [
    ("asyncio / granian (hello)", "corral-asyncio", "granian", "hello", 1.2),
    ("asyncio / gunicorn sync (hello)", "corral-asyncio", "gunicorn-sync", "hello", 10.0),
    ("gthread / gunicorn gthread (hello)", "corral-gthread", "gunicorn-gthread", "hello", 1.5),
    ("asyncio / granian (flask)", "corral-asyncio", "granian", "flask_app", 1.3),
    ("sync / gunicorn sync (hello)", "corral-sync", "gunicorn-sync", "hello", None),
    ("asyncio / waitress (hello)", "corral-asyncio", "waitress", "hello", None),
]


def bench_app(app: str, kinds: list[str], rounds: int, duration: float
              ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Requests/s and CPU µs per request of every server, per round."""
    servers = {k: Server(k, app).start() for k in kinds}
    samples: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    try:
        for s in servers.values():  # warm up every server once
            wrk(s.port, duration=1)
        for r in range(rounds):
            order = kinds if r % 2 == 0 else list(reversed(kinds))
            for k in order:
                proc = servers[k].proc
                res = wrk(servers[k].port, duration=duration,
                          pid=proc.pid if proc is not None else None)
                if res["non2xx"] or res["errors"]:
                    print(f"  warning: {k} {app}: {res}", file=sys.stderr)
                samples[k].append(res["rps"])
                cpu[k].append(res["cpu_us"])
                print(f"  round {r + 1} {app:9} {k:18} {res['rps']:10.0f} req/s "
                      f"{res['cpu_us']:8.1f} us CPU/request", flush=True)
    finally:
        for s in servers.values():
            s.stop()
    return samples, cpu


def steal_share(before: list[int], after: list[int]) -> float:
    """Share of all CPU time that was stolen by the hypervisor between two readings."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta)
    return delta[7] / total if total and len(delta) > 7 else 0.0


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--only", default="", help="comma-separated server names")
    args = ap.parse_args(argv)
    have_tools()
    ensure_peers()
    kinds = args.only.split(",") if args.only else SERVERS
    results: dict[str, dict[str, dict[str, object]]] = {}
    load_before = load_average()
    cpu_before = cpu_times()
    for app in APPS:
        samples, cpu = bench_app(app, kinds, args.rounds, args.duration)
        results[app] = {k: {"median": median(v), "samples": v, "cpu_us": median(cpu[k]),
                            "cpu_samples": cpu[k]} for k, v in samples.items()}
    ratios = []
    for label, num, den, app, target in RATIOS:
        try:
            a = float(results[app][num]["median"])  # type: ignore[arg-type]
            b = float(results[app][den]["median"])  # type: ignore[arg-type]
        except KeyError:
            continue
        per_round = [x / y for x, y in zip(results[app][num]["samples"],  # type: ignore[call-overload]
                                           results[app][den]["samples"], strict=True) if y]
        ca = float(results[app][num]["cpu_us"])  # type: ignore[arg-type]
        cb = float(results[app][den]["cpu_us"])  # type: ignore[arg-type]
        ratios.append({"label": label, "ratio": a / b if b else 0.0, "target": target,
                       "per_round": per_round, "round_median": median(per_round),
                       "cpu_ratio": cb / ca if ca else 0.0})
    data = {
        "machine": machine(),
        "date": now(),
        "command": f"python bench/servers.py --rounds {args.rounds} --duration {args.duration:g}",
        "wrk": f"taskset -c 1 wrk -t1 -c50 -d{args.duration:g}s http://127.0.0.1:PORT/",
        "rounds": args.rounds,
        "load_average": [load_before, load_average()],
        "steal": steal_share(cpu_before, cpu_times()),
        "results": results,
        "ratios": ratios,
    }
    save("servers", data)
    print()
    for app in APPS:
        for k in kinds:
            print(f"{app:9} {k:18} median {results[app][k]['median']:10.0f} req/s "
                  f"{results[app][k]['cpu_us']:8.1f} us CPU/request")
    for r in ratios:
        tgt = f"(target >= {r['target']})" if r["target"] else ""
        print(f"{r['label']:38} {r['ratio']:6.2f}x (per-round median {r['round_median']:.2f}x,"
              f" CPU per request {r['cpu_ratio']:.2f}x less) {tgt}")
    print(f"CPU time taken by the hypervisor (steal) during the run: {data['steal']:.1%}")
    return data


if __name__ == "__main__":
    main()
