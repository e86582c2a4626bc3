"""Replay the request corpus (tests/corpus) against the parser and real servers.

Every file is replayed whole, one byte per write and in seeded random pieces: to the
sans-IO parser directly, and over a socket to a server of every worker class (one
server per class for the whole module).  Valid files must give the statuses and
environ listed in the manifest; invalid ones their error status and a closed
connection, without killing a worker.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from corral.server.http.errors import ParseError
from corral.server.http.parser import END, Limits, RequestHead, RequestParser
from tests.server.corpus import (
    MODES,
    Case,
    ResponseReader,
    connect,
    environ_view,
    load_manifest,
    mismatches,
    send_pieces,
    split,
)
from tests.support import WORKER_CLASSES, ServerProcess

MANIFEST = load_manifest()
VALID = MANIFEST.select(valid=True)
INVALID = MANIFEST.select(valid=False)
LIMITS = Limits(**MANIFEST.limits)
# Worker classes that close the connection after every response (no keep-alive,
# so only the first of several pipelined requests is answered).
ONE_REQUEST_PER_CONNECTION = {"sync"}


def parse(pieces: list[bytes], eof: bool = True) -> list[tuple[RequestHead, bytes]]:
    """Feed the pieces to a fresh parser; return the complete messages."""
    parser = RequestParser(LIMITS)
    messages: list[tuple[RequestHead, bytes]] = []
    head: RequestHead | None = None
    body = b""

    def handle(events: list[Any]) -> None:
        nonlocal head, body
        for event in events:
            if isinstance(event, RequestHead):
                head, body = event, b""
            elif event is END:
                assert head is not None, "END before a request head"
                messages.append((head, body))
                head = None
            else:
                assert isinstance(event, bytes), f"unexpected event {event!r}"
                assert head is not None, "body bytes before a request head"
                body += event

    for piece in pieces:
        handle(parser.feed(piece))
    if parser.error is not None:  # found after events that came first
        raise parser.error
    if eof:
        handle(parser.feed_eof())
    return messages


# -- sans-IO ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", VALID, ids=str)
def test_parser_accepts_valid(case: Case, mode: str) -> None:
    messages = parse(split(case.raw, mode, case.name))
    assert len(messages) == len(case.responses), case.description
    for (head, body), want in zip(messages, case.responses, strict=True):
        view = environ_view(head, body)
        wanted = {
            k: v for k, v in (want["environ"] or {}).items() if k in view or k.startswith("HTTP_")
        }
        assert not mismatches(wanted, view), case.description


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", INVALID, ids=str)
def test_parser_rejects_invalid(case: Case, mode: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(split(case.raw, mode, case.name), eof=case.eof)
    assert info.value.status in case.statuses, case.description


# -- over sockets, every worker class ------------------------------------------


class CorpusServer:
    def __init__(self, worker: str, srv: ServerProcess) -> None:
        self.worker = worker
        self.srv = srv
        self.pids = srv.worker_pids()

    def connect(self) -> socket.socket:
        return connect(self.srv.host, self.srv.port, timeout=5.0)


# every worker class, and the default one and gthread with none of the compiled parts
# (what a machine without a C compiler installs): heads read by the Python definitions
# of the head scanner, gthread's loop reading with os.read
PURE_PYTHON = {"asyncio-python": "asyncio", "gthread-python": "gthread"}
SERVERS = [*(w for w, _ in WORKER_CLASSES), *PURE_PYTHON]


@pytest.fixture(scope="module", params=SERVERS)
def corpus_server(request: pytest.FixtureRequest) -> Iterator[CorpusServer]:
    pure = request.param in PURE_PYTHON
    args = dict(WORKER_CLASSES)[PURE_PYTHON.get(request.param, request.param)]
    srv = ServerProcess(
        ["corpus_echo:application", "-b", "127.0.0.1:0", "-w", "1", *args, *MANIFEST.server_args],
        env={"CORRAL_PURE_PYTHON": "1"} if pure else None,
    )
    srv.start()
    try:
        srv.wait_for(r"Booting worker with pid: \d+")
        yield CorpusServer(request.param, srv)
    finally:
        srv.stop()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", VALID, ids=str)
def test_server_answers_valid(corpus_server: CorpusServer, case: Case, mode: str) -> None:
    one_only = corpus_server.worker in ONE_REQUEST_PER_CONNECTION
    expected = case.responses[:1] if one_only else case.responses
    with corpus_server.connect() as sock:
        send_pieces(sock, split(case.raw, mode, case.name))
        reader = ResponseReader(sock)
        for i, want in enumerate(expected):
            got = reader.next(head_only=case.raw.startswith(b"HEAD "))
            assert got is not None, f"response {i} missing: {case.description}"
            status, _, body = got
            assert status == want["status"], (case.description, body[:300])
            if want["environ"] is not None:
                assert not mismatches(want["environ"], json.loads(body)), case.description
        if one_only or not case.keep_alive:
            assert reader.closed(), "connection left open"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", INVALID, ids=str)
def test_server_rejects_invalid(corpus_server: CorpusServer, case: Case, mode: str) -> None:
    with corpus_server.connect() as sock:
        send_pieces(sock, split(case.raw, mode, case.name))
        if case.eof:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        reader = ResponseReader(sock)
        got = reader.next()
        if got is None:
            assert case.eof, f"closed without an answer: {case.description}"
        else:
            assert got[0] in case.statuses, (case.description, got)
        assert reader.closed(), "connection left open after an invalid request"
    assert corpus_server.srv.worker_pids() == corpus_server.pids, "a worker died"
