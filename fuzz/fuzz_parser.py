"""Coverage-guided fuzzing of the sans-IO request parser and the PROXY header parser.

Needs atheris (``pip install atheris``), which is not a project dependency; see
fuzz/README.md.  Every input is cut into pieces at points taken from the input
itself; the only exception either parser may raise is its ``ParseError``.  Where
the compiled head scanner is built, it (and the compiled head reader) must
answer what its Python definition answers for every head-shaped span of the
input.
"""

from __future__ import annotations

import sys
from typing import Any

from corral.server.http import headscan, strict
from corral.server.http.errors import ParseError
from corral.server.http.parser import Limits, RequestParser
from corral.server.http.proxy import ProxyHeaderParser

LIMITS = Limits(request_line=1024, fields=32, field_size=1024, body=4096)


def _pieces(data: bytes) -> list[bytes]:
    """The whole input is the stream (so corpus files are good seeds); its last byte
    modulo 64 is the piece size (0 = one piece)."""
    if not data:
        return []
    size = data[-1] % 64
    if size == 0:
        return [data]
    return [data[i : i + size] for i in range(0, len(data), size)]


def feed_request_parser(pieces: list[bytes]) -> None:
    parser = RequestParser(LIMITS)
    try:
        for piece in pieces:
            parser.feed(piece)
        parser.feed_eof()
    except ParseError as exc:
        if exc.status not in (400, 413, 414, 431, 501, 505):
            raise AssertionError(f"unexpected status {exc.status}") from exc


def feed_proxy_parser(pieces: list[bytes]) -> None:
    parser = ProxyHeaderParser()
    try:
        for piece in pieces:
            if parser.feed(piece) is not None:
                return
    except ParseError:
        pass


def read_head(match_head: strict.MatchHead, data: bytes, start: int, stop: int,
              limits: Limits | None = None) -> object:
    """What ``match_head`` makes of ``data[start:stop]``: (head, end), None, or
    the status and reason of the ParseError it raised."""
    try:
        return match_head(data, start, stop, limits or LIMITS)
    except ParseError as exc:
        return exc.status, exc.reason


def compare_head_scanners(data: bytes) -> None:
    """The compiled and the Python head scanner agree on each span of ``data``
    from its start or a blank line to the next blank line, and from there to
    the end of ``data``."""
    if headscan.scan_head is headscan.python_scan_head:
        return
    start = 0
    while True:
        end = data.find(b"\r\n\r\n", start) + 4
        if end < 4:
            end = len(data)
        for stop in (end, len(data)):
            compiled = headscan.scan_head(data, start, stop)
            if compiled != headscan.python_scan_head(data, start, stop):
                raise AssertionError(f"head scanners differ on {data[start:stop]!r}")
            if (strict.match_head is not strict.python_match_head
                    and read_head(strict.match_head, data, start, stop)
                    != read_head(strict.python_match_head, data, start, stop)):
                raise AssertionError(f"head readers differ on {data[start:stop]!r}")
        if end == len(data):
            return
        start = end


def test_one_input(data: bytes) -> None:
    pieces = _pieces(data)
    feed_request_parser(pieces)
    feed_proxy_parser(pieces)
    compare_head_scanners(data)


def main(argv: list[str]) -> None:
    try:
        import atheris  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris (see fuzz/README.md)")
    fuzz: Any = atheris
    fuzz.instrument_all()
    fuzz.Setup(argv, test_one_input)
    fuzz.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
