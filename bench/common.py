"""Shared helpers for the benchmark scripts: the peer venv, starting servers
pinned to a core, running ``wrk`` and reading its figures."""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEERS_VENV = BENCH / ".venv-peers"
RESULTS_DIR = BENCH / "results"
LOG_DIR = Path(tempfile.gettempdir()) / "corral-bench-logs"  # server output, not kept
# the peer servers, and httptools for raw-uvloop (bench/raw_server.py)
PEER_PACKAGES = ["gunicorn", "granian", "waitress", "flask", "gevent", "httptools"]
SERVER_CORE = "0"
CLIENT_CORE = "1"


def peer_bin(name: str) -> str:
    return str(PEERS_VENV / "bin" / name)


def ensure_peers() -> None:
    """Create bench/.venv-peers with the peer servers and corral itself (editable)."""
    py = PEERS_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    missing = [p for p in ("gunicorn", "granian", "waitress-serve") if not Path(peer_bin(p)).exists()]
    probe = subprocess.run([str(py), "-c", "import corral, flask, gevent, httptools"],
                           capture_output=True)
    if missing or probe.returncode:
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-e", str(ROOT)], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(kind: str, app: str, port: int) -> list[str]:
    """The command line serving ``bench.apps:<app>`` with one worker on ``port``."""
    spec = f"bench.apps:{app}"
    bind = f"127.0.0.1:{port}"
    py = peer_bin("python")
    corral = [py, "-m", "corral", spec, "-w", "1", "-b", bind, "--keep-alive", "5"]
    table: dict[str, list[str]] = {
        "corral-asyncio": [*corral, "-k", "asyncio"],
        "corral-asyncio-t4": [*corral, "-k", "asyncio", "--threads", "4"],
        "corral-asyncio-stdloop": [*corral, "-k", "asyncio", "--loop", "asyncio"],
        "corral-gthread": [*corral, "-k", "gthread", "--threads", "4"],
        "corral-sync": [*corral, "-k", "sync"],
        "corral-gevent": [*corral, "-k", "gevent"],
        "gunicorn-sync": [peer_bin("gunicorn"), spec, "-w", "1", "-b", bind, "-k", "sync"],
        "gunicorn-gthread": [
            peer_bin("gunicorn"), spec, "-w", "1", "-b", bind, "-k", "gthread", "--threads", "4",
        ],
        "granian": [
            peer_bin("granian"), "--interface", "wsgi", "--workers", "1",
            "--host", "127.0.0.1", "--port", str(port), "--no-ws", spec,
        ],
        "waitress": [
            peer_bin("waitress-serve"), "--host", "127.0.0.1", f"--port={port}", spec,
        ],
        # not a WSGI server: a fixed answer from uvloop + httptools, whatever the app
        "raw-uvloop": [py, str(BENCH / "raw_server.py"), "--port", str(port)],
        # not a full server: the least a WSGI server on uvloop + httptools can do
        "wsgi-floor": [py, str(BENCH / "wsgi_floor.py"), "--port", str(port), spec],
        "wsgi-floor-httptools": [py, str(BENCH / "wsgi_floor.py"), "--port", str(port),
                                 "--parse", "httptools", spec],
        "wsgi-floor-split": [py, str(BENCH / "wsgi_floor.py"), "--port", str(port),
                             "--parse", "split", spec],
    }
    return table[kind]


@dataclass
class Server:
    """A server process pinned to the server core, in its own process group;
    corral and the benchmark apps come from the source tree ``root`` (this one
    unless told otherwise: see ``ab.py``)."""

    kind: str
    app: str
    extra: list[str] = field(default_factory=list)
    root: Path = ROOT
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=lambda: LOG_DIR / "server.log")

    def start(self, timeout: float = 20.0) -> Server:
        self.port = free_port()
        cmd = ["taskset", "-c", SERVER_CORE, *server_command(self.kind, self.app, self.port),
               *self.extra]
        env = dict(os.environ, PYTHONPATH=f"{self.root / 'src'}{os.pathsep}{self.root}",
                   PYTHONDONTWRITEBYTECODE="1")
        env.pop("WEB_CONCURRENCY", None)
        LOG_DIR.mkdir(exist_ok=True)
        self.log = LOG_DIR / f"{self.kind}-{self.app}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=str(self.root), env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log.read_text()[-2000:]}")
            if http_ok(self.port):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer in {timeout}s")

    def worker_pid(self) -> int:
        """The single worker's pid (the child of the master), or the master itself."""
        assert self.proc is not None
        kids = children(self.proc.pid)
        return kids[0] if kids else self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_group(self.proc)
        self.proc = None


def stop_group(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Stop the process group ``proc`` leads: TERM, then KILL after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return sorted(out)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def http_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.")
    except OSError:
        return False


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_TOTAL = re.compile(r"(\d+) requests in")
_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def tree_cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU time (seconds) of a process and its children
    (threads included)."""
    user = system = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in [pid, *children(pid)]:
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11]) / tick  # utime
        system += int(fields[12]) / tick  # stime
    return user, system


def wrk(port: int, duration: float = 5.0, connections: int = 50, path: str = "/",
        pid: int | None = None, traffic: str = "repeated") -> dict[str, float]:
    """``taskset -c 1 wrk -t1 -cN -dDs``: requests/s, non-2xx count, socket errors,
    and wrk's own CPU time as a share of the run (near 1.0, wrk was the bottleneck);
    with ``pid``, also the CPU time that process tree spent per request (µs).
    ``traffic`` is ``repeated`` (one request over and over) or ``realistic``
    (every request differs: bench/realistic.lua, see bench/traffic.py)."""
    from bench.traffic import wrk_args

    user0, sys0 = tree_cpu_split(pid) if pid else (0.0, 0.0)
    cmd = [
        "taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{connections}",
        f"-d{duration:g}s", *wrk_args(traffic, f"http://127.0.0.1:{port}{path}"),
    ]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)  # taskset execs wrk: this is wrk's own rusage
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    m = _RPS.search(out)
    bad = _NON2XX.search(out)
    errs = _ERRORS.search(out)
    total = _TOTAL.search(out)
    user_us = sys_us = 0.0
    if pid and total and int(total.group(1)):
        user1, sys1 = tree_cpu_split(pid)
        user_us = (user1 - user0) * 1e6 / int(total.group(1))
        sys_us = (sys1 - sys0) * 1e6 / int(total.group(1))
    return {
        "cpu_us": user_us + sys_us,
        "user_us": user_us,  # in the server's own code (Python, C extensions)
        "sys_us": sys_us,  # in the kernel for it (sockets, epoll)
        "rps": float(m.group(1)) if m else 0.0,
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "errors": float(sum(int(g) for g in errs.groups())) if errs else 0.0,
        "wrk_cpu": (usage.ru_utime + usage.ru_stime) / wall if wall else 0.0,
        "wrk_us": ((usage.ru_utime + usage.ru_stime) * 1e6 / int(total.group(1))
                   if total and int(total.group(1)) else 0.0),
    }


WRK_COMMAND = "taskset -c 1 wrk -t1 -c50 -d5s http://127.0.0.1:PORT/"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    py = subprocess.run(
        [peer_bin("python"), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True, text=True,
    ).stdout.strip() or platform.python_version()
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} x {cpu}, Python {py}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. "1.02, 0.87, 0.60"."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_times() -> list[int]:
    """The machine-wide CPU time counters of /proc/stat (user, nice, system, idle,
    iowait, irq, softirq, steal, ...), in clock ticks."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def save(name: str, data: object) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def load(name: str) -> object | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def have_tools() -> None:
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required (install the distribution's package)")
