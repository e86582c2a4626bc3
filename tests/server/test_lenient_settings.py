"""Gunicorn's parsing leniencies, on and off, against real servers of every worker
class speaking raw HTTP (and TLS for ``suppress_ragged_eofs``).

Off (the default) every one of them is today's refusal; on, the request goes
through as Gunicorn lets it.  Each accepted request is sent twice on one
connection, so a worker answers it the same way as the first request on a
connection and as one after it.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from corral.server.config import Settings
from corral.server.tls import accept_tls, make_ssl_context, suppresses_ragged_eofs
from tests.support import WORKER_CLASSES, ServerProcess, parse_response, read_response, recv_all

pytestmark = pytest.mark.timeout(120)

WORKERS = [name for name, _ in WORKER_CLASSES]
LENIENT = ["--permit-obsolete-folding", "--strip-header-spaces",
           "--permit-unconventional-http-method", "--permit-unconventional-http-version",
           "--casefold-http-method", "--header-map", "dangerous",
           "--forwarder-headers", "SCRIPT_NAME,PATH_INFO,REMOTE_USER"]
MODES = {
    "default": [],
    "lenient": LENIENT,
    # 127.0.0.1 is not trusted here, so forwarder fields fall under --header-map too
    "refuse": ["--header-map", "refuse", "--forwarded-allow-ips", "10.9.9.9"],
    "refuse-trusting": ["--header-map", "refuse"],
}
UNTRUSTED = "127.0.0.2"  # a loopback address outside the default forwarded_allow_ips


def start(worker: str, *extra: str) -> ServerProcess:
    args = dict(WORKER_CLASSES)[worker]
    return ServerProcess(["http_app:app", "-b", "127.0.0.1:0", *args, "-w", "1", *extra]).start()


@pytest.fixture(scope="module", params=WORKERS)
def servers(request: pytest.FixtureRequest) -> Iterator[dict[str, ServerProcess]]:
    """One server per mode for the worker class."""
    running: dict[str, ServerProcess] = {}
    try:
        for mode, extra in MODES.items():
            running[mode] = start(request.param, *extra)
        yield running
    finally:
        for srv in running.values():
            srv.stop()


def ask(srv: ServerProcess, raw: bytes, times: int = 2,
        source: str | None = None) -> list[tuple[int, Any]]:
    """Send ``raw`` ``times`` times, on one connection while the server keeps it
    open, stopping after an error status; each answer as (status, environ dict
    or body bytes)."""
    addr = (source, 0) if source else None
    out: list[tuple[int, Any]] = []
    s: socket.socket | None = None
    try:
        for _ in range(times):
            if s is None:
                s = socket.create_connection((srv.host, srv.port), timeout=10,
                                             source_address=addr)
            s.sendall(raw)
            status, headers, body = read_response(s)
            if headers.get("connection", "").lower() == "close":
                s.close()
                s = None
            out.append((status, json.loads(body) if body.startswith(b"{") else body))
            if status >= 400:
                break
    finally:
        if s is not None:
            s.close()
    return out


def environ_of(srv: ServerProcess, raw: bytes, source: str | None = None) -> dict[str, Any]:
    """The environ the app saw, the same both times the request was sent."""
    (s1, env1), (s2, env2) = ask(srv, raw, 2, source)
    assert (s1, s2) == (200, 200), (env1, env2)
    for env in (env1, env2):
        env.pop("REMOTE_PORT", None)
    assert env1 == env2, "the second answer differs from the first"
    assert isinstance(env1, dict)
    return env1


def status_of(srv: ServerProcess, raw: bytes, source: str | None = None) -> int:
    return ask(srv, raw, 1, source)[0][0]


def req(line: str, *fields: str) -> bytes:
    return (line + "\r\nHost: h\r\n" + "".join(f + "\r\n" for f in fields) + "\r\n").encode()


# -- obsolete line folding ---------------------------------------------------------


FOLDED = req("GET /environ HTTP/1.1", "X-Folded: one", "   two", "\tthree", "X-After: z")


def test_folding_refused_by_default(servers: dict[str, ServerProcess]) -> None:
    assert status_of(servers["default"], FOLDED) == 400


def test_folding_permitted(servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["lenient"], FOLDED)
    assert env["HTTP_X_FOLDED"] == "one two three" and env["HTTP_X_AFTER"] == "z"


def test_folded_heads_pipelined_with_bodies(servers: dict[str, ServerProcess]) -> None:
    """Each pipelined head is unfolded; bodies pass through untouched."""
    body = b"a\r\n\r\n  b"
    raw = (b"POST /echo HTTP/1.1\r\nHost: h\r\nX-F: 1\r\n 2\r\nContent-Length: %d\r\n\r\n%s"
           % (len(body), body)
           + b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-F: 1\r\n 2\r\n"
           b"\r\n4\r\n\r\n\r\n\r\n0\r\n\r\n"
           + b"GET /environ HTTP/1.1\r\nHost: h\r\nX-F: 1\r\n\t2\r\nConnection: close\r\n\r\n")
    answers = []
    rest = recv_all_from(servers["lenient"], raw)
    while rest:
        status, _, got, rest = parse_response(rest)
        answers.append((status, got))
    assert answers[0] == (200, body)
    if servers["lenient"].args[4] == "sync":
        return  # one request per connection
    assert answers[1] == (200, b"\r\n\r\n")
    assert answers[2][0] == 200 and json.loads(answers[2][1])["HTTP_X_F"] == "1 2"


# -- whitespace between a field name and its colon -----------------------------------


SPACED = req("GET /environ HTTP/1.1", "X-Spaced : v", "X-Tabbed\t: w")


def test_space_before_colon_refused_by_default(servers: dict[str, ServerProcess]) -> None:
    assert status_of(servers["default"], SPACED) == 400


def test_space_before_colon_stripped(servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["lenient"], SPACED)
    assert (env["HTTP_X_SPACED"], env["HTTP_X_TABBED"]) == ("v", "w")


def test_host_with_space_before_colon(servers: dict[str, ServerProcess]) -> None:
    raw = b"GET /environ HTTP/1.1\r\nHost : example.org:81\r\n\r\n"
    assert status_of(servers["default"], raw) == 400
    env = environ_of(servers["lenient"], raw)
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("example.org", "81")


# -- methods -----------------------------------------------------------------------


LONG_METHOD = "X" * 100


def test_long_method_refused_by_default(servers: dict[str, ServerProcess]) -> None:
    assert status_of(servers["default"], req(f"{LONG_METHOD} /environ HTTP/1.1")) == 400


def test_long_method_permitted(servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["lenient"], req(f"{LONG_METHOD} /environ HTTP/1.1"))
    assert env["REQUEST_METHOD"] == LONG_METHOD


def test_method_case_kept_by_default(servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["default"], req("get /environ HTTP/1.1"))
    assert env["REQUEST_METHOD"] == "get"
    env = environ_of(servers["default"], req("Purge /environ HTTP/1.1"))
    assert env["REQUEST_METHOD"] == "Purge"


def test_method_casefolded(servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["lenient"], req("get /environ HTTP/1.1"))
    assert env["REQUEST_METHOD"] == "GET"
    env = environ_of(servers["lenient"], req("Purge /environ HTTP/1.1"))
    assert env["REQUEST_METHOD"] == "PURGE"


def test_casefolded_head_gets_no_body(servers: dict[str, ServerProcess]) -> None:
    """``head`` becomes HEAD, with all that means for the response."""
    raw = req("head /big?size=10 HTTP/1.1", "Connection: close")
    assert recv_all_from(servers["default"], raw).endswith(b"b" * 10)
    data = recv_all_from(servers["lenient"], raw)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\n")


def recv_all_from(srv: ServerProcess, raw: bytes) -> bytes:
    with srv.connect() as s:
        s.sendall(raw)
        return recv_all(s)


# -- versions ----------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.2", "1.9", "2.0", "3.7"])
def test_other_versions_refused_by_default(servers: dict[str, ServerProcess],
                                           version: str) -> None:
    assert status_of(servers["default"], req(f"GET /environ HTTP/{version}")) == 505


@pytest.mark.parametrize("version", ["1.2", "1.9", "2.0", "3.7"])
def test_other_versions_taken_as_1_1(servers: dict[str, ServerProcess], version: str) -> None:
    env = environ_of(servers["lenient"], req(f"GET /environ HTTP/{version}"))
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"


def test_malformed_versions_still_refused(servers: dict[str, ServerProcess]) -> None:
    for srv in (servers["default"], servers["lenient"]):
        assert status_of(srv, req("GET /environ HTTP/12.0")) in (400, 505)
        assert status_of(srv, req("GET /environ HTTX/1.1")) == 400


# -- header_map ----------------------------------------------------------------------


UNDERSCORED = req("GET /environ HTTP/1.1", "X-Auth-User: dash", "X_Auth_User: under",
                  "Foo_Bar: 3")


def test_underscore_names_dropped_by_default(servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["default"], UNDERSCORED)
    assert env["HTTP_X_AUTH_USER"] == "dash" and "HTTP_FOO_BAR" not in env


def test_underscore_names_refused(servers: dict[str, ServerProcess]) -> None:
    assert status_of(servers["refuse"], UNDERSCORED) == 400
    env = environ_of(servers["refuse"], req("GET /environ HTTP/1.1", "X-Auth-User: dash"))
    assert env["HTTP_X_AUTH_USER"] == "dash"


def test_underscore_names_kept_when_dangerous(servers: dict[str, ServerProcess]) -> None:
    """As in Gunicorn: both spellings share one key, joined in arrival order."""
    env = environ_of(servers["lenient"], UNDERSCORED)
    assert env["HTTP_X_AUTH_USER"] == "dash,under" and env["HTTP_FOO_BAR"] == "3"
    env = environ_of(servers["lenient"], req("GET /environ HTTP/1.1", "X_Auth_User: under",
                                             "X-Auth-User: dash"))
    assert env["HTTP_X_AUTH_USER"] == "under,dash"


def test_dangerous_underscores_reach_forwarding_keys(servers: dict[str, ServerProcess]) -> None:
    raw = req("GET /environ HTTP/1.1", "X_Forwarded_For: 203.0.113.7")
    assert environ_of(servers["default"], raw)["REMOTE_ADDR"] == "127.0.0.1"
    assert environ_of(servers["lenient"], raw)["REMOTE_ADDR"] == "203.0.113.7"


# -- forwarder_headers ----------------------------------------------------------------


MOUNTED = req("GET /app/environ HTTP/1.1", "SCRIPT_NAME: /app")


def test_script_name_from_a_trusted_forwarder(servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["default"], MOUNTED)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/environ")
    assert env["HTTP_SCRIPT_NAME"] == "/app"


def test_script_name_ignored_from_an_untrusted_peer(servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["default"], req("GET /environ HTTP/1.1", "SCRIPT_NAME: /app"),
                     source=UNTRUSTED)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/environ")
    assert "HTTP_SCRIPT_NAME" not in env and env["REMOTE_ADDR"] == UNTRUSTED


def test_script_name_refused_from_an_untrusted_peer(servers: dict[str, ServerProcess]) -> None:
    assert status_of(servers["refuse"], MOUNTED) == 400


def test_trusted_forwarder_passes_where_others_are_refused(
        servers: dict[str, ServerProcess]) -> None:
    env = environ_of(servers["refuse-trusting"], MOUNTED)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/environ")
    assert status_of(servers["refuse-trusting"], UNDERSCORED) == 400
    assert status_of(servers["refuse-trusting"], MOUNTED, source=UNTRUSTED) == 400


def test_path_info_and_listed_keys_from_a_trusted_forwarder(
        servers: dict[str, ServerProcess]) -> None:
    raw = req("GET /environ HTTP/1.1", "PATH_INFO: /environ-inner", "REMOTE_USER: alice")
    env = environ_of(servers["lenient"], raw)
    assert (env["PATH_INFO"], env["REMOTE_USER"]) == ("/environ-inner", "alice")
    env = environ_of(servers["default"], raw)  # REMOTE_USER is not listed there
    assert (env["PATH_INFO"], "REMOTE_USER" in env) == ("/environ-inner", False)
    assert "HTTP_REMOTE_USER" not in env


def test_forwarder_request_mixed_with_ordinary_ones(servers: dict[str, ServerProcess]) -> None:
    """The same header section without the forwarder field, before and after it:
    each answer stands on its own."""
    plain = req("GET /environ/environ HTTP/1.1", "X-A: 1")
    mounted = req("GET /environ/environ HTTP/1.1", "X-A: 1", "SCRIPT_NAME: /environ")
    seen = []
    for raw in (plain, mounted, plain, mounted):
        ((status, env),) = ask(servers["default"], raw, 1)
        assert status == 200
        seen.append((env["SCRIPT_NAME"], env["PATH_INFO"]))
    assert seen == [("", "/environ/environ"), ("/environ", "/environ")] * 2


# -- suppress_ragged_eofs --------------------------------------------------------------


class Certs:
    def __init__(self, root: Path) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.certfile, self.keyfile = root / "server.pem", root / "server.key"
        cert.cert_chain_pems[0].write_to_path(str(self.certfile))
        cert.private_key_pem.write_to_path(str(self.keyfile))

    def client(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("lenient-tls"))


def tls_client(s: socket.socket, ctx: ssl.SSLContext) -> tuple[ssl.SSLObject, ssl.MemoryBIO,
                                                                ssl.MemoryBIO]:
    """Finish a TLS handshake on ``s`` driven by hand, so the client can end the
    TCP stream without a close_notify."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="localhost")
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            s.sendall(out.read())
            inc.write(s.recv(65536))
    s.sendall(out.read())  # the client's Finished
    return tls, inc, out


def https_status(srv: ServerProcess, ctx: ssl.SSLContext) -> int:
    with srv.connect() as raw, ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET /environ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        return int(recv_all(s).split(b" ", 2)[1])


@pytest.mark.parametrize("suppress", [True, False], ids=["suppressed", "raised"])
def test_ragged_eof_in_accept_tls(certs: Certs, suppress: bool) -> None:
    """Suppressed (the default): reading a connection closed without a
    close_notify gives an end of stream; otherwise the read fails."""
    settings = Settings(certfile=str(certs.certfile), keyfile=str(certs.keyfile),
                        header_timeout=5, suppress_ragged_eofs=suppress)
    ctx = make_ssl_context(settings)
    assert ctx is not None and suppresses_ragged_eofs(ctx) is suppress
    done: list[tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]] = []
    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()[:2], timeout=5) as client:
        conn, _ = server.accept()
        t = threading.Thread(target=lambda: done.append(tls_client(client, certs.client())))
        t.start()
        tls = accept_tls(conn, ctx, settings)
        t.join(10)
        assert tls is not None and done
        with tls:
            obj, _, out = done[0]
            obj.write(PARTIAL)
            client.sendall(out.read())
            client.shutdown(socket.SHUT_WR)  # no close_notify
            assert tls.recv(100) == PARTIAL
            if suppress:
                assert tls.recv(100) == b""
            else:
                with pytest.raises(ssl.SSLEOFError):
                    tls.recv(100)


@pytest.mark.parametrize("worker", WORKERS)
@pytest.mark.parametrize("suppress", [True, False], ids=["suppressed", "raised"])
def test_ragged_eof_leaves_the_worker_serving(worker: str, suppress: bool, certs: Certs,
                                              tmp_path: Path) -> None:
    """The setting is read from a config file (as in Gunicorn it has no flag to turn
    it off); a client ending a request head without a close_notify gets no
    answer, and the worker goes on serving."""
    conf = tmp_path / "tls.conf.py"
    conf.write_text(f"suppress_ragged_eofs = {suppress}\n")
    srv = start(worker, "-c", str(conf), "--certfile", str(certs.certfile),
                "--keyfile", str(certs.keyfile))
    try:
        assert https_status(srv, certs.client()) == 200
        with srv.connect() as s:
            tls, inc, out = tls_client(s, certs.client())
            tls.write(PARTIAL)
            s.sendall(out.read())
            s.shutdown(socket.SHUT_WR)
            got = b""
            while data := recv_or_reset(s):
                inc.write(data)
                try:
                    got += tls.read(65536)
                except ssl.SSLError:
                    pass
        assert not got.startswith(b"HTTP/"), got
        assert https_status(srv, certs.client()) == 200
    finally:
        srv.stop()


def recv_or_reset(s: socket.socket) -> bytes:
    try:
        return s.recv(65536)
    except ConnectionResetError:
        return b""


PARTIAL = b"GET /environ HTTP/1.1\r\nHost: h\r\n"  # cut short before the blank line
