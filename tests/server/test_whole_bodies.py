"""A body of bytes the length of which is known before the head goes out (a list
or tuple of bytes, which has no ``close()``) goes out in one piece; a body that
must be closed is iterated, then closed.  However an application hands over the
same answer, the client gets the same bytes: the wire bytes, ``keep_alive``,
``status`` and ``sent`` of a list or tuple body are those of the same items in a
list with ``close()``, whatever the status, headers, Content-Length (right,
short, long or none), request method and version.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.server.config import Settings
from corral.server.http import response
from corral.server.http.body import BufferedBody
from corral.server.http.cycle import ConnInfo, Exchange, RequestCycle
from corral.server.http.parser import RequestHead, RequestParser
from corral.server.logging import Logger
from tests.server.parsing import property_settings

pytestmark = pytest.mark.timeout(120)

PROPERTY = property_settings()


class Closing(list):  # type: ignore[type-arg]
    """An application's list body with a ``close()`` (a sequence, so its length
    is known too): iterated, then closed."""

    closed = False

    def close(self) -> None:
        self.closed = True


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


def exchange(closing: bool, answer: Any, raw: bytes, allowed: bool) -> tuple[Any, ...]:
    status, headers, body = answer

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(status, list(headers))
        return Closing(body) if closing else body

    events = RequestParser().feed(raw)
    head = events[0]
    assert isinstance(head, RequestHead)
    data = b"".join(e for e in events if isinstance(e, bytes))
    conn = ConnInfo(("127.0.0.1", 5000), ("127.0.0.1", 8000), keepalive_allowed=allowed)
    ex = Exchange(RequestCycle(app, Settings(), LOG), head, BufferedBody(data), conn)
    try:
        out = b"".join(ex)  # type: ignore[arg-type]
    finally:
        ex.close()
    return (DATE.sub(b"", out), ex.keep_alive, ex.status, ex.sent, ex.headers_sent,
            ex.status_line, ex.headers)


def forget_checked() -> None:
    """Empty the worker's tables of start_response items already checked."""
    response._FIELDS.clear()
    response._STATUSES.clear()


@PROPERTY
@given(answers(), st.sampled_from(REQUESTS), st.booleans())
def test_a_list_body_goes_out_as_the_same_items_with_close(answer: Any, raw: bytes,
                                                           allowed: bool) -> None:
    forget_checked()
    ref = exchange(True, answer, raw, allowed)  # validates, then remembers
    assert exchange(False, answer, raw, allowed) == ref  # from what was remembered
    forget_checked()
    assert exchange(False, answer, raw, allowed) == ref


def test_a_list_body_is_one_write() -> None:
    answer = ("200 OK", [("Content-Type", "text/plain")], [b"Hello, ", b"world!"])
    head = RequestParser().feed(REQUESTS[0])[0]
    assert isinstance(head, RequestHead)
    ex = Exchange(RequestCycle(lambda e, sr: (sr(answer[0], answer[1]), answer[2])[1],
                               Settings(), LOG),
                  head, BufferedBody(b""), ConnInfo(("127.0.0.1", 5000), ("127.0.0.1", 8000)))
    try:
        out = list(ex)
    finally:
        ex.close()
    assert len(out) == 1
    assert out[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Length: 13\r\n" in out[0]
    assert out[0].endswith(b"\r\n\r\nHello, world!")
