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

:func:`fast_head` is the shortcut for ordinary heads: one regular expression
checks a whole head that sits complete in the input against a grammar narrower
than what llhttp accepts (known methods, origin-form targets, CRLF line ends,
token names, values without control characters), then the same semantic checks
run.  Anything it does not take, including every head that would be refused, is
left to llhttp, so errors always come from one place.

The leniencies Gunicorn users may ask for live in :class:`Limits`:
:func:`rewrite_head` undoes obsolete line folding and whitespace before a
field's colon (llhttp then reads the result), other HTTP/1.x and 2+ versions
are taken as HTTP/1.1, and heads carrying ``_`` field names that the environ
builder may keep or refuse (``--header-map``, ``--forwarder-headers``) are left
to the general path.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from corral.server.http.errors import ParseError
from corral.server.http.head import UNDERSCORE_ANY, UNDERSCORE_REFUSE, Limits, RequestHead

_VERSIONS = {"1.1": (1, 1), "1.0": (1, 0)}
_V11 = (1, 1)
_V10 = (1, 0)
MAX_METHOD = 64
METHOD_SP = re.compile(rb"(?:\r\n)*([!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}) ")
METHOD_SP_ANY = re.compile(rb"(?:\r\n)*([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ")  # no length cap
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
# ``_PROXY_CONN`` has no meaning here, but llhttp treats it like Connection, so a
# head carrying it is left to llhttp (see :func:`fast_head`).  ``_UNDER`` is any
# other name containing ``_``.
_HOST, _CTYPE, _CLEN, _TE, _CONN, _EXPECT, _UPGRADE, _PROXY_CONN, _UNDER, _OTHER = range(10)
_SPECIAL = {
    "host": _HOST,
    "content-type": _CTYPE,
    "content-length": _CLEN,
    "transfer-encoding": _TE,
    "connection": _CONN,
    "expect": _EXPECT,
    "upgrade": _UPGRADE,
    "proxy-connection": _PROXY_CONN,
}
# a trailer field: token name, colon, a value of visible bytes, spaces and tabs
_TRAILER_FIELD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t\x20-\x7e\x80-\xff]*")
# RFC 9112 section 7.1: chunk-size [ chunk-ext ], with
#   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
_TOKEN_B = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[ \t]*" + _TOKEN_B
    + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN_B + rb"|" + _QUOTED + rb"))?)*"
)
_CACHE_MAX = 1024
_NAME_STR: dict[bytes, str] = {}  # raw name -> str: names repeat forever
_KIND: dict[str, int] = {}  # name as sent -> kind
_METHOD_CACHE: dict[bytes, str] = {}

# -- the shortcut grammar (a strict subset of what llhttp accepts) --------------
# Every repetition below is followed by a character it cannot match, so none ever
# backtracks: where possessive quantifiers exist (3.11) they say so, and are faster.
_P = "+" if sys.version_info >= (3, 11) else ""
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+" + _P
_FAST_HEAD = re.compile(
    r"(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) (/[!-~]*" + _P + r") HTTP/1\.([01])\r\n"
    r"((?:" + _TOKEN + r":[\t\x20-\x7e\x80-\xff]*" + _P + r"\r\n)*" + _P + r")\r\n"
)
_FAST_FIELD = re.compile(r"(" + _TOKEN + r"):[ \t]*" + _P + r"([^\r]*" + _P + r")\r\n")
_FAST_VERSIONS = {"1": _V11, "0": _V10}


def _name(raw: bytes) -> str:
    """Decode a header name, remembering it."""
    text = raw.decode("latin-1")
    if len(_NAME_STR) < _CACHE_MAX:
        _NAME_STR[raw] = text
    return text


def _kind(name: str) -> int:
    """What a header name means to :func:`check_head` (cached)."""
    kind = _SPECIAL.get(name.lower(), _OTHER)
    if kind == _OTHER and "_" in name:
        kind = _UNDER
    if len(_KIND) < _CACHE_MAX:
        _KIND[name] = kind
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
    if version != _V11:
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
    method: str | None = None,
) -> RequestHead:
    """Validate one request head llhttp parsed and build its :class:`RequestHead`."""
    check_fields(raw_headers, limits)
    version = _VERSIONS.get(hp.get_http_version())
    if version is None:
        if not limits.any_version:
            raise ParseError(505, "HTTP version not supported")
        version = _V11  # --permit-unconventional-http-version
    if method is None:
        method = _method(hp)
    path, query = split_target(method, url)
    headers: list[tuple[str, str]] = []
    append = headers.append
    name_of = _NAME_STR.get
    for raw_name, raw_value in raw_headers:
        value = raw_value.decode("latin-1")
        if value[-1:] in (" ", "\t"):
            value = value.rstrip(" \t")
        append((name_of(raw_name) or _name(raw_name), value))
    return check_head(method, url.decode("latin-1"), path, query, version, headers, limits)[0]


def check_head(
    method: str, url: str, path: str, query: str, version: tuple[int, int],
    headers: list[tuple[str, str]], limits: Limits,
) -> tuple[RequestHead, bool]:
    """The semantic checks of a head; also says whether llhttp would see the
    connection the same way (no Transfer-Encoding, Upgrade or Proxy-Connection,
    at most one plain ``Connection: close|keep-alive``) and whether no field name
    with ``_`` needs the environ builder's look at the peer."""
    hosts = ctypes = conns = 0
    clen: int | None = None
    te: list[str] | None = None
    conn = expect = ""
    upgrade = odd = False
    kind_of = _KIND.get
    for name, value in headers:
        kind = kind_of(name)
        if kind is None:
            kind = _kind(name)
        if kind == _OTHER:
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
            conns += 1
            conn = f"{conn},{value.lower()}" if conn else value.lower()
        elif kind == _EXPECT:
            expect = value.lower()
        elif kind == _UPGRADE:
            upgrade = True
        elif kind == _UNDER:
            if limits.underscore:  # kept or refused for some peers: not for shortcuts
                forwarder = name.upper() in limits.forwarders or "*" in limits.forwarders
                if limits.underscore == UNDERSCORE_REFUSE and not forwarder:
                    raise ParseError(400, "header field name with underscore")
                odd = odd or limits.underscore >= UNDERSCORE_ANY or forwarder
        else:
            odd = True  # Proxy-Connection
    if hosts > 1 or (hosts == 0 and version == _V11):
        raise ParseError(400, "exactly one Host header required")
    if ctypes > 1:
        raise ParseError(400, "repeated Content-Type")
    plain = not (odd or upgrade or te is not None or conns > 1)
    chunked = False
    if te is not None:
        if clen is not None:
            raise ParseError(400, "Content-Length with Transfer-Encoding")
        chunked = _codings(te, version)
    if limits.body and clen is not None and clen > limits.body:
        raise ParseError(413, "request body too large")
    if not conn:
        keep_alive = version == _V11
        upgrade = False
    elif conn == "keep-alive" or conn == "close":
        keep_alive = conn != "close"
        upgrade = False
    else:
        plain = False
        tokens = {t.strip() for t in conn.split(",")}
        keep_alive = "close" not in tokens and (version == _V11 or "keep-alive" in tokens)
        upgrade = upgrade and "upgrade" in tokens
    if upgrade and chunked:
        raise ParseError(400, "chunked body on an upgrade request")
    head = RequestHead(
        method, url, path, query, version, headers, clen, chunked,
        keep_alive, version == _V11 and expect == "100-continue", upgrade,
    )
    return head, plain


def fast_head(data: bytes, start: int, end: int, limits: Limits) -> RequestHead | None:
    """The head in ``data[start:end]`` (which ends with the blank line), or None
    when it is not an ordinary head that passes every check: the caller then
    hands the bytes to llhttp, which parses them (or refuses them) in full."""
    text = data[start:end].decode("latin-1")
    m = _FAST_HEAD.fullmatch(text)
    if m is None:
        return None
    method, url, minor, block = m.groups()
    if limits.request_line and len(url) + 14 > limits.request_line:
        return None  # 414, from the llhttp path
    if limits.field_size and end - start > limits.field_size:
        return None  # a field may be too large: measured on the llhttp path
    headers: list[tuple[str, str]] = _FAST_FIELD.findall(block)
    if limits.fields and len(headers) > limits.fields:
        return None
    if " \r" in block or "\t\r" in block:  # trailing whitespace: not part of a value
        headers = [(n, v.rstrip(" \t")) for n, v in headers]
    target = url.split("#", 1)[0] if "#" in url else url
    path, _, query = target.partition("?")
    try:
        head, plain = check_head(method, url, path, query, _FAST_VERSIONS[minor], headers,
                                 limits)
    except ParseError:
        return None
    return head if plain else None


def rewrite_head(head: bytes, fold: bool, strip: bool) -> bytes:
    """A complete head (request line to blank line) with obsolete line folding
    undone (``fold``: a line starting with SP/HTAB continues the field before it;
    the pieces are joined with one space) and whitespace between field names and
    their colon removed (``strip``).  Everything else is left for llhttp to judge."""
    lines = head.split(b"\r\n")
    out: list[bytes] = []
    start = 0
    while start < len(lines) and not lines[start]:  # CRLFs before the request line
        out.append(lines[start])
        start += 1
    out.append(lines[start] if start < len(lines) else b"")
    first_field = len(out)
    for line in lines[start + 1 :]:
        if fold and line[:1] in (b" ", b"\t") and len(out) > first_field and out[-1]:
            out[-1] = out[-1].rstrip(b" \t") + b" " + line.strip(b" \t")
            continue
        if strip:
            colon = line.find(b":")
            if colon > 0 and line[colon - 1 : colon] in (b" ", b"\t"):
                line = line[:colon].rstrip(b" \t") + line[colon:]
        out.append(line)
    return b"\r\n".join(out)


def check_fields(raw_headers: list[tuple[bytes, bytes]], limits: Limits) -> None:
    """--limit-request-fields (431); the size of each is measured on the raw
    lines (:func:`check_field_lines`)."""
    if limits.fields and len(raw_headers) > limits.fields:
        raise ParseError(431, "too many header fields")


def check_field_lines(block: bytes, limit: int, fold: bool = False) -> None:
    """``--limit-request-field-size`` as Gunicorn counts it (431): every header
    line of ``block`` (a head from its request line on, or a trailer section),
    as sent, plus its CRLF; with ``fold``, a continuation line adds its own
    length and CRLF to the field it continues."""
    lines = block.split(b"\r\n")
    size = 0
    for line in lines[1:]:
        if fold and line[:1] in (b" ", b"\t") and size:
            size += len(line) + 2
        else:
            size = len(line) + 2 if line else 0
        if size > limit:
            raise ParseError(431, "header field too large")


def check_trailer_block(block: bytes, limits: Limits) -> None:
    """The trailer section of a chunked body (without its blank line): fields
    as in a header section, none of those that must never be sent as trailers,
    within the header limits."""
    count = 0
    for line in block.split(b"\r\n"):
        m = _TRAILER_FIELD.fullmatch(line)
        if m is None:
            raise ParseError(400, "invalid trailer field")
        if m.group(1).lower() in _FORBIDDEN_TRAILERS:
            raise ParseError(400, "forbidden trailer field")
        count += 1
        if limits.fields and count > limits.fields:
            raise ParseError(431, "too many trailer fields")
        if limits.field_size and len(line) + 2 > limits.field_size:
            raise ParseError(431, "trailer field too large")


def error_from_llhttp(exc: Exception, url: bytes) -> ParseError:
    """Map an llhttp error to the status to answer."""
    reason = str(exc) or type(exc).__name__
    if "HTTP version" in reason:
        return ParseError(505, "HTTP version not supported")
    return ParseError(400, reason.replace("`", "")[:80])
