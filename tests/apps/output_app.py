"""WSGI app for the tests of what the server does with an application's output
and with forwarding headers (run by every worker class)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

Start = Callable[..., Any]


def app(environ: dict[str, Any], start_response: Start) -> Any:
    """``/status?code=204&h=Name:Value&h=...&body=text``: answer with that status,
    those header fields and that body; ``/environ``: the scheme and addresses as
    JSON; ``/echo``: the request body; ``/sleep?s=0.3``: answer after a while."""
    path = environ["PATH_INFO"]
    query = parse_qsl(environ["QUERY_STRING"], keep_blank_values=True)
    if path == "/status":
        params = dict(query)
        headers = [tuple(p.strip() for p in v.split(":", 1)) for k, v in query if k == "h"]
        body = params.get("body", "").encode()
        start_response(params.get("code", "200") + " Whatever", headers)
        return [body]
    if path == "/sleep":
        time.sleep(float(dict(query).get("s", "0.3")))
        start_response("200 OK", [("Content-Length", "5")])
        return [b"slept"]
    if path == "/echo":
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", str(len(data)))])
        return [data]
    keys = ("wsgi.url_scheme", "REMOTE_ADDR", "SERVER_NAME", "SERVER_PORT", "HTTP_HOST")
    data = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
