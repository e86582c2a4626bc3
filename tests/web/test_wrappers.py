import io
import json
from datetime import datetime, timezone

import pytest
from flask.wrappers import Response as WResponse  # werkzeug's, with Flask's text/html default
from werkzeug.wrappers import Request as WRequest

from corral.web.http.datastructures import Headers
from corral.web.http.exceptions import (
    BadRequest,
    RequestedRangeNotSatisfiable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from corral.web.http.request import Request
from corral.web.http.response import Response, redirect


def make_environ(path="/", method="GET", query="", body=b"", headers=None, **extra):
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path.encode().decode("latin1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for key, value in (headers or {}).items():
        key = key.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = value
    environ.update(extra)
    return environ


def call(response, environ=None):
    out = {}

    def start_response(status, headers, exc_info=None):
        out["status"], out["headers"] = status, headers

    app_iter = response(environ or make_environ(), start_response)
    try:
        body = b"".join(app_iter)
    finally:
        if hasattr(app_iter, "close"):
            app_iter.close()
    return out["status"], out["headers"], body


# -- Request


@pytest.mark.parametrize(
    ("path", "query", "script"),
    [("/", "", ""), ("/a b/é", "x=1&y=%20z", ""), ("/p", "q", "/app"), ("//x", "", "/s/")],
)
def test_url_attributes_match_werkzeug(path, query, script):
    env = make_environ(path, query=query, SCRIPT_NAME=script)
    ours, theirs = Request(dict(env)), WRequest(dict(env))
    for attr in ("path", "full_path", "script_root", "url", "base_url", "url_root", "host_url",
                 "host", "root_url", "scheme", "method", "query_string"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr


def test_host_from_server_name_and_ports():
    env = make_environ(HTTP_HOST=None)
    del env["HTTP_HOST"]
    env["SERVER_PORT"] = "8080"
    assert Request(env).host == "localhost:8080"
    env2 = make_environ(HTTP_HOST="example.com:443", **{"wsgi.url_scheme": "https"})
    assert Request(env2).host == "example.com"
    assert Request(env2).is_secure


def test_args_cookies_headers():
    env = make_environ(query="a=1&a=2&b=&c", headers={"Cookie": 'x=1; y="a b"', "X-Thing": "v"})
    req = Request(env)
    assert req.args.getlist("a") == ["1", "2"]
    assert req.args["b"] == "" and req.args["c"] == ""
    assert req.args is req.args
    assert req.cookies["y"] == "a b"
    assert req.headers["x-thing"] == "v"
    with pytest.raises(TypeError):
        req.args["new"] = "x"
    with pytest.raises(BadRequest):
        req.args["missing"]


def test_construction_is_lazy():
    env = make_environ(query="a=1")
    req = Request(env)
    assert env["werkzeug.request"] is req
    assert "args" not in req.__dict__ and "form" not in req.__dict__
    # only the method is read at once (every request is matched by it), as Werkzeug does
    assert set(req.__dict__) <= {"environ", "shallow", "method"}
    assert req.method == "GET"


def test_json_body():
    env = make_environ(method="POST", body=b'{"a": [1, 2]}', headers={"Content-Type": "application/json"})
    req = Request(env)
    assert req.is_json
    assert req.json == {"a": [1, 2]}
    assert req.get_json() is req.get_json()
    assert req.get_data() == b'{"a": [1, 2]}'


def test_json_errors():
    bad = Request(make_environ(method="POST", body=b"{nope", headers={"Content-Type": "application/json"}))
    assert bad.get_json(silent=True) is None
    with pytest.raises(BadRequest):
        bad.get_json()
    text = Request(make_environ(method="POST", body=b"{}", headers={"Content-Type": "text/plain"}))
    with pytest.raises(UnsupportedMediaType):
        text.get_json()
    assert text.get_json(silent=True) is None
    assert text.get_json(force=True) == {}
    assert Request(make_environ(headers={"Content-Type": "application/vnd.api+json"})).is_json


def test_form_values_and_data():
    body = b"a=1&b=x+y"
    env = make_environ(method="POST", query="a=0", body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    req = Request(env)
    assert req.form["b"] == "x y"
    assert req.values.getlist("a") == ["0", "1"]
    assert req.data == b""
    get = Request(make_environ(query="a=0"))
    assert get.values.getlist("a") == ["0"]
    assert get.form == {} and get.files == {}


def test_get_data_before_form():
    body = b"a=1"
    req = Request(make_environ(method="POST", body=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert req.get_data() == body
    assert req.form["a"] == "1"
    assert req.get_data(as_text=True) == "a=1"


def test_stream_limited_to_content_length():
    env = make_environ(method="POST", body=b"hello", headers={"Content-Type": "text/plain"})
    env["wsgi.input"] = io.BytesIO(b"hello-and-more")
    req = Request(env)
    assert req.stream.read() == b"hello"
    assert req.content_length == 5
    assert req.mimetype == "text/plain"


def test_max_content_length():
    class Limited(Request):
        max_content_length = 3

    req = Limited(make_environ(method="POST", body=b"toolong", headers={"Content-Type": "text/plain"}))
    with pytest.raises(RequestEntityTooLarge):
        req.get_data()
    form = Limited(make_environ(method="POST", body=b"a=1234",
                                headers={"Content-Type": "application/x-www-form-urlencoded"}))
    with pytest.raises(RequestEntityTooLarge):
        _ = form.form


def test_misc_request_headers():
    env = make_environ(headers={
        "Accept": "application/json", "Authorization": "Basic dXNlcjpwYXNz",
        "User-Agent": "curl/8", "Referer": "http://x/", "X-Forwarded-For": "1.1.1.1, 2.2.2.2",
        "Accept-Language": "fr", "Content-Type": "text/plain; charset=latin-1",
    })
    req = Request(env)
    assert req.accept_mimetypes.accept_json
    assert req.authorization.username == "user"
    assert req.user_agent.string == "curl/8" and str(req.user_agent) == "curl/8"
    assert req.referrer == "http://x/"
    assert req.access_route == ["1.1.1.1", "2.2.2.2"]
    assert req.remote_addr == "127.0.0.1"
    assert req.accept_languages.best == "fr"
    assert req.mimetype_params == {"charset": "latin-1"}
    assert req.endpoint is None and req.blueprint is None and req.blueprints == []


def test_blueprint_names_from_rule():
    class FakeRule:
        endpoint = "outer.inner.view"

    req = Request(make_environ())
    req.url_rule = FakeRule()
    assert req.blueprint == "outer.inner"
    assert req.blueprints == ["outer.inner", "outer"]


# -- Response


def test_response_defaults_match_werkzeug():
    for args, kwargs in [
        (("hello",), {}),
        ((b"x", 201), {}),
        (("{}",), {"mimetype": "application/json"}),
        (("x",), {"content_type": "text/plain"}),
        (("x", "418 I'M A TEAPOT"), {}),
        (("x", 299), {}),
        (("x",), {"headers": {"X-A": "1"}}),
        ((["a", b"b"],), {}),
    ]:
        ours, theirs = Response(*args, **kwargs), WResponse(*args, **kwargs)
        assert ours.status == theirs.status
        assert ours.status_code == theirs.status_code
        assert ours.get_data() == theirs.get_data()
        o_status, o_headers, o_body = call(ours)
        t_status, t_headers, t_body = call(theirs)
        assert (o_status, o_headers, o_body) == (t_status, t_headers, t_body)


def test_set_data_and_content_length():
    r = Response()
    assert r.status == "200 OK" and r.mimetype == "text/html"
    r.set_data("héllo")
    assert r.headers["Content-Length"] == "6"
    r.data = b"abc"
    assert r.content_length == 3
    assert r.get_data(as_text=True) == "abc"
    r.status_code = 404
    assert r.status == "404 NOT FOUND"
    r.status = "201"
    assert r.status == "201 CREATED"


def test_streamed_response_and_close():
    closed = []

    def gen():
        try:
            yield "a"
            yield b"b"
        finally:
            closed.append("gen")

    r = Response(gen(), mimetype="text/plain")
    assert r.is_streamed
    r.call_on_close(lambda: closed.append("cb"))
    status, headers, body = call(r)
    assert body == b"ab"
    assert "Content-Length" not in dict(headers)
    assert closed == ["gen", "cb"]


def test_head_and_304_have_no_body():
    status, headers, body = call(Response("data"), make_environ(method="HEAD"))
    assert body == b"" and dict(headers)["Content-Length"] == "4"
    r = Response("x", 304)
    status, headers, body = call(r)
    assert body == b"" and "Content-Type" not in dict(headers)


def test_cookies_match_werkzeug():
    ours, theirs = Response(), WResponse()
    for resp in (ours, theirs):
        resp.set_cookie("a", "b", max_age=10, httponly=True, samesite="Lax")
        resp.set_cookie("c", "d e", path="/x", domain="example.com", secure=True, partitioned=True)
        resp.delete_cookie("old")
    o = [v for v in ours.headers.getlist("Set-Cookie")]
    t = [v for v in theirs.headers.getlist("Set-Cookie")]
    strip = lambda v: [p for p in v.split("; ") if not p.startswith("Expires")]  # noqa: E731
    assert [strip(v) for v in o] == [strip(v) for v in t]
    assert o[2] == t[2]


def test_location_json_headers():
    r = Response(json.dumps({"a": 1}), mimetype="application/json")
    assert r.is_json and r.json == {"a": 1}
    assert Response("x").json is None
    r.location = "/next"
    assert r.headers["Location"] == "/next"
    r.headers.add("X-Multi", "1")
    r.vary.add("Cookie")
    r.vary.add("Accept")
    assert r.headers["Vary"] == "Cookie, Accept"
    r.cache_control.max_age = 30
    r.cache_control.public = True
    assert r.headers["Cache-Control"] == "max-age=30, public"
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    r.last_modified = when
    assert r.last_modified == when
    r.expires = when
    assert r.headers["Expires"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_headers_object_is_used_directly():
    h = Headers([("X-A", "1")])
    r = Response("x", headers=h)
    assert r.headers is h


def test_redirect_matches_werkzeug():
    from werkzeug.utils import redirect as wredirect

    ours, theirs = redirect("/a?b=<c>", 301), wredirect("/a?b=<c>", 301)
    assert call(ours) == call(theirs)


def test_make_conditional_etag_and_last_modified():
    r = Response("content")
    r.add_etag()
    etag = r.headers["ETag"]
    env = make_environ(headers={"If-None-Match": etag})
    r.make_conditional(env)
    assert r.status_code == 304
    status, headers, body = call(r, env)
    assert body == b""
    r2 = Response("content")
    r2.last_modified = datetime(2024, 1, 1, tzinfo=timezone.utc)
    r2.make_conditional(make_environ(headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}))
    assert r2.status_code == 304
    r3 = Response("content")
    r3.make_conditional(make_environ())
    assert r3.status_code == 200 and "Date" in r3.headers


def test_make_conditional_ranges():
    r = Response(b"0123456789")
    r.make_conditional(make_environ(headers={"Range": "bytes=2-4"}), accept_ranges=True, complete_length=10)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == "bytes 2-4/10"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert call(r)[2] == b"234"
    bad = Response(b"0123456789")
    with pytest.raises(RequestedRangeNotSatisfiable) as info:
        bad.make_conditional(make_environ(headers={"Range": "bytes=20-30"}), accept_ranges=True,
                             complete_length=10)
    assert ("Content-Range", "bytes */10") in info.value.get_headers()


def test_range_over_file_wrapper():
    from corral.web.http.wsgi import FileWrapper

    r = Response(FileWrapper(io.BytesIO(b"abcdefghij"), 3), direct_passthrough=True)
    r.make_conditional(make_environ(headers={"Range": "bytes=-3"}), accept_ranges=True, complete_length=10)
    assert r.status_code == 206
    assert call(r)[2] == b"hij"


def test_force_type_and_from_app():
    def app(environ, start_response):
        start_response("201 CREATED", [("X-App", "1")])
        return [b"made"]

    r = Response.force_type(app, make_environ())
    assert r.status_code == 201 and r.get_data() == b"made" and r.headers["X-App"] == "1"
    r2 = Response.from_app(app, make_environ())
    assert r2.status == "201 CREATED"
    with pytest.raises(TypeError):
        Response.force_type(app)

    class Sub(Response):
        pass

    assert isinstance(Sub.force_type(Response("x")), Sub)


def test_freeze_and_direct_passthrough():
    r = Response(iter([b"a", b"b"]))
    r.freeze()
    assert r.response == [b"a", b"b"] and r.headers["Content-Length"] == "2"
    d = Response(iter([b"x"]), direct_passthrough=True)
    with pytest.raises(RuntimeError):
        d.get_data()


@pytest.mark.parametrize(
    "query",
    ["a=1&&b=%zz&c=%ff%fe", "x=%C3%A9+%2B&y", "%aF1=%Fa;q", "=v&k=&+=+"],
)
def test_args_decoding_matches_werkzeug(query):
    env = make_environ(query=query)
    ours, theirs = Request(dict(env)), WRequest(dict(env))
    assert list(ours.args.items(multi=True)) == list(theirs.args.items(multi=True))


def test_module_imports_no_flask():
    # (Werkzeug's type modules are imported when installed: see test_werkzeug_interop)
    import subprocess
    import sys

    code = (
        "import sys, corral.web.routing, corral.web.wrappers, corral.web.http.formparser;"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'flask'];"
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0
