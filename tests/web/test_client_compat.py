"""The test client and environ builder behave as Flask's (Werkzeug's) do: the same
app driven through both gives the same cookies, environ and requests."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import flask
import pytest

import corral.web as cw
from corral.web.testing import EnvironBuilder


def _apps() -> list[tuple[Any, Any]]:
    return [_app(flask), _app(cw)]


def _app(module: Any) -> tuple[Any, Any]:
    app = (module.Flask if module is flask else module.App)(__name__)
    app.secret_key = "k"
    req = module.request

    @app.route("/set")
    def set_cookies() -> Any:
        r = module.make_response("ok")
        r.set_cookie("q", 'a "b" c', max_age=100)
        r.set_cookie("e", "v", expires=dt.datetime(2040, 1, 1, tzinfo=dt.timezone.utc))
        r.set_cookie("sub", "s", path="/deep/")
        return r

    @app.route("/del")
    def delete() -> Any:
        r = module.make_response("ok")
        r.delete_cookie("q")
        return r

    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> Any:
        return {
            "args": req.args.to_dict(flat=False), "cookies": req.cookies.to_dict(),
            "remote": req.remote_addr, "x": req.headers.get("X-Foo"),
            "ua": req.user_agent.string, "data": req.get_data(as_text=True),
            "ctype": req.content_type,
        }  # fmt: skip

    @app.route("/deep/x")
    def deep() -> Any:
        return req.cookies.to_dict()

    return app, module


def test_cookie_jar_matches_werkzeug() -> None:
    seen = []
    for app, _module in _apps():
        c = app.test_client()
        c.get("/set")
        q, e = c.get_cookie("q"), c.get_cookie("e")
        seen.append((
            q.value, q.decoded_value, q.max_age, q.path, q.domain, q.origin_only,
            e.expires, c.get("/echo").json["cookies"], c.get("/deep/x").json,
            c.get_cookie("sub", path="/deep/") is not None,
        ))  # fmt: skip
        c.get("/del")
        seen.append(c.get_cookie("q"))
    assert seen[0] == seen[2] and seen[1] == seen[3]
    assert isinstance(seen[2][6], dt.datetime)
    assert seen[2][0] == r'"a \"b\" c"' and seen[2][1] == 'a "b" c'


def test_set_cookie_on_client_matches_werkzeug() -> None:
    seen = []
    for app, _module in _apps():
        c = app.test_client()
        c.set_cookie("k", "v w", max_age=50, path="/")
        cookie = c.get_cookie("k")
        seen.append((cookie.value, cookie.decoded_value, cookie.max_age,
                     c.get("/echo").json["cookies"]))
    assert seen[0] == seen[1]


def test_query_string_none_dropped_and_lists_repeat() -> None:
    seen = [
        app.test_client().get("/echo", query_string={"page": None, "a": [1, 2], "b": "x"}).json
        for app, _ in _apps()
    ]
    assert seen[0] == seen[1] and seen[1]["args"] == {"a": ["1", "2"], "b": ["x"]}


def test_environ_base_under_ready_builders_and_environs() -> None:
    seen = []
    for app, module in _apps():
        c = app.test_client()
        c.environ_base["HTTP_X_FOO"] = "base"
        builder_cls = module.testing.EnvironBuilder
        seen.append((
            c.get(builder_cls(app, "/echo")).json,
            c.get(builder_cls(app, "/echo", headers={"X-Foo": "mine"}).get_environ()).json,
            c.get("/echo", environ_base={"REMOTE_ADDR": "10.0.0.1"}).json,
        ))  # fmt: skip
    assert seen[0] == seen[1]
    assert seen[1][0]["x"] == "base" and seen[1][1]["x"] == "mine"
    assert seen[1][2]["remote"] == "10.0.0.1"


def test_builder_body_attributes_match_flask() -> None:
    fapp, app = flask.Flask(__name__), cw.App(__name__)
    cases: list[dict[str, Any]] = [
        {"json": {"a": 1}}, {"data": "text", "content_type": "text/plain"},
        {"data": b"raw"}, {"data": {"f": "1"}}, {"input_stream": b"xyz"},
    ]  # fmt: skip
    for kwargs in cases:
        if "input_stream" in kwargs:
            theirs = flask.testing.EnvironBuilder(
                fapp, "/p?q=1", method="POST", input_stream=io.BytesIO(kwargs["input_stream"]))
            ours = EnvironBuilder(
                app, "/p?q=1", method="POST", input_stream=io.BytesIO(kwargs["input_stream"]))
        else:
            theirs = flask.testing.EnvironBuilder(fapp, "/p?q=1", method="POST", **kwargs)
            ours = EnvironBuilder(app, "/p?q=1", method="POST", **kwargs)
        for name in ("content_type", "content_length", "mimetype", "base_url", "query_string",
                     "server_name", "server_port", "path", "method"):
            assert getattr(ours, name) == getattr(theirs, name), (kwargs, name)
        t_env, o_env = theirs.get_environ(), ours.get_environ()
        assert o_env["wsgi.input"].read() == t_env["wsgi.input"].read(), kwargs
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH", "QUERY_STRING", "PATH_INFO", "HTTP_HOST"):
            assert o_env.get(key) == t_env.get(key), (kwargs, key)
    ours = EnvironBuilder(app, json={"a": 1})
    assert ours.input_stream.read() == b'{"a": 1}'


def test_builder_without_app_and_get_request() -> None:
    b = EnvironBuilder(None, "/x", query_string={"a": "1"}, json=[1])
    req = b.get_request()
    assert (req.path, req.args["a"], req.get_json(), req.host) == ("/x", "1", [1], "localhost")
    b.args["b"] = "2"
    assert "b=2" in b.query_string


def test_multipart_files_match_flask(tmp_path: Any) -> None:
    seen = []
    for app, module in _apps():
        @app.route("/up", methods=["POST"])
        def up(module: Any = module) -> Any:
            f = module.request.files["f"]
            return {"name": f.filename, "type": f.content_type, "body": f.read().decode(),
                    "form": module.request.form.to_dict()}

        data = {"f": (io.BytesIO(b"content"), "a.txt"), "x": "1"}
        seen.append(app.test_client().post("/up", data=data).json)
    assert seen[0] == seen[1]


def test_redirects_to_other_hosts_refused() -> None:
    for app, module in _apps():
        @app.route("/away")
        def away(module: Any = module) -> Any:
            return module.redirect("http://elsewhere.example/")

        @app.route("/sub")
        def sub(module: Any = module) -> Any:
            return module.redirect("http://api.localhost/echo")

        c = app.test_client()
        with pytest.raises(RuntimeError, match="external redirects"):
            c.get("/away", follow_redirects=True)
        with pytest.raises(RuntimeError, match="subdomain redirects"):
            c.get("/sub", follow_redirects=True)


def test_resolve_redirect() -> None:
    for app, module in _apps():
        @app.route("/r")
        def r(module: Any = module) -> Any:
            return module.redirect("/echo?z=1")

        c = app.test_client()
        first = c.get("/r")
        second = c.resolve_redirect(first)
        assert second.status_code == 200 and second.json["args"] == {"z": ["1"]}
