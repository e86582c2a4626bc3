"""The one request-head grammar (:mod:`corral.server.http.strict`), through the parser.

* Heads around the edges of the grammar (ordinary ones, now and then with a line
  it refuses or a setting changes) give the same events and the same error fed
  whole, where one regular expression reads the head, and cut anywhere or a byte
  at a time, where it is read a line at a time.
* Each violation is answered with its status and named; the first one in byte
  order is the one answered, and a bad request line or field line is refused as
  soon as its line ends, before the blank line.
* Extension methods are ordinary tokens; the leniency settings (obsolete
  folding, whitespace before a colon, other versions, case-folded methods) are
  options of the same grammar.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.server.http.errors import ParseError
from corral.server.http.parser import Limits, RequestHead, RequestParser
from tests.server.parsing import parse_outcome, property_settings
from tests.server.test_parser_properties import cut

pytestmark = pytest.mark.timeout(120)

PROPERTY = property_settings()
LENIENT = Limits(fold=True, strip_spaces=True, any_method=True, any_version=True, casefold=True)
LIMITS = [Limits(), Limits(80, 4, 40, 16), Limits(80, 2, 60, 16), Limits(0, 0, 0, 0), LENIENT,
          Limits(30, 3, 40, 20, fold=True, strip_spaces=True)]


outcome = parse_outcome


def same_whatever_the_reads(data: bytes, limits: Limits | None = None,
                            points: list[int] | None = None) -> tuple[list[Any], Any, bool]:
    whole = outcome([data], limits)
    assert outcome([data[i : i + 1] for i in range(len(data))], limits) == whole
    assert outcome([data[:-1], data[-1:]], limits) == whole
    if points:
        assert outcome(cut(data, points), limits) == whole
    return whole


H = "Host: example.com\r\n"
GOOD_FIELDS = [
    H, "X-A: b\r\n", "X-A:\r\n", "X-A:  \t\r\n", "X-B: \t v a l \t\r\n", "X-C: \xe9\xff\r\n",
    "Connection: close\r\n", "Connection: keep-alive\r\n", "connection: Keep-Alive \r\n",
    "Keep-Alive: close\r\n", "Content-Length: 0\r\n", "Content-Length: 3\r\n",
    "Content-Length: 003\r\n", "Content-Length: 3 \r\n", "Expect: 100-continue\r\n",
    "Content-Type: text/plain\r\n", "Accept: */*\r\n", "X_Under: u\r\n",
]
EDGE_FIELDS = [
    "Connection: upgrade\r\n", "Connection: close, keep-alive\r\n", "Connection: te\r\n",
    "Proxy-Connection: close\r\n", "Upgrade: websocket\r\n", "Content-Length: +3\r\n",
    "Content-Length: \xb2\r\n", "Content-Length: 99999999999999999999999\r\n",
    "Transfer-Encoding: chunked\r\n", "X-D : e\r\n", "X-D\t: e\r\n", "X-E: a\x7fb\r\n",
    " X-G: h\r\n", "X-H: i\r\n j\r\n", "X-H:\r\n\tj \r\n", "X-I: a\nb\r\n", "X-J: a\rb\r\n",
    "X(K): l\r\n", ": m\r\n", "X-L\r\n",
]
GOOD_LINES = [
    "GET / HTTP/1.1", "GET /a/b?c=d&e#frag HTTP/1.1", "HEAD /x HTTP/1.0", "POST /p HTTP/1.1",
    "PUT /%7E%zz HTTP/1.1", "DELETE /d HTTP/1.1", "PATCH /q? HTTP/1.1", "GET /{}\"<>\\^` HTTP/1.1",
    "OPTIONS /o HTTP/1.0", "GET /" + "a" * 90 + " HTTP/1.1", "PURGE /x HTTP/1.1",
    "M-SEARCH * HTTP/1.1", "get / HTTP/1.1", "X" * 64 + " / HTTP/1.1",
]
EDGE_LINES = [
    "OPTIONS * HTTP/1.1", "GET http://h/x HTTP/1.1", "CONNECT h:443 HTTP/1.1", "connect h:443 HTTP/1.1",
    "GET  / HTTP/1.1", "GET / HTTP/1.2", "GET / HTTP/2.0", "GET /\x80 HTTP/1.1", "GET / HTTP/1.1 ",
    "\r\nGET / HTTP/1.1", "GET /", "PRI * HTTP/2.0", "X" * 65 + " / HTTP/1.1", "G(T / HTTP/1.1",
    "GET / http/1.1", "GET / HTTP/1.10", "GET * HTTP/1.1",
]


@st.composite
def heads(draw: Any) -> bytes:
    """Request heads around the edges of the grammar (mostly ordinary ones, with
    now and then a line it refuses or a setting changes)."""
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
def test_each_edge_the_same_whatever_the_reads(line: str, field: str) -> None:
    head = (line + "\r\n" + H + field + "\r\n").encode("latin-1")
    for data in (head, head + b"abc" + ORDINARY, head + ORDINARY + ORDINARY):
        for limits in LIMITS:
            same_whatever_the_reads(data, limits)


@PROPERTY
@given(st.lists(heads(), min_size=1, max_size=4), st.lists(st.integers(0, 4096), max_size=6),
       st.sampled_from(LIMITS))
def test_edge_heads_the_same_whatever_the_reads(reqs: list[bytes], points: list[int],
                                                limits: Limits) -> None:
    events, error, _ = same_whatever_the_reads(b"".join(reqs), limits, points)
    if error is not None:
        assert error[0] in (400, 413, 414, 431, 501, 505)


def test_pipelined_heads_are_bounded_alike() -> None:
    partial = b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A: " + b"v" * 100
    for n in range(6):
        events, error, _ = same_whatever_the_reads(ORDINARY * n + partial, Limits(80, 2, 60, 16))
        assert events.count("END") == n and error == (431, "header field too large")


# -- what is refused, and why ------------------------------------------------------


HF = "Host: example.com"


def req(*fields: str, line: str = "GET / HTTP/1.1") -> bytes:
    return (line + "\r\n" + "".join(f + "\r\n" for f in fields) + "\r\n").encode("latin-1")


VERDICTS = [
    (req(HF, line="G(T / HTTP/1.1"), 400, "invalid method"),
    (req(HF, line=" / HTTP/1.1"), 400, "invalid method"),
    (req(HF, line="X" * 65 + " / HTTP/1.1"), 400, "invalid method"),
    (req(HF, line="PRI / HTTP/1.1"), 400, "HTTP/2 connection preface"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "HTTP/2 connection preface"),
    (req(HF, line="GET  / HTTP/1.1"), 400, "invalid request target"),
    (req(HF, line="GET /a\x01 HTTP/1.1"), 400, "invalid character in request target"),
    (req(HF, line="GET /"), 400, "missing HTTP version"),
    (req(HF, line="GET / http/1.1"), 400, "invalid HTTP version"),
    (req(HF, line="GET / HTTP/1.10"), 400, "invalid request line"),
    (req(HF, line="GET / HTTP/1.1 "), 400, "invalid request line"),
    (req(HF, line="GET / HTTP/1.1\rx"), 400, "bare CR in request line"),
    (b"GET / HTTP/1.1\n" + HF.encode() + b"\n\n", 400, "request line without CRLF"),
    (req(HF, line="GET / HTTP/2.0"), 505, "HTTP version not supported"),
    (req(HF, line="GET / HTTP/0.9"), 505, "HTTP version not supported"),
    (req(HF, "X(a): b"), 400, "invalid header field name"),
    (req(HF, ": b"), 400, "invalid header field name"),
    (req(HF, "X-A b"), 400, "header field without a colon"),
    (req(HF, "X-A : b"), 400, "whitespace before a colon"),
    (req(HF, "X-A b: c"), 400, "invalid header field name"),
    (req(HF, "X-A: b", " c"), 400, "obsolete line folding"),
    (req(" X-A: b", HF), 400, "obsolete line folding"),
    (req(HF, "X-A: b\x00c"), 400, "invalid character in header field value"),
    (req(HF, "X-A: b\x7f"), 400, "invalid character in header field value"),
    (req(HF, "X-A: b\rc"), 400, "bare CR in header field"),
    (b"GET / HTTP/1.1\r\n" + HF.encode() + b"\r\nX-A: b\nX-B: c\r\n\r\n", 400,
     "header line without CRLF"),
    (req(HF, "Content-Length: 18446744073709551616"), 400, "Content-Length too large"),
    (req(HF, "Content-Length: 1", "Content-Length: 1"), 400, "repeated Content-Length"),
    (req(HF, "Content-Length: 0x1"), 400, "invalid Content-Length"),
    (req(HF, HF), 400, "exactly one Host header required"),
    (req(HF, line="GET * HTTP/1.1"), 400, "asterisk-form target outside OPTIONS"),
    (req(HF, line="CONNECT /x HTTP/1.1"), 400, "CONNECT needs an authority-form target"),
    (req(HF, line="GET h2c://a/ HTTP/1.1"), 400, "relative or malformed request target"),
    (req(HF, "Transfer-Encoding: gzip, chunked"), 501, "transfer coding 'gzip' not implemented"),
]


@pytest.mark.parametrize("data, status, reason", VERDICTS, ids=[str(v[0][:40]) for v in VERDICTS])
def test_each_violation_is_named(data: bytes, status: int, reason: str) -> None:
    events, error, _ = same_whatever_the_reads(data)
    assert not events and error == (status, reason)


@pytest.mark.parametrize("start, status", [
    (b"GE\x01", 400),  # a method can no longer be
    (b"GET /a\x01", 400),
    (b"GET / HTTP/9.9\r\n", 505),
    (b"GET / HTTX", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX(: y\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: " + b"v" * 8190, 431),
    (b"GET /" + b"a" * 4200, 414),
    (b"X" * 65, 400),
])
def test_refused_as_soon_as_it_shows(start: bytes, status: int) -> None:
    """Before the blank line, and however the bytes so far were cut."""
    for pieces in ([start], [start[i : i + 1] for i in range(len(start))]):
        parser = RequestParser(Limits())
        with pytest.raises(ParseError) as info:
            for piece in pieces:
                parser.feed(piece)
        assert info.value.status == status


@pytest.mark.parametrize("data, limits, status", [
    # a bad field line before a line that is too large, and the other way round
    (req(HF, "X(: y", "X-A: " + "v" * 100), Limits(field_size=60), 400),
    (req(HF, "X-A: " + "v" * 100, "X(: y"), Limits(field_size=60), 431),
    # too many fields before a bad one, and the other way round
    (req(HF, "X-A: 1", "X-B: 2", "X(: y"), Limits(fields=2), 431),
    (req(HF, "X(: y", "X-A: 1", "X-B: 2"), Limits(fields=2), 400),
    # a request line past its bound wins over what follows; a bad byte within it wins
    (req("X(: y", line="GET /" + "a" * 200 + " HTTP/1.1"), Limits(request_line=100), 414),
    (req(HF, line="GET /" + "a" * 50 + "\x01" + "a" * 200 + " HTTP/1.1"), Limits(request_line=100),
     400),
    # with --permit-unconventional-http-method, a method is bounded by the line's limit
    (req(HF, line="X" * 150 + " / HTTP/1.1"), Limits(request_line=100, any_method=True), 414),
])
def test_first_violation_in_byte_order(data: bytes, limits: Limits, status: int) -> None:
    events, error, _ = same_whatever_the_reads(data, limits)
    assert not events and error is not None and error[0] == status


# -- methods, versions and the leniency settings ----------------------------------------


def head_of(data: bytes, limits: Limits | None = None) -> RequestHead:
    events, error, in_message = same_whatever_the_reads(data, limits)
    assert error is None and not in_message, error
    head = RequestHead(*events[0])
    return head


@pytest.mark.parametrize("method", ["PURGE", "get", "M-SEARCH", "X-CUSTOM.1", "~!#$%&'*+^_`|",
                                    "X" * 64])
def test_any_token_is_a_method(method: str) -> None:
    assert head_of(req(HF, line=method + " / HTTP/1.1")).method == method
    assert head_of(req(HF, line=method + " / HTTP/1.1"), LENIENT).method == method.upper()


def test_long_methods_with_unconventional_methods_permitted() -> None:
    data = req(HF, line="X" * 300 + " / HTTP/1.1")
    assert head_of(data, Limits(any_method=True)).method == "X" * 300


def test_casefolded_methods_keep_the_target_rules_of_both_spellings() -> None:
    limits = Limits(casefold=True)
    assert head_of(req(HF, line="purge /x HTTP/1.1"), limits).method == "PURGE"
    for line in ("connect h:443 HTTP/1.1", "connect / HTTP/1.1", "options * HTTP/1.1"):
        _, error, _ = same_whatever_the_reads(req(HF, line=line), limits)
        assert error is not None and error[0] == 400


@pytest.mark.parametrize("version", ["1.2", "2.0", "0.9", "9.9"])
def test_other_versions_taken_as_1_1_when_permitted(version: str) -> None:
    head = head_of(req(HF, line=f"GET / HTTP/{version}"), Limits(any_version=True))
    assert head.version == (1, 1) and head.keep_alive
    for line in ("GET / HTTP/12.0", "GET / HTTX/1.1", "GET /"):
        _, error, _ = same_whatever_the_reads(req(HF, line=line), Limits(any_version=True))
        assert error is not None and error[0] == 400


def test_folded_lines_joined_when_permitted() -> None:
    limits = Limits(fold=True)
    folded = head_of(req(HF, "X-A: one", "   two \t", "\tthree", "X-B:", " b", "X-C: c"), limits)
    assert folded.headers == [("Host", "example.com"), ("X-A", "one two three"), ("X-B", "b"),
                              ("X-C", "c")]
    folded_te = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"
    assert head_of(folded_te, limits).chunked
    # a folded field is measured whole, as sent: each line with its CRLF
    data = req(HF, "X-A: " + "a" * 20, " " + "b" * 20)
    assert head_of(data, Limits(field_size=50, fold=True))
    _, error, _ = same_whatever_the_reads(data, Limits(field_size=49, fold=True))
    assert error == (431, "header field too large")


def test_whitespace_before_colon_dropped_when_permitted() -> None:
    limits = Limits(strip_spaces=True)
    assert head_of(req("Host : a:81", "X-A\t \t: b"), limits).headers == [("Host", "a:81"),
                                                                         ("X-A", "b")]
    for field in ("X A: b", " : b"):
        _, error, _ = same_whatever_the_reads(req(HF, field), limits)
        assert error is not None and error[0] == 400


def test_largest_content_length() -> None:
    parser = RequestParser(Limits())
    [head] = parser.feed(req(HF, "Content-Length: 18446744073709551615"))
    assert isinstance(head, RequestHead) and head.content_length == 2**64 - 1
