"""Requests/s of the same WSGI apps under corral's worker classes and under peers.

One worker each, the server pinned to core 0 and ``wrk -t1 -c50`` to core 1,
several interleaved rounds (every server once per round), medians and ratios
printed and saved to ``bench/results/servers.json``.

    python bench/servers.py [--traffic realistic,repeated] [--rounds 5] [--duration 3]
                            [--only corral-asyncio,granian] [--no-save]

Two kinds of traffic (bench/traffic.py), both by default, each server taking
both in every round:

* ``realistic`` (the headline): every request differs, as traffic from many
  clients does: varying paths and query strings, 2,000 distinct clients each
  with its own cookie, user agent and accept headers, a unique X-Request-Id per
  request, about 400 bytes of header fields (``wrk -s bench/realistic.lua``).
* ``repeated``: plain wrk, the same ``GET /`` over and over.

Besides the WSGI servers, ``raw-uvloop`` (bench/raw_server.py) answers a fixed
"Hello, World!" from an asyncio Protocol on uvloop parsing with httptools: the
floor under any Python server here, measured with the hello app only.  And
``wsgi-floor`` (bench/wsgi_floor.py) is the least a WSGI server on uvloop can
do: an environ, the app's call, a response head, one write, and none of the
checks, framing, limits or error handling a server owes; an upper bound on
what a pure-Python server reaches (``wsgi-floor-httptools``: the same with
httptools reading the head, a field line per Python callback).

Two ratios are reported for each pair: the ratio of the two medians, and the
median of the per-round ratios (each round measures every server within a few
seconds, so a slow spell of the machine hits both sides of a round's ratio).
The share of CPU time the hypervisor took (``steal`` in /proc/stat) during the
run is recorded: on a shared virtual machine it is what moves the figures most.
So is wrk's own CPU time as a share of each run: near 100% means wrk, not the
server, set the pace.
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
from bench.traffic import TRAFFIC

SERVERS = [
    "corral-asyncio",
    "corral-asyncio-t4",
    "corral-gthread",
    "corral-sync",
    "gunicorn-sync",
    "gunicorn-gthread",
    "granian",
    "waitress",
    "raw-uvloop",
    "wsgi-floor",
]
APPS = ["hello", "flask_app", "web_app"]
HELLO_ONLY = {"raw-uvloop"}  # a canned answer: the app it is given does not run
# corral.web's app runs on corral only: it is compared with Flask's on the peers
CORRAL_ONLY_APPS = {"web_app"}

# (label, numerator, denominator, app, traffic, target); the realistic ones first
RATIOS: list[tuple[str, str, str, str | tuple[str, str], str, float | None]] = [
    ("asyncio / granian (hello, realistic)", "corral-asyncio", "granian", "hello",
     "realistic", 1.3),
    ("gthread / granian (hello, realistic)", "corral-gthread", "granian", "hello",
     "realistic", 1.0),
    ("asyncio / raw uvloop+httptools (hello, realistic)", "corral-asyncio", "raw-uvloop",
     "hello", "realistic", 0.5),
    ("asyncio / granian (flask, realistic)", "corral-asyncio", "granian", "flask_app",
     "realistic", 1.3),
    ("least WSGI on uvloop / granian (hello, realistic)", "wsgi-floor", "granian", "hello",
     "realistic", None),
    ("asyncio / least WSGI on uvloop (hello, realistic)", "corral-asyncio", "wsgi-floor",
     "hello", "realistic", None),
    ("least WSGI on uvloop / raw uvloop+httptools (hello, realistic)", "wsgi-floor",
     "raw-uvloop", "hello", "realistic", None),
    ("least WSGI on uvloop / granian (flask, realistic)", "wsgi-floor", "granian", "flask_app",
     "realistic", None),
    ("corral.web on asyncio / Flask on gunicorn gthread (realistic)", "corral-asyncio",
     "gunicorn-gthread", ("web_app", "flask_app"), "realistic", 8.0),
    ("asyncio / granian (hello, repeated)", "corral-asyncio", "granian", "hello",
     "repeated", 1.3),
    ("asyncio / raw uvloop+httptools (hello, repeated)", "corral-asyncio", "raw-uvloop",
     "hello", "repeated", None),
    ("least WSGI on uvloop / granian (hello, repeated)", "wsgi-floor", "granian", "hello",
     "repeated", None),
    ("asyncio / gunicorn sync (hello, repeated)", "corral-asyncio", "gunicorn-sync", "hello",
     "repeated", 10.0),
    ("gthread / gunicorn gthread (hello, repeated)", "corral-gthread", "gunicorn-gthread",
     "hello", "repeated", 1.5),
    ("asyncio / granian (flask, repeated)", "corral-asyncio", "granian", "flask_app",
     "repeated", 1.3),
    ("sync / gunicorn sync (hello, repeated)", "corral-sync", "gunicorn-sync", "hello",
     "repeated", None),
    ("asyncio / waitress (hello, repeated)", "corral-asyncio", "waitress", "hello",
     "repeated", None),
]

Samples = dict[str, dict[str, list[float]]]  # traffic -> server -> one figure per round


def bench_app(app: str, kinds: list[str], traffics: list[str], rounds: int, duration: float
              ) -> tuple[Samples, Samples, Samples, Samples, Samples, Samples]:
    """Requests/s, CPU µs per request, wrk's CPU share, wrk's CPU µs per request,
    and the server's user and system CPU µs per request, per traffic, server and
    round."""
    kinds = [k for k in kinds if app == "hello" or k not in HELLO_ONLY]
    if app in CORRAL_ONLY_APPS:
        kinds = [k for k in kinds if k.startswith("corral-")]
    servers: dict[str, Server] = {}
    samples: Samples = {t: {k: [] for k in kinds} for t in traffics}
    cpu: Samples = {t: {k: [] for k in kinds} for t in traffics}
    wrk_cpu: Samples = {t: {k: [] for k in kinds} for t in traffics}
    wrk_us: Samples = {t: {k: [] for k in kinds} for t in traffics}
    user: Samples = {t: {k: [] for k in kinds} for t in traffics}
    system: Samples = {t: {k: [] for k in kinds} for t in traffics}
    runs = [(k, t) for k in kinds for t in traffics]
    try:
        for k in kinds:
            servers[k] = Server(k, app).start()
        for k, t in runs:  # warm up every server once with each traffic
            wrk(servers[k].port, duration=1, traffic=t)
        for r in range(rounds):
            for k, t in runs if r % 2 == 0 else list(reversed(runs)):
                proc = servers[k].proc
                res = wrk(servers[k].port, duration=duration, traffic=t,
                          pid=proc.pid if proc is not None else None)
                if res["non2xx"] or res["errors"]:
                    print(f"  warning: {k} {app} {t}: {res}", file=sys.stderr)
                samples[t][k].append(res["rps"])
                cpu[t][k].append(res["cpu_us"])
                wrk_cpu[t][k].append(res["wrk_cpu"])
                wrk_us[t][k].append(res["wrk_us"])
                user[t][k].append(res["user_us"])
                system[t][k].append(res["sys_us"])
                print(f"  round {r + 1} {app:9} {t:9} {k:18} {res['rps']:10.0f} req/s "
                      f"{res['cpu_us']:8.1f} us CPU/request, wrk {res['wrk_cpu']:.0%} CPU",
                      flush=True)
    finally:
        for s in servers.values():
            s.stop()
    return samples, cpu, wrk_cpu, wrk_us, user, system


def ratio_of(results: dict[str, dict[str, dict[str, dict[str, object]]]], label: str,
             num: str, den: str, app: str | tuple[str, str], traffic: str,
             target: float | None) -> dict[str, object] | None:
    """One line of the ratio table, or None when a side was not measured.  ``app``
    is the app both servers ran, or (the numerator's app, the denominator's)."""
    num_app, den_app = (app, app) if isinstance(app, str) else app
    try:
        a_res, b_res = results[traffic][num_app][num], results[traffic][den_app][den]
    except KeyError:
        return None
    a, b = float(a_res["median"]), float(b_res["median"])  # type: ignore[arg-type]
    per_round = [x / y for x, y in zip(a_res["samples"], b_res["samples"],  # type: ignore[call-overload]
                                       strict=True) if y]
    ca, cb = float(a_res["cpu_us"]), float(b_res["cpu_us"])  # type: ignore[arg-type]
    return {"label": label, "traffic": traffic, "ratio": a / b if b else 0.0, "target": target,
            "per_round": per_round, "round_median": median(per_round),
            "cpu_ratio": cb / ca if ca else 0.0}


def steal_share(before: list[int], after: list[int]) -> float:
    """Share of all CPU time that was stolen by the hypervisor between two readings."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta)
    return delta[7] / total if total and len(delta) > 7 else 0.0


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traffic", default=",".join(TRAFFIC),
                    help="comma-separated: realistic, repeated (default both)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--only", default="", help="comma-separated server names")
    ap.add_argument("--no-save", action="store_true",
                    help="print only; leave bench/results/servers.json alone (smoke runs)")
    args = ap.parse_args(argv)
    traffics = [t for t in TRAFFIC if t in args.traffic.split(",")]
    unknown = set(args.traffic.split(",")) - set(TRAFFIC)
    if unknown or not traffics:
        ap.error(f"--traffic: one or more of {', '.join(TRAFFIC)}, not {args.traffic!r}")
    kinds = args.only.split(",") if args.only else SERVERS
    if set(kinds) - set(SERVERS) - {"corral-asyncio-stdloop", "corral-gevent",
                                         "wsgi-floor-httptools"}:
        ap.error(f"--only: unknown server in {args.only!r} (known: {', '.join(SERVERS)})")
    have_tools()
    ensure_peers()
    results: dict[str, dict[str, dict[str, dict[str, object]]]] = {t: {} for t in traffics}
    load_before = load_average()
    cpu_before = cpu_times()
    for app in APPS:
        samples, cpu, wrk_cpu, wrk_us, user, system = bench_app(app, kinds, traffics, args.rounds, args.duration)
        for t in traffics:
            results[t][app] = {
                k: {"median": median(v), "samples": v, "cpu_us": median(cpu[t][k]),
                    "cpu_samples": cpu[t][k], "wrk_cpu": median(wrk_cpu[t][k]),
                    "wrk_cpu_samples": wrk_cpu[t][k], "wrk_us": median(wrk_us[t][k]),
                    "user_us": median(user[t][k]), "sys_us": median(system[t][k])}
                for k, v in samples[t].items()}
    ratios = [r for spec in RATIOS if (r := ratio_of(results, *spec)) is not None]
    command = "python bench/servers.py"
    if args.traffic != ",".join(TRAFFIC):
        command += f" --traffic {args.traffic}"
    command += f" --rounds {args.rounds} --duration {args.duration:g}"
    if args.only:
        command += f" --only {args.only}"
    data = {
        "machine": machine(),
        "date": now(),
        "command": command,
        "wrk": f"taskset -c 1 wrk -t1 -c50 -d{args.duration:g}s http://127.0.0.1:PORT/",
        "wrk_realistic": f"taskset -c 1 wrk -t1 -c50 -d{args.duration:g}s "
                         "-s bench/realistic.lua http://127.0.0.1:PORT/ -- NONCE",
        "traffic": traffics,
        "rounds": args.rounds,
        "load_average": [load_before, load_average()],
        "steal": steal_share(cpu_before, cpu_times()),
        "results": results,
        "ratios": ratios,
    }
    if not args.no_save:
        save("servers", data)
    print()
    for t in traffics:
        for app, by_kind in results[t].items():
            for k, r in by_kind.items():
                print(f"{t:9} {app:9} {k:18} median {r['median']:10.0f} req/s "
                      f"{r['cpu_us']:8.1f} us CPU/request, wrk {r['wrk_cpu']:.0%} CPU")
    for r in ratios:
        tgt = f"(target >= {r['target']})" if r["target"] else ""
        print(f"{r['label']:50} {r['ratio']:6.2f}x (per-round median {r['round_median']:.2f}x,"
              f" CPU per request, other / corral: {r['cpu_ratio']:.2f}x) {tgt}")
    print(f"CPU time taken by the hypervisor (steal) during the run: {data['steal']:.1%}")
    return data


if __name__ == "__main__":
    main()
