"""Blueprints: prefixes, nesting, names, app-wide hooks, record/record_once."""

from __future__ import annotations

from typing import Any

import pytest

from corral.web import App, Blueprint, abort, g, request, url_for


def test_prefix_endpoint_names_and_relative_url_for() -> None:
    app = App(__name__)
    bp = Blueprint("shop", __name__, url_prefix="/shop")

    @bp.route("/")
    def index() -> str:
        return url_for(".item", item_id=3)

    @bp.route("/item/<int:item_id>")
    def item(item_id: int) -> str:
        return f"{request.endpoint} {request.blueprint} {item_id}"

    app.register_blueprint(bp)
    c = app.test_client()
    assert c.get("/shop/").data == b"/shop/item/3"
    assert c.get("/shop/item/7").data == b"shop.item shop 7"
    with app.test_request_context():
        assert url_for("shop.index") == "/shop/"


def test_nested_blueprints() -> None:
    app = App(__name__)
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    @child.route("/x")
    def x() -> str:
        return f"{request.endpoint} {request.blueprints}"

    @parent.errorhandler(404)
    def nf(e: Any) -> Any:
        return "parent 404", 404

    @child.route("/missing")
    def missing() -> str:
        abort(404)

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    c = app.test_client()
    assert c.get("/p/c/x").data == b"parent.child.x ['parent.child', 'parent']"
    assert c.get("/p/c/missing").data == b"parent 404"
    assert sorted(app.blueprints) == ["parent", "parent.child"]


def test_register_twice_needs_a_new_name() -> None:
    app = App(__name__)
    bp = Blueprint("bp", __name__)
    bp.route("/")(lambda: request.blueprint)
    app.register_blueprint(bp, url_prefix="/a")
    with pytest.raises(ValueError, match="is already registered"):
        app.register_blueprint(bp, url_prefix="/b")
    app.register_blueprint(bp, url_prefix="/b", name="bp2")
    c = app.test_client()
    assert c.get("/a/").data == b"bp"
    assert c.get("/b/").data == b"bp2"


def test_app_wide_hooks_from_blueprint() -> None:
    app = App(__name__)
    bp = Blueprint("bp", __name__)
    calls: list[str] = []

    @bp.before_app_request
    def before() -> None:
        g.from_bp = "yes"

    @bp.after_app_request
    def after(resp: Any) -> Any:
        resp.headers["X-Bp"] = "1"
        return resp

    @bp.teardown_app_request
    def teardown(exc: Any) -> None:
        calls.append("teardown")

    @bp.app_errorhandler(404)
    def nf(e: Any) -> Any:
        return "bp handles app 404", 404

    @bp.app_url_defaults
    def defaults(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("lang", "en") if endpoint == "page" else None

    @app.route("/")
    def index() -> str:
        return g.from_bp

    @app.route("/<lang>/page")
    def page(lang: str) -> str:
        return url_for("page")

    app.register_blueprint(bp)
    c = app.test_client()
    rv = c.get("/")
    assert rv.data == b"yes" and rv.headers["X-Bp"] == "1"
    assert c.get("/nowhere").data == b"bp handles app 404"
    assert c.get("/fr/page").data == b"/en/page"
    assert calls == ["teardown"] * 3


def test_blueprint_hooks_only_for_its_requests() -> None:
    app = App(__name__)
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.before_request(lambda: "blocked")
    bp.route("/")(lambda: "bp view")
    app.route("/")(lambda: "app view")
    app.register_blueprint(bp)
    c = app.test_client()
    assert c.get("/bp/").data == b"blocked"
    assert c.get("/").data == b"app view"


def test_record_and_record_once() -> None:
    app = App(__name__)
    bp = Blueprint("bp", __name__)
    every: list[Any] = []
    once: list[Any] = []
    bp.record(lambda s: every.append((s.name, s.url_prefix, s.first_registration)))
    bp.record_once(lambda s: once.append(s.app))
    app.register_blueprint(bp, url_prefix="/1")
    app.register_blueprint(bp, url_prefix="/2", name="again")
    assert every == [("bp", "/1", True), ("again", "/2", False)]
    assert once == [app]


def test_blueprint_url_defaults() -> None:
    app = App(__name__)
    bp = Blueprint("bp", __name__, url_defaults={"lang": "en"})

    @bp.route("/hello")
    def hello(lang: str) -> str:
        return lang

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="fr", url_prefix="/fr", url_defaults={"lang": "fr"})
    c = app.test_client()
    assert c.get("/hello").data == b"en"
    assert c.get("/fr/hello").data == b"fr"


def test_name_validation_and_dotted_endpoints() -> None:
    with pytest.raises(ValueError):
        Blueprint("", __name__)
    with pytest.raises(ValueError):
        Blueprint("a.b", __name__)
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError):
        bp.add_url_rule("/", endpoint="x.y", view_func=lambda: "")
    with pytest.raises(ValueError, match="on itself"):
        bp.register_blueprint(bp)


def test_setup_after_registration_is_an_error() -> None:
    app = App(__name__)
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="can no longer be called on the blueprint"):
        bp.route("/late")(lambda: "")


def test_iter_blueprints_and_template_registrations() -> None:
    app = App(__name__)
    bp = Blueprint("bp", __name__)

    @bp.app_template_filter()
    def shout(s: str) -> str:
        return s.upper()

    @bp.app_template_global("answer")
    def answer() -> int:
        return 42

    app.register_blueprint(bp)
    assert list(app.iter_blueprints()) == [bp]
    assert app.jinja_env.filters["shout"]("a") == "A"
    assert app.jinja_env.globals["answer"]() == 42
