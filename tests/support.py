"""Helpers for tests that run a real corral server in a subprocess.

The server is started with ``-b 127.0.0.1:0``; the port the kernel picked is read
from the arbiter's ``Listening at: http://HOST:PORT (PID)`` log line.  Servers run
in their own process group and are always stopped by process group id.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"

# Every HTTP behaviour test is parametrized over these (name, extra CLI args).
WORKER_CLASSES: list[tuple[str, list[str]]] = [
    ("sync", ["-k", "sync"]),
    ("gthread", ["-k", "gthread", "--threads", "4"]),
    ("asyncio", ["-k", "asyncio"]),
    ("asyncio-t4", ["-k", "asyncio", "--threads", "4"]),
    ("gevent", ["-k", "gevent"]),
]

_LISTEN_RE = re.compile(r"Listening at: (?:https?://)?\[?([0-9a-fA-F.:]+)\]?:(\d+)")


class ServerProcess:
    """A corral (or other) server running in its own process group."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        command: Sequence[str] | None = None,
        listen_re: re.Pattern[str] = _LISTEN_RE,
    ) -> None:
        self.args = list(args)
        self.command = list(command) if command else [sys.executable, "-m", "corral"]
        self.cwd = str(cwd or APPS)
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(APPS), str(ROOT), str(ROOT / "src"), full_env.get("PYTHONPATH", "")]
        )
        full_env["PYTHONUNBUFFERED"] = "1"
        for name in ("WEB_CONCURRENCY", "CORRAL_CMD_ARGS", "GUNICORN_CMD_ARGS", "PORT",
                     "NOTIFY_SOCKET"):
            full_env.pop(name, None)
        if env:
            full_env.update(env)
        self.env = full_env
        self.listen_re = listen_re
        self.log_file = tempfile.NamedTemporaryFile(
            prefix="corral-test-", suffix=".log", delete=False
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle -----------------------------------------------------------
    def start(self, timeout: float = 15.0) -> ServerProcess:
        self.proc = subprocess.Popen(
            [*self.command, *self.args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.listen_re.search(self.output())
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}:\n{self.output()}"
                )
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.output()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        with open(self.log_file.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def wait(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the whole process group: TERM, then KILL if it lingers."""
        if self.proc is None:
            return None
        pgid = self.proc.pid
        if self.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.log_file.close()
        try:
            os.unlink(self.log_file.name)
        except FileNotFoundError:
            pass
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def worker_pids(self) -> list[int]:
        """Children of the arbiter, read from /proc."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid and fields[0] != b"Z":
                out.append(int(entry))
        return sorted(out)

    def wait_for(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            m = rx.search(self.output())
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not seen in {timeout}s:\n{self.output()}")

    # -- raw HTTP ----------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def request(self, raw: bytes, timeout: float = 10.0) -> bytes:
        """Send raw bytes, read until the server closes, return everything read."""
        with self.connect(timeout) as s:
            s.sendall(raw)
            return recv_all(s)


def recv_all(s: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def parse_response(data: bytes) -> tuple[int, dict[str, str], bytes, bytes]:
    """Split one response: (status, headers lower-cased, body, rest). Handles
    Content-Length, chunked and close-delimited bodies."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        key = k.strip().lower()
        headers[key] = f"{headers[key]}, {v.strip()}" if key in headers else v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        return status, headers, rest[:n], rest[n:]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                _, _, rest = rest.partition(b"\r\n")
                return status, headers, body, rest
            body += rest[:size]
            rest = rest[size + 2 :]
    if status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", rest
    return status, headers, rest, b""


def read_response(s: socket.socket, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Read exactly one response from a keep-alive socket."""
    s.settimeout(timeout)
    buf = b""
    while True:
        try:
            status, headers, body, rest = parse_response(buf)
            complete = (
                "content-length" in headers and len(body) == int(headers["content-length"])
            ) or (headers.get("transfer-encoding", "").lower() == "chunked" and buf.endswith(b"0\r\n\r\n"))
            if complete or status in (204, 304):
                return status, headers, body
        except (ValueError, IndexError):
            pass
        data = s.recv(65536)
        if not data:
            status, headers, body, _ = parse_response(buf)
            return status, headers, body
        buf += data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_load(
    host: str, port: int, raw: bytes, *, threads: int = 4, duration: float = 3.0,
    max_requests: int = 100_000,
) -> tuple[int, int, list[str]]:
    """Fire requests from a few threads for a bounded time/count.  The count is
    a safety bound only: the load must last its ``duration`` on a fast machine,
    where the lifecycle event it surrounds comes partway through it.
    Returns (ok, failed, failure reasons)."""
    ok = 0
    failed = 0
    reasons: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def one() -> None:
        nonlocal ok, failed
        while time.monotonic() < stop_at:
            with lock:
                if ok + failed >= max_requests:
                    return
            try:
                with socket.create_connection((host, port), timeout=10) as s:
                    s.sendall(raw)
                    data = recv_all(s)
                status = int(data.split(b" ", 2)[1]) if data else 0
                good = status == 200
                reason = "" if good else f"status {status}: {data[:80]!r}"
            except OSError as e:
                good, reason = False, repr(e)
            with lock:
                if good:
                    ok += 1
                else:
                    failed += 1
                    reasons.append(reason)

    ts = [threading.Thread(target=one) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(duration + 30)
    return ok, failed, reasons


def iter_chunks(data: bytes, sizes: Iterator[int]) -> Iterator[bytes]:
    i = 0
    while i < len(data):
        n = max(1, next(sizes))
        yield data[i : i + n]
        i += n
