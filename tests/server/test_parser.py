"""Sans-IO tests of the request parser: events, pipelining, limits, strictness."""

from __future__ import annotations

import pytest

from corral.server.http.errors import ParseError
from corral.server.http.parser import END, Limits, RequestHead, RequestParser

H = b"Host: example.com\r\n"


def parse(data: bytes, limits: Limits | None = None, eof: bool = False) -> list[object]:
    p = RequestParser(limits or Limits())
    events = p.feed(data)
    if p.error is not None:  # the events before a violation come first; it is raised next
        raise p.error
    if eof:
        events += p.feed_eof()
    return events


def status_of(data: bytes, limits: Limits | None = None, eof: bool = False) -> int:
    with pytest.raises(ParseError) as info:
        parse(data, limits, eof)
    return info.value.status


def bytewise(data: bytes) -> list[object]:
    p = RequestParser(Limits())
    out: list[object] = []
    for i in range(len(data)):
        out += p.feed(data[i : i + 1])
    return out


def test_simple_get() -> None:
    events = parse(b"GET /a/b?x=1&y=%20 HTTP/1.1\r\n" + H + b"X-Thing:  v \r\n\r\n")
    assert len(events) == 2 and events[1] is END
    head = events[0]
    assert isinstance(head, RequestHead)
    assert (head.method, head.path, head.query, head.raw_uri) == ("GET", "/a/b", "x=1&y=%20",
                                                                  "/a/b?x=1&y=%20")
    assert head.version == (1, 1) and head.keep_alive and not head.chunked
    assert head.headers == [("Host", "example.com"), ("X-Thing", "v")]


def test_content_length_body_and_pipelining() -> None:
    data = (b"POST /1 HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello"
            b"GET /2 HTTP/1.1\r\n" + H + b"\r\n")
    events = parse(data)
    assert [type(e).__name__ for e in events] == ["RequestHead", "bytes", "_End",
                                                 "RequestHead", "_End"]
    assert events[1] == b"hello"
    assert bytewise(data)[-1] is END


def test_chunked_body_is_dechunked() -> None:
    data = (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: ok\r\n\r\n")
    events = parse(data)
    assert events[0].chunked  # type: ignore[union-attr]
    assert b"".join(e for e in events if isinstance(e, bytes)) == b"hello world"
    assert events[-1] is END
    assert b"".join(e for e in bytewise(data) if isinstance(e, bytes)) == b"hello world"


def test_keep_alive_and_expect() -> None:
    h10 = parse(b"GET / HTTP/1.0\r\n\r\n")[0]
    assert isinstance(h10, RequestHead) and not h10.keep_alive and h10.version == (1, 0)
    h10k = parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")[0]
    assert isinstance(h10k, RequestHead) and h10k.keep_alive
    close = parse(b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")[0]
    assert isinstance(close, RequestHead) and not close.keep_alive
    exp = parse(b"POST / HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    assert isinstance(exp[0], RequestHead) and exp[0].expect_continue and len(exp) == 1


def test_data_after_connection_close_is_ignored() -> None:
    p = RequestParser(Limits())
    events = p.feed(b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\nGET /x HTTP/1.1\r\n")
    assert events[-1] is END and len(events) == 2
    assert p.feed(b"more") == []


def test_upgrade_request_with_body_and_pipelining() -> None:
    data = (b"POST /u HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: h2c\r\n"
            b"Content-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\n" + H + b"\r\n")
    events = parse(data)
    assert isinstance(events[0], RequestHead) and events[0].upgrade
    assert events[1] == b"abc" and events[2] is END
    assert isinstance(events[3], RequestHead) and events[3].path == "/next"


@pytest.mark.parametrize(
    "target, path, query",
    [
        (b"http://example.com/p?q=1", "/p", "q=1"),
        (b"https://example.com", "/", ""),
        (b"/a#frag", "/a", ""),
    ],
)
def test_target_forms(target: bytes, path: str, query: str) -> None:
    head = parse(b"GET " + target + b" HTTP/1.1\r\n" + H + b"\r\n")[0]
    assert isinstance(head, RequestHead) and (head.path, head.query) == (path, query)


def test_options_asterisk_and_connect_authority() -> None:
    head = parse(b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n")[0]
    assert isinstance(head, RequestHead) and head.path == "*"
    head = parse(b"CONNECT example.com:443 HTTP/1.1\r\n" + H + b"\r\n")[0]
    assert isinstance(head, RequestHead) and head.method == "CONNECT"


def req(head: bytes, body: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return b"POST / " + version + b"\r\n" + H + head + b"\r\n" + body


TE = b"Transfer-Encoding: chunked\r\n"

# (id, raw request, expected status).
REFUSED = [
    ("cl-and-te", req(b"Content-Length: 5\r\n" + TE, b"0\r\n\r\n"), 400),
    ("te-and-cl", req(TE + b"Content-Length: 5\r\n", b"0\r\n\r\n"), 400),
    ("cl-repeated", req(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), 400),
    ("cl-list", req(b"Content-Length: 5, 5\r\n", b"hello"), 400),
    ("cl-plus", req(b"Content-Length: +5\r\n", b"hello"), 400),
    ("cl-minus", req(b"Content-Length: -5\r\n", b"hello"), 400),
    ("cl-nondigit", req(b"Content-Length: 5a\r\n", b"hello"), 400),
    ("cl-hex", req(b"Content-Length: 0x5\r\n", b"hello"), 400),
    ("te-final-not-chunked", req(b"Transfer-Encoding: chunked, gzip\r\n"), 400),
    ("te-gzip-only", req(b"Transfer-Encoding: gzip\r\n"), 400),
    ("te-chunked-twice", req(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), 400),
    ("te-chunked-two-fields", req(TE + TE, b"0\r\n\r\n"), 400),
    ("te-chunked-http10", req(TE, b"0\r\n\r\n", b"HTTP/1.0"), 400),
    ("te-unknown", req(b"Transfer-Encoding: foo, chunked\r\n", b"0\r\n\r\n"), 501),
    ("te-gzip-chunked", req(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),
    ("chunk-nonhex", req(TE, b"zz\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-signed", req(TE, b"-5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-plus", req(TE, b"+5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-overflow", req(TE, b"1" + b"0" * 20 + b"\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-missing-crlf", req(TE, b"5\r\nhelloXX0\r\n\r\n"), 400),
    ("chunk-ext-bare-cr", req(TE, b"5;a=b\rc\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-bare-lf", req(TE, b"5\nhello\r\n0\r\n\r\n"), 400),
    ("trailer-content-length", req(TE, b"0\r\nContent-Length: 5\r\n\r\n"), 400),
    ("trailer-transfer-encoding", req(TE, b"0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400),
    ("trailer-host", req(TE, b"0\r\nHost: evil\r\n\r\n"), 400),
    ("trailer-trailer", req(TE, b"0\r\nTrailer: x\r\n\r\n"), 400),
    ("trailer-authorization", req(TE, b"0\r\nAuthorization: x\r\n\r\n"), 400),
    ("trailer-te", req(TE, b"0\r\nTE: trailers\r\n\r\n"), 400),
    ("method-not-token", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-empty", b" / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-ctl", b"GE\x01T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-too-long", b"X" * 100 + b" / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("asterisk-get", b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("authority-get", b"GET example.com:80 HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("connect-origin-form", b"CONNECT /x HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("relative-target", b"GET foo/bar HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("nul-target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("nonascii-target", b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("tab-target", b"GET /a\tb HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("version-2", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("version-1.2", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505),
    ("version-0.9", b"GET / HTTP/0.9\r\n" + H + b"\r\n", 505),
    ("version-3", b"GET / HTTP/3.0\r\n" + H + b"\r\n", 505),
    ("version-garbage", b"GET / HTTP/x.y\r\n" + H + b"\r\n", 400),
    ("version-missing", b"GET /\r\n" + H + b"\r\n", 400),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    ("pri-method", b"PRI / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("cl-overflow", req(b"Content-Length: 18446744073709551616\r\n", b"hello"), 400),
    ("name-not-token", b"GET / HTTP/1.1\r\n" + H + b"X(a): b\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\n" + H + b"X-A : b\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: b\r\n c\r\n\r\n", 400),
    ("ctl-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: b\x01c\r\n\r\n", 400),
    ("nul-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: b\x00c\r\n\r\n", 400),
    ("del-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: b\x7fc\r\n\r\n", 400),
    ("bare-cr-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: b\rc\r\n\r\n", 400),
    ("bare-lf-line-ends", b"GET / HTTP/1.1\n" + H + b"\n", 400),
    ("second-host", b"GET / HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    ("missing-host-http11", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("second-content-type", b"GET / HTTP/1.1\r\n" + H + b"Content-Type: a/b\r\nContent-Type: c/d\r\n\r\n", 400),
    ("upgrade-with-chunked", req(b"Connection: upgrade\r\nUpgrade: x\r\n" + TE, b"0\r\n\r\n"), 400),
]


@pytest.mark.parametrize("data, status", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused(data: bytes, status: int) -> None:
    assert status_of(data) == status


@pytest.mark.parametrize("data, status", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused_byte_by_byte(data: bytes, status: int) -> None:
    with pytest.raises(ParseError) as info:
        bytewise(data)
    assert info.value.status == status


def test_truncated_bodies_fail_at_eof() -> None:
    assert status_of(req(TE, b"5\r\nhello\r\n"), eof=True) == 400
    assert status_of(req(b"Content-Length: 10\r\n", b"hello"), eof=True) == 400
    assert status_of(b"GET / HTTP/1.1\r\nHo", eof=True) == 400
    assert parse(b"", eof=True) == []


def test_error_is_sticky() -> None:
    p = RequestParser(Limits())
    with pytest.raises(ParseError):
        p.feed(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(ParseError):
        p.feed(b"GET / HTTP/1.1\r\n" + H + b"\r\n")


def test_limit_request_line() -> None:
    limits = Limits(request_line=100)
    assert parse(b"GET /" + b"a" * 80 + b" HTTP/1.1\r\n" + H + b"\r\n", limits)
    assert status_of(b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n" + H + b"\r\n", limits) == 414
    # refused before the line ends, too
    assert status_of(b"GET /" + b"a" * 200, limits) == 414
    assert parse(b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n" + H + b"\r\n", Limits(request_line=0))


def test_limit_fields() -> None:
    limits = Limits(fields=5)
    ok = b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-%d: v\r\n" % i for i in range(4)) + b"\r\n"
    assert parse(ok, limits)
    bad = b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-%d: v\r\n" % i for i in range(5)) + b"\r\n"
    assert status_of(bad, limits) == 431


def test_limit_field_size() -> None:
    limits = Limits(field_size=100)
    assert parse(b"GET / HTTP/1.1\r\n" + H + b"X-A: " + b"v" * 90 + b"\r\n\r\n", limits)
    assert status_of(b"GET / HTTP/1.1\r\n" + H + b"X-A: " + b"v" * 100 + b"\r\n\r\n", limits) == 431


def test_endless_header_refused_before_it_ends() -> None:
    p = RequestParser(Limits(fields=10, field_size=100))
    p.feed(b"GET / HTTP/1.1\r\n" + H + b"X-A: ")
    with pytest.raises(ParseError) as info:
        for _ in range(100):
            p.feed(b"v" * 100)
    assert info.value.status == 431


def test_limit_body() -> None:
    limits = Limits(body=10)
    assert parse(req(b"Content-Length: 10\r\n", b"0123456789"), limits)[-1] is END
    assert status_of(req(b"Content-Length: 11\r\n"), limits) == 413
    assert parse(req(TE, b"a\r\n0123456789\r\n0\r\n\r\n"), limits)[-1] is END
    assert status_of(req(TE, b"6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n"), limits) == 413


def test_header_values_keep_obs_text_and_strip_ows() -> None:
    head = parse(b"GET / HTTP/1.1\r\n" + H + b"X-A: \t caf\xe9 \t\r\n\r\n")[0]
    assert isinstance(head, RequestHead) and head.headers[-1] == ("X-A", "caf\xe9")


def test_leading_empty_lines_are_tolerated() -> None:
    assert isinstance(parse(b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\n")[0], RequestHead)


def test_field_size_checked_for_pipelined_requests() -> None:
    limits = Limits(field_size=100)
    data = (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nok"
            b"GET / HTTP/1.1\r\n" + H + b"X-A: " + b"v" * 200 + b"\r\n\r\n")
    assert status_of(data, limits) == 431
    p = RequestParser(limits)
    p.feed(data[:60])
    with pytest.raises(ParseError) as info:
        p.feed(data[60:])
    assert info.value.status == 431


@pytest.mark.parametrize("method", [b"PURGE", b"FOO", b"get", b"X-CUSTOM.1", b"PROPFIND"])
def test_extension_methods_are_passed_on(method: bytes) -> None:
    data = method + b" /r HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nokGET /n HTTP/1.1\r\n" + H + b"\r\n"
    for events in (parse(data), bytewise(data)):
        head = events[0]
        assert isinstance(head, RequestHead) and head.method == method.decode()
        assert b"".join(e for e in events if isinstance(e, bytes)) == b"ok"
        assert isinstance(events[-2], RequestHead) and events[-2].method == "GET"
