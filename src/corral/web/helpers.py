"""Helpers used inside views: url_for, redirect, abort, flash, streaming..."""

from __future__ import annotations

import os
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, Callable, Iterator

from . import exceptions as _exceptions
from .ctx import after_this_request, copy_current_request_context
from .files import send_file, send_from_directory
from .globals import _cv_app, _cv_request, _no_app_msg, _no_req_msg
from .scaffold import get_root_path
from .signals import message_flashed
from .wrappers import redirect as _redirect

if TYPE_CHECKING:
    from .app import App
    from .wrappers import Response

__all__ = [
    "abort",
    "after_this_request",
    "copy_current_request_context",
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "get_load_dotenv",
    "get_root_path",
    "get_template_attribute",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "url_for",
]


def get_debug_flag() -> bool:
    """Debug mode from the ``CORRAL_DEBUG`` or ``FLASK_DEBUG`` environment variable."""
    val = os.environ.get("CORRAL_DEBUG") or os.environ.get("FLASK_DEBUG")
    return bool(val and val.lower() not in {"0", "false", "no"})


def get_load_dotenv(default: bool = True) -> bool:
    """Whether the CLI loads ``.env``/``.flaskenv``: ``default``, unless
    ``FLASK_SKIP_DOTENV`` (or ``CORRAL_SKIP_DOTENV``) says to skip them."""
    val = os.environ.get("CORRAL_SKIP_DOTENV") or os.environ.get("FLASK_SKIP_DOTENV")
    if not val:
        return default
    return val.lower() in {"0", "false", "no"}


def _app() -> App:
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_msg)
    return ctx.app


def url_for(
    endpoint: str,
    /,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: Any,
) -> str:
    """The URL of ``endpoint`` (``.name`` is relative to the current blueprint);
    unknown values become the query string."""
    return _app().url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(location: str, code: int = 302, Response: type[Response] | None = None) -> Response:
    """A redirect response to ``location`` (the current app's response class)."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.redirect(location, code=code)
    return _redirect(location, code=code, Response=Response)


def abort(code: int | Response, *args: Any, **kwargs: Any) -> Any:
    """Raise the HTTPException for ``code`` (or one wrapping a response)."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _exceptions.abort(code, *args, **kwargs)


def make_response(*args: Any) -> Response:
    """``make_response(body, status, headers)`` as a view would return them."""
    app = _app()
    if not args:
        return app.response_class()
    return app.make_response(args[0] if len(args) == 1 else args)


def flash(message: str, category: str = "message") -> None:
    """Store a message in the session, for the next request to show."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(_no_req_msg)
    session = ctx.session
    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    app = ctx.app
    if message_flashed.receivers:
        message_flashed.send(
            app, _async_wrapper=app.ensure_sync, message=message, category=category
        )


def get_flashed_messages(
    with_categories: bool = False, category_filter: Any = ()
) -> list[str] | list[tuple[str, str]]:
    """Pop the flashed messages (once per request; repeated calls see the same)."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(_no_req_msg)
    flashes = ctx.flashes
    if flashes is None:
        session = ctx.session
        flashes = session.pop("_flashes") if "_flashes" in session else []
        ctx.flashes = flashes
    if category_filter:
        flashes = [f for f in flashes if f[0] in category_filter]
    if not with_categories:
        return [x[1] for x in flashes]
    return flashes


def get_template_attribute(template_name: str, attribute: str) -> Any:
    """A macro or variable exported by a template."""
    return getattr(_app().jinja_env.get_template(template_name).module, attribute)


def stream_with_context(generator_or_function: Any) -> Any:
    """Keep the request context alive while a streamed response is generated."""
    try:
        gen = iter(generator_or_function)
    except TypeError:

        def decorator(*args: Any, **kwargs: Any) -> Any:
            return stream_with_context(generator_or_function(*args, **kwargs))

        return update_wrapper(decorator, generator_or_function)

    def generator() -> Iterator[Any]:
        req_ctx = _cv_request.get(None)
        if req_ctx is None:
            raise RuntimeError(
                "'stream_with_context' can only be used when a request"
                " context is active, such as in a view function."
            )
        app_ctx = _cv_app.get()
        yield None
        with app_ctx, req_ctx:
            try:
                yield from gen
            finally:
                close: Callable[[], None] | None = getattr(gen, "close", None)
                if close is not None:
                    close()

    wrapped = generator()
    next(wrapped)
    return wrapped
