"""The inlined pipeline of a stock app answers exactly like the general one.

The same app is built twice: once stock (served by the inlined pipeline) and
once with ``process_response`` overridden by a subclass that only calls the
stock method (which sends every request down the general path).  Raw WSGI
calls to both must give identical statuses, header lists and bodies.
"""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from corral.web import App, Blueprint, abort, after_this_request, g, jsonify, request, session
from corral.web.globals import _cv_app, _cv_request
from corral.web.routing import BaseConverter


class FussyConverter(BaseConverter):
    def to_python(self, value: str) -> Any:
        if value == "bad":
            raise RuntimeError("fussy")
        return value


class GeneralApp(App):
    def process_response(self, response: Any) -> Any:
        return super().process_response(response)


def build(cls: type[App]) -> App:
    app = cls(__name__)
    app.secret_key = "s3cret"
    app.url_map.converters["fussy"] = FussyConverter
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @app.before_request
    def load() -> Any:
        g.who = request.args.get("who", "anon")
        if request.args.get("stop"):
            return "stopped", 202
        return None

    @app.route("/")
    def index() -> str:
        return "Hello"

    @app.route("/json/<int:n>")
    def as_json(n: int) -> Any:
        return jsonify(n=n, who=g.who)

    @app.route("/dict")
    def as_dict() -> Any:
        return {"q": request.args.get("q"), "ua": request.headers.get("User-Agent")}

    @app.route("/list")
    def as_list() -> Any:
        return [1, 2, "three"]

    @app.route("/tuple")
    def as_tuple() -> Any:
        return "made", 201, {"X-Extra": "1"}

    @app.route("/later")
    def later() -> str:
        @after_this_request
        def add(resp: Any) -> Any:
            resp.headers["X-Later"] = "yes"
            return resp

        return "later"

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str:
        session["user"] = g.who
        return "in"

    @app.route("/me")
    def me() -> str:
        return str(session.get("user"))

    @app.route("/boom")
    def boom() -> str:
        abort(418)

    @app.route("/slash/")
    def slash() -> str:
        return "slash"

    @app.route("/f/<fussy:v>")
    def fussy(v: str) -> str:
        return v

    @bp.route("/v")
    def bp_view() -> str:
        return "bp " + g.who

    @bp.before_request
    def bp_hook() -> None:
        g.who = "bp-" + g.who

    app.register_blueprint(bp)
    return app


def call(app: App, method: str, path: str, query: str = "", cookie: str = "") -> tuple[Any, ...]:
    captured: list[Any] = []
    env = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost", "HTTP_USER_AGENT": "t/1", "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }  # fmt: skip
    if cookie:
        env["HTTP_COOKIE"] = cookie
    it = app(env, lambda status, headers, exc_info=None: captured.append((status, headers)))
    try:
        body = b"".join(it)
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    status, headers = captured[0]
    return status, list(headers), body


CASES = [
    ("GET", "/", ""), ("HEAD", "/", ""), ("POST", "/", ""), ("OPTIONS", "/", ""),
    ("GET", "/json/7", "who=ann"), ("GET", "/dict", "q=a%20b&q=c"), ("GET", "/list", ""),
    ("GET", "/tuple", ""), ("GET", "/later", ""), ("GET", "/boom", ""), ("GET", "/nope", ""),
    ("GET", "/slash", ""), ("GET", "/", "stop=1"), ("GET", "/bp/v", "who=x"),
    ("GET", "/login", "who=bob"), ("GET", "/f/ok", ""), ("GET", "/f/bad", ""), ("GET", "/%E2%82%AC", ""), ("GET", "//double", ""),
]  # fmt: skip


@pytest.fixture(scope="module")
def apps() -> tuple[App, App]:
    return build(App), build(GeneralApp)


@pytest.mark.parametrize("method,path,query", CASES)
def test_same_answers(apps: tuple[App, App], method: str, path: str, query: str) -> None:
    fast, general = apps
    assert call(fast, method, path, query) == call(general, method, path, query)
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


def test_lanes_are_as_expected(apps: tuple[App, App]) -> None:
    fast, general = apps
    call(fast, "GET", "/")
    call(general, "GET", "/")
    assert fast._fast_lane and not general._fast_lane


def test_session_cookie_round_trip(apps: tuple[App, App]) -> None:
    answers = []
    for app in apps:
        _status, headers, _body = call(app, "GET", "/login", "who=zoe")
        cookie = dict(headers)["Set-Cookie"].split(";", 1)[0]
        answers.append(call(app, "GET", "/me", "", cookie))
        answers.append(call(app, "GET", "/", "", cookie))
    assert answers[0] == answers[2]
    assert answers[0][2] == b"zoe"
    assert answers[1] == answers[3]


def test_server_name_and_middleware_take_the_general_path() -> None:
    app = build(App)
    app.config["SERVER_NAME"] = "localhost"
    assert call(app, "GET", "/json/3")[2] == b'{"n":3,"who":"anon"}\n'
    seen: list[str] = []
    inner = app.wsgi_app

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    app.wsgi_app = middleware  # type: ignore[method-assign]
    assert call(app, "GET", "/")[2] == b"Hello"
    assert seen == ["/"]
