"""A reference point, not a server: the least a WSGI server on uvloop can do.

An asyncio Protocol on uvloop that reads each request head, builds a PEP 3333
environ for it (the CGI keys, every header field as an ``HTTP_`` key (or
``CONTENT_TYPE``/``CONTENT_LENGTH``), ``wsgi.*`` keys with an empty
``wsgi.input``), calls the WSGI application with a ``start_response`` that
keeps what it is given, and writes the status line, the application's header
fields, ``Date``, ``Server`` and ``Content-Length`` and the body in one write,
keeping the connection open unless the request asked to close it.

It reads heads one of three ways (``--parse``): with corral's compiled head
scanner, which also keys the fields for the environ (``scan``, the default and
the cheapest), by splitting the head's text (``split``), or through httptools'
callbacks, one Python call per field line (``httptools``).

What it leaves out is everything a server owes its users beyond that: no
checks on the request head beyond the scanner's or httptools' own, no request
bodies, no validation of what the application gives ``start_response``, no
streaming, chunking or HEAD/204/304 framing, no error handling, no timeouts,
heartbeats, limits or logging.  So its figure is an upper bound on what a WSGI
server written in Python on uvloop can serve on this machine, set beside the
canned answer of ``raw_server.py`` (no WSGI at all) and the real servers.

    python bench/wsgi_floor.py --port 8000 bench.apps:hello
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import io
import sys
import time
from email.utils import formatdate
from typing import Any, cast

import httptools
import uvloop

from bench.raw_server import serve as serve_until_stopped
from corral.server.http.headscan import scan_head, sort_fields
from corral.server.http.strict import _CONN as _CONNECTION
from corral.server.http.strict import _NAMES
from corral.server.http.strict import _name as _name_of

BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_EMPTY = io.BytesIO()
_date = [0, b""]
_APP: list[Any] = []  # the application (set once by serve())


def _date_line() -> bytes:
    now = int(time.time())
    if now != _date[0]:
        _date[0] = now
        _date[1] = f"Date: {formatdate(now, usegmt=True)}\r\nServer: floor\r\n".encode()
    return cast(bytes, _date[1])


def respond(transport: asyncio.Transport, environ: dict[str, Any]) -> None:
    """Call the application and write its whole response."""
    said: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Any:
        said[:] = (status, headers)
        return None

    result = _APP[0](environ, start_response)
    body = b"".join(result)
    status, headers = said
    lines = [f"HTTP/1.1 {status}\r\n".encode("latin-1")]
    length = False
    for name, value in headers:
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        length = length or name.lower() == "content-length"
    lines.append(_date_line())
    if not length:
        lines.append(b"Content-Length: %d\r\n" % len(body))
    lines.append(b"\r\n")
    lines.append(body)
    transport.write(b"".join(lines))


class _Floor(asyncio.Protocol):
    base: dict[str, Any] = {}
    transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.base = dict(self.base, REMOTE_ADDR=peer[0], REMOTE_PORT=str(peer[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def bad_request(self) -> None:
        if self.transport is not None:
            self.transport.write(BAD_REQUEST)
            self.transport.close()


class HttptoolsFloor(_Floor):
    """The head read by httptools' callbacks (one Python call per field line)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.bad_request()

    def on_message_begin(self) -> None:
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        transport = self.transport
        if transport is None:
            return
        environ = self.base.copy()
        path, _, query = self.url.partition(b"?")
        environ["REQUEST_METHOD"] = self.parser.get_method().decode("ascii")
        environ["PATH_INFO"] = path.decode("latin-1")
        environ["QUERY_STRING"] = query.decode("latin-1")
        environ["SERVER_PROTOCOL"] = "HTTP/" + self.parser.get_http_version()
        for name, value in self.headers:
            key = name.decode("latin-1").upper().replace("-", "_")
            if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                environ[key] = value.decode("latin-1")
            else:
                environ["HTTP_" + key] = value.decode("latin-1")
        respond(transport, environ)
        if not self.parser.should_keep_alive():
            transport.close()


class ScanFloor(_Floor):
    """The head read by corral's compiled head scanner (C where it was built),
    its fields keyed for the environ in the same pass: the cheapest here."""

    def __init__(self) -> None:
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        pos = 0
        while True:
            scanned = scan_head(buf, pos, len(buf))  # the head and where it ends
            transport = self.transport
            if scanned is None or transport is None:
                if transport is not None and buf.find(b"\r\n\r\n", pos) < 0:
                    self.buf = buf[pos:]  # the head goes on in later reads
                    return
                self.bad_request()
                return
            method, target, minor, fields, end = scanned
            by_key, notable, _ = sort_fields(fields, _NAMES, _name_of)
            path, _, query = target.partition("?")
            environ = {**self.base, **by_key}
            environ["REQUEST_METHOD"] = method
            environ["PATH_INFO"] = path
            environ["QUERY_STRING"] = query
            environ["SERVER_PROTOCOL"] = "HTTP/1.1" if minor else "HTTP/1.0"
            respond(transport, environ)
            if not minor or any(kind == _CONNECTION and value.lower() == "close"
                                for kind, _, value in notable):
                transport.close()
                return
            pos = end
            if pos == len(buf):
                self.buf = b""
                return


class SplitFloor(_Floor):
    """The head split into lines by ``bytes.split`` (requests without a body
    only, no check of the head's form: cheaper than any parser)."""

    def __init__(self) -> None:
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            head, buf = buf[:end].decode("latin-1"), buf[end + 4:]
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split(" ")
            except ValueError:
                self.bad_request()
                return
            path, _, query = target.partition("?")
            environ = self.base.copy()
            environ["REQUEST_METHOD"] = method
            environ["PATH_INFO"] = path
            environ["QUERY_STRING"] = query
            environ["SERVER_PROTOCOL"] = version
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                key = name.upper().replace("-", "_")
                value = value.strip()
                if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                    environ[key] = value
                else:
                    environ["HTTP_" + key] = value
                    if key == "CONNECTION":
                        close = value.lower() == "close"
            transport = self.transport
            if transport is None:
                return
            respond(transport, environ)
            if close or version == "HTTP/1.0":
                transport.close()
                return


PARSERS: dict[str, type[_Floor]] = {"scan": ScanFloor, "split": SplitFloor,
                                    "httptools": HttptoolsFloor}


async def serve(host: str, port: int, app: Any, protocol: type[_Floor]) -> None:
    _APP[:] = [app]
    _Floor.base = {
        "SCRIPT_NAME": "", "SERVER_NAME": host, "SERVER_PORT": str(port),
        "SERVER_SOFTWARE": "floor",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": _EMPTY,
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    await serve_until_stopped(protocol, host, port)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--parse", choices=list(PARSERS), default="scan",
                    help="how the head is read (default: scan, the cheapest)")
    ap.add_argument("app", help="module:callable")
    args = ap.parse_args(argv)
    module, _, name = args.app.partition(":")
    app = getattr(importlib.import_module(module), name)
    protocol = PARSERS[args.parse]
    uvloop.run(serve(args.host, args.port, app, protocol))


if __name__ == "__main__":
    main()
