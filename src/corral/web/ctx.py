"""Application and request contexts."""

from __future__ import annotations

import sys
from functools import update_wrapper
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from . import signals
from .flask_alias import flask_installed_as_alias
from .globals import _cv_app, _cv_request
from .http.exceptions import HTTP_EXCEPTIONS
from .http.request import Request as _BaseRequest
from .http.wsgi import environ_text
from .routing.exceptions import RequestRedirect

if TYPE_CHECKING:
    from .app import App
    from .wrappers import Request

F = TypeVar("F", bound=Callable[..., Any])

_sentinel: Any = object()  # stands in for any argument not given
_UNBOUND: Any = object()  # a request context's URL adapter, not bound yet
_stock_close = _BaseRequest.close


class _AppCtxGlobals:
    """The ``g`` namespace: a plain object with a few dict-like helpers."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: Any = _sentinel) -> Any:
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: Any = None) -> Any:
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            owner = "flask" if flask_installed_as_alias() else "corral.web"
            return f"<{owner}.g of '{ctx.app.name}'>"
        return object.__repr__(self)


class AppContext:
    """Binds ``current_app`` and ``g``; pushed implicitly with each request."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.g: _AppCtxGlobals = app.app_ctx_globals_class()
        self._cv_tokens: list[Any] = []

    @property
    def url_adapter(self) -> Any:
        """The app's URL adapter without a request (needs ``SERVER_NAME``); built on use."""
        adapter = self.__dict__.get("_url_adapter", _sentinel)
        if adapter is _sentinel:
            adapter = self.__dict__["_url_adapter"] = self.app.create_url_adapter(None)
        return adapter

    @url_adapter.setter
    def url_adapter(self, value: Any) -> None:
        self.__dict__["_url_adapter"] = value

    def push(self) -> None:
        """Make this the current app context (``current_app``, ``g``)."""
        self._cv_tokens.append(_cv_app.set(self))
        if signals.appcontext_pushed.receivers:
            signals.appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        """Undo :meth:`push`; the last pop runs the app's teardown_appcontext functions."""
        app = self.app
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                if (
                    (app._request_plan or app.request_plan).run_teardown_appcontext
                    or signals.appcontext_tearing_down.receivers
                ):
                    app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if signals.appcontext_popped.receivers:
            signals.appcontext_popped.send(app, _async_wrapper=app.ensure_sync)

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)


class RequestContext:
    """Binds ``request`` and ``session`` for one request.

    The session is opened on first use; the URL is matched when the context
    is pushed and a routing failure is kept in ``request.routing_exception``.
    """

    def __init__(
        self,
        app: App,
        environ: dict[str, Any],
        request: Request | None = None,
        session: Any = None,
    ) -> None:
        self.app = app
        if request is None:
            request = app.request_class(environ)
            request.json_module = app.json
        self.request: Request = request
        self._url_adapter: Any = _UNBOUND
        # Routing by path alone (App._routes_by_path, spelt out here as it runs on
        # every request) for a Host seen before: the map is bound on first use.
        config = app.config
        url_map = app.url_map
        if not (
            config["SERVER_NAME"] is None
            and config["TRUSTED_HOSTS"] is None
            and not app.subdomain_matching
            and not url_map.host_matching
            and not url_map._check_domain
            and (app._request_plan or app.request_plan).stock_url_adapter
            and request.environ.get("HTTP_HOST") in url_map._bound_host_names
        ):
            self._url_adapter = None
            try:
                self._url_adapter = app.create_url_adapter(request)
            except HTTP_EXCEPTIONS as e:  # a bad or untrusted Host
                request.routing_exception = e
        self.flashes: list[tuple[str, str]] | None = None
        self._session = session
        self._after_request_functions: list[Callable[[Any], Any]] = []
        self._cv_tokens: list[tuple[Any, AppContext | None]] = []

    @property
    def url_adapter(self) -> Any:
        """The app's URL map bound to this request (``app.create_url_adapter``), for
        matching and building URLs; None when it cannot be bound. When routing
        depends on the path alone it is bound on first use (by ``url_for``, say)."""
        adapter = self._url_adapter
        if adapter is _UNBOUND:
            adapter = self._url_adapter = None
            adapter = self._url_adapter = self.app.create_url_adapter(self.request)
        return adapter

    @url_adapter.setter
    def url_adapter(self, value: Any) -> None:
        self._url_adapter = value

    @property
    def session(self) -> Any:
        """The request's session, opened by the app's session interface on first use."""
        s = self._session
        if s is None:
            s = self._session = self.app._open_session(self.request)
        return s

    @session.setter
    def session(self, value: Any) -> None:
        self._session = value

    def copy(self) -> RequestContext:
        """A new context for the same request and session (opened now if it was not
        yet), for use in another thread or greenlet."""
        return self.__class__(self.app, self.request.environ, self.request, self.session)

    def match_request(self) -> None:
        """Match the request's URL with the bound URL adapter; store the rule and
        its arguments on the request, or the routing error in
        ``request.routing_exception``."""
        req = self.request
        try:
            if self._url_adapter is _UNBOUND:
                # routing by path alone: the map's own adapter matches the path; a
                # redirect is matched again bound to the request, for its URL
                environ = req.environ
                path = environ.get("PATH_INFO") or "/"
                if not path.isascii():
                    path = environ_text(environ, "PATH_INFO")
                url_map = self.app.url_map
                adapter = url_map._path_adapter
                if adapter is None or adapter.subdomain != (url_map.default_subdomain or ""):
                    adapter = url_map.path_adapter()
                try:
                    rule, view_args = adapter.match(path, req.method, return_rule=True)
                except RequestRedirect:
                    rule, view_args = self.url_adapter.match(return_rule=True)
            else:
                rule, view_args = self.url_adapter.match(return_rule=True)
        except HTTP_EXCEPTIONS as e:
            req.routing_exception = e
        else:
            req.url_rule = rule
            req.view_args = view_args

    def push(self) -> None:
        """Make this the current request context (pushing an app context for its
        app first when none is current) and match the URL."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
        else:
            app_ctx = None
        self._cv_tokens.append((_cv_request.set(self), app_ctx))
        if self._url_adapter is not None:
            self.match_request()

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        """Undo :meth:`push`. The last pop runs the teardown_request functions,
        closes the request and pops the app context pushed with it."""
        clear_request = len(self._cv_tokens) == 1
        try:
            if clear_request:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                app = self.app
                if (
                    (app._request_plan or app.request_plan).run_teardown_request
                    or signals.request_tearing_down.receivers
                ):
                    app.do_teardown_request(exc)
                request = self.request
                close = getattr(type(request), "close", None)
                # the stock close has nothing to do unless files were uploaded
                if close is not None and (close is not _stock_close or request.__dict__.get("files")):
                    request.close()
        finally:
            ctx = _cv_request.get()
            token, app_ctx = self._cv_tokens.pop()
            _cv_request.reset(token)
            if clear_request:
                # environ -> request -> environ is a reference cycle; break it
                environ = ctx.request.environ
                if environ.get("werkzeug.request") is ctx.request:
                    environ["werkzeug.request"] = None
            if app_ctx is not None:
                app_ctx.pop(exc)
            if ctx is not self:
                raise AssertionError(
                    f"Popped wrong request context. ({ctx!r} instead of {self!r})"
                )

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        r = self.request
        return f"<{type(self).__name__} {r.url!r} [{r.method}] of {self.app.name}>"


def has_request_context() -> bool:
    """True inside a request context."""
    return _cv_request.get(None) is not None


def has_app_context() -> bool:
    """True inside an application context."""
    return _cv_app.get(None) is not None


def after_this_request(f: F) -> F:
    """Run ``f(response)`` after the current request, before after_request hooks."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request"
            " context is active, such as in a view function."
        )
    ctx._after_request_functions.append(f)
    return f


def copy_current_request_context(f: F) -> F:
    """Wrap ``f`` so that it runs inside a copy of the current request context."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a"
            " request context is active, such as in a view function."
        )
    ctx = ctx.copy()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with ctx:
            return ctx.app.ensure_sync(f)(*args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]
