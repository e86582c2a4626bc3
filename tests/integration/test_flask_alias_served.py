"""The one-line move from Flask: an unmodified Flask app, with ``install_as_flask()``
at the top of its WSGI entry module, served by real servers (corral and Gunicorn) in
their own processes and asked over a real socket."""

from __future__ import annotations

import http.client
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ServerProcess

FLASK_APP = '''
from flask import Flask, abort, jsonify, request, session
from werkzeug.exceptions import Forbidden, HTTPException

app = Flask(__name__)
app.secret_key = "s"


@app.route("/who")
def who():
    import flask
    return jsonify(app=type(flask.current_app._get_current_object()).__module__,
                   flask_is=flask.__name__, q=request.args.get("q"))


@app.route("/werkzeug-403")
def werkzeug_403():
    raise Forbidden("no entry")


@app.route("/abort-404")
def abort_404():
    abort(404)


@app.errorhandler(HTTPException)
def any_http(e):
    return jsonify(code=e.code, werkzeug=isinstance(e, HTTPException)), e.code
'''

WSGI = '''
import corral.web; corral.web.install_as_flask()
from flaskapp import app
'''


@pytest.fixture(scope="module", params=["corral", "gunicorn"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    site: Path = tmp_path_factory.mktemp("flask_site")
    (site / "flaskapp.py").write_text(textwrap.dedent(FLASK_APP))
    (site / "wsgi.py").write_text(textwrap.dedent(WSGI))
    command = [sys.executable, "-m", request.param]
    srv = ServerProcess(["wsgi:app", "-b", "127.0.0.1:0"], command=command, cwd=site)
    srv.env["PYTHONPATH"] = f"{site}:{srv.env['PYTHONPATH']}"
    srv.start()
    yield srv
    srv.stop()


def _get(srv: ServerProcess, path: str) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=20)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.timeout(60)
def test_unmodified_flask_app_runs_on_corral_web(server: ServerProcess) -> None:
    assert _get(server, "/who?q=1") == (
        200, {"app": "corral.web.app", "flask_is": "flask", "q": "1"}
    )
    assert _get(server, "/werkzeug-403") == (403, {"code": 403, "werkzeug": True})
    assert _get(server, "/abort-404") == (404, {"code": 404, "werkzeug": True})
