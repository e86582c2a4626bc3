"""The demo blog in-process: the page mix of bench/blog_e2e.py through the test
client, corral.web against the same blog source on Flask, no server.

Each side runs in its own process (``bench.blog_apps.flask_blog`` makes
``corral.web`` name Flask's modules). A side seeds a fresh SQLite database (a
user registers, logs in and publishes the posts, as
``bench/blog_e2e.py`` seeds its servers), then requests ``/``,
``/auth/login``, ``/1/update``, ``/create`` and ``/hello`` in turn with that
user's session cookie; the figure is CPU time per request, best of the repeats.
``--profile`` adds, for corral.web, cProfile's self time grouped by package.

    .venv/bin/python bench/blog_inprocess.py [--requests 2000] [--repeats 3] [--profile]

For counts that do not move with the machine's load, run one side under
``valgrind --tool=callgrind`` with two request counts and take the difference
(``--side corral --requests N --repeats 1``).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.blog_e2e import PATHS, seed  # noqa: E402


def _client(side: str) -> Any:
    os.environ["BLOG_BENCH_DATABASE"] = os.path.join(tempfile.mkdtemp(), "blog.sqlite")
    from bench import blog_apps

    app = blog_apps.flask_blog() if side == "flask" else blog_apps.corral_blog()
    with app.app_context():
        from corralblog import db  # importable once the factory has run

        db.init_db()
    client = app.test_client()
    seed(lambda method, path, form=None: client.open(path, method=method, data=form).status_code,
         side)
    return client


def _group(path: str) -> str:
    for key in ("corral/web", "jinja2", "markupsafe", "itsdangerous", "corralblog"):
        if f"/{key}/" in path:
            return key.replace("/", ".")
    return "builtins" if path == "~" else "standard library and others"


def best(run: Callable[[int], None], requests: int, repeats: int) -> float:
    """CPU seconds per request, best of ``repeats`` runs of ``requests`` (after
    50 to warm up)."""
    run(50)
    fastest = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run(requests)
        fastest = min(fastest, (time.process_time() - start) / requests)
    return fastest


def side(name: str, requests: int, repeats: int, profile: bool) -> None:
    client = _client(name)

    def run(n: int) -> None:
        for i in range(n):
            client.get(PATHS[i % len(PATHS)]).close()

    print(f"{name}: {best(run, requests, repeats) * 1e6:.0f} us per request")
    if profile and name == "corral":
        prof = cProfile.Profile()
        prof.enable()
        run(requests)
        prof.disable()
        groups: collections.Counter[str] = collections.Counter()
        stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        for (path, _line, _func), (_cc, _nc, own, _cum, _callers) in stats.items():
            groups[_group(path)] += own
        total = sum(groups.values())
        for key, own in groups.most_common():
            print(f"  {key:28s} {own / total:6.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="self time by package (corral.web)")
    ap.add_argument("--side", choices=["corral", "flask"], help="run one side in this process")
    args = ap.parse_args()
    if args.side:
        side(args.side, args.requests, args.repeats, args.profile)
        return
    for name in ("corral", "flask"):
        cmd = [sys.executable, __file__, "--side", name, "--requests", str(args.requests),
               "--repeats", str(args.repeats)] + (["--profile"] if args.profile else [])
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
