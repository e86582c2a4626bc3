"""Helpers used inside views: url_for, redirect, abort, flash, streaming..."""

from __future__ import annotations

import importlib.util
import os
import sys
from datetime import datetime
from functools import update_wrapper
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, cast

from .ctx import after_this_request, copy_current_request_context
from .globals import _cv_app, _cv_request, _no_app_msg, _no_req_msg
from .http import exceptions as _exceptions
from .http import send_file as _sending
from .http.response import redirect as _redirect
from .http.send_file import MaxAge
from .signals import message_flashed

if TYPE_CHECKING:
    from .app import App
    from .http.response import Response as BaseResponse
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


def get_root_path(import_name: str) -> str:
    """The directory of the module or package ``import_name``."""
    filename: str | None = getattr(sys.modules.get(import_name), "__file__", None)
    if filename:
        return os.path.dirname(os.path.abspath(filename))
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin in (None, "namespace", "built-in", "frozen"):
        if spec is not None and spec.submodule_search_locations:
            return os.path.abspath(next(iter(spec.submodule_search_locations)))
        return os.getcwd()
    return os.path.dirname(os.path.abspath(spec.origin))


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
    """Build the URL of an endpoint, with the current app.

    :param endpoint: the endpoint name (``"index"``, ``"blog.post"``); ``".post"``
        is relative to the current request's blueprint.
    :param _anchor: a fragment to append (``#...``).
    :param _method: the method the rule must allow, to pick among rules.
    :param _scheme: the scheme of an external URL.
    :param _external: an absolute URL (scheme and host); inside a request the
        default is a path, outside one an absolute URL (needs ``SERVER_NAME``).
    :param values: the rule's variables; the others become the query string.
    :return: the URL.
    :raises BuildError: when no rule of the endpoint takes these values.
    """
    return _app().url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(
    location: str, code: int = 302, Response: type[BaseResponse] | None = None
) -> BaseResponse:
    """A redirect response.

    :param location: the URL to redirect to (the ``Location`` header).
    :param code: the redirect status: 301, 302 (the default), 303, 307 or 308.
    :param Response: the response class, outside an app context; inside one the
        app's :meth:`~corral.web.App.redirect` decides (its response class).
    :return: the redirect response, with a small HTML body linking to ``location``.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.redirect(location, code=code)
    return _redirect(location, code=code, Response=Response)


def abort(code: int | Response, *args: Any, **kwargs: Any) -> Any:
    """Stop the request with an HTTP error: raise the HTTPException for ``code``.

    :param code: a status code (``abort(404)``), or a response to send as it is.
    :param args: passed to the exception (a ``description`` for the error page).
    :param kwargs: passed to the exception.
    :raises HTTPException: always.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _exceptions.abort(code, *args, **kwargs)


def make_response(*args: Any) -> Response:
    """Turn what a view may return into a response object, to change it before
    returning it (``resp = make_response(render_template(...)); resp.set_cookie(...)``).

    :param args: nothing (an empty response), one value, or ``(body, status,
        headers)`` / ``(body, status)`` / ``(body, headers)``, as a view returns them.
    :return: the app's response class.
    """
    app = _app()
    if not args:
        return app.response_class()
    return app.make_response(args[0] if len(args) == 1 else args)


def flash(message: str, category: str = "message") -> None:
    """Store a message in the session, for a later request to show
    (with :func:`get_flashed_messages`).

    :param message: the text.
    :param category: a label such as ``"error"`` or ``"info"`` (``"message"`` by default).
    """
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
    """Take the flashed messages out of the session (repeated calls in the same
    request see the same ones).

    :param with_categories: return ``(category, message)`` pairs.
    :param category_filter: only the messages of these categories.
    :return: the messages, oldest first.
    """
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


def _current_app_and_environ() -> tuple[App, dict[str, Any]]:
    app_ctx = _cv_app.get(None)
    req_ctx = _cv_request.get(None)
    if app_ctx is None or req_ctx is None:
        raise RuntimeError("send_file() needs an active request context.")
    return app_ctx.app, req_ctx.request.environ


def _app_send_options(app: App, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The app's settings for sending a file: ``max_age`` from
    ``get_send_file_max_age``, ``USE_X_SENDFILE``, the response class, the root path."""
    if kwargs.get("max_age") is None:
        kwargs["max_age"] = app.get_send_file_max_age
    kwargs["use_x_sendfile"] = bool(app.config.get("USE_X_SENDFILE"))
    kwargs["response_class"] = app.response_class
    kwargs["_root_path"] = app.root_path
    return kwargs


def send_file(
    path_or_file: os.PathLike[str] | str | IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
) -> Response:
    """Send a file to the client, from inside a request.

    :param path_or_file: a path (relative to the app's ``root_path``) or an open
        binary file object.
    :param mimetype: the Content-Type; guessed from ``download_name`` or the path
        when not given.
    :param as_attachment: ask the browser to save the file rather than show it.
    :param download_name: the file name the browser sees (``Content-Disposition``).
    :param conditional: answer 304, 206 or 416 from the request's validators and Range.
    :param etag: compute an ETag from the file (True), give one (a str), or none (False).
    :param last_modified: the Last-Modified time; a path's modification time by default.
    :param max_age: seconds the client may cache it (or a callable of the path);
        ``app.get_send_file_max_age`` by default.
    :return: the app's response class, streaming the file.
    """
    app, environ = _current_app_and_environ()
    options = _app_send_options(app, {"max_age": max_age})
    sent = _sending.send_file(
        path_or_file, environ, mimetype=mimetype, as_attachment=as_attachment,
        download_name=download_name, conditional=conditional, etag=etag,
        last_modified=last_modified, **options,
    )  # fmt: skip
    return cast("Response", sent)  # an instance of options["response_class"], the app's


def send_from_directory(
    directory: os.PathLike[str] | str, path: os.PathLike[str] | str, **kwargs: Any
) -> Response:
    """Send ``path`` from inside ``directory``, from inside a request; anything
    outside the directory, or missing, is a 404.

    :param directory: the directory, relative to the app's ``root_path``. Never a
        value from the user.
    :param path: the file's path inside ``directory``; may come from the URL.
    :param kwargs: :func:`send_file`'s options.
    :return: the app's response class, streaming the file.
    """
    app, environ = _current_app_and_environ()
    sent = _sending.send_from_directory(directory, path, environ, **_app_send_options(app, kwargs))
    return cast("Response", sent)  # an instance of the app's response class
