"""PROXY protocol v1 and v2 (HAProxy), sans-IO, strict.

With ``--proxy-protocol`` a connection from a peer listed in ``--proxy-allow-from``
(``proxy_allow_ips``) must begin with a PROXY header naming the real client; the
header is parsed here and the connection is refused (``ParseError(400)``) if it is
missing or malformed.  Peers that are not allowed are served as plain HTTP: a PROXY
header from them is not a valid request line and gets a 400 from the HTTP parser,
so nobody else can forge client addresses.

Workers call one function on every new connection, before reading anything else
and before a TLS handshake (the header travels in clear ahead of TLS)::

    peer, sockname = accept_proxy(sock, settings, peer, sockname)   # blocking sockets

Event-loop workers use the parser directly::

    parser = proxy_parser(settings, peer)       # None: no PROXY header expected
    header = parser.feed(data)                  # None until complete
    peer, sockname = header.addresses(peer, sockname); data = header.rest

:meth:`ProxyHeaderParser.want` says how many bytes may be read without reading past
the header, so blocking readers never consume bytes that belong to TLS or HTTP.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import TYPE_CHECKING, Any, NamedTuple, Union

from corral.server.http.errors import ClientDisconnected, ParseError

if TYPE_CHECKING:
    from corral.server.config import Settings

Address = Union[tuple[str, int], str]

V1_PREFIX = b"PROXY "
V1_MAX = 107  # the longest v1 line, CRLF included
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_HEADER = 16  # signature, version/command, family/protocol, length
_V1_MIN = len(b"PROXY UNKNOWN\r\n")
_V2_LOCAL, _V2_PROXY = 0x0, 0x1
_AF_UNSPEC, _AF_INET, _AF_INET6, _AF_UNIX = 0x0, 0x1, 0x2, 0x3
_PROTO_STREAM = 0x1
_ADDRESS_SIZE = {_AF_INET: 12, _AF_INET6: 36, _AF_UNIX: 216}


class ProxyHeader(NamedTuple):
    """A complete PROXY header: who the proxy says the connection is between."""

    source: Address | None  # None: LOCAL/UNKNOWN, keep the socket's own address
    destination: Address | None
    rest: bytes  # bytes received after the header (already the client's data)

    def addresses(self, peer: Any, sockname: Any) -> tuple[Any, Any]:
        """(peer, sockname) to use for the request: the header's, else the socket's."""
        if self.source is None:
            return peer, sockname
        return self.source, self.destination if self.destination is not None else sockname


def _fail(reason: str) -> ParseError:
    return ParseError(400, f"invalid PROXY header: {reason}")


def _port(text: bytes) -> int:
    if not text.isdigit() or len(text) > 5 or (len(text) > 1 and text[:1] == b"0"):
        raise _fail("bad port")
    port = int(text)
    if port > 65535:
        raise _fail("port out of range")
    return port


def _ip(text: bytes, version: int) -> str:
    if not text or b"%" in text:
        raise _fail("bad address")
    try:
        addr = ipaddress.ip_address(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise _fail("bad address") from None
    if addr.version != version:
        raise _fail("address does not match the protocol family")
    return str(addr)


def parse_v1(line: bytes) -> tuple[Address | None, Address | None]:
    """Parse one complete v1 line (CRLF included)."""
    if not line.endswith(b"\r\n") or b"\r" in line[:-2] or b"\n" in line[:-2]:
        raise _fail("bad line ending")
    fields = line[:-2].split(b" ")
    if fields[0] != b"PROXY" or len(fields) < 2:
        raise _fail("bad signature")
    if fields[1] == b"UNKNOWN":
        return None, None  # whatever follows UNKNOWN is ignored by definition
    if fields[1] not in (b"TCP4", b"TCP6") or len(fields) != 6:
        raise _fail("bad v1 line")
    version = 4 if fields[1] == b"TCP4" else 6
    source = (_ip(fields[2], version), _port(fields[4]))
    destination = (_ip(fields[3], version), _port(fields[5]))
    return source, destination


def _check_tlvs(block: bytes) -> None:
    """The TLV vectors after the addresses must exactly fill the header."""
    i = 0
    while i < len(block):
        if len(block) - i < 3:
            raise _fail("truncated TLV")
        (length,) = struct.unpack_from("!H", block, i + 1)
        i += 3 + length
        if i > len(block):
            raise _fail("truncated TLV")


def _unix_path(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1")


def parse_v2(header: bytes) -> tuple[Address | None, Address | None]:
    """Parse one complete v2 header (signature and payload)."""
    ver_cmd, fam, length = struct.unpack_from("!BBH", header, 12)
    if ver_cmd >> 4 != 2:
        raise _fail("unsupported version")
    command = ver_cmd & 0xF
    if command == _V2_LOCAL:
        return None, None  # the proxy's own health check: the block is discarded
    if command != _V2_PROXY:
        raise _fail("unknown command")
    family, proto = fam >> 4, fam & 0xF
    if family > _AF_UNIX or proto > 2:
        raise _fail("unknown address family or protocol")
    if family == _AF_UNSPEC:
        return None, None  # origin unknown: the address block is ignored
    if proto != _PROTO_STREAM:
        raise _fail("not a stream connection")
    payload = header[V2_HEADER : V2_HEADER + length]
    size = _ADDRESS_SIZE[family]
    if len(payload) < size:
        raise _fail("address block too short")
    _check_tlvs(payload[size:])
    if family == _AF_INET:
        src, dst, sport, dport = struct.unpack_from("!4s4sHH", payload)
        return (str(ipaddress.IPv4Address(src)), sport), (str(ipaddress.IPv4Address(dst)), dport)
    if family == _AF_INET6:
        src, dst, sport, dport = struct.unpack_from("!16s16sHH", payload)
        return (str(ipaddress.IPv6Address(src)), sport), (str(ipaddress.IPv6Address(dst)), dport)
    return _unix_path(payload[:108]), _unix_path(payload[108:216])


class ProxyHeaderParser:
    """Incremental parser for the PROXY header at the start of a connection."""

    def __init__(self) -> None:
        self.buf = b""
        self.done = False

    def want(self) -> int:
        """Bytes that can be read now without reading past the end of the header."""
        buf = self.buf
        if len(buf) < _V1_MIN:
            return _V1_MIN - len(buf)
        if buf.startswith(V1_PREFIX):
            return 1
        if len(buf) < V2_HEADER:
            return V2_HEADER - len(buf)
        return max(1, V2_HEADER + struct.unpack_from("!H", buf, 14)[0] - len(buf))

    def feed(self, data: bytes) -> ProxyHeader | None:
        """Add bytes; return the header once complete, raise ParseError if malformed."""
        if self.done:
            raise RuntimeError("the PROXY header was already parsed")
        buf = self.buf = self.buf + data
        head = buf[: len(V2_SIGNATURE)]
        if not (V1_PREFIX.startswith(head[:6]) or V2_SIGNATURE.startswith(head)):
            raise ParseError(400, "PROXY header expected")
        if buf.startswith(V1_PREFIX):
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) >= V1_MAX:
                    raise _fail("v1 line too long")
                return None
            if end + 1 > V1_MAX:
                raise _fail("v1 line too long")
            source, destination = parse_v1(buf[: end + 1])
            return self._complete(source, destination, end + 1)
        if len(buf) < V2_HEADER:
            return None
        total = V2_HEADER + struct.unpack_from("!H", buf, 14)[0]
        if len(buf) < total:
            return None
        source, destination = parse_v2(buf[:total])
        return self._complete(source, destination, total)

    def _complete(self, source: Address | None, destination: Address | None, size: int) -> ProxyHeader:
        self.done = True
        rest, self.buf = self.buf[size:], b""
        return ProxyHeader(source, destination, rest)


class PeerTrust:
    """The peers a trust setting names (``--forwarded-allow-ips``,
    ``--proxy-allow-from``): addresses, networks in CIDR notation (IPv4 or IPv6,
    e.g. ``10.0.0.0/8``, ``fd00::/8``) or ``*`` for every peer.  Unix socket
    peers are always trusted: only local processes can connect.  Entries that are
    neither are ignored here (the settings refuse them when they are read)."""

    __slots__ = ("any", "networks", "_seen")

    def __init__(self, entries: list[str] | str) -> None:
        if isinstance(entries, str):
            entries = entries.split(",")
        entries = [e.strip() for e in entries if e.strip()]
        self.any = "*" in entries
        self.networks: list[Any] = []
        for entry in entries:
            net = parse_network(entry)
            if net is not None:
                self.networks.append(net)
        self._seen: dict[str, bool] = {}  # peer address -> trusted (bounded)

    def __call__(self, peer: Any) -> bool:
        """Whether ``peer`` (a socket address, or a unix socket's path) is trusted."""
        if not isinstance(peer, tuple) or self.any:
            return True
        host = str(peer[0])
        known = self._seen.get(host)
        if known is None:
            known = self._match(host)
            if len(self._seen) >= 1024:
                self._seen.clear()
            self._seen[host] = known
        return known

    def _match(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:a.b.c.d on a dual-stack socket
        return any(ip in net or (mapped is not None and mapped in net)
                   for net in self.networks)


def parse_network(entry: str) -> Any:
    """``entry`` as an address or network (host bits allowed), or None."""
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return None


_TRUSTS: dict[tuple[str, ...], PeerTrust] = {}


def proxy_allowed(peer: Any, allowed: list[str] | str) -> bool:
    """Whether ``peer`` may send a PROXY header (addresses, CIDR networks or ``*``)."""
    key = (allowed,) if isinstance(allowed, str) else tuple(allowed)
    trust = _TRUSTS.get(key)
    if trust is None:
        if len(_TRUSTS) >= 16:
            _TRUSTS.clear()
        trust = _TRUSTS[key] = PeerTrust(allowed)
    return trust(peer)


def proxy_parser(settings: Settings, peer: Any) -> ProxyHeaderParser | None:
    """A parser when this connection must start with a PROXY header, else None."""
    if not settings.proxy_protocol:
        return None
    if not proxy_allowed(peer, settings.proxy_allow_ips):
        return None
    return ProxyHeaderParser()


def accept_proxy(sock: socket.socket, settings: Settings, peer: Any, sockname: Any) -> tuple[Any, Any]:
    """For blocking sockets: read the PROXY header (exactly, nothing after it) if one
    is expected; return the (peer, sockname) the request should see.

    Raises :class:`ParseError` (answer 400 and close) on a malformed header and
    :class:`ClientDisconnected` when the client closes first; a socket timeout
    (``socket.timeout``) propagates so the worker's header timeout applies.
    """
    parser = proxy_parser(settings, peer)
    if parser is None:
        return peer, sockname
    while True:
        data = sock.recv(parser.want())
        if not data:
            raise ClientDisconnected("connection closed inside the PROXY header")
        header = parser.feed(data)
        if header is not None:
            return header.addresses(peer, sockname)
