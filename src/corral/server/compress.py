"""Response compression (``--compress``): gzip, and Brotli when the optional
``brotli`` package is installed (``pip install 'corral[brotli]'``).

:class:`Compress` wraps the loaded application.  A response is compressed when all
of these hold:

* the client accepts the encoding (``Accept-Encoding``, q-values honoured; Brotli
  preferred when both are acceptable and available);
* the method is not ``HEAD``; the status is not 1xx, 204, 206 or 304;
* the response has no ``Content-Encoding`` and no ``Content-Range``, and its
  ``Cache-Control`` does not say ``no-transform``;
* its ``Content-Type`` is compressible (``text/*``, JSON, JavaScript, XML, SVG, ...);
* its body is at least ``--compress-min-size`` bytes: known from ``Content-Length``,
  or from the body itself when the application returned a list; a streamed body
  of unknown length is compressed as it streams.

A compressed response loses ``Content-Length`` (a body returned whole gets the new
one; a stream is sent chunked), gets ``Content-Encoding`` and a weak ``ETag``.
Every response of a compressible type gets ``Vary: Accept-Encoding``, compressed or
not.  A streamed body is flushed after each chunk the application yields, so a
client reading a stream sees each part when the application produces it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:  # optional: pip install brotli
    import brotli as _brotli
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]

GZIP_LEVEL = 6
BROTLI_QUALITY = 4  # a server-side quality: fast, still smaller than gzip -6
_COMPRESSIBLE_APP = frozenset({
    "application/json", "application/javascript", "application/x-javascript",
    "application/ecmascript", "application/xml", "application/xhtml+xml",
    "application/rss+xml", "application/atom+xml", "application/manifest+json",
    "application/ld+json", "application/geo+json", "application/graphql",
    "application/x-www-form-urlencoded", "application/wasm", "application/x-ndjson",
    "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp",
    "font/ttf", "font/otf", "application/vnd.ms-fontobject",
})


def brotli_available() -> bool:
    return _brotli is not None


def accepted_encodings(header: str) -> dict[str, float]:
    """``Accept-Encoding`` -> {coding (lower case): q}; a bad q-value reads as 0."""
    result: dict[str, float] = {}
    for item in header.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        result[name] = q
    return result


def choose_encoding(header: str, brotli: bool) -> str | None:
    """The coding to answer with: ``br`` or ``gzip``, or None."""
    if not header:
        return None
    accepted = accepted_encodings(header)
    star = accepted.get("*", 0.0)
    best, best_q = None, 0.0
    for name in (("br", "gzip") if brotli else ("gzip",)):
        q = accepted.get(name, star)
        if q > best_q:
            best, best_q = name, q
    return best


def compressible(content_type: str) -> bool:
    ctype = content_type.partition(";")[0].strip().lower()
    return (ctype.startswith("text/") or ctype in _COMPRESSIBLE_APP
            or ctype.endswith(("+json", "+xml")))


class _Encoder:
    """One streaming compressor: ``chunk()`` returns what to send now (flushed)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        if encoding == "br":
            assert _brotli is not None
            self._br = _brotli.Compressor(quality=BROTLI_QUALITY)
        else:
            self._gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)

    def chunk(self, data: bytes) -> bytes:
        if self.encoding == "br":
            return bytes(self._br.process(data) + self._br.flush())
        return self._gz.compress(data) + self._gz.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        if self.encoding == "br":
            return bytes(self._br.finish())
        return self._gz.flush(zlib.Z_FINISH)

    def whole(self, data: bytes) -> bytes:
        if self.encoding == "br":
            return bytes(self._br.process(data) + self._br.finish())
        return self._gz.compress(data) + self._gz.flush(zlib.Z_FINISH)


def weak_etag(value: str) -> str:
    return value if value.startswith("W/") else f"W/{value}"


class _Stream:
    """A compressed streamed body; closing it closes the application's iterable."""

    def __init__(self, iterable: Iterable[bytes], prefix: list[bytes], encoder: _Encoder
                 ) -> None:
        self.iterable = iterable
        self.prefix = prefix
        self.encoder = encoder

    def __iter__(self) -> Iterator[bytes]:
        encoder = self.encoder
        if self.prefix:
            yield encoder.chunk(b"".join(self.prefix))
        for data in self.iterable:
            if data:
                yield encoder.chunk(data)
        tail = encoder.finish()
        if tail:
            yield tail

    def close(self) -> None:
        close = getattr(self.iterable, "close", None)
        if close is not None:
            close()


class Compress:
    """WSGI wrapper compressing ``app``'s responses (see the module docs)."""

    def __init__(self, app: WSGIApp, min_size: int = 1024) -> None:
        self.app = app
        self.min_size = min_size
        self.brotli = brotli_available()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        encoding = None
        if environ.get("REQUEST_METHOD") != "HEAD":
            encoding = choose_encoding(environ.get("HTTP_ACCEPT_ENCODING", ""), self.brotli)
        state: list[Any] = []  # [status, headers, exc_info] of the last call
        writes: list[bytes] = []

        def deferred(status: str, headers: Headers, exc_info: Any = None
                     ) -> Callable[[bytes], None]:
            if state and exc_info is None:
                raise AssertionError("start_response called twice without exc_info")
            state[:] = [status, headers, exc_info]
            return writes.append

        result = self.app(environ, deferred)
        if not state:  # a generator app calls start_response on its first step
            return self._late(result, start_response, encoding, state, writes)
        return self._respond(result, start_response, encoding, state, writes)

    def _late(self, result: Iterable[bytes], start_response: StartResponse,
              encoding: str | None, state: list[Any], writes: list[bytes]
              ) -> Iterable[bytes]:
        iterator = iter(result)
        first: list[bytes] = []
        try:
            for data in iterator:
                if data or state:
                    first.append(data)
                    break
        except BaseException:
            _close(result)
            raise
        if not state:
            _close(result)
            raise AssertionError("start_response was never called")
        return self._respond(_Rest(first, iterator, result), start_response, encoding,
                             state, writes)

    def _respond(self, result: Iterable[bytes], start_response: StartResponse,
                 encoding: str | None, state: list[Any], writes: list[bytes]
                 ) -> Iterable[bytes]:
        status, headers, exc_info = state
        code = int(status[:3]) if status[:3].isdigit() else 0
        ctype = length = cache = etag_at = None
        skip = False
        for i, (name, value) in enumerate(headers):
            lname = name.lower()
            if lname == "content-type":
                ctype = value
            elif lname == "content-length":
                length = value
            elif lname == "cache-control":
                cache = value
            elif lname == "etag":
                etag_at = i
            elif lname in ("content-encoding", "content-range"):
                skip = True
        if ctype is None or not compressible(ctype) or skip:
            start_response(status, headers, exc_info)
            return _with_writes(result, writes)
        headers = _add_vary(headers)
        if (encoding is None or code < 200 or code in (204, 206, 304)
                or (cache is not None and "no-transform" in cache.lower())
                or (length is not None and length.strip().isdigit()
                    and int(length) < self.min_size)):
            start_response(status, headers, exc_info)
            return _with_writes(result, writes)
        if result.__class__ in (list, tuple):
            body = b"".join(writes) + b"".join(result)  # type: ignore[arg-type]
            _close(result)
            if len(body) < self.min_size:
                start_response(status, headers, exc_info)
                return [body]
            data = _Encoder(encoding).whole(body)
            headers = _encoded_headers(headers, encoding, etag_at, str(len(data)))
            start_response(status, headers, exc_info)
            return [data]
        headers = _encoded_headers(headers, encoding, etag_at, None)
        start_response(status, headers, exc_info)
        return _Stream(result, writes, _Encoder(encoding))


class _Rest:
    """An iterable whose first items were already taken (to learn the headers)."""

    def __init__(self, first: list[bytes], iterator: Iterator[bytes], original: Any) -> None:
        self.first = first
        self.iterator = iterator
        self.original = original

    def __iter__(self) -> Iterator[bytes]:
        yield from self.first
        yield from self.iterator

    def close(self) -> None:
        _close(self.original)


def _close(iterable: Any) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        close()


def _with_writes(result: Iterable[bytes], writes: list[bytes]) -> Iterable[bytes]:
    if not writes:
        return result
    if result.__class__ in (list, tuple):
        return [*writes, *result]
    return _Rest(writes, iter(result), result)


def _add_vary(headers: Headers) -> Headers:
    for i, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            fields = [v.strip().lower() for v in value.split(",")]
            if "accept-encoding" in fields or "*" in fields:
                return headers
            headers = list(headers)
            headers[i] = (name, f"{value}, Accept-Encoding")
            return headers
    return [*headers, ("Vary", "Accept-Encoding")]


def _encoded_headers(headers: Headers, encoding: str, etag_at: int | None,
                     length: str | None) -> Headers:
    out: Headers = []
    for i, (name, value) in enumerate(headers):
        lname = name.lower()
        if lname == "content-length":
            continue
        if i == etag_at:
            value = weak_etag(value)
        out.append((name, value))
    out.append(("Content-Encoding", encoding))
    if length is not None:
        out.append(("Content-Length", length))
    return out
