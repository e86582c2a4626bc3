"""``install_as_flask()``: ``import flask`` and its public submodules served by corral.web.

Each check runs in a fresh interpreter, since the real Flask is installed here and
other tests import it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from corral.web.flask_alias import MODULES, PACKAGES


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_public_flask_module_is_corral_web() -> None:
    names = sorted((*PACKAGES, *MODULES))
    proc = _run(
        f"""
        import importlib, sys
        import corral.web
        corral.web.install_as_flask()
        for name in {names!r}:
            mod = importlib.import_module(name)
            assert sys.modules[name] is mod, name
        import flask, flask.helpers, flask.json.provider, corral.web.helpers, corral.web.json.provider
        assert flask.Flask is corral.web.App
        assert flask.request is corral.web.request
        assert flask.helpers is corral.web.helpers
        assert flask.json.provider is corral.web.json.provider
        assert flask.json.jsonify is corral.web.jsonify
        assert flask.sansio.app.App is corral.web.App
        assert flask.__version__ == "3.1.3"
        # the module keeps its own identity under its own name
        assert corral.web.helpers.__spec__.name == "corral.web.helpers"
        assert not any(getattr(m, "__file__", "") and "site-packages/flask" in m.__file__
                       for m in list(sys.modules.values()))
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_a_private_flask_module_is_not_found() -> None:
    proc = _run(
        """
        import corral.web
        corral.web.install_as_flask()
        try:
            import flask.nothere
        except ModuleNotFoundError as e:
            print(e)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "served by corral.web" in proc.stdout


def test_installing_after_the_real_flask_was_imported_is_refused() -> None:
    proc = _run(
        """
        import flask, corral.web
        corral.web.install_as_flask()
        """
    )
    assert proc.returncode != 0
    assert "must run before anything imports flask" in proc.stderr


def test_an_unmodified_flask_app_runs() -> None:
    proc = _run(
        """
        import corral.web; corral.web.install_as_flask()
        from flask import Flask, jsonify, request, session, abort
        app = Flask(__name__)
        app.secret_key = "k"

        @app.route("/n/<int:n>")
        def n(n):
            session["n"] = n
            return jsonify(n=n, q=request.args.get("q"))

        @app.route("/gone")
        def gone():
            abort(410)

        c = app.test_client()
        r = c.get("/n/3?q=x")
        assert r.status_code == 200 and r.get_json() == {"n": 3, "q": "x"}, r.data
        assert c.get("/gone").status_code == 410
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_warnings_carry_flasks_module_names_under_the_alias() -> None:
    proc = _run(
        """
        import warnings
        import corral.web; corral.web.install_as_flask()
        import flask
        app = flask.Flask(__name__, subdomain_matching=True)
        app.config["SERVER_NAME"] = "example.test"

        @app.route("/")
        def index():
            return "x"

        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", "Current server name", UserWarning, "flask.app")
        assert app.test_client().get("/", "http://other.test/").status_code == 404
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
