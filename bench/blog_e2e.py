"""End to end: the demo blog (templates, SQLite, sessions) on corral versus the
same blog on Flask under Gunicorn, one worker each.

Each server gets a fresh database, seeded over HTTP (a user registers, logs in and
publishes posts); then ``wrk`` sends a mix of pages with that user's session
cookie: the post list, the login form, a post's edit form, the new-post form and
the plain ``/hello`` route. The server is pinned to core 0 and ``wrk -t1 -c50`` to
core 1; rounds are interleaved (both servers once per round) and the ratio is
taken per round and as the ratio of the medians.

    .venv/bin/python bench/blog_e2e.py [--rounds 5] [--duration 3] [--corral-kind asyncio]

The Flask side is ``bench.blog_apps:flask_blog()``: the blog's own source, with
``corral.web`` resolving to Flask (see bench/blog_apps.py). Both servers run
with this interpreter, which must have Flask and Gunicorn installed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CLIENT_CORE,
    LOG_DIR,
    ROOT,
    SERVER_CORE,
    free_port,
    have_tools,
    http_ok,
    load_average,
    machine,
    median,
    now,
    save,
    stop_group,
)

POSTS = 20
PATHS = ["/", "/auth/login", "/1/update", "/create", "/hello"]
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def command(kind: str, port: int, corral_kind: str) -> list[str]:
    bind = f"127.0.0.1:{port}"
    if kind == "corral":
        extra = ["--threads", "4"] if corral_kind == "gthread" else []
        return [sys.executable, "-m", "corral", "bench.blog_apps:corral_blog()", "-w", "1",
                "-b", bind, "-k", corral_kind, *extra, "--keep-alive", "5"]
    return [sys.executable, "-m", "gunicorn", "bench.blog_apps:flask_blog()", "-w", "1",
            "-b", bind, "-k", "gthread", "--threads", "4", "--keep-alive", "5"]


class BlogServer:
    """One server process on its own fresh database, in its own process group."""

    def __init__(self, kind: str, corral_kind: str, workdir: Path) -> None:
        self.kind = kind
        self.db = workdir / f"{kind}.sqlite"
        self.port = free_port()
        self.cookie = ""
        LOG_DIR.mkdir(exist_ok=True)
        self.log = LOG_DIR / f"blog-{kind}.log"
        env = dict(os.environ, PYTHONPATH=str(ROOT), BLOG_BENCH_DATABASE=str(self.db),
                   BLOG_BENCH_SECRET="blog bench secret")
        init_db(env)
        cmd = ["taskset", "-c", SERVER_CORE, *command(kind, self.port, corral_kind)]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + 30
        while not http_ok(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{kind} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        self.seed()

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        conn.close()
        return resp.status, resp.getheader("Location") or ""

    def seed(self) -> None:
        """A user registers, logs in and publishes the posts; its cookie is kept."""
        seed(lambda method, path, form=None: self.request(method, path, form)[0], self.kind)

    def stop(self) -> None:
        stop_group(self.proc)


def seed(request: Callable[..., int], who: str) -> None:
    """Seed a fresh blog through ``request(method, path, form=None) -> status``
    (which keeps the session cookie): a user registers, logs in and publishes
    the posts, and every page of the mix answers 200."""
    creds = {"username": "bench", "password": "bench password"}
    assert request("POST", "/auth/register", creds) == 302, "register"
    assert request("POST", "/auth/login", creds) == 302, "login"
    for i in range(POSTS):
        form = {"title": f"Post {i}", "body": f"Body of post {i}.\n" * 5}
        assert request("POST", "/create", form) == 302, "create"
    for path in PATHS:
        status = request("GET", path)
        assert status == 200, f"{who} {path}: {status}"


def init_db(env: dict[str, str]) -> None:
    """Create the tables with the blog's own ``init_db``."""
    code = (
        "import bench.blog_apps as b; app = b.corral_blog()\n"
        "from corralblog.db import init_db\n"
        "with app.app_context(): init_db()\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), env=env, check=True, timeout=60)


def run_wrk(server: BlogServer, duration: float, script: Path) -> dict[str, float]:
    cmd = ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", "-c50", f"-d{duration:g}s",
           "-s", str(script), "-H", f"Cookie: {server.cookie}",
           f"http://127.0.0.1:{server.port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    m, bad, errs = _RPS.search(out), _NON2XX.search(out), _ERRORS.search(out)
    return {
        "rps": float(m.group(1)) if m else 0.0,
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "errors": float(sum(int(g) for g in errs.groups())) if errs else 0.0,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--corral-kind", default="asyncio", help="corral's worker class")
    args = ap.parse_args(argv)
    have_tools()
    load_before = load_average()
    rps: dict[str, list[float]] = {"corral": [], "flask": []}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="blog-bench-") as tmp:
        script = Path(tmp) / "mix.lua"
        script.write_text(LUA % ", ".join(f'"{p}"' for p in PATHS))
        servers = {k: BlogServer(k, args.corral_kind, Path(tmp)) for k in rps}
        try:
            for s in servers.values():
                run_wrk(s, 1, script)  # warm up
            for r in range(args.rounds):
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                for k in order:
                    res = run_wrk(servers[k], args.duration, script)
                    rps[k].append(res["rps"])
                    if res["non2xx"] or res["errors"]:
                        problems.append(f"round {r} {k}: {res}")
                print(f"round {r + 1}: corral {rps['corral'][-1]:.0f} req/s,"
                      f" flask {rps['flask'][-1]:.0f} req/s", flush=True)
        finally:
            for s in servers.values():
                s.stop()
    per_round = [c / f for c, f in zip(rps["corral"], rps["flask"], strict=True) if f]
    result: dict[str, object] = {
        "when": now(),
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_average(),
        "corral_kind": args.corral_kind,
        "paths": PATHS,
        "rps": rps,
        "median_rps": {k: median(v) for k, v in rps.items()},
        "ratio_of_medians": median(rps["corral"]) / (median(rps["flask"]) or 1.0),
        "median_round_ratio": median(per_round),
        "problems": problems,
    }
    print(f"corral ({args.corral_kind}) {median(rps['corral']):.0f} req/s,"
          f" Flask on Gunicorn gthread {median(rps['flask']):.0f} req/s:"
          f" ratio of medians {result['ratio_of_medians']:.2f},"
          f" median per-round ratio {result['median_round_ratio']:.2f}"
          f" (load {load_before} -> {result['load_after']})")
    for p in problems:
        print("problem:", p)
    save("blog_e2e", result)
    return result


if __name__ == "__main__":
    main()
