"""An app that misbehaves on request, for the fault tests.

Paths (each failure carries a marker string the tests look for in the error log):

    /ok                 200 "ok" (with the worker pid in X-Pid)
    /read               reads the whole request body, answers its length
    /sleep?s=N          sleeps N seconds, then 200
    /hang               never returns (the frame is ``hang_here``)
    /raise-call         raises in __call__ before start_response
    /raise-iter         start_response, then the iterable raises before any body
    /raise-close        a complete body, then close() raises
    /raise-late-sized   Content-Length 8 declared, one item of the body, then raises
    /non-iterable       start_response, then returns an int
    /start-twice        calls start_response twice without exc_info
    /no-start           returns a body without calling start_response
    /exhaust?s=N        opens files until the process runs out of descriptors and
                        holds them N seconds (a thread closes them), then 200
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

# A low descriptor limit in the worker (the app is imported after the fork), so
# /exhaust runs it out quickly; the arbiter keeps its own limit.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, _soft), _hard))

StartResponse = Callable[..., Any]


class FaultError(Exception):
    pass


def _ok(start_response: StartResponse, body: bytes = b"ok") -> list[bytes]:
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
         ("X-Pid", str(os.getpid()))],
    )
    return [body]


def hang_here() -> None:
    while True:
        time.sleep(0.05)


class RaisingIterable:
    def __iter__(self) -> Iterator[bytes]:
        raise FaultError("fault-in-iteration")


class RaisingClose:
    def __iter__(self) -> Iterator[bytes]:
        yield b"complete"

    def close(self) -> None:
        raise FaultError("fault-in-close")


def _late_failure() -> Iterator[bytes]:
    yield b"half"
    raise FaultError("fault-late-in-body")


def _grab(held: list[int]) -> None:
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass


def _exhaust(seconds: float) -> int:
    """Take every free descriptor now, and again just after this response went out
    (the worker frees the connection's), hold them ``seconds``, then give them back."""
    held: list[int] = []
    _grab(held)

    def hold() -> None:
        time.sleep(0.2)
        _grab(held)
        time.sleep(seconds)
        for fd in held:
            os.close(fd)

    threading.Thread(target=hold, daemon=True).start()
    return len(held)


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    if path == "/sleep":
        time.sleep(float(query.get("s", "1")))
    elif path == "/hang":
        hang_here()
    elif path == "/raise-call":
        raise FaultError("fault-in-call")
    elif path == "/raise-iter":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return RaisingIterable()
    elif path == "/raise-close":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "8")])
        return RaisingClose()
    elif path == "/raise-late-sized":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "8")])
        return _late_failure()
    elif path == "/non-iterable":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return 42  # type: ignore[return-value]
    elif path == "/start-twice":
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("201 Created", [("Content-Type", "text/plain")])
    elif path == "/no-start":
        return [b"never started"]
    elif path == "/read":
        return _ok(start_response, str(len(environ["wsgi.input"].read())).encode())
    elif path == "/exhaust":
        held = _exhaust(float(query.get("s", "2")))
        return _ok(start_response, str(held).encode())
    return _ok(start_response)
