"""Run the server benchmarks and rewrite the "## Servers" section of bench/RESULTS.md.

    python bench/run_all.py                 # servers, slow clients, memory, hot path
    python bench/run_all.py --report-only   # rebuild the section from bench/results/*.json
    python bench/run_all.py --quick         # 2 short rounds each (a smoke run)

Only the "## Servers" section is replaced; the rest of RESULTS.md is kept.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import hotpath, memory, servers, slow_clients
from bench.common import BENCH, load, median

RESULTS_MD = BENCH / "RESULTS.md"
HEADING = "## Servers"


def _met(r: dict[str, Any]) -> bool:
    """A target counts as met when both readings of the ratio reach it."""
    return bool(r["ratio"] >= r["target"] and r.get("round_median", r["ratio"]) >= r["target"])


def _x(value: float, target: float | None) -> str:
    """A ratio with two decimals, or three where two would round it onto its
    target (1.297 is not 1.30, and a reader should see why it missed)."""
    if target and round(value, 2) == target and value != target:
        return f"{value:.3f}x"
    return f"{value:.2f}x"


def _fmt_ratio(r: dict[str, Any]) -> str:
    target = r.get("target")
    verdict = f">= {target:g}: {'met' if _met(r) else 'MISSED'}" if target else ""
    rounds = " / ".join(f"{x:.2f}" for x in r.get("per_round", []))
    return (f"| {r['label']} | {_x(r['ratio'], target)} | {_x(r.get('round_median', 0), target)} "
            f"| {rounds} | {r.get('cpu_ratio', 0):.2f}x | {verdict} |")


def _by_traffic(data: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The traffic kinds of a servers.json and its results keyed by traffic (files
    written before realistic traffic existed hold repeated traffic only)."""
    if "traffic" in data:
        return list(data["traffic"]), data["results"]
    return ["repeated"], {"repeated": data["results"]}


def servers_md(data: dict[str, Any]) -> list[str]:
    traffics, res = _by_traffic(data)
    loads = data.get("load_average", ["?", "?"])
    wrk_lines = ", ".join(f"`{data[key]}` ({t})" for t, key in
                          (("realistic", "wrk_realistic"), ("repeated", "wrk"))
                          if t in traffics and key in data)
    out = []
    if "realistic" not in traffics:
        out += ["### Requests per second, one worker: realistic traffic", "",
                "`python bench/servers.py --traffic realistic,repeated --rounds 3 --duration 3`"
                ": figures pending a quiet run (the figures below are of repeated traffic "
                "only).", ""]
    out += [
        "### Requests per second, one worker" + (": realistic traffic first"
                                                 if "realistic" in traffics else ""),
        "",
        f"`{data['command']}` at {data['date']}; load average {loads[0]} when it started, "
        f"{loads[-1]} when it ended; CPU time taken by the hypervisor (steal) during the run: "
        f"{data.get('steal', 0.0):.1%}. Each server pinned to core 0, wrk on core 1: "
        f"{wrk_lines}; {data['rounds']} interleaved rounds (order reversed every other "
        "round), in each of which every server takes every kind of traffic; medians.",
        "",
    ]
    if "realistic" in traffics:
        out += [
            "*Realistic* traffic: every request differs, as traffic from many clients does "
            "(`bench/realistic.lua`): varying paths and query strings (400 of them), 2,000 "
            "distinct clients each with its own user agent, accept, accept-language and "
            "cookie header, and a unique `X-Request-Id` per request; about 440 bytes of "
            "header fields (Host included). `python bench/traffic.py` shows what wrk sends. "
            "*Repeated*: the same `GET /` over and over, byte for byte. `raw-uvloop` is not "
            "a WSGI server but the floor under one: a fixed \"Hello, World!\" from an asyncio "
            "Protocol on uvloop parsing with httptools (`bench/raw_server.py`). "
            "`wsgi-floor` is not a full WSGI server either but the least one can do in "
            "Python on uvloop (`bench/wsgi_floor.py`): the head read by corral's compiled "
            "head scanner, an environ with every header field, the app's call, a response "
            "head with Date and Content-Length, one write; none of the checks, framing, "
            "limits, timeouts or error handling a server owes its users. It bounds from "
            "above what a server written in Python on these libraries can reach here.",
            "",
        ]
    apps = [("hello", "hello"), ("flask_app", "flask"), ("web_app", "corral.web")]
    cols = [(app, name, t) for app, name in apps for t in traffics]
    out += [
        "| server | " + " | ".join(f"{name} {t} req/s" for _, name, t in cols)
        + " | " + " | ".join(f"CPU µs/request {name} ({' / '.join(traffics)})"
                             for _, name in apps)
        + f" | wrk CPU share, hello ({' / '.join(traffics)}) |",
        "|---|" + "---:|" * (len(cols) + len(apps) + 1),
    ]
    kinds = list(res[traffics[0]].get("hello", {}))
    for kind in kinds:
        cells = []
        for app, _, t in cols:
            r = res[t].get(app, {}).get(kind)
            cells.append(f"{r['median']:,.0f}" if r else "n/a")
        for app, _ in apps:
            rs = [res[t].get(app, {}).get(kind) for t in traffics]
            cells.append(" / ".join(f"{r.get('cpu_us', 0):.1f}" if r else "n/a" for r in rs))
        rs = [res[t].get("hello", {}).get(kind) for t in traffics]
        cells.append(" / ".join(f"{r['wrk_cpu']:.0%}" if r and "wrk_cpu" in r else "n/a"
                                for r in rs))
        out.append(f"| {kind} | " + " | ".join(cells) + " |")
    out += ["", "*CPU µs/request* is the user + system time of the server's processes "
            "(master, worker and their threads) over a wrk run divided by the requests "
            "served: unlike requests/s it does not move when the hypervisor takes the "
            "core away for a while. *wrk CPU share* is wrk's own user + system time over "
            "its run (the median of the rounds): near 100% would mean wrk, not the server, "
            "set the pace." + _wrk_cost(traffics, res), "", *_user_system(traffics, res),
            "| ratio | of medians | median of per-round ratios | per round "
            "| CPU per request (other / corral) | target |",
            "|---|---:|---:|---|---:|---|"]
    out += [_fmt_ratio(r) for r in data["ratios"]]
    out += ["", "Requests/s per round:", "",
            "| server | traffic | hello | flask | corral.web |", "|---|---|---:|---:|---:|"]
    for kind in kinds:
        for t in traffics:
            hello = res[t].get("hello", {}).get(kind, {"samples": []})
            flask = res[t].get("flask_app", {}).get(kind)
            web = res[t].get("web_app", {}).get(kind)
            out.append(f"| {kind} | {t} | {_samples(hello['samples'])} "
                       f"| {_samples(flask['samples']) if flask else 'n/a'} "
                       f"| {_samples(web['samples']) if web else 'n/a'} |")
    return out


def _wrk_cost(traffics: list[str], res: dict[str, Any]) -> str:
    """A sentence on wrk's own CPU time per request for each traffic (hello app):
    what the realistic script adds to wrk's side."""
    costs = []
    for t in traffics:
        us = [r["wrk_us"] for r in res[t].get("hello", {}).values() if r.get("wrk_us")]
        if us:
            costs.append(f"{median(us):.1f} µs ({t})")
    if not costs:
        return ""
    return (" wrk's own CPU time per request, median over the servers (hello app): "
            + ", ".join(costs) + ".")


def _user_system(traffics: list[str], res: dict[str, Any]) -> list[str]:
    """The hello app's CPU µs per request split into the server's own code (user)
    and the kernel's work for it (system): what a faster server can still take
    away is in the first column."""
    hello = {t: res[t].get("hello", {}) for t in traffics}
    kinds = [k for k in hello[traffics[0]] if "user_us" in hello[traffics[0]][k]]
    if not kinds:
        return []
    out = ["The hello app's CPU time per request split: *user* is the server's own "
           "code (Python and its C extensions), *system* the kernel's work for it "
           "(reads, writes, epoll), medians of the rounds.", "",
           "| server | " + " | ".join(f"user µs ({t}) | system µs ({t})" for t in traffics)
           + " |", "|---|" + "---:|" * (2 * len(traffics))]
    for kind in kinds:
        cells = []
        for t in traffics:
            r = hello[t].get(kind, {})
            cells += [f"{r.get('user_us', 0):.1f}", f"{r.get('sys_us', 0):.1f}"]
        out.append(f"| {kind} | " + " | ".join(cells) + " |")
    return [*out, ""]


def _samples(values: list[float]) -> str:
    return " / ".join(f"{v:,.0f}" for v in values)


def slow_md(data: dict[str, Any]) -> list[str]:
    out = [
        "### With slow clients connected",
        "",
        f"`{data['command']}` at {data.get('date', '?')}: normal-client req/s (wrk as above, hello app) alone and with "
        f"{data['slow']} slowloris connections open (half trickle their head a byte per "
        "second, half trickle a 1 MB body a byte per second), reconnecting when closed. "
        f"{data.get('rounds', 1)} rounds per server of three runs each, the order reversed "
        "every other round: *alone* (wrk only), *control* (wrk while the slow-client "
        "generator runs its full load against a sink process on the client core instead "
        "of the server) and *with* (the slow connections on the server). The generator has "
        "to share the client core with wrk, which on its own slows wrk down; the control "
        "measures that, so *kept* = with / control is what holding the slow connections "
        "costs the server. The slow clients come from one "
        "process pinned to core 1 with wrk (one thread, non-blocking sockets, a 10 ms "
        "timer), started before each control or with run and stopped after it; wrk starts "
        "1 s after its connections are open.",
        "",
        "| server | alone (median) | control (median) | with slow clients (median) | kept "
        "| alone, per round | control, per round | with slow clients, per round "
        "| CPU µs/request alone / with | slow clients open / closed by server |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cpu = wall = 0.0
    for kind, r in data["results"].items():
        gens = r.get("generator", [])
        opened = min((g.get("opened_before_wrk", 0) for g in gens), default=0)
        closed = sum(g.get("closed_by_server", 0) for g in gens)
        cpu += sum(g.get("cpu_s", 0) for g in gens)
        wall += sum(g.get("wall_s", 0) for g in gens)
        out.append(f"| {kind} | {r['normal']:,.0f} | {r.get('control', 0):,.0f} "
                   f"| {r['with_slow']:,.0f} | {r['kept']:.0%} "
                   f"| {_samples(r.get('alone_samples', []))} "
                   f"| {_samples(r.get('control_samples', []))} "
                   f"| {_samples(r.get('slow_samples', []))} "
                   f"| {r.get('cpu_alone', 0):.1f} / {r.get('cpu_with_slow', 0):.1f} "
                   f"| {opened:.0f} / {closed:.0f} |")
    if wall:
        out += ["", f"The slow-client process used {cpu / wall:.1%} of one core on average "
                "(its own CPU time over its lifetime), on the client core."]
    return out


def memory_md(data: dict[str, Any]) -> list[str]:
    n = data["connections"]
    out = [
        "### Idle keep-alive connections",
        "",
        f"`{data['command']}` at {data.get('date', '?')}: worker RSS after one request, then with {n} idle keep-alive "
        "connections (targets: < 64 MiB in all, < 16 KiB each).",
        "",
        "| worker | RSS before | RSS with idle connections | per connection |",
        "|---|---:|---:|---:|",
    ]
    for kind, r in data["results"].items():
        out.append(f"| {kind} | {r['base_kib'] / 1024:.1f} MiB | {r['loaded_kib'] / 1024:.1f} MiB "
                   f"| {r['per_connection_bytes'] / 1024:.1f} KiB |")
    return out


def hotpath_md(data: dict[str, Any]) -> list[str]:
    out = [
        "### Where the time goes per request (asyncio worker, hello app)",
        "",
        f"`{data['command']}` at {data.get('date', '?')}: {data['us_per_request']:.1f} µs of Python per request with "
        "the socket and event loop taken out (fake transport), then cProfile self time "
        "grouped by module:",
        "",
        "| module | share |",
        "|---|---:|",
    ]
    out += [f"| {k} | {v:.1%} |" for k, v in data["shares"].items()]
    out += ["", "Top functions (self time):", ""]
    out += [f"- {t['function']}: {t['share']:.1%}" for t in data["top"]]
    return out


def notes_md(servers_data: Any, slow: Any, mem: Any) -> list[str]:
    """Targets of the concurrency issue, met or missed in the figures above."""
    out = ["### Targets", ""]
    if isinstance(servers_data, dict):
        for r in servers_data["ratios"]:
            if r.get("target"):
                ok = "met" if _met(r) else "missed"
                out.append(f"- {r['label']}: {_x(r['ratio'], r['target'])} (per-round median "
                           f"{_x(r.get('round_median', 0), r['target'])}), target "
                           f"{r['target']:g}x: {ok}")
    if isinstance(slow, dict) and "corral-asyncio" in slow["results"]:
        r = slow["results"]["corral-asyncio"]
        out.append(f"- asyncio keeps >= 90% with {slow['slow']} slow clients: {r['kept']:.0%} "
                   f"(median {r['with_slow']:,.0f} with vs {r.get('control', 0):,.0f} control "
                   f"req/s; {r['normal']:,.0f} alone): "
                   + ("met" if r["kept"] >= 0.9 else "missed"))
    if isinstance(mem, dict) and "corral-asyncio" in mem["results"]:
        r = mem["results"]["corral-asyncio"]
        per, total = r["per_connection_bytes"] / 1024, r["loaded_kib"] / 1024
        out.append(f"- idle keep-alive connection < 16 KiB: {per:.1f} KiB; 1,000 of them "
                   f"< 64 MiB RSS: {total:.1f} MiB: " + ("met" if per < 16 and total < 64
                                                          else "missed"))
    out += [
        "",
        "Reading the figures: the `asyncio` worker makes one `read` and one `write` system "
        "call per keep-alive request and one `epoll_wait` per batch of ready connections "
        "(checked with `strace -c` on a worker under wrk). Every request "
        "takes the one request path (parser, environ builder, framing, access log) on every "
        "worker class; what is reused between requests is kept per header name, per "
        "connection and per worker, never per whole request, and the realistic traffic "
        "sends no two requests alike (each carries its own X-Request-Id). The writes "
        "of one pass of the event loop go out together at its end. "
        "That matters most on the Flask app: there the server, not wrk, is the bottleneck, "
        "so wrk sleeps between responses and each write that wakes it costs the server's "
        "core a cross-core wake-up, which on these virtual machines is dear. On the "
        "machine of 2026-11-22, `perf record` put a third of a hello request's CPU time "
        "in the kernel's send path, and writing each response as soon as it was made "
        "cost 186 us of CPU per Flask request against 142 us when they were held to the "
        "end of the pass (same run, interleaved rounds). "
        "This machine is a virtual machine whose host takes CPU time away at random "
        "(the steal figure above): the absolute figures move from round to round, so read "
        "the ratios of one run, the per-round ratios, and the CPU time per request, which "
        "does not count time the hypervisor took.",
    ]
    return out


def load_md(servers_data: Any, slow: Any) -> list[str]:
    """The machine's load average over the run, and what it means for the figures."""
    spans = [(name, d["load_average"]) for name, d in
             (("servers.py", servers_data), ("slow_clients.py", slow))
             if isinstance(d, dict) and "load_average" in d]
    if not spans:
        return []
    peak = max(float(x.split(",")[0]) for _, span in spans for x in span)
    cores = os.cpu_count() or 1
    text = "Load average (1, 5, 15 min) on this " + f"{cores}-core machine: " + "; ".join(
        f"{span[0]} when `{name}` started, {span[1]} when it ended" for name, span in spans) + "."
    if peak > 0.5 * cores:
        text += (" The load average counts the benchmark's own processes and threads (the "
                 "server under test, wrk, the slow-client generator); how much CPU time the "
                 "hypervisor took away from this virtual machine is the steal share given "
                 "with each run, and that is what moves the absolute figures.")
    return [text]


def section() -> str:
    parts: list[str] = [HEADING, ""]
    first = None
    for name, render in (("servers", servers_md), ("slow_clients", slow_md),
                         ("memory", memory_md), ("hotpath", hotpath_md)):
        data = load(name)
        if not isinstance(data, dict):
            continue
        first = first or data
        parts += render(data) + [""]
    parts += notes_md(load("servers"), load("slow_clients"), load("memory")) + [""]
    if first is not None:
        parts[2:2] = [f"Machine: {first['machine']}. Produced by `make bench` "
                      "(`python bench/run_all.py`); each table gives the date of its run.", "",
                      *load_md(load("servers"), load("slow_clients")), ""]
    return "\n".join(parts).rstrip() + "\n"


def write_section(text: str) -> None:
    old = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Servers\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text + "\n", old, count=1)
    else:
        new = old.rstrip() + "\n\n" + text
    RESULTS_MD.write_text(new.rstrip() + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if not args.report_only:
        timing = ["--rounds", "2", "--duration", "2"] if args.quick else []
        servers.main(timing)
        slow_clients.main(["--rounds", "2", "--duration", "2"] if args.quick else [])
        memory.main([])
        hotpath.main([])
    write_section(section())
    print(f"wrote the servers section of {RESULTS_MD}")


if __name__ == "__main__":
    main()
