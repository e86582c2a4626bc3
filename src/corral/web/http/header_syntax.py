"""The grammar of header values: tokens and quoted strings, ``; key=value`` options,
comma lists, HTTP dates, entity tags and ``Content-Type`` values.

Plain functions over ``str``; the header datastructures and the parsers that build
them (:mod:`.parsing`) sit on top of this module.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import typing as t
from collections.abc import Mapping
from datetime import date, datetime, timezone
from time import time
from urllib.parse import unquote_to_bytes

_token_re = re.compile(r"[\w!#$%&'*+\-.^`|~]+", re.A)
_option_re = re.compile(
    r"""\s*;\s*([\w!#$%&'*+\-.^`|~]+?)(\*)?\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)\s*""", re.A
)


def quote_header_value(value: t.Any, allow_token: bool = True) -> str:
    value = str(value)
    if not value:
        return '""'
    if allow_token and _token_re.fullmatch(value):
        return value
    value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'


def unquote_header_value(value: str, is_filename: bool = False) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
        if is_filename and value[:2] == "\\\\":
            return value
        return value.replace("\\\\", "\\").replace('\\"', '"')
    return value


def dump_options_header(header: str | None, options: Mapping[str, t.Any]) -> str:
    parts = [] if header is None else [header]
    for key, value in options.items():
        if value is None:
            continue
        if key.endswith("*"):
            parts.append(f"{key}={value}")
        else:
            parts.append(f"{key}={quote_header_value(value)}")
    return "; ".join(parts)


def parse_options_header(value: str | None) -> tuple[str, dict[str, str]]:
    """``'text/html; charset=utf-8'`` -> ``('text/html', {'charset': 'utf-8'})``."""
    if not value:
        return "", {}
    head, sep, rest = value.partition(";")
    head = head.strip()
    if not sep:
        return head, {}
    options: dict[str, str] = {}
    rest = ";" + rest
    pos = 0
    while True:
        m = _option_re.match(rest, pos)
        if m is None:
            break
        key, star, raw = m.group(1).lower(), m.group(2), m.group(3)
        pos = m.end()
        val = unquote_header_value(raw, key == "filename")
        if star:
            charset, _, encoded = val.partition("'")
            _lang, _, encoded = encoded.partition("'")
            try:
                val = unquote_to_bytes(encoded).decode(charset or "utf-8", "replace")
            except LookupError:
                val = unquote_to_bytes(encoded).decode("utf-8", "replace")
        options[key] = val
    return head, options


def parse_list_header(value: str) -> list[str]:
    """Split a comma-separated header, honouring quoted strings."""
    result: list[str] = []
    buf: list[str] = []
    quoted = escape = False
    for ch in value:
        if escape:
            buf.append(ch)
            escape = False
        elif quoted and ch == "\\":
            buf.append(ch)
            escape = True
        elif ch == '"':
            buf.append(ch)
            quoted = not quoted
        elif ch == "," and not quoted:
            result.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    result.append("".join(buf))
    return [unquote_header_value(item.strip()) for item in result if item.strip()]


def parse_dict_header(value: str) -> dict[str, str | None]:
    result: dict[str, str | None] = {}
    for item in parse_list_header(value):
        key, sep, val = item.partition("=")
        key = key.strip()
        if not key:
            continue
        result[key] = unquote_header_value(val.strip()) if sep else None
    return result


# -- dates

def http_date(timestamp: datetime | date | int | float | tuple[t.Any, ...] | None = None) -> str:
    """Format a timestamp as an RFC 7231 IMF-fixdate."""
    if isinstance(timestamp, date) and not isinstance(timestamp, datetime):
        timestamp = datetime.combine(timestamp, datetime.min.time(), tzinfo=timezone.utc)
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=timezone.utc)
        else:
            timestamp = timestamp.astimezone(timezone.utc)
        return email.utils.format_datetime(timestamp, usegmt=True)
    if isinstance(timestamp, tuple):
        timestamp = calendar.timegm(timestamp)
    if timestamp is None:
        timestamp = time()
    return email.utils.formatdate(timestamp, usegmt=True)


def parse_date(value: str | None) -> datetime | None:
    """Parse an HTTP date into an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


# -- entity tags

def quote_etag(etag: str, weak: bool = False) -> str:
    if '"' in etag:
        raise ValueError("invalid etag")
    etag = f'"{etag}"'
    return "W/" + etag if weak else etag


def unquote_etag(etag: str | None) -> tuple[str, bool] | tuple[None, None]:
    if not etag:
        return None, None
    etag = etag.strip()
    weak = False
    if etag.startswith(("W/", "w/")):
        weak = True
        etag = etag[2:]
    if etag[:1] == etag[-1:] == '"':
        etag = etag[1:-1]
    return etag, weak


# -- Content-Type

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


__all__ = [
    "dump_options_header", "get_content_type", "http_date", "parse_date", "parse_dict_header",
    "parse_list_header", "parse_options_header", "quote_etag", "quote_header_value",
    "unquote_etag", "unquote_header_value",
]  # fmt: skip
