"""The request pipeline's fast lane: ``wsgi_app`` with its stock steps inlined.

An app whose pipeline steps are all the stock ones (on its class and on the
instance) is served by :func:`serve`, which runs the very same steps in the
same order (contexts, hooks, signals, errors, teardown) without the method
calls between them.  A text or JSON view result that nothing can observe
after the view (no after-request hooks, no session to save, no
``request_finished`` receivers) goes to ``start_response`` directly, with the
headers its response object would have sent.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

from . import signals
from .appwrappers import Request, Response
from .ctx import _LAZY, AppContext, RequestContext
from .globals import _cv_app, _cv_request
from .json import DefaultJSONProvider
from .sessions import SecureCookieSessionInterface
from .wrappers import _content_type_cache, get_content_type

if TYPE_CHECKING:
    from .app import App

_new: Any = object.__new__

#: the App methods ``wsgi_app`` may inline when neither the class nor the
#: instance overrides them
PIPELINE_STEPS = (
    "full_dispatch_request", "preprocess_request", "dispatch_request", "finalize_request",
    "make_response", "raise_routing_exception", "process_response", "do_teardown_request",
    "do_teardown_appcontext",
)  # fmt: skip
#: ... and those the fast lane stands in for as well
FAST_LANE_STEPS = (*PIPELINE_STEPS, "wsgi_app", "request_context", "app_context", "create_url_adapter")


def overrides_none(app: App, base: type, names: tuple[str, ...]) -> bool:
    """True when neither ``app``'s class nor ``app`` itself overrides ``names`` of ``base``."""
    cls = type(app)
    own = app.__dict__
    return all(getattr(cls, name) is getattr(base, name) and name not in own for name in names)


def direct_text_ok() -> bool:
    """Can a text body of the app's Response class be sent without building the
    response object (stock constructor and defaults)?"""
    return (
        Response.__init__ is _stock_response_init
        and Response.default_status == 200
        and Response.automatically_set_content_length
    )


_stock_response_init = Response.__init__
_stock_json_response = DefaultJSONProvider.response


def session_untouched(app: App, ctx: RequestContext) -> bool:
    """True when the stock cookie session was neither opened during the request
    nor sent by the client, so that there is nothing to save."""
    if ctx._session is not None or type(app.session_interface) is not SecureCookieSessionInterface:
        return False
    cookies = ctx.request.environ.get("HTTP_COOKIE")
    return not cookies or app.config["SESSION_COOKIE_NAME"] not in cookies


def push(app: App, environ: dict[str, Any]) -> RequestContext:
    """``app.request_context(environ).push()`` for a stock app whose routing
    depends on the path alone, up to the URL matching (see :func:`serve`)."""
    request_class = app.request_class
    if request_class is Request:
        req: Any = _new(Request)
        req.environ = environ
        req.shallow = False
        environ["werkzeug.request"] = req
        req.method = environ.get("REQUEST_METHOD", "GET").upper()
    else:
        req = request_class(environ)
    req.json_module = app.json
    ctx: Any = _new(RequestContext)
    ctx.app = app
    ctx.request = req
    ctx._url_adapter = _LAZY
    ctx.flashes = None
    ctx._session = None
    ctx._after_request_functions = []
    app_ctx: Any = _cv_app.get(None)
    if app_ctx is None or app_ctx.app is not app:
        app_ctx = _new(AppContext)
        app_ctx.app = app
        app_ctx.g = app.app_ctx_globals_class()
        app_ctx._cv_tokens = [_cv_app.set(app_ctx)]
        if signals.appcontext_pushed.receivers:
            signals.appcontext_pushed.send(app, _async_wrapper=app.ensure_sync)
    else:
        app_ctx = None
    ctx._cv_tokens = [(_cv_request.set(ctx), app_ctx)]
    return ctx  # type: ignore[no-any-return]


def pop(app: App, ctx: RequestContext, error: BaseException | None) -> None:
    """``ctx.pop(error)`` (and its app context's) for a context made by :func:`push`."""
    tokens = ctx._cv_tokens
    if len(tokens) != 1 or _cv_request.get() is not ctx:
        ctx.pop(error)
        return
    req = ctx.request
    try:
        if app.teardown_request_funcs or signals.request_tearing_down.receivers:
            app.do_teardown_request(error)
        if type(req) is not Request or "files" in req.__dict__:
            req.close()
    finally:
        token, app_ctx = tokens.pop()
        _cv_request.reset(token)
        environ = req.environ
        if environ.get("werkzeug.request") is req:
            environ["werkzeug.request"] = None  # break the environ <-> request cycle
        if app_ctx is not None:
            if len(app_ctx._cv_tokens) == 1:
                app_ctx._pop_last(error)
            else:
                app_ctx.pop(error)


def run_view(app: App, ctx: RequestContext) -> Any:
    """``full_dispatch_request()`` up to the view's return value (or its error
    handler's), with the stock steps inlined."""
    if not app._got_first_request:
        app._run_before_first_request()
    try:
        if signals.request_started.receivers:
            signals.request_started.send(app, _async_wrapper=app.ensure_sync)
        rv = None
        req = ctx.request
        brf = app.before_request_funcs
        rule: Any = req.url_rule
        if app.url_value_preprocessors or (brf and (rule is None or "." in rule.endpoint)):
            # blueprint hooks or URL value preprocessors: the general step
            rv = app.preprocess_request()
        elif brf and None in brf:
            cache = app._sync_cache
            for before_func in brf[None]:
                rv = (cache.get(before_func) or app.ensure_sync(before_func))()
                if rv is not None:
                    break
        if rv is None:
            if req.routing_exception is not None:
                app.raise_routing_exception(req)  # type: ignore[arg-type]
            if req.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
                return app.make_default_options_response()
            view = app.view_functions[rule.endpoint]
            return (app._sync_cache.get(view) or app.ensure_sync(view))(**req.view_args)  # type: ignore[arg-type]
        return rv
    except Exception as e:
        return app.handle_user_exception(e)


def finish(app: App, ctx: RequestContext, rv: Any) -> Response:
    """``finalize_request(rv)``'s stock steps, without the error fallback."""
    response = app.make_response(rv)
    response = app.process_response(response)
    if signals.request_finished.receivers:
        signals.request_finished.send(app, _async_wrapper=app.ensure_sync, response=response)
    return response


def _direct_text(app: App, rv: Any, environ: dict[str, Any]) -> tuple[str, str] | None:
    """``(text, mimetype)`` when ``rv`` is a str or dict whose response would be
    a plain 200 with that body and its Content-Type and Content-Length alone."""
    if not app._direct_text or app.response_class is not Response:
        return None
    if environ.get("REQUEST_METHOD") == "HEAD":
        return None
    kind = type(rv)
    if kind is str:
        mimetype = Response.default_mimetype
        return None if mimetype is None else (rv, mimetype)
    if kind is dict and getattr(type(app.json), "response", None) is _stock_json_response:
        provider: Any = app.json
        mimetype = provider.mimetype or Response.default_mimetype
        return None if mimetype is None else (provider.response_text(rv, app), mimetype)
    return None


def serve(app: App, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """``app.wsgi_app(environ, start_response)`` for a stock app."""
    config = app.config
    if (
        config["SERVER_NAME"] is not None
        or config["TRUSTED_HOSTS"] is not None
        or app.subdomain_matching
        or app.url_map.host_matching
    ):
        return app._wsgi_general(environ, start_response)
    ctx = push(app, environ)
    error: BaseException | None = None
    direct = None
    try:
        try:
            path = environ.get("PATH_INFO") or "/"
            found = None
            if path.isascii() and path[:1] == "/" and path[1:2] != "/":
                found = app.url_map.quick_match(path, ctx.request.method)
            if found is None:
                ctx._match_pushed()  # the full matcher decides (errors, redirects, odd paths)
            else:
                ctx.request.url_rule, ctx.request.view_args = found
            rv = run_view(app, ctx)
            if (  # something may observe the response after the view
                ctx._after_request_functions
                or app.after_request_funcs
                or signals.request_finished.receivers
                or ctx._session is not None
                or type(app.session_interface) is not SecureCookieSessionInterface
                or ("HTTP_COOKIE" in environ and not session_untouched(app, ctx))
            ):
                response = finish(app, ctx, rv)
            elif type(rv) is app.response_class:
                response = rv
            elif (direct := _direct_text(app, rv, environ)) is None:
                response = finish(app, ctx, rv)
        except Exception as e:
            error = e
            response = app.handle_exception(e)
        except BaseException:
            error = sys.exc_info()[1]
            raise
        if direct is None:
            return response(environ, start_response)
        charset = Response.charset
        data = direct[0].encode(charset)
        content_type = _content_type_cache.get((direct[1], charset))
        if content_type is None:
            content_type = get_content_type(direct[1], charset)
        start_response(
            "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(data)))]
        )
        return [data]
    finally:
        preserve = environ.get("corral.web.preserve_context")
        if preserve is not None:
            preserve(_cv_app.get())
            preserve(_cv_request.get())
        if error is not None and app.should_ignore_error(error):
            error = None
        pop(app, ctx, error)
