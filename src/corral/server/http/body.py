"""``wsgi.input`` implementations.

* :class:`BufferedBody` -- the whole body is already here (bytes, or a spooled
  temporary file built with :class:`BodyWriter`), for workers that buffer requests.
* :class:`StreamBody` -- pulls body bytes lazily from the connection through a
  ``fill()`` callable (read from the socket, feed the parser, return the events),
  and sends ``100 Continue`` on the first read when the request asked for it.

Both are binary file-likes with ``read(n=-1)``, ``readline(n=-1)``,
``readlines(hint=-1)`` and iteration over lines; at the end of the body they
return ``b""``, never block for more.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from corral.server.http.errors import ClientDisconnected, ParseError
from corral.server.http.parser import END, RequestHead, _End

ParserEvent = RequestHead | bytes | _End


class _Readable:
    """Line-oriented helpers shared by both bodies."""

    def read(self, size: int | None = -1) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def readline(self, size: int | None = -1) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Applications may close ``wsgi.input``; the server owns it, so no-op."""


class BufferedBody(_Readable):
    """A body that is already complete in memory or in a temporary file."""

    def __init__(self, data: bytes | IO[bytes] = b"") -> None:
        self._file: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes) else data
        self.complete = True  # on the instance: read once per request

    def read(self, size: int | None = -1) -> bytes:
        return self._file.read(-1 if size is None else size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._file.readline(-1 if size is None else size)

    def release(self) -> None:
        """Free the buffer or temporary file (called by the worker when done)."""
        self._file.close()


_spool_dir: str | None = None  # --tmp-upload-dir (None: the system temporary directory)


def set_spool_dir(path: str | None) -> None:
    """Where request bodies over the spool size go (once per worker process)."""
    global _spool_dir
    _spool_dir = path


class BodyWriter:
    """Collects body pieces, spooling to a temporary file above ``spool_size``;
    a body over ``limit`` bytes (``--body-spool-limit``, 0 = no limit) raises
    ``ParseError(413)`` before a byte past it is kept."""

    def __init__(self, spool_size: int = 1 << 20, limit: int = 0) -> None:
        self._spool_size = spool_size
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._file: IO[bytes] | None = None

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._limit and self._size > self._limit:
            self._chunks = []  # nothing of it is kept
            if self._file is not None:
                self._file.close()
                self._file = None
            raise ParseError(413, "request body too large")
        if self._file is not None:
            self._file.write(data)
            return
        self._chunks.append(data)
        if self._spool_size and self._size > self._spool_size:
            self._file = tempfile.TemporaryFile(dir=_spool_dir)
            self._file.writelines(self._chunks)
            self._chunks = []

    def body(self) -> BufferedBody:
        if self._file is None:
            return BufferedBody(b"".join(self._chunks))
        self._file.seek(0)
        return BufferedBody(self._file)


class StreamBody(_Readable):
    """A body read from the connection as the application asks for it.

    ``fill()`` reads once from the connection, feeds the parser and returns the
    events produced (it raises :class:`ClientDisconnected` at end of stream).
    ``pending`` are events already parsed after the request head.  Events after
    :data:`END` (a pipelined next request) are kept in :attr:`leftover`.
    """

    def __init__(
        self,
        fill: Callable[[], Iterable[ParserEvent]],
        pending: Iterable[ParserEvent] = (),
        send_continue: Callable[[], None] | None = None,
    ) -> None:
        self._fill = fill
        self._send_continue = send_continue
        self._buf = bytearray()
        self.complete = False
        self.leftover: list[ParserEvent] = []
        self.received = 0
        self._take(pending)

    def _take(self, events: Iterable[ParserEvent]) -> None:
        for ev in events:
            if self.complete:
                self.leftover.append(ev)
            elif ev is END:
                self.complete = True
            elif isinstance(ev, bytes):
                self._buf += ev
                self.received += len(ev)

    def _pull(self) -> None:
        if self._send_continue is not None:
            send, self._send_continue = self._send_continue, None
            if not self._buf:
                send()
        self._take(self._fill())

    def read(self, size: int | None = -1) -> bytes:
        buf = self._buf
        if size is None or size < 0:
            while not self.complete:
                self._pull()
            out = bytes(buf)
            buf.clear()
            return out
        while len(buf) < size and not self.complete:
            self._pull()
        out = bytes(buf[:size])
        del buf[:size]
        return out

    def readline(self, size: int | None = -1) -> bytes:
        buf = self._buf
        start = 0
        while True:
            pos = buf.find(b"\n", start)
            if pos >= 0:
                end = pos + 1
                break
            if self.complete or (size is not None and 0 <= size <= len(buf)):
                end = len(buf)
                break
            start = len(buf)
            self._pull()
        if size is not None and 0 <= size < end:
            end = size
        out = bytes(buf[:end])
        del buf[:end]
        return out

    def drain(self, limit: int = 1 << 16) -> bool:
        """Discard the unread rest of the body (at most ``limit`` more bytes).

        True when the body ended, so the connection can carry another request.
        """
        if self._send_continue is not None and not self.complete:
            return False  # never asked for the body: the client may not send it
        self._buf.clear()
        start = self.received
        try:
            while not self.complete:
                if self.received - start > limit:
                    return False
                self._pull()
                self._buf.clear()
        except (OSError, ValueError):
            return False
        return True


__all__ = ["BodyWriter", "BufferedBody", "ClientDisconnected", "StreamBody"]
