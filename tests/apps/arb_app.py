"""Apps for the arbiter's process tests.

``/`` answers ``PID VERSION IMPORTED_IN``; ``/sleep?S`` sleeps S seconds first;
``/hang`` never returns; ``/env?NAME`` answers an environment variable.  VERSION is read from the file named by
``ARB_VERSION_FILE`` at import time ("v1" without it), so a reload that imports
the app afresh is visible.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]

IMPORTED_IN = os.getpid()
_version_file = os.environ.get("ARB_VERSION_FILE")
if _version_file:
    with open(_version_file) as f:
        VERSION = f.read().strip()
else:
    VERSION = "v1"


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/sleep":
        time.sleep(float(environ.get("QUERY_STRING") or "1"))
    elif path == "/env":
        body = os.environ.get(environ.get("QUERY_STRING", ""), "-").encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    elif path == "/hang":
        while True:
            time.sleep(0.1)
    body = f"{os.getpid()} {VERSION} {IMPORTED_IN}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
