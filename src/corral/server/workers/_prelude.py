"""What may come before HTTP on an ``asyncio`` worker's connection: a PROXY
protocol header (``--proxy-protocol``), and on a TLS listener with it, the TLS
handshake that starts after that header (the raw transport is handed to a TLS
layer by :meth:`Prelude._begin_tls`).  :class:`Prelude` is a part of
:class:`corral.server.workers.asyncio.HttpProtocol`, kept apart because it is
read separately from the request path.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING, Any

from corral.server.http.cycle import ConnInfo
from corral.server.http.errors import ParseError
from corral.server.http.proxy import ProxyHeaderParser

if TYPE_CHECKING:
    from corral.server.workers.asyncio import ConnectionManager


class Prelude(asyncio.Protocol):
    """The PROXY header and TLS start of one connection (see the module docstring)."""

    __slots__ = ("tls", "proxy", "pre_tls", "special")

    tls: ssl.SSLContext | None
    proxy: ProxyHeaderParser | None
    # TLS started by this protocol (after a PROXY header): bytes read before the
    # TLS layer took the transport over, None when not in that phase
    pre_tls: bytearray | None
    special: bool  # a PROXY header or a TLS start is pending
    mgr: ConnectionManager
    closing: bool
    transport: Any
    conn: ConnInfo

    if TYPE_CHECKING:  # HttpProtocol's
        def _error(self, status: int, reason: str, exc: ParseError | None = None) -> None: ...

    def _begin_tls(self, rest: bytes) -> None:
        """Hand the raw transport to a TLS layer (listeners with --proxy-protocol,
        where the PROXY header travels in clear before the handshake)."""
        assert self.tls is not None
        loop = self.mgr.loop
        raw = self.transport
        self.pre_tls = bytearray(rest)
        self.special = True
        loop.create_task(self._tls_handshake(raw, self.tls))
        # start_tls() swaps the transport's protocol in its first step and starts
        # the handshake one loop iteration later; the bytes already read are
        # given to the TLS layer right after that, before anything else is read
        loop.call_soon(loop.call_soon, self._inject_tls, raw)

    def _inject_tls(self, raw: Any) -> None:
        data, self.pre_tls = self.pre_tls, None
        self.special = False
        proto = raw.get_protocol()
        if not data or proto is self or self.closing:
            return
        view = memoryview(bytes(data))
        while view:
            buf = proto.get_buffer(len(view))
            n = min(len(buf), len(view))
            buf[:n] = view[:n]
            proto.buffer_updated(n)
            view = view[n:]

    async def _tls_handshake(self, raw: Any, ctx: ssl.SSLContext) -> None:
        mgr = self.mgr
        try:
            tr = await mgr.loop.start_tls(raw, self, ctx, server_side=True,
                                          ssl_handshake_timeout=mgr.header_timeout or None)
        except Exception as e:
            mgr.worker.log.debug("TLS handshake failed: %s", e)
            raw.abort()
            self.connection_lost(e)  # the TLS layer never reports it
            return
        if tr is None or self.closing:
            if tr is not None:
                tr.abort()
            return
        self.transport = tr

    def _special(self, data: bytes) -> bytes:
        """Bytes before HTTP: kept for a TLS layer about to start, or a PROXY header."""
        if self.pre_tls is not None:  # TLS not started yet: keep for the TLS layer
            self.pre_tls += data
            return b""
        if self.proxy is not None:
            data = self._proxy_header(data)
            if self.proxy is None:
                self.special = False
                if self.tls is not None and not self.closing:
                    self._begin_tls(data)
                    return b""
        return data

    def _proxy_header(self, data: bytes) -> bytes:
        """Read the PROXY header this connection must start with."""
        assert self.proxy is not None
        try:
            header = self.proxy.feed(data)
        except ParseError as e:
            self.proxy = None
            self._error(e.status, e.reason)
            return b""
        if header is None:
            return b""
        self.proxy = None
        conn = self.conn
        conn.peer, conn.sockname = header.addresses(conn.peer, conn.sockname)
        conn.environ_base = None  # made again for these addresses
        return header.rest
