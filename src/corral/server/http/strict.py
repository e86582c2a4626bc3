"""RFC 9112 checks that llhttp leaves to its caller, run once per request head.

:func:`build_head` turns what llhttp collected (target bytes, raw header pairs)
into a :class:`~corral.server.http.parser.RequestHead`, refusing with
:class:`~corral.server.http.errors.ParseError`:

* versions other than HTTP/1.0 and HTTP/1.1 (505);
* targets: asterisk-form outside OPTIONS, CONNECT without authority-form,
  relative targets, bytes outside visible ASCII (400);
* a second Host or Content-Type, a missing Host on HTTP/1.1 (400);
* Transfer-Encoding: codings other than ``chunked`` (501), ``chunked`` twice,
  not last, or on HTTP/1.0 (400);
* Content-Length that is not plain digits or above the body limit (400/413).
"""

from __future__ import annotations

import re
from typing import Any

from corral.server.http.errors import ParseError
from corral.server.http.head import Limits, RequestHead

_VERSIONS = {"1.1": (1, 1), "1.0": (1, 0)}
MAX_METHOD = 64
METHOD_SP = re.compile(rb"(?:\r\n)*([!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}) ")
METHOD_PREFIX = re.compile(rb"(?:\r\n)*[!#$%&'*+\-.^_`|~0-9A-Za-z]*")
_BAD_TARGET = re.compile(rb"[^\x21-\x7e]")
_ABSOLUTE = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)([^#]*)")
_AUTHORITY = re.compile(rb"[A-Za-z0-9._~%!$&'()*+,;=\-]+:[0-9]+|\[[0-9A-Fa-f:.]+\]:[0-9]+")
_KNOWN_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "compress", "x-compress", "identity"})
_FORBIDDEN_TRAILERS = frozenset(
    {b"content-length", b"transfer-encoding", b"host", b"trailer", b"authorization", b"te",
     b"content-type", b"content-encoding", b"connection", b"expect"}
)

# Header names that need a look while building the head, keyed by lower-case name.
_HOST, _CTYPE, _CLEN, _TE, _CONN, _EXPECT, _UPGRADE = range(7)
_SPECIAL = {
    "host": _HOST,
    "content-type": _CTYPE,
    "content-length": _CLEN,
    "transfer-encoding": _TE,
    "connection": _CONN,
    "expect": _EXPECT,
    "upgrade": _UPGRADE,
}
_NAME_STR: dict[bytes, str] = {}  # raw name -> str, cached: names repeat forever
_SPECIAL_RAW: dict[bytes, int] = {}  # raw spellings of the names in _SPECIAL
_OWS = (" ", "\t")
_CACHE_MAX = 1024
_METHOD_CACHE: dict[bytes, str] = {}


def _name(raw: bytes) -> str:
    """Decode a header name, remembering it (and whether it is special)."""
    text = raw.decode("latin-1")
    if len(_NAME_STR) < _CACHE_MAX:
        _NAME_STR[raw] = text
        kind = _SPECIAL.get(text.lower())
        if kind is not None:
            _SPECIAL_RAW[raw] = kind
    return text


def _kind(raw: bytes) -> int | None:
    kind = _SPECIAL_RAW.get(raw)
    if kind is None and raw not in _NAME_STR:
        kind = _SPECIAL.get(raw.decode("latin-1").lower())
    return kind


def _method(hp: Any) -> str:
    raw = hp.get_method()
    m = _METHOD_CACHE.get(raw)
    if m is None:
        m = _METHOD_CACHE[raw] = raw.decode("ascii")
    return m


def split_target(method: str, url: bytes) -> tuple[str, str]:
    """Validate the request target; return (path, query), percent-encoded."""
    if _BAD_TARGET.search(url):
        raise ParseError(400, "invalid character in request target")
    first = url[:1]
    if method == "CONNECT":
        if not _AUTHORITY.fullmatch(url):
            raise ParseError(400, "CONNECT needs an authority-form target")
        return "", ""
    if first == b"/":
        rest = url
    elif url == b"*":
        if method != "OPTIONS":
            raise ParseError(400, "asterisk-form target outside OPTIONS")
        return "*", ""
    else:
        m = _ABSOLUTE.fullmatch(url)
        if m is None:
            raise ParseError(400, "relative or malformed request target")
        rest = m.group(2) or b"/"
        if rest[:1] != b"/":
            rest = b"/" + rest
    if b"#" in rest:
        rest = rest.split(b"#", 1)[0]
    path, _, query = rest.partition(b"?")
    return path.decode("ascii"), query.decode("ascii")


def _codings(values: list[str], version: tuple[int, int]) -> bool:
    """Validate Transfer-Encoding values; True when the body is chunked."""
    if version != (1, 1):
        raise ParseError(400, "Transfer-Encoding on HTTP/1.0")
    codings = [c.strip().lower() for v in values for c in v.split(",")]
    if not codings or codings[-1] != "chunked":
        raise ParseError(400, "final transfer coding is not chunked")
    if codings.count("chunked") > 1:
        raise ParseError(400, "chunked applied twice")
    for c in codings[:-1]:
        if c in _KNOWN_CODINGS:
            raise ParseError(501, f"transfer coding {c!r} not implemented")
        raise ParseError(501, "unknown transfer coding")
    return True


def build_head(
    hp: Any, url: bytes, raw_headers: list[tuple[bytes, bytes]], limits: Limits,
    head_size: int = -1, method: str | None = None,
) -> RequestHead:
    """Validate one request head and build its :class:`RequestHead`."""
    check_fields(raw_headers, limits, head_size)
    version = _VERSIONS.get(hp.get_http_version())
    if version is None:
        raise ParseError(505, "HTTP version not supported")
    if method is None:
        method = _method(hp)
    path, query = split_target(method, url)
    headers: list[tuple[str, str]] = []
    append = headers.append
    hosts = ctypes = 0
    clen: int | None = None
    te: list[str] | None = None
    conn = expect = ""
    upgrade = False
    name_of = _NAME_STR.get
    kind_of = _SPECIAL_RAW.get if len(_NAME_STR) < _CACHE_MAX else _kind
    for raw_name, raw_value in raw_headers:
        value = raw_value.decode("latin-1")
        if value[-1:] in _OWS:
            value = value.rstrip(" \t")
        append((name_of(raw_name) or _name(raw_name), value))
        kind = kind_of(raw_name)  # after _name(): a new name is cached with its kind
        if kind is None:
            continue
        if kind == _HOST:
            hosts += 1
        elif kind == _CTYPE:
            ctypes += 1
        elif kind == _CLEN:
            if clen is not None or not value.isdigit() or not value.isascii():
                raise ParseError(400, "invalid Content-Length")
            clen = int(value)
        elif kind == _TE:
            te = [*te, value] if te else [value]
        elif kind == _CONN:
            conn = f"{conn},{value.lower()}" if conn else value.lower()
        elif kind == _EXPECT:
            expect = value.lower()
        else:
            upgrade = True
    if hosts > 1 or (hosts == 0 and version == (1, 1)):
        raise ParseError(400, "exactly one Host header required")
    if ctypes > 1:
        raise ParseError(400, "repeated Content-Type")
    chunked = False
    if te is not None:
        if clen is not None:
            raise ParseError(400, "Content-Length with Transfer-Encoding")
        chunked = _codings(te, version)
    if limits.body and clen is not None and clen > limits.body:
        raise ParseError(413, "request body too large")
    if conn == "keep-alive" or conn == "close":
        keep_alive = conn != "close"
        upgrade = False
    elif conn:
        tokens = {t.strip() for t in conn.split(",")}
        keep_alive = "close" not in tokens and (version == (1, 1) or "keep-alive" in tokens)
        upgrade = upgrade and "upgrade" in tokens
    else:
        keep_alive = version == (1, 1)
        upgrade = False
    if upgrade and chunked:
        raise ParseError(400, "chunked body on an upgrade request")
    return RequestHead(
        method, url.decode("latin-1"), path, query, version, headers, clen, chunked,
        keep_alive, version == (1, 1) and expect == "100-continue", upgrade,
    )


def check_fields(raw_headers: list[tuple[bytes, bytes]], limits: Limits,
                 head_size: int = -1) -> None:
    """--limit-request-fields and --limit-request-field-size (431).

    ``head_size`` (bytes the whole head took, when known) bounds every field, so
    small heads skip the per-field scan."""
    if limits.fields and len(raw_headers) > limits.fields:
        raise ParseError(431, "too many header fields")
    size = limits.field_size
    if size and raw_headers and not 0 <= head_size <= size:
        if max(len(n) + len(v) for n, v in raw_headers) + 2 > size:
            raise ParseError(431, "header field too large")


def check_trailers(raw_headers: list[tuple[bytes, bytes]], limits: Limits) -> None:
    """Refuse trailer fields that must never be sent in a trailer section."""
    check_fields(raw_headers, limits)
    for name, _ in raw_headers:
        if name.lower() in _FORBIDDEN_TRAILERS:
            raise ParseError(400, "forbidden trailer field")


def error_from_llhttp(exc: Exception, url: bytes) -> ParseError:
    """Map an llhttp error to the status to answer."""
    reason = str(exc) or type(exc).__name__
    if "HTTP version" in reason:
        return ParseError(505, "HTTP version not supported")
    return ParseError(400, reason.replace("`", "")[:80])
