"""Two shortcuts inside the one request path give what the long way gives.

They are not second paths: each is a step of the one parser or the one
exchange that skips work when it can, and falls back to the long way inside
the same function otherwise.

* The parser takes ordinary whole heads without llhttp (``RequestParser.fast``):
  for any input, fed in any pieces, it must give the same events, the same error
  and the same state as the parser that hands everything to llhttp.
* The exchange answers a list or tuple of bytes in one write
  (``Exchange.fast``): the wire bytes, ``keep_alive``, ``status`` and ``sent``
  must be those of the general streaming path.
"""

from __future__ import annotations

import re
from dataclasses import astuple
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.server.config import Settings
from corral.server.http import response
from corral.server.http.body import BufferedBody
from corral.server.http.cycle import ConnInfo, Exchange, RequestCycle
from corral.server.http.errors import ParseError
from corral.server.http.parser import END, Limits, RequestHead, RequestParser
from corral.server.logging import Logger
from tests.server.corpus import MODES, load_manifest, split
from tests.server.test_parser_properties import cut, mutated, requests

pytestmark = pytest.mark.timeout(120)

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class ReferenceParser(RequestParser):
    """llhttp for every request."""

    fast = False


def run(parser: RequestParser, pieces: list[bytes]) -> tuple[list[Any], Any, bool]:
    """(events, error, in_message) with bytes events of one message merged."""
    out: list[Any] = []
    error: Any = None
    try:
        for piece in [*pieces, None]:
            events = parser.feed(piece) if piece is not None else parser.feed_eof()
            for ev in events:
                if isinstance(ev, RequestHead):
                    out.append(astuple(ev))
                elif isinstance(ev, bytes):
                    if out and isinstance(out[-1], bytes):
                        out[-1] += ev
                    else:
                        out.append(ev)
                else:
                    assert ev is END
                    out.append("END")
    except ParseError as exc:
        error = (exc.status, exc.reason)
    return out, error, parser.in_message


def same(pieces: list[bytes], limits: Limits | None = None) -> None:
    fast = run(RequestParser(limits), pieces)
    ref = run(ReferenceParser(limits), pieces)
    assert fast == ref


MANIFEST = load_manifest()
LIMITS = [Limits(**MANIFEST.limits), Limits(), Limits(80, 4, 40, 16), Limits(80, 2, 60, 16),
          Limits(0, 0, 0, 0)]


@pytest.mark.parametrize("case", MANIFEST.cases, ids=str)
def test_corpus_parses_the_same(case: Any) -> None:
    for mode in MODES:
        for limits in LIMITS:
            same(split(case.raw, mode, case.name), limits)


H = "Host: example.com\r\n"
GOOD_FIELDS = [
    H, "X-A: b\r\n", "X-A:\r\n", "X-A:  \t\r\n", "X-B: \t v a l \t\r\n", "X-C: \xe9\xff\r\n",
    "Connection: close\r\n", "Connection: keep-alive\r\n", "connection: Keep-Alive \r\n",
    "Connection: keep-alive\r\n", "Connection: keep-alive\r\n", "Keep-Alive: close\r\n", "Content-Length: 0\r\n", "Content-Length: 3\r\n",
    "Content-Length: 003\r\n", "Content-Length: 3 \r\n", "Expect: 100-continue\r\n",
    "Content-Type: text/plain\r\n", "Accept: */*\r\n",
]
EDGE_FIELDS = [
    "Connection: upgrade\r\n", "Connection: close, keep-alive\r\n", "Connection: te\r\n",
    "Proxy-Connection: close\r\n", "Upgrade: websocket\r\n", "Content-Length: +3\r\n",
    "Content-Length: \xb2\r\n", "Content-Length: 99999999999999999999999\r\n",
    "Transfer-Encoding: chunked\r\n", "X-D : e\r\n", "X-E: a\x7fb\r\n", "X_F: g\r\n",
    " X-G: h\r\n", "X-H: i\r\n j\r\n", "X-I: a\nb\r\n",
]
GOOD_LINES = [
    "GET / HTTP/1.1", "GET /a/b?c=d&e#frag HTTP/1.1", "HEAD /x HTTP/1.0", "POST /p HTTP/1.1",
    "PUT /%7E%zz HTTP/1.1", "DELETE /d HTTP/1.1", "PATCH /q? HTTP/1.1", "GET /{}\"<>\\^` HTTP/1.1",
    "OPTIONS /o HTTP/1.0", "GET /" + "a" * 90 + " HTTP/1.1",
]
EDGE_LINES = [
    "OPTIONS * HTTP/1.1", "GET http://h/x HTTP/1.1", "CONNECT h:443 HTTP/1.1", "PURGE /x HTTP/1.1",
    "get / HTTP/1.1", "GET  / HTTP/1.1", "GET / HTTP/1.2", "GET / HTTP/2.0", "GET /\x80 HTTP/1.1",
    "GET / HTTP/1.1 ", "\r\nGET / HTTP/1.1",
]


@st.composite
def heads(draw: Any) -> bytes:
    """Request heads around the edges of what the shortcut takes (mostly ordinary
    ones, with now and then a field or line it must leave to llhttp)."""
    rare = st.integers(0, 3).map(lambda n: n == 0)
    line = draw(st.sampled_from(EDGE_LINES if draw(rare) else GOOD_LINES))
    fields = draw(st.lists(st.sampled_from(GOOD_FIELDS), max_size=5))
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
        fields.insert(draw(st.integers(0, len(fields))), H)
    if draw(rare):
        fields.insert(draw(st.integers(0, len(fields))), draw(st.sampled_from(EDGE_FIELDS)))
    body = draw(st.sampled_from([b"", b"abc", b"abcdef", b"3\r\nabc\r\n0\r\n\r\n"]))
    eol = "\n" if draw(rare) and draw(rare) else "\r\n"
    return (line + "\r\n" + "".join(fields) + eol).encode("latin-1") + body


ORDINARY = b"GET /next HTTP/1.1\r\nHost: example.com\r\n\r\n"


@pytest.mark.parametrize("field", GOOD_FIELDS + EDGE_FIELDS)
@pytest.mark.parametrize("line", GOOD_LINES[:4] + EDGE_LINES)
def test_each_edge_parses_the_same(line: str, field: str) -> None:
    head = (line + "\r\n" + H + field + "\r\n").encode("latin-1")
    for data in (head, head + b"abc" + ORDINARY, head + ORDINARY + ORDINARY):
        for limits in LIMITS:
            same([data], limits)
            same([data[:-1], data[-1:]], limits)


def test_pipelined_heads_count_against_the_head_budget_alike() -> None:
    partial = b"GET / HTTP/1.1\r\nHost: example.com\r\n"
    for n in range(12):
        same([ORDINARY * n + partial], Limits(80, 2, 60, 16))


@PROPERTY
@given(st.lists(heads(), min_size=1, max_size=4), st.lists(st.integers(0, 4096), max_size=6),
       st.sampled_from(LIMITS))
def test_edge_heads_parse_the_same(reqs: list[bytes], points: list[int], limits: Limits) -> None:
    data = b"".join(reqs)
    same([data], limits)
    same(cut(data, points), limits)


@PROPERTY
@given(st.lists(requests(), min_size=1, max_size=3), st.lists(st.integers(0, 4096), max_size=6))
def test_generated_requests_parse_the_same(reqs: list[Any], points: list[int]) -> None:
    data = b"".join(r.wire() for r in reqs)
    same([data])
    same(cut(data, points), Limits(80, 4, 40, 16))


@PROPERTY
@given(mutated(), mutated(), st.lists(st.integers(0, 4096), max_size=6))
def test_mutated_requests_parse_the_same(a: bytes, b: bytes, points: list[int]) -> None:
    same([a + b])
    same(cut(a + b, points))


# -- the exchange ---------------------------------------------------------------


class ReferenceExchange(Exchange):
    """Streams every body."""

    fast = False


DATE = re.compile(rb"Date: [^\r]*\r\n")
STATUSES = ["200 OK", "201 Created", "204 No Content", "304 Not Modified", "404 Not Found",
            "101 Switching Protocols"]
item = st.sampled_from([b"", b"a", b"hello", b"x" * 100]) | st.binary(max_size=20)


@st.composite
def answers(draw: Any) -> tuple[str, list[tuple[str, str]], Any]:
    """(status, headers, body) an application gives."""
    body = draw(st.lists(item | st.sampled_from([bytearray(b"ba"), "str"]) if draw(st.booleans())
                         else item, max_size=4))
    size = sum(len(c) for c in body if isinstance(c, (bytes, bytearray)))
    optional = [
        ("Content-Type", "text/plain"), ("Connection", "close"), ("Date", "Mon, 01 Jan 2024"),
        ("Server", "app"), ("X-A", "b \xe9"), ("Connection", "keep-alive"),
        ("Content-Length", str(draw(st.sampled_from([size, size, 0, size + 2, max(size - 1, 0)])))),
    ]
    headers = draw(st.lists(st.sampled_from(optional), max_size=4, unique=True))
    kind = draw(st.sampled_from([list, tuple]))
    return draw(st.sampled_from(STATUSES)), headers, kind(body)


REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab",
]
LOG = Logger(Settings())


def exchange(cls: type[Exchange], answer: Any, raw: bytes, allowed: bool) -> tuple[Any, ...]:
    status, headers, body = answer

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(status, list(headers))
        return body

    events = RequestParser().feed(raw)
    head = events[0]
    assert isinstance(head, RequestHead)
    data = b"".join(e for e in events if isinstance(e, bytes))
    conn = ConnInfo(("127.0.0.1", 5000), ("127.0.0.1", 8000), keepalive_allowed=allowed)
    ex = cls(RequestCycle(app, Settings(), LOG), head, BufferedBody(data), conn)
    try:
        out = b"".join(ex)  # type: ignore[arg-type]
    finally:
        ex.close()
    return (DATE.sub(b"", out), ex.keep_alive, ex.status, ex.sent, ex.headers_sent,
            ex.status_line, ex.headers)


@PROPERTY
@given(answers(), st.sampled_from(REQUESTS), st.booleans())
def test_whole_bodies_go_out_as_streamed(answer: Any, raw: bytes, allowed: bool) -> None:
    response._PREPARED.clear()
    ref = exchange(ReferenceExchange, answer, raw, allowed)  # validates, then remembers
    assert exchange(Exchange, answer, raw, allowed) == ref  # from what was remembered
    response._PREPARED.clear()
    assert exchange(Exchange, answer, raw, allowed) == ref
