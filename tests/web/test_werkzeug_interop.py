"""corral.web's types meet Werkzeug's where Flask extensions use them: ``except``,
``isinstance``, ``errorhandler`` and header objects, both ways, against the real
Werkzeug installed here."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import werkzeug.datastructures as wd
import werkzeug.exceptions as wx
import werkzeug.local as wl
import werkzeug.routing as wr

from corral.web import App, abort, request
from corral.web.globals import current_app, g, session
from corral.web.http import exceptions as cx
from corral.web.http.datastructures import (
    CombinedMultiDict,
    FileStorage,
    Headers,
    ImmutableMultiDict,
    MultiDict,
)


@pytest.fixture
def app() -> App:
    app = App(__name__)
    app.config.update(TESTING=True, SECRET_KEY="k")
    return app


@pytest.mark.parametrize("code", sorted(cx.default_exceptions))
def test_abort_is_caught_by_werkzeugs_class_of_that_code(code: int) -> None:
    theirs = wx.default_exceptions[code]
    with pytest.raises(theirs):
        abort(code)
    with pytest.raises(wx.HTTPException):
        abort(code)


def test_routing_exceptions_are_werkzeugs() -> None:
    from corral.web.routing import BuildError, RequestRedirect

    assert issubclass(RequestRedirect, wr.RequestRedirect)
    assert issubclass(BuildError, wr.BuildError)
    assert issubclass(cx.BadRequestKeyError, KeyError)


class CSRFError(wx.BadRequest):
    """As Flask-WTF's: a Werkzeug BadRequest with its own description."""

    description = "The CSRF token is missing."


def test_werkzeug_exception_raised_in_a_view_answers_its_status(app: App) -> None:
    @app.route("/forbidden")
    def forbidden() -> Any:
        raise wx.Forbidden("not yours")

    @app.route("/csrf", methods=["POST"])
    def csrf() -> Any:
        raise CSRFError()

    @app.route("/teapot")
    def teapot() -> Any:
        wx.abort(418)

    c = app.test_client()
    r = c.get("/forbidden")
    assert r.status_code == 403 and b"not yours" in r.data
    r = c.post("/csrf")
    assert r.status_code == 400 and b"The CSRF token is missing." in r.data
    assert c.get("/teapot").status_code == 418


def test_errorhandler_for_werkzeug_class_catches_corral_abort(app: App) -> None:
    @app.errorhandler(wx.Forbidden)
    def on_403(e: Exception) -> Any:
        return f"handled {type(e).__module__}", 403

    @app.route("/")
    def index() -> Any:
        abort(403)

    r = app.test_client().get("/")
    assert (r.status_code, r.data) == (403, b"handled corral.web.http.exceptions")


@pytest.mark.parametrize("key", [403, cx.Forbidden, cx.HTTPException, wx.HTTPException])
def test_errorhandler_for_corral_class_or_code_catches_werkzeug_exception(
    app: App, key: Any
) -> None:
    @app.errorhandler(key)
    def on_error(e: Exception) -> Any:
        return f"handled {type(e).__module__}", 403

    @app.route("/")
    def index() -> Any:
        raise wx.Forbidden()

    r = app.test_client().get("/")
    assert (r.status_code, r.data) == (403, b"handled werkzeug.exceptions")


def test_handler_for_werkzeug_subclass_gets_the_original_exception(app: App) -> None:
    @app.errorhandler(CSRFError)
    def on_csrf(e: CSRFError) -> Any:
        return e.description, 400

    @app.route("/")
    def index() -> Any:
        raise CSRFError()

    assert app.test_client().get("/").data == b"The CSRF token is missing."


def test_request_and_response_types_are_werkzeugs(app: App) -> None:
    seen: dict[str, Any] = {}

    @app.route("/", methods=["POST"])
    def index() -> Any:
        seen["proxies"] = [isinstance(p, wl.LocalProxy) for p in (request, current_app, g, session)]
        seen["args"] = isinstance(request.args, wd.MultiDict)
        seen["form"] = isinstance(request.form, wd.ImmutableMultiDict)
        seen["values"] = isinstance(request.values, wd.CombinedMultiDict)
        seen["files"] = isinstance(request.files["f"], wd.FileStorage)
        seen["headers"] = isinstance(request.headers, wd.Headers)
        return "ok"

    import io

    r = app.test_client().post("/?a=1", data={"x": "1", "f": (io.BytesIO(b"data"), "f.txt")})
    assert r.status_code == 200
    assert isinstance(r.headers, wd.Headers)
    assert seen == {
        "proxies": [True] * 4, "args": True, "form": True, "values": True,
        "files": True, "headers": True,
    }  # fmt: skip
    for cls in (Headers, MultiDict, ImmutableMultiDict, CombinedMultiDict, FileStorage):
        assert issubclass(cls, getattr(wd, cls.__name__))


@pytest.mark.parametrize(
    "make", [lambda: wd.Headers([("X-A", "1")]), lambda: wd.MultiDict([("X-A", "1")])]
)
def test_werkzeug_header_objects_assigned_in_a_hook_are_sent(app: App, make: Any) -> None:
    @app.after_request
    def swap(response: Any) -> Any:
        response.headers = make()
        return response

    @app.route("/")
    def index() -> Any:
        return "body"

    r = app.test_client().get("/")
    assert r.status_code == 200 and r.data == b"body"
    assert r.headers["X-A"] == "1"


def test_corral_web_runs_without_werkzeug() -> None:
    code = (
        "import sys\n"
        "sys.modules['werkzeug'] = None\n"
        "from corral.web import App, abort\n"
        "from corral.web.http.datastructures import Headers\n"
        "app = App('x')\n"
        "@app.route('/')\n"
        "def index():\n"
        "    abort(404)\n"
        "assert app.test_client().get('/').status_code == 404\n"
        "assert Headers.__mro__[1] is object\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_secret_key_set_on_a_subclass_signs_the_session() -> None:
    class MyApp(App):
        secret_key = "from the class"

    app = MyApp(__name__)

    @app.route("/set")
    def set_() -> Any:
        session["a"] = 1
        return "ok"

    @app.route("/get")
    def get() -> Any:
        return str(session.get("a"))

    c = app.test_client()
    assert c.get("/set").status_code == 200
    assert c.get("/get").data == b"1"


def test_url_for_takes_self_as_a_value(app: App) -> None:
    from corral.web import url_for

    @app.route("/<self>")
    def index(self: str) -> Any:
        return self

    with app.test_request_context():
        assert url_for("index", self="me") == "/me"
        assert app.url_for("index", self="you") == "/you"


def test_subdomain_matching_answers_404_outside_server_name() -> None:
    app = App(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test:3000"

    @app.route("/")
    def index() -> Any:
        return "", 204

    c = app.test_client()
    assert c.get("/", "http://example.test:3000/").status_code == 204
    assert c.get("/", "http://www.example.test:3000/").status_code == 404
    with pytest.warns(UserWarning, match="doesn't match configured server name"):
        assert c.get("/", "http://127.0.0.1:3000/").status_code == 404


def test_werkzeug_rule_factories_are_accepted(app: App) -> None:
    app.url_map.add(wr.Submount("/foo", [wr.Rule("/bar", endpoint="bar")]))
    app.view_functions["bar"] = lambda: "bar"
    assert app.test_client().get("/foo/bar").data == b"bar"


def test_a_host_that_is_not_a_domain_name_is_a_400(app: App) -> None:
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/nothing", "HTTP_HOST": "\x8a",
           "wsgi.url_scheme": "http", "SERVER_NAME": "x", "SERVER_PORT": "80"}  # fmt: skip
    with app.request_context(env):
        assert app.full_dispatch_request().status_code == 400


def test_template_loading_is_explained_per_loader(app: App, tmp_path: Any) -> None:
    import logging

    from jinja2 import TemplateNotFound

    from corral.web import Blueprint, render_template

    bp = Blueprint("admin", __name__, template_folder=str(tmp_path))
    app.register_blueprint(bp)
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    app.logger.addHandler(Collect())
    app.logger.setLevel(logging.INFO)
    with app.test_request_context(), pytest.raises(TemplateNotFound):
        render_template("missing.html")
    text = "\n".join(records)
    assert f"1: trying loader of application {app.import_name!r}" in text
    assert f"2: trying loader of blueprint 'admin' ({__name__})" in text
    assert "Error: the template could not be found." in text


def test_routing_redirect_code_follows_werkzeugs(app: App, monkeypatch: Any) -> None:
    @app.route("/user/", methods=["GET", "POST"])
    def user() -> Any:
        return "u"

    c = app.test_client()
    assert c.post("/user").status_code == 308
    monkeypatch.setattr(wr.RequestRedirect, "code", 301)
    assert c.get("/user").status_code == 301
    app.debug = True
    from corral.web.debughelpers import FormDataRoutingRedirect

    with pytest.raises(FormDataRoutingRedirect, match="canonical URL 'http://localhost/user/'"):
        c.post("/user", data={"a": "1"})


def test_werkzeug_abort_with_a_werkzeug_response(app: App) -> None:
    from werkzeug.wrappers import Response as WerkzeugResponse

    @app.route("/")
    def index() -> Any:
        wx.abort(WerkzeugResponse("made by werkzeug", status=409, headers={"X-W": "1"}))

    r = app.test_client().get("/")
    assert (r.status_code, r.data, r.headers["X-W"]) == (409, b"made by werkzeug", "1")
