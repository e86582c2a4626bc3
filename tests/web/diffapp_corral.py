"""A small app for the differential test; diffapp_flask.py is the same code
importing flask instead of corral.web (only the import block differs)."""

from __future__ import annotations

from typing import Any

# -- imports (the only part that differs between the two files) --
from corral.web import (
    App,
    Blueprint,
    abort,
    after_this_request,
    g,
    jsonify,
    make_response,
    redirect,
    request,
    url_for,
)

# -- end of imports --


def create_app() -> Any:
    app = App(__name__)
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @app.before_request
    def load_user() -> Any:
        g.user = request.headers.get("X-User", "anonymous")
        if request.args.get("block") == "1":
            return "blocked by before_request", 403
        return None

    @app.after_request
    def add_header(response: Any) -> Any:
        response.headers["X-App"] = "after"
        return response

    @app.errorhandler(404)
    def not_found(e: Any) -> Any:
        return jsonify(error="not found", path=request.path), 404

    @app.errorhandler(ValueError)
    def value_error(e: Any) -> Any:
        return f"value error: {e}", 400

    @app.route("/")
    def index() -> str:
        return "Hello, World!"

    @app.route("/bytes")
    def raw() -> bytes:
        return b"\x00\x01bytes"

    @app.route("/user/<int:uid>")
    def user(uid: int) -> Any:
        return jsonify(id=uid, name=g.user)

    @app.route("/float/<float:x>")
    def as_float(x: float) -> str:
        return repr(x)

    @app.route("/path/<path:rest>")
    def path(rest: str) -> str:
        return rest

    @app.route("/uuid/<uuid:u>")
    def uid(u: Any) -> str:
        return str(u)

    @app.route("/color/<any(red, blue):c>")
    def color(c: str) -> str:
        return c

    @app.route("/dir/")
    def directory() -> str:
        return "dir"

    @app.route("/only-post", methods=["POST"])
    def only_post() -> str:
        return "posted"

    @app.route("/status")
    def status() -> Any:
        return "created", 201

    @app.route("/teapot")
    def teapot() -> Any:
        return "short and stout", "418 I'M A TEAPOT"

    @app.route("/headers")
    def headers() -> Any:
        return "with headers", {"X-Custom": "1", "Cache-Control": "no-store"}

    @app.route("/triple")
    def triple() -> Any:
        return {"ok": True}, 202, [("X-Triple", "3")]

    @app.route("/dict")
    def as_dict() -> Any:
        return {"b": [1, 2.5, None], "a": "é"}

    @app.route("/list")
    def as_list() -> Any:
        return [1, "two", {"three": 3}]

    @app.route("/response")
    def response() -> Any:
        resp = make_response("custom", 206)
        resp.mimetype = "text/plain"
        resp.headers["X-Resp"] = "yes"
        return resp

    @app.route("/generator")
    def generator() -> Any:
        return iter(["a", "b", "c"])

    @app.route("/abort/<int:code>")
    def do_abort(code: int) -> str:
        abort(code)

    @app.route("/value-error")
    def raise_value() -> str:
        raise ValueError("bad value")

    @app.route("/unhandled")
    def unhandled() -> str:
        raise KeyError("oops")

    @app.route("/cookie")
    def cookie() -> Any:
        resp = make_response("cookie set")
        resp.set_cookie("plain", "v1")
        resp.set_cookie("opts", "v 2", max_age=60, path="/bp", httponly=True, samesite="Lax", secure=True)
        resp.delete_cookie("gone")
        return resp

    @app.route("/read-cookie")
    def read_cookie() -> Any:
        return dict(request.cookies)

    @app.route("/redirect")
    def go() -> Any:
        return redirect(url_for("user", uid=7, q="x y"))

    @app.route("/args")
    def args() -> Any:
        return {"args": request.args.to_dict(flat=False), "agent": request.headers.get("User-Agent")}

    @app.route("/form", methods=["POST"])
    def form() -> Any:
        return {"form": request.form.to_dict(flat=False)}

    @app.route("/json", methods=["POST"])
    def echo_json() -> Any:
        return jsonify(request.get_json())

    @app.route("/after-this")
    def after_this() -> str:
        @after_this_request
        def add(resp: Any) -> Any:
            resp.headers["X-This"] = "1"
            return resp

        return "after this"

    @bp.after_request
    def bp_header(response: Any) -> Any:
        response.headers["X-Bp"] = "bp"
        return response

    @bp.errorhandler(403)
    def bp_forbidden(e: Any) -> Any:
        return "bp forbidden", 403

    @bp.route("/")
    def bp_index() -> str:
        return f"{request.endpoint} {url_for('.item', name='x')}"

    @bp.route("/item/<name>")
    def item(name: str) -> str:
        return name

    @bp.route("/forbidden")
    def bp_abort() -> str:
        abort(403)

    app.register_blueprint(bp)
    return app
