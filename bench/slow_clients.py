"""Normal-client throughput with and without 500 slowloris-style connections.

Half of the slow connections trickle their request head one byte per second and
never finish it; the other half send a complete head announcing a 1 MB body and
then trickle the body one byte per second.  A slow connection that the server
closes (a header timeout, say) is opened again at its next turn, so the count
stays near 500 for the whole measurement.

For each server: one warm-up, then ``--rounds`` rounds of three measurements,
the order reversed every other round so a machine that slows down or speeds up
over the run favours none of them, each a ``taskset -c 1 wrk -t1 -c50`` run
against the hello app with the server pinned to core 0:

* *alone*: wrk only;
* *control*: wrk, while the slow-client generator runs its full load against a
  sink (a process on the client core that accepts and discards), not the server;
* *with slow clients*: wrk, while the generator's connections are on the server.

The slow clients have to share the client core with wrk (the machine has two
cores and the server has the other), and on their own they slow wrk down; the
control measures that, so *kept* is with / control: what holding the slow
connections costs the server, with the client side the same in both.  The CPU
time the server
spent per request alone and with the slow clients is recorded too (it does not
count time the hypervisor took away).  Several short rounds rather
than a few long ones: other work on the machine comes in bursts, and a median
of five is robust to two disturbed runs.

The head-tricklers stay within corral's default ``--header-timeout`` (10 s) for
the whole wrk run, so the figure is the cost of 500 open, trickling connections;
closes by the server (timeouts, early answers) and the reconnects they cause are
counted per round when they happen.

The slow clients come from a separate process pinned to core 1 (with wrk, away
from the server's core): one thread, non-blocking sockets and a 10 ms timer,
started fresh for each "with" measurement and stopped before the next "alone"
one.  It reports the CPU time it used, so its cost to the client core is on
record.

    python bench/slow_clients.py [--slow 500] [--rounds 5] [--duration 3] [--only corral-asyncio]

Saved to ``bench/results/slow_clients.json``.

Flood mode (``--flood``) asks another question: can a new client still get in
when far more slow connections arrive than a worker takes?  Each corral worker
class runs with its default settings (one worker, ``--worker-connections
1000``, ``--min-data-rate 240`` after a 5 s grace), started from this
interpreter; a generator process opens ``--idle`` connections that never send a
byte and ``--tricklers`` that send a POST head announcing a 1 MB body and then
one body byte every 2 s.  Every connection the server closes (shed, timed out,
too slow) is opened again at its next turn, so the pressure lasts.  After
``--settle`` seconds of flood, ``--probes`` new clients, one every 0.5 s, each
open a connection and GET the hello app; the time to the whole response is
recorded (the same probes without the flood first, as a baseline).  The file
descriptor limit is raised with ``setrlimit`` for the generator and the server.

    python bench/slow_clients.py --flood [--idle 5000] [--tricklers 1000] [--probes 20]

Saved to ``bench/results/slow_flood.json``.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import resource
import select
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CLIENT_CORE,
    SERVER_CORE,
    Server,
    ensure_peers,
    free_port,
    have_tools,
    http_ok,
    load_average,
    machine,
    median,
    now,
    save,
    wrk,
)

KINDS = [
    "corral-asyncio",
    "corral-asyncio-t4",
    "corral-gthread",
    "corral-gevent",
    "corral-sync",
    "gunicorn-sync",
    "gunicorn-gthread",
    "granian",
    "waitress",
]
HEAD = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
BODY_HEAD = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n"
BODY_LEN = 1_000_000
TICK = 0.01  # seconds between the generator's timer passes
READY_WAIT = 5.0  # seconds the generator waits for all its connections to open
SETTLE = 1.0  # seconds of trickling before wrk starts


# --- the slow-client generator (runs in its own process, on the client core) ---


@dataclass
class Slot:
    """One slow connection: which request it trickles and how far it has got."""

    body: bool
    sock: socket.socket | None = None
    connected: bool = False
    sent: int = 0

    def next_byte(self) -> bytes | None:
        """The next byte to trickle; None once the request is complete."""
        if self.body:
            if self.sent < len(BODY_HEAD):  # the head goes in one piece
                return BODY_HEAD[self.sent :]
            return b"x" if self.sent < len(BODY_HEAD) + BODY_LEN else None
        head = HEAD[:-1]  # never completes the head
        return head[self.sent : self.sent + 1] if self.sent < len(head) else None


@dataclass
class SlowClients:
    """``count`` slow connections to ``port``, each sending a byte every ``interval``
    seconds on its own turn (turns spread evenly over the interval)."""

    port: int
    count: int
    interval: float = 1.0
    sel: selectors.DefaultSelector = field(default_factory=selectors.DefaultSelector)
    slots: list[Slot] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("connects", "connect_failures", "closed_by_server", "bytes_sent"), 0.0))

    def __post_init__(self) -> None:
        self.slots = [Slot(body=i % 2 == 1) for i in range(self.count)]

    def connected(self) -> int:
        return sum(1 for s in self.slots if s.connected)

    def _open(self, slot: Slot) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(("127.0.0.1", self.port))
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            self.stats["connect_failures"] += 1
            return
        slot.sock, slot.connected, slot.sent = sock, False, 0
        self.sel.register(sock, selectors.EVENT_WRITE, slot)

    def _close(self, slot: Slot) -> None:
        if slot.sock is not None:
            self.sel.unregister(slot.sock)
            slot.sock.close()
        slot.sock, slot.connected = None, False

    def _event(self, slot: Slot) -> None:
        """The socket is writable (connect finished) or readable (the server spoke
        or closed: a slow client has nothing to read, so either ends it)."""
        assert slot.sock is not None
        if not slot.connected:
            if slot.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.stats["connect_failures"] += 1
                self._close(slot)
                return
            slot.connected = True
            self.stats["connects"] += 1
            self.sel.modify(slot.sock, selectors.EVENT_READ, slot)
            return
        self.stats["closed_by_server"] += 1
        self._close(slot)

    def _turn(self, slot: Slot) -> None:
        if slot.sock is None:
            self._open(slot)
            return
        if not slot.connected:
            return
        data = slot.next_byte()
        if data is None:  # request complete (never, at a byte a second): start over
            self._close(slot)
            return
        try:
            n = slot.sock.send(data)
        except BlockingIOError:
            return
        except OSError:
            self.stats["closed_by_server"] += 1
            self._close(slot)
            return
        slot.sent += n
        self.stats["bytes_sent"] += n

    def run(self, stop_fd: int) -> None:
        """Trickle until ``stop_fd`` reaches end of file; print "ready N" once the
        connections are open (or after READY_WAIT), and the stats on exit."""
        self.sel.register(stop_fd, selectors.EVENT_READ, None)
        turns = max(1, round(self.interval / TICK))
        start = time.monotonic()
        next_tick, tick, ready = start, 0, False
        while True:
            for key, _ in self.sel.select(max(0.0, next_tick - time.monotonic())):
                if key.data is None:
                    if not os.read(stop_fd, 4096):
                        self._finish(start)
                        return
                else:
                    self._event(key.data)
            now_ = time.monotonic()
            if now_ < next_tick:
                continue
            for slot in self.slots[tick % turns :: turns]:
                self._turn(slot)
            tick += 1
            next_tick = max(next_tick + TICK, now_)
            if not ready and (self.connected() == self.count or now_ - start > READY_WAIT):
                print(f"ready {self.connected()}", flush=True)
                ready = True

    def _finish(self, start: float) -> None:
        use = resource.getrusage(resource.RUSAGE_SELF)
        out = dict(self.stats, connected=float(self.connected()),
                   cpu_s=use.ru_utime + use.ru_stime, wall_s=time.monotonic() - start)
        for slot in self.slots:
            self._close(slot)
        print(json.dumps(out), flush=True)


# --- the measurement ---


class Loris:
    """The generator process: started pinned to the client core, stopped by closing
    its stdin."""

    def __init__(self, port: int, count: int) -> None:
        self.proc = subprocess.Popen(
            ["taskset", "-c", CLIENT_CORE, sys.executable, __file__, "--loris", str(port),
             "--slow", str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def _line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().decode().strip() if ready else ""

    def wait_ready(self) -> int:
        line = self._line(READY_WAIT + 10)
        return int(line.split()[1]) if line.startswith("ready ") else 0

    def stop(self) -> dict[str, float]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        line = self._line(20)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return json.loads(line) if line.startswith("{") else {}


def _settle(port: int, seconds: float = 10.0) -> None:
    """Wait until the server answers again after the slow clients have gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not http_ok(port):
        time.sleep(0.2)
    time.sleep(0.5)


class Sink:
    """The control: a process on the client core that accepts connections and
    discards what they send, so the slow-client generator can run its full load
    (same connections, same trickling, same CPU on the client core) without
    touching the server under test."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["taskset", "-c", CLIENT_CORE, sys.executable, __file__, "--sink", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_sink(port: int) -> None:
    """Accept and read forever (the body of :class:`Sink`)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(1024)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if sock is lsock:
                try:
                    conn, _ = lsock.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                continue
            try:
                data = sock.recv(65536)  # type: ignore[union-attr]
            except (BlockingIOError, ConnectionError):
                data = b"x"
            if not data:
                sel.unregister(sock)
                sock.close()  # type: ignore[union-attr]


def _with_slow(port: int, slow: int, duration: float, pid: int | None,
               target: int | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """wrk against ``port`` while the slow clients connect to ``target`` (the
    server itself, or the sink for the control runs)."""
    loris = Loris(target or port, slow)
    try:
        opened = loris.wait_ready()
        time.sleep(SETTLE)
        rps = wrk(port, duration=duration, pid=pid)
    finally:
        gen = loris.stop()
    gen["opened_before_wrk"] = float(opened)
    if opened < slow:
        print(f"  warning: only {opened} of {slow} slow connections open when wrk started",
              file=sys.stderr)
    return rps, gen


def measure(kind: str, slow: int, rounds: int, duration: float) -> dict[str, Any]:
    srv = Server(kind, "hello").start()
    sink = Sink()
    pid = srv.proc.pid if srv.proc is not None else None
    alone: list[float] = []
    control: list[float] = []
    loaded: list[float] = []
    cpu_alone: list[float] = []
    cpu_loaded: list[float] = []
    gens: list[dict[str, float]] = []
    steps = ("alone", "control", "with")
    try:
        wrk(srv.port, duration=1)
        for r in range(rounds):
            for step in steps if r % 2 == 0 else steps[::-1]:
                _settle(srv.port)
                if step == "alone":
                    res = wrk(srv.port, duration=duration, pid=pid)
                    alone.append(res["rps"])
                    cpu_alone.append(res["cpu_us"])
                elif step == "control":
                    res, _ = _with_slow(srv.port, slow, duration, pid, sink.port)
                    control.append(res["rps"])
                else:
                    res, gen = _with_slow(srv.port, slow, duration, pid)
                    loaded.append(res["rps"])
                    cpu_loaded.append(res["cpu_us"])
                    gens.append(gen)
            rps = loaded[-1]
            print(f"  round {r + 1} {kind:18} alone {alone[-1]:8.0f}  control {control[-1]:8.0f}"
                  f"  with slow {rps:8.0f} req/s"
                  f"  (slow clients open {gen.get('opened_before_wrk', 0):.0f}, closed by server "
                  f"{gen.get('closed_by_server', 0):.0f}, generator cpu "
                  f"{gen.get('cpu_s', 0):.2f}s/{gen.get('wall_s', 0):.1f}s)", flush=True)
    finally:
        srv.stop()
        sink.stop()
    base, with_slow, ctrl = median(alone), median(loaded), median(control)
    kept = with_slow / ctrl if ctrl else 0.0
    print(f"{kind:18} median {base:8.0f} (control {ctrl:8.0f}) -> {with_slow:8.0f} req/s "
          f"({kept:6.1%} kept)", flush=True)
    return {"normal": base, "control": ctrl, "with_slow": with_slow, "kept": kept,
            "kept_vs_alone": with_slow / base if base else 0.0, "alone_samples": alone,
            "control_samples": control,
            "cpu_alone": median(cpu_alone), "cpu_with_slow": median(cpu_loaded),
            "slow_samples": loaded, "generator": gens}


# --- flood mode ---

FLOOD_KINDS = ["corral-asyncio", "corral-asyncio-t4", "corral-gthread", "corral-gevent"]
FLOOD_ARGS = {
    "corral-asyncio": ["-k", "asyncio"],
    "corral-asyncio-t4": ["-k", "asyncio", "--threads", "4"],
    "corral-gthread": ["-k", "gthread", "--threads", "4"],
    "corral-gevent": ["-k", "gevent"],
}
TRICKLE_EVERY = 2.0  # seconds between two body bytes of a trickler
CONNECT_GIVE_UP = 5.0  # a connect still pending after this long is dropped and retried


def raise_fd_limit() -> int:
    """Soft descriptor limit up to the hard one (inherited by child processes)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class FloodClients:
    """``idle`` silent connections and ``tricklers`` slow uploads to ``port``,
    reopened when the server closes them (one process, non-blocking sockets)."""

    def __init__(self, port: int, idle: int, tricklers: int) -> None:
        self.port = port
        self.sel = selectors.DefaultSelector()
        # per slot: [socket or None, connected, connect started, trickler]
        self.slots: list[list[Any]] = (
            [[None, False, 0.0, False] for _ in range(idle)]
            + [[None, False, 0.0, True] for _ in range(tricklers)])
        self.stats = dict.fromkeys(("connects", "connect_failures", "closed_by_server"), 0)

    def _open(self, slot: list[Any], now_: float) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(("127.0.0.1", self.port))
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            self.stats["connect_failures"] += 1
            return
        slot[0], slot[1], slot[2] = sock, False, now_
        self.sel.register(sock, selectors.EVENT_WRITE, slot)

    def _close(self, slot: list[Any]) -> None:
        if slot[0] is not None:
            self.sel.unregister(slot[0])
            slot[0].close()
        slot[0], slot[1] = None, False

    def _event(self, slot: list[Any]) -> None:
        sock = slot[0]
        if not slot[1]:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.stats["connect_failures"] += 1
                self._close(slot)
                return
            slot[1] = True
            self.stats["connects"] += 1
            self.sel.modify(sock, selectors.EVENT_READ, slot)
            if slot[3]:
                self._send(slot, BODY_HEAD)
            return
        try:  # the server spoke (a 408) or closed: either way this one is over
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.stats["closed_by_server"] += 1
            self._close(slot)

    def _send(self, slot: list[Any], data: bytes) -> None:
        try:
            slot[0].send(data)
        except BlockingIOError:
            pass
        except OSError:
            self.stats["closed_by_server"] += 1
            self._close(slot)

    def _turn(self, slot: list[Any], now_: float) -> None:
        if slot[0] is None:
            self._open(slot, now_)
        elif not slot[1]:
            if now_ - slot[2] > CONNECT_GIVE_UP:
                self.stats["connect_failures"] += 1
                self._close(slot)
        elif slot[3]:
            self._send(slot, b"x")

    def connected(self) -> int:
        return sum(1 for slot in self.slots if slot[1])

    def run(self, stop_fd: int) -> None:
        """Until ``stop_fd`` ends: every slot gets a turn every TRICKLE_EVERY
        seconds (turns spread over the interval); "ready N" once all are
        connected or after READY_WAIT * 2; stats as JSON on exit."""
        self.sel.register(stop_fd, selectors.EVENT_READ, None)
        turns = max(1, round(TRICKLE_EVERY / TICK))
        start = next_tick = time.monotonic()
        tick, ready, samples = 0, False, []
        while True:
            for key, _ in self.sel.select(max(0.0, next_tick - time.monotonic())):
                if key.data is None:
                    if not os.read(stop_fd, 4096):
                        out = dict(self.stats, connected=self.connected(),
                                   connected_samples=samples)
                        print(json.dumps(out), flush=True)
                        return
                else:
                    self._event(key.data)
            now_ = time.monotonic()
            if now_ < next_tick:
                continue
            for slot in self.slots[tick % turns :: turns]:
                self._turn(slot, now_)
            tick += 1
            next_tick = max(next_tick + TICK, now_)
            if tick % turns == 0:
                samples.append(self.connected())
            if not ready and (self.connected() == len(self.slots) or now_ - start > READY_WAIT * 2):
                print(f"ready {self.connected()}", flush=True)
                ready = True


def probe(port: int, timeout: float = 15.0) -> float | None:
    """Seconds for a new client to connect and read a whole answer (None: failed)."""
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    return time.monotonic() - t0 if data.startswith(b"HTTP/1.1 200 ") else None


def probes(port: int, count: int) -> dict[str, Any]:
    times = []
    for _ in range(count):
        times.append(probe(port))
        time.sleep(0.5)
    ok = sorted(t for t in times if t is not None)
    return {"samples": times, "failed": len(times) - len(ok),
            "median_s": median(ok) if ok else None,
            "p90_s": ok[int(0.9 * (len(ok) - 1))] if ok else None,
            "max_s": ok[-1] if ok else None}


def measure_flood(kind: str, idle: int, tricklers: int, count: int,
                  settle: float) -> dict[str, Any]:
    port = free_port()
    cmd = [sys.executable, "-m", "corral", "bench.apps:hello", "-b", f"127.0.0.1:{port}",
           *FLOOD_ARGS[kind]]
    if have_taskset():
        cmd = ["taskset", "-c", SERVER_CORE, *cmd]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    env.pop("WEB_CONCURRENCY", None)
    log = open(os.devnull, "wb")
    srv = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, start_new_session=True)
    gen_proc = None
    try:
        _settle(port, 20)
        baseline = probes(port, count)
        gen_cmd = [sys.executable, __file__, "--flood-gen", str(port), "--idle", str(idle),
                   "--tricklers", str(tricklers)]
        if have_taskset():
            gen_cmd = ["taskset", "-c", CLIENT_CORE, *gen_cmd]
        gen_proc = subprocess.Popen(gen_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
        assert gen_proc.stdout is not None and gen_proc.stdin is not None
        ready, _, _ = select.select([gen_proc.stdout], [], [], READY_WAIT * 2 + 10)
        opened = gen_proc.stdout.readline().decode().strip() if ready else ""
        time.sleep(settle)
        flooded = probes(port, count)
        gen_proc.stdin.close()
        ready, _, _ = select.select([gen_proc.stdout], [], [], 30)
        line = gen_proc.stdout.readline().decode().strip() if ready else ""
        gen = json.loads(line) if line.startswith("{") else {}
        alive = srv.poll() is None
    finally:
        if gen_proc is not None:
            gen_proc.kill()
            gen_proc.wait()
        try:
            os.killpg(srv.pid, 15)
            srv.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(srv.pid, 9)
            srv.wait()
        log.close()
    res = {"baseline": baseline, "flood": flooded, "generator": gen, "opened": opened,
           "server_alive": alive}
    print(f"{kind:18} alone median {baseline['median_s']}s; in the flood ({opened}): "
          f"median {flooded['median_s']}s p90 {flooded['p90_s']}s max {flooded['max_s']}s "
          f"failed {flooded['failed']}/{count}", flush=True)
    return res


def have_taskset() -> bool:
    import shutil

    return shutil.which("taskset") is not None


def flood_main(args: argparse.Namespace) -> dict[str, object]:
    limit = raise_fd_limit()
    need = args.idle + args.tricklers + 100
    if limit < need:
        sys.exit(f"the descriptor limit is {limit}; the flood needs {need}")
    kinds = [k for k in FLOOD_KINDS if not args.only or k in args.only.split(",")]
    load_before = load_average()
    results = {k: measure_flood(k, args.idle, args.tricklers, args.probes, args.settle)
               for k in kinds}
    try:
        where = machine()
    except OSError:  # no peer virtualenv: this interpreter is the one serving
        where = f"{os.uname().sysname} {os.uname().release}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    data = {
        "machine": where,
        "date": now(),
        "command": f"python bench/slow_clients.py --flood --idle {args.idle} "
                   f"--tricklers {args.tricklers} --probes {args.probes} --settle {args.settle:g}",
        "load_average": [load_before, load_average()],
        "results": results,
    }
    save("slow_flood", data)
    return data


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--slow", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--flood", action="store_true", help="flood mode (see above)")
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--tricklers", type=int, default=1000)
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--settle", type=float, default=10.0)
    ap.add_argument("--flood-gen", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--loris", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--sink", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.sink:
        run_sink(args.sink)
        return {}
    if args.loris:
        SlowClients(args.loris, args.slow).run(sys.stdin.fileno())
        return {}
    if args.flood_gen:
        raise_fd_limit()
        FloodClients(args.flood_gen, args.idle, args.tricklers).run(sys.stdin.fileno())
        return {}
    if args.flood:
        return flood_main(args)
    have_tools()
    ensure_peers()
    kinds = [k for k in KINDS if not args.only or k in args.only.split(",")]
    load_before = load_average()
    results = {k: measure(k, args.slow, args.rounds, args.duration) for k in kinds}
    data = {
        "machine": machine(),
        "date": now(),
        "command": f"python bench/slow_clients.py --slow {args.slow} --rounds {args.rounds} "
                   f"--duration {args.duration:g}",
        "slow": args.slow,
        "rounds": args.rounds,
        "load_average": [load_before, load_average()],
        "results": results,
    }
    save("slow_clients", data)
    return data


if __name__ == "__main__":
    main()
