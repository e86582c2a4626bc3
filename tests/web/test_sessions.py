"""The signed-cookie session: format (shared with Flask), lifetime, cookie settings."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import flask
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from markupsafe import Markup

from corral.web import App, flash, get_flashed_messages, session
from corral.web.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
)

SECRET = "shared secret"

SAMPLE: dict[str, Any] = {
    "tuple": (1, "two", [3]),
    "bytes": b"\x00\xffraw",
    "markup": Markup("<b>bold</b>"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "when": datetime(2024, 2, 29, 12, 30, 15, tzinfo=timezone.utc),
    "tagged_key": {" t": "not a tuple"},
    "nested": {"list": [{" di": 1}, (b"x",)]},
}


def make_app(**config: Any) -> App:
    app = App(__name__)
    app.config.update(SECRET_KEY=SECRET, **config)

    @app.route("/set")
    def set_value() -> str:
        session["value"] = "42"
        return ""

    @app.route("/get")
    def get_value() -> str:
        return repr(session.get("value"))

    @app.route("/perm")
    def perm() -> str:
        session.permanent = True
        session["p"] = 1
        return ""

    @app.route("/clear")
    def clear() -> str:
        session.clear()
        return ""

    @app.route("/untouched")
    def untouched() -> str:
        return "x"

    return app


def flask_signer(**config: Any) -> URLSafeTimedSerializer:
    fapp = flask.Flask(__name__)
    fapp.config.update(SECRET_KEY=SECRET, **config)
    signer = fapp.session_interface.get_signing_serializer(fapp)  # type: ignore[attr-defined]
    assert signer is not None
    return signer


def set_cookie_headers(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_roundtrip_and_vary() -> None:
    client = make_app().test_client()
    rv = client.get("/set")
    assert "Cookie" in rv.headers["Vary"]
    [cookie] = set_cookie_headers(rv)
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "Path=/" in cookie
    assert "Expires" not in cookie
    assert client.get("/get").data == b"'42'"


def test_untouched_session_sets_nothing() -> None:
    client = make_app().test_client()
    client.get("/set")
    rv = client.get("/untouched")
    assert "Vary" not in rv.headers
    assert set_cookie_headers(rv) == []


def test_cookie_written_here_is_read_by_flask() -> None:
    app = make_app()

    @app.route("/sample")
    def sample() -> str:
        session.update(SAMPLE)
        return ""

    client = app.test_client()
    client.get("/sample")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert flask_signer().loads(cookie.value) == SAMPLE


def test_cookie_written_by_flask_is_read_here() -> None:
    fapp = flask.Flask(__name__)
    fapp.secret_key = SECRET
    with fapp.app_context():
        value = flask_signer().dumps(SAMPLE)

    app = make_app()
    seen: dict[str, Any] = {}

    @app.route("/read")
    def read() -> str:
        seen.update(session)
        return ""

    client = app.test_client()
    client.set_cookie("session", value)
    client.get("/read")
    assert seen == SAMPLE


def test_secret_key_fallbacks() -> None:
    old = make_app()
    old.secret_key = "old key"
    old_client = old.test_client()
    old_client.get("/set")
    cookie = old_client.get_cookie("session")
    assert cookie is not None

    app = make_app(SECRET_KEY_FALLBACKS=["old key"])
    client = app.test_client()
    client.set_cookie("session", cookie.value)
    assert client.get("/get").data == b"'42'"
    # New cookies are signed with the current key.
    client.get("/set")
    new_cookie = client.get_cookie("session")
    assert new_cookie is not None
    assert flask_signer().loads(new_cookie.value)["value"] == "42"

    no_fallback = make_app().test_client()
    no_fallback.set_cookie("session", cookie.value)
    assert no_fallback.get("/get").data == b"None"


def test_signing_follows_the_key_and_options_of_the_moment() -> None:
    """Serializers and derived keys are kept between requests: changing the
    secret key, its fallbacks or the interface's salt takes effect at once."""
    app = make_app()
    client = app.test_client()
    client.get("/set")
    cookie = client.get_cookie("session")
    assert cookie is not None and client.get("/get").data == b"'42'"

    app.secret_key = "rotated"
    assert client.get("/get").data == b"None"  # the old cookie no longer verifies
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    client.set_cookie("session", cookie.value)
    assert client.get("/get").data == b"'42'"

    class Salted(SecureCookieSessionInterface):
        salt = "another salt"

    app.session_interface = Salted()
    client.set_cookie("session", cookie.value)
    assert client.get("/get").data == b"None"
    client.get("/set")
    salted = client.get_cookie("session")
    assert salted is not None
    signer = URLSafeTimedSerializer("rotated", salt="another salt", signer=TimestampSigner,
                                    serializer=app.session_interface.serializer,
                                    signer_kwargs={"key_derivation": "hmac"})
    assert signer.loads(salted.value) == {"value": "42"}


def test_tampered_cookie_gives_empty_session() -> None:
    client = make_app().test_client()
    client.get("/set")
    cookie = client.get_cookie("session")
    assert cookie is not None
    # one character of the signature changed (not its last: the low bits of a
    # base64 text's last character may be ignored when it is decoded)
    value = cookie.value
    changed = value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:]
    for bad in (changed, "garbage", "a.b.c", "\u00e9"):
        client.set_cookie("session", bad)
        rv = client.get("/get")
        assert rv.status_code == 200
        assert rv.data == b"None"


def test_expired_cookie_gives_empty_session() -> None:
    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3600

    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(minutes=5))
    signer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert signer is not None
    old = URLSafeTimedSerializer(
        [SECRET], salt="cookie-session", serializer=signer.serializer,
        signer=PastSigner, signer_kwargs=signer.signer_kwargs,
    ).dumps({"value": "stale"})
    fresh = signer.dumps({"value": "fresh"})
    client = app.test_client()
    client.set_cookie("session", old)
    assert client.get("/get").data == b"None"
    client.set_cookie("session", fresh)
    assert client.get("/get").data == b"'fresh'"


def test_permanent_session_expires_and_refreshes() -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(hours=2))
    client = app.test_client()
    before = datetime.now(timezone.utc)
    [cookie] = set_cookie_headers(client.get("/perm"))
    expires = cookie.split("Expires=")[1].split(";")[0]
    from email.utils import parsedate_to_datetime

    delta = parsedate_to_datetime(expires) - before
    assert timedelta(hours=1, minutes=59) < delta <= timedelta(hours=2, seconds=2)
    # SESSION_REFRESH_EACH_REQUEST: a permanent session is re-sent on every request.
    assert len(set_cookie_headers(client.get("/get"))) == 1

    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    assert set_cookie_headers(client.get("/get")) == []


def test_cookie_settings() -> None:
    app = make_app(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
    )
    [cookie] = set_cookie_headers(app.test_client().get("/set"))
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0].startswith("sid=")
    lowered = {p.lower() for p in parts[1:]}
    assert "domain=example.com" in lowered or "domain=.example.com" in lowered
    assert {"path=/app", "secure", "samesite=lax", "partitioned"} <= lowered
    assert "httponly" not in lowered


def test_application_root_is_default_path() -> None:
    app = make_app(APPLICATION_ROOT="/root")
    [cookie] = set_cookie_headers(app.test_client().get("/set"))
    assert "Path=/root" in cookie


def test_clear_deletes_cookie() -> None:
    client = make_app().test_client()
    client.get("/set")
    [cookie] = set_cookie_headers(client.get("/clear"))
    assert cookie.startswith("session=;") or cookie.startswith('session="";')
    assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in cookie or "Max-Age=0" in cookie
    assert client.get_cookie("session") is None


def test_no_secret_key() -> None:
    app = make_app()
    app.secret_key = None
    app.testing = True
    client = app.test_client()
    assert client.get("/get").data == b"None"
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/set")


def test_session_objects() -> None:
    s = SecureCookieSession({"a": 1})
    assert not s.modified and not s.accessed
    assert s["a"] == 1 and s.accessed and not s.modified
    s["b"] = 2
    assert s.modified
    assert not s.permanent
    s.permanent = True
    assert s["_permanent"] is True
    null = NullSession()
    assert null.get("x") is None
    for op in (lambda: null.__setitem__("a", 1), null.clear, lambda: null.pop("a")):
        with pytest.raises(RuntimeError, match="secret key"):
            op()


def test_custom_session_interface() -> None:
    store: dict[str, dict[str, Any]] = {}

    class ServerSide(SessionInterface):
        def open_session(self, app: Any, request: Any) -> SecureCookieSession:
            sid = request.cookies.get("sid", "new")
            return SecureCookieSession(store.get(sid, {}))

        def save_session(self, app: Any, session: Any, response: Any) -> None:
            store["s1"] = dict(session)
            response.set_cookie("sid", "s1")

    app = make_app()
    app.session_interface = ServerSide()
    client = app.test_client()
    client.get("/set")
    assert store == {"s1": {"value": "42"}}
    assert client.get("/get").data == b"'42'"


def test_flash_categories_and_filter() -> None:
    app = make_app()

    @app.route("/flash")
    def add() -> str:
        flash("plain")
        flash("bad", "error")
        flash(Markup("<i>warn</i>"), "warning")
        return ""

    @app.route("/show")
    def show() -> str:
        return repr(get_flashed_messages(with_categories=True))

    @app.route("/errors")
    def errors() -> str:
        first = get_flashed_messages(category_filter=["error", "warning"])
        return repr((first, get_flashed_messages()))

    client = app.test_client()
    client.get("/flash")
    assert client.get("/show").data.decode() == repr(
        [("message", "plain"), ("error", "bad"), ("warning", Markup("<i>warn</i>"))]
    )
    assert client.get("/show").data == b"[]"
    client.get("/flash")
    first, rest = eval(client.get("/errors").data.decode(), {"Markup": Markup})
    assert first == ["bad", Markup("<i>warn</i>")]
    assert rest == ["plain", "bad", Markup("<i>warn</i>")]


def test_flask_flash_cookie_is_read_here() -> None:
    fapp = flask.Flask(__name__)
    fapp.secret_key = SECRET

    @fapp.route("/f")
    def f() -> str:
        flask.flash("from flask", "info")
        return ""

    fclient = fapp.test_client()
    fclient.get("/f")
    cookie = fclient.get_cookie("session")
    assert cookie is not None

    app = make_app()

    @app.route("/show")
    def show() -> str:
        return repr(get_flashed_messages(with_categories=True))

    client = app.test_client()
    client.set_cookie("session", cookie.value)
    assert client.get("/show").data == b"[('info', 'from flask')]"
