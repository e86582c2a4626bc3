"""An app for the slow- and stalled-client tests (no descriptor limit of its own,
unlike fault_app, so floods of connections fit).

    /ok            200 "ok" with the worker pid in X-Pid
    /big?mb=N      N MiB (default 64), streamed in 64 KiB pieces, no Content-Length
    /read          reads the whole request body, answers its length
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

PIECE = b"x" * 65536


def _big(mib: int) -> Iterator[bytes]:
    for _ in range(mib * 16):
        yield PIECE


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _big(int(query.get("mb", "64")))
    body = b"ok"
    if path == "/read":
        body = str(len(environ["wsgi.input"].read())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body))), ("X-Pid", str(os.getpid()))])
    return [body]
