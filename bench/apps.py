"""The applications every server in the benchmarks runs: the same objects for all.

* ``hello``: the smallest useful WSGI app (fixed 13-byte body, Content-Length set).
* ``flask_app``: a Flask app returning the same text, so the framework's
  dispatch cost is part of the figure. It has a route for ``/`` and a catch-all
  ``/<path:rest>`` so every path of the realistic traffic (bench/realistic.lua)
  gets a 200, as ``hello`` gives for any path.
* ``web_app``: the same app written for corral.web (same routes, same body), for
  the end-to-end comparison of corral.web on corral with Flask on Gunicorn.
* ``upload``: reads the whole request body and answers with its length (used by
  the slow-client benchmark's trickled bodies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"Hello, world!"
_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", _HEADERS)
    return [BODY]


def upload(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    data = environ["wsgi.input"].read()
    out = str(len(data)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]


def _make_flask() -> Any:
    try:
        from flask import Flask
    except ImportError:  # the Flask benchmark is skipped without Flask
        return None
    return _routes(Flask("bench", static_folder=None))  # /static/... goes to the catch-all too


def _make_web() -> Any:
    from corral.web import App

    return _routes(App("bench", static_folder=None))


def _routes(app: Any) -> Any:
    """The two routes of the framework apps: ``/`` and a catch-all."""

    @app.route("/")
    def index() -> str:
        return "Hello, world!"

    @app.route("/<path:rest>")
    def anything(rest: str) -> str:
        return "Hello, world!"

    return app


_FRAMEWORK_APPS = {"flask_app": _make_flask, "web_app": _make_web}


def __getattr__(name: str) -> Any:
    """``flask_app`` and ``web_app``, made on first use: a server given ``hello``
    does not load Flask or corral.web."""
    make = _FRAMEWORK_APPS.get(name)
    if make is None:
        raise AttributeError(name)
    app = globals()[name] = make()
    return app
