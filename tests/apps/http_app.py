"""WSGI app for the HTTP behaviour tests (run by every worker class)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

FILE_DATA = bytes(range(256)) * 4096  # 1 MiB, served from $HTTP_APP_FILE by /file

Start = Callable[..., Any]


def _qs(environ: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}


def _text(start_response: Start, body: bytes, status: str = "200 OK") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class Recorded:
    """A streamed body that writes "closed" to a file when the server closes it."""

    def __init__(self, path: str, chunks: int, delay: float) -> None:
        self.path, self.chunks, self.delay = path, chunks, delay

    def __iter__(self) -> Iterator[bytes]:
        for i in range(self.chunks):
            yield b"chunk %d " % i + b"x" * 65536
            time.sleep(self.delay)

    def close(self) -> None:
        with open(self.path, "a") as f:
            f.write("closed\n")


def app(environ: dict[str, Any], start_response: Start) -> Any:
    path = environ["PATH_INFO"]
    q = _qs(environ)
    if path == "/echo":
        data = environ["wsgi.input"].read()
        return _text(start_response, data)
    if path == "/digest":
        h = hashlib.sha256()
        n = 0
        inp = environ["wsgi.input"]
        while True:
            piece = inp.read(65536)
            if not piece:
                break
            h.update(piece)
            n += len(piece)
        return _text(start_response, f"{n} {h.hexdigest()}".encode())
    if path == "/lines":
        lines = list(environ["wsgi.input"])
        return _text(start_response, json.dumps([x.decode() for x in lines]).encode())
    if path == "/noread":
        return _text(start_response, b"did not read")
    if path == "/big":
        return _text(start_response, b"b" * int(q.get("size", "1000")))
    if path == "/stream":
        size, count = int(q.get("size", "10")), int(q.get("count", "3"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"s" * size for _ in range(count))
    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(os.environ["HTTP_APP_FILE"], "rb"))
    if path == "/recorded":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Recorded(q["record"], int(q.get("chunks", "200")), float(q.get("delay", "0.02")))
    if path.startswith("/environ"):
        keep = {k: v for k, v in environ.items() if isinstance(v, (str, bool, int))}
        return _text(start_response, json.dumps(keep).encode())
    if path == "/error":
        raise RuntimeError("the app failed on purpose")
    if path == "/sleep":
        time.sleep(float(q.get("s", "10")))
        return _text(start_response, b"woke up")
    if path == "/pid":
        return _text(start_response, str(os.getpid()).encode())
    return _text(start_response, b"hello")
