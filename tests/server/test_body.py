"""wsgi.input implementations, without sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from corral.server.http.body import BodyWriter, BufferedBody, ClientDisconnected, StreamBody
from corral.server.http.parser import END, Limits, RequestParser

DATA = b"line one\nline two\n\nlast line without newline"


def stream(pieces: list[bytes], *, cont: list[int] | None = None) -> StreamBody:
    it: Iterator[bytes] = iter(pieces)

    def fill() -> list[object]:
        try:
            return [next(it)]
        except StopIteration:
            return [END]

    def send() -> None:
        assert cont is not None
        cont.append(1)

    return StreamBody(fill, (), send if cont is not None else None)  # type: ignore[arg-type]


@pytest.fixture(params=["buffered", "spooled", "stream"])
def body(request: pytest.FixtureRequest) -> Iterator[object]:
    if request.param == "buffered":
        yield BufferedBody(DATA)
    elif request.param == "spooled":
        w = BodyWriter(spool_size=10)
        for i in range(0, len(DATA), 7):
            w.write(DATA[i : i + 7])
        assert w.size == len(DATA)
        spooled = w.body()
        yield spooled
        spooled.release()
    else:
        yield stream([DATA[i : i + 3] for i in range(0, len(DATA), 3)])


def test_read_all(body: BufferedBody) -> None:
    assert body.read() == DATA
    assert body.read() == b""
    assert body.read(10) == b""


def test_read_sized(body: BufferedBody) -> None:
    assert body.read(4) == b"line"
    assert body.read(0) == b""
    assert body.read(6) == b" one\nl"
    assert body.read(None) == DATA[10:]


def test_readline(body: BufferedBody) -> None:
    assert body.readline() == b"line one\n"
    assert body.readline(4) == b"line"
    assert body.readline() == b" two\n"
    assert body.readline() == b"\n"
    assert body.readline() == b"last line without newline"
    assert body.readline() == b""


def test_iteration_and_readlines(body: BufferedBody) -> None:
    assert list(body) == DATA.splitlines(keepends=True)
    assert body.readlines() == []


def test_readlines_hint() -> None:
    assert BufferedBody(DATA).readlines(5) == [b"line one\n"]


def test_stream_sends_continue_once_on_first_read() -> None:
    sent: list[int] = []
    b = stream([b"abc", b"def"], cont=sent)
    assert sent == []
    assert b.read(1) == b"a"
    assert b.read() == b"bcdef"
    assert sent == [1] and b.complete


def test_stream_with_parser_keeps_pipelined_leftover() -> None:
    p = RequestParser(Limits())
    events = p.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab")
    chunks = [b"cd", b"efGET /n HTTP/1.1\r\nHost: x\r\n\r\n"]
    b = StreamBody(lambda: p.feed(chunks.pop(0)), events[1:])
    assert b.read() == b"abcdef"
    assert b.complete and b.leftover[-1] is END


def test_stream_disconnect_raises() -> None:
    def fill() -> list[object]:
        raise ClientDisconnected("gone")

    b = StreamBody(fill)  # type: ignore[arg-type]
    with pytest.raises(ClientDisconnected):
        b.read()


def test_drain() -> None:
    b = stream([b"x" * 1000] * 5)
    assert b.read(10) == b"x" * 10
    assert b.drain() and b.complete
    big = stream([b"x" * 100000] * 5)
    assert not big.drain(limit=1000)
    asked = stream([b"abc"], cont=[])
    assert not asked.drain()  # 100-continue never sent: the body may never come
