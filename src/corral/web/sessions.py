"""Client-side sessions: a dict signed into a cookie.

The cookie format is Flask's: itsdangerous ``URLSafeTimedSerializer`` with salt
``cookie-session``, HMAC-SHA1 with ``hmac`` key derivation and tagged JSON, so a
cookie written by one framework is readable by the other for the same secret key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, NoReturn

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes

from .http.datastructures.structures import CallbackDict
from .json.tag import TaggedJSONSerializer

#: The serializer of the stock cookie session (tagged JSON: tuples, bytes, Markup,
#: UUIDs and datetimes round-trip); Flask's module-level name for it.
session_json_serializer = TaggedJSONSerializer()

NO_SECRET_KEY_MESSAGE = (
    "The session is unavailable because no secret key was set. Set the"
    " secret_key on the application to something unique and secret."
)


class SessionMixin(MutableMapping):
    """What every session object offers on top of a mutable mapping."""

    #: Whether this session was just created (not read from the client).
    new = False
    #: Whether the session changed; a non-tracking session always says yes.
    modified = True
    #: Whether the session was read; adds ``Vary: Cookie`` to the response.
    accessed = True

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session (``_permanent`` key)."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)


def _mark_modified(session: SecureCookieSession) -> None:
    session.modified = True
    session.accessed = True


class SecureCookieSession(CallbackDict, SessionMixin):
    """The session dict: tracks reads (``accessed``) and writes (``modified``)."""

    modified = False
    accessed = False

    def __init__(self, initial: Any = None) -> None:
        super().__init__(initial, _mark_modified)
        self.modified = False
        self.accessed = False

    def __getitem__(self, key: Any) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        """``dict.get`` that marks the session as accessed (so the response varies on Cookie)."""
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """``dict.setdefault`` that marks the session as accessed (and modified when it sets)."""
        self.accessed = True
        return super().setdefault(key, default)


class NullSession(SecureCookieSession):
    """The session used without a secret key: readable (empty), never writable."""

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refuse the change: a session needs the app's ``secret_key`` to be written."""
        raise RuntimeError(NO_SECRET_KEY_MESSAGE)

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


def add_vary(response: Any, value: str) -> None:
    """Add ``value`` to the response's ``Vary`` header unless already listed."""
    vary = getattr(response, "vary", None)
    if vary is not None and hasattr(vary, "add"):
        vary.add(value)
        return
    headers = response.headers
    current = headers.get("Vary", "")
    items = [v.strip() for v in current.split(",") if v.strip()]
    if value.lower() not in (v.lower() for v in items):
        items.append(value)
        headers["Vary"] = ", ".join(items)


class SessionInterface:
    """Opens and saves sessions for an app; subclass and set ``app.session_interface``.

    ``open_session`` returns a session object or ``None`` (then a
    :class:`NullSession` is used); ``save_session`` writes it into the response.
    """

    null_session_class: ClassVar[type] = NullSession
    pickle_based = False

    def make_null_session(self, app: Any) -> NullSession:
        """The session used when none can be opened (no secret key): empty, and raising on any write."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Whether ``obj`` is a null session (nothing to save)."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: Any) -> str:
        """The session cookie's name (``SESSION_COOKIE_NAME``)."""
        return app.config["SESSION_COOKIE_NAME"]

    def get_cookie_domain(self, app: Any) -> str | None:
        """The session cookie's Domain (``SESSION_COOKIE_DOMAIN``; None: the current host only)."""
        return app.config["SESSION_COOKIE_DOMAIN"] or None

    def get_cookie_path(self, app: Any) -> str:
        """The session cookie's Path (``SESSION_COOKIE_PATH``, else ``APPLICATION_ROOT``)."""
        return app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]

    def get_cookie_httponly(self, app: Any) -> bool:
        """Whether the cookie is HttpOnly (``SESSION_COOKIE_HTTPONLY``)."""
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: Any) -> bool:
        """Whether the cookie is sent over HTTPS only (``SESSION_COOKIE_SECURE``)."""
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_samesite(self, app: Any) -> str | None:
        """The cookie's SameSite value (``SESSION_COOKIE_SAMESITE``)."""
        return app.config["SESSION_COOKIE_SAMESITE"]

    def get_cookie_partitioned(self, app: Any) -> bool:
        """Whether the cookie is Partitioned (``SESSION_COOKIE_PARTITIONED``)."""
        return bool(app.config.get("SESSION_COOKIE_PARTITIONED", False))

    def get_expiration_time(self, app: Any, session: SessionMixin) -> datetime | None:
        """When the cookie expires: now plus ``PERMANENT_SESSION_LIFETIME`` for a permanent session, else None (a browser-session cookie)."""
        if not session.permanent:
            return None
        return datetime.now(timezone.utc) + _lifetime(app)

    def should_set_cookie(self, app: Any, session: SessionMixin) -> bool:
        """Whether to send the cookie: when the session was modified, or it is permanent and ``SESSION_REFRESH_EACH_REQUEST`` is set."""
        return session.modified or (
            session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])
        )

    def open_session(self, app: Any, request: Any) -> SessionMixin | None:
        """Load the session of a request; called the first time the request uses it.

        :param app: the app.
        :param request: the request.
        :return: a session object, or None for a null session.
        """
        raise NotImplementedError

    def save_session(self, app: Any, session: SessionMixin, response: Any) -> None:
        """Write the session into the response (a cookie, or a store plus a
        cookie); called after the request's after-request functions.

        :param app: the app.
        :param session: the session of the request.
        :param response: the response to add the cookie to.
        """
        raise NotImplementedError


def _lifetime(app: Any) -> timedelta:
    value = app.config["PERMANENT_SESSION_LIFETIME"]
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


#: signing serializers by (keys, salt, serializer, key derivation, digest method),
#: and keys derived from a secret by (secret, salt, key derivation, digest method)
_SERIALIZERS: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}
_DERIVED: dict[tuple[Any, ...], bytes] = {}
_KEPT_MAX = 64


def _kept(table: dict[tuple[Any, ...], Any], choice: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """``table[choice]``, made by ``make()`` the first time (the table bounded by
    ``_KEPT_MAX``); made each time when ``choice`` cannot be hashed."""
    try:
        value = table.get(choice)
    except TypeError:
        return make()
    if value is None:
        value = make()
        if len(table) >= _KEPT_MAX:
            table.clear()
        table[choice] = value
    return value


class _SessionSigner(TimestampSigner):
    """itsdangerous's timestamp signer, keeping the keys it derives: deriving one
    is a keyed hash of the salt, the same on every request."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        choice = (secret, self.salt, self.key_derivation, self.digest_method)
        key: bytes = _kept(_DERIVED, choice, lambda: super(_SessionSigner, self).derive_key(secret))
        return key


class SecureCookieSessionInterface(SessionInterface):
    """The default: the whole session, signed (not encrypted), in one cookie."""

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = session_json_serializer
    session_class: ClassVar[type[SecureCookieSession]] = SecureCookieSession

    def get_signing_serializer(self, app: Any) -> URLSafeTimedSerializer | None:
        # the attribute, not the config key: a subclass may set ``secret_key`` itself
        """The itsdangerous serializer that signs the cookie with the app's secret key (and fallback keys); None without a secret key."""
        secret = getattr(app, "secret_key", None)
        if not secret:
            return None
        # itsdangerous signs with the last key and accepts any of them.
        keys: list[str | bytes] = list(app.config.get("SECRET_KEY_FALLBACKS") or ())
        keys.append(secret)
        # A serializer holds nothing that changes between requests, and making one
        # costs about a fifth of opening a session (itsdangerous tries the
        # serializer's dumps to learn whether it writes text): one is kept per set
        # of keys and signing options.
        choice = (tuple(keys), self.salt, self.serializer, self.key_derivation, self.digest_method)
        made: URLSafeTimedSerializer = _kept(_SERIALIZERS, choice, lambda: URLSafeTimedSerializer(
            keys,  # type: ignore[arg-type]
            salt=self.salt,
            serializer=self.serializer,
            signer=_SessionSigner,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        ))
        return made

    def open_session(self, app: Any, request: Any) -> SecureCookieSession | None:
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(_lifetime(app).total_seconds())
        try:
            data = signer.loads(value, max_age=max_age)
        except BadSignature:
            return self.session_class()
        except Exception:
            # A validly signed but undecodable payload is treated as tampering too.
            return self.session_class()
        return self.session_class(data if isinstance(data, dict) else None)

    def save_session(self, app: Any, session: SessionMixin, response: Any) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)

        if session.accessed:
            add_vary(response, "Cookie")

        if not session:
            if session.modified:
                response.delete_cookie(
                    name, domain=domain, path=path, secure=secure,
                    partitioned=partitioned, samesite=samesite, httponly=httponly,
                )
                add_vary(response, "Cookie")
            return

        if not self.should_set_cookie(app, session):
            return
        signer = self.get_signing_serializer(app)
        if signer is None:
            return
        response.set_cookie(
            name,
            signer.dumps(dict(session)),
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            partitioned=partitioned,
            samesite=samesite,
        )
        add_vary(response, "Cookie")
