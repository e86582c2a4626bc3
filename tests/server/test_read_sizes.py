"""Parsing does not depend on how the input was cut into reads, and input is bounded.

* Sans-IO: any stream of requests followed by anything at all gives the same
  requests and the same error whether it is fed whole, byte by byte or cut at
  arbitrary points (hypothesis picks the requests, the tail and the cuts).
* Over real sockets, for every worker class: the requests before bad bytes are
  answered, in order, then a 400 and a close, whatever the writes; a request with
  an extension method right after another in one read is served; chunk-size
  lines and extensions are bounded; buffered bodies are bounded by
  ``--body-spool-limit`` (on by default).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.server.config import Settings
from corral.server.http.errors import ParseError
from corral.server.http.parser import END, Limits, RequestHead, RequestParser
from tests.server.parsing import parse_outcome, property_settings
from tests.server.test_parser_properties import cut, extension_method, mutated, requests
from tests.support import WORKER_CLASSES, ServerProcess, parse_response, recv_all

pytestmark = pytest.mark.timeout(180)

PROPERTY = property_settings(250)
LIMITS = [Limits(), Limits(request_line=200, fields=8, field_size=120, body=200),
          Limits(request_line=30, fields=3, field_size=40, body=20),
          Limits(request_line=300, fields=10, field_size=150, fold=True, strip_spaces=True,
                 any_method=True, casefold=True)]
BAD_TAILS = [
    b"\x00", b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"x\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"\r\n\r\n\x7f", b"GET /\x01 HTTP/1.1\r\n",
    b"PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", b"get /x HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /" + b"a" * 90 + b"\x01" + b"a" * 50 + b" HTTP/1.1\r\n\r\n",
    b"GET /" + b"a" * 150 + b" HTTP/1.1\r\nBad Header\r\n\r\n",
]


def outcome(pieces: list[bytes], limits: Limits) -> tuple[list[Any], tuple[int, str] | None]:
    """(events with the bytes of one message merged, error) after the pieces and EOF."""
    events, error, _ = parse_outcome(pieces, limits)
    return events, error


@PROPERTY
@given(st.lists(st.one_of(requests(), requests(methods=extension_method)), min_size=1,
                max_size=3),
       st.one_of(st.sampled_from(BAD_TAILS), mutated(), st.binary(max_size=64)),
       st.lists(st.integers(0, 10_000), max_size=10), st.sampled_from(LIMITS))
def test_the_same_whatever_the_reads(reqs: Any, tail: bytes, points: list[int],
                                     limits: Limits) -> None:
    stream = b"".join(r.wire() for r in reqs) + tail
    whole = outcome([stream], limits)
    assert outcome(cut(stream, points), limits) == whole
    assert outcome([stream[i : i + 1] for i in range(len(stream))], limits) == whole


@pytest.mark.parametrize("data, status", [
    (b"GET /" + b"a" * 90 + b"\x01" + b"a" * 50 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET /" + b"a" * 150 + b" HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    (b"GET /" + b"a" * 150 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (b"GET /" + b"a" * 500, 414),  # refused before the line ends
])
def test_long_targets_give_one_answer(data: bytes, status: int) -> None:
    limits = Limits(request_line=100)
    for pieces in ([data], [data[i : i + 1] for i in range(len(data))], cut(data, [7, 95, 130])):
        events, error = outcome(pieces, limits)
        assert not events and error is not None and error[0] == status


def test_requests_before_bad_bytes_come_first() -> None:
    one = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
    two = b"POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nhi\r\n0\r\n\r\n"
    parser = RequestParser(Limits())
    events = parser.feed(one + two + b"\x00junk")
    assert [e.path for e in events if isinstance(e, RequestHead)] == ["/1", "/2"]
    assert events[-1] is END and b"hi" in events
    assert parser.error is not None and parser.error.status == 400
    with pytest.raises(ParseError):
        parser.feed(b"GET / HTTP/1.1\r\n")


def test_extension_method_after_another_request_in_one_read() -> None:
    data = (b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
            b"PURGE /b HTTP/1.1\r\nHost: a\r\n\r\n")
    events = RequestParser(Limits()).feed(data)
    assert [e.method for e in events if isinstance(e, RequestHead)] == ["POST", "PURGE"]


@pytest.mark.parametrize("line, status", [
    (b"1;" + b"e" * 9000, 400),  # longer than the field-size limit
    (b"1;e=\"unterminated", 400),
    (b"1 ;e", 200), (b"1;e=\"quoted \\\" string\"", 200),
    (b"1;" + b"e" * 2000, 413),  # extension bytes count against --limit-request-body
])
def test_chunk_size_lines_are_bounded_and_checked(line: bytes, status: int) -> None:
    data = (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + line + b"\r\nx\r\n0\r\n\r\n")
    limits = Limits(body=1000)
    for pieces in ([data], [data[i : i + 1] for i in range(len(data))]):
        events, error = outcome(pieces, limits)
        if status == 200:
            assert error is None and events[-1] == "END"
        else:
            assert error is not None and error[0] == status


def test_fifty_megabytes_of_extension_never_buffered() -> None:
    parser = RequestParser(Limits(body=1000))
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;e=")
    with pytest.raises(ParseError) as info:
        for _ in range(50 * 16):  # 50 MB in 64 KiB reads: refused at the first few
            parser.feed(b"x" * 65536)
    assert info.value.status == 400
    assert len(parser._line) < 70_000  # type: ignore[attr-defined]


def test_trailer_section_is_bounded() -> None:
    parser = RequestParser(Limits(request_line=100, fields=4, field_size=100))
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
    with pytest.raises(ParseError) as info:
        for _ in range(100):
            parser.feed(b"X-T: " + b"v" * 1000)
    assert info.value.status == 431


# -- over real sockets, every worker class ------------------------------------------

BUFFERING = {"gthread", "asyncio", "asyncio-t4", "gevent"}
SPOOL_LIMIT = 50_000


@pytest.fixture(scope="module", params=[w for w, _ in WORKER_CLASSES])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess]]:
    args = ["output_app:app", "-b", "127.0.0.1:0", "-w", "1",
            *dict(WORKER_CLASSES)[request.param], "--limit-request-body", "100000",
            "--body-spool-limit", str(SPOOL_LIMIT)]
    with ServerProcess(args) as proc:
        yield request.param, proc


def exchange(proc: ServerProcess, pieces: list[bytes]) -> list[tuple[int, bytes]]:
    """Send the pieces (pausing between them), read to the close, split the answers."""
    with proc.connect(timeout=20) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(0.05)
            try:
                s.sendall(piece)
            except OSError:
                break
        data = recv_all(s)
    out = []
    while data:
        status, _, body, data = parse_response(data)
        out.append((status, body))
    return out


def _get(body: str) -> bytes:
    return f"GET /status?body={body} HTTP/1.1\r\nHost: t\r\n\r\n".encode()


@pytest.mark.parametrize("split", ["one", "two", "bytes"])
def test_requests_before_bad_bytes_are_answered_in_order(
        server: tuple[str, ServerProcess], split: str) -> None:
    worker, proc = server
    good = _get("one") + _get("two")
    bad = b"\x00garbage\r\n\r\n"
    pieces = {"one": [good + bad], "two": [good, bad],
              "bytes": [(good + bad)[i : i + 1] for i in range(len(good + bad))]}[split]
    got = exchange(proc, pieces)
    if worker == "sync":  # one request per connection
        assert got == [(200, b"one")]
    else:
        assert [s for s, _ in got] == [200, 200, 400] and got[0][1] == b"one"
        assert got[1][1] == b"two"


def test_bad_bytes_while_a_request_runs(server: tuple[str, ServerProcess]) -> None:
    """The response under way is finished before the 400, not cut off."""
    worker, proc = server
    slow = b"GET /sleep?s=0.5 HTTP/1.1\r\nHost: t\r\n\r\n"
    got = exchange(proc, [slow, b"\x00garbage\r\n\r\n"])
    assert got[0] == (200, b"slept")
    assert [s for s, _ in got[1:]] == ([] if worker == "sync" else [400])


def test_extension_method_served_in_one_read(server: tuple[str, ServerProcess]) -> None:
    worker, proc = server
    purge = b"PURGE /status?body=purged HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    first = purge if worker == "sync" else _get("first")
    got = exchange(proc, [first + purge])
    assert got[-1] == (200, b"purged")


@pytest.mark.parametrize("ext, status", [(b"e" * 9000, 400), (b"e" * 2000, 200)])
def test_chunk_extensions_bounded(server: tuple[str, ServerProcess], ext: bytes,
                                  status: int) -> None:
    _, proc = server
    raw = (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: close\r\n\r\n3;" + ext + b"\r\nabc\r\n0\r\n\r\n")
    got = exchange(proc, [raw])
    assert got[0][0] == status
    if status == 200:
        assert got[0][1] == b"abc"


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_buffered_bodies_are_bounded(server: tuple[str, ServerProcess], framing: str) -> None:
    worker, proc = server
    body = b"z" * (SPOOL_LIMIT + 10_000)
    if framing == "length":
        raw = (b"POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: %d"
               b"\r\n\r\n" % len(body)) + body
    else:
        raw = (b"POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: "
               b"chunked\r\n\r\n%x\r\n%b\r\n0\r\n\r\n" % (len(body), body))
    got = exchange(proc, [raw])
    if worker in BUFFERING:
        assert got[0][0] == 413
    else:  # the sync worker streams the body to the app: --limit-request-body bounds it
        assert got[0] == (200, body)


def test_disk_is_bounded_by_default() -> None:
    assert Settings().body_spool_limit == 100 * 1024 * 1024
    assert Limits.from_settings(Settings()).spool == 100 * 1024 * 1024
    for worker in sorted(BUFFERING):
        args = ["output_app:app", "-b", "127.0.0.1:0", "-w", "1", *dict(WORKER_CLASSES)[worker]]
        with ServerProcess(args) as proc:
            raw = (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
                   % (1024 ** 3))  # 1 GiB announced: refused before a byte is read
            got = exchange(proc, [raw])
            assert got[0][0] == 413, worker


def test_expect_continue_bodies_are_bounded(server: tuple[str, ServerProcess]) -> None:
    worker, proc = server
    if worker not in BUFFERING:
        pytest.skip("the sync worker streams bodies")
    announced = (b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                 b"Content-Length: %d\r\n\r\n" % (SPOOL_LIMIT + 1))
    with proc.connect(timeout=20) as s:  # refused before the client sends the body
        s.sendall(announced)
        status, _, _, _ = parse_response(recv_all(s))
        assert status == 413
    body = b"z" * (SPOOL_LIMIT + 10_000)
    chunked = (b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
    with proc.connect(timeout=20) as s:
        s.sendall(chunked)
        got = s.recv(65536)
        if got.startswith(b"HTTP/1.1 100"):
            got = got.split(b"\r\n\r\n", 1)[1]
            try:
                s.sendall(b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body))
            except OSError:
                pass
            got += recv_all(s)
        assert parse_response(got)[0] == 413
