from datetime import datetime, timedelta, timezone

import pytest
from werkzeug import http as wz

from corral.web.http import parsing as http


@pytest.mark.parametrize(
    "value",
    [
        "text/html; charset=utf-8",
        'form-data; name="f"; filename="a b.txt"',
        "multipart/form-data; boundary=----x",
        "attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
        "text/plain",
        "",
    ],
)
def test_parse_options_header_matches_werkzeug(value):
    assert http.parse_options_header(value) == wz.parse_options_header(value)


@pytest.mark.parametrize(
    "header",
    ['a=b; c="d e"; f=', "a=1; a=2", 'x="\\"q\\""', "bad; k=v", ""],
)
def test_parse_cookie_matches_werkzeug(header):
    ours = http.parse_cookie(header)
    theirs = wz.parse_cookie(header)
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))


@pytest.mark.parametrize(
    ("key", "value", "kwargs"),
    [
        ("session", "abc", {}),
        ("s", "with space;comma,", {"httponly": True, "secure": True}),
        ("s", "v", {"max_age": 60, "expires": 0, "path": "/x", "domain": ".example.com"}),
        ("s", "v", {"samesite": "lax", "partitioned": True}),
        ("s", "é", {"path": None}),
    ],
)
def test_dump_cookie_matches_werkzeug(key, value, kwargs):
    assert http.dump_cookie(key, value, **kwargs) == wz.dump_cookie(key, value, **kwargs)


def test_dump_cookie_max_age_sets_expires():
    cookie = http.dump_cookie("a", "b", max_age=timedelta(seconds=10))
    assert "Max-Age=10" in cookie and "Expires=" in cookie
    with pytest.raises(ValueError):
        http.dump_cookie("a", "b", samesite="bogus")


def test_dates():
    dt = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert http.http_date(dt) == "Tue, 02 Jan 2024 03:04:05 GMT"
    assert http.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http.http_date(dt) == wz.http_date(dt)
    assert http.parse_date("Tue, 02 Jan 2024 03:04:05 GMT") == dt
    assert http.parse_date("garbage") is None
    assert http.parse_date(None) is None


def test_etags():
    assert http.quote_etag("abc") == '"abc"'
    assert http.quote_etag("abc", weak=True) == 'W/"abc"'
    assert http.unquote_etag('W/"abc"') == ("abc", True)
    assert http.unquote_etag('"abc"') == ("abc", False)
    tags = http.parse_etags('"a", W/"b"')
    assert tags.contains("a") and not tags.contains("b") and tags.contains_weak("b")
    assert http.parse_etags("*").contains("anything")
    assert http.generate_etag(b"x") == wz.generate_etag(b"x")


@pytest.mark.parametrize(
    "value", ["bytes=0-99", "bytes=100-", "bytes=-50", "bytes=0-1,5-6", "bytes=5-1", "items=0-1", "junk"]
)
def test_parse_range_header_matches_werkzeug(value):
    ours = http.parse_range_header(value)
    theirs = wz.parse_range_header(value)
    if theirs is None:
        assert ours is None
    else:
        assert ours is not None
        assert (ours.units, ours.ranges) == (theirs.units, theirs.ranges)
        assert ours.range_for_length(1000) == theirs.range_for_length(1000)


def test_is_resource_modified():
    lm = datetime(2024, 1, 1, tzinfo=timezone.utc)
    env = {"REQUEST_METHOD": "GET", "HTTP_IF_NONE_MATCH": '"abc"'}
    assert not http.is_resource_modified(env, etag='"abc"')
    assert http.is_resource_modified(env, etag='"other"')
    env = {"REQUEST_METHOD": "GET", "HTTP_IF_MODIFIED_SINCE": http.http_date(lm)}
    assert not http.is_resource_modified(env, last_modified=lm)
    assert http.is_resource_modified(env, last_modified=lm + timedelta(seconds=5))


def test_status_codes_and_url_helpers():
    assert http.HTTP_STATUS_CODES == wz.HTTP_STATUS_CODES
    assert http.url_encode({"a": [1, 2], "b": "x y", "c": None}) == "a=1&a=2&b=x+y"
    assert http.url_quote("/a b/é") == "/a%20b/%C3%A9"
    assert http.parse_list_header('a, "b, c", d') == ["a", "b, c", "d"]
    assert http.parse_dict_header('a=1, b="x y", c') == {"a": "1", "b": "x y", "c": None}


@pytest.mark.parametrize(
    ("header", "options"),
    [
        ("attachment", {"filename": "a b.txt", "filename*": "UTF-8''%E2%82%AC"}),
        ("x", {"a": True, "b": None, "c": ""}),
        (None, {"a": "1"}),
        ("text/html", {"charset": "utf-8"}),
    ],
)
def test_dump_options_header_matches_werkzeug(header, options):
    assert http.dump_options_header(header, options) == wz.dump_options_header(header, options)


def test_headers_add_params_use_dashes():
    from corral.web.http.datastructures import Headers

    h = Headers()
    h.add("X-Thing", "v", some_key="1")
    assert h["x-thing"] == "v; some-key=1"


def test_uri_iri_round_trip_matches_werkzeug():
    from werkzeug.urls import iri_to_uri, uri_to_iri

    for uri in ["http://x/p%C3%A5th%20a?q=%C3%A8ry%DF&b=%26", "http://x/a/b", "/rel?x=%2F"]:
        assert http.uri_to_iri(uri) == uri_to_iri(uri)
    for iri in ["http://x/påth a?q=è<>", "/plain", "/a?b=<c>"]:
        assert http.iri_to_uri(iri) == iri_to_uri(iri)
