"""Run the request cycle without sockets: raw request bytes in, wire bytes out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from corral.server.config import Settings
from corral.server.http.body import BufferedBody
from corral.server.http.cycle import ConnInfo, Exchange, RequestCycle
from corral.server.http.parser import Limits, RequestHead, RequestParser
from corral.server.http.response import FileChunk
from corral.server.logging import Logger


class Harness:
    def __init__(self, tmp: Path, **overrides: Any) -> None:
        self.errlog = tmp / "error.log"
        self.acclog = tmp / "access.log"
        self.settings = Settings(errorlog=str(self.errlog), accesslog=str(self.acclog),
                                 **overrides)
        self.log = Logger(self.settings)

    def cycle(self, app: Callable[..., Any]) -> RequestCycle:
        return RequestCycle(app, self.settings, self.log)

    def run(self, app: Callable[..., Any], raw: bytes, conn: ConnInfo | None = None,
            ) -> tuple[bytes, Exchange]:
        events = RequestParser(Limits()).feed(raw)
        head = events[0]
        assert isinstance(head, RequestHead)
        body = BufferedBody(b"".join(e for e in events if isinstance(e, bytes)))
        conn = conn or ConnInfo(("10.0.0.9", 5555), ("127.0.0.1", 8000))
        ex = self.cycle(app).exchange(head, body, conn)
        out = []
        try:
            for item in ex:
                if isinstance(item, FileChunk):
                    item.file.seek(item.offset)
                    out.append(item.file.read(item.count))
                else:
                    out.append(item)
        finally:
            ex.close()
        return b"".join(out), ex

    def errors(self) -> str:
        return self.errlog.read_text() if self.errlog.exists() else ""

    def close(self) -> None:
        self.log.close()


def get(path: str = "/", extra: bytes = b"", version: bytes = b"HTTP/1.1",
        method: bytes = b"GET") -> bytes:
    host = b"Host: example.com\r\n" if version == b"HTTP/1.1" else b""
    return method + b" " + path.encode() + b" " + version + b"\r\n" + host + extra + b"\r\n"
