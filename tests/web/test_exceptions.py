import pytest
from werkzeug import exceptions as wexc

from corral.web.http import exceptions as exc
from corral.web.http.response import Response


def _call(app, environ=None):
    out = {}

    def start_response(status, headers, exc_info=None):
        out["status"] = status
        out["headers"] = headers

    body = b"".join(app(environ or {"REQUEST_METHOD": "GET"}, start_response))
    return out["status"], out["headers"], body


def test_family_matches_werkzeug():
    assert sorted(exc.default_exceptions) == sorted(wexc.default_exceptions)
    for code, cls in exc.default_exceptions.items():
        theirs = wexc.default_exceptions[code]
        assert cls.__name__ == theirs.__name__
        assert cls.code == code
        assert cls().name == theirs().name
        assert cls().get_body() == theirs().get_body()
        assert cls("a <b>\nc").get_body() == theirs("a <b>\nc").get_body()


def test_not_found_body_bytes():
    status, headers, body = _call(exc.NotFound())
    assert status == "404 NOT FOUND"
    assert ("Content-Type", "text/html; charset=utf-8") in headers
    assert body.startswith(b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n")


def test_method_not_allowed_allow_header():
    e = exc.MethodNotAllowed(["GET", "POST"])
    assert ("Allow", "GET, POST") in e.get_headers()
    status, headers, _ = _call(e)
    assert status.startswith("405")
    assert dict(headers)["Allow"] == "GET, POST"


def test_range_not_satisfiable_content_range():
    e = exc.RequestedRangeNotSatisfiable(length=10)
    assert ("Content-Range", "bytes */10") in e.get_headers()


def test_unauthorized_www_authenticate_and_retry_after():
    e = exc.Unauthorized(www_authenticate='Basic realm="x"')
    assert ("WWW-Authenticate", 'Basic realm="x"') in e.get_headers()
    assert ("Retry-After", "30") in exc.TooManyRequests(retry_after=30).get_headers()


def test_bad_request_key_error():
    e = exc.BadRequestKeyError("field")
    assert isinstance(e, KeyError) and isinstance(e, exc.BadRequest)
    assert e.args == ("field",)
    assert e.code == 400
    assert "could not understand" in e.get_body()


def test_internal_server_error_original():
    original = ValueError("x")
    e = exc.InternalServerError(original_exception=original)
    assert e.original_exception is original
    assert e.code == 500


def test_abort():
    with pytest.raises(exc.NotFound):
        exc.abort(404)
    with pytest.raises(exc.BadRequest) as info:
        exc.abort(400, "custom")
    assert info.value.description == "custom"
    resp = Response("teapot", 418)
    with pytest.raises(exc.HTTPException) as info2:
        exc.abort(resp)
    assert info2.value.get_response() is resp
    with pytest.raises(LookupError):
        exc.abort(299)


def test_aborter_extra_and_str():
    class Custom(exc.HTTPException):
        code = 499
        description = "custom"

    aborter = exc.Aborter(extra={499: Custom})
    with pytest.raises(Custom):
        aborter(499)
    assert str(exc.NotFound()).startswith("404 Not Found: ")
    assert repr(exc.Forbidden()) == "<Forbidden '403: Forbidden'>"


def test_get_response_with_response():
    r = Response("x", 400)
    e = exc.BadRequest(response=r)
    assert e.get_response() is r
