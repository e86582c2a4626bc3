"""THE request cycle: one WSGI exchange, shared by every worker class.

Contract (workers only move bytes; everything HTTP lives here):

    cycle = RequestCycle(app, settings, log, worker=None)   # once per worker process
    ex = cycle.exchange(head, body, conn)                    # one request
    try:
        for out in ex:                # out is bytes or a FileChunk, already framed
            write(out)               # sock.sendall / transport.write / loop.sendfile ...
    finally:
        ex.close()                    # always: closes the app iterable (also on disconnect)
    if not ex.keep_alive: close the connection

* ``head`` is a :class:`corral.server.http.parser.RequestHead`.
* ``body`` is a readable binary file-like (``read(n)``, ``readline(n)``, iteration)
  already de-chunked: a :class:`corral.server.http.body.BufferedBody` for workers
  that buffer the whole request, or a :class:`corral.server.http.body.StreamBody`
  pulling from the socket for the sync worker.  It becomes ``wsgi.input``;
  its ``complete`` says whether the whole body was read (a kept connection
  must read the rest first).
* ``conn`` is a :class:`ConnInfo` (peer/server address, scheme, whether the
  worker allows keep-alive, how to send ``100 Continue``).
* ``ex`` is a generator-like :class:`Exchange`; iterating it calls the app, which
  may raise :class:`corral.server.http.errors.RequestTimeout` (raised into the
  worker by the SIGABRT handler) -> 503 if nothing was sent yet.
* ``cycle.error_response(status, reason)`` -> bytes of a complete
  ``Connection: close`` response for parse errors (never a traceback).

Iterating stops early (keep_alive False) when the app fails after the headers
went out; the generator finishes by draining an unread request body when the
connection is to be kept.  ``ex.headers_sent`` tells whether any byte left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from corral.server import hooks as default_hooks
from corral.server.http import environ as wsgi_environ
from corral.server.http import headscan
from corral.server.http.body import set_spool_dir
from corral.server.http.environ import EnvironBuilder
from corral.server.http.errors import (
    STATUS_REASONS,
    ClientDisconnected,
    ParseError,
    RequestTimeout,
)
from corral.server.http.parser import RequestHead
from corral.server.http.response import (
    COLLECT_MAX,
    DATE,
    FileChunk,
    FileWrapper,
    Response,
    as_bytes,
    close_iterable,
    collect_body,
    error_response,
    own_headers_line,
)

if TYPE_CHECKING:
    from corral.server.config import Settings

Output = bytes | FileChunk
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_LAST_CHUNK = b"0\r\n\r\n"
_V10 = (1, 0)
_V11 = (1, 1)
_monotonic = time.monotonic
_time = time.time
_BODILESS = frozenset((*range(100, 200), 204, 304))  # statuses whose responses have no body


class Framing(IntEnum):
    """How a response body is delimited on the wire."""

    NONE = 0  # no body at all (HEAD, 1xx, 204, 304)
    LENGTH = 1  # Content-Length (the app's or the one counted here)
    CHUNKED = 2  # Transfer-Encoding: chunked (HTTP/1.1, length unknown)
    CLOSE = 3  # the end of the connection (HTTP/1.0, length unknown)


_NONE, _LENGTH, _CHUNKED, _CLOSE = Framing


@dataclass(slots=True)
class ConnInfo:
    """What the cycle needs to know about the connection a request came on."""

    peer: Any  # (host, port, ...) or str for unix sockets
    sockname: Any
    url_scheme: str = "http"
    keepalive_allowed: bool = True
    send_continue: Callable[[], None] | None = None
    # the environ keys every request on this connection shares, made by the
    # environ builder on the first request (whoever changes ``peer`` or
    # ``sockname`` afterwards, as a PROXY header does, sets it back to None):
    # see environ.build_environ
    environ_base: dict[str, Any] | None = None
    environ_trusted: bool = False  # forwarded_allow_ips trusts the peer
    environ_host: str | None = None  # the Host header environ_base's SERVER_* are for


def _hook(fn: Callable[..., Any], default: Callable[..., Any]) -> Callable[..., Any] | None:
    """The configured hook, or None when it is the default one (which does nothing)."""
    return None if fn is default else fn


class RequestCycle:
    """One per worker process: the app, the settings-derived constants, hooks."""

    def __init__(self, app: WSGIApp, settings: Settings, log: Any, worker: Any = None) -> None:
        self.app = app
        self.settings = settings
        self.log = log
        self.worker = worker
        multithread = getattr(worker, "multithread", None)
        if multithread is None:
            multithread = settings.threads > 1
        self.environ = EnvironBuilder(settings, log, bool(multithread))
        self.pre_request = _hook(settings.pre_request, default_hooks.pre_request)
        self.post_request = _hook(settings.post_request, default_hooks.post_request)
        self.access_enabled = bool(getattr(log, "access_enabled", True))
        # an exchange has something to do once its response is out
        self.after = self.access_enabled or self.post_request is not None
        self.sendfile = settings.sendfile is not False  # --no-sendfile
        # exchange(head, body, conn): one request's Exchange (a partial, not a
        # method: one Python call fewer per request)
        self.exchange: Callable[[RequestHead, Any, ConnInfo], Exchange] = partial(
            _new_exchange, self)
        set_spool_dir(settings.tmp_upload_dir)

    def error_response(self, status: int, reason: str = "") -> bytes:
        return error_response(status, reason)


class Exchange(Response):
    """One request/response: iterate for wire output, then :meth:`close`.

    The exchange is its request's :class:`Response` too (``start`` is the
    application's ``start_response``): what the application declared and what
    the cycle sent live on one object, read by the framing decision, the hooks
    and the access log."""

    __slots__ = ("cycle", "head", "body", "conn", "environ", "keep_alive", "sent",
                 "_iterable", "_iter_closed", "_closed", "output", "_t0", "_hook_req")

    def __init__(self, cycle: RequestCycle, head: RequestHead, body: Any, conn: ConnInfo) -> None:
        # the response half (see Response), until start_response is called
        self.writes = []
        self.status = 0
        self.status_line = ""
        self.headers = []
        self.content_length = None
        self.must_close = False
        self._line = b""
        self._own = 0
        self.headers_sent = False
        # the exchange
        self.cycle = cycle
        self.head = head
        self.body = body
        self.conn = conn
        self.environ: dict[str, Any] | None = None
        self.keep_alive = False
        self.sent = 0
        self._iterable: Any = None
        self._iter_closed = False
        self._closed = False
        self._t0 = _monotonic() if cycle.access_enabled else 0.0
        self._hook_req: default_hooks.HookRequest | None = None
        # the wire output: iterating the exchange iterates this generator
        self.output: Generator[Output, None, None] = self._run()

    # -- public --------------------------------------------------------------
    def __iter__(self) -> Generator[Output, None, None]:
        return self.output

    def hook_request(self) -> default_hooks.HookRequest:
        """The ``req`` of the pre_request/post_request hooks (one per exchange)."""
        if self._hook_req is None:
            self._hook_req = default_hooks.HookRequest(self.head, self.conn, self.body)
        return self._hook_req

    def close(self) -> None:
        """Close the app iterable (always), run post_request, write the access log."""
        if self._closed:
            return
        self._closed = True
        try:
            self.output.close()
        finally:
            if not self._iter_closed:
                self._close_iterable()
            if self.cycle.after and self.environ is not None:
                self._finish_logs()

    # -- the exchange ----------------------------------------------------------
    def _run(self) -> Generator[Output, None, None]:
        cycle = self.cycle
        writes = self.writes
        closed = True
        try:
            environ = self.environ = wsgi_environ.build_environ(
                cycle.environ, self.head, self.body, self.conn)
            if cycle.pre_request is not None:
                cycle.pre_request(cycle.worker, self.hook_request())
            app = cycle.app  # read as a field, then called (not looked up as a method)
            result: Any = app(environ, self.start)  # start_response
            self._iterable = result
            cls = result.__class__
            body: bytes | None = None
            if cls is list or cls is tuple:  # the whole body at hand, when every item
                try:  # is bytes-like (one bytes item is itself the body)
                    body = b"".join(result)
                except TypeError:  # the general path below says what is wrong
                    pass
                else:
                    self._iter_closed = True  # a list has no close()
                    if writes:  # write() calls came first (all made before the return)
                        body = b"".join(writes) + body
                        writes.clear()
            elif not hasattr(result, "__iter__"):
                raise TypeError(f"application returned a non-iterable {cls.__name__}")
            else:
                clen = self.content_length  # set only by start_response
                if clen is not None and clen <= COLLECT_MAX and cls is not FileWrapper:
                    # a small body of declared length is produced whole before
                    # anything is sent: an application failing half-way answers
                    # a clean 500
                    body = collect_body(result, writes)
                    closed = self._close_iterable()
        except (Exception, RequestTimeout) as exc:
            yield from self._raised(exc)  # closes the iterable
            return
        if body is not None and self.status:
            # head and body go out in one piece, the body never chunked nor
            # close-delimited (its length is known)
            yield _frame_whole(self, body)
            if not closed:  # its close() failed: the response went out, the connection ends
                self.keep_alive = False
        else:
            yield from self._respond(result, writes)
        if self.keep_alive and not self.body.complete:
            self._drain()

    def _raised(self, exc: BaseException) -> Generator[Output, None, None]:
        if isinstance(exc, Exception):
            yield from self._app_error(exc)
        else:  # RequestTimeout
            yield from self._fail(503, "request timed out")

    def _drain(self) -> None:
        """Read the rest of a request body the app left unread, so the next
        request can be read (the connection closes when that fails)."""
        drain = getattr(self.body, "drain", None)
        self.keep_alive = bool(drain is not None and drain())

    def _respond(self, result: Any, writes: list[bytes]) -> Generator[Output, None, None]:
        try:
            if type(result) is FileWrapper and self.status and not writes:
                rng = result.sendfile_range() if self.cycle.sendfile else None
                if rng is not None:
                    yield from self._send_file(result, *rng)
                    return
            total = None
            chunks = iter(result)
            prefix = writes[:]
            writes.clear()
            exhausted = False
            for chunk in chunks:
                if chunk:
                    prefix.append(as_bytes(chunk))
                    break
            else:
                exhausted = True
            if exhausted or isinstance(result, (list, tuple)):
                exhausted = True
                prefix.extend(as_bytes(c) for c in chunks if c)
                total = sum(len(c) for c in prefix)
            if not self.status:
                raise AssertionError("start_response was never called")
        except RequestTimeout:
            yield from self._fail(503, "request timed out")
            return
        except Exception as exc:
            yield from self._app_error(exc)
            return
        if exhausted and not self._close_iterable():
            yield from self._fail(500, "application error")
            return
        yield from self._stream(chunks, prefix, total, exhausted, writes)

    def _stream(self, chunks: Any, prefix: list[bytes], total: int | None, exhausted: bool,
                writes: list[bytes]) -> Generator[Output, None, None]:
        mode, head_data = _frame_head(self, total)
        left = self.content_length if self.content_length is not None else total
        if mode == _NONE:
            yield head_data
            self._close_iterable()
            return
        body = b"".join(prefix)
        if mode == _LENGTH:
            assert left is not None
            body = body[:left]
            left -= len(body)
        elif mode == _CHUNKED and body:
            body = b"%x\r\n%b\r\n" % (len(body), body)
        self.sent += len(body)
        yield head_data + body
        try:
            if not exhausted:
                for chunk in chunks:
                    if chunk.__class__ is not bytes:
                        chunk = as_bytes(chunk)
                    if writes:
                        chunk = b"".join(writes) + chunk
                        writes.clear()
                    if not chunk:
                        continue
                    if mode == _LENGTH:
                        assert left is not None
                        chunk = chunk[:left]
                        left -= len(chunk)
                        if not chunk:
                            continue
                    elif mode == _CHUNKED:
                        chunk = b"%x\r\n%b\r\n" % (len(chunk), chunk)
                    self.sent += len(chunk)
                    yield chunk
            if not self._close_iterable():
                self.keep_alive = False
                return
        except Exception:
            self.cycle.log.exception("Error handling request %s", self.head.raw_uri)
            self.keep_alive = False
            return
        if mode == _CHUNKED:
            yield _LAST_CHUNK
        elif mode == _LENGTH and left:
            self.keep_alive = False  # the app sent less than it announced

    def _send_file(self, wrapper: FileWrapper, offset: int, count: int
                   ) -> Generator[Output, None, None]:
        clen = self.content_length
        if clen is not None and clen < count:
            count = clen
        mode, head_data = _frame_head(self, count)
        yield head_data
        if mode != _NONE and count:
            self.sent += count
            yield FileChunk(wrapper.filelike, offset, count)
        if (clen is not None and clen > count) or not self._close_iterable():
            self.keep_alive = False

    def _app_error(self, exc: Exception) -> Generator[Output, None, None]:
        """The app raised before the headers went out."""
        if isinstance(exc, ParseError):  # a bad request body, seen while the app read it
            yield from self._fail(exc.status, exc.reason)
            return
        if isinstance(exc, ClientDisconnected):
            self.cycle.log.debug("Client went away during %s: %s", self.head.raw_uri, exc)
            self.keep_alive = False
            self._close_iterable()
            return
        self.cycle.log.exception("Error handling request %s", self.head.raw_uri, exc_info=exc)
        yield from self._fail(500, "application error")

    def _fail(self, status: int, reason: str) -> Generator[Output, None, None]:
        """Answer an error when nothing was sent yet; the connection closes."""
        self.keep_alive = False
        self._close_iterable()
        if self.headers_sent:
            return
        self.status = status
        self.status_line = f"{status} {STATUS_REASONS.get(status, 'Error')}"
        self.headers = []
        self.headers_sent = True
        data = error_response(status, reason if status < 500 else "", self.head.version)
        self.sent += len(data)
        yield data

    # -- cleanup -------------------------------------------------------------
    def dropped(self, names: tuple[str, ...]) -> None:
        self.cycle.log.warning("Dropped hop-by-hop response header(s) set by the "
                               "application: %s", ", ".join(names))

    def _close_iterable(self) -> bool:
        """Close the app iterable once; False when its close() raised."""
        if self._iter_closed:
            return True
        self._iter_closed = True
        return close_iterable(self._iterable, self.cycle.log, self.head.raw_uri)

    def _finish_logs(self) -> None:
        cycle = self.cycle
        environ = self.environ
        assert environ is not None
        if cycle.post_request is not None:
            try:
                cycle.post_request(cycle.worker, self.hook_request(), environ,
                                   default_hooks.HookResponse(self))
            except Exception:
                cycle.log.exception("Error in post_request hook")
        if cycle.access_enabled:
            cycle.log.access(environ, self.status_line or str(self.status), self.headers,
                             self.sent, _monotonic() - self._t0)


def python_frame_head(ex: Exchange, total: int | None) -> tuple[Framing, bytes]:
    """The one decision for every response, once its head is to go out: how
    its body is delimited and whether the connection carries another request
    after it (``total``: the body's length when known before the head goes
    out); sets the exchange's ``keep_alive`` and ``headers_sent`` and returns
    the framing and the response head, whose lines say both.

    The connection is kept when the request allows it, the worker allows it
    (not stopping, keep-alive on), the app did not refuse it (``Connection:
    close``) and the body's end is not the connection's end.

    This is the reference; where the extension is built, the compiled
    ``frame_head`` (``_headscan.c``) does the same."""
    head = ex.head
    method = head.method
    status = ex.status
    version = head.version
    keep = head.keep_alive and ex.conn.keepalive_allowed and not ex.must_close
    if method == "HEAD" or status in _BODILESS:
        mode = _NONE
        if total and ex.content_length is None and method == "HEAD":
            line = b"Content-Length: %d\r\n" % total  # what GET would say
        else:
            line = b""
    elif ex.content_length is not None:
        mode, line = _LENGTH, b""
    elif total is not None:
        mode, line = _LENGTH, b"Content-Length: %d\r\n" % total
    elif version == _V11:
        mode, line = _CHUNKED, b"Transfer-Encoding: chunked\r\n"
    else:
        mode, line, keep = _CLOSE, b"", False
    if keep:
        if version == _V10:
            line += b"Connection: keep-alive\r\n"
    elif head.keep_alive or version == _V11:  # an HTTP/1.0 client closes anyway
        line += b"Connection: close\r\n"
    ex.keep_alive = keep
    ex.headers_sent = True
    own = ex._own
    if own:
        date = own_headers_line(own)
    else:  # as date_header() does, without the call
        now = _time()
        date = DATE.line if DATE.since <= now < DATE.until else DATE.at(now)
    return mode, b"".join((
        b"HTTP/1.1 " if version == _V11 else b"HTTP/1.0 ", ex._line, date, line, b"\r\n"))


def python_frame_whole(ex: Exchange, body: bytes) -> bytes:
    """The whole response, head and body, for a body at hand before anything
    was sent (framed by :func:`python_frame_head`, never chunked nor
    close-delimited): the body cut to the Content-Length the app announced,
    and the connection closed after one shorter than that.  Sets the
    exchange's ``sent``, except for a response without a body."""
    total = len(body)
    mode, data = python_frame_head(ex, total)
    if mode:
        clen = ex.content_length
        if clen is not None and clen != total:
            if clen < total:
                body = body[:clen]
            else:
                ex.keep_alive = False  # the app sent less than it announced
        ex.sent = len(body)  # nothing was sent before
        data += body
    return data


# an exchange is made by its class (Exchange.__init__), or where the extension is
# built by the compiled new_exchange, which fills its slots as __init__ does
_new_exchange: Callable[[RequestCycle, RequestHead, Any, ConnInfo], Exchange] = Exchange
_frame_head = python_frame_head
_frame_whole = python_frame_whole
if headscan.native is not None:
    headscan.native.bind_exchange(Exchange, ConnInfo, DATE, own_headers_line, tuple(Framing))
    _new_exchange = headscan.native.new_exchange
    _frame_head = headscan.native.frame_head
    _frame_whole = headscan.native.frame_whole
