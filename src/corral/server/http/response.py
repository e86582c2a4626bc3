"""Response side of the cycle: ``start_response`` validation and wire bytes.

:class:`Response` holds what the application declared (status, headers,
``Content-Length``), its status and header lines already encoded; the request
cycle's :class:`~corral.server.http.cycle.Exchange` is one, and adds the
framing and connection lines once they are decided (``Content-Length`` when
known, chunked for HTTP/1.1 streams, close-delimited for HTTP/1.0; no body for
HEAD, 204 and 304, nor Content-Length for 204 and 304).  Hop-by-hop header
fields the application sets are dropped with a warning; a 1xx status from it is
an application error (500).
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from types import TracebackType
from typing import IO, Any

from corral.server.http import headscan
from corral.server.http.errors import STATUS_REASONS

SERVER_HEADER = "corral"
_STATUS_RE = re.compile(r"[1-9][0-9]{2}(?: [^\r\n\x00]*)?")
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE_RE = re.compile(r"[\r\n\x00]")
# Header fields about one connection, not the response: the server frames the
# response and decides about the connection itself, so these are dropped from what
# the application set (with a warning), as Gunicorn drops them.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
     "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"}
)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# -- Date header, formatted at most once per second ---------------------------
class DateLine:
    """The ``Date`` and ``Server`` header lines of one second: good while
    ``since <= time.time() < until``; :meth:`at` makes them for another."""

    __slots__ = ("since", "until", "line")

    def __init__(self) -> None:
        self.since = self.until = 0.0
        self.line = b""

    def at(self, now: float) -> bytes:
        """The lines for the second of ``now`` (a new second, or the clock went back)."""
        second = int(now)
        self.line = (f"Date: {formatdate(second, usegmt=True)}\r\n"
                     f"Server: {SERVER_HEADER}\r\n").encode("ascii")
        self.since = float(second)
        self.until = second + 1.0
        return self.line


DATE = DateLine()
_time = time.time


def date_header() -> bytes:
    """The ``Date`` and ``Server`` header lines for the current second (cached).
    The request cycle reads :data:`DATE` itself, without this call."""
    now = _time()
    return DATE.line if DATE.since <= now < DATE.until else DATE.at(now)


def own_headers_line(own: int) -> bytes:
    """The Date/Server lines still to add when the app set one or both itself."""
    line = date_header()
    date_part, _, server_part = line.partition(b"\r\n")
    return (b"" if own & 1 else date_part + b"\r\n") + (b"" if own & 2 else server_part)


@dataclass(slots=True)
class FileChunk:
    """Part of a file to send with ``sendfile`` (or read+write) as-is."""

    file: IO[bytes]
    offset: int
    count: int


class FileWrapper:
    """``wsgi.file_wrapper``: iterates a file in blocks; the cycle sends it with
    ``sendfile`` when the file is a regular file with a real descriptor."""

    def __init__(self, filelike: IO[bytes], blksize: int = 65536) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            data = read(self.blksize)
            if not data:
                return
            yield data

    def sendfile_range(self) -> tuple[int, int] | None:
        """(offset, bytes left) when the file can go through ``sendfile``."""
        try:
            fd = self.filelike.fileno()
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            offset = self.filelike.tell()
        except (AttributeError, OSError, ValueError):
            return None
        return offset, max(0, st.st_size - offset)


# What ``start_response`` was told, checked once per distinct item and kept per
# worker: header fields repeat from one response to the next (Content-Type,
# Cache-Control, a Content-Length of a common size) even when the lists they come
# in differ, and statuses repeat.  Bounded; items seen once (a cookie) are checked
# each time once the tables are full.
# (name, value) -> (kind, the header line encoded, the length of a Content-Length)
_FIELDS: dict[object, headscan.LineEntry] = {}
_STATUSES: dict[str, tuple[int, bytes]] = {}  # status -> (code, encoded with CRLF)
_TABLE_MAX = 1024


def _check_status(status: Any) -> tuple[int, bytes]:
    """(code, status line bytes) of a ``start_response`` status; AssertionError
    (an application error) when it is not one a final response may have."""
    if not isinstance(status, str) or not _STATUS_RE.fullmatch(status):
        raise AssertionError(f"invalid status {status!r}")
    code = int(status[:3])
    if code < 200:  # WSGI has no interim responses: this would be the final one
        raise AssertionError(f"informational status {status!r} as a final response")
    try:
        line = status.encode("latin-1") + b"\r\n"
    except UnicodeEncodeError:
        raise AssertionError(f"status {status!r} is not latin-1") from None
    if status.__class__ is str and len(_STATUSES) < _TABLE_MAX:
        _STATUSES[status] = (code, line)
    return code, line


def _check_field(item: Any) -> headscan.LineEntry:
    """(kind, header line, Content-Length or 0) of one ``start_response`` header
    item; AssertionError when it is malformed."""
    if not isinstance(item, tuple) or len(item) != 2:
        raise AssertionError(f"invalid header {item!r}")
    name, value = item
    if not isinstance(name, str) or not _TOKEN_RE.fullmatch(name):
        raise AssertionError(f"invalid header name {name!r}")
    if not isinstance(value, str) or _BAD_VALUE_RE.search(value):
        raise AssertionError(f"invalid value for header {name!r}")
    try:
        line = f"{name}: {value}\r\n".encode("latin-1")
    except UnicodeEncodeError:
        raise AssertionError("header values must be latin-1") from None
    lname = name.lower()
    length = 0
    if lname in HOP_BY_HOP:
        kind = (headscan.CLOSE if lname == "connection" and value.strip().lower() == "close"
                else headscan.DROP)
    elif lname == "content-length":
        if not (value.strip().isdigit() and value.isascii()):
            raise AssertionError(f"invalid Content-Length {value!r}")
        kind = headscan.LENGTH
        length = int(value)
    else:
        kind = (headscan.DATE if lname == "date" else headscan.SERVER if lname == "server"
                else headscan.PLAIN)
    entry = (kind, line, length)
    # only exact types are kept: a subclass may compare or hash otherwise
    if (item.__class__ is tuple and name.__class__ is str and value.__class__ is str
            and len(_FIELDS) < _TABLE_MAX):
        _FIELDS[item] = entry
    return entry


class Response:
    """What ``start_response`` was told, validated, its lines encoded: the
    response half of the request cycle's
    :class:`~corral.server.http.cycle.Exchange`, which sets these fields when
    it begins (``writes``: what the application passed to ``write()`` and the
    cycle has not sent yet; ``_line``: the status line and the application's
    header lines, encoded; ``_own``: bit 1 set when the application set Date,
    bit 2 when it set Server).  :meth:`dropped` hears of the hop-by-hop
    fields the application set, which never go out."""

    __slots__ = ("status", "status_line", "headers", "content_length", "must_close",
                 "_line", "headers_sent", "_own", "writes")
    status: int  # 0 until start_response is called
    status_line: str
    headers: list[tuple[str, str]]
    content_length: int | None
    must_close: bool
    _line: bytes
    headers_sent: bool
    _own: int
    writes: list[bytes]

    def start(self, status: str, headers: list[tuple[str, str]],
              exc_info: ExcInfo | None = None) -> Callable[[bytes], None]:
        """``start_response`` (PEP 3333): validate what the application says,
        keep it, and return its ``write`` callable."""
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
            return _start_response(self, status, headers, True)
        return _start_response(self, status, headers, False)

    def dropped(self, names: tuple[str, ...]) -> None:
        """The application set these hop-by-hop fields; they do not go out."""


def python_start_response(resp: Response, status: str, headers: list[tuple[str, str]],
                          again: bool) -> Callable[[bytes], None]:
    """What :meth:`Response.start` does once ``exc_info`` is dealt with
    (``again``: it was given, and the headers did not go out yet): check the
    status and the header items (each by the tables of what was checked
    before, or :func:`_check_status` and :func:`_check_field`), keep them in
    ``resp``, return its ``write``.  AssertionError (an application error)
    for what a response may not have.

    This is the reference; where the extension is built, the compiled
    ``start_response`` (``_headscan.c``) does the same."""
    if resp.status and not again:
        raise AssertionError("start_response called a second time without exc_info")
    known = _STATUSES.get(status) if status.__class__ is str else None
    code, status_bytes = known or _check_status(status)
    if not isinstance(headers, list):
        raise AssertionError("headers must be a list of (name, value) tuples")
    lines, clen, own, must_close, dropped = headscan.field_lines(
        status_bytes, code, headers, _FIELDS, _check_field)
    if dropped:
        resp.dropped(dropped)
    resp.status = code
    resp.status_line = status
    resp.headers = headers
    resp.content_length = clen
    resp.must_close = must_close
    resp._own = own
    resp._line = lines
    return resp.writes.append


_start_response = python_start_response
if headscan.native is not None:
    headscan.native.bind_response(Response, _STATUSES, _FIELDS, _check_status, _check_field)
    _start_response = headscan.native.start_response


def error_response(status: int, reason: str = "", version: tuple[int, int] = (1, 1)) -> bytes:
    """A complete plain-text response that closes the connection."""
    phrase = STATUS_REASONS.get(status, "Error")
    body = f"{status} {phrase}\n{reason}\n" if reason else f"{status} {phrase}\n"
    data = body.encode("utf-8", "replace")
    proto = "HTTP/1.1" if version == (1, 1) else "HTTP/1.0"
    return (
        f"{proto} {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n"
    ).encode("latin-1") + date_header() + b"\r\n" + data


COLLECT_MAX = 65536  # a body of declared length up to this is collected before sending


def collect_body(result: Any, writes: list[bytes]) -> bytes:
    """The whole body of an iterable response, with what the app passed to
    ``write()`` meanwhile, in order.  Raises what the application raised; the
    caller closes the iterable."""
    parts: list[bytes] = []
    for chunk in result:
        if writes:
            parts.extend(writes)
            writes.clear()
        parts.append(chunk if chunk.__class__ is bytes else as_bytes(chunk))
    parts.extend(writes)
    writes.clear()
    return b"".join(parts)


def close_iterable(result: Any, log: Any, uri: str) -> bool:
    """Call the response iterable's ``close()``; False (logged) when it raised."""
    close = getattr(result, "close", None)
    if close is None:
        return True
    try:
        close()
    except Exception:
        log.exception("Error closing the response of %s", uri)
        return False
    return True


def as_bytes(chunk: Any) -> bytes:
    """A response body item as bytes (bytearray and memoryview are accepted too)."""
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"response body items must be bytes, not {type(chunk).__name__}")
