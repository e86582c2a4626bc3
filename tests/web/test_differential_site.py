"""The same site under Flask and under corral.web: templates, sessions, flash,
uploads and send_file must answer alike (status, headers minus Date, body), and a
session cookie written by either must be readable by the other."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from tests.web import diffsite_corral, diffsite_flask

Result = tuple[str, list[tuple[str, str]], bytes]
# Headers whose value depends on the clock.
TIME_HEADERS = {"date", "expires"}


@pytest.fixture(scope="module")
def apps() -> dict[str, Any]:
    return {"flask": diffsite_flask.create_app(), "corral": diffsite_corral.create_app()}


def call(app: Any, path: str, cookies: dict[str, str] | None = None, **kw: Any) -> Result:
    headers = dict(kw.pop("headers", {}))
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    environ = EnvironBuilder(path=path, headers=headers, **kw).get_environ()
    captured: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured[:] = [status, response_headers]
        return lambda data: None

    body_iter = app(environ, start_response)
    try:
        body = b"".join(body_iter)
    finally:
        close = getattr(body_iter, "close", None)
        if close is not None:
            close()
    return captured[0], list(captured[1]), body


def comparable(result: Result) -> tuple[str, list[tuple[str, str]], bytes]:
    status, headers, body = result
    kept = sorted(
        (k.lower(), v) for k, v in headers
        if k.lower() not in TIME_HEADERS and k.lower() != "set-cookie"
    )
    return status, kept, body


def cookie_attributes(result: Result) -> list[list[str]]:
    """Set-Cookie headers without the (time-stamped) value and the expiry date."""
    out = []
    for k, v in result[1]:
        if k.lower() == "set-cookie":
            name, _, rest = v.partition("=")
            attrs = [a.strip() for a in rest.split(";")[1:] if not a.strip().startswith("Expires=")]
            out.append([name, *sorted(attrs)])
    return out


def session_cookie(result: Result) -> str | None:
    for k, v in result[1]:
        if k.lower() == "set-cookie" and v.startswith("session="):
            return v.split(";", 1)[0].split("=", 1)[1]
    return None


def both(apps: dict[str, Any], path: str, **kw: Any) -> tuple[Result, Result]:
    def fresh(value: Any) -> Any:
        return value() if callable(value) else value

    results = [call(apps[name], path, **{k: fresh(v) for k, v in kw.items()}) for name in ("flask", "corral")]
    return results[0], results[1]


def assert_same(apps: dict[str, Any], path: str, **kw: Any) -> Result:
    flask_rv, corral_rv = both(apps, path, **kw)
    assert comparable(corral_rv) == comparable(flask_rv), path
    assert cookie_attributes(corral_rv) == cookie_attributes(flask_rv), path
    return corral_rv


@pytest.mark.parametrize("path", ["/", "/string", "/stream", "/admin/", "/static/site.css", "/missing"])
def test_templates_and_static(apps: dict[str, Any], path: str) -> None:
    rv = assert_same(apps, path)
    assert rv[0] != "500 INTERNAL SERVER ERROR"


def test_conditional_and_ranges(apps: dict[str, Any]) -> None:
    rv = assert_same(apps, "/static/site.css")
    etag = dict(rv[1])["ETag"]
    modified = dict(rv[1])["Last-Modified"]
    assert assert_same(apps, "/static/site.css", headers={"If-None-Match": etag})[0].startswith("304")
    assert assert_same(
        apps, "/static/site.css", headers={"If-Modified-Since": modified}
    )[0].startswith("304")
    assert assert_same(apps, "/file/site.css", headers={"Range": "bytes=5-9"})[0].startswith("206")
    assert assert_same(apps, "/file/site.css", headers={"Range": "bytes=900-"})[0].startswith("416")
    assert_same(apps, "/file/../diffsite_flask.py")
    assert_same(apps, "/file-cached")


def test_send_file_download_name(apps: dict[str, Any]) -> None:
    rv = assert_same(apps, "/download")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%202024.txt" in dict(rv[1])["Content-Disposition"]


def test_login_flash_and_session(apps: dict[str, Any]) -> None:
    for remember in ("no", "yes"):
        form = {"user": "ada <lovelace>", "remember": remember}
        flask_rv, corral_rv = both(apps, "/login", method="POST", data=form)
        assert comparable(corral_rv) == comparable(flask_rv)
        assert cookie_attributes(corral_rv) == cookie_attributes(flask_rv)
        # Each framework reads its own cookie and the other's the same way.
        cookies = {"flask": session_cookie(flask_rv), "corral": session_cookie(corral_rv)}
        for writer, cookie in cookies.items():
            assert cookie is not None
            readers = [call(apps[name], "/whoami", cookies={"session": cookie}) for name in ("flask", "corral")]
            assert comparable(readers[0]) == comparable(readers[1]), writer
            assert b"Welcome, ada &lt;lovelace&gt;!" in readers[0][2]
            assert f"permanent={remember == 'yes'}".encode() in readers[0][2]


def test_tagged_session_values_cross_read(apps: dict[str, Any]) -> None:
    flask_rv, corral_rv = both(apps, "/types/set")
    assert comparable(corral_rv) == comparable(flask_rv)
    expected = None
    for cookie in (session_cookie(flask_rv), session_cookie(corral_rv)):
        for name in ("flask", "corral"):
            body = call(apps[name], "/types/get", cookies={"session": cookie or ""})[2]
            expected = expected or body
            assert body == expected, name
    assert b"Markup('<b>marked</b>')" in expected  # type: ignore[operator]
    assert b"UUID('0badcafe-0000-4000-8000-000000000001')" in expected  # type: ignore[operator]


def test_logout_deletes_cookie(apps: dict[str, Any]) -> None:
    cookie = session_cookie(call(apps["flask"], "/login", method="POST", data={"user": "x"}))
    assert_same(apps, "/logout", cookies={"session": cookie or ""})
    assert_same(apps, "/whoami", cookies={"session": "tampered.value.sig"})


def upload_data() -> dict[str, Any]:
    return {
        "title": "holiday",
        "tags": ["a", "b"],
        "photo": (io.BytesIO(b"\x89PNG" + bytes(range(256)) * 40), "beach.png", "image/png"),
        "notes": (io.BytesIO("d\u00e9j\u00e0 vu\n".encode()), "notes.txt"),
    }


@pytest.mark.parametrize(
    "kw",
    [
        {"data": upload_data},
        {"data": {"title": "plain", "tags": ["x", "y"]}},
        {
            # An empty file input, as browsers send it.
            "data": b"--b\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n",
            "content_type": "multipart/form-data; boundary=b",
        },
        {"data": lambda: {"big": (io.BytesIO(b"x" * 70_000), "big.bin")}},
    ],
    ids=["files", "urlencoded", "empty-file", "too-large"],
)
def test_uploads(apps: dict[str, Any], kw: dict[str, Callable[[], Any] | Any]) -> None:
    rv = assert_same(apps, "/upload", method="POST", **kw)
    assert not rv[0].startswith("500")


def test_malformed_multipart_is_a_client_error(apps: dict[str, Any]) -> None:
    """Werkzeug drops a truncated multipart body silently; corral answers 400."""
    kw = {
        "method": "POST",
        "data": b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
        "content_type": "multipart/form-data; boundary=x",
    }
    flask_rv, corral_rv = both(apps, "/upload", **kw)
    assert flask_rv[0] == "200 OK"
    assert corral_rv[0] == "400 BAD REQUEST"


@pytest.mark.parametrize(
    ("setting", "value", "data"),
    [
        ("MAX_FORM_PARTS", 3, {f"f{i}": "v" for i in range(5)}),
        ("MAX_FORM_MEMORY_SIZE", 100, {"text": "x" * 200, "file": (io.BytesIO(b"y" * 300), "f")}),
    ],
)
def test_form_limits(apps: dict[str, Any], setting: str, value: int, data: dict[str, Any]) -> None:
    saved = {name: app.config[setting] for name, app in apps.items()}
    try:
        for app in apps.values():
            app.config[setting] = value

        def fresh() -> dict[str, Any]:
            return {
                k: (io.BytesIO(v[0].getvalue()), v[1]) if isinstance(v, tuple) else v
                for k, v in data.items()
            }

        rv = assert_same(apps, "/upload", method="POST", data=fresh, content_type="multipart/form-data")
        assert rv[0] == "413 REQUEST ENTITY TOO LARGE"
    finally:
        for name, app in apps.items():
            app.config[setting] = saved[name]
