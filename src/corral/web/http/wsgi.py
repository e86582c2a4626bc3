"""WSGI plumbing: environ helpers, a length-limited input stream, file and range wrappers."""

from __future__ import annotations

import io
import typing as t
from collections.abc import Callable, Iterable, Iterator

from .exceptions import ClientDisconnected, RequestEntityTooLarge, SecurityError

WSGIEnvironment = dict[str, t.Any]


def environ_text(environ: WSGIEnvironment, key: str, default: str = "") -> str:
    """A WSGI (latin-1) string from the environ, re-decoded as UTF-8."""
    value = environ.get(key, default)
    if value.isascii():
        return value
    return value.encode("latin1").decode("utf-8", "replace")


def get_host(environ: WSGIEnvironment, trusted_hosts: Iterable[str] | None = None) -> str:
    """The request host (Host header or SERVER_NAME:PORT), default port removed."""
    host = environ.get("HTTP_HOST")
    if host is None:
        host = environ.get("SERVER_NAME", "")
        port = environ.get("SERVER_PORT")
        if port:
            host = f"{host}:{port}"
    scheme = environ.get("wsgi.url_scheme", "http")
    if scheme in ("http", "ws") and host.endswith(":80"):
        host = host[:-3]
    elif scheme in ("https", "wss") and host.endswith(":443"):
        host = host[:-4]
    if trusted_hosts is not None and not host_is_trusted(host, trusted_hosts):
        raise SecurityError(f"Host {host!r} is not trusted.")
    return host


def host_is_trusted(hostname: str, trusted_list: Iterable[str]) -> bool:
    if not hostname:
        return False
    if isinstance(trusted_list, str):
        trusted_list = [trusted_list]
    name = hostname.rsplit(":", 1)[0] if not hostname.endswith("]") else hostname
    name = name.lower()
    for ref in trusted_list:
        suffix = ref.startswith(".")
        ref = ref.lstrip(".").lower()
        if name == ref or (suffix and name.endswith("." + ref)):
            return True
    return False


def get_content_length(environ: WSGIEnvironment) -> int | None:
    if environ.get("HTTP_TRANSFER_ENCODING", "") == "chunked":
        return None
    value = environ.get("CONTENT_LENGTH")
    if value:
        try:
            return max(0, int(value))
        except ValueError:
            return None
    return None


class LimitedStream(io.RawIOBase):
    """Reads at most ``limit`` bytes from a WSGI input stream.

    ``is_max`` makes reading past the limit a 413 (the limit is the app's maximum);
    otherwise a short read means the client went away (400).
    """

    def __init__(self, stream: t.Any, limit: int, is_max: bool = False) -> None:
        self._stream = stream
        self._pos = 0
        self.limit = limit
        self._limit_is_max = is_max

    @property
    def is_exhausted(self) -> bool:
        return self._pos >= self.limit

    def readable(self) -> bool:
        return True

    def _exhausted(self) -> bytes:
        if self._limit_is_max:
            more = self._stream.read(1)
            if more:
                raise RequestEntityTooLarge()
        return b""

    def read(self, size: int | None = -1) -> bytes:
        remaining = self.limit - self._pos
        if remaining <= 0:
            return self._exhausted()
        if size is None or size < 0 or size > remaining:
            size = remaining
        data = self._stream.read(size)
        if not data and size:
            if self._limit_is_max:
                self._pos = self.limit
                return b""
            raise ClientDisconnected()
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        chunks = []
        while True:
            chunk = self.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def readinto(self, buffer: t.Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        remaining = self.limit - self._pos
        if remaining <= 0:
            return self._exhausted()
        if size is None or size < 0 or size > remaining:
            size = remaining
        line = self._stream.readline(size)
        self._pos += len(line)
        return line

    def tell(self) -> int:
        return self._pos

    def exhaust(self) -> None:
        while self.read(65536):
            pass


def get_input_stream(
    environ: WSGIEnvironment, max_content_length: int | None = None
) -> t.IO[bytes]:
    """The request body stream, limited to Content-Length (and the app's maximum)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return io.BytesIO()
    content_length = get_content_length(environ)
    if content_length is not None and max_content_length is not None:
        if content_length > max_content_length:
            raise RequestEntityTooLarge()
    if "wsgi.input_terminated" in environ and environ["wsgi.input_terminated"]:
        if max_content_length is not None:
            return t.cast(t.IO[bytes], LimitedStream(stream, max_content_length, is_max=True))
        return stream
    if content_length is None:
        return io.BytesIO()
    return t.cast(t.IO[bytes], LimitedStream(stream, content_length))


class FileWrapper:
    """Iterate a file in blocks (what ``wsgi.file_wrapper`` falls back to)."""

    def __init__(self, file: t.Any, buffer_size: int = 8192) -> None:
        self.file = file
        self.buffer_size = buffer_size

    def close(self) -> None:
        if hasattr(self.file, "close"):
            self.file.close()

    def seekable(self) -> bool:
        seekable = getattr(self.file, "seekable", None)
        return bool(seekable()) if seekable is not None else hasattr(self.file, "seek")

    def seek(self, *args: t.Any) -> None:
        self.file.seek(*args)

    def tell(self) -> int | None:
        return self.file.tell() if hasattr(self.file, "tell") else None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self.file.read(self.buffer_size)
        if data:
            return data
        raise StopIteration()


def wrap_file(environ: WSGIEnvironment, file: t.Any, buffer_size: int = 8192) -> Iterable[bytes]:
    return environ.get("wsgi.file_wrapper", FileWrapper)(file, buffer_size)


class RangeWrapper:
    """Yield only ``length`` bytes starting at ``start`` of an iterable or file wrapper."""

    def __init__(self, iterable: t.Any, start: int = 0, length: int | None = None) -> None:
        self.iterable = iterable
        self.byte_range = None if length is None else start + length
        self.start = start
        self.end_byte = self.byte_range
        file: t.Any = getattr(iterable, "file", None) if not hasattr(iterable, "seekable") else iterable
        self.seekable = file is not None and callable(getattr(file, "seek", None))
        if self.seekable:
            iterable.seek(start) if hasattr(iterable, "seek") else file.seek(start)
            self.read_length = start
        else:
            self.read_length = 0
        self._iter = iter(iterable)

    def __iter__(self) -> Iterator[bytes]:
        return self._generate()

    def _generate(self) -> Iterator[bytes]:
        pos = self.read_length
        end = self.byte_range
        for chunk in self._iter:
            if not self.seekable and pos + len(chunk) <= self.start:
                pos += len(chunk)
                continue
            lo = max(self.start - pos, 0)
            hi = len(chunk) if end is None else min(len(chunk), end - pos)
            pos += len(chunk)
            if hi > lo:
                yield chunk[lo:hi]
            if end is not None and pos >= end:
                break

    def close(self) -> None:
        if hasattr(self.iterable, "close"):
            self.iterable.close()


class ClosingIterator:
    """Iterate ``iterable``; ``close()`` closes it and calls each callback once."""

    def __init__(self, iterable: Iterable[bytes], callbacks: Iterable[Callable[[], t.Any]] = ()) -> None:
        self._iterator = iter(iterable)
        close = getattr(iterable, "close", None)
        self._callbacks = ([close] if close is not None else []) + list(callbacks)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._iterator)

    def close(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


def run_wsgi_app(
    app: Callable[..., Iterable[bytes]], environ: WSGIEnvironment, buffered: bool = False
) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
    """Call a WSGI app; return ``(app_iter, status, headers)``."""
    response: list[t.Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and response:
            raise exc_info[1].with_traceback(exc_info[2])
        response[:] = [status, headers]
        return written.append

    app_rv = app(environ, start_response)
    close = getattr(app_rv, "close", None)
    app_iter: Iterable[bytes] = iter(app_rv)
    if buffered or not response:
        try:
            app_iter = list(app_iter)
        finally:
            if close is not None:
                close()
        close = None
    if written:
        app_iter = [*written, *app_iter]
    if close is not None:
        app_iter = ClosingIterator(app_iter, [close])
    return app_iter, response[0], response[1]
