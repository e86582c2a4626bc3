"""Request and Response header attributes compared with Werkzeug's on the same input."""

from __future__ import annotations

from typing import Any

import pytest
import werkzeug.datastructures as wds
from werkzeug.test import EnvironBuilder as WEnvironBuilder
from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response as WResponse

from corral.web.http.datastructures.header_values import (
    COEP,
    COOP,
    ContentSecurityPolicy,
    WWWAuthenticate,
)
from corral.web.http.request import Request
from corral.web.http.response import Response

REQUEST_HEADERS = [
    {},
    {"Origin": "https://a.example", "Access-Control-Request-Method": "PUT",
     "Access-Control-Request-Headers": "X-One, x-two"},
    {"Cache-Control": "no-cache, max-age=10, no-store", "Pragma": "no-cache",
     "Max-Forwards": "3", "Date": "Wed, 21 Oct 2015 07:28:00 GMT", "Content-MD5": "abc"},
    {"If-Range": '"etag-1"', "Max-Forwards": "x"},
    {"If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"},
]  # fmt: skip


def _text(value: Any) -> Any:
    if value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "to_header"):
        return value.to_header()
    return str(value)


@pytest.mark.parametrize("headers", REQUEST_HEADERS)
def test_request_attributes_match_werkzeug(headers: dict[str, str]) -> None:
    environ = WEnvironBuilder("/", headers=headers).get_environ()
    theirs, ours = WRequest(dict(environ)), Request(dict(environ))
    for name in ("origin", "access_control_request_method", "access_control_request_headers",
                 "cache_control", "pragma", "max_forwards", "date", "content_md5", "if_range"):
        assert _text(getattr(ours, name)) == _text(getattr(theirs, name)), name
    assert ours.if_range.date == theirs.if_range.date
    assert ours.if_range.etag == theirs.if_range.etag
    assert ours.cache_control.max_age == theirs.cache_control.max_age
    assert ours.cache_control.no_store == theirs.cache_control.no_store
    assert ours.want_form_data_parsed == theirs.want_form_data_parsed
    assert ours.root_path == theirs.root_path and ours.server == theirs.server


def test_from_values_and_application() -> None:
    req = Request.from_values("/p?a=1", method="POST", data={"f": "v"}, headers={"X": "y"})
    assert (req.path, req.args["a"], req.form["f"], req.headers["X"]) == ("/p", "1", "v", "y")
    assert Request.from_values(json={"k": 1}).get_json() == {"k": 1}
    # positional arguments in Werkzeug's order: path, base_url, query_string, method
    for cls in (Request, WRequest):
        positional = cls.from_values("/p", "http://x.test/", {"a": "1"}, "PUT")
        assert (positional.url, positional.method) == ("http://x.test/p?a=1", "PUT")

    @Request.application
    def app(request: Request) -> Response:
        if request.args.get("fail"):
            from corral.web.http.exceptions import NotFound

            raise NotFound()
        return Response(f"hi {request.args['n']}")

    seen: list[str] = []
    body = app(WEnvironBuilder("/?n=x").get_environ(), lambda s, h, e=None: seen.append(s))
    assert b"".join(body) == b"hi x" and seen == ["200 OK"]
    app(WEnvironBuilder("/?fail=1").get_environ(), lambda s, h, e=None: seen.append(s))
    assert seen[-1] == "404 NOT FOUND"


def test_form_data_parser_class_is_used() -> None:
    from corral.web.http.form_data_parser import FormDataParser

    calls: list[str] = []

    class Parser(FormDataParser):
        def parse(self, stream: Any, mimetype: str, content_length: Any, options: Any = None) -> Any:
            calls.append(mimetype)
            return super().parse(stream, mimetype, content_length, options)

    class MyRequest(Request):
        form_data_parser_class = Parser

    req = MyRequest.from_values(method="POST", data={"a": "1"})
    assert req.form["a"] == "1" and calls == ["application/x-www-form-urlencoded"]


def test_response_cors_and_policy_headers_match_werkzeug() -> None:
    from werkzeug.http import COEP as WCOEP
    from werkzeug.http import COOP as WCOOP

    pairs = (WResponse(), Response())
    for r, coop, coep in zip(pairs, (WCOOP, COOP), (WCOEP, COEP), strict=True):
        r.access_control_allow_credentials = True
        r.access_control_allow_origin = "*"
        r.access_control_allow_methods = ["GET", "POST"]
        r.access_control_allow_headers = ["X-A"]
        r.access_control_expose_headers = ["X-B", "X-C"]
        r.access_control_max_age = 600
        r.content_md5 = "sum"
        r.cross_origin_opener_policy = coop.SAME_ORIGIN
        r.cross_origin_embedder_policy = coep.REQUIRE_CORP
    theirs, ours = pairs
    for name in ("Access-Control-Allow-Credentials", "Access-Control-Allow-Origin",
                 "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                 "Access-Control-Expose-Headers", "Access-Control-Max-Age", "Content-MD5",
                 "Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy"):
        assert ours.headers.get(name) == theirs.headers.get(name), name
    assert ours.access_control_max_age == 600 and ours.access_control_allow_credentials
    assert "x-b" in ours.access_control_expose_headers  # type: ignore[operator]
    assert ours.cross_origin_opener_policy is COOP.SAME_ORIGIN
    assert ours.cross_origin_embedder_policy is COEP.REQUIRE_CORP
    assert Response().cross_origin_opener_policy is COOP.UNSAFE_NONE
    assert Response().access_control_allow_methods is None
    ours.access_control_allow_credentials = False
    assert "Access-Control-Allow-Credentials" not in ours.headers


def test_content_security_policy_writes_through() -> None:
    theirs, ours = WResponse(), Response()
    for r in (theirs, ours):
        r.content_security_policy.default_src = "'self'"
        r.content_security_policy["img-src"] = "*"
        r.content_security_policy_report_only = "script-src 'none'"
    assert ours.headers["Content-Security-Policy"] == theirs.headers["Content-Security-Policy"]
    assert (ours.headers["Content-Security-Policy-Report-Only"]
            == theirs.headers["Content-Security-Policy-Report-Only"])
    assert ours.content_security_policy.img_src == "*"
    ours.content_security_policy = None
    assert "Content-Security-Policy" not in ours.headers
    assert ContentSecurityPolicy.from_header("a b; c d") == {"a": "b", "c": "d"}


@pytest.mark.parametrize(
    "make",
    [
        lambda mod: mod("basic", {"realm": "Login Required"}),
        lambda mod: mod("bearer", None, "tok123"),
        lambda mod: mod("digest", {"realm": "r", "nonce": "n1", "qop": "auth", "algorithm": "MD5"}),
    ],
)
def test_www_authenticate_matches_werkzeug(make: Any) -> None:
    theirs, ours = WResponse(), Response()
    theirs.www_authenticate = make(wds.WWWAuthenticate)
    ours.www_authenticate = make(WWWAuthenticate)
    assert ours.headers["WWW-Authenticate"] == theirs.headers["WWW-Authenticate"]
    theirs.www_authenticate.realm = "changed"
    ours.www_authenticate.realm = "changed"
    assert ours.headers["WWW-Authenticate"] == theirs.headers["WWW-Authenticate"]


def test_www_authenticate_list_and_delete() -> None:
    r = Response()
    assert r.www_authenticate.type == "basic" and "WWW-Authenticate" not in r.headers
    r.www_authenticate = [WWWAuthenticate("basic", {"realm": "a"}), WWWAuthenticate("bearer")]
    assert r.headers.getlist("WWW-Authenticate") == ['Basic realm=a', "Bearer"]
    del r.www_authenticate
    assert "WWW-Authenticate" not in r.headers


def test_response_stream_appends() -> None:
    theirs, ours = WResponse("a"), Response("a")
    for r in (theirs, ours):
        r.stream.write(b"bc")
        r.stream.writelines([b"d"])
    assert ours.get_data() == theirs.get_data() == b"abcd"
    assert ours.stream.tell() == 4 and ours.stream.encoding == "utf-8"


def test_big_cookie_warns() -> None:
    r = Response()
    with pytest.warns(UserWarning, match="'big' cookie is too large.*4093"):
        r.set_cookie("big", "v" * 5000)
    r.set_cookie("small", "v")  # no warning (warnings are errors here)
