"""Test helpers: a test client with a cookie jar, a CLI runner (and the environ builder)."""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from click.testing import CliRunner as _ClickCliRunner
from click.testing import Result

from .cli import ScriptInfo
from .http.environ_builder import EnvironBuilder as _EnvironBuilder
from .http.environ_builder import encode_multipart
from .http.parsing import dump_cookie, parse_cookie, parse_date
from .http.request import Request as _BaseRequest

if TYPE_CHECKING:
    from .app import App
    from .http.response import Response


def _default_user_agent() -> str:
    """What Flask's test client sends (``Werkzeug/<version>``) when Werkzeug is
    installed, so tests that check it pass unchanged; else corral's own."""
    try:
        return f"Werkzeug/{version('werkzeug')}"
    except PackageNotFoundError:
        return "corral.web/0.1"


_USER_AGENT = _default_user_agent()
_REDIRECT_CODES = frozenset({301, 302, 303, 305, 307, 308})


class EnvironBuilder(_EnvironBuilder):
    """Build a WSGI environ from test arguments (path, base_url, query_string,
    method, headers, data, json...), and a request for it: with an app, the app's
    URL settings and JSON provider apply and requests are of its request class."""

    request_class: type[Any] = _BaseRequest

    def get_request(self, cls: type[Any] | None = None) -> Any:
        """A request object (``request_class`` unless ``cls``) for the built environ."""
        return (cls or self.request_class)(self.get_environ())


class ClientRedirectError(Exception):
    """A redirect loop while following redirects."""


class Cookie:
    """One cookie in the test client's jar: ``value`` as the client sends it
    (quotes and escapes kept), ``decoded_value`` as the app set it."""

    def __init__(self, key: str, value: str, domain: str, path: str, origin_only: bool,
                 expires: datetime | None = None, secure: bool = False, http_only: bool = False,
                 same_site: str | None = None, decoded_key: str | None = None,
                 decoded_value: str | None = None, max_age: int | None = None) -> None:
        self.key, self.value, self.domain, self.path = key, value, domain, path
        self.origin_only, self.expires, self.max_age = origin_only, expires, max_age
        self.secure, self.http_only, self.same_site = secure, http_only, same_site
        self.decoded_key = key if decoded_key is None else decoded_key
        self.decoded_value = value if decoded_value is None else decoded_value

    def matches(self, host: str, path: str) -> bool:
        """Whether the cookie is to be sent to ``host`` and ``path`` (its domain and path rules)."""
        domain = self.domain
        host_ok = host == domain or (
            not self.origin_only and host.endswith(domain) and host[: -len(domain)].endswith(".")
        )
        cpath = self.path
        path_ok = path == cpath or (
            path.startswith(cpath) and path[len(cpath) - cpath.endswith("/"):].startswith("/")
        )
        return host_ok and path_ok

    @property
    def should_delete(self) -> bool:
        """Set with ``Max-Age=0`` or expiring at the epoch (how a delete is sent)."""
        return self.max_age == 0 or (self.expires is not None and self.expires.timestamp() == 0)

    def __repr__(self) -> str:
        return f"<Cookie {self.key}={self.value!r} domain={self.domain} path={self.path}>"


def parse_set_cookie(header: str, host: str, path: str) -> Cookie:
    """The cookie a Set-Cookie header received for host/path puts in the jar."""
    first, _, attr_text = header.partition(";")
    key, _, value = first.partition("=")
    decoded = next(iter(parse_cookie(first).items()), (key.strip(" \t"), value.strip(" \t")))
    params: dict[str, str | None] = {}
    for item in attr_text.split(";"):
        name, sep, arg = item.partition("=")
        params[name.strip(" \t").lower()] = arg.strip(" \t") if sep else None
    max_age = params.get("max-age")
    return Cookie(
        key.strip(" \t"), value.strip(" \t"),
        domain=params.get("domain") or host,
        path=params.get("path") or path.rpartition("/")[0] or "/",
        origin_only="domain" not in params,
        expires=parse_date(params.get("expires")),
        max_age=int(max_age or 0) if "max-age" in params else None,
        secure="secure" in params, http_only="httponly" in params,
        same_site=params.get("samesite"), decoded_key=decoded[0], decoded_value=decoded[1],
    )  # fmt: skip


def _request_host_path(environ: dict[str, Any]) -> tuple[str, str]:
    """(host name, quoted script root + path) of the URL an environ asks for."""
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "localhost"
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    else:
        host = host.partition(":")[0]
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    path = quote(raw.encode("latin-1").decode("utf-8", "replace"), safe="/%:@!$&'()*+,;=")
    return host.lower() or "localhost", path or "/"


class TestResponseMixin:
    """Extra attributes of responses returned by the test client."""

    request: Any
    history: tuple[Any, ...] = ()

    if TYPE_CHECKING:  # a Response's, with which the mixin is always combined
        def get_data(self, as_text: bool = False) -> Any: ...

    @property
    def text(self) -> str:
        """The response body decoded as text."""
        text: str = self.get_data(as_text=True)
        return text


def _response_class(base: type[Response]) -> type[Any]:
    cache: dict[type, type] = _response_class.__dict__.setdefault("cache", {})
    cls = cache.get(base)
    if cls is None:
        cls = cache[base] = type("TestResponse", (TestResponseMixin, base), {"__test__": False})
    return cls


class TestClient:
    """Drive an app in-process: ``client.get("/")``, ``client.post(..., data=...)``."""

    __test__ = False
    #: follow a redirect to a subdomain of the request's host (other hosts never)
    allow_subdomain_redirects = False

    def __init__(self, application: App, response_wrapper: type[Response] | None = None,
                 use_cookies: bool = True, **kwargs: Any) -> None:
        self.application = application
        self.response_wrapper = response_wrapper or application.response_class
        self._cookies: dict[tuple[str, str, str], Cookie] | None = {} if use_cookies else None
        self.environ_base: dict[str, Any] = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": _USER_AGENT}
        self.environ_base.update(kwargs.pop("environ_base", {}) or {})
        self.preserve_context = False
        self._new_contexts: list[Any] = []
        self._context_stack = ExitStack()

    # -- cookies -------------------------------------------------------------

    def _jar(self) -> dict[tuple[str, str, str], Cookie]:
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        return self._cookies

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> Cookie | None:
        """The cookie the client holds for ``key``, ``domain`` and ``path``, or None."""
        return self._jar().get((domain, path, key))

    def set_cookie(self, key: str, value: str = "", *, domain: str = "localhost",
                   origin_only: bool = True, path: str = "/", **kwargs: Any) -> None:
        """Put a cookie in the jar as if a response at ``domain`` had set it
        (``kwargs`` go to ``dump_cookie``)."""
        jar = self._jar()
        cookie = parse_set_cookie(dump_cookie(key, value, domain=domain, path=path, **kwargs),
                                  domain, path)
        cookie.origin_only = origin_only
        if cookie.should_delete:
            jar.pop((cookie.domain, cookie.path, cookie.decoded_key), None)
        else:
            jar[(cookie.domain, cookie.path, cookie.decoded_key)] = cookie

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/",
                      **kwargs: Any) -> None:
        """Forget the cookie the client holds for ``key``, ``domain`` and ``path``."""
        self._jar().pop((domain, path, key), None)

    def _cookie_header(self, host: str, path: str) -> str | None:
        if not self._cookies:
            return None
        out = [f"{c.key}={c.value}" for c in self._cookies.values() if c.matches(host, path)]
        return "; ".join(out) or None

    def _add_cookies_to_wsgi(self, environ: dict[str, Any]) -> None:
        """The jar's cookies for this host and path become the Cookie header
        (replacing one given with the request, as Werkzeug's client does)."""
        if self._cookies is None:
            return
        host, path = _request_host_path(environ)
        header = self._cookie_header(host, path)
        if header:
            environ["HTTP_COOKIE"] = header
        else:
            environ.pop("HTTP_COOKIE", None)

    def _update_cookies_from_response(self, host: str, path: str, headers: list[str]) -> None:
        if self._cookies is None:
            return
        for header in headers:
            cookie = parse_set_cookie(header, host, path)
            key = (cookie.domain, cookie.path, cookie.decoded_key)
            if cookie.should_delete:
                self._cookies.pop(key, None)
            else:
                self._cookies[key] = cookie

    # -- requests ---------------------------------------------------------------

    def _build_environ(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The environ of a request given as builder arguments, an EnvironBuilder,
        an environ dict or a request; the client's ``environ_base`` is under all."""
        first = args[0] if args else None
        if isinstance(first, EnvironBuilder):
            builder = copy.copy(first)
            builder.environ_base = {**self.environ_base, **(first.environ_base or {})}
            return builder.get_environ()
        if isinstance(first, dict):
            return EnvironBuilder.from_environ(
                first, app=self.application, environ_base=dict(self.environ_base)
            ).get_environ()
        if first is not None and hasattr(first, "environ") and hasattr(first, "method"):
            return {**self.environ_base, **first.environ}
        base = {**self.environ_base, **(kwargs.pop("environ_base", None) or {})}
        kwargs["environ_base"] = base
        builder = EnvironBuilder(self.application, *args, **kwargs)
        try:
            return builder.get_environ()
        finally:
            builder.close()

    def run_wsgi_app(self, environ: dict[str, Any], buffered: bool = False) -> Any:
        """Call the app with ``environ`` (adding the client's cookies, keeping the ones it sets); return ``(app_iter, status, headers)``."""
        if self._cookies is not None:
            self._add_cookies_to_wsgi(environ)
        captured: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        app_iter = self.application(environ, start_response)
        try:
            for chunk in app_iter:
                chunks.append(chunk)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        status, headers = captured
        response = _response_class(self.response_wrapper)(chunks, status=status, headers=headers)
        if self._cookies is not None:
            self._update_cookies_from_response(*_request_host_path(environ),
                                               response.headers.getlist("Set-Cookie"))
        return response

    def open(self, *args: Any, buffered: bool = False, follow_redirects: bool = False,
             **kwargs: Any) -> Any:
        """Send a request to the app and return its response.

        Takes :class:`~corral.web.testing.EnvironBuilder`'s arguments (path,
        ``method``, ``query_string``, ``headers``, ``data``, ``json``...), an
        EnvironBuilder, an environ dict or a request object.

        :param buffered: read the whole body before returning.
        :param follow_redirects: follow redirects; the response's ``history`` holds
            the ones passed through.
        :return: the response, with ``request`` and ``get_json()``.
        """
        self._context_stack.close()
        environ = self._build_environ(args, kwargs)
        self._new_contexts.clear()
        if self.preserve_context:
            environ["corral.web.preserve_context"] = self._new_contexts.append
        response = self._request(environ)
        history: list[Any] = []
        while follow_redirects and response.status_code in _REDIRECT_CODES:
            history.append(response)
            environ = self._redirect_environ(response, environ, history)
            self._context_stack.close()
            self._new_contexts.clear()
            if self.preserve_context:
                environ["corral.web.preserve_context"] = self._new_contexts.append
            response = self._request(environ)
        response.history = tuple(history)
        for cm in self._new_contexts:
            self._context_stack.enter_context(cm)
        self._new_contexts.clear()
        return response

    def _request(self, environ: dict[str, Any]) -> Any:
        response = self.run_wsgi_app(environ)
        response.request = self.application.request_class(environ)
        return response

    def _redirect_environ(self, response: Any, environ: dict[str, Any], history: list[Any]) -> dict[str, Any]:
        old = f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}{environ.get('SCRIPT_NAME', '')}{environ['PATH_INFO']}"
        target = urlsplit(urljoin(old, response.headers["Location"]))
        method = environ["REQUEST_METHOD"]
        keep_body = response.status_code in (307, 308)
        if not keep_body and method != "HEAD":
            method = "GET"
        to_parts = target.hostname.split(".") if target.hostname else None
        from_parts = environ["HTTP_HOST"].partition(":")[0].split(".")
        if to_parts is not None and to_parts != from_parts:
            if to_parts[-len(from_parts):] != from_parts:
                raise RuntimeError("Following external redirects is not supported.")
            if not self.allow_subdomain_redirects:
                raise RuntimeError("Following subdomain redirects is not enabled.")
        key = (target.geturl(), method)
        seen = [(r.request.url, r.request.method) for r in history[:-1]]
        if key in seen or len(history) > 30:
            raise ClientRedirectError("loop detected")
        new = {k: v for k, v in environ.items() if k != "HTTP_COOKIE"}
        new.update(REQUEST_METHOD=method, PATH_INFO=unquote(target.path or "/").encode().decode("latin-1"),
                   QUERY_STRING=target.query, HTTP_HOST=target.netloc or environ["HTTP_HOST"],
                   SCRIPT_NAME="", REQUEST_URI=target.path, RAW_URI=target.path)
        new["wsgi.url_scheme"] = target.scheme or environ["wsgi.url_scheme"]
        if keep_body:
            stream = environ["wsgi.input"]
            if hasattr(stream, "seek"):
                stream.seek(0)
        else:
            new["wsgi.input"] = io.BytesIO(b"")
            for k in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                new.pop(k, None)
        return new

    def resolve_redirect(self, response: Any, buffered: bool = False) -> Any:
        """The response of the request a redirect response points to."""
        history = [*getattr(response, "history", ()), response]
        environ = self._redirect_environ(response, response.request.environ, history)
        new = self._request(environ)
        new.history = tuple(history)
        return new

    def get(self, *args: Any, **kw: Any) -> Any:
        """``open(..., method='GET')``."""
        return self.open(*args, method="GET", **kw)

    def post(self, *args: Any, **kw: Any) -> Any:
        """``open(..., method='POST')``."""
        return self.open(*args, method="POST", **kw)

    def put(self, *args: Any, **kw: Any) -> Any:
        """``open(..., method='PUT')``."""
        return self.open(*args, method="PUT", **kw)

    def patch(self, *args: Any, **kw: Any) -> Any:
        """``open(..., method='PATCH')``."""
        return self.open(*args, method="PATCH", **kw)

    def delete(self, *args: Any, **kw: Any) -> Any:
        """``open(..., method='DELETE')``."""
        return self.open(*args, method="DELETE", **kw)

    def head(self, *args: Any, **kw: Any) -> Any:
        """``open(..., method='HEAD')``."""
        return self.open(*args, method="HEAD", **kw)

    def options(self, *args: Any, **kw: Any) -> Any:
        """``open(..., method='OPTIONS')``."""
        return self.open(*args, method="OPTIONS", **kw)

    def trace(self, *args: Any, **kw: Any) -> Any:
        """``open(..., method='TRACE')``."""
        return self.open(*args, method="TRACE", **kw)

    # -- contexts -------------------------------------------------------------------

    def __enter__(self) -> TestClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.preserve_context = False
        self._context_stack.close()

    @contextmanager
    def session_transaction(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Open the session the next request would see; changes are saved to the jar."""
        self._jar()
        app = self.application
        ctx = app.test_request_context(*args, **kwargs)
        self._add_cookies_to_wsgi(ctx.request.environ)
        si = app.session_interface
        with ctx:
            sess = si.open_session(app, ctx.request)
        if sess is None:
            raise RuntimeError("Session backend did not open a session.")
        yield sess
        resp = app.response_class()
        if si.is_null_session(sess):
            return
        with ctx:
            si.save_session(app, sess, resp)
        self._update_cookies_from_response(
            ctx.request.host.partition(":")[0], ctx.request.path, resp.headers.getlist("Set-Cookie")
        )


FlaskClient = TestClient


class CliRunner(_ClickCliRunner):
    """Invoke the app's CLI commands in-process: ``runner.invoke(args=["cmd"])``."""

    def __init__(self, app: App, **kwargs: Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(self, cli: Any = None, args: Any = None, **kwargs: Any) -> Result:  # type: ignore[override]
        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)
        return super().invoke(cli, args, **kwargs)


FlaskCliRunner = CliRunner


def make_test_environ_builder(app: App, *args: Any, **kwargs: Any) -> EnvironBuilder:
    """An :class:`EnvironBuilder` for ``app`` (the old name of ``EnvironBuilder(app, ...)``)."""
    return EnvironBuilder(app, *args, **kwargs)


__all__ = [
    "ClientRedirectError", "CliRunner", "Cookie", "EnvironBuilder", "FlaskCliRunner",
    "FlaskClient", "TestClient", "TestResponseMixin", "encode_multipart",
    "make_test_environ_builder", "parse_set_cookie",
]  # fmt: skip
