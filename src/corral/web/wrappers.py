"""Request and Response: lazy WSGI request wrapper and a fast WSGI response."""

from __future__ import annotations

import json
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from urllib.parse import parse_qsl, quote

from markupsafe import escape

from .datastructures import (
    Accept,
    Authorization,
    CharsetAccept,
    CombinedMultiDict,
    EnvironHeaders,
    Headers,
    HeaderSet,
    ImmutableMultiDict,
    LanguageAccept,
    MIMEAccept,
    MultiDict,
    ResponseCacheControl,
)
from .exceptions import BadRequest, RequestedRangeNotSatisfiable, UnsupportedMediaType
from .http import (
    HTTP_STATUS_CODES,
    dump_cookie,
    generate_etag,
    http_date,
    is_resource_modified,
    parse_accept_header,
    parse_cookie,
    parse_date,
    parse_etags,
    parse_options_header,
    parse_range_header,
    quote_etag,
    unquote_etag,
)
from .wsgi import (
    ClosingIterator,
    RangeWrapper,
    environ_text,
    get_content_length,
    get_host,
    get_input_stream,
    run_wsgi_app,
)

WSGIEnvironment = dict[str, t.Any]
StartResponse = Callable[..., t.Any]
_URL_SAFE = "!$&'()*+,/:;=@%"
_T = t.TypeVar("_T")


class cached_property(t.Generic[_T]):
    """A lock-free cached property: computed once, stored in the instance dict."""

    def __init__(self, func: Callable[[t.Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @t.overload
    def __get__(self, obj: None, owner: type | None = None) -> cached_property[_T]: ...
    @t.overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...
    def __get__(self, obj: t.Any, owner: type | None = None) -> t.Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


# kept for routing.Map.bind_to_environ
def _environ_host(environ: WSGIEnvironment) -> str:
    return get_host(environ)


def _environ_path(environ: WSGIEnvironment, key: str) -> str:
    return environ_text(environ, key)


class UserAgent:
    """The ``User-Agent`` header string (no parsing, like Werkzeug's default)."""

    platform: str | None = None
    browser: str | None = None
    version: str | None = None
    language: str | None = None

    def __init__(self, string: str) -> None:
        self.string = string

    def __str__(self) -> str:
        return self.string

    def __bool__(self) -> bool:
        return bool(self.string)

    def to_header(self) -> str:
        return self.string


class _StdJSON:
    """The default ``json_module``: the standard library's json."""

    @staticmethod
    def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
        return json.loads(s, **kwargs)

    @staticmethod
    def dumps(obj: t.Any, **kwargs: t.Any) -> str:
        return json.dumps(obj, **kwargs)


def _is_json_mimetype(mt: str) -> bool:
    return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))


def _split_blueprint_path(name: str) -> list[str]:
    out = [name]
    while "." in name:
        name = name.rpartition(".")[0]
        out.append(name)
    return out


class Request:
    """A WSGI request. Constructing one stores the environ and nothing else."""

    charset = "utf-8"
    url_charset = "utf-8"
    encoding_errors = "replace"
    parameter_storage_class: type[MultiDict] = ImmutableMultiDict
    list_storage_class: type[list[t.Any]] = list
    trusted_hosts: list[str] | None = None
    json_module: t.Any = _StdJSON
    max_content_length: int | None = None
    max_form_memory_size: int | None = 500_000
    max_form_parts: int | None = 1000
    want_form_data_parsed_for = ("application/x-www-form-urlencoded", "multipart/form-data")

    url_rule: t.Any = None
    view_args: dict[str, t.Any] | None = None
    routing_exception: Exception | None = None

    def __init__(
        self, environ: WSGIEnvironment, populate_request: bool = True, shallow: bool = False
    ) -> None:
        self.environ = environ
        self.shallow = shallow
        if populate_request and not shallow:
            environ["werkzeug.request"] = self

    # -- basics
    @cached_property
    def method(self) -> str:
        return self.environ.get("REQUEST_METHOD", "GET").upper()  # type: ignore[no-any-return]

    @property
    def scheme(self) -> str:
        return self.environ.get("wsgi.url_scheme", "http")  # type: ignore[no-any-return]

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")

    @cached_property
    def path(self) -> str:
        return "/" + environ_text(self.environ, "PATH_INFO").lstrip("/")

    @property
    def query_string(self) -> bytes:
        return self.environ.get("QUERY_STRING", "").encode("latin1")  # type: ignore[no-any-return]

    @cached_property
    def full_path(self) -> str:
        return f"{self.path}?{environ_text(self.environ, 'QUERY_STRING')}"

    @cached_property
    def script_root(self) -> str:
        return environ_text(self.environ, "SCRIPT_NAME").rstrip("/")

    @cached_property
    def host(self) -> str:
        return get_host(self.environ, self.trusted_hosts)

    @property
    def host_url(self) -> str:
        return f"{self.scheme}://{self.host}/"

    @property
    def root_url(self) -> str:
        return f"{self.scheme}://{self.host}{quote(self.script_root, safe=_URL_SAFE)}/"

    @property
    def url_root(self) -> str:
        return self.root_url

    @property
    def base_url(self) -> str:
        return (
            f"{self.scheme}://{self.host}"
            f"{quote(self.script_root + self.path, safe=_URL_SAFE)}"
        )

    @property
    def url(self) -> str:
        qs = self.environ.get("QUERY_STRING", "")
        if qs:
            qs = quote(environ_text(self.environ, "QUERY_STRING"), safe=_URL_SAFE + "?")
            return f"{self.base_url}?{qs}"
        return self.base_url

    @property
    def remote_addr(self) -> str | None:
        return self.environ.get("REMOTE_ADDR")

    @property
    def remote_user(self) -> str | None:
        return self.environ.get("REMOTE_USER")

    @cached_property
    def access_route(self) -> list[str]:
        forwarded = self.environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded:
            return [x.strip() for x in forwarded.split(",") if x.strip()]
        addr = self.remote_addr
        return [addr] if addr else []

    @property
    def input_stream(self) -> t.Any:
        return self.environ.get("wsgi.input")

    @property
    def is_multithread(self) -> bool:
        return bool(self.environ.get("wsgi.multithread"))

    @property
    def is_multiprocess(self) -> bool:
        return bool(self.environ.get("wsgi.multiprocess"))

    @property
    def is_run_once(self) -> bool:
        return bool(self.environ.get("wsgi.run_once"))

    # -- headers
    @cached_property
    def headers(self) -> EnvironHeaders:
        return EnvironHeaders(self.environ)

    @property
    def content_type(self) -> str | None:
        return self.environ.get("CONTENT_TYPE") or None

    @cached_property
    def _parsed_content_type(self) -> tuple[str, dict[str, str]]:
        return parse_options_header(self.environ.get("CONTENT_TYPE", ""))

    @property
    def mimetype(self) -> str:
        return self._parsed_content_type[0].lower()

    @property
    def mimetype_params(self) -> dict[str, str]:
        return self._parsed_content_type[1]

    @property
    def content_length(self) -> int | None:
        return get_content_length(self.environ)

    @property
    def content_encoding(self) -> str | None:
        return self.environ.get("HTTP_CONTENT_ENCODING")

    @property
    def user_agent(self) -> UserAgent:
        return UserAgent(self.environ.get("HTTP_USER_AGENT", ""))

    @property
    def referrer(self) -> str | None:
        return self.environ.get("HTTP_REFERER")

    @cached_property
    def authorization(self) -> Authorization | None:
        return Authorization.from_header(self.environ.get("HTTP_AUTHORIZATION"))

    @cached_property
    def accept_mimetypes(self) -> MIMEAccept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT"), MIMEAccept)  # type: ignore[no-any-return]

    @cached_property
    def accept_charsets(self) -> CharsetAccept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_CHARSET"), CharsetAccept)  # type: ignore[no-any-return]

    @cached_property
    def accept_encodings(self) -> Accept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_ENCODING"))  # type: ignore[no-any-return]

    @cached_property
    def accept_languages(self) -> LanguageAccept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)  # type: ignore[no-any-return]

    @cached_property
    def if_modified_since(self) -> datetime | None:
        return parse_date(self.environ.get("HTTP_IF_MODIFIED_SINCE"))

    @cached_property
    def if_unmodified_since(self) -> datetime | None:
        return parse_date(self.environ.get("HTTP_IF_UNMODIFIED_SINCE"))

    @cached_property
    def if_none_match(self) -> t.Any:
        return parse_etags(self.environ.get("HTTP_IF_NONE_MATCH"))

    @cached_property
    def if_match(self) -> t.Any:
        return parse_etags(self.environ.get("HTTP_IF_MATCH"))

    @cached_property
    def range(self) -> t.Any:
        return parse_range_header(self.environ.get("HTTP_RANGE"))

    # -- query string and cookies
    @cached_property
    def args(self) -> MultiDict:
        qs = self.environ.get("QUERY_STRING", "")
        if not qs:
            return self.parameter_storage_class()
        if not qs.isascii():
            qs = qs.encode("latin1").decode("utf-8", "replace")
        pairs = parse_qsl(qs, keep_blank_values=True, errors="replace")
        return self.parameter_storage_class(pairs)

    @cached_property
    def cookies(self) -> MultiDict:
        return parse_cookie(
            environ_text(self.environ, "HTTP_COOKIE"), self.parameter_storage_class
        )

    # -- body
    @cached_property
    def stream(self) -> t.IO[bytes]:
        return get_input_stream(self.environ, self.max_content_length)

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        if parse_form_data:
            self._load_form_data()
        data = self.__dict__.get("_cached_data")
        if data is None:
            data = self.stream.read()
            if cache:
                self._cached_data = data
        if as_text:
            return data.decode(self.charset, self.encoding_errors)
        return data

    @property
    def data(self) -> bytes:
        return self.get_data(parse_form_data=True)  # type: ignore[no-any-return]

    def _get_stream_for_parsing(self) -> t.IO[bytes]:
        data = self.__dict__.get("_cached_data")
        if data is not None:
            import io

            return io.BytesIO(data)
        return self.stream

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        if self.shallow:
            raise RuntimeError("A shallow request tried to consume form data.")
        if self.mimetype in self.want_form_data_parsed_for:
            from .formparser import parse_form_data

            _stream, form, files = parse_form_data(
                self.environ,
                self._get_stream_for_parsing(),
                max_form_memory_size=self.max_form_memory_size,
                max_form_parts=self.max_form_parts,
                cls=self.parameter_storage_class,
            )
            self.__dict__["_cached_data"] = self.__dict__.get("_cached_data", b"")
        else:
            form = files = self.parameter_storage_class()
        self.__dict__["form"] = form
        self.__dict__["files"] = files

    @property
    def form(self) -> MultiDict:
        self._load_form_data()
        return self.__dict__["form"]  # type: ignore[no-any-return]

    @property
    def files(self) -> MultiDict:
        self._load_form_data()
        return self.__dict__["files"]  # type: ignore[no-any-return]

    @cached_property
    def values(self) -> CombinedMultiDict:
        sources: list[MultiDict] = [self.args]
        if self.method != "GET":
            sources.append(self.form)
        return CombinedMultiDict(sources)

    # -- JSON
    @property
    def is_json(self) -> bool:
        return _is_json_mimetype(self.mimetype)

    @property
    def json(self) -> t.Any:
        return self.get_json()

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> t.Any:
        cached = self.__dict__.get("_cached_json")
        if cache and cached is not None:
            return cached[silent]
        if not (force or self.is_json):
            if not silent:
                return self.on_json_loading_failed(None)
            return None
        data = self.get_data(cache=cache)
        try:
            rv = self.json_module.loads(data)
        except ValueError as e:
            if silent:
                rv = None
                if cache:
                    normal = cached[False] if cached is not None else _unset
                    self.__dict__["_cached_json"] = (normal, rv)
                return rv
            rv = self.on_json_loading_failed(e)
            if cache:
                self.__dict__["_cached_json"] = (rv, None)
            return rv
        if cache:
            self.__dict__["_cached_json"] = (rv, rv)
        return rv

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        if e is not None:
            raise BadRequest(f"Failed to decode JSON object: {e}")
        raise UnsupportedMediaType(
            "Did not attempt to load JSON data because the request"
            " Content-Type was not 'application/json'."
        )

    # -- routing results
    @property
    def endpoint(self) -> str | None:
        return None if self.url_rule is None else self.url_rule.endpoint  # type: ignore[no-any-return]

    @property
    def blueprint(self) -> str | None:
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        name = self.blueprint
        return [] if name is None else _split_blueprint_path(name)

    # -- lifetime
    def close(self) -> None:
        files = self.__dict__.get("files")
        if files:
            for _key, value in files.items(multi=True):
                value.close()

    def __enter__(self) -> Request:
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    def __repr__(self) -> str:
        try:
            url = self.url
        except Exception as e:
            url = f"(invalid URL: {e})"
        return f"<{type(self).__name__} {url!r} [{self.method}]>"


_unset: t.Any = None

_CHARSET_APP_TYPES = frozenset(
    {
        "application/ecmascript",
        "application/javascript",
        "application/sql",
        "application/xml",
        "application/xml-dtd",
        "application/xml-external-parsed-entity",
    }
)
_content_type_cache: dict[tuple[str, str], str] = {}


def get_content_type(mimetype: str, charset: str) -> str:
    """Append ``; charset=`` to text-ish mimetypes."""
    key = (mimetype, charset)
    cached = _content_type_cache.get(key)
    if cached is not None:
        return cached
    result = mimetype
    if "charset" not in mimetype and (
        mimetype.startswith("text/")
        or mimetype in _CHARSET_APP_TYPES
        or (mimetype.startswith("application/") and mimetype.endswith("+xml"))
    ):
        result = f"{mimetype}; charset={charset}"
    if len(_content_type_cache) < 256:
        _content_type_cache[key] = result
    return result


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


from .response_mixins import ResponseConditionalMixin  # noqa: E402


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
            return self.response  # type: ignore[no-any-return]
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
            and "content-length" in self.headers
        ):
            start_response(self._status, list(self.headers._list))
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
        return response  # type: ignore[no-any-return]

    @classmethod
    def from_app(
        cls, app: Callable[..., Iterable[bytes]], environ: WSGIEnvironment, buffered: bool = False
    ) -> Response:
        return cls(*run_wsgi_app(app, environ, buffered))

    def __repr__(self) -> str:
        body = f"{sum(map(len, self.iter_encoded()))} bytes" if self.is_sequence else "streamed"
        return f"<{type(self).__name__} {body} [{self.status}]>"


def redirect(location: str, code: int = 302, Response: type[Response] | None = None) -> Response:
    """A redirect response with Werkzeug's small HTML body."""
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
    "HeaderSet", "Mapping", "Request", "Response", "ResponseCacheControl", "RangeWrapper",
    "RequestedRangeNotSatisfiable", "cached_property", "generate_etag", "get_content_type",
    "http_date", "is_resource_modified", "quote_etag", "redirect", "unquote_etag",
]  # fmt: skip
