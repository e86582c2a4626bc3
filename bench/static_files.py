"""Static-file throughput: corral's --static-map against nginx serving the same files.

One worker each, the server pinned to core 0, wrk on core 1 (``taskset -c 1 wrk -t1
-c50``), a 1 KiB and a 1 MiB file, rounds interleaved, medians.  nginx runs with a
configuration written under a temporary directory (``sendfile on``, access log off,
one worker process); corral with its default worker class and ``-w 1``.

    python bench/static_files.py [--rounds 3] [--duration 5] [--kinds asyncio,gthread]

Needs ``nginx`` and ``wrk`` (``apt-get install nginx wrk``).  Writes
bench/results/static_files.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CLIENT_CORE,
    ROOT,
    SERVER_CORE,
    cpu_times,
    free_port,
    http_ok,
    load_average,
    median,
    now,
    save,
    stop_group,
    wrk,
)

FILES = {"1 KiB": ("small.txt", 1024), "1 MiB": ("big.bin", 1 << 20)}
NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location /static/ {{ alias {root}/; }}
    }}
}}
"""


class Proc:
    """A server in its own process group, pinned to the server core."""

    def __init__(self, name: str, cmd: list[str], port: int, log: Path) -> None:
        self.name = name
        self.port = port
        self.log = log
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        env.pop("WEB_CONCURRENCY", None)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, *cmd], cwd=str(ROOT),
                                         env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while not http_ok(port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_group(self.proc)


def start(kind: str, tmp: Path, root: Path) -> Proc:
    port = free_port()
    if kind == "nginx":
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=root))
        return Proc(kind, ["nginx", "-c", str(conf), "-e", str(tmp / "error.log")], port,
                    tmp / "nginx.log")
    cmd = [sys.executable, "-m", "corral", "bench.apps:hello", "-b", f"127.0.0.1:{port}",
           "-w", "1", "-k", kind, "--static-map", f"/static={root}"]
    if kind == "gthread":
        cmd += ["--threads", "4"]
    return Proc(f"corral-{kind}", cmd, port, tmp / f"corral-{kind}.log")


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--kinds", default="asyncio,gthread")
    args = parser.parse_args(argv)
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required (apt-get install nginx wrk util-linux)")
    servers = ["nginx", *args.kinds.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="corral-static-bench-"))
    root = tmp / "public"
    root.mkdir()
    for name, size in FILES.values():
        (root / name).write_bytes(os.urandom(size))
    for path in (tmp, root, *root.iterdir()):  # nginx's workers run as nobody
        path.chmod(0o755)
    results: dict[str, dict[str, list[float]]] = {s: {f: [] for f in FILES} for s in servers}
    load_before = load_average()
    cpu0 = cpu_times()
    try:
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for kind in order:
                proc = start(kind, tmp, root)
                try:
                    for label, (name, _size) in FILES.items():
                        wrk(proc.port, 1.0, 50, f"/static/{name}")  # warm-up
                        out = wrk(proc.port, args.duration, 50, f"/static/{name}")
                        if out["non2xx"] or out["errors"]:
                            print(f"warning: {proc.name} {label}: {out}", file=sys.stderr)
                        results[kind][label].append(out["rps"])
                finally:
                    proc.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cpu1 = cpu_times()
    steal = (cpu1[7] - cpu0[7]) / max(1, sum(cpu1) - sum(cpu0)) if len(cpu1) > 7 else 0.0
    data: dict[str, object] = {
        "date": now(), "machine": machine_line(), "load_before": load_before,
        "load_after": load_average(), "steal": steal, "rounds": args.rounds,
        "duration": args.duration, "results": results,
        "command": f"taskset -c {CLIENT_CORE} wrk -t1 -c50 -d{args.duration:g}s",
    }
    save("static_files", data)
    print(table(data))
    return data


def machine_line() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} x {cpu}, "
            f"Python {platform.python_version()}, {nginx}")


def table(data: dict[str, object]) -> str:
    results = data["results"]
    assert isinstance(results, dict)
    lines = ["| server | 1 KiB req/s (median) | 1 MiB req/s (median) | 1 MiB MB/s | "
             "1 KiB per round | 1 MiB per round |", "|---|---:|---:|---:|---|---|"]
    nginx = {label: median(results["nginx"][label]) for label in FILES}
    for kind, by_file in results.items():
        small, big = median(by_file["1 KiB"]), median(by_file["1 MiB"])
        name = kind if kind == "nginx" else f"corral {kind}"
        lines.append(
            f"| {name} | {small:,.0f} | {big:,.0f} | {big * (1 << 20) / 1e6:,.0f} | "
            + " / ".join(f"{v:,.0f}" for v in by_file["1 KiB"]) + " | "
            + " / ".join(f"{v:,.0f}" for v in by_file["1 MiB"]) + " |")
    lines.append("")
    for kind in results:
        if kind != "nginx":
            ratios = ", ".join(
                f"{label} {median(results[kind][label]) / nginx[label]:.2f}x"
                for label in FILES if nginx[label])
            lines.append(f"corral {kind} / nginx: {ratios}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
