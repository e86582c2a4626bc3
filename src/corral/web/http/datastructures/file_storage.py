"""Uploaded files: FileStorage and a MultiDict that can hold them."""

from __future__ import annotations

import io
import mimetypes
import os
import shutil
import typing as t
from collections.abc import Iterator

from .. import werkzeug_interop
from ..header_syntax import parse_options_header
from .headers import Headers
from .structures import MultiDict


class FileStorage(metaclass=werkzeug_interop.WerkzeugKin):
    """An uploaded file: a stream plus the part's filename, name and headers (also a
    ``werkzeug.datastructures.FileStorage`` when Werkzeug is installed)."""

    def __init__(
        self,
        stream: t.Any = None,
        filename: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.name = name
        self.stream = stream if stream is not None else io.BytesIO()
        if filename is None:
            filename = getattr(stream, "name", None)
            if isinstance(filename, bytes):
                filename = filename.decode("utf-8", "replace")
            if isinstance(filename, str) and filename[:1] == "<" and filename[-1:] == ">":
                filename = None
            elif isinstance(filename, str):
                filename = os.fspath(filename)
            else:
                filename = None
        self.filename = filename
        if headers is None:
            headers = Headers()
        self.headers = headers
        if content_type is not None:
            headers["Content-Type"] = content_type
        if content_length is not None:
            headers["Content-Length"] = str(content_length)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def content_length(self) -> int:
        try:
            return int(self.headers.get("content-length") or 0)
        except ValueError:
            return 0

    @property
    def mimetype(self) -> str:
        return parse_options_header(self.content_type)[0].lower()

    @property
    def mimetype_params(self) -> dict[str, str]:
        return parse_options_header(self.content_type)[1]

    def save(self, dst: t.Any, buffer_size: int = 16384) -> None:
        """Save the file to a path or a writable file object."""
        if isinstance(dst, (str, os.PathLike)):
            with open(dst, "wb") as fh:
                shutil.copyfileobj(self.stream, fh, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def close(self) -> None:
        try:
            self.stream.close()
        except Exception:
            pass

    def __bool__(self) -> bool:
        return bool(self.filename)

    def __getattr__(self, name: str) -> t.Any:
        if name == "stream":
            raise AttributeError(name)
        return getattr(self.stream, name)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.filename!r} ({self.content_type!r})>"


def guess_mimetype(filename: str, default: str = "application/octet-stream") -> str:
    return mimetypes.guess_type(filename)[0] or default


class FileMultiDict(MultiDict):
    """A MultiDict with ``add_file`` (used to build test request bodies)."""

    def add_file(
        self, name: str, file: t.Any, filename: str | None = None, content_type: str | None = None
    ) -> None:
        if isinstance(file, FileStorage):
            value = file
        else:
            if isinstance(file, (str, os.PathLike)):
                if filename is None:
                    filename = os.fspath(file)
                file = open(file, "rb")
            if filename and content_type is None:
                content_type = guess_mimetype(filename)
            value = FileStorage(file, filename, name, content_type)
        self.add(name, value)
