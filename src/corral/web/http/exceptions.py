"""The HTTP exception family, with Werkzeug's names, codes and HTML bodies."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable
from datetime import datetime

from markupsafe import Markup, escape

from . import werkzeug_interop
from .header_syntax import http_date
from .status import HTTP_STATUS_CODES

if t.TYPE_CHECKING:
    from .response import Response

WSGIEnvironment = dict[str, t.Any]
StartResponse = Callable[..., t.Any]


class HTTPException(Exception, metaclass=werkzeug_interop.WerkzeugKin):
    """Base of every HTTP error; usable as a WSGI application.

    With Werkzeug installed each class here also derives from its Werkzeug namesake,
    so ``except werkzeug.exceptions.NotFound`` catches ``abort(404)``.
    """

    code: int | None = None
    description: str | None = None

    def __init__(self, description: str | None = None, response: Response | None = None) -> None:
        Exception.__init__(self)  # not super(): Werkzeug's __init__ would reset attributes
        if description is not None:
            self.description = description
        self.response = response

    @property
    def name(self) -> str:
        return HTTP_STATUS_CODES.get(self.code or 0, "Unknown Error")

    def get_description(self, environ: WSGIEnvironment | None = None, scope: t.Any = None) -> str:
        text = "" if self.description is None else self.description
        return f"<p>{escape(text).replace(chr(10), Markup('<br>'))}</p>"

    def get_body(self, environ: WSGIEnvironment | None = None, scope: t.Any = None) -> str:
        name = escape(self.name)
        return (
            "<!doctype html>\n<html lang=en>\n"
            f"<title>{self.code} {name}</title>\n"
            f"<h1>{name}</h1>\n"
            f"{self.get_description(environ)}\n"
        )

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: t.Any = None
    ) -> list[tuple[str, str]]:
        return [("Content-Type", "text/html; charset=utf-8")]

    def get_response(self, environ: t.Any = None, scope: t.Any = None) -> Response:
        """The response to send for this error (``self.response`` if one was given)."""
        # Response's modules raise these errors: it is imported when one is answered
        from .response import Response as ResponseClass

        if self.response is not None:
            return self.response
        if environ is not None and not isinstance(environ, dict):
            environ = getattr(environ, "environ", None)
        return ResponseClass(
            self.get_body(environ), self.code, self.get_headers(environ)
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.get_response(environ)(environ, start_response)

    def __str__(self) -> str:
        code = self.code if self.code is not None else "???"
        return f"{code} {self.name}: {self.description}"

    def __repr__(self) -> str:
        code = self.code if self.code is not None else "???"
        return f"<{type(self).__name__} '{code}: {self.name}'>"


class BadRequest(HTTPException):
    code = 400
    description = "The browser (or proxy) sent a request that this server could not understand."


class ClientDisconnected(BadRequest):
    pass


class SecurityError(BadRequest):
    pass


class BadHost(BadRequest):
    pass


class BadRequestKeyError(BadRequest, KeyError):
    """A missing key in a request MultiDict: a KeyError that renders as a 400."""

    _description = BadRequest.description
    show_exception = False

    def __init__(self, arg: t.Any = None, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if arg is None:
            KeyError.__init__(self)
        else:
            KeyError.__init__(self, arg)

    @property
    def description(self) -> str:
        if self.show_exception:
            return f"{self._description}\n{KeyError.__name__}: {KeyError.__str__(self)}"
        return self._description

    @description.setter
    def description(self, value: str) -> None:
        self._description = value

    def __str__(self) -> str:
        return HTTPException.__str__(self)


class Unauthorized(HTTPException):
    code = 401
    description = (
        "The server could not verify that you are authorized to access the URL requested."
        " You either supplied the wrong credentials (e.g. a bad password), or your browser"
        " doesn't understand how to supply the credentials required."
    )

    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        www_authenticate: t.Any = None,
    ) -> None:
        super().__init__(description, response)
        if www_authenticate is not None and not isinstance(www_authenticate, (list, tuple)):
            www_authenticate = (www_authenticate,)
        self.www_authenticate = www_authenticate

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: t.Any = None
    ) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        if self.www_authenticate:
            headers.extend(("WWW-Authenticate", str(x)) for x in self.www_authenticate)
        return headers


class Forbidden(HTTPException):
    code = 403
    description = (
        "You don't have the permission to access the requested resource. It is either"
        " read-protected or not readable by the server."
    )


class NotFound(HTTPException):
    code = 404
    description = (
        "The requested URL was not found on the server. If you entered the URL manually"
        " please check your spelling and try again."
    )


class MethodNotAllowed(HTTPException):
    code = 405
    description = "The method is not allowed for the requested URL."

    def __init__(
        self,
        valid_methods: Iterable[str] | None = None,
        description: str | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(description, response)
        self.valid_methods = valid_methods

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: t.Any = None
    ) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        if self.valid_methods:
            headers.append(("Allow", ", ".join(self.valid_methods)))
        return headers


class NotAcceptable(HTTPException):
    code = 406
    description = (
        "The resource identified by the request is only capable of generating response"
        " entities which have content characteristics not acceptable according to the"
        " accept headers sent in the request."
    )


class RequestTimeout(HTTPException):
    code = 408
    description = (
        "The server closed the network connection because the browser didn't finish the"
        " request within the specified time."
    )


class Conflict(HTTPException):
    code = 409
    description = (
        "A conflict happened while processing the request. The resource might have been"
        " modified while the request was being processed."
    )


class Gone(HTTPException):
    code = 410
    description = (
        "The requested URL is no longer available on this server and there is no"
        " forwarding address. If you followed a link from a foreign page, please contact"
        " the author of this page."
    )


class LengthRequired(HTTPException):
    code = 411
    description = "A request with this method requires a valid <code>Content-Length</code> header."


class PreconditionFailed(HTTPException):
    code = 412
    description = "The precondition on the request for the URL failed positive evaluation."


class RequestEntityTooLarge(HTTPException):
    code = 413
    description = "The data value transmitted exceeds the capacity limit."


class RequestURITooLarge(HTTPException):
    code = 414
    description = (
        "The length of the requested URL exceeds the capacity limit for this server. The"
        " request cannot be processed."
    )


class UnsupportedMediaType(HTTPException):
    code = 415
    description = "The server does not support the media type transmitted in the request."


class RequestedRangeNotSatisfiable(HTTPException):
    code = 416
    description = "The server cannot provide the requested range."

    def __init__(
        self,
        length: int | None = None,
        units: str = "bytes",
        description: str | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(description, response)
        self.length = length
        self.units = units

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: t.Any = None
    ) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        if self.length is not None:
            headers.append(("Content-Range", f"{self.units} */{self.length}"))
        return headers


class ExpectationFailed(HTTPException):
    code = 417
    description = "The server could not meet the requirements of the Expect header"


class ImATeapot(HTTPException):
    code = 418
    description = "This server is a teapot, not a coffee machine"


class MisdirectedRequest(HTTPException):
    code = 421
    description = "The server is not able to produce a response."


class UnprocessableEntity(HTTPException):
    code = 422
    description = (
        "The request was well-formed but was unable to be followed due to semantic errors."
    )


class Locked(HTTPException):
    code = 423
    description = "The resource that is being accessed is locked."


class FailedDependency(HTTPException):
    code = 424
    description = (
        "The method could not be performed on the resource because the requested action"
        " depended on another action and that action failed."
    )


class PreconditionRequired(HTTPException):
    code = 428
    description = (
        'This request is required to be conditional; try using "If-Match" or'
        ' "If-Unmodified-Since".'
    )


class _RetryAfter(HTTPException):
    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        retry_after: t.Any = None,
    ) -> None:
        super().__init__(description, response)
        self.retry_after = retry_after

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: t.Any = None
    ) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        if self.retry_after:
            value = self.retry_after
            value = http_date(value) if isinstance(value, datetime) else str(value)
            headers.append(("Retry-After", value))
        return headers


class TooManyRequests(_RetryAfter):
    code = 429
    description = "This user has exceeded an allotted request count. Try again later."


class RequestHeaderFieldsTooLarge(HTTPException):
    code = 431
    description = "One or more header fields exceeds the maximum size."


class UnavailableForLegalReasons(HTTPException):
    code = 451
    description = "Unavailable for legal reasons."


class InternalServerError(HTTPException):
    code = 500
    description = (
        "The server encountered an internal error and was unable to complete your request."
        " Either the server is overloaded or there is an error in the application."
    )

    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        original_exception: BaseException | None = None,
    ) -> None:
        self.original_exception = original_exception
        super().__init__(description, response)


class NotImplemented(HTTPException):
    code = 501
    description = "The server does not support the action requested by the browser."


class BadGateway(HTTPException):
    code = 502
    description = "The proxy server received an invalid response from an upstream server."


class ServiceUnavailable(_RetryAfter):
    code = 503
    description = (
        "The server is temporarily unable to service your request due to maintenance"
        " downtime or capacity problems. Please try again later."
    )


class GatewayTimeout(HTTPException):
    code = 504
    description = "The connection to an upstream server timed out."


class HTTPVersionNotSupported(HTTPException):
    code = 505
    description = "The server does not support the HTTP protocol version used in the request."


default_exceptions: dict[int, type[HTTPException]] = {}
for _obj in list(globals().values()):
    if (
        isinstance(_obj, type)
        and issubclass(_obj, HTTPException)
        and _obj.code is not None
        and _obj.code not in default_exceptions
        and _obj.__module__ == __name__
        and not _obj.__name__.startswith("_")
    ):
        default_exceptions[_obj.code] = _obj
default_exceptions[400] = BadRequest

#: Every HTTP exception class, corral.web's and (when installed) Werkzeug's: what the
#: app catches and answers with the exception's own status.
HTTP_EXCEPTIONS: tuple[type[Exception], ...] = (HTTPException,)
if werkzeug_interop.AVAILABLE:
    HTTP_EXCEPTIONS = (werkzeug_interop.werkzeug.exceptions.HTTPException,)


class Aborter:
    """Raise the HTTPException registered for a code, or a given response."""

    def __init__(
        self,
        mapping: dict[int, type[HTTPException]] | None = None,
        extra: dict[int, type[HTTPException]] | None = None,
    ) -> None:
        self.mapping = dict(default_exceptions if mapping is None else mapping)
        if extra:
            self.mapping.update(extra)

    def __call__(self, code: t.Any, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        if not args and not kwargs and not isinstance(code, int):
            raise HTTPException(response=code)
        if code not in self.mapping:
            raise LookupError(f"no exception for {code!r}")
        raise self.mapping[code](*args, **kwargs)


_aborter = Aborter()


def abort(status: t.Any, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """``abort(404)``, ``abort(400, description)`` or ``abort(response)``."""
    _aborter(status, *args, **kwargs)
