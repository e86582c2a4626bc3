"""Errors: HTTP exceptions, abort, error handler lookup, 500 handling and propagation."""

from __future__ import annotations

from typing import Any

import pytest

from corral.web import App, Blueprint, abort, got_request_exception, request
from corral.web.http.exceptions import (
    BadRequest,
    BadRequestKeyError,
    Forbidden,
    HTTPException,
    InternalServerError,
    NotFound,
)


def make_app() -> App:
    app = App(__name__)

    @app.route("/abort/<int:code>")
    def do_abort(code: int) -> str:
        abort(code)

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    @app.route("/key")
    def key() -> str:
        return request.args["missing"]

    return app


def test_abort_gives_the_code_and_html_body() -> None:
    c = make_app().test_client()
    rv = c.get("/abort/403")
    assert rv.status_code == 403
    assert rv.mimetype == "text/html"
    assert b"<title>403 Forbidden</title>" in rv.data
    assert c.get("/abort/418").status == "418 I'M A TEAPOT"


def test_abort_with_description_and_response() -> None:
    app = App(__name__)

    @app.route("/d")
    def d() -> str:
        abort(400, description="no good")

    @app.route("/r")
    def r() -> str:
        abort(app.response_class("custom", status=409))

    c = app.test_client()
    assert b"no good" in c.get("/d").data
    rv = c.get("/r")
    assert rv.status_code == 409 and rv.data == b"custom"


def test_handler_by_code_and_by_class() -> None:
    app = make_app()

    @app.errorhandler(404)
    def not_found(e: HTTPException) -> Any:
        return f"nf {e.code}", 404

    @app.errorhandler(HTTPException)
    def any_http(e: HTTPException) -> Any:
        return f"http {e.code}", e.code

    @app.errorhandler(RuntimeError)
    def runtime(e: Exception) -> Any:
        return f"rt {e}", 500

    c = app.test_client()
    assert c.get("/nope").data == b"nf 404"
    assert c.get("/abort/403").data == b"http 403"
    assert c.get("/boom").data == b"rt boom"


def test_handler_mro_most_specific_class_wins() -> None:
    app = App(__name__)

    class MyError(ValueError):
        pass

    app.register_error_handler(Exception, lambda e: ("exception", 500))
    app.register_error_handler(ValueError, lambda e: ("value", 500))

    @app.route("/")
    def index() -> str:
        raise MyError()

    assert app.test_client().get("/").data == b"value"


def test_blueprint_handler_before_app_handler() -> None:
    app = App(__name__)
    bp = Blueprint("bp", __name__)
    app.register_error_handler(403, lambda e: ("app", 403))
    bp.register_error_handler(403, lambda e: ("bp", 403))

    @bp.route("/bp")
    def in_bp() -> str:
        abort(403)

    @app.route("/app")
    def in_app() -> str:
        abort(403)

    app.register_blueprint(bp)
    c = app.test_client()
    assert c.get("/bp").data == b"bp"
    assert c.get("/app").data == b"app"


def test_unhandled_exception_is_500_with_original() -> None:
    app = make_app()
    seen: list[Any] = []

    @app.errorhandler(500)
    def server_error(e: InternalServerError) -> Any:
        seen.append(e.original_exception)
        return "sorry", 500

    rv = app.test_client().get("/boom")
    assert rv.status_code == 500 and rv.data == b"sorry"
    assert isinstance(seen[0], RuntimeError)


def test_unhandled_exception_default_500_body(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    rv = app.test_client().get("/boom")
    assert rv.status_code == 500
    assert b"Internal Server Error" in rv.data
    assert any("Exception on /boom [GET]" in r.getMessage() for r in caplog.records)


def test_propagation_in_testing_mode_and_config() -> None:
    app = make_app()
    app.testing = True
    with pytest.raises(RuntimeError):
        app.test_client().get("/boom")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert app.test_client().get("/boom").status_code == 500


def test_got_request_exception_signal() -> None:
    app = make_app()
    seen: list[Any] = []

    def receiver(sender: Any, exception: Exception, **kw: Any) -> None:
        seen.append((sender, exception))

    with got_request_exception.connected_to(receiver, app):
        app.test_client().get("/boom")
    assert seen and seen[0][0] is app and isinstance(seen[0][1], RuntimeError)


def test_bad_request_key_error() -> None:
    app = make_app()
    assert issubclass(BadRequestKeyError, KeyError)
    assert issubclass(BadRequestKeyError, BadRequest)
    assert app.test_client().get("/key").status_code == 400
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True
    app.testing = True
    with pytest.raises(BadRequestKeyError):
        app.test_client().get("/key")


def test_trap_http_exceptions() -> None:
    app = make_app()
    app.config["TRAP_HTTP_EXCEPTIONS"] = True
    app.testing = True
    with pytest.raises(NotFound):
        app.test_client().get("/abort/404")


def test_error_handler_registration_errors() -> None:
    app = App(__name__)
    with pytest.raises(ValueError, match="not a recognized HTTP error code"):
        app.register_error_handler(999, lambda e: "")
    with pytest.raises(TypeError, match="is an instance, not a class"):
        app.register_error_handler(Forbidden(), lambda e: "")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not a subclass of Exception"):
        app.register_error_handler(int, lambda e: "")  # type: ignore[arg-type]


def test_405_has_allow_header_and_handler_sees_it() -> None:
    app = App(__name__)
    app.route("/only-post", methods=["POST"])(lambda: "posted")
    rv = app.test_client().get("/only-post")
    assert rv.status_code == 405
    assert sorted(rv.headers["Allow"].split(", ")) == ["OPTIONS", "POST"]


def test_error_in_error_handler_goes_to_500() -> None:
    app = make_app()

    @app.errorhandler(404)
    def broken(e: Exception) -> str:
        raise RuntimeError("handler broke")

    rv = app.test_client().get("/nope")
    assert rv.status_code == 500
