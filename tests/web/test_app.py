"""The App object: configuration, routing registration, URL building, misc API."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from corral.web import App, request, url_for
from corral.web.routing import BaseConverter, BuildError


def test_config_properties() -> None:
    app = App(__name__)
    assert app.config["TESTING"] is False and app.testing is False
    app.testing = True
    assert app.config["TESTING"] is True
    app.secret_key = "k"
    assert app.config["SECRET_KEY"] == "k"
    app.debug = True
    assert app.debug and app.config["DEBUG"]
    assert app.permanent_session_lifetime.days == 31
    app.config["PERMANENT_SESSION_LIFETIME"] = 60
    assert app.permanent_session_lifetime.total_seconds() == 60
    assert app.config["MAX_FORM_PARTS"] == 1000


def test_name_paths_and_instance_path(tmp_path: Any) -> None:
    app = App(__name__)
    assert app.name == __name__
    assert app.root_path == os.path.dirname(os.path.abspath(__file__))
    assert app.instance_path.endswith("instance")
    with pytest.raises(ValueError, match="must be absolute"):
        App(__name__, instance_path="relative")
    app = App(__name__, instance_path=str(tmp_path), instance_relative_config=True)
    assert app.config.root_path == str(tmp_path)


def test_static_route() -> None:
    app = App(__name__, static_folder="static_files", static_url_path="/assets")
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    assert rules["static"] == "/assets/<path:filename>"
    assert "static" not in {r.endpoint for r in App(__name__, static_folder=None).url_map.iter_rules()}
    with app.test_request_context():
        assert url_for("static", filename="a.css") == "/assets/a.css"


def test_converters_methods_and_slashes() -> None:
    app = App(__name__)

    @app.route("/i/<int:n>")
    def i(n: int) -> str:
        return repr(n)

    @app.route("/f/<float:x>")
    def f(x: float) -> str:
        return repr(x)

    @app.route("/p/<path:rest>")
    def p(rest: str) -> str:
        return rest

    @app.route("/u/<uuid:u>")
    def u(u: Any) -> str:
        return type(u).__name__

    @app.route("/a/<any(red, blue):color>")
    def a(color: str) -> str:
        return color

    @app.route("/s/<string(length=2):code>")
    def s(code: str) -> str:
        return code

    @app.route("/dir/")
    def d() -> str:
        return "dir"

    c = app.test_client()
    assert c.get("/i/42").data == b"42"
    assert c.get("/i/-1").status_code == 404
    assert c.get("/f/1.5").data == b"1.5"
    assert c.get("/p/a/b/c").data == b"a/b/c"
    assert c.get("/u/12345678-1234-5678-1234-567812345678").data == b"UUID"
    assert c.get("/a/red").data == b"red" and c.get("/a/green").status_code == 404
    assert c.get("/s/ab").data == b"ab" and c.get("/s/abc").status_code == 404
    rv = c.get("/dir")
    assert rv.status_code == 308 and rv.location.endswith("/dir/")


def test_custom_converter() -> None:
    app = App(__name__)

    class ListConverter(BaseConverter):
        def to_python(self, value: str) -> list[str]:
            return value.split(",")

        def to_url(self, value: Any) -> str:
            return ",".join(value)

    app.url_map.converters["list"] = ListConverter

    @app.route("/l/<list:items>")
    def items(items: list[str]) -> str:
        return f"{len(items)} {url_for('items', items=['x', 'y'])}"

    assert app.test_client().get("/l/a,b,c").data == b"3 /l/x,y"


def test_url_for_options() -> None:
    app = App(__name__)

    @app.route("/post/<int:pid>", methods=["GET", "POST"])
    def post(pid: int) -> str:
        return ""

    with app.test_request_context():
        assert url_for("post", pid=1) == "/post/1"
        assert url_for("post", pid=1, q="a b") == "/post/1?q=a+b"
        assert url_for("post", pid=1, _anchor="top") == "/post/1#top"
        assert url_for("post", pid=1, _external=True) == "http://localhost/post/1"
        assert url_for("post", pid=1, _scheme="https", _external=True) == "https://localhost/post/1"
        assert url_for("post", pid=1, _method="POST") == "/post/1"
        with pytest.raises(ValueError):
            url_for("post", pid=1, _scheme="https", _external=False)
        with pytest.raises(BuildError):
            url_for("nope")


def test_url_for_outside_request() -> None:
    app = App(__name__)
    app.route("/x")(lambda: "")
    with app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("<lambda>")
    app.config["SERVER_NAME"] = "example.com"
    with app.app_context():
        assert url_for("<lambda>") == "http://example.com/x"


def test_url_build_error_handlers() -> None:
    app = App(__name__)
    app.url_build_error_handlers.append(lambda error, endpoint, values: f"/fallback/{endpoint}")
    with app.test_request_context():
        assert url_for("missing") == "/fallback/missing"


def test_endpoint_decorator_and_duplicate_endpoint() -> None:
    app = App(__name__)
    app.add_url_rule("/e", endpoint="named")

    @app.endpoint("named")
    def named() -> str:
        return "via endpoint"

    with pytest.raises(AssertionError, match="overwriting an existing endpoint"):
        app.add_url_rule("/other", endpoint="named", view_func=lambda: "x")
    with pytest.raises(TypeError, match="Allowed methods must be a list"):
        app.add_url_rule("/m", "m", lambda: "", methods="GET")
    assert app.test_client().get("/e").data == b"via endpoint"


def test_async_view_runs() -> None:
    app = App(__name__)

    @app.route("/")
    async def index() -> str:
        return "async ok"

    assert app.test_client().get("/").data == b"async ok"


def test_request_attributes() -> None:
    app = App(__name__)

    @app.route("/info/<name>")
    def info(name: str) -> Any:
        return {
            "endpoint": request.endpoint,
            "view_args": request.view_args,
            "rule": request.url_rule.rule,
            "full_path": request.full_path,
            "url_root": request.url_root,
            "remote_addr": request.remote_addr,
        }

    assert app.test_client().get("/info/x?y=1").json == {
        "endpoint": "info",
        "view_args": {"name": "x"},
        "rule": "/info/<name>",
        "full_path": "/info/x?y=1",
        "url_root": "http://localhost/",
        "remote_addr": "127.0.0.1",
    }


def test_max_content_length_from_config() -> None:
    app = App(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.post("/up")
    def up() -> str:
        return str(len(request.get_data()))

    c = app.test_client()
    assert c.post("/up", data=b"x" * 5).data == b"5"
    assert c.post("/up", data=b"x" * 50).status_code == 413


def test_shell_context_and_template_helpers() -> None:
    app = App(__name__)
    app.shell_context_processor(lambda: {"answer": 42})
    ctx = app.make_shell_context()
    assert ctx["app"] is app and ctx["answer"] == 42

    @app.template_filter()
    def double(x: int) -> int:
        return x * 2

    @app.template_test("even")
    def is_even(x: int) -> bool:
        return x % 2 == 0

    @app.template_global()
    def greet() -> str:
        return "hi"

    env = app.jinja_env
    assert env.filters["double"](2) == 4 and env.tests["even"](2) and env.globals["greet"]() == "hi"


def test_redirect_method() -> None:
    app = App(__name__)
    rv = app.redirect("/there", 301)
    assert rv.status_code == 301 and rv.headers["Location"] == "/there"
    assert isinstance(rv, app.response_class)


def test_package_boundaries() -> None:
    code = (
        "import sys, corral.web as w\n"
        "from corral.web import app, blueprints, ctx, globals, helpers, json, testing, views\n"
        "w.App('x'); w.jsonify\n"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'flask'"
        " or m.startswith('corral.server')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    "host, scheme, script, path",
    [
        ("localhost", "http", "", "/"),
        ("Example.COM:80", "http", "", "/a/b"),
        ("example.com:8080", "http", "/root", "/x"),
        ("example.com:443", "https", "", "/y"),
    ],
)
def test_binding_agrees_with_werkzeug(host: str, scheme: str, script: str, path: str) -> None:
    """bind_to_environ (first and then from its per-host memory) binds as Werkzeug's does."""
    from werkzeug.routing import Map as WMap

    app = App(__name__)
    env = {
        "HTTP_HOST": host, "wsgi.url_scheme": scheme, "SCRIPT_NAME": script,
        "PATH_INFO": path, "REQUEST_METHOD": "POST", "QUERY_STRING": "a=1",
    }  # fmt: skip
    theirs = WMap().bind_to_environ(env, server_name=None, subdomain="")
    fields = ("server_name", "script_name", "subdomain", "url_scheme", "path_info", "default_method")
    for _ in range(2):
        ours = app.url_map.bind_to_environ(env, server_name=None, subdomain="")
        assert [getattr(ours, f) for f in fields] == [getattr(theirs, f) for f in fields]
        assert ours.query_args == theirs.query_args


def test_async_view_inside_a_running_loop() -> None:
    import asyncio

    app = App(__name__)

    @app.route("/")
    async def index() -> str:
        await asyncio.sleep(0)
        return f"async {request.path}"

    async def main() -> bytes:
        return app.test_client().get("/").data  # type: ignore[no-any-return]

    assert asyncio.run(main()) == b"async /"
