"""WSGI app answering in every way an application may (the cases of
tests/server/test_one_path.py): ``/<name>`` runs the answer of that name.

Importing it also adds a key to every environ the server builds
(``corral.probe``), the way a new field would be added to the one environ
builder: ``/probe`` answers with its value, so a test can see that a plain GET
on any worker class gets every field the builder makes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

from corral.server.http import environ as wsgi_environ
from corral.server.http.environ import EnvironBuilder
from corral.server.http.errors import RequestTimeout

Start = Callable[..., Any]
Answer = Callable[[dict[str, Any], Start, list[Any]], Any]
TEXT = [("Content-Type", "text/plain")]

_build = wsgi_environ.build_environ  # the one environ builder (compiled or not)


def _build_with_probe(builder: EnvironBuilder, head: Any, body: Any, conn: Any
                      ) -> dict[str, Any]:
    env = _build(builder, head, body, conn)
    env["corral.probe"] = "added"
    return env


wsgi_environ.build_environ = _build_with_probe


def probe(env: dict[str, Any], start: Start, log: list[Any]) -> Any:
    value = str(env.get("corral.probe", "missing")).encode()
    start("200 OK", [("Content-Length", str(len(value)))])
    return [value]


def hello(environ: dict[str, Any], start_response: Start, log: list[Any]) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


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
BY_NAME = {a.__name__: a for a in [probe, *ANSWERS]}


def app(environ: dict[str, Any], start_response: Start) -> Any:
    answer = BY_NAME.get(environ["PATH_INFO"].lstrip("/"), hello)
    return answer(environ, start_response, [])
