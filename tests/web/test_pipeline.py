"""The request pipeline: hook order, short-circuits, first-request functions, teardown."""

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
