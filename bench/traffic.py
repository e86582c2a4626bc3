"""The two kinds of traffic the server benchmark sends, and a check of the realistic one.

* ``repeated``: plain ``wrk``, one request (``GET /`` with a Host header) sent
  over and over, byte for byte the same.
* ``realistic``: ``wrk -s bench/realistic.lua``: every request differs, as traffic
  from many clients does: varying paths and query strings, 2,000 distinct clients
  each with its own user agent, accept, accept-language and cookie, and a unique
  X-Request-Id per request; about 400 bytes of header fields.

    python bench/traffic.py [--duration 1] [--connections 4] [--show 3]

runs ``wrk`` with the realistic script against a small capture server on this
machine (a thread per connection answering a canned 200) and prints what it
received: how many requests, how many distinct, distinct paths and clients, the
size of the header section, and a few requests in full.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import statistics
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCRIPT = Path(__file__).resolve().parent / "realistic.lua"
TRAFFIC = ("realistic", "repeated")
CANNED = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
          b"Hello, World!")


def wrk_args(traffic: str, url: str) -> list[str]:
    """The wrk arguments after the options: the URL, and for realistic traffic the
    script and a fresh nonce (so no request id repeats across runs)."""
    if traffic == "repeated":
        return [url]
    if traffic == "realistic":
        return ["-s", str(SCRIPT), url, "--", secrets.token_hex(12)]
    raise ValueError(f"unknown traffic {traffic!r} (one of {', '.join(TRAFFIC)})")


@dataclass
class Capture:
    """A server on 127.0.0.1 that records every request head and answers CANNED."""

    heads: list[bytes] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _acceptor: threading.Thread | None = None

    def start(self) -> Capture:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.settimeout(0.1)  # so the acceptor sees stop() soon
        self.port = sock.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, args=(sock,), daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(5)
            self._acceptor = None

    def _accept(self, sock: socket.socket) -> None:
        with sock:
            while not self._stopping.is_set():
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    continue
                conn.settimeout(None)
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:  # GET requests: no body
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    with self._lock:
                        self.heads.append(head + b"\r\n\r\n")
                    try:
                        conn.sendall(CANNED)
                    except OSError:
                        return


def summarize(heads: list[bytes]) -> dict[str, float]:
    """Counts and sizes of captured request heads (each ending in CRLF CRLF)."""
    paths, cookies, agents, ids = set(), set(), set(), set()
    field_bytes = []
    for head in heads:
        line, _, fields = head.partition(b"\r\n")
        paths.add(line.split(b" ")[1])
        field_bytes.append(len(fields))
        for f in fields.split(b"\r\n"):
            name, _, value = f.partition(b":")
            name = name.lower()
            if name == b"cookie":
                cookies.add(value)
            elif name == b"user-agent":
                agents.add(value)
            elif name == b"x-request-id":
                ids.add(value)
    return {
        "requests": len(heads),
        "distinct_requests": len(set(heads)),
        "distinct_paths": len(paths),
        "distinct_cookies": len(cookies),
        "distinct_user_agents": len(agents),
        "distinct_request_ids": len(ids),
        "head_bytes_median": statistics.median(len(h) for h in heads) if heads else 0,
        "field_bytes_min": min(field_bytes, default=0),
        "field_bytes_median": statistics.median(field_bytes) if field_bytes else 0,
        "field_bytes_max": max(field_bytes, default=0),
    }


def capture(traffic: str = "realistic", duration: float = 1.0, connections: int = 4
            ) -> list[bytes]:
    """Run wrk with ``traffic`` against a capture server; the request heads it sent."""
    cap = Capture().start()
    try:
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s",
               *wrk_args(traffic, f"http://127.0.0.1:{cap.port}/")]
        subprocess.run(cmd, capture_output=True, check=True, timeout=duration + 60)
    finally:
        cap.stop()
    with cap._lock:
        return list(cap.heads)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traffic", default="realistic", choices=TRAFFIC)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--show", type=int, default=3, help="requests to print in full")
    args = ap.parse_args(argv)
    heads = capture(args.traffic, args.duration, args.connections)
    for head in heads[:args.show]:
        print(head.decode("latin-1").replace("\r\n", "\\r\\n\n"))
    summary = summarize(heads)
    for k, v in summary.items():
        print(f"{k:22} {v:,.0f}")
    return summary


if __name__ == "__main__":
    main()
