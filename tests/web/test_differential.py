"""The same small app under Flask and under corral.web, driven by raw WSGI
requests: status, headers (minus Date/Server) and bodies must be identical."""

from __future__ import annotations

import io
import json
import logging
import os
from typing import Any

import pytest

from tests.web import diffapp_corral, diffapp_flask

Result = tuple[str, list[tuple[str, str]], bytes]
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def apps() -> dict[str, Any]:
    # The 500 from /unhandled is logged by both frameworks; keep test output quiet.
    for name in (diffapp_flask.__name__, diffapp_corral.__name__):
        logging.getLogger(name).disabled = True
    return {"flask": diffapp_flask.create_app(), "corral": diffapp_corral.create_app()}


def environ(method: str, path: str, query: str = "", body: bytes = b"", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    for key, value in headers.items():
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            env[key] = value
        else:
            env["HTTP_" + key] = value
    return env


def call(app: Any, env: dict[str, Any]) -> Result:
    captured: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured[:] = [status, headers]
        return lambda data: None

    it = app(env, start_response)
    try:
        body = b"".join(it)
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    status, headers = captured
    kept = []
    for k, v in headers:
        if k.lower() in ("date", "server"):
            continue
        if k.lower() == "allow":  # a set: order is not meaningful
            v = ", ".join(sorted(v.split(", ")))
        kept.append((k, v))
    return status, kept, body


FORM = b"a=1&a=2&b=%C3%A9"
REQUESTS: list[tuple[str, str, str, bytes, dict[str, str]]] = [
    ("GET", "/", "", b"", {}),
    ("HEAD", "/", "", b"", {}),
    ("GET", "/bytes", "", b"", {}),
    ("GET", "/user/42", "", b"", {"X_USER": "alice"}),
    ("GET", "/user/abc", "", b"", {}),
    ("GET", "/float/2.5", "", b"", {}),
    ("GET", "/path/a/b/c.txt", "", b"", {}),
    ("GET", "/uuid/12345678-1234-5678-1234-567812345678", "", b"", {}),
    ("GET", "/color/red", "", b"", {}),
    ("GET", "/color/green", "", b"", {}),
    ("GET", "/dir", "", b"", {}),
    ("GET", "/dir", "x=1", b"", {}),
    ("GET", "/dir/", "", b"", {}),
    ("GET", "/only-post", "", b"", {}),
    ("POST", "/only-post", "", b"", {}),
    ("OPTIONS", "/only-post", "", b"", {}),
    ("GET", "/status", "", b"", {}),
    ("GET", "/teapot", "", b"", {}),
    ("GET", "/headers", "", b"", {}),
    ("GET", "/triple", "", b"", {}),
    ("GET", "/dict", "", b"", {}),
    ("GET", "/list", "", b"", {}),
    ("GET", "/response", "", b"", {}),
    ("GET", "/generator", "", b"", {}),
    ("GET", "/abort/401", "", b"", {}),
    ("GET", "/abort/404", "", b"", {}),
    ("GET", "/abort/410", "", b"", {}),
    ("GET", "/abort/500", "", b"", {}),
    ("GET", "/value-error", "", b"", {}),
    ("GET", "/unhandled", "", b"", {}),
    ("GET", "/missing/page", "", b"", {}),
    ("GET", "/", "block=1", b"", {}),
    ("GET", "/cookie", "", b"", {}),
    ("GET", "/read-cookie", "", b"", {"COOKIE": "a=1; b=two; c=\"quoted\""}),
    ("GET", "/redirect", "", b"", {}),
    ("GET", "/args", "q=corral&q=web&empty=&sp=a+b%20c", b"", {"USER_AGENT": "diff/1.0"}),
    ("POST", "/form", "", FORM, {"CONTENT_TYPE": "application/x-www-form-urlencoded"}),
    ("POST", "/json", "", b'{"k": [1, 2, {"n": null}]}', {"CONTENT_TYPE": "application/json"}),
    ("POST", "/json", "", b"{broken", {"CONTENT_TYPE": "application/json"}),
    ("GET", "/after-this", "", b"", {}),
    ("GET", "/bp/", "", b"", {}),
    ("GET", "/bp/item/thing", "", b"", {}),
    ("GET", "/bp/forbidden", "", b"", {}),
    ("GET", "/bp", "", b"", {}),
    ("PUT", "/", "", b"", {}),
]


@pytest.mark.parametrize(
    "method, path, query, body, headers",
    REQUESTS,
    ids=[f"{m} {p}?{q}" if q else f"{m} {p}" for m, p, q, _b, _h in REQUESTS],
)
def test_same_answer(
    apps: dict[str, Any], method: str, path: str, query: str, body: bytes, headers: dict[str, str]
) -> None:
    expected = call(apps["flask"], environ(method, path, query, body, **headers))
    got = call(apps["corral"], environ(method, path, query, body, **headers))
    assert got == expected


def test_json_bodies_parse_the_same(apps: dict[str, Any]) -> None:
    for path in ("/dict", "/list", "/user/1"):
        a = call(apps["flask"], environ("GET", path))[2]
        b = call(apps["corral"], environ("GET", path))[2]
        assert json.loads(a) == json.loads(b)


def test_the_two_apps_differ_only_in_imports() -> None:
    def body(name: str) -> list[str]:
        with open(os.path.join(HERE, name), encoding="utf-8") as f:
            text = f.read()
        return text.split("# -- end of imports --", 1)[1].splitlines()

    assert body("diffapp_flask.py") == body("diffapp_corral.py")
