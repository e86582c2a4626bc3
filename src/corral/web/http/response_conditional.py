"""Header-backed properties and conditional (304/206/416) handling of Response."""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta, timezone

from .datastructures.header_values import (
    COEP,
    COOP,
    ContentSecurityPolicy,
    HeaderSet,
    ResponseCacheControl,
    WWWAuthenticate,
    parse_set_header,
)
from .datastructures.headers import Headers
from .exceptions import RequestedRangeNotSatisfiable
from .header_syntax import get_content_type
from .parsing import (
    ContentRange,
    generate_etag,
    http_date,
    is_resource_modified,
    parse_date,
    parse_dict_header,
    parse_etags,
    parse_options_header,
    parse_range_header,
    quote_etag,
    unquote_etag,
)
from .wsgi import RangeWrapper


def _header_text(name: str) -> property:
    def getter(self: ResponseConditionalMixin) -> str | None:
        return self.headers.get(name)

    def setter(self: ResponseConditionalMixin, value: t.Any) -> None:
        if value is None:
            self.headers.remove(name)
        else:
            self.headers[name] = str(value)

    def deleter(self: ResponseConditionalMixin) -> None:
        self.headers.remove(name)

    return property(getter, setter, deleter)


def _header_date(name: str) -> property:
    def getter(self: ResponseConditionalMixin) -> datetime | None:
        return parse_date(self.headers.get(name))

    def setter(self: ResponseConditionalMixin, value: t.Any) -> None:
        if value is None:
            self.headers.remove(name)
        else:
            self.headers[name] = value if isinstance(value, str) else http_date(value)

    def deleter(self: ResponseConditionalMixin) -> None:
        self.headers.remove(name)

    return property(getter, setter, deleter)


def _header_set(name: str) -> property:
    def getter(self: ResponseConditionalMixin) -> HeaderSet:
        def on_update(hs: HeaderSet) -> None:
            if hs:
                self.headers[name] = hs.to_header()
            else:
                self.headers.remove(name)

        raw = self.headers.get(name)
        values = [v.strip() for v in raw.split(",") if v.strip()] if raw else []
        return HeaderSet(values, on_update)

    def setter(self: ResponseConditionalMixin, value: t.Any) -> None:
        if not value:
            self.headers.remove(name)
        elif isinstance(value, str):
            self.headers[name] = value
        else:
            self.headers[name] = ", ".join(value)

    return property(getter, setter)


def _header_list(name: str) -> property:
    """A comma-separated header as a HeaderSet; None when the header is absent."""

    def getter(self: ResponseConditionalMixin) -> HeaderSet | None:
        raw = self.headers.get(name)
        return None if raw is None else parse_set_header(raw)

    def setter(self: ResponseConditionalMixin, value: t.Any) -> None:
        if value is None:
            self.headers.remove(name)
        elif isinstance(value, str):
            self.headers[name] = value
        else:
            self.headers[name] = ", ".join(value)

    def deleter(self: ResponseConditionalMixin) -> None:
        self.headers.remove(name)

    return property(getter, setter, deleter)


def _header_converted(name: str, load: t.Callable[[str], t.Any], default: t.Any = None) -> property:
    def getter(self: ResponseConditionalMixin) -> t.Any:
        raw = self.headers.get(name)
        if raw is None:
            return default
        try:
            return load(raw)
        except ValueError:
            return default

    def setter(self: ResponseConditionalMixin, value: t.Any) -> None:
        if value is None:
            self.headers.remove(name)
        else:
            self.headers[name] = str(getattr(value, "value", value))

    def deleter(self: ResponseConditionalMixin) -> None:
        self.headers.remove(name)

    return property(getter, setter, deleter)


def _csp_header(name: str) -> property:
    def getter(self: ResponseConditionalMixin) -> ContentSecurityPolicy:
        def on_update(csp: ContentSecurityPolicy) -> None:
            setter(self, csp)

        return ContentSecurityPolicy.from_header(self.headers.get(name), on_update)

    def setter(self: ResponseConditionalMixin, value: t.Any) -> None:
        if not value:
            self.headers.remove(name)
        else:
            self.headers[name] = value if isinstance(value, str) else value.to_header()

    return property(getter, setter)


class ResponseConditionalMixin:
    """Needs ``headers``, ``status_code``, ``response`` and the sequence helpers."""

    headers: Headers
    response: t.Any
    status_code: int
    automatically_set_content_length: bool
    charset: str

    def get_data(self, as_text: bool = False) -> t.Any:
        raise NotImplementedError

    def calculate_content_length(self) -> int | None:
        raise NotImplementedError

    location = _header_text("Location")
    content_type = _header_text("Content-Type")
    content_encoding = _header_text("Content-Encoding")
    content_language = _header_text("Content-Language")
    content_location = _header_text("Content-Location")
    accept_ranges = _header_text("Accept-Ranges")
    age = _header_text("Age")
    date = _header_date("Date")
    expires = _header_date("Expires")
    last_modified = _header_date("Last-Modified")
    vary = _header_set("Vary")
    allow = _header_set("Allow")
    content_language_set = _header_set("Content-Language")
    content_md5 = _header_text("Content-MD5")
    content_security_policy = _csp_header("Content-Security-Policy")
    content_security_policy_report_only = _csp_header("Content-Security-Policy-Report-Only")
    access_control_allow_headers = _header_list("Access-Control-Allow-Headers")
    access_control_allow_methods = _header_list("Access-Control-Allow-Methods")
    access_control_expose_headers = _header_list("Access-Control-Expose-Headers")
    access_control_allow_origin = _header_text("Access-Control-Allow-Origin")
    access_control_max_age = _header_converted("Access-Control-Max-Age", int)
    cross_origin_opener_policy = _header_converted(
        "Cross-Origin-Opener-Policy", COOP, COOP.UNSAFE_NONE
    )
    cross_origin_embedder_policy = _header_converted(
        "Cross-Origin-Embedder-Policy", COEP, COEP.UNSAFE_NONE
    )

    @property
    def access_control_allow_credentials(self) -> bool:
        return "Access-Control-Allow-Credentials" in self.headers

    @access_control_allow_credentials.setter
    def access_control_allow_credentials(self, value: bool | None) -> None:
        if value is True:
            self.headers["Access-Control-Allow-Credentials"] = "true"
        else:
            self.headers.remove("Access-Control-Allow-Credentials")

    @property
    def www_authenticate(self) -> WWWAuthenticate:
        """The first ``WWW-Authenticate`` challenge (a ``basic`` one when unset);
        changing it rewrites the header."""
        value = WWWAuthenticate.from_header(self.headers.get("WWW-Authenticate"))
        if value is None:
            value = WWWAuthenticate("basic")
        self._watch_www_authenticate(value)
        return value

    @www_authenticate.setter
    def www_authenticate(self, value: WWWAuthenticate | list[WWWAuthenticate] | None) -> None:
        if not value:
            self.headers.remove("WWW-Authenticate")
        elif isinstance(value, list):
            self.headers.set("WWW-Authenticate", value[0].to_header())
            for item in value[1:]:
                self.headers.add("WWW-Authenticate", item.to_header())
        else:
            self.headers.set("WWW-Authenticate", value.to_header())
            self._watch_www_authenticate(value)

    @www_authenticate.deleter
    def www_authenticate(self) -> None:
        self.headers.remove("WWW-Authenticate")

    def _watch_www_authenticate(self, value: WWWAuthenticate) -> None:
        def on_update(v: WWWAuthenticate) -> None:
            self.headers.set("WWW-Authenticate", v.to_header())

        value.__dict__["_on_update"] = on_update

    @property
    def mimetype(self) -> str | None:
        ct = self.headers.get("content-type")
        return ct.split(";")[0].strip() if ct else None

    @mimetype.setter
    def mimetype(self, value: str) -> None:
        self.headers["Content-Type"] = get_content_type(value, self.charset)

    @property
    def mimetype_params(self) -> dict[str, str]:
        return parse_options_header(self.headers.get("content-type"))[1]

    @property
    def content_length(self) -> int | None:
        try:
            return int(self.headers["Content-Length"])
        except (KeyError, ValueError):
            return None

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        if value is None:
            self.headers.remove("Content-Length")
        else:
            self.headers["Content-Length"] = str(value)

    @property
    def content_range(self) -> ContentRange | None:
        raw = self.headers.get("content-range")
        if not raw:
            return None
        units, _, spec = raw.partition(" ")
        rng, _, length = spec.partition("/")
        if rng == "*":
            return ContentRange(units, None, None, int(length) if length.isdigit() else None)
        start, _, stop = rng.partition("-")
        return ContentRange(units, int(start), int(stop) + 1, int(length) if length.isdigit() else None)

    @content_range.setter
    def content_range(self, value: t.Any) -> None:
        if not value:
            self.headers.remove("Content-Range")
        else:
            self.headers["Content-Range"] = str(value)

    @property
    def retry_after(self) -> datetime | None:
        value = self.headers.get("retry-after")
        if value is None:
            return None
        if value.isdigit():
            return datetime.now(timezone.utc) + timedelta(seconds=int(value))
        return parse_date(value)

    @retry_after.setter
    def retry_after(self, value: t.Any) -> None:
        if value is None:
            self.headers.remove("Retry-After")
        elif isinstance(value, datetime):
            self.headers["Retry-After"] = http_date(value)
        else:
            self.headers["Retry-After"] = str(value)

    @property
    def cache_control(self) -> ResponseCacheControl:
        def on_update(cc: t.Any) -> None:
            header = cc.to_header()
            if header:
                self.headers["Cache-Control"] = header
            else:
                self.headers.remove("Cache-Control")

        cached = self.__dict__.get("_cache_control")
        if cached is not None:
            return cached

        raw = self.headers.get("cache-control")
        cc = ResponseCacheControl(parse_dict_header(raw) if raw else None, on_update)
        self.__dict__["_cache_control"] = cc
        return cc

    # -- etags
    def get_etag(self) -> tuple[str, bool] | tuple[None, None]:
        return unquote_etag(self.headers.get("ETag"))

    def set_etag(self, etag: str, weak: bool = False) -> None:
        self.headers["ETag"] = quote_etag(etag, weak)

    def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:
        if overwrite or "etag" not in self.headers:
            self.set_etag(generate_etag(self.get_data()), weak)

    # -- conditional requests
    def make_conditional(
        self,
        request_or_environ: t.Any,
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> t.Any:
        """Turn this 200 into a 304/412 or a 206 (or raise 416) as the request asks."""
        environ = getattr(request_or_environ, "environ", request_or_environ)
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if "date" not in self.headers:
                self.headers["Date"] = http_date()
            is206 = self._process_range_request(environ, complete_length, accept_ranges)
            if not is206 and not is_resource_modified(
                environ, self.headers.get("etag"), None, self.headers.get("last-modified")
            ):
                if parse_etags(environ.get("HTTP_IF_MATCH")):
                    self.status_code = 412
                else:
                    self.status_code = 304
            if self.automatically_set_content_length and "content-length" not in self.headers:
                length = self.calculate_content_length()
                if length is not None:
                    self.headers["Content-Length"] = str(length)
        return self

    def _is_range_request_processable(self, environ: dict[str, t.Any]) -> bool:
        return (
            "HTTP_IF_RANGE" not in environ
            or not is_resource_modified(
                environ,
                self.headers.get("etag"),
                None,
                self.headers.get("last-modified"),
                ignore_if_range=False,
            )
        ) and "HTTP_RANGE" in environ

    def _process_range_request(
        self, environ: dict[str, t.Any], complete_length: int | None, accept_ranges: bool | str
    ) -> bool:
        if not accept_ranges:
            return False
        if accept_ranges is True:
            accept_ranges = "bytes"
        self.headers["Accept-Ranges"] = accept_ranges
        if complete_length is None or complete_length == 0:
            return False
        if not self._is_range_request_processable(environ):
            return False
        parsed = parse_range_header(environ.get("HTTP_RANGE"))
        if parsed is None:
            raise RequestedRangeNotSatisfiable(complete_length)
        rng = parsed.range_for_length(complete_length)
        content_range = parsed.make_content_range(complete_length)
        if rng is None or content_range is None:
            raise RequestedRangeNotSatisfiable(complete_length)
        length = rng[1] - rng[0]
        self.headers["Content-Length"] = str(length)
        self.headers["Content-Range"] = content_range.to_header()
        self.status_code = 206
        body = self.response
        if isinstance(body, list) and all(isinstance(x, bytes) for x in body):
            self.response = [b"".join(body)[rng[0] : rng[1]]]
        else:
            self.response = RangeWrapper(body, rng[0], length)
        return True
