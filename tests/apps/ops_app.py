"""WSGI app for the static-file, compression and metrics tests."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

Start = Callable[..., Any]
WORDS = b"the quick brown fox jumps over the lazy dog "


def text(n: int) -> bytes:
    return (WORDS * (n // len(WORDS) + 1))[:n]


def _stream(count: int, size: int, delay: float) -> Iterator[bytes]:
    for i in range(count):
        yield b"[part %d]" % i + text(size)
        time.sleep(delay)


def app(environ: dict[str, Any], start_response: Start) -> Any:
    path = environ["PATH_INFO"]
    q = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    calls = os.environ.get("OPS_APP_CALLS")
    if calls:  # a record of every path the app was called for
        with open(calls, "a") as f:
            f.write(path + "\n")
    size = int(q.get("size", "4000"))
    ctype = q.get("type", "text/plain; charset=utf-8")
    extra = [tuple(h.split(":", 1)) for h in q.get("headers", "").split("|") if h]
    status = q.get("status", "200 OK")
    if path == "/text":  # a list body; Content-Length unless ?nolength
        body = text(size)
        headers = [("Content-Type", ctype), *extra]
        if "nolength" not in q:
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body] if not status.startswith(("204", "304")) else []
    if path == "/json":
        body = json.dumps({"items": [{"n": i, "name": "item"} for i in range(size)]}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/stream":  # a generator: no Content-Length, sent chunked
        start_response("200 OK", [("Content-Type", ctype), *extra])
        return _stream(int(q.get("count", "5")), size, float(q.get("delay", "0")))
    if path == "/generator":  # start_response called on the first step
        def gen() -> Iterator[bytes]:
            start_response("200 OK", [("Content-Type", "text/html")])
            yield text(size)
        return gen()
    if path == "/error":
        raise RuntimeError("boom")
    if path == "/pid":
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/sleep":
        time.sleep(float(q.get("s", "1")))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]
