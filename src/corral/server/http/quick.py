"""The quick lane: an ordinary request read whole, answered in one write.

Most requests on a keep-alive connection arrive in one read, carry no body and
repeat the header section of the request before them (same client, same
cookies, same ``Host``); most applications answer them with a list holding
one bytes object.  For those the lane does the whole exchange in one call:

* a request byte for byte the same as one already matched on this worker
  (a client polling one URL, a keep-alive client repeating itself) is looked
  up whole in a second bounded table: what matching it gave last time;
* otherwise the request line is matched against the narrow grammar of
  :func:`corral.server.http.strict.fast_head`; the header section is looked up
  in a per-worker table mapping its exact bytes to what was learnt from it the
  first time (validated by ``fast_head`` and ``check_head``, its ``HTTP_*``
  keys, ``SERVER_NAME``/``SERVER_PORT``, keep-alive), so a repeated header
  section is neither parsed nor checked again;
* the environ is the connection's base dict, the learnt keys and five
  per-request keys;
* the response is framed straight from what ``start_response`` was told.

Anything else (HTTP/1.0, a body, forwarding headers, hooks, a response that is
not one bytes object, HEAD, a mismatched Content-Length, an error) leaves the
lane: before the application runs the caller takes the general path
(:meth:`corral.server.http.cycle.RequestCycle.exchange`), after it the lane
hands back an :class:`~corral.server.http.cycle.Exchange` that carries on from
where the application left off.  Both paths produce the same bytes
(tests/server/test_quick_lane.py).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from corral.server.http.environ import merge_headers, path_info
from corral.server.http.errors import RequestTimeout
from corral.server.http.head import Limits, RequestHead
from corral.server.http.response import (
    COLLECT_MAX,
    ExcInfo,
    FileWrapper,
    Response,
    close_iterable,
    collect_body,
)
from corral.server.http.strict import fast_head

if TYPE_CHECKING:
    from corral.server.http.cycle import ConnInfo, Exchange, RequestCycle

_P = "+" if sys.version_info >= (3, 11) else ""
_LINE = re.compile(
    (r"(GET|POST|PUT|DELETE|OPTIONS|PATCH) (/[!-~]*" + _P + r") HTTP/1\.1\r\n").encode()
)
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")}
_V11 = (1, 1)
TABLE_MAX = 512  # distinct header sections remembered per scheme
BLOCK_MAX = 4096  # longer header sections are not remembered
BASES_MAX = 8  # merged environs kept per connection
SEEN_MAX = 256  # whole requests remembered per scheme
SEEN_BYTES = 2048  # longer requests are not remembered
_monotonic = time.monotonic


class Learnt:
    """What one header section means, worked out once."""

    __slots__ = ("keys", "headers", "keep_alive", "content_length")

    def __init__(self, keys: dict[str, str], headers: list[tuple[str, str]],
                 keep_alive: bool, content_length: int | None) -> None:
        self.keys = keys
        self.headers = headers
        self.keep_alive = keep_alive
        self.content_length = content_length


DECLINED = Learnt({}, [], False, None)  # a header section the lane leaves alone
# method, request target (RAW_URI), path, query, PATH_INFO, what the headers mean
Matched = tuple[str, str, str, str, str, Learnt]


class QuickConn:
    """The lane's view of one connection; made by :meth:`QuickLane.connection`."""

    __slots__ = ("info", "environ", "table", "seen", "keep_alive", "bases")

    def __init__(self, info: ConnInfo, environ: dict[str, Any],
                 table: dict[bytes, Learnt], seen: dict[bytes, Matched]) -> None:
        self.info = info
        self.environ = environ
        self.table = table
        self.seen = seen
        self.keep_alive = False  # of the last answer given
        # the connection's environ merged with a header section's keys, for the
        # few sections a connection repeats
        self.bases: dict[Learnt, dict[str, Any]] = {}

    def base_for(self, learnt: Learnt) -> dict[str, Any]:
        if len(self.bases) >= BASES_MAX:
            self.bases.clear()
        base = self.bases[learnt] = {**self.environ, **learnt.keys}
        return base


class QuickLane:
    """One per worker process (see the module docstring)."""

    def __init__(self, cycle: RequestCycle, limits: Limits) -> None:
        self.cycle = cycle
        self.app = cycle.app
        self.environ = cycle.environ
        self.limits = limits
        self.script_name = cycle.environ.script_name
        self.access = cycle.access_enabled
        self.tables: dict[str, dict[bytes, Learnt]] = {}
        self.seen: dict[str, dict[bytes, Matched]] = {}
        self._forwarding = cycle.environ.forwarding_keys()
        from corral.server.http.cycle import Exchange  # cycle.py imports this module

        self._handover = Exchange.handed_over

    def connection(self, info: ConnInfo) -> QuickConn:
        """Per-connection state; build it once the peer address is final."""
        table = self.tables.setdefault(info.url_scheme, {})
        seen = self.seen.setdefault(info.url_scheme, {})
        return QuickConn(info, self.environ.connection_environ(info), table, seen)

    def answer(self, data: bytes, qc: QuickConn, body: Any) -> bytes | Exchange | None:
        """Answer ``data`` if it is exactly one ordinary request.

        Returns the whole response (``qc.keep_alive`` says whether the
        connection stays open), an :class:`Exchange` to drive as usual, or None
        when the request is not for this lane (nothing was done: parse it the
        general way).  ``body`` is the empty ``wsgi.input`` to use."""
        matched = self.match(data, qc)
        if matched is None:
            return None
        return self._run(matched, qc, body)

    def match(self, data: bytes, qc: QuickConn) -> Matched | None:
        """The first half of :meth:`answer`, without running anything: what the
        lane needs to answer ``data``, or None.  Call it from one thread at a
        time (it may learn a new header section)."""
        seen = qc.seen
        matched = seen.get(data)
        if matched is not None:
            return matched
        end = data.find(b"\r\n\r\n")
        if end + 4 != len(data):
            return None
        m = _LINE.match(data)
        if m is None:
            return None
        limits = self.limits
        if limits.field_size and end + 4 > limits.field_size:
            return None
        block = data[m.end() : end]
        learnt = qc.table.get(block)
        if learnt is None:
            learnt = self._learn(block, qc)
        if learnt is DECLINED:
            return None
        raw_method, raw_target = m.groups()
        uri = raw_target.decode("latin-1")
        if limits.request_line and len(uri) + 14 > limits.request_line:
            return None
        path, _, query = uri.split("#", 1)[0].partition("?")
        matched = (_METHODS[raw_method], uri, path, query, path_info(path, self.script_name),
                   learnt)
        if len(data) <= SEEN_BYTES:
            if len(seen) >= SEEN_MAX:
                seen.clear()
            seen[data] = matched
        return matched

    def run(self, matched: Matched, qc: QuickConn, body: Any) -> bytes | Exchange:
        """The second half of :meth:`answer`: run the application (any thread)."""
        return self._run(matched, qc, body)

    def _run(self, matched: Matched, qc: QuickConn, body: Any) -> bytes | Exchange:
        t0 = _monotonic() if self.access else 0.0
        method, uri, path, query, pinfo, learnt = matched
        base = qc.bases.get(learnt)
        if base is None:
            base = qc.base_for(learnt)
        env = base.copy()
        env["REQUEST_METHOD"] = method
        env["RAW_URI"] = uri
        env["QUERY_STRING"] = query
        env["wsgi.input"] = body
        env["PATH_INFO"] = pinfo
        resp = Response(self.cycle.log)
        writes: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: ExcInfo | None = None) -> Callable[[bytes], None]:
            resp.start(status, headers, exc_info)
            return writes.append

        result: Any = None
        try:
            result = self.app(env, start_response)
            status = resp.status
            if status >= 200 and status != 204 and status != 304 and not writes:
                if result.__class__ is list and len(result) == 1:
                    if result[0].__class__ is bytes:
                        return self._emit(env, resp, result[0], learnt, qc, t0, True)
                elif ((clen := resp.content_length) is not None and clen <= COLLECT_MAX
                        and result.__class__ is not FileWrapper and hasattr(result, "__iter__")):
                    data = collect_body(result, writes)
                    closed = close_iterable(result, self.cycle.log, uri)
                    return self._emit(env, resp, data, learnt, qc, t0, closed)
            if not hasattr(result, "__iter__"):
                raise TypeError(f"application returned a non-iterable "
                                f"{type(result).__name__}")
            exc: BaseException | None = None
        except (Exception, RequestTimeout) as e:
            exc = e
        head = RequestHead(method, uri, path, query, _V11,
                           list(learnt.headers), learnt.content_length, False,
                           learnt.keep_alive, False, False)
        return self._handover(self.cycle, head, body, qc.info, env, resp, writes, result, exc,
                              t0)

    def _emit(self, env: dict[str, Any], resp: Response, data: bytes, learnt: Learnt,
              qc: QuickConn, t0: float, closed: bool) -> bytes:
        """The whole response, framed as the general path frames a known body."""
        keep = learnt.keep_alive and qc.info.keepalive_allowed and not resp.must_close
        clen = resp.content_length
        out = resp.head_bytes(_V11, b"" if clen is not None else b"Content-Length: %d\r\n"
                              % len(data), keep, learnt.keep_alive)
        if clen is not None and len(data) != clen:
            if len(data) > clen:
                data = data[:clen]
            else:
                keep = False  # the app sent less than it announced (as the general path)
        qc.keep_alive = keep and closed  # a failed close() ends the connection
        out += data
        if t0:
            self.cycle.log.access(env, resp.status_line, resp.headers, len(data),
                                  _monotonic() - t0)
        return out

    def _learn(self, block: bytes, qc: QuickConn) -> Learnt:
        """Validate a header section not seen before and remember what it means
        (:data:`DECLINED`: not for this lane)."""
        learnt = DECLINED
        text = b"GET / HTTP/1.1\r\n" + block + b"\r\n\r\n"
        head = fast_head(text, 0, len(text), self.limits)
        if (head is not None and not head.content_length and not head.chunked
                and not head.expect_continue and not head.upgrade):
            keys: dict[str, str] = {}
            merge_headers(head.headers, keys)
            host = keys.get("HTTP_HOST")
            if host and not any(k in keys for k in self._forwarding):
                keys["SERVER_NAME"], keys["SERVER_PORT"] = self.environ.host_keys(
                    host, qc.info.url_scheme)
                learnt = Learnt(keys, head.headers, head.keep_alive, head.content_length)
        table = qc.table
        if len(block) <= BLOCK_MAX:
            if len(table) >= TABLE_MAX:
                table.clear()
            table[block] = learnt
        return learnt
