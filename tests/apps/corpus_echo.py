"""Echo app for the conformance corpus: answers with the request's CGI environ as JSON.

The body of the response is a JSON object holding every ``str`` environ key that
is a CGI variable (``REQUEST_METHOD``, ``PATH_INFO``, ``HTTP_*``, ...), plus
``RAW_URI``, ``wsgi.url_scheme`` and ``body`` (the request body, latin-1 decoded).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

_EXTRA = ("RAW_URI", "wsgi.url_scheme")


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read()
    report = {
        key: value
        for key, value in environ.items()
        if isinstance(value, str) and (key.isupper() or key in _EXTRA)
    }
    report["body"] = body.decode("latin-1")
    out = json.dumps(report, sort_keys=True).encode("ascii")
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    )
    return [out]
