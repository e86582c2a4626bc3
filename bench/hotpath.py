"""Where the time goes per request in the ``asyncio`` worker (hello app by default).

``--traffic realistic`` (the default) feeds requests that all differ, built
as ``bench/realistic.lua`` builds them for wrk: varied paths and query strings,
2,000 clients each with its own user agent, accept, accept-language and cookie,
a unique X-Request-Id; ``--traffic repeated`` feeds one request over and over.

Drives :class:`corral.server.workers.asyncio.HttpProtocol` in-process with a
fake transport (no system calls, no event loop), so the figure is the Python
work per request: parsing, environ, the app, framing, the worker's own
bookkeeping.  Then runs the same loop under cProfile and groups the time by
module.  ``--save`` writes ``bench/results/hotpath.json``.

    python bench/hotpath.py [--requests 50000] [--traffic realistic|repeated]
                            [--app hello|web_app|flask_app] [--opcodes]

For a live worker (with the event loop and system calls) use
``-k bench.profile_worker:ProfiledAsyncioWorker``.

``--opcodes`` counts the bytecodes the interpreter runs per request, by
function: an exact measure of the Python work, which timing is not.

``--app-alone`` compares three loops over the same traffic: the app through the
server, the hello app through the server, and the app called directly on the
environs the server built (copies, made beforehand).  The first is usually more
than the sum of the other two: the processor runs the server's and the app's
code in turn, and its caches and branch predictors hold less of each than when
one runs alone (the instructions are the same; callgrind counts them).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import apps
from bench.common import machine, now, save
from bench.framework import call_wsgi
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


AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{c}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{b} Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{a}.0) Gecko/20100101 Firefox/{a}.0",
]
ACCEPTS = ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "application/json, text/plain, */*", "*/*"]
LANGUAGES = ["en-US,en;q=0.9", "de-DE,de;q=0.9,en;q=0.6", "fr-FR,fr;q=0.9,en-US;q=0.7",
             "ja,en-US;q=0.8,en;q=0.6"]
WORDS = ["shoes", "red+dress", "laptop", "coffee", "garden+chair", "usb-c", "lamp", "tent"]


def realistic(n: int, seed: int = 1) -> list[bytes]:
    """``n`` requests that all differ, shaped as bench/realistic.lua shapes them."""
    rnd = random.Random(seed)
    clients = []
    for _ in range(2000):
        agent = rnd.choice(AGENTS).format(a=rnd.randint(110, 131), b=rnd.randint(0, 6999),
                                          c=rnd.randint(1, 250))
        cookie = f"session={rnd.getrandbits(128):032x}; theme=dark; _ga=GA1.1.{rnd.getrandbits(40)}"
        clients.append(f"User-Agent: {agent}\r\nAccept: {rnd.choice(ACCEPTS)}\r\n"
                       f"Accept-Language: {rnd.choice(LANGUAGES)}\r\n"
                       f"Accept-Encoding: gzip, deflate, br\r\nCookie: {cookie}\r\n")
    paths = []
    for i in range(400):
        k = i % 4
        if k == 0:
            paths.append(f"/products/{rnd.randint(1, 99999)}/reviews?page={rnd.randint(1, 20)}")
        elif k == 1:
            paths.append(f"/search?q={rnd.choice(WORDS)}&page={rnd.randint(1, 9)}")
        elif k == 2:
            paths.append(f"/api/v1/users/{rnd.randint(1, 999999)}/orders?limit=20")
        else:
            paths.append("/")
    return [(f"GET {rnd.choice(paths)} HTTP/1.1\r\nHost: localhost\r\n"
             f"{rnd.choice(clients)}X-Request-Id: req-{i:08d}\r\n\r\n").encode("latin-1")
            for i in range(n)]


class FakeTransport:
    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1

    def writelines(self, data: list[bytes]) -> None:
        self.writes += len(data)

    def get_extra_info(self, key: str) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(key)

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class LoopPass:
    """The event loop as the worker sees it, its passes driven by :func:`feed`:
    ``call_soon`` callbacks (the held answers' release) run at the end of each
    pass, as the loop runs them, instead of piling up in a loop that never
    runs (whose queue the garbage collector would walk again and again)."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.soon: list[Any] = []
        self.call_soon = self.soon.append  # the worker passes no arguments

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loop, name)


def protocol(app: Any = apps.hello) -> HttpProtocol:
    settings = Settings()
    worker = AsyncioWorker(0, 0, [], lambda: app, settings, Logger(settings))
    worker.wsgi = app
    worker.cycle = worker.make_cycle()
    worker.notify = lambda: None  # type: ignore[method-assign]
    mgr = ConnectionManager(worker, new_event_loop("auto"))
    mgr.loop = LoopPass(mgr.loop)  # type: ignore[assignment]
    proto = HttpProtocol(mgr, None)
    proto.connection_made(FakeTransport())
    return proto


def group(path: str) -> str:
    for key in ("parser", "strict", "environ", "response", "cycle", "body", "logging"):
        if f"/http/{key}.py" in path or f"/server/{key}.py" in path:
            return f"http/{key}.py" if key != "logging" else "logging.py"
    if "/workers/" in path:
        return "workers (asyncio.py, _buffered.py, base.py)"
    if "bench/apps.py" in path:
        return "the app"
    if "/corral/web/" in path:
        return "corral.web"
    if "/flask/" in path or "/werkzeug/" in path:
        return "flask + werkzeug"
    return "builtins / C calls"


def fresh(pool: list[bytes], n: int) -> list[bytes]:
    """``n`` requests of ``pool``, each a new bytes object, as each read gives
    (no cached hash)."""
    return [bytes(bytearray(pool[i % len(pool)])) for i in range(n)]


def feed(proto: HttpProtocol, batch: list[bytes]) -> None:
    """Each request of ``batch`` as one read, then the end of the loop's pass
    (which writes the held answers)."""
    receive = proto.data_received
    soon = proto.mgr.loop.soon  # type: ignore[attr-defined]
    for req in batch:
        receive(req)
        for callback in soon:
            callback()
        soon.clear()


def timed_feed(proto: HttpProtocol, pool: list[bytes], n: int) -> float:
    """Best of three: CPU seconds per request of ``n`` requests of ``pool`` fed to
    ``proto``, after 2,000 to warm it up."""
    feed(proto, fresh(pool, 2000))
    best = float("inf")
    for _ in range(3):
        batch = fresh(pool, n)
        t0 = time.process_time()
        feed(proto, batch)
        best = min(best, (time.process_time() - t0) / n)
    return best


def app_alone(name: str, n: int, traffic: str) -> dict[str, object]:
    """The app through the server, against the server with the hello app plus
    the app called alone on the same environs."""
    pool = realistic(n) if traffic == "realistic" else [REQUEST]
    app = getattr(apps, name)
    environs: list[dict[str, Any]] = []

    def keep(environ: dict[str, Any], start_response: Any) -> Any:
        if len(environs) < n:
            environs.append(dict(environ))
        return apps.hello(environ, start_response)

    feed(protocol(keep), fresh(pool, n))  # the environs the server builds for this traffic

    def alone() -> float:
        batch = [dict(e) for e in environs]
        t0 = time.process_time()
        for environ in batch:
            call_wsgi(app, environ)
        return (time.process_time() - t0) / len(batch)

    alone()
    through = timed_feed(protocol(app), pool, n)
    hello = timed_feed(protocol(apps.hello), pool, n)
    by_itself = min(alone() for _ in range(3))
    extra = through - hello - by_itself
    print(f"{name} through the server: {through * 1e6:.2f} us per request ({traffic} traffic)")
    print(f"hello through the server:  {hello * 1e6:.2f} us")
    print(f"{name} alone on the same environs: {by_itself * 1e6:.2f} us")
    print(f"taken by running the two in turn: {extra * 1e6:.2f} us "
          f"({extra / through:.0%} of the request)")
    return {"through": through * 1e6, "hello": hello * 1e6, "alone": by_itself * 1e6}


def opcodes(name: str, n: int, traffic: str) -> dict[str, object]:
    """Bytecodes the interpreter runs per request, by function (opcode tracing:
    an exact count, unlike time, but slow, so over a few thousand requests)."""
    pool = realistic(n) if traffic == "realistic" else [REQUEST]
    proto = protocol(getattr(apps, name))
    feed(proto, fresh(pool, 500))  # warmed up, as timed_feed does
    counts: Counter[str] = Counter()

    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        if event == "opcode":
            code = frame.f_code
            counts[f"{Path(code.co_filename).name}:{code.co_firstlineno}({code.co_name})"] += 1
        return trace

    batch = fresh(pool, n)
    sys.settrace(trace)
    try:
        feed(proto, batch)
    finally:
        sys.settrace(None)
    own = {f: c / n for f, c in counts.items() if not f.startswith("hotpath.py:")}
    total = sum(own.values())
    print(f"{total:.0f} bytecodes per request, {traffic} traffic, app {name} "
          "(the harness's own left out)")
    for f, c in sorted(own.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {c:7.1f}  {f}")
    return {"bytecodes_per_request": total, "by_function": own}


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=50000)
    ap.add_argument("--no-profile", action="store_true", help="only the timing")
    ap.add_argument("--save", action="store_true", help="write bench/results/hotpath.json")
    ap.add_argument("--top", type=int, default=15, help="functions listed by own time")
    ap.add_argument("--traffic", choices=["realistic", "repeated"], default="realistic")
    ap.add_argument("--app", choices=["hello", "web_app", "flask_app"], default="hello",
                    help="the app of bench/apps.py to serve (default hello)")
    ap.add_argument("--opcodes", action="store_true",
                    help="count the interpreter's steps (bytecodes) per request, by function")
    ap.add_argument("--app-alone", action="store_true",
                    help="compare the app through the server with the app called alone")
    args = ap.parse_args(argv)
    if args.app_alone:
        return app_alone(args.app, args.requests, args.traffic)
    if args.opcodes:
        return opcodes(args.app, min(args.requests, 2000), args.traffic)
    n = args.requests
    pool = realistic(n) if args.traffic == "realistic" else [REQUEST]
    proto = protocol(getattr(apps, args.app))
    best = timed_feed(proto, pool, n)
    if args.no_profile:
        print(f"{best * 1e6:.2f} us of Python per request (no syscalls), {args.traffic} traffic")
        return {"us_per_request": best * 1e6}
    batch = fresh(pool, n)
    prof = cProfile.Profile()
    prof.enable()
    feed(proto, batch)
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
    data: dict[str, object] = {
        "date": now(),
        "command": f"python bench/hotpath.py --requests {n} --traffic {args.traffic}"
                   + (f" --app {args.app}" if args.app != "hello" else ""),
        "traffic": args.traffic,
        "us_per_request": best * 1e6,
        "shares": shares,
        "top": [{"function": f, "share": t / total} for t, f in top[:12]],
    }
    if args.save:
        data["machine"] = machine()
        save("hotpath", data)
    print(f"{best * 1e6:.1f} us of Python per request (no syscalls), {args.traffic} traffic,"
          f" app {args.app}")
    for k, v in shares.items():
        print(f"  {v:6.1%}  {k}")
    for t, f in top[:args.top]:
        print(f"  {t / total:6.1%}  {f}")
    return data


if __name__ == "__main__":
    main()
