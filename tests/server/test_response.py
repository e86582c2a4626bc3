"""The request cycle's response side, without sockets: framing, errors, closing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.server.http.cycle import ConnInfo
from corral.server.http.errors import RequestTimeout
from corral.server.http.response import FileWrapper, date_header, error_response
from tests.server.harness import Harness, get
from tests.support import parse_response

App = Any


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def simple(body: Any, status: str = "200 OK", headers: list[tuple[str, str]] | None = None) -> App:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(status, headers or [("Content-Type", "text/plain")])
        return body

    return app


def gen_app(*chunks: bytes, record: list[str] | None = None) -> App:
    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield from chunks

        def close(self) -> None:
            if record is not None:
                record.append("closed")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    return app


def test_list_gets_content_length_date_server(h: Harness) -> None:
    out, ex = h.run(simple([b"hello ", b"world"]), get())
    status, headers, body, rest = parse_response(out)
    assert (status, body, rest) == (200, b"hello world", b"")
    assert headers["content-length"] == "11" and headers["server"] == "corral"
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", headers["date"])
    assert "connection" not in headers and ex.keep_alive and ex.status == 200
    assert ex.sent == 11


def test_stream_is_chunked_on_http11(h: Harness) -> None:
    out, ex = h.run(gen_app(b"a", b"", b"bc", b"d"), get())
    assert b"Transfer-Encoding: chunked\r\n" in out
    assert out.endswith(b"\r\n\r\n1\r\na\r\n2\r\nbc\r\n1\r\nd\r\n0\r\n\r\n")
    assert parse_response(out)[2] == b"abcd" and ex.keep_alive


def test_empty_stream_gets_content_length_zero(h: Harness) -> None:
    out, _ = h.run(gen_app(b"", b""), get())
    assert parse_response(out)[1]["content-length"] == "0"


def test_stream_is_close_delimited_on_http10(h: Harness) -> None:
    out, ex = h.run(gen_app(b"a", b"b"), get(version=b"HTTP/1.0"))
    assert out.startswith(b"HTTP/1.0 200 OK\r\n") and out.endswith(b"\r\n\r\nab")
    assert b"Content-Length" not in out and b"chunked" not in out and not ex.keep_alive


def test_http10_keep_alive(h: Harness) -> None:
    out, ex = h.run(simple([b"x"]), get(extra=b"Connection: keep-alive\r\n", version=b"HTTP/1.0"))
    assert parse_response(out)[1]["connection"] == "keep-alive" and ex.keep_alive


def test_worker_without_keepalive_says_close(h: Harness) -> None:
    out, ex = h.run(simple([b"x"]), get(), ConnInfo(("1.2.3.4", 1), ("0.0.0.0", 80),
                                                    keepalive_allowed=False))
    assert parse_response(out)[1]["connection"] == "close" and not ex.keep_alive


def test_app_connection_close_is_honoured(h: Harness) -> None:
    out, ex = h.run(simple([b"x"], headers=[("Connection", "close")]), get())
    assert parse_response(out)[1]["connection"] == "close" and not ex.keep_alive


@pytest.mark.parametrize("method, status", [(b"HEAD", "200 OK"), (b"GET", "204 No Content"),
                                            (b"GET", "304 Not Modified")])
def test_no_body(h: Harness, method: bytes, status: str) -> None:
    hdrs = [("Content-Length", "5")] if method == b"HEAD" else []
    out, ex = h.run(simple([b"hello"], status, hdrs), get(method=method))
    assert out.endswith(b"\r\n\r\n") and b"hello" not in out and ex.keep_alive
    if method == b"HEAD":
        assert b"Content-Length: 5\r\n" in out


def test_declared_length_truncates_and_short_body_closes(h: Harness) -> None:
    out, ex = h.run(gen_app(b"abc", b"def"), get())
    out, ex = h.run(simple(iter([b"abcdef"]), headers=[("Content-Length", "4")]), get())
    assert out.endswith(b"\r\n\r\nabcd") and ex.keep_alive
    out, ex = h.run(simple(iter([b"ab", b"c"]), headers=[("Content-Length", "10")]), get())
    assert out.endswith(b"abc") and not ex.keep_alive


def test_write_callable(h: Harness) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        write = start_response("200 OK", [])
        write(b"via write ")
        return [b"and iterable"]

    out, _ = h.run(app, get())
    assert parse_response(out)[2] == b"via write and iterable"


def test_start_response_inside_iteration(h: Harness) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("201 Created", [])
        yield b"late"

    out, _ = h.run(app, get())
    assert out.startswith(b"HTTP/1.1 201 Created") and parse_response(out)[2] == b"late"


def boom(environ: dict[str, Any], start_response: Any) -> Any:
    raise RuntimeError("secret detail")


def no_start(environ: dict[str, Any], start_response: Any) -> Any:
    return [b"x"]


def twice(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [])
    start_response("200 OK", [])
    return [b"x"]


def non_iterable(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [])
    return 42


def raise_in_iter(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [])
    raise RuntimeError("secret detail")
    yield b""  # pragma: no cover


def raise_in_close(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [])

    class Body(list):  # type: ignore[type-arg]
        def close(self) -> None:
            raise RuntimeError("secret detail")

    return Body([b"x"])


class TextAfterEmpty:
    """A body whose second item is text (each iteration a new iterator)."""

    def __iter__(self) -> Iterator[Any]:
        return iter([b"", "text"])


def bad_header(value: str) -> App:
    return simple([b"x"], headers=[("X-Bad", value)])


@pytest.mark.parametrize("app", [
    boom, no_start, twice, non_iterable, raise_in_iter, raise_in_close,
    bad_header("a\r\nInjected: yes"), bad_header("a\nb"), bad_header("a\x00b"),
    bad_header("snow\u2603"),
    simple([b"x"], headers=[("Bad Name", "x")]),
    simple([b"x"], status="OK"), simple([b"x"], status="20 OK"),
    simple([b"x"], status="200 OK\r\nX: y"), simple(["text, not bytes"]),
    simple(TextAfterEmpty()),
], ids=["raises", "no-start-response", "twice", "non-iterable", "raise-in-iter",
        "raise-in-close", "crlf", "lf", "nul", "non-latin1", "name",
        "status-no-code", "status-short", "status-crlf", "str-body", "str-chunk"])
def test_app_errors_give_500_without_details(h: Harness, app: App) -> None:
    out, ex = h.run(app, get())
    status, headers, body, _ = parse_response(out)
    assert status == 500 and headers["connection"] == "close" and not ex.keep_alive
    assert b"secret" not in out and b"Traceback" not in out
    assert "Traceback" in h.errors()


def test_error_after_headers_closes_connection(h: Harness) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        yield b"first"
        yield b"second"
        raise RuntimeError("secret detail")

    out, ex = h.run(app, get())
    assert out.startswith(b"HTTP/1.1 200 OK") and not out.endswith(b"0\r\n\r\n")
    assert not ex.keep_alive and "secret detail" in h.errors()


def test_exc_info_before_and_after_headers(h: Harness) -> None:
    def replace(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("X-Old", "1")])
        try:
            raise ValueError("x")
        except ValueError as exc:
            start_response("502 Bad Gateway", [("X-New", "1")], (ValueError, exc, exc.__traceback__))
        return [b"replaced"]

    out, _ = h.run(replace, get())
    assert out.startswith(b"HTTP/1.1 502 Bad Gateway") and b"X-Old" not in out

    def late(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        yield b"sent"
        try:
            raise ValueError("late failure")
        except ValueError as exc:
            start_response("500 Oops", [], (ValueError, exc, exc.__traceback__))
        yield b"never"

    out, ex = h.run(late, get())
    assert out.startswith(b"HTTP/1.1 200 OK") and b"never" not in out and not ex.keep_alive
    assert "late failure" in h.errors()


def test_request_timeout_gives_503(h: Harness) -> None:
    def hang(environ: dict[str, Any], start_response: Any) -> Any:
        raise RequestTimeout("too slow")

    out, ex = h.run(hang, get())
    assert parse_response(out)[0] == 503 and not ex.keep_alive


def test_iterable_closed_when_client_goes_away(h: Harness) -> None:
    record: list[str] = []
    ex = h.cycle(gen_app(b"a", b"b", b"c", record=record)).exchange(
        *_parsed(get()), ConnInfo(("1.1.1.1", 1), ("0.0.0.0", 1)))
    it = iter(ex)
    next(it)  # headers + first chunk, then the "socket" breaks
    ex.close()
    ex.close()
    assert record == ["closed"]


def test_iterable_closed_after_full_response(h: Harness) -> None:
    record: list[str] = []
    h.run(gen_app(b"a", b"b", record=record), get())
    assert record == ["closed"]


def _parsed(raw: bytes) -> tuple[Any, Any]:
    from corral.server.http.body import BufferedBody
    from corral.server.http.parser import Limits, RequestParser

    return RequestParser(Limits()).feed(raw)[0], BufferedBody(b"")


def test_file_wrapper_becomes_file_chunk(h: Harness, tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"0123456789" * 1000)
    record: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        f = open(path, "rb")  # closed by the server through the wrapper
        f.seek(10)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 4096)

    cycle = h.cycle(app)
    ex = cycle.exchange(*_parsed(get()), ConnInfo(("1.1.1.1", 1), ("0.0.0.0", 1)))
    try:
        record.extend(ex)
    finally:
        ex.close()
    assert b"Content-Length: 9990\r\n" in record[0]
    chunk = record[1]
    assert (chunk.offset, chunk.count) == (10, 9990) and chunk.file.closed
    assert ex.keep_alive and ex.sent == 9990


def test_file_wrapper_without_fileno_is_iterated(h: Harness) -> None:
    import io

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        return FileWrapper(io.BytesIO(b"abc" * 10), 7)

    out, _ = h.run(app, get())
    assert parse_response(out)[2] == b"abc" * 10


def test_hooks_and_access_log(tmp_path: Path) -> None:
    seen: list[str] = []
    harness = Harness(
        tmp_path,
        pre_request=lambda worker, req: seen.append(f"pre {req.method} {req.path}"),
        post_request=lambda worker, req, env, resp: seen.append(
            f"post {resp.status_code} {resp.status}"),
    )
    try:
        harness.run(simple([b"x"]), get("/hooked?a=1", b"User-Agent: t/1\r\n"))
        assert seen == ["pre GET /hooked", "post 200 200 OK"]
        line = harness.acclog.read_text()
        assert '"GET /hooked?a=1 HTTP/1.1" 200 1' in line and '"t/1"' in line
    finally:
        harness.close()


def test_error_response() -> None:
    data = error_response(431, "too many header fields")
    assert data.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    status, headers, body, _ = parse_response(data)
    assert headers["connection"] == "close" and b"too many header fields" in body
    assert date_header() is date_header()


def test_non_bytes_after_headers_closes_connection(h: Harness) -> None:
    out, ex = h.run(simple(iter([b"first", bytearray(b" second"), "third"])), get())
    assert out.startswith(b"HTTP/1.1 200 OK") and b"first" in out and b" second" in out
    assert not out.endswith(b"0\r\n\r\n") and not ex.keep_alive


def test_head_gets_the_length_get_would_have(h: Harness) -> None:
    out, _ = h.run(simple([b"12345"]), get(method=b"HEAD"))
    assert b"Content-Length: 5\r\n" in out and out.endswith(b"\r\n\r\n")
    out, _ = h.run(simple([]), get(method=b"HEAD"))
    assert b"Content-Length" not in out


def test_app_date_and_server_headers_are_not_doubled(h: Harness) -> None:
    date = ("Date", "Mon, 01 Jan 2024 00:00:00 GMT")
    head, _ = h.run(simple([b"x"], headers=[date, ("Server", "app")]), get())
    assert head.count(b"Date:") == 1 and b"Date: Mon, 01 Jan 2024" in head
    assert head.count(b"Server:") == 1 and b"Server: app" in head
    head, _ = h.run(simple([b"x"], headers=[date]), get())
    assert head.count(b"Date:") == 1 and head.count(b"Server: corral") == 1


def declared(*chunks: bytes, length: int, record: list[str], write: bytes = b"",
             fail: str = "") -> App:
    """An application as a framework answers: Content-Length declared, the
    body an iterable with close() (``fail``: "iter" or "close" raises)."""
    class Body:
        def __iter__(self) -> Iterator[bytes]:
            if fail == "iter":
                raise RuntimeError("secret detail")
            yield from chunks

        def close(self) -> None:
            record.append("closed")
            if fail == "close":
                raise RuntimeError("secret detail")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        out = start_response("200 OK", [("Content-Length", str(length))])
        if write:
            out(write)
        return Body()

    return app


def test_declared_length_body_goes_out_in_one_piece_then_is_closed(h: Harness) -> None:
    record: list[str] = []
    out, ex = h.run(declared(b"wor", b"ld", length=11, record=record, write=b"hello "), get())
    pieces = list(h.cycle(declared(b"x", length=1, record=[])).exchange(
        *_parsed(get()), ConnInfo(("1.1.1.1", 1), ("0.0.0.0", 1))))
    assert len(pieces) == 1 and pieces[0].endswith(b"\r\n\r\nx")
    status, headers, body, rest = parse_response(out)
    assert (status, body, rest, headers["content-length"]) == (200, b"hello world", b"", "11")
    assert ex.keep_alive and ex.sent == 11 and record == ["closed"]


def test_declared_length_body_failing_half_way_is_a_clean_500(h: Harness) -> None:
    record: list[str] = []
    out, ex = h.run(declared(length=5, record=record, fail="iter"), get())
    status, headers, body, _ = parse_response(out)
    assert status == 500 and headers["connection"] == "close" and not ex.keep_alive
    assert b"secret" not in out and record == ["closed"] and "Traceback" in h.errors()


def test_declared_length_body_whose_close_fails_goes_out_then_the_connection_closes(
        h: Harness) -> None:
    record: list[str] = []
    out, ex = h.run(declared(b"abc", length=3, record=record, fail="close"), get())
    status, _, body, _ = parse_response(out)
    assert (status, body) == (200, b"abc") and not ex.keep_alive and record == ["closed"]
    assert "secret detail" in h.errors()
