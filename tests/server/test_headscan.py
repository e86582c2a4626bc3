"""The compiled head scanner answers what its Python definition answers
(:mod:`corral.server.http.headscan`): on the request corpus, on heads around
the edges of the grammar, on realistic heads with a byte changed, on random
bytes; it sorts fields as the Python loop does, and makes a response's
header lines as the Python loop does, and frames a response as the request
cycle's Python definition does.  The rest of the request head and response
tests run on both (tests/server/conftest.py)."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.server.config import Settings
from corral.server.http import cycle, environ, headscan, response, strict
from corral.server.http.environ import EnvironBuilder
from corral.server.http.errors import ParseError
from corral.server.http.head import UNDERSCORE_REFUSE, Limits, RequestHead
from corral.server.http.parser import RequestParser
from corral.server.logging import Logger
from tests.server.conftest import load_harness
from tests.server.parsing import property_settings
from tests.server.test_head_grammar import EDGE_FIELDS, EDGE_LINES, GOOD_FIELDS, GOOD_LINES, heads

pytestmark = pytest.mark.timeout(120)
compiled_only = pytest.mark.skipif(not headscan.COMPILED, reason="the extension is not built")

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "corpus").rglob("*.http"))
PROPERTY = property_settings(500)
compiled_scan = headscan.scan_head
compiled_sort = headscan.sort_fields
compiled_lines = headscan.field_lines
compiled_match = strict.match_head
fuzz = load_harness()


def both(data: bytes, start: int = 0, end: int | None = None) -> Any:
    end = len(data) if end is None else end
    expected = headscan.python_scan_head(data, start, end)
    assert compiled_scan(data, start, end) == expected
    assert compiled_scan(bytearray(data), start, end) == expected
    for limits in (Limits(), LIMITS[1]):
        read = fuzz.read_head(strict.python_match_head, data, start, end, limits)
        assert fuzz.read_head(compiled_match, data, start, end, limits) == read
    return expected


def test_the_extension_is_built_where_a_compiler_is() -> None:
    """CI machines have a C compiler: there the compiled scanner must be in use,
    or the comparisons here would compare the Python definition with itself."""
    if os.environ.get("CORRAL_PURE_PYTHON"):
        assert not headscan.COMPILED
    else:
        assert headscan.COMPILED, "src/corral/server/http/_headscan.c was not built"


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus(path: Path, harness: ModuleType) -> None:
    data = path.read_bytes()
    harness.compare_head_scanners(data)  # each head-shaped span, as the fuzzer checks
    both(data)


@pytest.mark.parametrize("line", GOOD_LINES + EDGE_LINES)
def test_each_line_and_field(line: str) -> None:
    for field in GOOD_FIELDS + EDGE_FIELDS:
        both((line + "\r\n" + field + "Host: h\r\n\r\n").encode("latin-1"))
        both((line + "\r\n" + field + "\r\n").encode("latin-1"))


@PROPERTY
@given(st.lists(heads(), min_size=1, max_size=3))
def test_edge_heads(harness: ModuleType, reqs: list[bytes]) -> None:
    harness.compare_head_scanners(b"".join(reqs))


REALISTIC = (b"GET /products/31337/reviews?page=3 HTTP/1.1\r\nHost: localhost\r\n"
             b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101\r\n"
             b"Accept: text/html,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.9\r\n"
             b"Cookie: session=abc; theme=dark\r\nX-Request-Id: req-00000001\r\n\r\n")
BYTES = [0, 9, 10, 13, 32, 33, 34, 40, 44, 47, 58, 59, 64, 92, 95, 126, 127, 128, 200, 255]


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, len(REALISTIC) - 1), st.sampled_from(BYTES)),
                min_size=1, max_size=3),
       st.booleans())
def test_realistic_heads_with_bytes_changed(changes: list[tuple[int, int]], cut: bool) -> None:
    data = bytearray(REALISTIC)
    for at, byte in changes:
        data[at] = byte
    end = data.find(b"\r\n\r\n") + 4 if cut else len(data)
    both(bytes(data), 0, end if end >= 4 else len(data))


@pytest.mark.parametrize("after", [b"", b"GET / HTTP/1.1\r\n\r\n", b"\r\n\r\n", b"body\x00\xff",
                                   b"\r\n" * 3])
def test_a_head_is_read_up_to_its_blank_line(after: bytes) -> None:
    """What follows a head (a pipelined request, a body, blank lines) is not
    read: the scan ends after the head's blank line, and says where."""
    data = b"xx" + REALISTIC + after
    scanned = both(data, 2)
    assert scanned is not None and scanned[4] == 2 + len(REALISTIC)
    assert both(data, 2, 2 + len(REALISTIC)) == scanned
    assert both(data, 2, 1 + len(REALISTIC)) is None  # its blank line not within


def test_every_byte_in_every_place() -> None:
    """Each of the 256 bytes in each place of a short head."""
    base = b"GET /a?b HTTP/1.1\r\nHost: h\r\nX-A: v w\r\n\r\n"
    for at in range(len(base)):
        for byte in range(256):
            data = base[:at] + bytes([byte]) + base[at + 1 :]
            both(data)
            both(base[:at] + bytes([byte]) + base[at:])


@PROPERTY
@given(st.binary(max_size=200), st.integers(0, 200), st.integers(0, 200))
def test_random_bytes(data: bytes, a: int, b: int) -> None:
    start, end = sorted((min(a, len(data)), min(b, len(data))))
    both(data, start, end)
    both(b"GET / HTTP/1.1\r\n" + data + b"\r\n\r\n")


def test_long_and_odd_heads() -> None:
    rnd = random.Random(7)
    for _ in range(200):
        fields = "".join(f"X-{rnd.randint(0, 99)}: {'v' * rnd.randint(0, 300)}\r\n"
                         for _ in range(rnd.randint(0, 120)))
        method = "M" * rnd.choice([1, 3, 63, 64, 65, 200])
        both(f"{method} /{'p' * rnd.randint(0, 9000)} HTTP/1.{rnd.randint(0, 2)}\r\n"
             f"{fields}\r\n".encode())


@compiled_only
def test_arguments_are_checked() -> None:
    data = b"GET / HTTP/1.1\r\n\r\n"
    for start, end in [(-1, 5), (0, 99), (6, 5)]:
        with pytest.raises(ValueError):
            compiled_scan(data, start, end)
    with pytest.raises(TypeError):
        compiled_scan("GET / HTTP/1.1\r\n\r\n", 0, 18)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        compiled_scan(data, 0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        compiled_sort([("a", "b", "c")], {}, strict._name)  # type: ignore[list-item]


# -- sorting fields -------------------------------------------------------------------

NAMES = ["Host", "host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection",
         "Expect", "Upgrade", "X_Under", "X-Under", "Accept", "X-A", "x-a", "Cookie", "A_B_C"]


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.text(max_size=5)), max_size=12))
def test_sort_fields(fields: list[tuple[str, str]]) -> None:
    names: dict[str, Any] = {}  # filled by both, from the same entries

    def name_of(name: str) -> Any:
        entry = strict._name(name)
        names[name] = entry
        return entry

    expected = headscan.python_sort_fields(fields, {}, strict._name)
    assert compiled_sort(fields, names, name_of) == expected
    assert compiled_sort(fields, names, name_of) == expected  # now all from ``names``


def test_sort_fields_joins_repeats_that_are_one_object() -> None:
    """A repeated field whose values are the same object (the empty str, a
    one-character str) is still joined."""
    empty, one = "", "\xe9"
    fields = [("X-A", empty), ("X-A", empty), ("X-B", one), ("X-B", one), ("Host", "h")]
    expected = headscan.python_sort_fields(fields, {}, strict._name)
    assert expected[0] == {"HTTP_X_A": ",", "HTTP_X_B": "\xe9,\xe9", "HTTP_HOST": "h"}
    assert compiled_sort(fields, {}, strict._name) == expected
    head = b"GET / HTTP/1.1\r\nHost: h\r\nX-A:\r\nX-A: \r\nX-B: \xe9\r\nX-B:\xe9\r\n\r\n"
    scanned = compiled_scan(head, 0, len(head))
    assert scanned is not None
    assert compiled_sort(scanned[3], {}, strict._name)[0] == {
        "HTTP_HOST": "h", "HTTP_X_A": ",", "HTTP_X_B": "\xe9,\xe9"}


@compiled_only
def test_sort_fields_passes_errors_on() -> None:
    def broken(name: str) -> Any:
        raise LookupError(name)

    with pytest.raises(LookupError):
        compiled_sort([("X-New", "v")], {}, broken)
    with pytest.raises(TypeError):
        compiled_sort([("X-New", "v")], {"X-New": "not an entry"}, broken)


# heads whose every check make_head makes is put to the test
METHODS = ["GET", "get", "POST", "CONNECT", "connect", "OPTIONS", "M-1", "DELETE"]
TARGETS = ["/", "/a/b?x=1&y", "/a#frag?x", "/a?b#c?d", "/%41?q=%20", "*", "http://h:80/x?y",
           "https://h", "h:443", "[::1]:80", "a/b", "/?", "/#", "//x"]
NOTABLE = ["Host: h", "Host: h", "host: other", "Content-Length: 5", "Content-Length: 05",
           "content-length: 0", "Content-Length: ", "Content-Length: 1234567890123456789",
           "Content-Length: 00000000000000000000000012", "Content-Length: x",
           "Content-Length: \xb2", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip",
           "Connection: close", "Connection: Keep-Alive", "connection: KEEP-ALIVE",
           "Connection: upgrade", "Connection: close, upgrade", "Connection: ",
           "Connection: cl\xf6se", "Upgrade: websocket", "Expect: 100-continue",
           "Expect: other", "Content-Type: text/plain", "content-type: a/b", "X_Under: 1",
           "SCRIPT_NAME: /x", "X-Other: v", "Cookie: a=b"]
LIMITS = [Limits(), Limits(request_line=40, fields=4, field_size=60, body=3),
          Limits(casefold=True), Limits(underscore=UNDERSCORE_REFUSE),
          Limits(underscore=UNDERSCORE_REFUSE, forwarders=frozenset({"*"})), Limits(body=5)]


@PROPERTY
@given(st.sampled_from(METHODS), st.sampled_from(TARGETS), st.sampled_from(["0", "1"]),
       st.lists(st.sampled_from(NOTABLE), max_size=6), st.sampled_from(LIMITS))
def test_read_head(method: str, target: str, minor: str, fields: list[str],
                   limits: Limits) -> None:
    """The compiled head reader makes what strict.make_head makes of every
    head, or raises what it raises, or leaves it to the line reader as it does."""
    data = "".join(f"{line}\r\n" for line in [f"{method} {target} HTTP/1.{minor}", *fields, ""])
    raw = b"xy" + data.encode("latin-1") + b"GET"
    expected = fuzz.read_head(strict.python_match_head, raw, 2, len(raw), limits)
    assert fuzz.read_head(compiled_match, raw, 2, len(raw), limits) == expected
    assert fuzz.read_head(compiled_match, bytearray(raw), 2, len(raw), limits) == expected


@compiled_only
def test_read_head_is_bound_to_the_head_it_fills() -> None:
    from corral.server.http import _headscan  # type: ignore[attr-defined]

    class Other:
        __slots__ = ("method", "url")

    with pytest.raises(TypeError, match="slots"):
        _headscan.bind(strict.make_head, Other, {}, strict._name, (1, 0), (1, 1))
    with pytest.raises(AttributeError):
        compiled_match(b"GET / HTTP/1.1\r\n\r\n", 0, 18, object())
    # a head of the type bound first, still
    assert type(compiled_match(b"GET / HTTP/1.0\r\n\r\n", 0, 18, Limits())[0]) is RequestHead


# response header items: good ones of every kind, and items start_response refuses
ITEMS = [("Content-Type", "text/plain"), ("Content-Length", "13"), ("Content-Length", "0"),
         ("Date", "Thu, 01 Jan 1970 00:00:00 GMT"), ("Server", "app"), ("server", "x"),
         ("Connection", "close"), ("Connection", "keep-alive"), ("Keep-Alive", "5"),
         ("Transfer-Encoding", "chunked"), ("Set-Cookie", "a=\xe9"), ("X-Empty", ""),
         ("Bad Name", "v"), ("X-A", "line\r\nbreak"), ("X-B", "\u20ac"), ("Content-Length", "x"),
         ["X-List", "v"], ("X-Three", "v", "w"), "X-Str", (b"X-Bytes", "v"), ("X-C", 1)]


class Item(tuple):  # type: ignore[type-arg]
    """A tuple subclass: checked each time, never looked up in the table."""


def run_lines(lines: Any, code: int, headers: list[Any], table: dict[Any, Any]) -> Any:
    try:
        return lines(b"HTTP/1.1 %d X\r\n" % code, code, headers, table, response._check_field)
    except Exception as exc:  # the same error, from the same check
        return type(exc), str(exc)


@PROPERTY
@given(st.lists(st.one_of(st.sampled_from(ITEMS), st.builds(Item, st.sampled_from(ITEMS[:8]))),
                max_size=20),
       st.sampled_from([200, 204, 304, 404]), st.booleans())
def test_field_lines(headers: list[Any], code: int, known: bool) -> None:
    table: dict[Any, Any] = {}
    if known:  # the table as start_response fills it: the good exact tuples
        for item in ITEMS:
            try:
                table[item] = response._check_field(item)
            except (AssertionError, TypeError):
                pass
    expected = run_lines(headscan.python_field_lines, code, headers, table)
    assert run_lines(compiled_lines, code, headers, table) == expected


@compiled_only
def test_field_lines_refuses_what_is_not_an_entry() -> None:
    with pytest.raises(TypeError):
        compiled_lines(b"", 200, [("A", "b")], {("A", "b"): (0, "a str", 0)}, response._check_field)
    with pytest.raises(TypeError):
        compiled_lines(b"", 200, [("A", "b")], {}, lambda item: None)
    with pytest.raises(ZeroDivisionError):
        compiled_lines(b"", 200, [("A", "b")], {}, lambda item: 1 // 0)
    many = [(f"X-{i}", "v") for i in range(100)]  # more than fit without a heap array
    assert (compiled_lines(b"S\r\n", 200, many, {}, response._check_field)
            == headscan.python_field_lines(b"S\r\n", 200, many, {}, response._check_field))


def test_without_a_compiler_the_python_definitions_serve(tmp_path: Path) -> None:
    """An install where the extension could not be built: the package imports
    and reads heads with the Python definitions."""
    code = ("from corral.server.http import headscan, strict\n"
            "from corral.server.http.head import Limits\n"
            "assert headscan.scan_head is headscan.python_scan_head\n"
            "h, end = strict.match_head(b'GET /x?y HTTP/1.1\\r\\nHost: h\\r\\n\\r\\nGET', 0, 33,"
            " Limits())\n"
            "print(h.method, h.path, h.query, h.fields, end)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "CORRAL_PURE_PYTHON": "1"}, timeout=60, check=True)
    assert out.stdout.strip() == "GET /x y {'HTTP_HOST': 'h'} 30"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_machine_without_a_compiler_gets_a_working_wheel(tmp_path: Path) -> None:
    """``pip`` builds corral where no C compiler runs (CC fails): the wheel holds
    no extension, and the package in it reads heads."""
    env = {**os.environ, "CC": "false", "CXX": "false"}
    tree = tmp_path / "tree"  # the checkout as a fresh clone has it (no extension built)
    shutil.copytree(ROOT / "src", tree / "src",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "-w", str(tmp_path), str(tree)],
                   env=env, check=True, timeout=280, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("corral-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "corral/server/http/headscan.py" in names
        assert not [n for n in names if n.endswith((".so", ".pyd"))]  # no compiled part
        zf.extractall(tmp_path / "site")
    code = ("from corral.server.http import headscan, strict\n"
            "from corral.server.http.head import Limits\n"
            "import os, sys\n"
            "assert not headscan.COMPILED and headscan.__file__.startswith(sys.argv[1])\n"
            "from corral.server.workers import _blocking_io\n"
            "assert _blocking_io.read_now is os.read and not _blocking_io.HELD_READ\n"
            "print(strict.match_head(b'GET / HTTP/1.0\\r\\n\\r\\n', 0, 18, Limits())[0].version)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, timeout=60,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "(1, 0)"


# -- the response framing: the compiled frame_head/frame_whole against
# cycle.python_frame_head/python_frame_whole, on every combination of what the
# decision reads

FRAME_CYCLE = cycle.RequestCycle(lambda environ, start_response: [], Settings(), Logger(Settings()))
FRAME_LINE = b"200 OK\r\nContent-Type: text/plain\r\n"


def frame_exchange(method: str, version: tuple[int, int], request_keep: bool, allowed: bool,
                   status: int, clen: int | None, must_close: bool, own: int) -> cycle.Exchange:
    head = RequestHead(method, "/", "/", "", version, [], None, False, request_keep, False,
                       False, {}, False, False)
    conn = cycle.ConnInfo(("127.0.0.1", 5000), ("127.0.0.1", 8000), keepalive_allowed=allowed)
    ex = cycle.Exchange(FRAME_CYCLE, head, None, conn)
    ex.status, ex.content_length, ex.must_close, ex._own = status, clen, must_close, own
    ex._line = FRAME_LINE
    return ex


def framed(step: Any, args: tuple[Any, ...], arg: Any) -> tuple[Any, ...]:
    ex = frame_exchange(*args)
    out = step(ex, arg)
    return out, ex.keep_alive, ex.headers_sent, ex.sent


@pytest.fixture
def fixed_date() -> Iterator[None]:
    """The Date and Server lines of every response here: the same bytes, so
    that no second begins between the two calls compared."""
    saved = response.DATE.since, response.DATE.until, response.DATE.line
    response.DATE.since, response.DATE.until = 0.0, 1e18
    response.DATE.line = b"Date: then\r\nServer: corral\r\n"
    try:
        yield
    finally:
        response.DATE.since, response.DATE.until, response.DATE.line = saved


@compiled_only
@pytest.mark.usefixtures("fixed_date")
def test_framing_is_the_python_one() -> None:
    versions = [(1, 1), (1, 0), tuple([1, 1])]  # the last: equal, not the parser's object
    for args in itertools.product(["GET", "HEAD", "POST"], versions, [True, False],
                                  [True, False], [200, 204, 304, 404], [None, 0, 5, 10**30],
                                  [False, True], [0, 1, 2, 3]):
        for total in (None, 0, 5, 13):
            assert (framed(headscan.native.frame_head, args, total)
                    == framed(cycle.python_frame_head, args, total)), (args, total)
        for body in (b"", b"hello", b"hello, world!"):
            assert (framed(headscan.native.frame_whole, args, body)
                    == framed(cycle.python_frame_whole, args, body)), (args, body)


@compiled_only
def test_framing_makes_the_date_of_a_new_second() -> None:
    response.DATE.since = response.DATE.until = 0.0  # long past
    ex = frame_exchange("GET", (1, 1), True, True, 200, None, False, 0)
    mode, data = headscan.native.frame_head(ex, 2)
    assert mode is cycle.Framing.LENGTH
    assert response.DATE.since <= time.time() < response.DATE.until
    assert data == b"HTTP/1.1 " + FRAME_LINE + response.DATE.line + b"Content-Length: 2\r\n\r\n"


@compiled_only
def test_framing_refuses_what_is_not_an_exchange() -> None:
    with pytest.raises(TypeError):
        headscan.native.frame_head(object(), None)
    ex = frame_exchange("GET", (1, 1), True, True, 200, None, False, 0)
    with pytest.raises(TypeError):
        headscan.native.frame_whole(ex, "not bytes")
    with pytest.raises(ValueError):
        headscan.native.frame_head(ex, -1)
    ex._line = "not bytes"  # type: ignore[assignment]
    with pytest.raises(TypeError):
        headscan.native.frame_head(ex, None)
    ex = frame_exchange("GET", (1, 1), True, True, 200, None, False, 0)
    ex.conn = object()  # type: ignore[assignment]
    with pytest.raises(TypeError):
        headscan.native.frame_head(ex, None)


# -- start_response: the compiled one against response.python_start_response

class Told(response.Response):
    """A response that records the hop-by-hop fields it hears of."""

    __slots__ = ("told",)

    def dropped(self, names: tuple[str, ...]) -> None:
        self.told.append(names)


def fresh_response(status: int) -> Told:
    resp = Told()
    resp.writes, resp.status, resp.status_line, resp.headers = [], status, "", []
    resp.content_length, resp.must_close, resp._line, resp._own = None, False, b"", 0
    resp.headers_sent, resp.told = False, []
    return resp


def started(step: Any, status: Any, headers: Any, again: bool, before: int) -> tuple[Any, ...]:
    resp = fresh_response(before)
    try:
        write = step(resp, status, headers, again)
    except Exception as exc:  # what the application hears
        return type(exc), str(exc), resp.status
    write(b"x")
    return (resp.status, resp.status_line, resp.headers, resp.content_length, resp.must_close,
            resp._own, resp._line, resp.told, resp.writes)


START_STATUSES: list[Any] = ["200 OK", "204 No Content", "304 Not Modified", "404 Not Found",
                             "200", "99 Low", "103 Early Hints", "200 OK\r\nX: y", b"200 OK",
                             "200 \u20ac", None, "2000 OK"]
START_HEADERS: list[Any] = [
    [], [("Content-Type", "text/plain")], [("Content-Length", "5"), ("Date", "d"), ("Server", "s")],
    [("Connection", "close"), ("Keep-Alive", "5"), ("Transfer-Encoding", "chunked")],
    [("Content-Length", "x")], [("Bad Name", "v")], [("A", "b\r\nc")], [("A",)], ["A: b"],
    (("A", "b"),), [("A", "\u20ac")], [("Content-Length", "7"), ("Content-Length", "3")],
]


@compiled_only
def test_start_response_is_the_python_one() -> None:
    for status, headers, again, before in itertools.product(
            START_STATUSES, START_HEADERS, [False, True], [0, 200]):
        for tables in ("empty", "filled"):  # first checked, then found in the tables
            if tables == "empty":
                response._FIELDS.clear()
                response._STATUSES.clear()
            expected = started(response.python_start_response, status, headers, again, before)
            if tables == "empty":
                response._FIELDS.clear()
                response._STATUSES.clear()
            assert started(headscan.native.start_response, status, headers, again, before) == expected, (
                status, headers, again, before, tables)


@compiled_only
def test_start_response_refuses_what_is_not_a_response() -> None:
    with pytest.raises(TypeError):
        headscan.native.start_response(object(), "200 OK", [], False)
    resp = fresh_response(0)
    del resp.writes
    with pytest.raises(AttributeError):
        headscan.native.start_response(resp, "200 OK", [], False)


# -- new_exchange: the compiled one against Exchange.__init__

def exchange_slots(ex: cycle.Exchange) -> dict[str, Any]:
    names = [n for c in type(ex).__mro__ for n in getattr(c, "__slots__", ())]
    values = {name: getattr(ex, name) for name in names}
    output = values.pop("output")
    assert output.gi_code is cycle.Exchange._run.__code__ and output.gi_frame is not None
    assert values["writes"] is not values["headers"]
    values["_t0"] = values["_t0"] > 0.0
    return values


@compiled_only
@pytest.mark.parametrize("access", [True, False])
def test_new_exchange_is_the_python_one(access: bool) -> None:
    made = cycle.RequestCycle(lambda environ, start_response: [], Settings(), Logger(Settings()))
    made.access_enabled = access
    head = frame_exchange("GET", (1, 1), True, True, 200, None, False, 0).head
    conn = cycle.ConnInfo(("127.0.0.1", 5000), ("127.0.0.1", 8000))
    compiled = headscan.native.new_exchange(made, head, b"body", conn)
    assert type(compiled) is cycle.Exchange
    assert exchange_slots(compiled) == exchange_slots(cycle.Exchange(made, head, b"body", conn))
    assert exchange_slots(compiled)["_t0"] is access
    assert exchange_slots(compiled)["cycle"] is made


@compiled_only
def test_new_exchange_refuses_a_type_it_would_not_fill() -> None:
    """An exchange type with a slot new_exchange does not know is refused when
    it is bound (cycle.py binds Exchange, which must match)."""

    class Wider(cycle.Exchange):
        __slots__ = ("extra",)

    with pytest.raises(TypeError, match="slots"):
        headscan.native.bind_exchange(Wider, cycle.ConnInfo, response.DATE, response.own_headers_line,
                               tuple(cycle.Framing))


# -- build_environ: the compiled one against environ.python_build_environ, on a
# connection's requests one after another (its first, another Host, none)

ENVIRON_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /p/a%20th?x=1 HTTP/1.1\r\nHost: a:8080\r\nCookie: c=1\r\nAccept: */*\r\n\r\n",
    b"GET /app/sub?y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /app HTTP/1.1\r\nHost: [::1]:9\r\nContent-Length: 2\r\nContent-Type: t\r\n\r\nab",
    b"GET /x HTTP/1.1\r\nHost: a\r\nX_Under: 1\r\nX-Under: 2\r\nSCRIPT_NAME: /s\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: b\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8\r\n"
    b"X-Forwarded-Proto: https\r\n\r\n",
    b"GET /%41pp/x HTTP/1.1\r\nHost: b\r\nA: 1\r\nA: 2\r\n\r\n",
]
ENVIRON_SETTINGS = [
    {}, {"root_path": "/app"}, {"forwarded_allow_ips": "*"},
    {"forwarded_allow_ips": "*", "header_map": "dangerous"},
    {"forwarded_allow_ips": "*", "forwarder_headers": "SCRIPT_NAME"},
    {"header_map": "refuse"},
]


def environs(step: Any, settings: dict[str, Any], peer: Any) -> list[Any]:
    builder = EnvironBuilder(Settings(**settings))
    conn = cycle.ConnInfo(peer, ("127.0.0.1", 8000))
    made: list[Any] = []
    for raw in ENVIRON_REQUESTS:
        events = RequestParser().feed(raw)
        head = events[0]
        assert isinstance(head, RequestHead)
        try:
            env = step(builder, head, b"body", conn)
        except ParseError as exc:
            made.append((exc.status, exc.reason))
        else:
            made.append({k: v for k, v in env.items() if k != "wsgi.errors"})
    return made


@compiled_only
@pytest.mark.parametrize("settings", ENVIRON_SETTINGS)
@pytest.mark.parametrize("peer", [("10.1.2.3", 4000), "/run/sock", None])
def test_build_environ_is_the_python_one(settings: dict[str, Any], peer: Any) -> None:
    assert (environs(headscan.native.build_environ, settings, peer)
            == environs(environ.python_build_environ, settings, peer))


@compiled_only
def test_build_environ_refuses_what_is_not_a_head() -> None:
    conn = cycle.ConnInfo(("10.1.2.3", 4000), ("127.0.0.1", 8000))
    with pytest.raises(TypeError):
        headscan.native.build_environ(EnvironBuilder(Settings()), object(), b"", conn)
