"""Streaming form parsing (urlencoded and multipart) built on python-multipart."""

from __future__ import annotations

import io
import logging
import tempfile
import typing as t
from urllib.parse import unquote_plus

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, QuerystringParser

from .datastructures.file_storage import FileStorage
from .datastructures.headers import Headers
from .datastructures.structures import ImmutableMultiDict, MultiDict
from .exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from .parsing import parse_options_header
from .wsgi import get_content_length, get_input_stream

if t.TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks, QuerystringCallbacks

# malformed bodies become 400s here; keep the parser's own log lines off stderr
logging.getLogger("python_multipart").addHandler(logging.NullHandler())

CHUNK_SIZE = 64 * 1024
SPOOL_MAX_SIZE = 500 * 1024
WSGIEnvironment = dict[str, t.Any]


class SpooledUpload(tempfile.SpooledTemporaryFile):
    """In memory up to 500 KB, then a temporary file; closed quietly when collected."""

    def __del__(self) -> None:
        if not self.closed:
            self.close()


def default_stream_factory(
    total_content_length: int | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    content_length: int | None = None,
) -> t.IO[bytes]:
    """Memory for small uploads, a temporary file once past 500 KB."""
    return t.cast(t.IO[bytes], SpooledUpload(max_size=SPOOL_MAX_SIZE))


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _Limits:
    def __init__(self, max_form_memory_size: int | None, max_form_parts: int | None) -> None:
        self.max_memory = max_form_memory_size
        self.max_parts = max_form_parts
        self.parts = 0

    def count_part(self) -> None:
        self.parts += 1
        if self.max_parts is not None and self.parts > self.max_parts:
            raise RequestEntityTooLarge()

    def check_memory(self, size: int) -> None:
        if self.max_memory is not None and size > self.max_memory:
            raise RequestEntityTooLarge()


def _feed(parser: t.Any, stream: t.IO[bytes]) -> int:
    """Write the whole stream into ``parser``; return the number of bytes fed."""
    total = 0
    while True:
        chunk = stream.read(CHUNK_SIZE)
        if not chunk:
            break
        total += len(chunk)
        parser.write(chunk)
    parser.finalize()
    return total


def _parse_urlencoded(
    stream: t.IO[bytes], limits: _Limits, content_length: int | None
) -> list[tuple[str, str]]:
    if content_length is not None:
        limits.check_memory(content_length)
    fields: list[tuple[str, str]] = []
    name = bytearray()
    value = bytearray()
    size = 0

    def on_field_start() -> None:
        limits.count_part()
        del name[:], value[:]

    def on_field_name(data: bytes, start: int, end: int) -> None:
        nonlocal size
        size += end - start
        limits.check_memory(size)
        name.extend(data[start:end])

    def on_field_data(data: bytes, start: int, end: int) -> None:
        nonlocal size
        size += end - start
        limits.check_memory(size)
        value.extend(data[start:end])

    def on_field_end() -> None:
        key = unquote_plus(bytes(name).decode("utf-8", "replace"), errors="replace")
        val = unquote_plus(bytes(value).decode("utf-8", "replace"), errors="replace")
        fields.append((key, val))

    callbacks: QuerystringCallbacks = {
        "on_field_start": on_field_start,
        "on_field_name": on_field_name,
        "on_field_data": on_field_data,
        "on_field_end": on_field_end,
    }
    _feed(QuerystringParser(callbacks), stream)
    return fields


class _MultipartCollector:
    """Callbacks for MultipartParser: builds fields and FileStorage objects."""

    def __init__(self, limits: _Limits, stream_factory: t.Callable[..., t.IO[bytes]]) -> None:
        self.limits = limits
        self.stream_factory = stream_factory
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.ended = False
        self.in_part = False
        self._headers: list[tuple[str, str]] = []
        self._hfield = bytearray()
        self._hvalue = bytearray()
        self._buffer = bytearray()
        self._file: t.IO[bytes] | None = None
        self._file_size = 0

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": lambda d, s, e: self._hfield.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._hvalue.extend(d[s:e]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.limits.count_part()
        self.in_part = True
        self._headers = []
        self._buffer = bytearray()
        self._file = None
        self._file_size = 0

    def on_header_end(self) -> None:
        self._headers.append((_text(bytes(self._hfield)).strip(), _text(bytes(self._hvalue)).strip()))
        del self._hfield[:], self._hvalue[:]

    def on_headers_finished(self) -> None:
        headers = Headers(self._headers)
        disposition, params = parse_options_header(headers.get("content-disposition"))
        if disposition.lower() != "form-data" or "name" not in params:
            raise BadRequest("Missing or invalid Content-Disposition in a form-data part.")
        self._name = params["name"]
        self._filename = params.get("filename")
        self._part_headers = headers
        if self._filename is not None:
            self._file = self.stream_factory(
                None, headers.get("content-type"), self._filename, None
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.write(data[start:end])
            self._file_size += end - start
        else:
            self._buffer.extend(data[start:end])
            self.limits.check_memory(len(self._buffer))

    def on_part_end(self) -> None:
        self.in_part = False
        if self._file is not None:
            self._file.seek(0)
            storage = FileStorage(
                self._file,
                self._filename,
                self._name,
                headers=self._part_headers,
            )
            self.files.append((self._name, storage))
        else:
            _mt, ct_params = parse_options_header(self._part_headers.get("content-type"))
            charset = ct_params.get("charset", "utf-8")
            try:
                value = bytes(self._buffer).decode(charset, "replace")
            except LookupError:
                value = bytes(self._buffer).decode("utf-8", "replace")
            self.fields.append((self._name, value))

    def on_end(self) -> None:
        self.ended = True

    def close_files(self) -> None:
        for _name, storage in self.files:
            storage.close()
        if self._file is not None:
            self._file.close()


class _EmptyPartFixer:
    """Rewrites a body so that a part with no data always has the CRLF that ends
    its (empty) content before the next delimiter.

    Some encoders (Werkzeug's test client among them) write an empty part as
    its headers, the blank line, then the delimiter at once: the CRLF of the
    blank line doubles as the one that belongs to the delimiter.  The parser
    needs that CRLF twice, so it is inserted.  Everything else passes unchanged,
    including bodies that are malformed in other ways.
    """

    PREAMBLE, HEADERS, DATA_START, DATA, DELIMITED, DONE = range(6)

    def __init__(self, boundary: bytes) -> None:
        self.dash = b"--" + boundary
        self.delimiter = b"\r\n" + self.dash
        self.state = self.PREAMBLE
        self.pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self.pending + chunk
        self.pending = b""
        out: list[bytes] = []
        pos = 0
        while True:
            state = self.state
            if state == self.DONE:
                out.append(data[pos:])
                break
            if state == self.PREAMBLE:
                if data.startswith(self.dash, pos):
                    end = pos + len(self.dash)
                else:
                    found = data.find(self.delimiter, pos)
                    end = -1 if found < 0 else found + len(self.delimiter)
                keep = len(self.delimiter)
                next_state = self.DELIMITED
            elif state == self.HEADERS:
                found = data.find(b"\r\n\r\n", pos)
                end = -1 if found < 0 else found + 4
                keep = 3
                next_state = self.DATA_START
            elif state == self.DATA_START:
                if len(data) - pos < len(self.dash):
                    break
                if data.startswith(self.dash, pos):  # an empty part: add its CRLF
                    out.append(b"\r\n" + self.dash)
                    pos += len(self.dash)
                    self.state = self.DELIMITED
                else:
                    self.state = self.DATA
                continue
            elif state == self.DATA:
                found = data.find(self.delimiter, pos)
                end = -1 if found < 0 else found + len(self.delimiter)
                keep = len(self.delimiter) - 1
                next_state = self.DELIMITED
            else:  # DELIMITED: "--" closes the body, anything else starts headers
                if len(data) - pos < 2:
                    break
                self.state = self.DONE if data.startswith(b"--", pos) else self.HEADERS
                continue
            if end < 0:
                cut = max(pos, len(data) - keep)
                out.append(data[pos:cut])
                pos = cut
                break
            out.append(data[pos:end])
            pos = end
            self.state = next_state
        self.pending = data[pos:]
        return b"".join(out)

    def flush(self) -> bytes:
        rest, self.pending = self.pending, b""
        return rest


class _FixingParser:
    """A multipart parser fed through an :class:`_EmptyPartFixer`."""

    def __init__(self, parser: MultipartParser, boundary: bytes) -> None:
        self.parser = parser
        self.fixer = _EmptyPartFixer(boundary)

    def write(self, chunk: bytes) -> None:
        data = self.fixer.feed(chunk)
        if data:
            self.parser.write(data)

    def finalize(self) -> None:
        rest = self.fixer.flush()
        if rest:
            self.parser.write(rest)
        self.parser.finalize()


def _parse_multipart(
    stream: t.IO[bytes],
    limits: _Limits,
    boundary: str | None,
    stream_factory: t.Callable[..., t.IO[bytes]],
) -> tuple[list[tuple[str, str]], list[tuple[str, FileStorage]]]:
    if not boundary:
        raise BadRequest("Missing boundary in multipart/form-data content type.")
    collector = _MultipartCollector(limits, stream_factory)
    try:
        raw_boundary = boundary.encode("latin-1")
        parser = MultipartParser(raw_boundary, collector.callbacks())
        fed = _feed(_FixingParser(parser, raw_boundary), stream)
        if fed and (not collector.ended or collector.in_part):
            raise BadRequest("Incomplete multipart/form-data body.")
    except BaseException:
        collector.close_files()
        raise
    return collector.fields, collector.files


def parse_form_data(
    environ: WSGIEnvironment,
    stream: t.IO[bytes] | None = None,
    max_content_length: int | None = None,
    max_form_memory_size: int | None = None,
    max_form_parts: int | None = None,
    cls: type[MultiDict] | None = None,
    stream_factory: t.Callable[..., t.IO[bytes]] | None = None,
) -> tuple[t.IO[bytes], MultiDict, MultiDict]:
    """Parse a form body into ``(stream, form, files)``.

    Too large a body, field or part count raises 413; a malformed body raises 400.
    Other content types give empty results and leave the stream untouched.
    """
    cls = cls or ImmutableMultiDict
    content_length = get_content_length(environ)
    if max_content_length is not None and content_length is not None:
        if content_length > max_content_length:
            raise RequestEntityTooLarge()
    if stream is None:
        stream = get_input_stream(environ, max_content_length)
    mimetype, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
    mimetype = mimetype.lower()
    limits = _Limits(max_form_memory_size, max_form_parts)
    try:
        if mimetype == "application/x-www-form-urlencoded":
            return stream, cls(_parse_urlencoded(stream, limits, content_length)), cls()
        if mimetype == "multipart/form-data":
            fields, files = _parse_multipart(
                stream, limits, options.get("boundary"), stream_factory or default_stream_factory
            )
            return stream, cls(fields), cls(files)
    except HTTPException:
        raise
    except (FormParserError, ValueError, UnicodeError) as e:
        raise BadRequest(f"Malformed form body: {e}") from None
    return stream, cls(), cls()


def parse_form_bytes(
    body: bytes, content_type: str, **kwargs: t.Any
) -> tuple[t.IO[bytes], MultiDict, MultiDict]:
    """Parse an in-memory body (convenient for tests and test clients)."""
    environ = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))}
    return parse_form_data(environ, io.BytesIO(body), **kwargs)
