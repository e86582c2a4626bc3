"""The request corpus under ``tests/corpus`` and the tools to replay it.

``tests/corpus/manifest.json`` maps each raw request file to what the server must
do with it:

* ``valid/*.http``: ``responses`` lists, per request in the file (pipelined
  requests follow each other), the status and a subset of the environ the echo
  app (``tests/apps/corpus_echo.py``) reports (``null``: not checked, e.g. HEAD);
  ``keep_alive`` says whether the connection stays open after the last response.
* ``invalid/*.http``: ``status`` (an int, or the list of acceptable statuses) that
  the first and only response carries, after which the server closes; ``eof``
  means the client half-closes after sending (a body cut short), so the server may
  also close without answering, but must never answer it with a success.

The corpus server runs with ``server_args`` and the parser is built with ``limits``.
"""

from __future__ import annotations

import json
import random
import socket
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@dataclass(frozen=True)
class Case:
    name: str  # path relative to tests/corpus, e.g. "valid/get_simple.http"
    raw: bytes
    description: str
    valid: bool
    statuses: tuple[int, ...] = ()
    responses: tuple[dict[str, Any], ...] = ()
    keep_alive: bool = True
    eof: bool = False

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Manifest:
    server_args: list[str]
    limits: dict[str, int]
    cases: list[Case] = field(default_factory=list)

    def select(self, valid: bool) -> list[Case]:
        return [c for c in self.cases if c.valid is valid]


def load_manifest() -> Manifest:
    data = json.loads((CORPUS / "manifest.json").read_text("utf-8"))
    cases = []
    for name, spec in sorted(data["cases"].items()):
        status = spec.get("status", ())
        cases.append(
            Case(
                name=name,
                raw=(CORPUS / name).read_bytes(),
                description=spec["description"],
                valid=name.startswith("valid/"),
                statuses=tuple(status) if isinstance(status, list) else (status,),
                responses=tuple(spec.get("responses", ())),
                keep_alive=spec.get("keep_alive", True),
                eof=spec.get("eof", False),
            )
        )
    return Manifest(data["server_args"], data["limits"], cases)


# -- how a request is cut into writes -------------------------------------------

MODES = ("whole", "bytewise", "random")


def split(raw: bytes, mode: str, seed: str) -> list[bytes]:
    """Cut ``raw`` as the mode says; random sizes are seeded by ``seed`` (stable)."""
    if mode == "whole":
        return [raw]
    if mode == "bytewise":
        return [raw[i : i + 1] for i in range(len(raw))]
    rng = random.Random(zlib.crc32(seed.encode()))
    out, i = [], 0
    while i < len(raw):
        n = rng.randint(1, 64)
        out.append(raw[i : i + n])
        i += n
    return out


# -- what a parsed request should look like in environ --------------------------


def environ_view(head: Any, body: bytes) -> dict[str, str]:
    """The CGI keys a request head determines, for comparison with the manifest."""
    env: dict[str, str] = {
        "REQUEST_METHOD": head.method,
        "RAW_URI": head.raw_uri,
        "PATH_INFO": unquote(head.path, encoding="latin-1"),
        "QUERY_STRING": head.query,
        "SERVER_PROTOCOL": "HTTP/{}.{}".format(*head.version),
        "body": body.decode("latin-1"),
    }
    for name, value in head.headers:
        if "_" in name:
            continue
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
        env[key] = f"{env[key]},{value}" if key in env else value
    return env


def mismatches(expected: dict[str, Any] | None, actual: dict[str, str]) -> dict[str, Any]:
    """Keys of ``expected`` whose value differs in ``actual`` (key -> (want, got))."""
    if expected is None:
        return {}
    return {
        k: (v, actual.get(k)) for k, v in expected.items() if actual.get(k) != v
    }


# -- reading responses off a socket -------------------------------------------------


class ResponseReader:
    """Reads successive responses from a socket (skipping 1xx interim responses)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take_line(self) -> bytes | None:
        while b"\r\n" not in self.buf:
            if not self._fill():
                return None
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n and self._fill():
            pass
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _head(self) -> tuple[int, dict[str, str]] | None:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                if self.buf:
                    raise AssertionError(f"truncated response head: {self.buf[:200]!r}")
                return None
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    def _chunked(self) -> bytes:
        body = b""
        while True:
            line = self._take_line()
            assert line is not None, "truncated chunked response"
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while self._take_line():
                    pass
                return body
            body += self._take(size)
            self._take(2)

    def next(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes] | None:
        """The next final response, or None if the server closed before one began."""
        while True:
            parsed = self._head()
            if parsed is None:
                return None
            status, headers = parsed
            if 100 <= status < 200:
                continue
            if head_only or status in (204, 304):
                return status, headers, b""
            if "content-length" in headers:
                return status, headers, self._take(int(headers["content-length"]))
            if headers.get("transfer-encoding", "").lower() == "chunked":
                return status, headers, self._chunked()
            while self._fill():
                pass
            out, self.buf = self.buf, b""
            return status, headers, out

    def closed(self) -> bool:
        """True when the server closes the connection (nothing more is sent)."""
        while self._fill():
            pass
        return self.eof and not self.buf


def send_pieces(sock: socket.socket, pieces: list[bytes]) -> None:
    """Send the pieces one write each; stop quietly if the server hung up."""
    for piece in pieces:
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            return


def connect(host: str, port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
