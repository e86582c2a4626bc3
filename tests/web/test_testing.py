"""The test client, environ builder and CLI runner."""

from __future__ import annotations

import io
from typing import Any

import click
import pytest

from corral.web import App, flash, get_flashed_messages, redirect, request, session, url_for


@pytest.fixture
def app() -> App:
    app = App(__name__)
    app.secret_key = "test secret"

    @app.route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def echo() -> Any:
        return {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "form": request.form.to_dict(flat=False),
            "files": {k: [f.filename, f.read().decode(), f.content_type] for k, f in request.files.items()},
            "data": request.get_data(as_text=True) if not request.form and not request.files else "",
            "ctype": request.content_type,
            "header": request.headers.get("X-Test"),
        }

    @app.route("/set")
    def set_cookie() -> Any:
        resp = app.response_class("set")
        resp.set_cookie("name", request.args.get("v", "value"))
        return resp

    @app.route("/get")
    def get_cookie() -> str:
        return request.cookies.get("name", "none")

    @app.route("/del")
    def del_cookie() -> Any:
        resp = app.response_class("del")
        resp.delete_cookie("name")
        return resp

    @app.route("/r/<int:n>")
    def redirector(n: int) -> Any:
        if n == 0:
            return "done"
        return redirect(url_for("redirector", n=n - 1))

    @app.route("/r307", methods=["POST"])
    def r307() -> Any:
        return redirect("/echo", 307)

    @app.route("/login", methods=["POST"])
    def login() -> Any:
        session["user"] = request.form["user"]
        flash("welcome")
        return redirect("/me")

    @app.route("/me")
    def me() -> Any:
        return {"user": session.get("user"), "flashes": get_flashed_messages()}

    return app


def test_methods_query_and_headers(app: App) -> None:
    c = app.test_client()
    for verb in ("get", "post", "put", "patch", "delete"):
        assert getattr(c, verb)("/echo").json["method"] == verb.upper()
    rv = c.get("/echo", query_string={"a": ["1", "2"], "b": "x"}, headers={"X-Test": "yes"})
    assert rv.json["args"] == {"a": ["1", "2"], "b": ["x"]}
    assert rv.json["header"] == "yes"
    assert c.get("/echo?q=1").json["args"] == {"q": ["1"]}
    assert rv.status_code == 200 and rv.status == "200 OK"
    assert rv.get_json() == rv.json and rv.text.startswith("{")
    assert rv.request.path == "/echo"


def test_bodies(app: App) -> None:
    c = app.test_client()
    assert c.post("/echo", data="raw text").json["data"] == "raw text"
    assert c.post("/echo", data=b"raw bytes").json["data"] == "raw bytes"
    rv = c.post("/echo", data={"a": "1", "b": ["2", "3"]})
    assert rv.json["form"] == {"a": ["1"], "b": ["2", "3"]}
    assert rv.json["ctype"] == "application/x-www-form-urlencoded"
    rv = c.post("/echo", json={"k": 1})
    assert rv.json["data"] == '{"k": 1}' and rv.json["ctype"] == "application/json"


def test_file_upload(app: App) -> None:
    c = app.test_client()
    rv = c.post(
        "/echo",
        data={
            "title": "t",
            "doc": (io.BytesIO(b"file body"), "notes.txt"),
            "img": (io.BytesIO(b"PNG"), "x.png", "image/png"),
        },
    )
    assert rv.json["form"] == {"title": ["t"]}
    assert rv.json["files"] == {
        "doc": ["notes.txt", "file body", "text/plain"],
        "img": ["x.png", "PNG", "image/png"],
    }
    assert rv.json["ctype"].startswith("multipart/form-data; boundary=")


def test_cookie_jar(app: App) -> None:
    c = app.test_client()
    assert c.get("/get").data == b"none"
    c.get("/set?v=abc")
    assert c.get_cookie("name").value == "abc"  # type: ignore[union-attr]
    assert c.get("/get").data == b"abc"
    c.get("/del")
    assert c.get_cookie("name") is None
    assert c.get("/get").data == b"none"
    c.set_cookie("name", "manual")
    assert c.get("/get").data == b"manual"
    c.delete_cookie("name")
    assert c.get("/get").data == b"none"
    nocookies = app.test_client(use_cookies=False)
    nocookies.get("/set")
    assert nocookies.get("/get").data == b"none"


def test_follow_redirects_with_history(app: App) -> None:
    c = app.test_client()
    rv = c.get("/r/3")
    assert rv.status_code == 302 and rv.location == "/r/2"
    rv = c.get("/r/3", follow_redirects=True)
    assert rv.data == b"done"
    assert [r.status_code for r in rv.history] == [302, 302, 302]
    assert rv.request.path == "/r/0"
    rv = c.post("/r307", data={"x": "1"}, follow_redirects=True)
    assert rv.json["method"] == "POST" and rv.json["form"] == {"x": ["1"]}


def test_session_and_flash_across_requests(app: App) -> None:
    c = app.test_client()
    rv = c.post("/login", data={"user": "ann"}, follow_redirects=True)
    assert rv.json == {"user": "ann", "flashes": ["welcome"]}
    assert c.get("/me").json == {"user": "ann", "flashes": []}


def test_session_transaction(app: App) -> None:
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["user"] = "preset"
    assert c.get("/me").json["user"] == "preset"
    with c.session_transaction() as sess:
        assert sess["user"] == "preset"


def test_cli_runner(app: App) -> None:
    @app.cli.command("hello")
    @click.argument("name")
    def hello(name: str) -> None:
        click.echo(f"hello {name} from {app.name}")

    result = app.test_cli_runner().invoke(args=["hello", "ann"])
    assert result.exit_code == 0, result.output
    assert result.output == f"hello ann from {app.name}\n"


def test_test_request_context_arguments(app: App) -> None:
    with app.test_request_context("/x?a=1", method="POST", data={"f": "v"}, headers={"X-A": "b"}):
        assert request.args["a"] == "1"
        assert request.form["f"] == "v"
        assert request.headers["X-A"] == "b"
        assert request.url == "http://localhost/x?a=1"
    app.config["SERVER_NAME"] = "example.org"
    with app.test_request_context("/", subdomain="api"):
        assert request.host == "api.example.org"
