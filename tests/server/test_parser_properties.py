"""Property-based tests for the sans-IO request parser.

* Arbitrary bytes (and mutations of valid requests), fed in arbitrary pieces, never
  make the parser raise anything but its own :class:`ParseError`.
* Requests generated from the RFC 9112 grammar (token methods, origin-form targets
  with percent-escapes, header fields, Content-Length or chunked bodies with
  extensions and trailers, pipelined) parse to the same environ whatever the
  points the byte stream is cut at.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.server.config import Settings
from corral.server.http import environ as wsgi_environ
from corral.server.http.cycle import ConnInfo
from corral.server.http.environ import EnvironBuilder
from corral.server.http.errors import ParseError
from corral.server.http.parser import END, Limits, RequestHead, RequestParser
from tests.server.parsing import property_settings

pytestmark = pytest.mark.timeout(120)

PROPERTY = property_settings()

TCHAR = "!#$%&'*+-.^`|~" + string.ascii_letters + string.digits  # token chars (no "_")
UNRESERVED = string.ascii_letters + string.digits + "-._~"
SUB_DELIMS = "!$&'()*+,;="
PCHAR = UNRESERVED + SUB_DELIMS + ":@"
VCHAR = "".join(chr(c) for c in range(0x21, 0x7F)) + "".join(chr(c) for c in range(0x80, 0x100))
# Fields with framing or connection semantics are generated on purpose, not at random.
RESERVED_NAMES = {
    "host", "content-length", "transfer-encoding", "content-type", "connection",
    "expect", "upgrade", "te", "trailer", "authorization", "content-encoding",
    "keep-alive", "proxy-connection",
}
FORBIDDEN_TRAILERS = RESERVED_NAMES

token = st.text(TCHAR, min_size=1, max_size=12)
header_name = token.map(lambda t: "X-" + t).filter(lambda n: n.lower() not in RESERVED_NAMES)
field_value = st.builds(
    lambda parts: " ".join(parts),
    st.lists(st.text(VCHAR, min_size=1, max_size=10), min_size=0, max_size=4),
)
pct = st.builds(lambda b: f"%{b:02X}", st.integers(0, 255))
segment = st.lists(st.one_of(st.text(PCHAR, min_size=1, max_size=6), pct), max_size=4).map(
    "".join
)
path = st.lists(segment, min_size=1, max_size=4).map(lambda s: "/" + "/".join(s))
query = st.lists(st.one_of(st.text(PCHAR + "/?", min_size=1, max_size=6), pct), max_size=4).map(
    "".join
)
method = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND"])
# RFC 9110 section 9.1: any token is a method; a server passes unknown ones to the app.
extension_method = token.filter(lambda m: m != "CONNECT")


@dataclass
class Request:
    method: str
    path: str
    query: str | None
    version: tuple[int, int]
    headers: list[tuple[str, str]]
    body: bytes
    framing: str  # "none", "length" or "chunked"
    chunks: list[tuple[int, str]]  # (size, extension text) for chunked bodies
    trailers: list[tuple[str, str]]

    def wire(self) -> bytes:
        target = self.path + ("" if self.query is None else "?" + self.query)
        lines = [f"{self.method} {target} HTTP/{self.version[0]}.{self.version[1]}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        if self.framing == "length":
            lines.append(f"Content-Length: {len(self.body)}")
        elif self.framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.framing != "chunked":
            return head + self.body
        out, i = [head], 0
        for size, ext in self.chunks:
            out.append(b"%x%s\r\n%s\r\n" % (size, ext.encode(), self.body[i : i + size]))
            i += size
        out.append(b"0\r\n")
        out += [f"{k}: {v}\r\n".encode("latin-1") for k, v in self.trailers]
        out.append(b"\r\n")
        return b"".join(out)

    def expected_environ(self) -> dict[str, str]:
        env = {
            "REQUEST_METHOD": self.method,
            "PATH_INFO": unquote_to_bytes(self.path).decode("latin-1"),
            "QUERY_STRING": self.query or "",
            "SERVER_PROTOCOL": f"HTTP/{self.version[0]}.{self.version[1]}",
            "RAW_URI": self.path + ("" if self.query is None else "?" + self.query),
        }
        for name, value in self.headers:
            key = "HTTP_" + name.upper().replace("-", "_")
            env[key] = f"{env[key]},{value}" if key in env else value
        if self.framing == "length":
            env["CONTENT_LENGTH"] = str(len(self.body))
        return env


@st.composite
def requests(draw: Any, methods: st.SearchStrategy[str] = method) -> Request:
    ver = draw(st.sampled_from([(1, 1), (1, 0)]))
    headers = draw(st.lists(st.tuples(header_name, field_value), max_size=6))
    if ver == (1, 1) or draw(st.booleans()):
        headers.insert(draw(st.integers(0, len(headers))), ("Host", "example.com"))
    if ver == (1, 0):
        headers.append(("Connection", "keep-alive"))  # so pipelining goes on
    framing = draw(st.sampled_from(["none", "length", "chunked"] if ver == (1, 1) else ["none", "length"]))
    body = b"" if framing == "none" else draw(st.binary(max_size=300))
    chunks: list[tuple[int, str]] = []
    trailers: list[tuple[str, str]] = []
    if framing == "chunked":
        left = len(body)
        while left:
            size = draw(st.integers(1, left))
            ext = draw(st.sampled_from(["", ";a", ";a=b", ';q="x y"', ";n=1;m"]))
            chunks.append((size, ext))
            left -= size
        trailers = draw(st.lists(st.tuples(header_name, field_value), max_size=2))
    return Request(
        draw(methods), draw(path), draw(st.none() | query), ver, headers, body, framing, chunks,
        trailers,
    )


def cut(data: bytes, points: list[int]) -> list[bytes]:
    marks = sorted({p % (len(data) + 1) for p in points})
    pieces, start = [], 0
    for m in [*marks, len(data)]:
        pieces.append(data[start:m])
        start = m
    return [p for p in pieces if p]


def parse(pieces: list[bytes]) -> list[tuple[RequestHead, bytes]]:
    parser = RequestParser(Limits())
    out: list[tuple[RequestHead, bytes]] = []
    state: list[Any] = []
    for piece in [*pieces, None]:
        events = parser.feed(piece) if piece is not None else parser.feed_eof()
        for event in events:
            if isinstance(event, RequestHead):
                assert not state, "a head inside a message"
                state = [event, b""]
            elif event is END:
                assert state, "END outside a message"
                out.append((state[0], state[1]))
                state = []
            else:
                assert isinstance(event, bytes) and state, f"stray event {event!r}"
                state[1] += event
    assert not state, "message left open after EOF"
    return out


BUILDER = EnvironBuilder(Settings())
CONN = ConnInfo(peer=("127.0.0.1", 40000), sockname=("127.0.0.1", 8000))


@PROPERTY
@given(st.lists(requests(), min_size=1, max_size=3), st.lists(st.integers(0, 10_000), max_size=12))
def test_valid_requests_round_trip(reqs: list[Request], points: list[int]) -> None:
    stream = b"".join(r.wire() for r in reqs)
    messages = parse(cut(stream, points))
    assert len(messages) == len(reqs)
    for req, (head, body) in zip(reqs, messages, strict=True):
        assert body == req.body
        assert head.headers[: len(req.headers)] == req.headers
        env = wsgi_environ.build_environ(BUILDER, head, None, CONN)
        want = req.expected_environ()
        assert {k: env.get(k) for k in want} == want


@PROPERTY
@given(requests(methods=extension_method))
def test_extension_methods_reach_the_app(req: Request) -> None:
    [(head, body)] = parse([req.wire()])
    assert head.method == req.method
    assert body == req.body


@PROPERTY
@given(st.binary(max_size=2048), st.lists(st.integers(0, 4096), max_size=16))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes, points: list[int]) -> None:
    _feed_expecting_only_parse_error(cut(data, points))


@st.composite
def mutated(draw: Any) -> bytes:
    """A valid request with a few bytes replaced, inserted or removed."""
    data = bytearray(draw(requests()).wire())
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from(b"\x00\r\n \t:;,-0fFz\x7f\xff"))
        if op == "insert":
            data.insert(i, byte)
        elif i < len(data):
            if op == "replace":
                data[i] = byte
            else:
                del data[i]
    return bytes(data)


@PROPERTY
@given(mutated(), st.lists(st.integers(0, 4096), max_size=8))
def test_mutated_requests_raise_only_parse_error(data: bytes, points: list[int]) -> None:
    _feed_expecting_only_parse_error(cut(data, points))


def _feed_expecting_only_parse_error(pieces: list[bytes]) -> None:
    parser = RequestParser(Limits(request_line=512, fields=20, field_size=256, body=1024))
    try:
        for piece in pieces:
            parser.feed(piece)
        parser.feed_eof()
    except ParseError as exc:
        assert exc.status in (400, 413, 414, 431, 501, 505)
        with pytest.raises(ParseError):  # the parser stays failed
            parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
