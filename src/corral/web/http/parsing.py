"""HTTP header parsing and formatting helpers (Werkzeug-compatible names)."""

from __future__ import annotations

import codecs
import hashlib
import re
import typing as t
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from time import time
from urllib.parse import quote, unquote_plus, urlencode, urlsplit, urlunsplit

from .datastructures.header_values import Accept
from .datastructures.structures import MultiDict
from .header_syntax import (
    dump_options_header,
    http_date,
    parse_date,
    parse_dict_header,
    parse_list_header,
    parse_options_header,
    quote_etag,
    quote_header_value,
    unquote_etag,
    unquote_header_value,
)
from .status import HTTP_STATUS_CODES

_accept_item_re = re.compile(r"\s*([^,;\s][^,;]*?)\s*((?:;[^,]*)?)(?:,|$)")


def parse_accept_header(value: str | None, cls: type[t.Any] | None = None) -> t.Any:
    """Parse an ``Accept*`` header into an :class:`Accept` (or ``cls``) instance."""

    if cls is None:
        cls = Accept
    if not value:
        return cls(None)
    items: list[tuple[str, float]] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        item, params = parse_options_header(part)
        quality = 1.0
        q = params.pop("q", None)
        if q is not None:
            try:
                quality = max(min(float(q), 1.0), 0.0)
            except ValueError:
                continue
        if params:
            item = dump_options_header(item, params)
        items.append((item, quality))
    return cls(items)


# -- cookies

_cookie_re = re.compile(
    r"""[ \t]*([^ \t=";]+)(?:[ \t]*=[ \t]*("(?:[^\\"]|\\.)*"|[^ \t";]*))?[ \t]*(?:;|\Z)"""
)
_cookie_unescape_re = re.compile(rb"\\([0-3][0-7]{2}|.)")
_cookie_plain_re = re.compile(r"[\w!#$%&'()*+\-./:<=>?@\[\]^`{|}~]*", re.A)
_cookie_escape_re = re.compile(rb"[\x00-\x19\",;\\\x7f-\xff]")


def _cookie_unescape(m: re.Match[bytes]) -> bytes:
    code = m.group(1)
    if len(code) == 3:
        return bytes([int(code, 8)])
    return code


def _cookie_escape(m: re.Match[bytes]) -> bytes:
    ch = m.group()
    if ch in (b'"', b"\\"):
        return b"\\" + ch
    return b"\\%03o" % ch[0]


def parse_cookie(cookie: str | None = None, cls: type[MultiDict] | None = None) -> MultiDict:
    """Parse a ``Cookie`` header into a MultiDict (first value first)."""
    out: list[tuple[str, str]] = []
    pos = 0
    cookie = cookie or ""
    while pos < len(cookie):
        m = _cookie_re.match(cookie, pos)
        if m is None:
            nxt = cookie.find(";", pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        pos = m.end()
        key, value = m.group(1), m.group(2) or ""
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _cookie_unescape_re.sub(_cookie_unescape, value[1:-1].encode()).decode(
                "utf-8", "replace"
            )
        out.append((key, value))
    return (cls or MultiDict)(out)


def dump_cookie(
    key: str,
    value: str = "",
    max_age: timedelta | int | None = None,
    expires: str | datetime | int | float | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    sync_expires: bool = True,
    max_size: int = 4093,
    samesite: str | None = None,
    partitioned: bool = False,
) -> str:
    """Build a ``Set-Cookie`` header value."""
    if path is not None:
        path = quote(path, safe="%!$&'()*+,/:=@")
    if domain:
        domain = domain.partition(":")[0].lstrip(".").encode("idna").decode("ascii")
    if isinstance(max_age, timedelta):
        max_age = int(max_age.total_seconds())
    if expires is not None:
        if not isinstance(expires, str):
            expires = http_date(expires)
    elif max_age is not None and sync_expires:
        expires = http_date(time() + max_age)
    if samesite is not None:
        samesite = samesite.title()
        if samesite not in ("Strict", "Lax", "None"):
            raise ValueError("SameSite must be 'Strict', 'Lax', or 'None'.")
    if partitioned:
        secure = True
    if not _cookie_plain_re.fullmatch(value):
        value = '"' + _cookie_escape_re.sub(_cookie_escape, value.encode()).decode("ascii") + '"'
    parts = [f"{key.encode().decode('latin1')}={value}"]
    attrs: tuple[tuple[str, t.Any], ...] = (
        ("Domain", domain), ("Expires", expires), ("Max-Age", max_age), ("Secure", secure),
        ("HttpOnly", httponly), ("Path", path), ("SameSite", samesite),
        ("Partitioned", partitioned),
    )  # fmt: skip
    for name, attr in attrs:
        if attr is None or attr is False:
            continue
        parts.append(name if attr is True else f"{name}={attr}")
    header = "; ".join(parts)
    if max_size and len(header) > max_size:
        # browsers drop such cookies silently; say so where the app can see it
        warnings.warn(
            f"The {key!r} cookie is too large: {len(header)} bytes as a header"
            f" ({len(value)} of them the value) against a limit of {max_size}"
            " (MAX_COOKIE_SIZE); browsers may ignore it.",
            stacklevel=3,
        )
    return header


# -- etags and conditional requests

def generate_etag(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class ETags:
    """A set of entity tags from ``If-Match`` / ``If-None-Match``."""

    def __init__(
        self,
        strong_etags: Iterable[str] | None = None,
        weak_etags: Iterable[str] | None = None,
        star_tag: bool = False,
    ) -> None:
        self._strong = frozenset(strong_etags or ())
        self._weak = frozenset(weak_etags or ())
        self.star_tag = star_tag

    def is_weak(self, etag: str) -> bool:
        return etag in self._weak

    def is_strong(self, etag: str) -> bool:
        return etag in self._strong

    def contains_weak(self, etag: str) -> bool:
        return self.is_weak(etag) or self.contains(etag)

    def contains(self, etag: str) -> bool:
        return self.star_tag or etag in self._strong

    def contains_raw(self, etag: str) -> bool:
        tag, weak = unquote_etag(etag)
        if tag is None:
            return False
        return self.contains_weak(tag) if weak else self.contains(tag)

    def __contains__(self, etag: object) -> bool:
        return isinstance(etag, str) and self.contains(etag)

    def __bool__(self) -> bool:
        return bool(self.star_tag or self._strong or self._weak)

    def to_header(self) -> str:
        if self.star_tag:
            return "*"
        tags = [quote_etag(e) for e in self._strong] + [quote_etag(e, True) for e in self._weak]
        return ", ".join(tags)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()!r}>"


def parse_etags(value: str | None) -> ETags:
    if not value:
        return ETags()
    strong: list[str] = []
    weak: list[str] = []
    for raw in value.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if raw == "*":
            return ETags(star_tag=True)
        tag, is_weak = unquote_etag(raw)
        if tag is None:
            continue
        (weak if is_weak else strong).append(tag)
    return ETags(strong, weak)


class Range:
    """A parsed ``Range`` header: units plus a list of (start, stop) pairs."""

    def __init__(self, units: str, ranges: list[tuple[int, int | None]]) -> None:
        self.units = units
        self.ranges = ranges

    def range_for_length(self, length: int | None) -> tuple[int, int] | None:
        if self.units != "bytes" or length is None or len(self.ranges) != 1:
            return None
        start, end = self.ranges[0]
        if end is None:
            end = length
            if start < 0:
                start += length
        if start < 0 or start >= length:
            return None
        return start, min(end, length)

    def make_content_range(self, length: int | None) -> ContentRange | None:
        rng = self.range_for_length(length)
        if rng is None:
            return None
        return ContentRange(self.units, rng[0], rng[1], length)

    def to_header(self) -> str:
        parts = []
        for start, end in self.ranges:
            if end is None:
                parts.append(f"{start}-" if start >= 0 else str(start))
            else:
                parts.append(f"{start}-{end - 1}")
        return f"{self.units}={','.join(parts)}"

    def __str__(self) -> str:
        return self.to_header()


class ContentRange:
    def __init__(self, units: str | None, start: int | None, stop: int | None, length: int | None = None) -> None:
        self.units = units
        self.start = start
        self.stop = stop
        self.length = length

    def to_header(self) -> str:
        length = "*" if self.length is None else str(self.length)
        if self.start is None or self.stop is None:
            return f"{self.units} */{length}"
        return f"{self.units} {self.start}-{self.stop - 1}/{length}"

    def __str__(self) -> str:
        return self.to_header()


def parse_range_header(value: str | None, make_inclusive: bool = True) -> Range | None:
    """Parse ``Range: bytes=0-99,200-`` (stops are exclusive in the result)."""
    if not value or "=" not in value:
        return None
    units, _, spec = value.partition("=")
    units = units.strip().lower()
    ranges: list[tuple[int, int | None]] = []
    last_end = 0
    for item in spec.split(","):
        item = item.strip()
        if "-" not in item:
            return None
        if item.startswith("-"):
            if len(ranges) > 0 or not item[1:].isdigit():
                return None
            ranges.append((-int(item[1:]), None))
            last_end = -1
            continue
        begin_s, _, end_s = item.partition("-")
        if not begin_s.strip().isdigit() or (end_s and not end_s.strip().isdigit()):
            return None
        begin = int(begin_s)
        if begin < last_end or last_end < 0:
            return None
        if end_s:
            end = int(end_s) + 1
            if begin >= end:
                return None
        else:
            end = None
        ranges.append((begin, end))
        last_end = end if end is not None else -1
    return Range(units, ranges) if ranges else None


def is_resource_modified(
    environ: Mapping[str, t.Any] | None = None,
    etag: str | None = None,
    data: bytes | None = None,
    last_modified: datetime | str | None = None,
    ignore_if_range: bool = True,
    *,
    http_range: str | None = None,
    http_if_range: str | None = None,
    http_if_modified_since: str | None = None,
    http_if_none_match: str | None = None,
    http_if_match: str | None = None,
) -> bool:
    """True if the resource differs from what the client's conditional headers name."""
    if environ is not None:
        http_range = environ.get("HTTP_RANGE")
        http_if_range = environ.get("HTTP_IF_RANGE")
        http_if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
        http_if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        http_if_match = environ.get("HTTP_IF_MATCH")
    if etag is None and data is not None:
        etag = generate_etag(data)
    elif data is not None:
        raise TypeError("both data and etag given")
    if isinstance(last_modified, str):
        last_modified = parse_date(last_modified)
    if last_modified is not None:
        last_modified = last_modified.replace(microsecond=0)
        if last_modified.tzinfo is None:
            last_modified = last_modified.replace(tzinfo=timezone.utc)
    unmodified = False
    if_range_etag: str | None = None
    if not ignore_if_range and http_range and http_if_range:
        if_range_date = parse_date(http_if_range)
        if if_range_date is None:
            if_range_etag = unquote_etag(http_if_range)[0]
        elif last_modified is not None:
            unmodified = not (last_modified > if_range_date)
    else:
        modified_since = parse_date(http_if_modified_since)
        if modified_since is not None and last_modified is not None:
            unmodified = not (last_modified > modified_since)
    if etag:
        etag = unquote_etag(etag)[0]
        if if_range_etag is not None:
            unmodified = if_range_etag == etag
        else:
            none_match = parse_etags(http_if_none_match)
            if none_match:
                unmodified = none_match.contains_weak(etag or "")
            if_match = parse_etags(http_if_match)
            if if_match:
                unmodified = not if_match.is_strong(etag or "")
    return not unmodified


# -- URLs

def url_quote(value: str | bytes, safe: str = "/:", charset: str = "utf-8") -> str:
    if isinstance(value, str):
        value = value.encode(charset)
    return quote(value, safe=safe)


_ALWAYS_QUOTED = "".join(map(chr, (*range(0x21), 0x25, 0x7F)))
_PART_QUOTED = {
    "path": _ALWAYS_QUOTED + "/?#",
    "query": _ALWAYS_QUOTED + "&=+#",
    "fragment": _ALWAYS_QUOTED,
}
_escape_run_re = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _unquote_part(value: str, keep: str) -> str:
    """Decode percent escapes except those for ``keep`` characters or invalid UTF-8."""

    def repl(m: re.Match[str]) -> str:
        text = bytes.fromhex(m.group().replace("%", "")).decode("utf-8", "surrogateescape")
        out = []
        for ch in text:
            if ch in keep or "\udc80" <= ch <= "\udcff":
                raw = ch.encode("utf-8", "surrogateescape")
                out.append("".join(f"%{b:02X}" for b in raw))
            else:
                out.append(ch)
        return "".join(out)

    return _escape_run_re.sub(repl, value)


def uri_to_iri(uri: str) -> str:
    """``http://x/p%C3%A5th%20a`` -> ``http://x/påth%20a`` (reserved escapes kept)."""
    parts = urlsplit(uri)
    netloc = parts.netloc
    if "xn--" in netloc:
        try:
            netloc = netloc.encode("ascii").decode("idna")
        except UnicodeError:
            pass
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            _unquote_part(parts.path, _PART_QUOTED["path"]),
            _unquote_part(parts.query, _PART_QUOTED["query"]),
            _unquote_part(parts.fragment, _PART_QUOTED["fragment"]),
        )
    )


def iri_to_uri(iri: str) -> str:
    """Quote an IRI into an ASCII URI (existing escapes kept, host IDNA-encoded)."""
    if iri.isascii() and not any(c in iri for c in ' "<>\\^`{|}'):
        return iri
    parts = urlsplit(iri)
    netloc = parts.netloc
    if not netloc.isascii():
        host = parts.hostname or ""
        encoded = host.encode("idna").decode("ascii")
        netloc = netloc.replace(host, encoded)
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe="%!$&'()*+,/:;=@"),
            quote(parts.query, safe="%!$&'()*+,/:;=?@"),
            quote(parts.fragment, safe="%!#$&'()*+,/:;=?@"),
        )
    )


def _requote_invalid(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: keep undecodable bytes as ``%XX`` escapes."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return "".join(f"%{b:02X}" for b in bad), error.end


codecs.register_error("corral.url_quote", _requote_invalid)


def parse_qs_pairs(qs: str) -> list[tuple[str, str]]:
    """Split a query string on ``&`` into decoded pairs, keeping blank values."""
    if "%" not in qs and "+" not in qs:  # nothing to decode
        plain = []
        for item in qs.split("&"):
            if item:
                key, _, value = item.partition("=")
                plain.append((key, value))
        return plain
    pairs = []
    for item in qs.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key, errors="corral.url_quote")
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="corral.url_quote")
        pairs.append((key, value))
    return pairs


def _encode_value(value: t.Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return str(value)


def iter_multi_items(mapping: t.Any) -> Iterable[tuple[t.Any, t.Any]]:
    """Pairs of a MultiDict, a dict (list values repeat) or an iterable of pairs."""
    if isinstance(mapping, MultiDict):
        return mapping.items(multi=True)
    if isinstance(mapping, Mapping):
        pairs: list[tuple[t.Any, t.Any]] = []
        for key, value in mapping.items():
            if isinstance(value, (list, tuple, set)):
                pairs.extend((key, v) for v in value)
            else:
                pairs.append((key, value))
        return pairs
    return mapping


def url_encode(obj: t.Any, sort: bool = False, key: t.Any = None) -> str:
    """Encode a mapping as a query string (None values skipped)."""
    pairs = [(k, _encode_value(v)) for k, v in iter_multi_items(obj) if v is not None]
    if sort:
        pairs.sort(key=key)
    return urlencode(pairs, safe="!$'()*,/:;?@")


__all__ = [
    "HTTP_STATUS_CODES", "ContentRange", "ETags", "Range", "dump_cookie", "dump_options_header",
    "generate_etag", "http_date", "is_resource_modified", "iter_multi_items",
    "parse_accept_header", "parse_cookie", "parse_date", "parse_dict_header", "parse_etags",
    "parse_list_header", "parse_options_header", "parse_range_header", "quote_etag",
    "quote_header_value", "unquote_etag", "unquote_header_value", "url_encode", "url_quote",
    "iri_to_uri", "uri_to_iri", "parse_qs_pairs",
]  # fmt: skip
