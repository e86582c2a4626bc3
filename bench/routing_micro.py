"""Routing micro-benchmark: match and build cost as the rule table grows.

Run: .venv/bin/python bench/routing_micro.py [--werkzeug]

Each table has N rules spread over N/10 first segments, a mix of static rules and
rules with converters; the probe hits the *last* registered dynamic rule, the worst
case for a linear matcher.  Times are CPU time (best of 7), so a busy machine
disturbs them less than wall-clock time would.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from typing import Any


def make_rules(mod: Any, n: int) -> list[Any]:
    rules = []
    for i in range(n):
        group = i // 10
        kind = i % 3
        if kind == 0:
            rules.append(mod.Rule(f"/g{group}/static{i}", endpoint=f"e{i}"))
        elif kind == 1:
            rules.append(mod.Rule(f"/g{group}/item{i}/<int:id>", endpoint=f"e{i}"))
        else:
            rules.append(mod.Rule(f"/g{group}/<name>/detail{i}", endpoint=f"e{i}"))
    return rules


def last_dynamic(n: int) -> tuple[str, str, dict[str, Any]]:
    for i in range(n - 1, -1, -1):
        if i % 3 == 1:
            return f"/g{i // 10}/item{i}/42", f"e{i}", {"id": 42}
    raise ValueError(n)


def bench(mod: Any, n: int, number: int) -> tuple[float, float, float, float | None]:
    url_map = mod.Map(make_rules(mod, n))
    adapter = url_map.bind("localhost", "/")
    path, endpoint, values = last_dynamic(n)
    static_path = f"/g{(n - 3) // 10}/static{(n - 3) // 3 * 3}"
    assert adapter.match(path) == (endpoint, values)
    adapter.match(static_path)
    per = 1e6 / number
    t_dyn = min(timeit.repeat(lambda: adapter.match(path), number=number, repeat=7, timer=time.process_time)) * per
    t_sta = min(timeit.repeat(lambda: adapter.match(static_path), number=number, repeat=7, timer=time.process_time)) * per
    t_bld = min(
        timeit.repeat(lambda: adapter.build(endpoint, values), number=number, repeat=7, timer=time.process_time)
    ) * per
    t_quick = None
    quick_match = getattr(url_map, "quick_match", None)
    if quick_match is not None:  # the request pipeline's path: no adapter, no redirects
        assert quick_match(path, "GET")[1] == values
        t_quick = min(
            timeit.repeat(lambda: quick_match(path, "GET"), number=number, repeat=7, timer=time.process_time)
        ) * per
    return t_dyn, t_sta, t_bld, t_quick


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--werkzeug", action="store_true", help="also time werkzeug.routing")
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args(argv)
    sys.path.insert(0, "src")
    from corral.web import routing

    mods: list[tuple[str, Any]] = [("corral", routing)]
    if args.werkzeug:
        from werkzeug import routing as wz_routing

        mods.append(("werkzeug", wz_routing))
    print(
        f"{'router':<10} {'rules':>6} {'dynamic µs':>11} {'static µs':>10} {'build µs':>9}"
        f" {'quick dynamic µs':>17}"
    )
    for name, mod in mods:
        for n in (10, 100, 1000):
            dyn, sta, bld, quick = bench(mod, n, args.number)
            quick_text = "-" if quick is None else f"{quick:.2f}"
            print(f"{name:<10} {n:>6} {dyn:>11.2f} {sta:>10.2f} {bld:>9.2f} {quick_text:>17}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
