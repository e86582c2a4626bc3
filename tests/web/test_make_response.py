"""make_response: the return values a view may give, as Flask accepts them."""

from __future__ import annotations

import pytest

from corral.web import App, Response, make_response
from corral.web.http.datastructures import Headers


@pytest.fixture
def app() -> App:
    return App(__name__)


def test_str_bytes_bytearray(app: App) -> None:
    with app.test_request_context():
        for body in ("héllo", b"h\xc3\xa9llo", bytearray(b"h\xc3\xa9llo")):
            rv = app.make_response(body)
            assert rv.status_code == 200
            assert rv.data == "héllo".encode()
            assert rv.mimetype == "text/html"
            assert rv.headers["Content-Type"] == "text/html; charset=utf-8"


def test_iterator_body(app: App) -> None:
    with app.test_request_context():
        rv = app.make_response(iter(["a", "b"]))
        assert rv.get_data() == b"ab"


def test_dict_and_list_become_json(app: App) -> None:
    with app.test_request_context():
        rv = app.make_response({"b": 1, "a": [1, 2]})
        assert rv.mimetype == "application/json"
        assert rv.data == b'{"a":[1,2],"b":1}\n'
        rv = app.make_response([1, "x"])
        assert rv.json == [1, "x"]


@pytest.mark.parametrize(
    "rv, status, header",
    [
        (("body", 201), "201 CREATED", None),
        (("body", "418 I'M A TEAPOT"), "418 I'M A TEAPOT", None),
        (("body", {"X-A": "1"}), "200 OK", "1"),
        (("body", [("X-A", "1")]), "200 OK", "1"),
        (("body", Headers([("X-A", "1")])), "200 OK", "1"),
        (("body", 202, {"X-A": "1"}), "202 ACCEPTED", "1"),
    ],
)
def test_tuples(app: App, rv: tuple, status: str, header: str | None) -> None:
    with app.test_request_context():
        resp = app.make_response(rv)
        assert resp.status == status
        assert resp.data == b"body"
        assert resp.headers.get("X-A") == header


def test_response_object_kept_and_updated(app: App) -> None:
    with app.test_request_context():
        original = Response("x", status=200)
        assert app.make_response(original) is original
        rv = app.make_response((Response("y"), 404, {"X-B": "2"}))
        assert rv.status_code == 404
        assert rv.headers["X-B"] == "2"


def test_dict_with_status(app: App) -> None:
    with app.test_request_context():
        rv = app.make_response(({"ok": False}, 400))
        assert rv.status_code == 400
        assert rv.json == {"ok": False}


def test_wsgi_callable(app: App) -> None:
    def wsgi(environ: dict, start_response: object) -> list[bytes]:
        start_response("202 ACCEPTED", [("X-W", "1")])  # type: ignore[operator]
        return [b"from wsgi"]

    with app.test_request_context():
        rv = app.make_response(wsgi)
        assert rv.status_code == 202
        assert rv.headers["X-W"] == "1"
        assert rv.data == b"from wsgi"
        assert isinstance(rv, app.response_class)


def test_none_is_an_error(app: App) -> None:
    @app.route("/none")
    def none() -> None:
        return None

    app.testing = True
    with pytest.raises(TypeError) as e:
        app.test_client().get("/none")
    assert "The view function for 'none' did not return a valid response." in str(e.value)
    assert "returned None or ended without a return statement" in str(e.value)


def test_bad_types(app: App) -> None:
    with app.test_request_context():
        with pytest.raises(TypeError) as e:
            app.make_response(42)
        assert str(e.value).endswith("but it was a int.")
        with pytest.raises(TypeError) as e:
            app.make_response(("a", 200, {}, "extra"))
        assert "did not return a valid response tuple" in str(e.value)


def test_helper_make_response(app: App) -> None:
    with app.test_request_context():
        assert make_response().status_code == 200
        rv = make_response("x", 404)
        assert rv.status_code == 404 and rv.data == b"x"
        rv = make_response(("y", {"X-C": "3"}))
        assert rv.headers["X-C"] == "3"


def test_fast_and_general_constructors_agree(app: App) -> None:
    fast = app.response_class("héllo")
    general = app.response_class("héllo", status=200, headers=None, mimetype="text/html")
    assert fast.headers.to_wsgi_list() == general.headers.to_wsgi_list()
    assert fast.status == general.status and fast.data == general.data
    env = {"REQUEST_METHOD": "GET"}
    seen: list = []
    assert list(fast(env, lambda s, h: seen.append((s, h)))) == [b"h\xc3\xa9llo"]
    assert list(general(env, lambda s, h: seen.append((s, h)))) == [b"h\xc3\xa9llo"]
    assert seen[0] == seen[1]
    seen.clear()
    assert list(fast({"REQUEST_METHOD": "HEAD"}, lambda s, h: seen.append((s, h)))) == []
