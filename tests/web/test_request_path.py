"""The one request path: hook order, short-circuits, first-request functions,
teardown, the request plan, and that every request runs through wsgi_app and the
context classes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from corral.web import App, Blueprint, after_this_request, g, request


def test_hook_order_app_and_blueprints() -> None:
    app = App(__name__)
    calls: list[str] = []
    outer = Blueprint("outer", __name__, url_prefix="/o")
    inner = Blueprint("inner", __name__, url_prefix="/i")

    def rec(name: str, rv: Any = None) -> Any:
        def hook(*args: Any) -> Any:
            calls.append(name)
            return args[0] if name.startswith("after") else rv

        return hook

    app.url_value_preprocessor(rec("uvp-app"))
    outer.url_value_preprocessor(rec("uvp-outer"))
    inner.url_value_preprocessor(rec("uvp-inner"))
    app.before_request(rec("before-app"))
    outer.before_request(rec("before-outer"))
    inner.before_request(rec("before-inner"))
    app.after_request(rec("after-app-1"))
    app.after_request(rec("after-app-2"))
    outer.after_request(rec("after-outer"))
    inner.after_request(rec("after-inner"))
    app.teardown_request(rec("teardown-app"))
    outer.teardown_request(rec("teardown-outer"))
    inner.teardown_request(rec("teardown-inner"))
    app.teardown_appcontext(rec("teardown-appctx"))

    @inner.route("/v")
    def view() -> str:
        calls.append("view")

        @after_this_request
        def cb(resp: Any) -> Any:
            calls.append("after-this")
            return resp

        return "ok"

    outer.register_blueprint(inner)
    app.register_blueprint(outer)
    assert app.test_client().get("/o/i/v").data == b"ok"
    assert calls == [
        "uvp-app", "uvp-outer", "uvp-inner",
        "before-app", "before-outer", "before-inner",
        "view",
        "after-this", "after-inner", "after-outer", "after-app-2", "after-app-1",
        "teardown-inner", "teardown-outer", "teardown-app", "teardown-appctx",
    ]  # fmt: skip


def test_before_request_short_circuit() -> None:
    app = App(__name__)
    seen: list[str] = []
    app.before_request(lambda: seen.append("first"))
    app.before_request(lambda: "stopped")
    app.before_request(lambda: seen.append("never"))

    @app.after_request
    def after(resp: Any) -> Any:
        resp.headers["X-After"] = "yes"
        return resp

    @app.route("/")
    def index() -> str:
        seen.append("view")
        return "view"

    rv = app.test_client().get("/")
    assert rv.data == b"stopped"
    assert rv.headers["X-After"] == "yes"
    assert seen == ["first"]


def test_g_set_in_before_request() -> None:
    app = App(__name__)

    @app.before_request
    def load() -> None:
        g.user = "alice"

    @app.route("/")
    def index() -> str:
        return g.user

    assert app.test_client().get("/").data == b"alice"


def test_before_first_request_runs_once_under_threads() -> None:
    app = App(__name__)
    count = [0]

    @app.before_first_request
    def first() -> None:
        count[0] += 1

    @app.route("/")
    def index() -> str:
        return str(count[0])

    def hit() -> None:
        app.test_client().get("/")

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert count[0] == 1
    assert app.test_client().get("/").data == b"1"
    app2 = App(__name__)
    app2.before_first_request(first)
    app2.route("/")(index)
    app2.test_client().get("/")
    assert count[0] == 2


def test_setup_after_first_request_is_an_error() -> None:
    app = App(__name__)
    app.route("/")(lambda: "x")
    app.test_client().get("/")
    with pytest.raises(AssertionError, match="can no longer be called"):
        app.before_request(lambda: None)


def test_teardown_runs_after_errors_and_sees_exception() -> None:
    app = App(__name__)
    seen: list[Any] = []
    app.teardown_request(lambda exc: seen.append(("req", type(exc).__name__)))
    app.teardown_appcontext(lambda exc: seen.append(("app", type(exc).__name__)))

    @app.route("/boom")
    def boom() -> str:
        raise ValueError("x")

    app.route("/ok")(lambda: "ok")
    rv = app.test_client().get("/boom")
    assert rv.status_code == 500
    assert seen == [("req", "ValueError"), ("app", "ValueError")]
    seen.clear()
    app.test_client().get("/ok")
    assert seen == [("req", "NoneType"), ("app", "NoneType")]


def test_teardown_runs_when_exception_propagates() -> None:
    app = App(__name__)
    app.testing = True
    seen: list[Any] = []
    app.teardown_request(lambda exc: seen.append(exc))

    @app.route("/boom")
    def boom() -> str:
        raise KeyError("k")

    with pytest.raises(KeyError):
        app.test_client().get("/boom")
    assert len(seen) == 1 and isinstance(seen[0], KeyError)


def test_url_value_preprocessor_and_defaults() -> None:
    app = App(__name__)

    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.lang = values.pop("lang") if values else None

    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, Any]) -> None:
        if "lang" in values or not getattr(g, "lang", None):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = g.lang

    @app.route("/<lang>/page")
    def page() -> str:
        from corral.web import url_for

        return f"{g.lang} {url_for('page')}"

    assert app.test_client().get("/fr/page").data == b"fr /fr/page"


def test_automatic_options_and_head() -> None:
    app = App(__name__)

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        return "hello"

    c = app.test_client()
    rv = c.options("/")
    assert rv.status_code == 200
    assert sorted(rv.headers["Allow"].split(", ")) == ["GET", "HEAD", "OPTIONS", "POST"]
    rv = c.head("/")
    assert rv.status_code == 200 and rv.data == b""
    assert rv.headers["Content-Length"] == "5"


def test_provide_automatic_options_false() -> None:
    app = App(__name__)

    @app.route("/", provide_automatic_options=False, methods=["GET", "OPTIONS"])
    def index() -> str:
        return request.method

    assert app.test_client().options("/").data == b"OPTIONS"


def test_method_shortcuts() -> None:
    app = App(__name__)
    for verb in ("get", "post", "put", "delete", "patch"):
        getattr(app, verb)("/x", endpoint=verb)(lambda verb=verb: verb)
    c = app.test_client()
    for verb in ("get", "post", "put", "delete", "patch"):
        assert getattr(c, verb)("/x").data == verb.encode()
    with pytest.raises(TypeError):
        app.get("/y", methods=["GET"])


# -- one request path: every request goes through wsgi_app, contexts from ctx.py


def test_a_field_added_to_request_context_init_is_seen_by_a_stock_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Patching RequestContext.__init__ (no subclass) reaches a stock App's views:
    the context every request runs in is built by that constructor."""
    from corral.web import ctx as ctx_module
    from corral.web.globals import _cv_request

    stock_init = ctx_module.RequestContext.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        stock_init(self, *args, **kwargs)
        self.tenant = "acme"

    monkeypatch.setattr(ctx_module.RequestContext, "__init__", init)
    app = App(__name__)

    @app.route("/")
    def index() -> str:
        return _cv_request.get().tenant  # type: ignore[no-any-return]

    @app.route("/data")
    def data() -> dict[str, str]:
        return {"tenant": _cv_request.get().tenant}

    client = app.test_client()
    assert client.get("/").data == b"acme"
    assert client.get("/data").get_json() == {"tenant": "acme"}


def test_every_request_goes_through_wsgi_app_and_the_context_classes() -> None:
    """Overriding a step (here request_context and dispatch_request) changes what
    every request does; nothing bypasses them."""
    seen: list[str] = []

    class Counting(App):
        def request_context(self, environ: dict[str, Any]) -> Any:
            seen.append("ctx")
            return super().request_context(environ)

        def dispatch_request(self) -> Any:
            seen.append("dispatch")
            return super().dispatch_request()

    app = Counting(__name__)
    app.route("/")(lambda: "hi")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/").data == b"hi"
    assert seen == ["ctx", "dispatch"] * 3


def test_a_str_result_is_a_response_object_seen_by_after_request() -> None:
    app = App(__name__)
    app.add_url_rule("/", "text", lambda: "text")
    app.add_url_rule("/json", "json", lambda: {"a": 1})
    seen: list[Any] = []

    @app.after_request
    def note(response: Any) -> Any:
        seen.append(response)
        return response

    client = app.test_client()
    assert client.get("/").data == b"text"
    assert client.get("/json").get_json() == {"a": 1}
    assert all(isinstance(r, app.response_class) for r in seen) and len(seen) == 2


def test_the_request_plan_is_kept_from_the_first_request() -> None:
    app = App(__name__)
    app.route("/")(lambda: "x")
    before = app.request_plan
    assert app.request_plan is not before  # setup not over: rebuilt on each use
    app.test_client().get("/")
    plan = app.request_plan
    assert plan is app.request_plan
    assert not plan.run_preprocess and not plan.run_teardown_request
    assert plan.stock_session_interface is app.session_interface


def test_the_plan_sees_hooks_and_overridden_steps() -> None:
    calls: list[str] = []

    class Tearing(App):
        def do_teardown_request(self, exc: BaseException | None = None) -> None:
            calls.append("teardown")

        def do_teardown_appcontext(self, exc: BaseException | None = None) -> None:
            calls.append("appcontext")

    app = Tearing(__name__)
    app.route("/")(lambda: "x")
    app.url_value_preprocessor(lambda endpoint, values: calls.append("uvp"))
    app.test_client().get("/")
    plan = app.request_plan
    assert plan.run_preprocess and plan.run_teardown_request and plan.run_teardown_appcontext
    assert calls == ["uvp", "teardown", "appcontext"]


def test_a_session_interface_set_after_the_first_request_is_used() -> None:
    from corral.web.sessions import SecureCookieSessionInterface

    class Stamping(SecureCookieSessionInterface):
        def save_session(self, app: Any, session: Any, response: Any) -> None:
            response.headers["X-Saved"] = "yes"

    app = App(__name__)
    app.secret_key = "k"
    app.route("/")(lambda: "x")
    client = app.test_client()
    assert "X-Saved" not in client.get("/").headers
    app.session_interface = Stamping()
    assert client.get("/").headers["X-Saved"] == "yes"


def test_routing_errors_come_from_the_one_matcher() -> None:
    app = App(__name__)
    app.add_url_rule("/dir/", "dir", lambda: "dir")
    app.add_url_rule("/item/<int:n>", "item", lambda n: str(n), methods=["POST"])
    client = app.test_client()
    assert client.get("/nope").status_code == 404
    assert client.get("/item/3").status_code == 405
    resp = client.get("/dir")
    assert resp.status_code == 308 and resp.location == "http://localhost/dir/"
    assert client.post("/item/3").data == b"3"


def test_redirects_and_external_urls_carry_the_host_of_each_request() -> None:
    """Routing by path alone matches without binding the map to the host; what
    needs the host (a slash redirect, an external URL) still sees each request's."""
    from corral.web import url_for

    app = App(__name__)
    app.add_url_rule("/dir/", "dir", lambda: url_for("dir", _external=True))
    client = app.test_client()
    for host in ("a.test", "b.test:8080", "a.test"):
        resp = client.get("/dir", headers={"Host": host})
        assert (resp.status_code, resp.location) == (308, f"http://{host}/dir/")
        assert client.get("/dir/", headers={"Host": host}).data == f"http://{host}/dir/".encode()


def test_a_bad_host_is_a_400_also_after_good_ones() -> None:
    app = App(__name__)
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    assert client.get("/", headers={"Host": "good.test"}).data == b"ok"
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_HOST": "a..b",
           "wsgi.url_scheme": "http", "SERVER_NAME": "x", "SERVER_PORT": "80"}  # fmt: skip
    with app.request_context(env):
        assert app.full_dispatch_request().status_code == 400
