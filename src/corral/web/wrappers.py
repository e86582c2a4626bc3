"""The request and response classes of an app, and ``make_response``'s rules."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import json as _json_mod
from .debughelpers import attach_enctype_error_multidict
from .globals import _cv_app, _cv_request
from .http.datastructures.headers import Headers
from .http.exceptions import BadRequest
from .http.header_syntax import _content_type_cache, get_content_type
from .http.request import Request as _BaseRequest
from .http.response import Response as _BaseResponse

if TYPE_CHECKING:
    from .app import App
    from .routing.rules import Rule


class Request(_BaseRequest):
    """The request object of an app: routing results and config-driven limits."""

    json_module: Any = _json_mod
    url_rule: Rule | None = None
    view_args: dict[str, Any] | None = None
    routing_exception: Exception | None = None

    def _app_config(self, key: str) -> Any:
        ctx = _cv_app.get(None)
        return None if ctx is None else ctx.app.config[key]

    @property
    def max_content_length(self) -> int | None:
        """The largest body accepted (``MAX_CONTENT_LENGTH``, unless set on the request); a larger one is a 413."""
        value = self.__dict__.get("_max_content_length")
        return value if value is not None else self._app_config("MAX_CONTENT_LENGTH")

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self.__dict__["_max_content_length"] = value

    @property
    def max_form_memory_size(self) -> int | None:
        value = self.__dict__.get("_max_form_memory_size")
        if value is not None:
            return value
        ctx = _cv_app.get(None)
        return 500_000 if ctx is None else ctx.app.config["MAX_FORM_MEMORY_SIZE"]

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self.__dict__["_max_form_memory_size"] = value

    @property
    def max_form_parts(self) -> int | None:
        value = self.__dict__.get("_max_form_parts")
        if value is not None:
            return value
        ctx = _cv_app.get(None)
        return 1000 if ctx is None else ctx.app.config["MAX_FORM_PARTS"]

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self.__dict__["_max_form_parts"] = value

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        # in debug mode, files[key] for a key that came as a form field says why
        ctx = _cv_app.get(None)
        if (
            ctx is not None
            and ctx.app.debug
            and self.mimetype != "multipart/form-data"
            and not self.files
        ):
            attach_enctype_error_multidict(self)

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """Called when the body is not valid JSON: a 400 (with the parse error shown in debug mode)."""
        try:
            return super().on_json_loading_failed(e)
        except BadRequest as ebr:
            ctx = _cv_app.get(None)
            if ctx is not None and ctx.app.debug:
                raise
            raise BadRequest() from ebr


class Response(_BaseResponse):
    """The response object of an app; ``default_mimetype`` is text/html."""

    default_mimetype: str | None = "text/html"
    json_module: Any = _json_mod
    autocorrect_location_header = False

    @classmethod
    def text_response(cls, text: str, mimetype: str | None = None) -> Response:
        """``cls(text, mimetype=mimetype)``, built without the general constructor
        when that is the stock one."""
        if (
            cls.__init__ is _stock_init
            and cls.default_status == 200
            and cls.automatically_set_content_length
            and _PLAIN_HEADERS
        ):
            # the attributes the general constructor would set for a 200 text body
            rv = _new_response(cls)
            charset = cls.charset
            data = text.encode(charset)
            hdrs = _new_headers(Headers)
            mimetype = mimetype or cls.default_mimetype
            if mimetype is not None:
                content_type = _content_type_cache.get((mimetype, charset))
                if content_type is None:
                    content_type = get_content_type(mimetype, charset)
                hdrs._list = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
            else:
                hdrs._list = [("Content-Length", str(len(data)))]
            rv.headers = hdrs
            rv._status = "200 OK"
            rv._status_code = 200
            rv.direct_passthrough = False
            rv._on_close = []
            rv.response = [data]
            return rv
        return cls(text, mimetype=mimetype)

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        ctx = _cv_app.get(None)
        if ctx is not None:
            return ctx.app.config["MAX_COOKIE_SIZE"]
        return 4093



_new_headers = _new_response = object.__new__
_stock_init = Response.__init__
# Headers built without __init__ must need nothing but their ``_list``.
_PLAIN_HEADERS = set(vars(Headers())) == {"_list"}


def _not_valid(rv: Any) -> str:
    return (
        "The view function did not return a valid"
        " response. The return type must be a string,"
        " dict, list, tuple with headers or status,"
        " Response instance, or WSGI callable, but it was a"
        f" {type(rv).__name__}."
    )


def make_response_from_view(app: App, rv: Any) -> Response:
    """Turn a view's return value into a response (``App.make_response``).

    :param app: the app (its response class and JSON provider).
    :param rv: a ``str``, ``bytes`` or iterator body; a ``dict`` or ``list`` (JSON);
        a response object or WSGI callable; or a tuple ``(body, status, headers)``,
        ``(body, status)`` or ``(body, headers)``.
    :return: the app's response class.
    :raises TypeError: for None or any other type.
    """
    response_class = app.response_class
    kind = type(rv)
    if kind is str:
        if issubclass(response_class, Response):
            return response_class.text_response(rv)
        return response_class(rv)
    if kind is response_class:
        return rv
    if kind is dict:
        return app.json.response(rv)
    status = headers = None
    if isinstance(rv, tuple):
        len_rv = len(rv)
        if len_rv == 3:
            rv, status, headers = rv
        elif len_rv == 2:
            if isinstance(rv[1], (Headers, dict, tuple, list)):
                rv, headers = rv
            else:
                rv, status = rv
        else:
            raise TypeError(
                "The view function did not return a valid response tuple."
                " The tuple must have the form (body, status, headers),"
                " (body, status), or (body, headers)."
            )
    if rv is None:
        ctx = _cv_request.get(None)
        endpoint = None if ctx is None else ctx.request.endpoint
        raise TypeError(
            f"The view function for {endpoint!r} did not"
            " return a valid response. The function either returned"
            " None or ended without a return statement."
        )
    if not isinstance(rv, response_class):
        if isinstance(rv, (str, bytes, bytearray, Iterator)):
            rv = response_class(rv, status=status, headers=headers)
            status = headers = None
        elif isinstance(rv, (dict, list)):
            rv = app.json.response(rv)
        elif isinstance(rv, _BaseResponse) or callable(rv):
            ctx = _cv_request.get(None)
            try:
                rv = response_class.force_type(rv, None if ctx is None else ctx.request.environ)
            except TypeError as e:
                raise TypeError(f"{e}\n{_not_valid(rv)}").with_traceback(
                    sys.exc_info()[2]
                ) from None
        else:
            raise TypeError(_not_valid(rv))
    if status is not None:
        if isinstance(status, (str, bytes, bytearray)):
            rv.status = status
        else:
            rv.status_code = status
    if headers:
        rv.headers.update(headers)
    return rv
