"""TLS: the context built from the settings, and real servers of every worker class
serving HTTPS with a certificate made at test time (trustme)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from corral.server.config import Settings
from corral.server.tls import TLSConfigError, accept_tls, make_ssl_context
from tests.support import WORKER_CLASSES, ServerProcess, recv_all

PROXY_PEER = "127.0.0.2"  # the only peer the shared TLS server takes PROXY headers from
GET = b"GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


class Certs:
    def __init__(self, root: Path) -> None:
        self.ca = trustme.CA()
        server = self.ca.issue_cert("127.0.0.1", "localhost")
        self.certfile = root / "server.pem"
        self.keyfile = root / "server.key"
        server.cert_chain_pems[0].write_to_path(str(self.certfile))
        server.private_key_pem.write_to_path(str(self.keyfile))
        self.ca_file = root / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.client = self.ca.issue_cert("client.example")

    def settings(self, **kw: object) -> Settings:
        base: dict[str, object] = {"certfile": str(self.certfile), "keyfile": str(self.keyfile), "ca_certs": None,
                "cert_reqs": 0, "ciphers": None, "header_timeout": 2.0}
        base.update(kw)
        return Settings(**base)

    def client_context(self, with_cert: bool = False) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        if with_cert:
            self.client.configure_cert(ctx)
        return ctx


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("tls"))


# -- make_ssl_context ---------------------------------------------------------


def test_no_certfile_no_context() -> None:
    assert make_ssl_context(Settings(certfile=None)) is None
    assert make_ssl_context(Settings()) is None


def test_context_from_settings(certs: Certs) -> None:
    ctx = make_ssl_context(certs.settings())
    assert ctx is not None
    assert ctx.verify_mode == ssl.CERT_NONE
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    strict = make_ssl_context(certs.settings(cert_reqs=2, ca_certs=str(certs.ca_file)))
    assert strict is not None and strict.verify_mode == ssl.CERT_REQUIRED
    optional = make_ssl_context(certs.settings(cert_reqs=1, ca_certs=str(certs.ca_file)))
    assert optional is not None and optional.verify_mode == ssl.CERT_OPTIONAL
    ciphers = make_ssl_context(certs.settings(ciphers="ECDHE+AESGCM"))
    assert ciphers is not None
    tls12 = [c["name"] for c in ciphers.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 and all("AES" in n and "GCM" in n for n in tls12)


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"certfile": "/nonexistent/cert.pem"}, "certfile/keyfile"),
        ({"keyfile": "/nonexistent/key.pem"}, "certfile/keyfile"),
        ({"cert_reqs": 2}, "cert_reqs"),  # client certificates without a CA
        ({"cert_reqs": 7, "ca_certs": "x"}, "cert_reqs"),
        ({"cert_reqs": 2, "ca_certs": "/nonexistent/ca.pem"}, "ca_certs"),
        ({"ciphers": "NO-SUCH-CIPHER"}, "ciphers"),
    ],
)
def test_bad_tls_settings_name_the_setting(certs: Certs, overrides: dict[str, object], setting: str) -> None:
    with pytest.raises(TLSConfigError, match=f"^{setting}:"):
        make_ssl_context(certs.settings(**overrides))


# -- accept_tls on a real TCP connection --------------------------------------


def _accepted(client_action: object) -> tuple[ssl.SSLSocket | None, list[object]]:
    """Run ``client_action(sock)`` in a thread against an accepted socket given to accept_tls."""
    out: list[object] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def client() -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                try:
                    out.append(client_action(s))  # type: ignore[operator]
                except (OSError, ssl.SSLError) as exc:
                    out.append(exc)

        t = threading.Thread(target=client)
        t.start()
        conn, _ = server.accept()
        result = accept_tls(conn, CTX, SETTINGS)
        if result is not None:
            result.sendall(b"hello")
            result.close()
        t.join(10)
    return result, out


CTX: ssl.SSLContext
SETTINGS: Settings


@pytest.fixture
def tls_ctx(certs: Certs) -> Iterator[Certs]:
    global CTX, SETTINGS
    SETTINGS = certs.settings(header_timeout=1.0)
    ctx = make_ssl_context(SETTINGS)
    assert ctx is not None
    CTX = ctx
    yield certs


def test_accept_tls_completes_a_handshake(tls_ctx: Certs) -> None:
    def action(s: socket.socket) -> bytes:
        with tls_ctx.client_context().wrap_socket(s, server_hostname="localhost") as t:
            return t.recv(5)

    result, out = _accepted(action)
    assert result is not None
    assert out == [b"hello"]


def test_plain_http_to_tls_port_gets_a_plain_400(tls_ctx: Certs) -> None:
    def action(s: socket.socket) -> bytes:
        s.sendall(GET)
        return recv_all(s)

    result, out = _accepted(action)
    assert result is None
    assert isinstance(out[0], bytes) and out[0].startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\x01\x02garbage", b"\x16\x03\x01\x00\x05hello", b"\x16" + b"\xff" * 200, b""],
)
def test_failed_handshakes_return_none(tls_ctx: Certs, garbage: bytes) -> None:
    def action(s: socket.socket) -> bytes:
        s.sendall(garbage)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server already hung up
        return recv_all(s)

    result, _ = _accepted(action)
    assert result is None


def test_a_silent_client_is_dropped_after_the_handshake_timeout(tls_ctx: Certs) -> None:
    def action(s: socket.socket) -> bytes:
        s.sendall(b"\x16\x03")
        return recv_all(s)

    start = time.monotonic()
    result, _ = _accepted(action)
    assert result is None
    assert time.monotonic() - start < 5


# -- real servers -------------------------------------------------------------


def _start(worker: str, certs: Certs, *extra: str) -> ServerProcess:
    args = dict(WORKER_CLASSES)[worker]
    srv = ServerProcess(
        ["corpus_echo:application", "-b", "127.0.0.1:0", "-w", "1", *args,
         "--certfile", str(certs.certfile), "--keyfile", str(certs.keyfile),
         "--header-timeout", "3", *extra]
    )
    srv.start()
    srv.wait_for(r"Booting worker with pid: \d+")
    return srv


@pytest.fixture(scope="module", params=[w for w, _ in WORKER_CLASSES])
def tls_server(request: pytest.FixtureRequest, certs: Certs) -> Iterator[ServerProcess]:
    srv = _start(request.param, certs, "--proxy-protocol", "--proxy-allow-from", PROXY_PEER)
    try:
        yield srv
    finally:
        srv.stop()


def https_get(srv: ServerProcess, ctx: ssl.SSLContext) -> tuple[int, dict[str, str]]:
    with socket.create_connection((srv.host, srv.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(GET)
            data = recv_all(s)
    if not data:
        return 0, {}  # closed without an answer
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_https_request_sees_https_scheme(tls_server: ServerProcess, certs: Certs) -> None:
    status, env = https_get(tls_server, certs.client_context())
    assert status == 200
    assert env["wsgi.url_scheme"] == "https"
    assert tls_server.output().count("Listening at: https://") == 1


@pytest.mark.parametrize(
    "junk",
    [GET, b"\x00\x01garbage\r\n\r\n", b"\x16\x03\x01\x00\x10" + b"\xee" * 16, b"\x16\x03"],
    ids=["plain-http", "garbage", "bad-hello", "truncated"],
)
def test_failed_handshakes_never_kill_the_worker(
    tls_server: ServerProcess, certs: Certs, junk: bytes
) -> None:
    pids = tls_server.worker_pids()
    with socket.create_connection((tls_server.host, tls_server.port), timeout=10) as s:
        s.sendall(junk)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server already hung up
        answer = recv_all(s)
    if junk == GET and answer:
        assert answer.startswith(b"HTTP/1.1 400 ")
    assert https_get(tls_server, certs.client_context())[0] == 200
    assert tls_server.worker_pids() == pids


def test_wrong_ca_on_the_client_fails_only_that_client(tls_server: ServerProcess, certs: Certs) -> None:
    other = ssl.create_default_context()
    trustme.CA().configure_trust(other)
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(tls_server, other)
    assert https_get(tls_server, certs.client_context())[0] == 200


@pytest.mark.parametrize("worker", [w for w, _ in WORKER_CLASSES])
def test_client_certificate_required(worker: str, certs: Certs) -> None:
    """--cert-reqs 2 (with the handshake done on accept: --do-handshake-on-connect)."""
    srv = _start(worker, certs, "--cert-reqs", "2", "--ca-certs", str(certs.ca_file),
                 "--do-handshake-on-connect")
    try:
        pids = srv.worker_pids()
        try:  # TLS 1.3: the refusal may only show on the client's first read
            refused, _ = https_get(srv, certs.client_context(with_cert=False))
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            refused = 0
        assert refused == 0
        status, env = https_get(srv, certs.client_context(with_cert=True))
        assert status == 200 and env["wsgi.url_scheme"] == "https"
        assert srv.worker_pids() == pids
    finally:
        srv.stop()


def test_proxy_header_before_the_tls_handshake(tls_server: ServerProcess, certs: Certs) -> None:
    """A TCP proxy (HAProxy ``send-proxy``) writes the PROXY header in clear, then TLS.
    The server takes PROXY headers from 127.0.0.2 only (see ``tls_server``)."""
    with socket.create_connection(
        (tls_server.host, tls_server.port), timeout=10, source_address=(PROXY_PEER, 0)
    ) as raw:
        raw.sendall(b"PROXY TCP4 203.0.113.9 192.0.2.1 5555 443\r\n")
        with certs.client_context().wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(GET)
            data = recv_all(s)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), data[:300]
    env = json.loads(body)
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("203.0.113.9", "https")
