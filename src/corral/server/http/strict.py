"""The request-head grammar of RFC 9112, and the checks that follow it.

One grammar, two ways of applying it, both here:

* :func:`match_head` reads a whole head (request line to blank line) with one
  regular expression and the fields with one ``findall``: the way every
  ordinary request goes (compiled, where the extension is built: see
  :func:`python_match_head`).  It answers None when the head is not one it can
  vouch for (a violation, a limit that needs each line measured, an option
  such as obsolete line folding), and never refuses anything itself;
* :class:`HeadReader` reads a head line by line with the same grammar, as its
  lines arrive: it refuses the first violation in byte order with a
  :class:`~corral.server.http.errors.ParseError` (400 for a malformed line,
  414/431 for the ``--limit-request-*`` bounds, 505 for other versions), checks
  the line still arriving against its bounds so an endless line is refused
  before it ends, and applies ``--permit-obsolete-folding``,
  ``--strip-header-spaces``, ``--permit-unconventional-http-method`` and
  ``--permit-unconventional-http-version``.

Both end in :func:`make_head`, which checks what a grammar cannot see and builds
the :class:`~corral.server.http.head.RequestHead`:

* targets: asterisk-form outside OPTIONS, CONNECT without authority-form,
  relative targets (400);
* a second Host or Content-Type, a missing Host on HTTP/1.1 (400);
* Transfer-Encoding: codings other than ``chunked`` (501), ``chunked`` twice,
  not last, or on HTTP/1.0 (400);
* Content-Length that is not plain digits, too large a number, or above the body
  limit (400/413); a field name with ``_`` under ``--header-map refuse`` (400).

``--limit-request-field-size`` is measured on each line as sent, with its line
end, as Gunicorn measures it; ``--limit-request-line`` on the target (414 when
it and the 14 bytes of an ordinary method, spaces and version exceed it).

The grammar, per RFC 9112 (and RFC 9110 for tokens and field values)::

    request-line = method SP request-target SP HTTP-version CRLF
    method       = token                      (at most 64 bytes by default)
    request-target = 1*( %x21-7E )             (its form is checked afterwards)
    HTTP-version = "HTTP/" DIGIT "." DIGIT      (1.0 and 1.1; others 505)
    field-line   = field-name ":" OWS field-value OWS CRLF
    field-name   = token
    field-value  = *( HTAB / SP / VCHAR / obs-text )

Lines end with CRLF only; empty lines before a request line are the parser's
to skip.  Chunk-size lines and trailer sections of chunked bodies are checked
here too (:data:`CHUNK_LINE`, :func:`check_trailer_block`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from corral.server.http import headscan
from corral.server.http.errors import ParseError
from corral.server.http.head import UNDERSCORE_REFUSE, Limits, RequestHead, environ_key
from corral.server.http.headscan import (
    MAX_METHOD,
    OWS,
    POSSESSIVE,
    TCHAR,
    TOKEN,
    VCHARS,
    VISIBLE,
)

_V11 = (1, 1)
_V10 = (1, 0)
LINE_SLACK = 80  # room for the method and version around a target at the limit
MAX_CONTENT_LENGTH = 2**64 - 1
_ABSOLUTE = re.compile(r"[A-Za-z]+://([^/?#]*)([^#]*)")
_AUTHORITY = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=\-]+:[0-9]+|\[[0-9A-Fa-f:.]+\]:[0-9]+")
_KNOWN_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "compress", "x-compress", "identity"})
_FORBIDDEN_TRAILERS = frozenset(
    {b"content-length", b"transfer-encoding", b"host", b"trailer", b"authorization", b"te",
     b"content-type", b"content-encoding", b"connection", b"expect"}
)

# Header names that need a look while checking the head, keyed by name as sent.
# ``_UNDER`` is any other name containing ``_``; ``_OTHER`` (0) needs no look.
_OTHER, _HOST, _CTYPE, _CLEN, _TE, _CONN, _EXPECT, _UPGRADE, _UNDER = range(9)
# added to the kind of a name whose environ key is in _FORWARDING: the head
# then says it has forwarding fields (RequestHead.forwarded)
_FORWARD = 16
_SPECIAL = {
    "host": _HOST,
    "content-type": _CTYPE,
    "content-length": _CLEN,
    "transfer-encoding": _TE,
    "connection": _CONN,
    "expect": _EXPECT,
    "upgrade": _UPGRADE,
}
_CACHE_MAX = 1024
# name as sent -> (kind, environ key): names repeat forever
_NAMES: dict[str, tuple[int, str | None]] = {}
# the environ keys of the fields a trusted peer forwards the scheme or the
# client's address in: those of the default settings, and those of every
# environ builder made in this process (see flag_forwarding); a head without
# any of them needs no look for them
COMMON_FORWARDING = frozenset({"HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO",
                               "HTTP_X_FORWARDED_PROTOCOL", "HTTP_X_FORWARDED_SSL"})
_FORWARDING: set[str] = set(COMMON_FORWARDING)


def flag_forwarding(keys: Iterable[str]) -> None:
    """Make heads with any of these environ keys say so (``forwarded``).  Keys
    are only ever added: a head flagged for a builder that does not read that
    key costs that builder a look that finds nothing."""
    new = set(keys) - _FORWARDING
    if new:
        _FORWARDING.update(new)
        _NAMES.clear()  # the names seen so far are judged again

# -- the grammar ------------------------------------------------------------------
# (the whole-head form is in headscan, with the pieces the line reader shares)
_MINOR = (_V10, _V11)

# The same grammar a line at a time (bytes; a line without its LF).
_B_TCHARS = re.compile((TCHAR + "*").encode())
_B_VISIBLE = re.compile((VISIBLE + "*").encode())
_B_FIELD = re.compile(("(" + TOKEN + "):" + OWS + "(" + VCHARS + ")\r").encode())
_B_FIELD_STRIP = re.compile(("(" + TOKEN + ")" + OWS + ":" + OWS + "(" + VCHARS + ")\r")
                            .encode())
_B_FOLDED = re.compile(("[ \t]+" + POSSESSIVE + "(" + VCHARS + ")\r").encode())
_B_NOT_VALUE = re.compile(rb"[^\t\x20-\x7e\x80-\xff]")
_VERSION_TEMPLATE = b"HTTP/#.#\r"  # "#": a digit
_METHOD, _TARGET, _VERSION = range(3)  # the parts of a request line
_DIGITS = b"0123456789"
_SP_HTAB = (b" ", b"\t")

# a trailer field: a field line without its whitespace rules (values are not kept)
_TRAILER_FIELD = re.compile(("(" + TOKEN + "):" + VCHARS).encode())
# RFC 9112 section 7.1: chunk-size [ chunk-ext ], with
#   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
_TOKEN_B = (TCHAR + "+").encode()
_QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[ \t]*" + _TOKEN_B
    + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN_B + rb"|" + _QUOTED + rb"))?)*"
)


def python_match_head(data: bytes | bytearray, start: int, end: int, limits: Limits
                      ) -> tuple[RequestHead, int] | None:
    """The head that begins at ``data[start]`` read in one go, with where it ends
    (after its blank line, which must lie within ``data[start:end]``); None when
    it is not whole there or the grammar's whole-head form does not take it as
    it stands: the caller then reads it with a :class:`HeadReader`, which
    refuses it or reads what this leaves to it (other versions, long methods,
    folded lines, heads whose lines must be measured one by one).

    This is the definition; :data:`match_head` is the compiled form of it
    where the extension is built (``headscan.read_head``), which checks the
    heads whose every check passes without a word from :func:`make_head`
    (an origin-form target, one Host, at most one short Content-Length, no
    Connection but ``keep-alive`` or ``close``...) and hands every other
    head to :func:`make_head` itself."""
    scanned = headscan.scan_head(data, start, end)
    if scanned is None:
        return None
    method, url, minor, headers, stop = scanned
    if limits.request_line and len(url) + 14 > limits.request_line:
        return None  # 414
    if limits.field_size and stop - start > limits.field_size:
        return None  # a line may be too large: measured one by one
    if limits.fields and len(headers) > limits.fields:
        return None  # 431
    return make_head(method, url, _MINOR[minor], headers, limits), stop


class HeadReader:
    """One request head read line by line as its lines arrive (sans-IO).

    :meth:`read` takes the complete lines of a buffer (from its first byte, the
    request line's) and refuses the first violation in byte order; once the blank
    line is read, :meth:`head` builds the request head.  :meth:`check_partial`
    checks the line still arriving against its bounds.  Each line is judged
    alone (its bounds first, then its bytes), so the verdict never depends on
    how the head was cut into reads."""

    __slots__ = ("limits", "scan", "method", "url", "version", "names", "values", "size",
                 "_line_cap", "_method_max", "_field_re", "_phase", "_done", "_target_at",
                 "_version_at", "_seen")

    def __init__(self, limits: Limits, budget: int) -> None:
        """``budget``: the bytes a head may take (:meth:`Limits.head_budget`)."""
        self.limits = limits
        self.scan = 0  # where the next line to read starts
        self._seen = 0  # how far the buffer is known to hold no LF past ``scan``
        self.method = ""  # "" until the request line is read
        self.url = ""
        self.version = _V11
        self.names: list[bytes] = []
        self.values: list[bytes] = []  # leading whitespace off, trailing still on
        self.size = 0  # bytes of the last field, continuation lines included
        line = limits.request_line
        # a request line goes no further than a little past --limit-request-line (the
        # target is measured once the head is read), else than the head budget
        self._line_cap = line + LINE_SLACK if line else budget
        self._method_max = (line or budget) if limits.any_method else MAX_METHOD
        self._field_re = _B_FIELD_STRIP if limits.strip_spaces else _B_FIELD
        # how far the request line is read: its part (method, target, version), the
        # bytes of it found good so far, where the target and the version start
        self._phase = _METHOD
        self._done = 0
        self._target_at = 0
        self._version_at = 0

    def read(self, buf: bytes | bytearray, end: int) -> int:
        """Read the complete lines of ``buf[:end]`` (a head from its first byte) not
        read yet; return where the head ends (after its blank line), or -1 while it
        has not ended."""
        scan = self.scan
        find = buf.find
        nl = find(b"\n", max(scan, self._seen), end)
        while True:
            if nl < 0:
                self.scan = scan
                self._seen = end
                return -1
            if not self.method:
                self.request_line(buf, nl, complete=True)
            elif nl - scan == 1 and buf[scan] == 0x0D:
                self.scan = nl + 1
                return nl + 1
            else:
                self.field_line(bytes(buf[scan:nl]))
            scan = nl + 1
            nl = find(b"\n", scan, end)

    def check_partial(self, buf: bytes | bytearray, end: int) -> None:
        """The line in progress, ``buf[self.scan:end]``: refuse it if what has come
        of it is already too long (or, for a request line, malformed).  Each call
        costs what arrived since the last one."""
        scan = self.scan
        if not self.method:
            self.request_line(buf, end, complete=False)
        elif end - scan > 1 or (end > scan and buf[scan] != 0x0D):  # not a blank line
            self._measure(end - scan, buf[scan] in b" \t")

    # -- the request line ---------------------------------------------------------
    def request_line(self, buf: bytes | bytearray, end: int, complete: bool) -> None:
        """Read the request line, ``buf[:end]`` (without its LF); with ``complete``
        False, what has come of it, refusing what it already shows to be wrong."""
        cap = self._line_cap
        if cap and end >= cap:  # it will not end (with its LF) within the bound
            self._request_line(buf, cap, complete=False)  # a violation before it wins
            raise ParseError(414, "request line too long")
        self._request_line(buf, end, complete)

    def _request_line(self, buf: bytes | bytearray, end: int, complete: bool) -> None:
        # goes on from where the last call stopped: what it read was good
        if self._phase == _METHOD:
            cap = self._method_max
            at = _run(_B_TCHARS, buf, self._done, min(cap + 1, end) if cap else end)
            if cap and at > cap:
                if self.limits.any_method:
                    raise ParseError(414, "request line too long")
                raise ParseError(400, "invalid method")
            if at >= end and not complete:
                self._done = end
                return
            if at == 0 or at >= end or buf[at] != 0x20:
                raise ParseError(400, "invalid method")
            if at == 3 and buf[:3] == b"PRI":
                raise ParseError(400, "HTTP/2 connection preface")
            self._phase = _TARGET
            self._done = self._target_at = at + 1
        if self._phase == _TARGET:
            start = self._target_at
            at = _run(_B_VISIBLE, buf, self._done, end)
            if at >= end and not complete:
                self._done = end
                return
            if at == start:
                raise ParseError(400, "invalid request target")
            if at >= end or buf[at] == 0x0D:
                raise ParseError(400, "missing HTTP version")
            if buf[at] != 0x20:
                raise ParseError(400, "invalid character in request target")
            self._phase = _VERSION
            self._done = self._version_at = at + 1
        start = self._version_at
        version = self._version(bytes(buf[start : min(end, start + 10)]), end - start, complete)
        if complete:
            self.method = buf[: self._target_at - 1].decode("ascii")
            self.url = buf[self._target_at : start - 1].decode("ascii")
            self.version = version

    def _version(self, rest: bytes, size: int, complete: bool) -> tuple[int, int]:
        """``HTTP/d.d`` then CR (``rest``: the first bytes of the ``size`` after the
        target): the version (what has come of it when not ``complete``)."""
        version = _V11
        for i, c in enumerate(rest[:9]):
            want = _VERSION_TEMPLATE[i]
            if not (c in _DIGITS if want == 0x23 else c == want):
                if i < 8:
                    raise ParseError(400, "invalid HTTP version")
                raise ParseError(400, "invalid request line")
            if i == 7:
                version = (rest[5] - 0x30, c - 0x30)
                if version != _V11 and version != _V10:
                    if not self.limits.any_version:
                        raise ParseError(505, "HTTP version not supported")
                    version = _V11  # --permit-unconventional-http-version
        if size > 9:
            raise ParseError(400, "bare CR in request line")
        if size < 9 and complete:
            raise ParseError(400, "request line without CRLF")
        return version

    # -- field lines ----------------------------------------------------------------
    def field_line(self, line: bytes) -> None:
        """Read one field line (without its LF)."""
        limits = self.limits
        folded = line[:1] in _SP_HTAB
        self.size = self._measure(len(line), folded)
        if folded and limits.fold and self.names:
            m = _B_FOLDED.fullmatch(line)
            if m is None:
                raise _field_error(line, limits)
            # --permit-obsolete-folding: the pieces joined with one space
            before = self.values[-1].rstrip(b" \t")
            self.values[-1] = before + b" " + m.group(1) if before else m.group(1)
            return
        if limits.fields and len(self.names) >= limits.fields:
            raise ParseError(431, "too many header fields")
        m = self._field_re.fullmatch(line)
        if m is None:
            raise _field_error(line, limits)
        self.names.append(m.group(1))
        self.values.append(m.group(2))

    def _measure(self, length: int, folded: bool) -> int:
        """--limit-request-field-size on a field line of ``length`` bytes so far
        (without its LF) as sent with its line end; with --permit-obsolete-folding,
        a continuation line (``folded``) adds to the field it continues."""
        size = length + 1
        if folded and self.limits.fold and self.names:
            size += self.size
        limit = self.limits.field_size
        if limit and size > limit:
            raise ParseError(431, "header field too large")
        return size

    def head(self) -> RequestHead:
        """The request head read (once :meth:`read` found its end)."""
        limit = self.limits.request_line
        if limit and len(self.url) + 14 > limit:
            raise ParseError(414, "request line too long")
        headers = [
            (name.decode("latin-1"), value.rstrip(b" \t").decode("latin-1"))
            for name, value in zip(self.names, self.values, strict=True)
        ]
        return make_head(self.method, self.url, self.version, headers, self.limits)


def _run(chars: re.Pattern[bytes], line: bytes | bytearray, start: int, end: int) -> int:
    """Where the run of ``chars`` from ``start`` in ``line[:end]`` ends."""
    m = chars.match(line, start, end)
    return m.end() if m is not None else start


def _field_error(line: bytes, limits: Limits) -> ParseError:
    """Why ``line`` is not a field line."""
    if line[:1] in _SP_HTAB:
        return ParseError(400, "obsolete line folding")
    at = _run(_B_TCHARS, line, 0, len(line))
    if at == 0:
        return ParseError(400, "invalid header field name")
    colon = line.find(b":", at)
    if colon < 0:
        return ParseError(400, "header field without a colon")
    if colon > at:
        between = line[at:colon]
        if between.strip(b" \t") or limits.strip_spaces:
            return ParseError(400, "invalid header field name")
        return ParseError(400, "whitespace before a colon")
    bad = _B_NOT_VALUE.search(line, colon + 1)
    if bad is not None and bad.start() != len(line) - 1:
        if line[bad.start()] == 0x0D:
            return ParseError(400, "bare CR in header field")
        return ParseError(400, "invalid character in header field value")
    return ParseError(400, "header line without CRLF")


# -- what follows the grammar ----------------------------------------------------------


def split_target(method: str, url: str) -> tuple[str, str]:
    """The form of a request target (visible ASCII, as the grammar takes it);
    return (path, query), percent-encoded."""
    if url[0] == "/" and method != "CONNECT":
        rest = url
    elif method == "CONNECT":
        if not _AUTHORITY.fullmatch(url):
            raise ParseError(400, "CONNECT needs an authority-form target")
        return "", ""
    elif url == "*":
        if method != "OPTIONS":
            raise ParseError(400, "asterisk-form target outside OPTIONS")
        return "*", ""
    else:
        m = _ABSOLUTE.fullmatch(url)
        if m is None:
            raise ParseError(400, "relative or malformed request target")
        rest = m.group(2) or "/"
        if rest[0] != "/":
            rest = "/" + rest
    if "#" in rest:
        rest = rest.split("#", 1)[0]
    path, _, query = rest.partition("?")
    return path, query


def _name(name: str) -> tuple[int, str | None]:
    """What a header name means to :func:`make_head`, and its environ key (cached)."""
    kind = _SPECIAL.get(name.lower(), _OTHER)
    if kind == _OTHER and "_" in name:
        kind = _UNDER
    key = environ_key(name)
    if key in _FORWARDING:
        kind |= _FORWARD
    entry = (kind, key)
    if len(_NAMES) < _CACHE_MAX:
        _NAMES[name] = entry
    return entry


def _content_length(value: str) -> int:
    """A Content-Length value: plain ASCII digits, and a number a length can be."""
    if not value.isdigit() or not value.isascii():
        raise ParseError(400, "invalid Content-Length")
    if len(value) <= 18:
        return int(value)
    digits = value.lstrip("0")
    if len(digits) > 20 or (digits and int(digits) > MAX_CONTENT_LENGTH):
        raise ParseError(400, "Content-Length too large")
    return int(digits or "0")


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


def make_head(method: str, url: str, version: tuple[int, int], headers: list[tuple[str, str]],
              limits: Limits) -> RequestHead:
    """The head of a request the grammar took, once its meaning is checked: the
    target's form, then the fields that frame the body, name the host and
    govern the connection."""
    path, query = split_target(method, url)
    if limits.casefold and not method.isupper():  # --casefold-http-method
        method = method.upper()
        path, query = split_target(method, url)  # the target suits both spellings
    hosts = ctypes = 0
    clen: int | None = None
    te: list[str] | None = None
    conn = expect = ""
    upgrade = forwarded = False
    fields, notable, underscored = headscan.sort_fields(headers, _NAMES, _name)
    for kind, name, value in notable:
        if kind & _FORWARD:
            forwarded = True
            kind ^= _FORWARD
        if kind == _HOST:
            hosts += 1
        elif kind == _CTYPE:
            ctypes += 1
        elif kind == _CLEN:
            if clen is not None:
                raise ParseError(400, "repeated Content-Length")
            clen = _content_length(value)
        elif kind == _TE:
            te = [*te, value] if te else [value]
        elif kind == _CONN:
            conn = f"{conn},{value.lower()}" if conn else value.lower()
        elif kind == _EXPECT:
            expect = value.lower()
        elif kind == _UPGRADE:
            upgrade = True
        elif kind == _UNDER and limits.underscore == UNDERSCORE_REFUSE:
            if name.upper() not in limits.forwarders and "*" not in limits.forwarders:
                raise ParseError(400, "header field name with underscore")
    if hosts > 1 or (hosts == 0 and version == _V11):
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
    if not conn:
        keep_alive = version == _V11
        upgrade = False
    elif conn == "keep-alive" or conn == "close":
        keep_alive = conn != "close"
        upgrade = False
    else:
        tokens = {t.strip() for t in conn.split(",")}
        keep_alive = "close" not in tokens and (version == _V11 or "keep-alive" in tokens)
        upgrade = upgrade and "upgrade" in tokens
    if upgrade and chunked:
        raise ParseError(400, "chunked body on an upgrade request")
    return RequestHead(
        method, url, path, query, version, [s for pair in headers for s in pair], clen, chunked,
        keep_alive, version == _V11 and expect == "100-continue", upgrade, fields, underscored,
        forwarded,
    )


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


MatchHead = Callable[[bytes | bytearray, int, int, Limits], "tuple[RequestHead, int] | None"]
match_head: MatchHead = python_match_head
if headscan.read_head is not None and headscan.bind is not None:
    headscan.bind(make_head, RequestHead, _NAMES, _name, _V10, _V11)
    match_head = headscan.read_head
