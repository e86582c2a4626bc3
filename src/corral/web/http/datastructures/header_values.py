"""Values parsed from single headers: Accept*, Authorization, header sets, Cache-Control."""

from __future__ import annotations

import base64
import binascii
import codecs
import enum
import re
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping

from ..header_syntax import (
    dump_options_header,
    http_date,
    parse_date,
    parse_dict_header,
    parse_list_header,
    quote_etag,
    quote_header_value,
    unquote_etag,
)


class Accept(tuple):
    """Parsed ``Accept*`` header: (value, quality) pairs, most specific first."""

    provided: bool

    def __new__(cls, values: Iterable[tuple[str, float]] | None = ()) -> Accept:
        if values is None:
            obj = tuple.__new__(cls, ())
            obj.provided = False
            return obj
        if isinstance(values, Accept):
            obj = tuple.__new__(cls, values)
            obj.provided = values.provided
            return obj
        probe = tuple.__new__(cls, ())
        items = sorted(values, key=lambda x: (probe._specificity(x[0]), x[1]), reverse=True)
        obj = tuple.__new__(cls, items)
        obj.provided = True
        return obj

    def __init__(self, values: Iterable[tuple[str, float]] | None = ()) -> None:
        pass

    def _specificity(self, value: str) -> tuple[bool, ...]:
        return (value != "*",)

    def _value_matches(self, value: str, item: str) -> bool:
        return item == "*" or item.lower() == value.lower()

    def __getitem__(self, key: t.Any) -> t.Any:
        if isinstance(key, str):
            return self.quality(key)
        return tuple.__getitem__(self, key)

    def quality(self, key: str) -> float:
        for item, quality in self:
            if self._value_matches(key, item):
                return quality
        return 0

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        return any(self._value_matches(value, item) for item, _q in self)

    def __repr__(self) -> str:
        pairs = ", ".join(f"({v!r}, {q})" for v, q in self)
        return f"{type(self).__name__}([{pairs}])"

    def index(self, key: t.Any, *args: t.Any) -> int:
        if isinstance(key, str):
            for idx, (item, _q) in enumerate(self):
                if self._value_matches(key, item):
                    return idx
            raise ValueError(key)
        return tuple.index(self, key, *args)

    def find(self, key: t.Any) -> int:
        try:
            return self.index(key)
        except ValueError:
            return -1

    def values(self) -> Iterator[str]:
        for item in self:
            yield item[0]

    def to_header(self) -> str:
        parts = []
        for value, quality in self:
            if quality != 1:
                value = f"{value};q={quality}"
            parts.append(value)
        return ",".join(parts)

    def __str__(self) -> str:
        return self.to_header()

    def _best_single_match(self, match: str) -> tuple[str, float] | None:
        for client_item, quality in self:
            if self._value_matches(match, client_item):
                return client_item, quality
        return None

    def best_match(self, matches: Iterable[str], default: str | None = None) -> str | None:
        """The server value the client likes most (quality, then specificity)."""
        result = default
        best_quality: float = -1
        best_spec: tuple[bool | int, ...] = (-1,)
        for server_item in matches:
            found = self._best_single_match(server_item)
            if found is None:
                continue
            client_item, quality = found
            spec = self._specificity(client_item)
            if quality <= 0 or quality < best_quality:
                continue
            if quality > best_quality or spec > best_spec:
                result, best_quality, best_spec = server_item, quality, spec
        return result

    @property
    def best(self) -> str | None:
        return self[0][0] if self else None


_mime_split_re = re.compile(r"/|(?:[ \t]*;[ \t]*)")
_locale_delim_re = re.compile(r"[_-]")


class MIMEAccept(Accept):
    def _specificity(self, value: str) -> tuple[bool, ...]:
        return tuple(x != "*" for x in _mime_split_re.split(value))

    def _value_matches(self, value: str, item: str) -> bool:
        if "/" not in item:
            return False
        if "/" not in value:
            raise ValueError(f"invalid mimetype {value!r}")
        vtype, vsub, *vparams = _mime_split_re.split(value.lower())
        if vtype == "*" and vsub != "*":
            raise ValueError(f"invalid mimetype {value!r}")
        itype, isub, *iparams = _mime_split_re.split(item.lower())
        if itype == "*" and isub != "*":
            return False
        if (itype == "*" and isub == "*") or (vtype == "*" and vsub == "*"):
            return True
        return itype == vtype and (
            isub == "*" or vsub == "*" or (isub == vsub and sorted(iparams) == sorted(vparams))
        )

    @property
    def accept_html(self) -> bool:
        return "text/html" in self or self.accept_xhtml

    @property
    def accept_xhtml(self) -> bool:
        return "application/xhtml+xml" in self or "application/xml" in self

    @property
    def accept_json(self) -> bool:
        return "application/json" in self


class LanguageAccept(Accept):
    def _value_matches(self, value: str, item: str) -> bool:
        return item == "*" or _locale_delim_re.split(value.lower()) == _locale_delim_re.split(
            item.lower()
        )

    def best_match(self, matches: Iterable[str], default: str | None = None) -> str | None:
        """Exact tags first, then primary subtags on either side."""
        matches = list(matches)
        result = super().best_match(matches)
        if result is not None:
            return result
        primary = Accept([(_locale_delim_re.split(v, 1)[0], q) for v, q in self])
        result = primary.best_match(matches)
        if result is not None:
            return result
        result = super().best_match([_locale_delim_re.split(m, 1)[0] for m in matches])
        if result is not None:
            return next(m for m in matches if m.startswith(result))
        return default


class CharsetAccept(Accept):
    def _value_matches(self, value: str, item: str) -> bool:
        def normalize(name: str) -> str:
            try:
                return codecs.lookup(name).name
            except LookupError:
                return name.lower()

        return item == "*" or normalize(value) == normalize(item)


class Authorization:
    """The parsed ``Authorization`` header."""

    def __init__(
        self,
        auth_type: str,
        data: dict[str, str | None] | None = None,
        token: str | None = None,
    ) -> None:
        self.type = auth_type
        self.parameters: dict[str, str | None] = dict(data or {})
        self.token = token

    def __getattr__(self, name: str) -> str | None:
        return self.parameters.get(name)

    def __getitem__(self, key: str) -> str | None:
        return self.parameters[key]

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.parameters.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.parameters

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Authorization):
            return NotImplemented
        return (self.type, self.parameters, self.token) == (other.type, other.parameters, other.token)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_header(cls, value: str | None) -> Authorization | None:
        if not value:
            return None
        scheme, _, rest = value.partition(" ")
        scheme = scheme.lower()
        rest = rest.strip()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(rest, validate=False).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            username, sep, password = decoded.partition(":")
            if not sep:
                return None
            return cls(scheme, {"username": username, "password": password})
        if "=" in rest.rstrip("="):
            return cls(scheme, parse_dict_header(rest))
        return cls(scheme, None, rest or None)

    def to_header(self) -> str:
        if self.type == "basic":
            raw = f"{self.username}:{self.password}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        if self.token is not None:
            return f"{self.type.title()} {self.token}"
        params = ", ".join(dump_options_header("", {k: v}).lstrip("; ") for k, v in self.parameters.items())
        return f"{self.type.title()} {params}"

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()}>"


class HeaderSet:
    """A case-insensitive ordered set for headers like ``Vary`` or ``Allow``."""

    def __init__(
        self,
        headers: Iterable[str] | None = None,
        on_update: Callable[[HeaderSet], None] | None = None,
    ) -> None:
        self._headers = list(headers or ())
        self._set = {x.lower() for x in self._headers}
        self.on_update = on_update

    def _changed(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    def add(self, header: str) -> None:
        if header.lower() not in self._set:
            self._set.add(header.lower())
            self._headers.append(header)
            self._changed()

    def update(self, iterable: Iterable[str]) -> None:
        for header in iterable:
            if header.lower() not in self._set:
                self._set.add(header.lower())
                self._headers.append(header)
        self._changed()

    def remove(self, header: str) -> None:
        key = header.lower()
        if key not in self._set:
            raise KeyError(header)
        self.discard(header)

    def discard(self, header: str) -> None:
        key = header.lower()
        if key in self._set:
            self._set.remove(key)
            self._headers = [h for h in self._headers if h.lower() != key]
            self._changed()

    def clear(self) -> None:
        self._set.clear()
        self._headers.clear()
        self._changed()

    def as_set(self, preserve_casing: bool = False) -> set[str]:
        return set(self._headers) if preserve_casing else set(self._set)

    def to_header(self) -> str:
        return ", ".join(self._headers)

    def __contains__(self, header: object) -> bool:
        return isinstance(header, str) and header.lower() in self._set

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)

    def __bool__(self) -> bool:
        return bool(self._headers)

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._headers!r})"


def _cache_property(key: str, empty: t.Any, type: Callable[[str], t.Any] | None) -> t.Any:
    def getter(self: _CacheControl) -> t.Any:
        if key not in self._values:
            return False if type is bool else None
        value = self._values[key]
        if value is None:
            return empty
        if type is not None:
            try:
                return type(value)
            except ValueError:
                return None
        return value

    def setter(self: _CacheControl, value: t.Any) -> None:
        if value is None or value is False:
            self._values.pop(key, None)
        elif value is True:
            self._values[key] = None
        else:
            self._values[key] = str(value) if type is not bool else None
        self._changed()

    def deleter(self: _CacheControl) -> None:
        self._values.pop(key, None)
        self._changed()

    return property(getter, setter, deleter)


class _CacheControl:
    """``Cache-Control`` directives as attributes; writes back through ``on_update``."""

    def __init__(
        self,
        values: Mapping[str, str | None] | None = None,
        on_update: Callable[[_CacheControl], None] | None = None,
    ) -> None:
        self._values: dict[str, str | None] = dict(values or {})
        self.on_update = on_update
        self.provided = values is not None

    def _changed(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    no_cache = _cache_property("no-cache", "*", None)
    no_store = _cache_property("no-store", True, bool)
    max_age = _cache_property("max-age", -1, int)
    no_transform = _cache_property("no-transform", True, bool)
    public = _cache_property("public", True, bool)
    private = _cache_property("private", "*", None)
    must_revalidate = _cache_property("must-revalidate", True, bool)
    proxy_revalidate = _cache_property("proxy-revalidate", True, bool)
    s_maxage = _cache_property("s-maxage", None, int)
    immutable = _cache_property("immutable", True, bool)
    stale_while_revalidate = _cache_property("stale-while-revalidate", None, int)
    stale_if_error = _cache_property("stale-if-error", None, int)

    def to_header(self) -> str:
        parts = []
        for key, value in self._values.items():
            parts.append(key if value is None else f"{key}={quote_header_value(value)}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.to_header()

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()!r}>"


class ResponseCacheControl(_CacheControl):
    pass


class RequestCacheControl(_CacheControl):
    pass


class IfRange:
    """The ``If-Range`` header: an entity tag or a date (or neither)."""

    def __init__(self, etag: str | None = None, date: t.Any = None) -> None:
        self.etag = etag
        self.date = date

    def to_header(self) -> str:
        if self.date is not None:
            return http_date(self.date)
        if self.etag is not None:
            return quote_etag(self.etag)
        return ""

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {str(self)!r}>"


def parse_if_range(value: str | None) -> IfRange:
    """An ``If-Range`` value as a date when it reads as one, else as an etag."""
    if not value:
        return IfRange()
    when = parse_date(value)
    if when is not None:
        return IfRange(date=when)
    return IfRange(unquote_etag(value)[0])


def parse_set_header(
    value: str | None, on_update: Callable[[HeaderSet], None] | None = None
) -> HeaderSet:
    """A comma-separated header as a :class:`HeaderSet` (quoted items unquoted)."""
    if not value:
        return HeaderSet(None, on_update)
    return HeaderSet(parse_list_header(value), on_update)


def _csp_property(key: str) -> t.Any:
    def getter(self: ContentSecurityPolicy) -> str | None:
        return self.get(key)

    def setter(self: ContentSecurityPolicy, value: str | None) -> None:
        if value is None:
            self.pop(key, None)
        else:
            self[key] = value

    def deleter(self: ContentSecurityPolicy) -> None:
        self.pop(key, None)

    return property(getter, setter, deleter)


class ContentSecurityPolicy(dict):
    """``Content-Security-Policy`` directives (``{"default-src": "'self'"}``);
    changes are written back through ``on_update``."""

    def __init__(
        self,
        values: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        on_update: Callable[[ContentSecurityPolicy], None] | None = None,
    ) -> None:
        super().__init__(values or ())
        self.on_update = on_update
        self.provided = values is not None

    @classmethod
    def from_header(
        cls, value: str | None, on_update: Callable[[ContentSecurityPolicy], None] | None = None
    ) -> ContentSecurityPolicy:
        if not value:
            return cls(None, on_update)
        items = []
        for policy in value.split(";"):
            policy = policy.strip()
            if policy:
                key, _, rest = policy.partition(" ")
                items.append((key.strip(), rest.strip()))
        return cls(items, on_update)

    def _changed(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def pop(self, key: str, *default: t.Any) -> t.Any:
        rv = super().pop(key, *default)
        self._changed()
        return rv

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        rv = super().setdefault(key, default)
        self._changed()
        return rv

    base_uri = _csp_property("base-uri")
    child_src = _csp_property("child-src")
    connect_src = _csp_property("connect-src")
    default_src = _csp_property("default-src")
    font_src = _csp_property("font-src")
    form_action = _csp_property("form-action")
    frame_ancestors = _csp_property("frame-ancestors")
    frame_src = _csp_property("frame-src")
    img_src = _csp_property("img-src")
    manifest_src = _csp_property("manifest-src")
    media_src = _csp_property("media-src")
    navigate_to = _csp_property("navigate-to")
    object_src = _csp_property("object-src")
    prefetch_src = _csp_property("prefetch-src")
    plugin_types = _csp_property("plugin-types")
    report_to = _csp_property("report-to")
    report_uri = _csp_property("report-uri")
    sandbox = _csp_property("sandbox")
    script_src = _csp_property("script-src")
    script_src_attr = _csp_property("script-src-attr")
    script_src_elem = _csp_property("script-src-elem")
    style_src = _csp_property("style-src")
    style_src_attr = _csp_property("style-src-attr")
    style_src_elem = _csp_property("style-src-elem")
    worker_src = _csp_property("worker-src")

    def to_header(self) -> str:
        return "; ".join(f"{key} {value}" for key, value in self.items())

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


class COOP(str, enum.Enum):
    """``Cross-Origin-Opener-Policy`` values."""

    UNSAFE_NONE = "unsafe-none"
    SAME_ORIGIN_ALLOW_POPUPS = "same-origin-allow-popups"
    SAME_ORIGIN = "same-origin"


class COEP(str, enum.Enum):
    """``Cross-Origin-Embedder-Policy`` values."""

    UNSAFE_NONE = "unsafe-none"
    REQUIRE_CORP = "require-corp"


class WWWAuthenticate:
    """One ``WWW-Authenticate`` challenge: a scheme with parameters or a token.
    ``auth.realm`` and ``auth["realm"]`` read and write the parameters."""

    _type: str
    _parameters: dict[str, str | None]
    _token: str | None
    _on_update: Callable[[WWWAuthenticate], None] | None

    def __init__(
        self,
        auth_type: str,
        values: Mapping[str, str | None] | None = None,
        token: str | None = None,
    ) -> None:
        self.__dict__["_type"] = auth_type.lower()
        self.__dict__["_parameters"] = dict(values or {})
        self.__dict__["_token"] = token
        self.__dict__["_on_update"] = None

    def _changed(self) -> None:
        if self._on_update is not None:
            self._on_update(self)

    @property
    def type(self) -> str:
        return self._type

    @type.setter
    def type(self, value: str) -> None:
        self.__dict__["_type"] = value
        self._changed()

    @property
    def parameters(self) -> dict[str, str | None]:
        return self._parameters

    @parameters.setter
    def parameters(self, value: Mapping[str, str | None]) -> None:
        self.__dict__["_parameters"] = dict(value)
        self._changed()

    @property
    def token(self) -> str | None:
        return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        self.__dict__["_token"] = value
        self._changed()

    def __getitem__(self, key: str) -> str | None:
        return self.parameters.get(key)

    def __setitem__(self, key: str, value: str | None) -> None:
        if value is None:
            self.parameters.pop(key, None)
        else:
            self.parameters[key] = value
        self._changed()

    def __delitem__(self, key: str) -> None:
        if key in self.parameters:
            del self.parameters[key]
            self._changed()

    def __getattr__(self, name: str) -> str | None:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.parameters.get(name)

    def __setattr__(self, name: str, value: t.Any) -> None:
        if name in {"type", "parameters", "token"} or name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        del self[name]

    def __contains__(self, key: str) -> bool:
        return key in self.parameters

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.parameters.get(key, default)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WWWAuthenticate):
            return NotImplemented
        return (self.type, self.parameters, self.token) == (other.type, other.parameters, other.token)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_header(cls, value: str | None) -> WWWAuthenticate | None:
        if not value:
            return None
        scheme, _, rest = value.partition(" ")
        rest = rest.strip()
        if "=" in rest.rstrip("="):
            return cls(scheme, parse_dict_header(rest))
        return cls(scheme, None, rest or None)

    def to_header(self) -> str:
        if self.token is not None:
            return f"{self.type.title()} {self.token}"
        if not self.parameters:
            return self.type.title()
        digest = self.type == "digest"
        always = {"realm", "domain", "nonce", "opaque", "qop"} if digest else set()
        params = ", ".join(
            key if value is None
            else f"{key}={quote_header_value(value, allow_token=key not in always)}"
            for key, value in self.parameters.items()
        )  # fmt: skip
        return f"{'Digest' if digest else self.type.title()} {params}"

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()!r}>"
