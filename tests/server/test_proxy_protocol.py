"""The PROXY protocol v1/v2 parser (sans-IO), the helper workers call, and real
servers of every worker class behind a (simulated) proxy."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.server.config import Settings
from corral.server.http.errors import ClientDisconnected, ParseError
from corral.server.http.proxy import (
    V2_SIGNATURE,
    Address,
    ProxyHeader,
    ProxyHeaderParser,
    accept_proxy,
    proxy_allowed,
    proxy_parser,
)
from tests.support import WORKER_CLASSES, ServerProcess, recv_all

HTTP = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def v2(cmd: int = 1, fam: int = 0x11, payload: bytes = b"", length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return V2_SIGNATURE + struct.pack("!BBH", 0x20 | cmd, fam, size) + payload


def inet4(src: str = "10.1.2.3", dst: str = "10.0.0.1", sport: int = 5000, dport: int = 443) -> bytes:
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)


def inet6(src: str = "2001:db8::1", dst: str = "2001:db8::2", sport: int = 1, dport: int = 2) -> bytes:
    pton = socket.inet_pton
    return pton(socket.AF_INET6, src) + pton(socket.AF_INET6, dst) + struct.pack("!HH", sport, dport)


def parse_whole(data: bytes) -> ProxyHeader:
    header = ProxyHeaderParser().feed(data)
    assert header is not None
    return header


def parse_exact(stream: bytes) -> tuple[ProxyHeader, bytes]:
    """Read the stream the way a blocking worker does: want() bytes at a time."""
    parser = ProxyHeaderParser()
    while True:
        n = parser.want()
        assert n >= 1
        piece, stream = stream[:n], stream[n:]
        assert piece, "the header needs more bytes than the stream has"
        header = parser.feed(piece)
        if header is not None:
            return header, stream


# -- v1 -------------------------------------------------------------------------

V1_VALID = [
    (b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", ("192.0.2.1", 56324), ("198.51.100.2", 443)),
    (b"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", ("0.0.0.0", 0), ("255.255.255.255", 65535)),
    (b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n", ("2001:db8::1", 1), ("2001:db8::2", 2)),
    (b"PROXY TCP6 ::ffff:192.0.2.1 ::1 80 81\r\n", ("::ffff:c000:201", 80), ("::1", 81)),
    (b"PROXY UNKNOWN\r\n", None, None),
    (b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", None, None),
]


@pytest.mark.parametrize(("line", "src", "dst"), V1_VALID)
def test_v1_valid(line: bytes, src: Address | None, dst: Address | None) -> None:
    assert parse_whole(line + HTTP) == ProxyHeader(src, dst, HTTP)
    assert parse_exact(line + HTTP) == (ProxyHeader(src, dst, b""), HTTP)


def test_v1_byte_by_byte() -> None:
    parser = ProxyHeaderParser()
    line = V1_VALID[0][0]
    for b in line[:-1]:
        assert parser.feed(bytes([b])) is None
    assert parser.feed(line[-1:] + b"x") == ProxyHeader(("192.0.2.1", 56324), ("198.51.100.2", 443), b"x")


def test_v1_longest_line_accepted() -> None:
    line = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
    assert len(line) == 104
    assert parse_whole(line).source == ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535)


V1_INVALID = [
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n",  # bare LF
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",  # missing port
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 9\r\n",  # extra field
    b"PROXY TCP4  192.0.2.1 198.51.100.2 56324 443\r\n",  # double space
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n",  # trailing space
    b"PROXY tcp4 192.0.2.1 198.51.100.2 56324 443\r\n",  # lower case
    b"PROXY TCP5 192.0.2.1 198.51.100.2 56324 443\r\n",
    b"PROXY UDP4 192.0.2.1 198.51.100.2 56324 443\r\n",
    b"PROXY TCP4 256.0.2.1 198.51.100.2 56324 443\r\n",  # octet out of range
    b"PROXY TCP4 192.0.2.01 198.51.100.2 56324 443\r\n",  # leading zero
    b"PROXY TCP4 192.0.2 198.51.100.2 56324 443\r\n",  # short address
    b"PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n",  # family mismatch
    b"PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",  # family mismatch
    b"PROXY TCP6 fe80::1%eth0 2001:db8::2 1 2\r\n",  # scope id
    b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",  # port out of range
    b"PROXY TCP4 192.0.2.1 198.51.100.2 0443 443\r\n",  # leading zero in port
    b"PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 +1 443\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 44a 443\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2  443\r\n",  # empty port
    b"PROXY TCP4 192.0.2.1 198.51.100.2 1 \xb9\r\n",  # non-ASCII
    b"PROXY \r\n",
    b"PROXY UNKNOWN" + b" " * 100 + b"\r\n",  # over 107 bytes
    b"PROXY TCP4 " + b"1" * 120,  # no line end within 107 bytes
    b"PROXYTCP4 192.0.2.1 198.51.100.2 1 2\r\n",
    b"proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n",
    b" PROXY TCP4 192.0.2.1 198.51.100.2 1 2\r\n",
    HTTP,  # no PROXY header at all
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32,  # a TLS ClientHello
]


@pytest.mark.parametrize("data", V1_INVALID)
def test_v1_invalid(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_whole(data + HTTP)
    assert info.value.status == 400
    parser = ProxyHeaderParser()
    with pytest.raises(ParseError):
        for b in data + HTTP:  # fails at the latest byte it could, never accepts
            assert parser.feed(bytes([b])) is None


def test_refused_on_first_byte_that_cannot_be_a_header() -> None:
    with pytest.raises(ParseError):
        ProxyHeaderParser().feed(b"G")
    parser = ProxyHeaderParser()
    assert parser.feed(b"PROX") is None
    with pytest.raises(ParseError):
        parser.feed(b"Z")


# -- v2 -------------------------------------------------------------------------

V2_VALID = [
    (v2(payload=inet4()), ("10.1.2.3", 5000), ("10.0.0.1", 443)),
    (v2(fam=0x21, payload=inet6()), ("2001:db8::1", 1), ("2001:db8::2", 2)),
    (
        v2(fam=0x31, payload=b"/run/a.sock".ljust(108, b"\x00") + b"/run/b.sock".ljust(108, b"\x00")),
        "/run/a.sock",
        "/run/b.sock",
    ),
    (v2(cmd=0, fam=0x00), None, None),  # LOCAL: health check from the proxy
    (v2(cmd=0, fam=0x11, payload=inet4()), None, None),  # LOCAL ignores addresses
    (v2(fam=0x00, payload=b"\x00" * 5), None, None),  # UNSPEC: origin unknown
    # TLVs: ALPN, authority, NOOP padding, an empty one
    (
        v2(payload=inet4() + b"\x01\x00\x02h2" + b"\x02\x00\x05a.com" + b"\x04\x00\x03\x00\x00\x00"
           + b"\xe0\x00\x00"),
        ("10.1.2.3", 5000),
        ("10.0.0.1", 443),
    ),
    (v2(payload=inet4() + b"\x04\x00\x00" * 300), ("10.1.2.3", 5000), ("10.0.0.1", 443)),
]


@pytest.mark.parametrize(("data", "src", "dst"), V2_VALID)
def test_v2_valid(data: bytes, src: Address | None, dst: Address | None) -> None:
    assert parse_whole(data + HTTP) == ProxyHeader(src, dst, HTTP)
    assert parse_exact(data + HTTP) == (ProxyHeader(src, dst, b""), HTTP)
    parser = ProxyHeaderParser()
    for b in data[:-1]:
        assert parser.feed(bytes([b])) is None
    assert parser.feed(data[-1:]) == ProxyHeader(src, dst, b"")


V2_INVALID = [
    V2_SIGNATURE + struct.pack("!BBH", 0x11, 0x11, 12) + inet4(),  # version 1
    V2_SIGNATURE + struct.pack("!BBH", 0x31, 0x11, 12) + inet4(),  # version 3
    v2(cmd=2, payload=inet4()),  # unknown command
    v2(cmd=0xF, payload=inet4()),
    v2(fam=0x41, payload=inet4()),  # unknown family
    v2(fam=0x13, payload=inet4()),  # unknown protocol
    v2(fam=0x12, payload=inet4()),  # DGRAM on a stream connection
    v2(fam=0x10, payload=inet4()),  # INET with UNSPEC protocol
    v2(payload=inet4()[:11]),  # address block too short
    v2(fam=0x21, payload=inet4()),  # INET6 needs 36 bytes
    v2(fam=0x31, payload=b"\x00" * 100),  # UNIX needs 216 bytes
    v2(payload=inet4() + b"\x01\x00"),  # truncated TLV header
    v2(payload=inet4() + b"\x01\x00\x05ab"),  # TLV longer than the header
    V2_SIGNATURE[:-1] + b"X" + struct.pack("!BBH", 0x21, 0x11, 12) + inet4(),  # bad signature
]


@pytest.mark.parametrize("data", V2_INVALID)
def test_v2_invalid(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_whole(data + HTTP)
    assert info.value.status == 400


def test_v2_waits_for_the_whole_length() -> None:
    data = v2(payload=inet4() + b"\x04\x00\x10" + b"\x00" * 16)
    parser = ProxyHeaderParser()
    assert parser.feed(data[:20]) is None
    assert parser.want() == len(data) - 20
    assert parser.feed(data[20:]) is not None


def test_feed_after_completion_is_a_programming_error() -> None:
    parser = ProxyHeaderParser()
    assert parser.feed(b"PROXY UNKNOWN\r\n") is not None
    with pytest.raises(RuntimeError):
        parser.feed(b"x")


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=300), st.integers(1, 50))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes, step: int) -> None:
    for prefix in (b"", b"PROXY ", V2_SIGNATURE):
        parser = ProxyHeaderParser()
        stream = prefix + data
        try:
            for i in range(0, len(stream), step):
                if parser.feed(stream[i : i + step]) is not None:
                    break
        except ParseError as exc:
            assert exc.status == 400


# -- who may send a header ---------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "allowed", "ok"),
    [
        (("127.0.0.1", 5), ["127.0.0.1", "::1"], True),
        (("10.0.0.7", 5), ["127.0.0.1", "::1"], False),
        (("10.0.0.7", 5), ["10.0.0.0/8"], True),
        (("10.0.0.7", 5), "192.168.0.1, 10.0.0.7", True),
        (("11.0.0.7", 5), ["10.0.0.0/8"], False),
        (("::1", 5, 0, 0), ["127.0.0.1", "::1"], True),
        (("2001:db8::5", 5, 0, 0), ["2001:db8::/32"], True),
        (("203.0.113.9", 5), ["*"], True),
        (("203.0.113.9", 5), ["not-an-ip", "203.0.113.9"], True),
        ("", ["127.0.0.1"], True),  # unix socket peer
    ],
)
def test_proxy_allowed(peer: object, allowed: list[str] | str, ok: bool) -> None:
    assert proxy_allowed(peer, allowed) is ok


def test_proxy_parser_only_when_enabled_and_allowed() -> None:
    on = Settings(proxy_protocol=True, proxy_allow_ips=["127.0.0.1"])
    off = Settings(proxy_protocol=False, proxy_allow_ips=["*"])
    assert isinstance(proxy_parser(on, ("127.0.0.1", 9)), ProxyHeaderParser)
    assert proxy_parser(on, ("10.0.0.1", 9)) is None
    assert proxy_parser(off, ("127.0.0.1", 9)) is None


def test_header_addresses_fall_back_to_the_socket() -> None:
    assert ProxyHeader(None, None, b"").addresses(("1.1.1.1", 1), ("2.2.2.2", 2)) == (
        ("1.1.1.1", 1),
        ("2.2.2.2", 2),
    )
    assert ProxyHeader(("3.3.3.3", 3), None, b"").addresses(("1.1.1.1", 1), "s") == (("3.3.3.3", 3), "s")


# -- accept_proxy on a real socket pair -----------------------------------------

ON = Settings(proxy_protocol=True, proxy_allow_ips=["*"])


@pytest.mark.parametrize("header", [V1_VALID[0][0], v2(payload=inet4() + b"\x04\x00\x02ab")])
def test_accept_proxy_reads_exactly_the_header(header: bytes) -> None:
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5)
        b.sendall(header + HTTP)
        peer, sockname = accept_proxy(a, ON, ("127.0.0.1", 1), ("127.0.0.1", 2))
        assert peer != ("127.0.0.1", 1)
        b.close()
        rest = b""
        while chunk := a.recv(4096):
            rest += chunk
        assert rest == HTTP  # nothing after the header was consumed (TLS-safe)


def test_accept_proxy_passthrough_when_not_expected() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.sendall(HTTP)
        off = Settings(proxy_protocol=False, proxy_allow_ips=["*"])
        assert accept_proxy(a, off, ("1.1.1.1", 1), "x") == (("1.1.1.1", 1), "x")
        assert a.recv(4096) == HTTP


def test_accept_proxy_refuses_garbage_and_eof() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5)
        b.sendall(HTTP)
        with pytest.raises(ParseError):
            accept_proxy(a, ON, ("127.0.0.1", 1), None)
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5)
        b.sendall(b"PROXY TCP4 1.2.3.4")
        b.shutdown(socket.SHUT_WR)
        with pytest.raises(ClientDisconnected):
            accept_proxy(a, ON, ("127.0.0.1", 1), None)


def test_accept_proxy_times_out_on_a_trickle() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(0.2)
        b.sendall(b"PROXY TCP4 ")
        with pytest.raises(socket.timeout):
            accept_proxy(a, ON, ("127.0.0.1", 1), None)


# -- real servers of every worker class -------------------------------------------


@pytest.fixture(scope="module", params=[w for w, _ in WORKER_CLASSES])
def proxied(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        ["corpus_echo:application", "-b", "127.0.0.1:0", "-w", "1",
         *dict(WORKER_CLASSES)[request.param], "--proxy-protocol",
         "--proxy-allow-from", "127.0.0.1", "--header-timeout", "3"]
    )
    srv.start()
    try:
        srv.wait_for(r"Booting worker with pid: \d+")
        yield srv
    finally:
        srv.stop()


def exchange(srv: ServerProcess, data: bytes, source: str = "127.0.0.1", bytewise: bool = False) -> bytes:
    with socket.create_connection((srv.host, srv.port), timeout=10, source_address=(source, 0)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for piece in [data[i : i + 1] for i in range(len(data))] if bytewise else [data]:
                s.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return recv_all(s)


def echoed(answer: bytes) -> dict[str, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), answer[:300]
    env: dict[str, str] = json.loads(body)
    return env


CLOSE = b"GET /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize(
    ("header", "addr", "port"),
    [
        (b"PROXY TCP4 203.0.113.7 192.0.2.1 4242 443\r\n", "203.0.113.7", "4242"),
        (b"PROXY TCP6 2001:db8::7 2001:db8::1 4243 443\r\n", "2001:db8::7", "4243"),
        (v2(payload=inet4("203.0.113.8", "192.0.2.1", 4244, 443)), "203.0.113.8", "4244"),
        (v2(fam=0x21, payload=inet6("2001:db8::8")), "2001:db8::8", "1"),
    ],
    ids=["v1-tcp4", "v1-tcp6", "v2-inet", "v2-inet6"],
)
def test_server_uses_the_proxied_client_address(
    proxied: ServerProcess, header: bytes, addr: str, port: str, bytewise: bool
) -> None:
    env = echoed(exchange(proxied, header + CLOSE, bytewise=bytewise))
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == (addr, port)


@pytest.mark.parametrize("header", [b"PROXY UNKNOWN\r\n", v2(cmd=0, fam=0x00)], ids=["v1", "v2"])
def test_server_keeps_the_socket_address_for_local_and_unknown(
    proxied: ServerProcess, header: bytes
) -> None:
    assert echoed(exchange(proxied, header + CLOSE))["REMOTE_ADDR"] == "127.0.0.1"


@pytest.mark.parametrize(
    "data",
    [CLOSE, b"PROXY TCP4 203.0.113.7 192.0.2.1 04242 443\r\n" + CLOSE, v2(fam=0x12, payload=inet4()) + CLOSE],
    ids=["missing", "bad-v1", "bad-v2"],
)
def test_server_refuses_missing_or_malformed_headers(proxied: ServerProcess, data: bytes) -> None:
    pids = proxied.worker_pids()
    answer = exchange(proxied, data)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert proxied.worker_pids() == pids


def test_peers_not_allowed_cannot_send_a_header(proxied: ServerProcess) -> None:
    # 127.0.0.2 is loopback too, but not in --proxy-allow-from.
    env = echoed(exchange(proxied, CLOSE, source="127.0.0.2"))
    assert env["REMOTE_ADDR"] == "127.0.0.2"
    forged = exchange(proxied, b"PROXY TCP4 203.0.113.7 192.0.2.1 4242 443\r\n" + CLOSE, source="127.0.0.2")
    assert forged.startswith(b"HTTP/1.1 400 "), forged[:200]
    forged = exchange(proxied, v2(payload=inet4()) + CLOSE, source="127.0.0.2")
    assert forged.startswith(b"HTTP/1.1 400 "), forged[:200]
