"""The whole-request buffer of the non-blocking workers: complete requests come
out in arrival order, whatever the reads were, whether the parser handed them
over at once (a whole request without a body) or as events."""

from __future__ import annotations

import pytest

from corral.server.http.parser import END, Limits, RequestParser
from corral.server.workers._buffered import NO_BODY, RequestBuffer

H = b"Host: example.com\r\n"
PIPELINE = [
    b"POST /1 HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello",
    b"GET /2 HTTP/1.1\r\n" + H + b"\r\n",
    b"GET /3 HTTP/1.1\r\n" + H + b"\r\n",
    b"POST /4 HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET /5 HTTP/1.1\r\n" + H + b"\r\n",
]
WANTED = [("/1", b"hello"), ("/2", b""), ("/3", b""), ("/4", b"abc"), ("/5", b"")]


def answered(reads: list[bytes]) -> list[tuple[str, bytes]]:
    buf = RequestBuffer(Limits(), 1 << 20)
    out = []
    for data in reads:
        buf.feed(data)
        assert buf.error is None
        while buf.ready:
            head, body = buf.ready.popleft()
            out.append((head.path, body.read()))
            body.release()
    assert buf.idle
    return out


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [1, 0, 2, 4, 3], [3, 1, 4, 0, 2]])
def test_requests_come_out_in_order_however_the_reads_fall(order: list[int]) -> None:
    data = b"".join(PIPELINE[i] for i in order)
    wanted = [WANTED[i] for i in order]
    assert answered([data]) == wanted
    for cut in range(1, len(data)):
        assert answered([data[:cut], data[cut:]]) == wanted, cut


def test_a_whole_request_without_body_is_handed_over_only_when_nothing_precedes_it() -> None:
    kept: list[object] = []
    parser = RequestParser(Limits(), kept.append, NO_BODY)
    get = PIPELINE[1]
    assert parser.feed(get) == []
    assert len(kept) == 1 and kept[0][1] is NO_BODY  # type: ignore[index]
    events = parser.feed(PIPELINE[0] + get)  # after a request with a body: as events
    assert len(kept) == 1
    assert [e.__class__.__name__ for e in events] == ["RequestHead", "bytes", "_End",
                                                      "RequestHead", "_End"]
    assert events[-1] is END
