"""The quick lane (:mod:`corral.server.http.quick`) answers as the general path does.

Every raw request here goes two ways through one :class:`RequestCycle`:

* the general path: :class:`RequestParser`, then ``cycle.exchange(head, body, conn)``;
* the quick lane: ``lane.answer(data, qc, NO_BODY)``, which gives the whole
  response, an :class:`Exchange` carrying on after the application, or None
  (not for the lane: nothing was done).

When the lane answers, the application must have seen the same environ (every
key; ``wsgi.input`` by its content, ``wsgi.errors`` by its type) and the client
must get the same bytes (the ``Date`` line aside) and the same keep-alive
decision.  Each request goes through the lane twice: once while its header
section is learnt and once from the table, with the same outcome.
"""

from __future__ import annotations

import re
import string
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.server.config import Settings
from corral.server.http.body import BufferedBody
from corral.server.http.cycle import ConnInfo, Exchange, RequestCycle
from corral.server.http.errors import ParseError, RequestTimeout
from corral.server.http.head import Limits
from corral.server.http.parser import END, RequestHead, RequestParser
from corral.server.http.quick import (
    BLOCK_MAX,
    SEEN_BYTES,
    SEEN_MAX,
    TABLE_MAX,
    QuickConn,
    QuickLane,
)
from corral.server.logging import Logger
from corral.server.workers._buffered import NO_BODY
from tests.server.corpus import load_manifest

pytestmark = pytest.mark.timeout(120)

PEER = ("127.0.0.1", 5555)
SOCK = ("127.0.0.1", 8000)
DATE = re.compile(rb"\r\nDate: [^\r\n]*")
LOG = Logger(Settings())
Start = Callable[..., Any]
Answer = Callable[[dict[str, Any], Start, list[Any]], Any]


# -- the application -------------------------------------------------------------


def hello(environ: dict[str, Any], start_response: Start, log: list[Any]) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


class Recorder:
    """A WSGI application noting what it saw (``events``), answering as ``answer`` says."""

    def __init__(self) -> None:
        self.answer: Answer = hello
        self.events: list[Any] = []

    def __call__(self, environ: dict[str, Any], start_response: Start) -> Any:
        seen = {k: v for k, v in environ.items() if k not in ("wsgi.input", "wsgi.errors")}
        seen["wsgi.input"] = environ["wsgi.input"].read()
        seen["wsgi.errors"] = type(environ["wsgi.errors"])
        self.events.append(seen)
        return self.answer(environ, start_response, self.events)

    def take(self) -> list[Any]:
        events, self.events = self.events, []
        return events


@dataclass
class Rig:
    """One worker's cycle and lane around a :class:`Recorder`."""

    cycle: RequestCycle
    lane: QuickLane
    app: Recorder
    limits: Limits


def make_rig(log: Logger = LOG, **overrides: Any) -> Rig:
    options = Settings(**overrides)
    app = Recorder()
    cycle = RequestCycle(app, options, log)
    limits = Limits.from_settings(options)
    lane = cycle.quick_lane(limits)
    assert lane is not None
    return Rig(cycle, lane, app, limits)


def conn(scheme: str = "http", allowed: bool = True, peer: Any = PEER,
         sockname: Any = SOCK) -> ConnInfo:
    return ConnInfo(peer, sockname, scheme, allowed)


# -- the two paths ---------------------------------------------------------------


@dataclass
class Result:
    events: list[Any]  # environ seen by the app, and whatever the answer noted
    wire: bytes  # the response, Date line normalised
    keep_alive: bool
    detail: tuple[Any, ...] | None = field(default=None, compare=False)  # of an Exchange


def drain(ex: Exchange) -> tuple[bytes, tuple[Any, ...]]:
    out: list[bytes] = []
    try:
        for piece in ex:
            assert isinstance(piece, bytes)
            out.append(piece)
    except (Exception, RequestTimeout) as exc:  # what the worker would see
        out.append(b"<raised %s>" % type(exc).__name__.encode())
    finally:
        ex.close()
    detail = (ex.status, ex.sent, ex.headers_sent, ex.status_line, ex.headers)
    return DATE.sub(b"\r\nDate: -", b"".join(out)), detail


def general(rig: Rig, raw: bytes, info: ConnInfo) -> list[Result]:
    """Every response the general path gives for ``raw``."""
    try:
        events = RequestParser(rig.limits).feed(raw)
    except ParseError as exc:
        wire = rig.cycle.error_response(exc.status, exc.reason)
        return [Result([], DATE.sub(b"\r\nDate: -", wire), False)]
    results = []
    head: RequestHead | None = None
    body = b""
    for ev in events:
        if isinstance(ev, RequestHead):
            head, body = ev, b""
        elif isinstance(ev, bytes):
            body += ev
        else:
            assert ev is END and head is not None
            ex = rig.cycle.exchange(head, BufferedBody(body), info)
            wire, detail = drain(ex)
            results.append(Result(rig.app.take(), wire, ex.keep_alive, detail))
            if not ex.keep_alive:
                break
    return results


def quick(rig: Rig, raw: bytes, qc: QuickConn) -> Result | None:
    """The lane's answer to ``raw`` (None: declined, and the app did not run)."""
    assert not rig.app.events
    res = rig.lane.answer(raw, qc, NO_BODY)
    if res is None:
        assert not rig.app.events, "the lane declined after running the application"
        return None
    if isinstance(res, bytes):
        return Result(rig.app.take(), DATE.sub(b"\r\nDate: -", res), qc.keep_alive)
    assert isinstance(res, Exchange)
    wire, detail = drain(res)
    return Result(rig.app.take(), wire, res.keep_alive, detail)


def check(rig: Rig, raw: bytes, info: ConnInfo | None = None) -> Result | None:
    """Both paths for ``raw``; the lane's result (None: declined twice)."""
    info = info or conn()
    want = general(rig, raw, info)
    first = quick(rig, raw, rig.lane.connection(info))
    again = quick(rig, raw, rig.lane.connection(info))  # the header section is known now
    assert (first is None) == (again is None), "the table changed whether the lane answers"
    if first is None:
        return None
    assert len(want) == 1
    assert first == want[0]
    assert again == want[0]
    for got in (first, again):
        if got.detail is not None:
            assert got.detail == want[0].detail
    return first


def request(target: str = "/", *fields: str, method: str = "GET", version: str = "1.1",
            host: str | None = "example.com", body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/{version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines.extend(fields)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -- the corpus ------------------------------------------------------------------

MANIFEST = load_manifest()


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("case", MANIFEST.select(True), ids=str)
def test_corpus_requests_agree(case: Any, scheme: str) -> None:
    rig = make_rig(limit_request_body=MANIFEST.limits["body"])
    info = conn(scheme)
    got = check(rig, case.raw, info)
    if got is None:  # the general path serves it as the manifest says
        results = general(rig, case.raw, info)
        assert [r.wire.split(b" ", 2)[1] for r in results] == [
            str(r["status"]).encode() for r in case.responses]
        assert results[-1].keep_alive is case.keep_alive
    else:
        assert len(case.responses) == 1
        assert got.keep_alive is case.keep_alive


def test_the_lane_takes_the_ordinary_corpus_requests() -> None:
    ordinary = {"valid/get_simple.http", "valid/get_percent_query.http",
                "valid/get_repeated_header.http", "valid/host_with_port.http",
                "valid/underscore_header_dropped.http", "valid/connection_close.http",
                "valid/post_content_length_zero.http", "valid/get_header_whitespace.http",
                "valid/get_obs_text_value.http"}
    rig = make_rig()
    answered = {c.name for c in MANIFEST.select(True) if check(rig, c.raw) is not None}
    assert answered == ordinary


# -- requests --------------------------------------------------------------------

TAKEN = {
    "simple": request(),
    "query": request("/search?q=a+b&x=%2F&empty="),
    "percent_path": request("/a%20b/%E2%82%AC/c%2Fd?x=%20"),
    "percent_odd": request("/%zz/%4/%%41"),
    "fragment": request("/page?q=1#section"),
    "fragment_before_query": request("/page#frag?notquery"),
    "script_prefix_lookalike": request("/appendix/x"),
    "connection_close": request("/", "Connection: close"),
    "connection_close_caps": request("/", "Connection: CLOSE"),
    "connection_keep_alive": request("/", "Connection: keep-alive"),
    "repeated_headers": request("/", "Accept: text/html", "Accept: application/json",
                                "Cookie: a=1", "Cookie: b=2"),
    "underscore_dropped": request("/", "X_Real: 1", "X-Real: 2", "Foo_Bar: 3"),
    "trailing_whitespace": request("/", "X-Pad:   value  \t", "X-Tab: a\tb", "X-Empty:"),
    "lower_case_names": request("/", "host: lower.example", "accept: */*", host=None),
    "obs_text": b"GET / HTTP/1.1\r\nHost: h\r\nX-Latin: caf\xe9\r\n\r\n",
    "host_port": request("/", host="example.com:8080"),
    "host_ipv6_port": request("/", host="[::1]:8443"),
    "host_ipv6": request("/", host="[::1]"),
    "host_ip": request("/", host="127.0.0.1"),
    "content_type": request("/", "Content-Type: text/plain; charset=utf-8"),
    "content_length_zero": request("/", "Content-Length: 0"),
    "post_empty": request("/submit", "Content-Length: 0", method="POST"),
    "put_empty": request("/r", "Content-Length: 00", method="PUT"),
    "delete": request("/r/1", method="DELETE"),
    "options": request("/", method="OPTIONS"),
    "patch_empty": request("/r/1", "Content-Length: 0", method="PATCH"),
    "forwarded_host_only": request("/", "X-Forwarded-Host: other.example"),
    "many_fields": request("/", *(f"X-F{i}: {i}" for i in range(60))),
}
DECLINED = {
    "http10": request("/", version="1.0", host=None),
    "http10_keep_alive": request("/", "Connection: keep-alive", version="1.0"),
    "head": request("/", method="HEAD"),
    "post_body": request("/", "Content-Length: 5", method="POST", body=b"hello"),
    "post_chunked": request("/", "Transfer-Encoding: chunked", method="POST",
                            body=b"5\r\nhello\r\n0\r\n\r\n"),
    "chunked_head_only": request("/", "Transfer-Encoding: chunked", method="POST"),
    "expect_no_body": request("/", "Expect: 100-continue"),
    "expect_empty_body": request("/", "Expect: 100-continue", "Content-Length: 0",
                                 method="POST"),
    "x_forwarded_for": request("/", "X-Forwarded-For: 10.0.0.1"),
    "x_forwarded_proto": request("/", "X-Forwarded-Proto: https"),
    "x_forwarded_proto_http": request("/", "X-Forwarded-Proto: http"),
    "x_forwarded_ssl": request("/", "X-Forwarded-Ssl: on"),
    "x_forwarded_protocol": request("/", "X-Forwarded-Protocol: ssl"),
    "upgrade": request("/", "Connection: Upgrade", "Upgrade: websocket"),
    "connection_list": request("/", "Connection: keep-alive, TE"),
    "two_connections": request("/", "Connection: keep-alive", "Connection: close"),
    "proxy_connection": request("/", "Proxy-Connection: close"),
    "no_host": request("/", host=None),
    "empty_host": request("/", host=""),
    "two_hosts": request("/", "Host: other.example"),
    "two_content_types": request("/", "Content-Type: a/b", "Content-Type: c/d"),
    "bad_content_length": request("/", "Content-Length: x"),
    "pipelined": request("/one") + request("/two"),
    "incomplete": request("/")[:-2],
    "leading_crlf": b"\r\n" + request("/"),
    "absolute_form": request("http://example.com/p?q=1"),
    "asterisk": request("*", method="OPTIONS"),
    "extension_method": request("/", method="PURGE"),
    "lower_case_method": request("/", method="get"),
    "bare_lf": b"GET / HTTP/1.1\nHost: example.com\n\n",
    "space_before_colon": request("/", "X-Odd : 1"),
    "long_target": request("/" + "a" * 5000),
    "long_field": request("/", "X-Big: " + "b" * 9000),
    "http2_version": request("/", version="2.0"),
}


@pytest.mark.parametrize(("scheme", "allowed"),
                         [("http", True), ("https", True), ("http", False)])
@pytest.mark.parametrize("raw", TAKEN.values(), ids=TAKEN.keys())
def test_the_lane_answers_ordinary_requests_alike(raw: bytes, scheme: str,
                                                  allowed: bool) -> None:
    got = check(make_rig(), raw, conn(scheme, allowed))
    assert got is not None, "an ordinary request left the lane"
    assert got.keep_alive is (allowed and b"Connection: close" not in got.wire)


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("name", DECLINED.keys())
def test_the_lane_declines_the_rest(name: str, scheme: str) -> None:
    rig = make_rig()
    info = conn(scheme)
    assert check(rig, DECLINED[name], info) is None
    answers = general(rig, DECLINED[name], info)
    assert bool(answers) is (name not in ("incomplete", "chunked_head_only"))


def test_host_keys_follow_the_scheme() -> None:
    rig = make_rig()
    keys = {}
    for scheme in ("http", "https"):
        for host in ("example.com", "example.com:8080", "[::1]", "[::1]:99"):
            got = check(rig, request("/", host=host), conn(scheme))
            assert got is not None
            keys[scheme, host] = got.events[0]["SERVER_NAME"], got.events[0]["SERVER_PORT"]
    assert keys["http", "example.com"] == ("example.com", "80")
    assert keys["https", "example.com"] == ("example.com", "443")
    assert keys["https", "example.com:8080"] == ("example.com", "8080")
    assert keys["https", "[::1]"] == ("[::1]", "443")
    assert keys["http", "[::1]:99"] == ("[::1]", "99")


@pytest.mark.parametrize("peer", [("::1", 5555, 0, 0), "", "/run/peer.sock"],
                         ids=["ipv6", "unix_empty", "unix_path"])
def test_other_peers_agree(peer: Any) -> None:
    rig = make_rig()
    for raw in (request("/p?q"), request("/", "Connection: close")):
        assert check(rig, raw, conn(peer=peer, sockname="/run/corral.sock")) is not None
    assert check(rig, request("/", "X-Forwarded-For: 10.1.1.1"), conn(peer=peer)) is None


@pytest.mark.parametrize("target", ["/app", "/app/", "/app/x%2Fy?q=1", "/apple", "/", "/x/app"])
@pytest.mark.parametrize("how", ["root_path", "env"])
def test_script_name_agrees(target: str, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "env":
        monkeypatch.setenv("SCRIPT_NAME", "/app/")
        rig = make_rig()
    else:
        monkeypatch.delenv("SCRIPT_NAME", raising=False)
        rig = make_rig(root_path="/app")
    got = check(rig, request(target))
    assert got is not None
    assert got.events[0]["SCRIPT_NAME"] == "/app"


@pytest.mark.parametrize("overrides", [
    {"secure_scheme_headers": {"X-Scheme": "https"}},
    {"forwarded_allow_ips": "10.9.9.9"},
    {"forwarded_allow_ips": "*"},
], ids=["custom_secure_header", "peer_not_trusted", "all_trusted"])
def test_forwarding_settings(overrides: dict[str, Any]) -> None:
    rig = make_rig(**overrides)
    assert check(rig, request("/")) is not None
    for name in ("X-Forwarded-For: 10.0.0.1", "X-Forwarded-Proto: https", "X-Scheme: https"):
        got = check(rig, request("/", name))
        custom = "secure_scheme_headers" in overrides
        if name.startswith("X-Forwarded-For") or custom is name.startswith("X-Scheme"):
            assert got is None
        else:
            assert got is not None  # an ordinary header with these settings


@pytest.mark.parametrize("overrides", [
    {"limit_request_line": 40},
    {"limit_request_fields": 3},
    {"limit_request_field_size": 60},
    {"limit_request_line": 0, "limit_request_fields": 0, "limit_request_field_size": 0},
], ids=["line", "fields", "field_size", "unlimited"])
@pytest.mark.parametrize("raw", [
    request("/" + "a" * 20), request("/" + "a" * 30), request("/", "A: 1", "B: 2"),
    request("/", "A: 1", "B: 2", "C: 3"), request("/", "X-Long: " + "v" * 30),
], ids=["short_target", "long_target", "three_fields", "four_fields", "long_field"])
def test_limits_agree(raw: bytes, overrides: dict[str, Any]) -> None:
    check(make_rig(**overrides), raw)


# -- answers ---------------------------------------------------------------------

TEXT = [("Content-Type", "text/plain")]


def pieces(*items: Any, fail: BaseException | None = None) -> Iterator[Any]:
    yield from items
    if fail is not None:
        raise fail


class Closing:
    """A response iterable with ``close()``, which notes each call."""

    def __init__(self, log: list[Any], items: list[Any], fail: bool = False) -> None:
        self.log = log
        self.items = items
        self.fail = fail

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def close(self) -> None:
        self.log.append("closed")
        if self.fail:
            raise RuntimeError("close failed")


def fixed(name: str, status: str, headers: list[tuple[str, str]], body: Any) -> Answer:
    """An answer that calls ``start_response`` once, then returns ``body`` (or, when
    ``body`` is callable, what it makes of the log)."""

    def answer(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
        start(status, list(headers))
        return body(log) if callable(body) else body

    answer.__name__ = answer.__qualname__ = name
    return answer


CL5, CL10 = ("Content-Length", "5"), ("Content-Length", "10")
FIXED = [
    fixed("sized", "200 OK", [*TEXT, CL5], [b"hello"]),
    fixed("length_with_spaces", "200 OK", [("Content-Length", " 5 ")], [b"hello"]),
    fixed("shorter_length", "200 OK", [*TEXT, ("Content-Length", "3")], [b"hello"]),
    fixed("longer_length", "200 OK", [*TEXT, CL10], [b"hello"]),
    fixed("zero_length", "200 OK", [("Content-Length", "0")], [b""]),
    fixed("generator", "200 OK", TEXT, lambda log: pieces(b"gen", b"", b"erated")),
    fixed("sized_generator", "200 OK", [CL10], lambda log: pieces(b"gen", b"", b"erated!")),
    fixed("sized_generator_longer", "200 OK", [CL5], lambda log: pieces(b"gen", b"erated")),
    fixed("sized_generator_shorter", "200 OK", [CL10], lambda log: pieces(b"gen")),
    fixed("sized_generator_fails", "200 OK", [CL10],
          lambda log: pieces(b"part", fail=RuntimeError("broken stream"))),
    fixed("sized_generator_times_out", "200 OK", [CL10],
          lambda log: pieces(b"part", fail=RequestTimeout())),
    fixed("sized_generator_str", "200 OK", [CL10], lambda log: pieces(b"part", "str")),
    fixed("failing_generator", "200 OK", TEXT,
          lambda log: pieces(b"part", fail=RuntimeError("broken stream"))),
    fixed("a_tuple", "200 OK", TEXT, (b"tu", b"ple")),
    fixed("several", "200 OK", TEXT, [b"one ", b"two ", b"three"]),
    fixed("sized_several", "200 OK", [CL10], [b"one ", b"two ", b"three"]),
    fixed("empty_list", "200 OK", TEXT, []),
    fixed("no_content", "204 No Content", [], [b"not sent"]),
    fixed("not_modified", "304 Not Modified", [("ETag", '"v1"')], [b"not sent"]),
    fixed("early_hints", "103 Early Hints", [("Link", "</s.css>; rel=preload")], [b"x"]),
    fixed("not_found", "404 Not Found", TEXT, [b"no such thing"]),
    fixed("server_error", "500 Internal Server Error", TEXT, [b"the app says so"]),
    fixed("bare_status", "200", [], [b"x"]),
    fixed("non_iterable", "200 OK", TEXT, 42),
    fixed("closes", "200 OK", [*TEXT, ("Connection", "close")], [b"bye"]),
    fixed("own_date_server", "200 OK",
          [("Date", "Mon, 01 Jan 2001 00:00:00 GMT"), ("Server", "mine")], [b"own"]),
    fixed("own_server", "200 OK", [("server", "mine")], [b"own"]),
    fixed("a_bytearray", "200 OK", TEXT, lambda log: [bytearray(b"mutable")]),
    fixed("a_str", "200 OK", TEXT, ["text"]),
    fixed("hop_by_hop", "200 OK", [("Transfer-Encoding", "chunked")], [b"x"]),
    fixed("hop_by_hop_keep_alive", "200 OK",
          [("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"), *TEXT], [b"sse"]),
    fixed("hop_by_hop_sized", "200 OK", [("Upgrade", "h2c"), CL5], lambda log: pieces(b"hello")),
    fixed("no_content_length", "204 No Content", [CL5], [b"hello"]),
    fixed("not_modified_length", "304 Not Modified", [CL5, ("ETag", '"v1"')], []),
    fixed("switching", "101 Switching Protocols", [("Upgrade", "websocket")], []),
    fixed("not_latin1_value", "200 OK", [("X-Sign", "\u20ac")], [b"x"]),
    fixed("status_beyond_latin1", "200 \u20ac", TEXT, [b"x"]),
    fixed("closing", "200 OK", TEXT, lambda log: Closing(log, [b"clos", b"ing"])),
    fixed("sized_closing", "200 OK", [("Content-Length", "7")],
          lambda log: Closing(log, [b"clos", b"ing"])),
    fixed("closing_fails", "200 OK", TEXT, lambda log: Closing(log, [b"x"], fail=True)),
    fixed("sized_closing_fails", "200 OK", [("Content-Length", "1")],
          lambda log: Closing(log, [b"x"], fail=True)),
]


def hello_lazily(env: dict[str, Any], start: Start, log: list[Any]) -> Iterator[bytes]:
    start("201 Created", [("Location", "/new"), CL5])
    yield b"hello"


def writer(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    start("200 OK", TEXT)(b"written ")
    return [b"returned"]


def write_only(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    start("200 OK", [("Content-Length", "7")])(b"written")
    return []


def writes_while_iterated(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    write = start("200 OK", [("Content-Length", "6")])

    def body() -> Iterator[bytes]:
        write(b"w1")
        yield b"c1"
        yield b"c2"

    return body()


def never_started(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    return [b"orphan"]


def raises(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    raise RuntimeError("before start_response")


def raises_after_start(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    start("200 OK", TEXT)
    raise RuntimeError("after start_response")


def times_out(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    raise RequestTimeout()


def started_twice(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    start("200 OK", TEXT)
    start("200 OK", TEXT)
    return [b"x"]


def exc_info_retry(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    start("200 OK", TEXT)
    try:
        raise ValueError("changed its mind")
    except ValueError:
        start("503 Service Unavailable", [("Retry-After", "1")], sys.exc_info())
    return [b"later"]


ANSWERS: list[Answer] = [
    hello, *FIXED, hello_lazily, writer, write_only, writes_while_iterated, never_started,
    raises, raises_after_start, times_out, started_twice, exc_info_retry,
]
BY_NAME = {a.__name__: a for a in ANSWERS}
ONE_CALL = {"hello", "sized", "not_found", "closes", "own_date_server", "exc_info_retry"}
ANSWER_REQUESTS = {
    "keep_alive": (request("/a?b=c"), conn()),
    "close": (request("/a", "Connection: close"), conn()),
    "not_allowed": (request("/a"), conn(allowed=False)),
    "https_post": (request("/a", "Content-Length: 0", method="POST"), conn("https")),
}
# (answer name, request kind or "*") -> why the two paths may differ; none do now.
KNOWN: dict[tuple[str, str], str] = {}
AGREEING = [a for a in ANSWERS if not any(name == a.__name__ for name, _ in KNOWN)]


def answer_cases() -> Iterator[Any]:
    for name in BY_NAME:
        for which in ANSWER_REQUESTS:
            reason = KNOWN.get((name, which)) or KNOWN.get((name, "*"), "")
            marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)]
            yield pytest.param(name, which, id=f"{name}-{which}",
                               marks=marks if reason else [])


@pytest.mark.parametrize(("name", "which"), list(answer_cases()))
def test_answers_agree(name: str, which: str) -> None:
    rig = make_rig()
    rig.app.answer = BY_NAME[name]
    raw, info = ANSWER_REQUESTS[which]
    got = check(rig, raw, info)
    assert got is not None
    if name in ONE_CALL:
        assert got.detail is None, "an ordinary answer was handed back as an exchange"


def test_access_log_lines_agree(tmp_path: Path) -> None:
    """The lane writes the access line itself for what it answers in one call."""
    lines = []
    for lane_first in (True, False):
        path = tmp_path / f"access-{lane_first}.log"
        fmt = '%(h)s "%(r)s" %(s)s %(b)s %(U)s %(q)s %({content-length}o)s %(a)s'
        log = Logger(Settings(accesslog=str(path), access_log_format=fmt))
        try:
            rig = make_rig(log)
            for name in ("hello", "sized", "several", "raises", "shorter_length"):
                rig.app.answer = BY_NAME[name]
                raw = request("/p%20q?x=1", "User-Agent: probe/1")
                if lane_first:
                    assert quick(rig, raw, rig.lane.connection(conn())) is not None
                else:
                    general(rig, raw, conn())
        finally:
            log.close()
            LOG.setup(LOG.settings)  # the newest Logger took over the error log
        lines.append(path.read_text("utf-8"))
    assert lines[0] == lines[1]
    assert lines[0].count("\n") == 5


# -- the table of header sections ------------------------------------------------


def count_learning(lane: QuickLane) -> list[bytes]:
    """From now on, the header sections ``lane`` learns (not taken from its table)."""
    learning = lane._learn
    calls: list[bytes] = []

    def counted(section: bytes, qc: QuickConn) -> Any:
        calls.append(section)
        return learning(section, qc)

    lane._learn = counted  # type: ignore[method-assign,assignment]
    return calls


def test_a_learnt_section_is_reused() -> None:
    rig = make_rig()
    raw = request("/first", "Accept: */*", "Cookie: id=1")
    block = raw[raw.index(b"\r\n") + 2 : -4]
    one = rig.lane.connection(conn())
    assert check(rig, raw) is not None
    learnt = one.table[block]
    assert learnt is not None and learnt.keys["HTTP_COOKIE"] == "id=1"
    calls = count_learning(rig.lane)
    two = rig.lane.connection(conn(peer=("127.0.0.2", 7777)))
    assert two.table is one.table
    got = quick(rig, request("/second?x", "Accept: */*", "Cookie: id=1"), two)
    assert got is not None and got.events[0]["REMOTE_ADDR"] == "127.0.0.2"
    assert got.events[0]["PATH_INFO"] == "/second"
    assert one.table[block] is learnt and not calls
    secure = rig.lane.connection(conn("https"))
    assert secure.table is not one.table
    got = quick(rig, raw, secure)
    assert got is not None and got.events[0]["SERVER_PORT"] == "443"
    assert calls == [block] and learnt.keys["SERVER_PORT"] == "80"


def test_a_declined_section_is_remembered_as_such() -> None:
    rig = make_rig()
    raw = request("/", "X-Forwarded-For: 10.0.0.1")
    block = raw[raw.index(b"\r\n") + 2 : -4]
    qc = rig.lane.connection(conn())
    assert quick(rig, raw, qc) is None
    assert block in qc.table
    calls = count_learning(rig.lane)
    assert quick(rig, raw, qc) is None
    assert not calls


def test_the_table_is_bounded() -> None:
    rig = make_rig()
    qc = rig.lane.connection(conn())
    largest = 0
    for i in range(TABLE_MAX + 40):
        raw = request("/", f"X-N: {i}")
        assert rig.lane.answer(raw, qc, NO_BODY) is not None
        largest = max(largest, len(qc.table))
        assert len(qc.table) <= TABLE_MAX
        assert raw[raw.index(b"\r\n") + 2 : -4] in qc.table
    rig.app.take()
    assert largest == TABLE_MAX
    assert check(rig, request("/", "X-N: 3")) is not None


def test_whole_requests_are_remembered_within_bounds() -> None:
    rig = make_rig()
    qc = rig.lane.connection(conn())
    first = request("/seen?n=0")
    for i in range(SEEN_MAX + 40):
        raw = request(f"/seen?n={i}")
        assert rig.lane.answer(raw, qc, NO_BODY) is not None
        assert len(qc.seen) <= SEEN_MAX
        assert raw in qc.seen
    rig.app.take()
    # after the table was cleared, a request seen before is matched afresh, alike
    assert check(rig, first) is not None
    long_one = request("/", "X-Long: " + "v" * SEEN_BYTES)
    assert check(rig, long_one) is not None
    assert long_one not in rig.lane.connection(conn()).seen


def test_remembered_requests_are_per_scheme() -> None:
    rig = make_rig()
    raw = request("/", host="example.com")
    for scheme, port in (("http", "80"), ("https", "443"), ("http", "80")):
        got = check(rig, raw, conn(scheme))
        assert got is not None
        assert got.events[0]["SERVER_PORT"] == port
        assert got.events[0]["wsgi.url_scheme"] == scheme


@pytest.mark.parametrize("extra", [-1, 0, 1, 500])
def test_long_sections_are_not_remembered(extra: int) -> None:
    rig = make_rig()
    qc = rig.lane.connection(conn())
    base = request("/", "X-Long: ")
    size = len(base[base.index(b"\r\n") + 2 : -4])
    raw = request("/", "X-Long: " + "v" * (BLOCK_MAX - size + extra))
    block = raw[raw.index(b"\r\n") + 2 : -4]
    assert len(block) == BLOCK_MAX + extra
    assert check(rig, raw) is not None
    assert (block in qc.table) is (extra <= 0)
    assert len(qc.table) == (1 if extra <= 0 else 0)


@pytest.mark.parametrize("hook", ["pre_request", "post_request"])
def test_no_lane_with_request_hooks(hook: str) -> None:
    def pre(worker: Any, req: Any) -> None:
        pass

    def post(worker: Any, req: Any, environ: Any, resp: Any) -> None:
        pass

    options = Settings(**{hook: pre if hook == "pre_request" else post})
    cycle = RequestCycle(Recorder(), options, LOG)
    assert cycle.quick_lane(Limits.from_settings(options)) is None
    assert make_rig().cycle.quick_lane(Limits()) is not None


# -- generated requests ----------------------------------------------------------

VISIBLE = "".join(chr(c) for c in range(0x21, 0x7F))
NAME_CHARS = string.ascii_letters + string.digits + "-_"
VALUE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F)) + "\t"
CONNECTION = [None, "keep-alive", "close", "Keep-Alive", "CLOSE", "keep-alive, close",
              "close, keep-alive", "TE", "", "upgrade"]
HOSTS = [None, "example.com", "example.com:8080", "[::1]", "[::1]:8000", "127.0.0.1:80", "h"]
PLAIN = {None, "keep-alive", "close", "Keep-Alive", "CLOSE"}
RIGS: dict[str, Rig] = {}


@st.composite
def ordinary_requests(draw: Any) -> tuple[bytes, bool]:
    """(raw GET-like request, whether the lane must take it)."""
    target = "/" + draw(st.text(VISIBLE, max_size=40))
    method = draw(st.sampled_from(["GET", "GET", "GET", "DELETE", "OPTIONS"]))
    names = st.one_of(
        st.text(NAME_CHARS, min_size=1, max_size=12).map(lambda s: "X-" + s),
        st.sampled_from(["Accept", "Cookie", "User-Agent", "Accept-Language", "Referer"]))
    fields = draw(st.lists(st.tuples(names, st.text(VALUE_CHARS, max_size=24)), max_size=8))
    host = draw(st.sampled_from(HOSTS))
    connection = draw(st.sampled_from(CONNECTION))
    lines = [f"{name}: {value}" for name, value in fields]
    if host is not None:
        lines.insert(draw(st.integers(0, len(lines))), f"Host: {host}")
    if connection is not None:
        lines.insert(draw(st.integers(0, len(lines))), f"Connection: {connection}")
    raw = request(target, *lines, method=method, host=None)
    return raw, host is not None and connection in PLAIN


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ordinary_requests(), st.sampled_from(AGREEING), st.sampled_from(["http", "https"]),
       st.booleans())
def test_generated_requests_agree(req: tuple[bytes, bool], answer: Answer, scheme: str,
                                  allowed: bool) -> None:
    raw, ordinary = req
    rig = RIGS.get("shared")
    if rig is None:
        rig = RIGS["shared"] = make_rig()
    rig.app.answer = answer
    rig.app.take()
    got = check(rig, raw, conn(scheme, allowed))
    if ordinary:
        assert got is not None, "an ordinary request left the lane"
