"""Request: a lazy wrapper around a WSGI environ (nothing is parsed until asked)."""

from __future__ import annotations

import io
import json
import typing as t
from collections.abc import Callable
from datetime import datetime
from functools import update_wrapper
from urllib.parse import quote

from .datastructures.header_values import (
    Accept,
    Authorization,
    CharsetAccept,
    HeaderSet,
    IfRange,
    LanguageAccept,
    MIMEAccept,
    RequestCacheControl,
    parse_if_range,
    parse_set_header,
)
from .datastructures.headers import EnvironHeaders
from .datastructures.structures import CombinedMultiDict, ImmutableMultiDict, MultiDict
from .environ_builder import EnvironBuilder
from .exceptions import BadRequest, HTTPException, UnsupportedMediaType
from .form_data_parser import FormDataParser
from .parsing import (
    parse_accept_header,
    parse_cookie,
    parse_date,
    parse_dict_header,
    parse_etags,
    parse_options_header,
    parse_qs_pairs,
    parse_range_header,
    uri_to_iri,
)
from .wsgi import environ_text, get_content_length, get_host, get_input_stream

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


_WERKZEUG_BUILDER_ARGS = (
    "path", "base_url", "query_string", "method", "input_stream", "content_type",
    "content_length", "errors_stream", "multithread", "multiprocess", "run_once", "headers",
    "data", "environ_base", "environ_overrides", "mimetype", "json", "auth",
)  # fmt: skip


class Request:
    """A WSGI request. Constructing one stores the environ and nothing else."""

    charset = "utf-8"
    url_charset = "utf-8"
    encoding_errors = "replace"
    parameter_storage_class: type[MultiDict] = ImmutableMultiDict
    dict_storage_class: type[MultiDict] = ImmutableMultiDict
    form_data_parser_class: type[FormDataParser] = FormDataParser
    user_agent_class: type[UserAgent] = UserAgent
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
        #: the request method, upper case (read once: every request is matched by it)
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        self.shallow = shallow
        if populate_request and not shallow:
            environ["werkzeug.request"] = self

    @classmethod
    def from_values(cls, *args: t.Any, **kwargs: t.Any) -> Request:
        """A request for an environ built from test-client style arguments
        (``Request.from_values("/?a=1", method="POST", data=...)``)."""
        charset = kwargs.pop("charset", None)
        if charset is not None:
            kwargs.setdefault("content_type", f"text/plain; charset={charset}")
        if len(args) > len(_WERKZEUG_BUILDER_ARGS):
            raise TypeError(f"from_values() takes at most {len(_WERKZEUG_BUILDER_ARGS)} positional arguments")
        kwargs.update(zip(_WERKZEUG_BUILDER_ARGS, args, strict=False))  # in Werkzeug's order
        return cls(EnvironBuilder(None, **kwargs).get_environ())

    @classmethod
    def application(cls, f: Callable[..., t.Any]) -> Callable[..., t.Any]:
        """Turn ``f(request) -> response`` into a WSGI app; an HTTPException
        raised by ``f`` becomes its response."""
        def application(*args: t.Any) -> t.Any:
            environ, start_response = args[-2], args[-1]
            request = cls(environ)
            with request:
                try:
                    resp = f(*args[:-2], request)
                except HTTPException as e:
                    resp = e.get_response(environ)
                return resp(environ, start_response)

        return update_wrapper(application, f)

    # -- basics
    @property
    def scheme(self) -> str:
        return self.environ.get("wsgi.url_scheme", "http")

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")

    @cached_property
    def path(self) -> str:
        return "/" + environ_text(self.environ, "PATH_INFO").lstrip("/")

    @property
    def query_string(self) -> bytes:
        return self.environ.get("QUERY_STRING", "").encode("latin1")

    @cached_property
    def full_path(self) -> str:
        return f"{self.path}?{environ_text(self.environ, 'QUERY_STRING')}"

    @cached_property
    def root_path(self) -> str:
        """``SCRIPT_NAME`` as text, trailing slash kept."""
        return environ_text(self.environ, "SCRIPT_NAME")

    @cached_property
    def server(self) -> tuple[str, int | None] | None:
        """(``SERVER_NAME``, ``SERVER_PORT``) the request reached, if known."""
        name = self.environ.get("SERVER_NAME")
        if name is None:
            return None
        try:
            port: int | None = int(self.environ.get("SERVER_PORT", ""))
        except ValueError:
            port = None
        return name, port

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
        return uri_to_iri(f"{self.scheme}://{self.host}{quote(self.script_root, safe=_URL_SAFE)}/")

    @property
    def url_root(self) -> str:
        return self.root_url

    @property
    def base_url(self) -> str:
        return uri_to_iri(self._base_uri())

    def _base_uri(self) -> str:
        return (
            f"{self.scheme}://{self.host}"
            f"{quote(self.script_root + self.path, safe=_URL_SAFE)}"
        )

    @property
    def url(self) -> str:
        qs = self.environ.get("QUERY_STRING", "")
        if qs:
            qs = quote(environ_text(self.environ, "QUERY_STRING"), safe=_URL_SAFE + "?")
            return uri_to_iri(f"{self._base_uri()}?{qs}")
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

    @cached_property
    def user_agent(self) -> UserAgent:
        return self.user_agent_class(self.environ.get("HTTP_USER_AGENT", ""))

    @property
    def origin(self) -> str | None:
        return self.environ.get("HTTP_ORIGIN")

    @property
    def content_md5(self) -> str | None:
        return self.environ.get("HTTP_CONTENT_MD5")

    @property
    def access_control_request_method(self) -> str | None:
        return self.environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")

    @property
    def access_control_request_headers(self) -> HeaderSet | None:
        raw = self.environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        return None if raw is None else parse_set_header(raw)

    @property
    def max_forwards(self) -> int | None:
        try:
            return int(self.environ["HTTP_MAX_FORWARDS"])
        except (KeyError, ValueError):
            return None

    @property
    def date(self) -> datetime | None:
        return parse_date(self.environ.get("HTTP_DATE"))

    @cached_property
    def pragma(self) -> HeaderSet:
        return parse_set_header(self.environ.get("HTTP_PRAGMA", ""))

    @cached_property
    def cache_control(self) -> RequestCacheControl:
        raw = self.environ.get("HTTP_CACHE_CONTROL")
        return RequestCacheControl(parse_dict_header(raw) if raw else None)

    @cached_property
    def if_range(self) -> IfRange:
        return parse_if_range(self.environ.get("HTTP_IF_RANGE"))

    @property
    def referrer(self) -> str | None:
        return self.environ.get("HTTP_REFERER")

    @cached_property
    def authorization(self) -> Authorization | None:
        return Authorization.from_header(self.environ.get("HTTP_AUTHORIZATION"))

    @cached_property
    def accept_mimetypes(self) -> MIMEAccept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT"), MIMEAccept)

    @cached_property
    def accept_charsets(self) -> CharsetAccept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_CHARSET"), CharsetAccept)

    @cached_property
    def accept_encodings(self) -> Accept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_ENCODING"))

    @cached_property
    def accept_languages(self) -> LanguageAccept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)

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
        return self.parameter_storage_class(parse_qs_pairs(qs))

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
        return self.get_data(parse_form_data=True)

    def _get_stream_for_parsing(self) -> t.IO[bytes]:
        data = self.__dict__.get("_cached_data")
        if data is not None:
            return io.BytesIO(data)
        return self.stream

    @property
    def want_form_data_parsed(self) -> bool:
        """Whether the request has a content type (a form parser would look at it)."""
        return bool(self.environ.get("CONTENT_TYPE"))

    def make_form_data_parser(self) -> FormDataParser:
        return self.form_data_parser_class(
            max_form_memory_size=self.max_form_memory_size,
            cls=self.parameter_storage_class,
            max_form_parts=self.max_form_parts,
        )

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        if self.shallow:
            raise RuntimeError("A shallow request tried to consume form data.")
        if self.mimetype in self.want_form_data_parsed_for:
            _stream, form, files = self.make_form_data_parser().parse(
                self._get_stream_for_parsing(),
                self.mimetype,
                self.content_length,
                self.mimetype_params,
            )
            self.__dict__["_cached_data"] = self.__dict__.get("_cached_data", b"")
        else:
            form = files = self.parameter_storage_class()
        self.__dict__["form"] = form
        self.__dict__["files"] = files

    @property
    def form(self) -> MultiDict:
        self._load_form_data()
        return self.__dict__["form"]

    @property
    def files(self) -> MultiDict:
        self._load_form_data()
        return self.__dict__["files"]

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
        cached = self.__dict__.get("_cached_json", (_unset, _unset))
        if cache and cached[silent] is not _unset:
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
                    self.__dict__["_cached_json"] = (cached[0], rv)
                return rv
            rv = self.on_json_loading_failed(e)
            if cache:
                self.__dict__["_cached_json"] = (rv, cached[1])
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
        return None if self.url_rule is None else self.url_rule.endpoint

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


_unset: t.Any = object()
