"""In-process cost per request: Flask, Bottle, Falcon and corral.web side by side.

Each framework serves the same four endpoints; every request calls the WSGI app
with a fresh environ, drains and closes the body.  The best of several repeats
is reported, in microseconds per request, with the ratio to Flask.

    .venv/bin/python bench/framework.py [--iterations N] [--repeats R]

Bottle and Falcon are not project dependencies: when they cannot be imported the
script creates ``bench/.venv-peers`` (bottle, falcon, flask and this project,
editable) and re-executes itself there.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import subprocess
import sys
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(HERE, ".venv-peers")

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Any]
N_RULES = 50


def ensure_peers() -> None:
    try:
        import bottle  # noqa: F401
        import falcon  # noqa: F401
        import flask  # noqa: F401
    except ImportError:
        pass
    else:
        return
    if os.environ.get("CORRAL_BENCH_REEXEC"):
        raise SystemExit("bottle/falcon/flask still missing in " + sys.executable)
    py = os.path.join(PEERS, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", PEERS])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "-e", ROOT])
    # the venv may come from the server benchmarks, which install other peers
    if subprocess.run([py, "-c", "import bottle, falcon, flask"], capture_output=True).returncode:
        subprocess.check_call([py, "-m", "pip", "install", "-q", "bottle", "falcon", "flask"])
    env = dict(os.environ, CORRAL_BENCH_REEXEC="1")
    os.execve(py, [py, os.path.abspath(__file__), *sys.argv[1:]], env)


# -- the apps -------------------------------------------------------------------------


def flask_like(mod: Any, cls_name: str) -> Wsgi:
    """The same app for Flask and corral.web (the API is the same)."""
    app = getattr(mod, cls_name)(__name__)
    g, request, jsonify = mod.g, mod.request, mod.jsonify

    @app.before_request
    def load_user() -> None:
        g.user = "alice"

    @app.route("/")
    def index() -> str:
        return "Hello, World!"

    @app.route("/user/<int:uid>")
    def user(uid: int) -> Any:
        return jsonify(id=uid, name=g.user)

    @app.route("/search")
    def search() -> Any:
        return {"q": request.args.get("q"), "agent": request.headers.get("User-Agent")}

    for i in range(N_RULES):
        app.add_url_rule(f"/r{i}/<int:x>/item", f"r{i}", lambda x, i=i: f"rule {i} {x}")
    return app  # type: ignore[no-any-return]


def bottle_app() -> Wsgi:
    import bottle

    app = bottle.Bottle()

    @app.hook("before_request")
    def load_user() -> None:
        bottle.request.environ["user"] = "alice"

    @app.route("/")
    def index() -> str:
        return "Hello, World!"

    @app.route("/user/<uid:int>")
    def user(uid: int) -> Any:
        return {"id": uid, "name": bottle.request.environ["user"]}

    @app.route("/search")
    def search() -> Any:
        return {"q": bottle.request.query.get("q"), "agent": bottle.request.headers.get("User-Agent")}

    for i in range(N_RULES):
        app.route(f"/r{i}/<x:int>/item", callback=lambda x, i=i: f"rule {i} {x}")
    return app  # type: ignore[no-any-return]


def falcon_app() -> Wsgi:
    import falcon

    class Users:
        def process_request(self, req: Any, resp: Any) -> None:
            req.context.user = "alice"

    class Index:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = "Hello, World!"

    class User:
        def on_get(self, req: Any, resp: Any, uid: int) -> None:
            resp.media = {"id": uid, "name": req.context.user}

    class Search:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.media = {"q": req.get_param("q"), "agent": req.get_header("User-Agent")}

    class Rule:
        def __init__(self, i: int) -> None:
            self.i = i

        def on_get(self, req: Any, resp: Any, x: int) -> None:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = f"rule {self.i} {x}"

    app = falcon.App(middleware=[Users()])
    app.add_route("/", Index())
    app.add_route("/user/{uid:int}", User())
    app.add_route("/search", Search())
    for i in range(N_RULES):
        app.add_route(f"/r{i}/{{x:int}}/item", Rule(i))
    return app  # type: ignore[no-any-return]


ENDPOINTS = [
    ("GET / (str)", "/", ""),
    ("/user/<int> jsonify + before_request", "/user/42", ""),
    ("/search args + header -> dict", "/search", "q=corral&page=2"),
    ("50 rules, last dynamic", f"/r{N_RULES - 1}/7/item", ""),
]


def environ_for(path: str, query: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost:8000",
        "HTTP_USER_AGENT": "bench/1.0",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


def call_wsgi(app: Wsgi, environ: dict[str, Any]) -> None:
    """One WSGI call as a server makes it, minus the output: the body iterated
    to its end and closed."""
    body = app(environ, start_response)
    for _chunk in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()


def check(app: Wsgi, path: str, query: str) -> bytes:
    captured: list[str] = []

    def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured.append(status)

    env = environ_for(path, query)
    env["wsgi.input"] = io.BytesIO()
    it = app(env, sr)
    body = b"".join(it)
    if hasattr(it, "close"):
        it.close()
    if not captured or not captured[0].startswith("200"):
        raise SystemExit(f"{path}: {captured} {body[:200]!r}")
    return body


def time_app(app: Wsgi, path: str, query: str, iterations: int, repeats: int) -> float:
    """Best seconds per request over ``repeats`` runs of ``iterations`` requests."""
    template = environ_for(path, query)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.thread_time()
        for _ in range(iterations):
            env = template.copy()
            env["wsgi.input"] = io.BytesIO()
            call_wsgi(app, env)
        best = min(best, (time.thread_time() - t0) / iterations)
    return best


def build_apps(only: list[str] | None) -> dict[str, Wsgi]:
    import flask

    import corral.web

    makers: dict[str, Callable[[], Wsgi]] = {
        "flask": lambda: flask_like(flask, "Flask"),
        "bottle": bottle_app,
        "falcon": falcon_app,
        "corral.web": lambda: flask_like(corral.web, "App"),
    }
    return {k: make() for k, make in makers.items() if not only or k in only}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} x {cpu},"
        f" Python {platform.python_version()}"
    )


def versions() -> str:
    from importlib.metadata import version

    out = []
    for dist in ("flask", "bottle", "falcon"):
        try:
            out.append(f"{dist} {version(dist)}")
        except Exception:
            continue
    return ", ".join(out)


def render(results: dict[tuple[str, str], float], names: list[str], args: argparse.Namespace) -> str:
    lines = [
        SECTION,
        "",
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
        f" Peers: {versions()}.",
        "",
        f"`python bench/framework.py --iterations {args.iterations} --repeats {args.repeats}`:"
        " each request calls the WSGI app with a fresh environ and drains and closes the"
        " body; CPU time of the benchmarking thread, best of the repeats (frameworks"
        " interleaved), in microseconds per request. Targets: corral.web at most 1/8 of"
        " Flask's time and no slower than Falcon on every endpoint.",
        "",
        "| endpoint | " + " | ".join(names) + " | Flask / corral.web | corral.web / Falcon |",
        "|---|" + "---:|" * (len(names) + 2),
    ]
    for label, _path, _query in ENDPOINTS:
        cells = [f"{results[(label, n)] * 1e6:.1f}" for n in names]
        mine = results.get((label, "corral.web"))
        flask_ratio = f"{results[(label, 'flask')] / mine:.1f}x" if mine and (label, "flask") in results else "-"
        falcon_ratio = f"{mine / results[(label, 'falcon')]:.2f}x" if mine and (label, "falcon") in results else "-"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {flask_ratio} | {falcon_ratio} |")
    loads = ", ".join(f"{x:.1f}" for x in LOADS) or "not sampled"
    lines += [
        "",
        status(results),
        "",
        f"Machine load (1-minute load average before the run, then after each endpoint):"
        f" {loads}, on {os.cpu_count()} CPUs. A load above the CPU count means other jobs"
        " ran on the machine at the same time: absolute figures then vary between runs,"
        " while the frameworks, interleaved, share the same conditions.",
    ]
    return "\n".join(lines) + "\n"


def status(results: dict[tuple[str, str], float]) -> str:
    """Which targets this run meets, in words."""
    missed = []
    for label, _path, _query in ENDPOINTS:
        mine = results.get((label, "corral.web"))
        if mine is None:
            return "Status: corral.web was not measured."
        flask_t, falcon_t = results.get((label, "flask")), results.get((label, "falcon"))
        if flask_t is not None and flask_t / mine < 8:
            missed.append(f"{label}: {flask_t / mine:.1f}x Flask (target 8x)")
        if falcon_t is not None and mine > falcon_t:
            missed.append(f"{label}: {mine / falcon_t:.2f}x Falcon's time (target <= 1x)")
    if not missed:
        return "Status: every target met in this run."
    return "Status: targets missed in this run: " + "; ".join(missed) + "."


def write_section(text: str) -> None:
    """Replace (or append) this section of bench/RESULTS.md, keeping the others."""
    path = os.path.join(HERE, "RESULTS.md")
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmark results\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip() + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("" if end < 0 else "\n" + old[end + 1 :])
    with open(path, "w", encoding="utf-8") as f:
        f.write(new.rstrip() + "\n")


SECTION = "## corral.web in-process"
LOADS: list[float] = []  # 1-minute load averages sampled during the run


def profile(app: Wsgi, iterations: int) -> None:
    """Print the cProfile statistics of ``iterations`` requests to each endpoint."""
    import cProfile
    import pstats

    for label, path, query in ENDPOINTS:
        check(app, path, query)
        prof = cProfile.Profile()
        prof.runcall(time_app, app, path, query, iterations, 1)
        print(f"== {label}")
        pstats.Stats(prof).sort_stats("tottime").print_stats(80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="frameworks to run")
    parser.add_argument("--no-peers", action="store_true", help="skip the peers venv")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument(
        "--profile", metavar="FRAMEWORK", help="cProfile one framework on every endpoint instead"
    )
    args = parser.parse_args()
    if not args.no_peers:
        ensure_peers()
    if args.profile:
        profile(build_apps([args.profile])[args.profile], args.iterations)
        return
    apps = build_apps(args.only)
    results: dict[tuple[str, str], float] = {}
    LOADS.append(os.getloadavg()[0])
    for label, path, query in ENDPOINTS:
        for app in apps.values():
            check(app, path, query)
        # interleave the frameworks so that load changes hit them alike
        for _ in range(args.repeats):
            for name, app in apps.items():
                best = time_app(app, path, query, args.iterations, 1)
                results[(label, name)] = min(results.get((label, name), best), best)
        LOADS.append(os.getloadavg()[0])
    text = render(results, list(apps), args)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
