"""Application and request contexts."""

from __future__ import annotations

import sys
from functools import update_wrapper
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from . import signals
from .globals import _cv_app, _cv_request

if TYPE_CHECKING:
    from .app import App
    from .wrappers import Request

F = TypeVar("F", bound=Callable[..., Any])

_sentinel = object()
_LAZY: Any = object()  # a request's URL adapter, not built yet


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
            from .flask_alias import flask_installed_as_alias

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
        self._cv_tokens.append(_cv_app.set(self))
        if signals.appcontext_pushed.receivers:
            signals.appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        self._popped(ctx)

    def _popped(self, ctx: Any) -> None:
        """After the context variable was reset: check it was this context, tell
        the ``appcontext_popped`` receivers."""
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if signals.appcontext_popped.receivers:
            signals.appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)

    def _pop_last(self, exc: BaseException | None) -> None:
        """``pop(exc)`` of the context's only push (the common case)."""
        app = self.app
        try:
            if not (
                app._stock_pipeline
                and not app.teardown_appcontext_funcs
                and not signals.appcontext_tearing_down.receivers
            ):
                app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        self._popped(ctx)

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
        self._url_adapter: Any = None
        if app._routes_by_path_alone():
            # matching needs no adapter: it is built only if something asks for it
            self._url_adapter = _LAZY
        else:
            try:
                self._url_adapter = app.create_url_adapter(request)  # type: ignore[arg-type]
            except Exception as e:  # an HTTPException from a bad Host
                request.routing_exception = e
        self.flashes: list[tuple[str, str]] | None = None
        self._session = session
        self._after_request_functions: list[Callable[[Any], Any]] = []
        self._cv_tokens: list[tuple[Any, AppContext | None]] = []

    @property
    def url_adapter(self) -> Any:
        """The app's URL map bound to this request (None when it cannot be bound)."""
        adapter = self._url_adapter
        if adapter is _LAZY:
            adapter = self._url_adapter = None
            adapter = self._url_adapter = self.app.create_url_adapter(self.request)  # type: ignore[arg-type]
        return adapter

    @url_adapter.setter
    def url_adapter(self, value: Any) -> None:
        self._url_adapter = value

    @property
    def session(self) -> Any:
        s = self._session
        if s is None:
            s = self._session = self.app._open_session(self.request)  # type: ignore[arg-type]
        return s

    @session.setter
    def session(self, value: Any) -> None:
        self._session = value

    def copy(self) -> RequestContext:
        # the copy shares the session object (opened now if it was not yet)
        return self.__class__(self.app, self.request.environ, self.request, self.session)

    def match_request(self) -> None:
        try:
            rule, view_args = self.url_adapter.match(return_rule=True)
            req = self.request
            req.url_rule = rule
            req.view_args = view_args
        except Exception as e:
            self.request.routing_exception = e

    def push(self) -> None:
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            if type(app_ctx) is AppContext:  # AppContext.push(), inlined
                app_ctx._cv_tokens.append(_cv_app.set(app_ctx))
                if signals.appcontext_pushed.receivers:
                    signals.appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)
            else:
                app_ctx.push()
        else:
            app_ctx = None
        self._cv_tokens.append((_cv_request.set(self), app_ctx))
        self._match_pushed()

    def _match_pushed(self) -> None:
        """Match the request's URL (the last step of ``push``); a routing failure
        is kept in ``request.routing_exception``."""
        req = self.request
        if self._url_adapter is _LAZY:
            path = req.environ.get("PATH_INFO") or "/"
            if path.isascii() and path[:1] == "/" and path[1:2] != "/":
                found = self.app.url_map.quick_match(path, req.method)
                if found is not None:
                    req.url_rule, req.view_args = found
                    return
            try:
                adapter = self.url_adapter
            except Exception as e:
                req.routing_exception = e
                return
        else:
            adapter = self._url_adapter
        if adapter is not None:
            try:  # match_request(), inlined
                req.url_rule, req.view_args = adapter.match(return_rule=True)
            except Exception as e:
                req.routing_exception = e

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        clear_request = len(self._cv_tokens) == 1
        try:
            if clear_request:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                app = self.app
                if not (
                    app._stock_pipeline
                    and not app.teardown_request_funcs
                    and not signals.request_tearing_down.receivers
                ):
                    app.do_teardown_request(exc)
                close = getattr(self.request, "close", None)
                if close is not None:
                    close()
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
                if type(app_ctx) is AppContext and len(app_ctx._cv_tokens) == 1:
                    app_ctx._pop_last(exc)
                else:
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
