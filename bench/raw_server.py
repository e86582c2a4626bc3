"""A reference point, not a server: the cheapest HTTP/1.1 answer Python can give.

An asyncio Protocol on uvloop that feeds what it reads to an ``httptools``
request parser and, for every complete request, writes one fixed 200
"Hello, World!" response, keeping the connection open unless the request asked
to close it. No WSGI, no environ, no application: what is left is the event
loop, the parser and the socket, the floor under any Python server on this
machine.

    python bench/raw_server.py --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable
from typing import cast

import httptools
import uvloop

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
            b"Hello, World!")
BAD_REQUEST = (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class CannedProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(BAD_REQUEST)
                self.transport.close()

    def on_message_complete(self) -> None:
        if self.transport is None:
            return
        self.transport.write(RESPONSE)
        if not self.parser.should_keep_alive():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(factory: Callable[[], asyncio.Protocol], host: str, port: int) -> None:
    """Serve connections with ``factory``'s protocols on ``host:port`` until
    SIGTERM or SIGINT (also used by ``wsgi_floor.py``)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host, port, backlog=2048)
    stop: asyncio.Future[None] = loop.create_future()

    def on_signal() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    async with server:
        await stop


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args(argv)
    uvloop.run(serve(CannedProtocol, args.host, args.port))


if __name__ == "__main__":
    main()
