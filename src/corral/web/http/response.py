"""Response (a fast WSGI response) and redirect(); Request is re-exported from .request."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable, Iterator

from markupsafe import escape

from .datastructures.headers import Headers
from .header_syntax import get_content_type
from .parsing import HTTP_STATUS_CODES, dump_cookie, iri_to_uri
from .request import (
    Request,
    UserAgent,
    _environ_host,
    _environ_path,
    _is_json_mimetype,
    _StdJSON,
    cached_property,
)
from .response_conditional import ResponseConditionalMixin
from .wsgi import ClosingIterator, run_wsgi_app

WSGIEnvironment = dict[str, t.Any]
StartResponse = Callable[..., t.Any]

_status_cache: dict[int, str] = {
    code: f"{code} {phrase.upper()}" for code, phrase in HTTP_STATUS_CODES.items()
}
_NO_BODY_STATUS = frozenset({204, 304})
_ENTITY_HEADERS = frozenset(
    {
        "allow", "content-encoding", "content-language", "content-length", "content-md5",
        "content-range", "content-type", "last-modified",
    }
)  # fmt: skip


def _clean_status(value: t.Any) -> tuple[str, int]:
    if isinstance(value, int):
        code = int(value)
        status = _status_cache.get(code)
        return (status if status is not None else f"{code} UNKNOWN"), code
    if isinstance(value, bytes):
        value = value.decode("latin1")
    value = str(value).strip()
    if not value:
        raise ValueError("Empty status argument")
    code_str, sep, _rest = value.partition(" ")
    try:
        code = int(code_str)
    except ValueError:
        return f"0 {value}", 0
    if sep:
        return value, code
    return _clean_status(code)




class ResponseStream:
    """A write-only file over a response body: each write appends a chunk."""

    mode = "wb+"

    def __init__(self, response: Response) -> None:
        self.response = response
        self.closed = False

    def write(self, value: bytes) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        self.response._ensure_sequence(mutable=True)
        self.response.response.append(value)
        self.response.headers.remove("Content-Length")
        return len(value)

    def writelines(self, seq: Iterable[bytes]) -> None:
        for item in seq:
            self.write(item)

    def close(self) -> None:
        self.closed = True

    def flush(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return False

    def tell(self) -> int:
        self.response._ensure_sequence()
        return sum(map(len, self.response.response))

    @property
    def encoding(self) -> str:
        return "utf-8"


class Response(ResponseConditionalMixin):
    """A WSGI response built from a body (str/bytes/iterable), a status and headers."""

    charset = "utf-8"
    default_status = 200
    default_mimetype: str | None = "text/html"
    implicit_sequence_conversion = True
    autocorrect_location_header = False
    automatically_set_content_length = True
    max_cookie_size = 4093
    json_module: t.Any = _StdJSON

    def __init__(
        self,
        response: t.Any = None,
        status: int | str | None = None,
        headers: t.Any = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        if headers is None:
            self.headers = Headers()
        elif isinstance(headers, Headers):
            self.headers = headers
        else:
            self.headers = Headers(headers)
        if content_type is None:
            if mimetype is None and "content-type" not in self.headers:
                mimetype = self.default_mimetype
            if mimetype is not None:
                self.headers.set("Content-Type", get_content_type(mimetype, self.charset))
        else:
            self.headers.set("Content-Type", content_type)
        if status is None:
            status = self.default_status
        self._status, self._status_code = _clean_status(status)
        self.direct_passthrough = direct_passthrough
        self._on_close: list[Callable[[], t.Any]] = []
        if response is None:
            self.response: t.Any = []
        elif isinstance(response, (str, bytes, bytearray)):
            self.set_data(response)
        else:
            self.response = response

    # -- status
    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, value: int | str) -> None:
        self._status, self._status_code = _clean_status(value)

    @property
    def status_code(self) -> int:
        return self._status_code

    @status_code.setter
    def status_code(self, code: int) -> None:
        self.status = code

    # -- body
    def set_data(self, value: str | bytes | bytearray) -> None:
        if isinstance(value, str):
            value = value.encode(self.charset)
        else:
            value = bytes(value)
        self.response = [value]
        if self.automatically_set_content_length:
            self.headers.set("Content-Length", str(len(value)))

    def get_data(self, as_text: bool = False) -> t.Any:
        self._ensure_sequence()
        rv = b"".join(self.iter_encoded())
        return rv.decode(self.charset) if as_text else rv

    data = property(get_data, set_data)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.response, (tuple, list))

    @property
    def is_streamed(self) -> bool:
        try:
            len(self.response)
        except (TypeError, AttributeError):
            return True
        return False

    def _ensure_sequence(self, mutable: bool = False) -> None:
        if self.is_sequence:
            if mutable and not isinstance(self.response, list):
                self.response = list(self.response)
            return
        if self.direct_passthrough:
            raise RuntimeError(
                "Attempted implicit sequence conversion but the response object is in"
                " direct passthrough mode."
            )
        if not self.implicit_sequence_conversion:
            raise RuntimeError("The response object required the iterable to be a sequence.")
        self.make_sequence()

    def make_sequence(self) -> None:
        if not self.is_sequence:
            close = getattr(self.response, "close", None)
            self.response = list(self.iter_encoded())
            if close is not None:
                self.call_on_close(close)

    def iter_encoded(self) -> Iterator[bytes]:
        charset = self.charset
        for item in self.response:
            yield item.encode(charset) if isinstance(item, str) else item

    def calculate_content_length(self) -> int | None:
        try:
            self._ensure_sequence()
        except RuntimeError:
            return None
        return sum(len(x) for x in self.iter_encoded())

    def freeze(self) -> None:
        self.response = list(self.iter_encoded())
        self.headers["Content-Length"] = str(sum(map(len, self.response)))

    def call_on_close(self, func: Callable[[], t.Any]) -> Callable[[], t.Any]:
        self._on_close.append(func)
        return func

    def close(self) -> None:
        close = getattr(self.response, "close", None)
        if close is not None:
            close()
        for func in self._on_close:
            func()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    @cached_property
    def stream(self) -> ResponseStream:
        """A file-like object whose writes append to the body."""
        return ResponseStream(self)

    # -- JSON
    @property
    def is_json(self) -> bool:
        return _is_json_mimetype(self.mimetype or "")

    @property
    def json(self) -> t.Any:
        return self.get_json()

    def get_json(self, force: bool = False, silent: bool = False) -> t.Any:
        if not (force or self.is_json):
            return None
        try:
            return self.json_module.loads(self.get_data())
        except ValueError:
            if not silent:
                raise
            return None

    # -- cookies
    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: t.Any = None,
        expires: t.Any = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
        partitioned: bool = False,
    ) -> None:
        self.headers.add(
            "Set-Cookie",
            dump_cookie(
                key, value, max_age=max_age, expires=expires, path=path, domain=domain,
                secure=secure, httponly=httponly, max_size=self.max_cookie_size,
                samesite=samesite, partitioned=partitioned,
            ),  # fmt: skip
        )

    def delete_cookie(
        self,
        key: str,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
        partitioned: bool = False,
    ) -> None:
        self.set_cookie(
            key, expires=0, max_age=0, path=path, domain=domain, secure=secure,
            httponly=httponly, samesite=samesite, partitioned=partitioned,
        )  # fmt: skip

    # -- WSGI
    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        headers = Headers(self.headers)
        status = self._status_code
        if (
            self.automatically_set_content_length
            and self.is_sequence
            and "content-length" not in headers
            and status not in _NO_BODY_STATUS
            and not 100 <= status < 200
        ):
            headers["Content-Length"] = str(sum(len(x) for x in self.iter_encoded()))
        for key in ("Location", "Content-Location"):
            value = headers.get(key)
            if value is not None:
                converted = iri_to_uri(value)
                if converted != value:
                    headers[key] = converted
        if status in (304, 412):
            for key in {k.lower() for k, _v in headers}:
                if key in _ENTITY_HEADERS:
                    headers.remove(key)
        return headers

    def get_app_iter(self, environ: WSGIEnvironment) -> Iterable[bytes]:
        status = self._status_code
        if (
            environ.get("REQUEST_METHOD") == "HEAD"
            or 100 <= status < 200
            or status in _NO_BODY_STATUS
        ):
            iterable: Iterable[bytes] = ()
        elif self.direct_passthrough:
            return self.response
        else:
            iterable = self.iter_encoded()
        return ClosingIterator(iterable, [self.close])

    def get_wsgi_response(
        self, environ: WSGIEnvironment
    ) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
        headers = self.get_wsgi_headers(environ)
        return self.get_app_iter(environ), self._status, headers.to_wsgi_list()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = self.response
        code = self._status_code
        # fast path: a ready body, Content-Length already right, nothing to run on close
        if (
            type(body) is list
            and len(body) == 1
            and type(body[0]) is bytes
            and not self._on_close
            and code not in _NO_BODY_STATUS
            and code >= 200
            and self.automatically_set_content_length
            and environ.get("REQUEST_METHOD") != "HEAD"
        ):
            header_list = self.headers._list
            sized = False
            for key, _value in header_list:
                name = key.lower()
                if name == "content-length":
                    sized = True
                elif name == "location" or name == "content-location":
                    break  # get_wsgi_headers makes these URIs
            else:
                if sized:
                    start_response(self._status, list(header_list))
                    return body
        app_iter, status, headers = self.get_wsgi_response(environ)
        start_response(status, headers)
        return app_iter

    @classmethod
    def force_type(cls, response: t.Any, environ: WSGIEnvironment | None = None) -> Response:
        if not isinstance(response, Response):
            if environ is None:
                raise TypeError(
                    "cannot convert WSGI application into response objects without an environ"
                )
            app_iter, status, headers = run_wsgi_app(response, environ)
            response = Response(app_iter, status, headers)
        response.__class__ = cls
        return response

    @classmethod
    def from_app(
        cls, app: Callable[..., Iterable[bytes]], environ: WSGIEnvironment, buffered: bool = False
    ) -> Response:
        return cls(*run_wsgi_app(app, environ, buffered))

    def __repr__(self) -> str:
        body = f"{sum(map(len, self.iter_encoded()))} bytes" if self.is_sequence else "streamed"
        return f"<{type(self).__name__} {body} [{self.status}]>"


_R = t.TypeVar("_R", bound="Response")


@t.overload
def redirect(location: str, code: int = 302, Response: None = None) -> Response: ...
@t.overload
def redirect(location: str, code: int, Response: type[_R]) -> _R: ...
@t.overload
def redirect(location: str, code: int = 302, *, Response: type[_R]) -> _R: ...
def redirect(location: str, code: int = 302, Response: type[Response] | None = None) -> Response:
    """A redirect response with Werkzeug's small HTML body (an instance of
    ``Response`` when given)."""
    if Response is None:
        Response = globals()["Response"]
    assert Response is not None
    html_location = escape(location)
    response = Response(
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n"
        "<p>You should be redirected automatically to the target URL: "
        f'<a href="{html_location}">{html_location}</a>. If not, click the link.\n',
        code,
        mimetype="text/html",
    )
    response.headers["Location"] = location
    return response


__all__ = [
    "Request", "Response", "ResponseStream", "UserAgent", "_environ_host", "_environ_path", "cached_property",
    "get_content_type", "redirect",
]  # fmt: skip
