"""Sending files: ``send_file`` and ``send_from_directory``.

Files are handed to the server through ``environ['wsgi.file_wrapper']`` when it
offers one (corral's uses ``sendfile``), and answered conditionally: ETag and
Last-Modified validators give 304s, ``Range`` gives 206 or 416.
"""

from __future__ import annotations

import io
import mimetypes
import os
import posixpath
import unicodedata
from collections.abc import Callable, Iterator
from datetime import datetime
from time import time
from typing import IO, TYPE_CHECKING, Any, Union, cast
from urllib.parse import quote
from zlib import adler32

from .exceptions import NotFound, RequestedRangeNotSatisfiable
from .parsing import dump_options_header, http_date, quote_etag
from .response import Response

if TYPE_CHECKING:
    from .response import Response

MaxAge = Union[int, Callable[[Union[str, None]], Union[int, None]], None]

_FILENAME_SAFE = "!#$&+-.^_`|~"


class FileWrapper:
    """Iterate a file in blocks; the fallback when the server has no file wrapper."""

    def __init__(self, file: IO[bytes], buffer_size: int = 8192) -> None:
        self.file = file
        self.buffer_size = buffer_size

    def close(self) -> None:
        close = getattr(self.file, "close", None)
        if close is not None:
            close()

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self.file.read(self.buffer_size)
        if data:
            return data
        raise StopIteration()


def wrap_file(environ: dict[str, Any], file: IO[bytes], buffer_size: int = 8192) -> Any:
    """Wrap ``file`` with the server's ``wsgi.file_wrapper`` or :class:`FileWrapper`."""
    wrapper = environ.get("wsgi.file_wrapper", FileWrapper)
    return wrapper(file, buffer_size)


def safe_join(directory: str, *pathnames: str) -> str | None:
    """Join untrusted path parts below ``directory``; ``None`` if one would escape it."""
    if not directory:
        directory = "."
    parts = [directory]
    for name in pathnames:
        if name != "":
            name = posixpath.normpath(name)
        if (
            (os.path.altsep and os.path.altsep in name)
            or os.path.isabs(name)
            or name.startswith("/")
            or name == ".."
            or name.startswith("../")
            or "\x00" in name
        ):
            return None
        parts.append(name)
    return posixpath.join(*parts)


def _content_disposition(download_name: str, as_attachment: bool) -> str:
    try:
        download_name.encode("ascii")
        names = {"filename": download_name}
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", download_name)
        simple = simple.encode("ascii", "ignore").decode("ascii")
        quoted = quote(download_name, safe=_FILENAME_SAFE)
        names = {"filename": simple, "filename*": f"UTF-8''{quoted}"}
    return dump_options_header("attachment" if as_attachment else "inline", names)


def _guess_mimetype(
    download_name: str | None, as_attachment: bool, headers: dict[str, str]
) -> str:
    if download_name is None:
        raise TypeError(
            "Unable to detect the MIME type because a file name is"
            " not available. Either set 'download_name', pass a"
            " path instead of a file, or set 'mimetype'."
        )
    mimetype, encoding = mimetypes.guess_type(download_name)
    if encoding is not None and not as_attachment:
        headers["Content-Encoding"] = encoding
    return mimetype or "application/octet-stream"


def _cache_headers(max_age: int | None) -> dict[str, str]:
    if max_age is None:
        return {"Cache-Control": "no-cache"}
    if max_age > 0:
        control = f"public, max-age={max_age}"
    else:
        control = f"no-cache, max-age={max_age}"
    return {"Cache-Control": control, "Expires": http_date(int(time() + max_age))}


def send_file(
    path_or_file: os.PathLike[str] | str | IO[bytes],
    environ: dict[str, Any],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
    use_x_sendfile: bool = False,
    response_class: type[Response] | None = None,
    _root_path: os.PathLike[str] | str | None = None,
) -> Response:
    """A response sending ``path_or_file`` (a path, relative to ``_root_path`` when
    given, or a binary file object) for the request of ``environ``.

    ``download_name`` goes into ``Content-Disposition`` (RFC 5987 ``filename*`` for
    non-ASCII names) and guesses the mimetype; ``conditional`` answers 304/206/416;
    ``max_age`` (seconds, or a callable of the path; None: ``no-cache``);
    ``use_x_sendfile`` lets the front server send the path. Returns a
    ``response_class`` (the HTTP layer's Response by default) streaming the file.
    """
    path: str | None = None
    file: IO[bytes] | None = None
    size: int | None = None
    mtime: float | None = None
    headers: dict[str, str] = {}

    if isinstance(path_or_file, (str, os.PathLike)):
        path = os.fspath(path_or_file)
        if _root_path is not None:
            path = os.path.join(_root_path, path)
        stat = os.stat(path)
        size, mtime = stat.st_size, stat.st_mtime
    else:
        file = path_or_file

    if download_name is None and path is not None:
        download_name = os.path.basename(path)
    if mimetype is None:
        mimetype = _guess_mimetype(download_name, as_attachment, headers)
    if download_name is not None:
        headers["Content-Disposition"] = _content_disposition(download_name, as_attachment)
    elif as_attachment:
        raise TypeError(
            "No name provided for attachment. Either set"
            " 'download_name' or pass a path instead of a file."
        )

    data: Any = None
    if use_x_sendfile and path is not None:
        headers["X-Sendfile"] = path
    else:
        if file is None:
            file = open(cast(str, path), "rb")  # a path when no file was given
        elif isinstance(file, io.BytesIO):
            size = file.getbuffer().nbytes
        elif isinstance(file, io.TextIOBase):
            raise ValueError("Files must be opened in binary mode or use BytesIO.")
        data = wrap_file(environ, file)

    if response_class is None:
        response_class = Response
    rv = _build_response(
        response_class, data, mimetype, headers, size, path, mtime, last_modified, max_age, etag
    )
    if conditional:
        try:
            rv = rv.make_conditional(environ, accept_ranges=True, complete_length=size)
        except RequestedRangeNotSatisfiable:
            if file is not None:
                file.close()
            raise
        if rv.status_code == 304:
            rv.headers.pop("X-Sendfile", None)
    return rv


def _build_response(
    response_class: type[Response],
    data: Any,
    mimetype: str,
    headers: dict[str, str],
    size: int | None,
    path: str | None,
    mtime: float | None,
    last_modified: datetime | int | float | None,
    max_age: MaxAge,
    etag: bool | str,
) -> Response:
    rv = response_class(data, mimetype=mimetype, direct_passthrough=True)
    for key, value in headers.items():
        rv.headers[key] = value
    if size is not None:
        rv.headers["Content-Length"] = str(size)
    if last_modified is None:
        last_modified = mtime
    if last_modified is not None:
        rv.headers["Last-Modified"] = http_date(last_modified)
    if callable(max_age):
        max_age = max_age(path)
    for key, value in _cache_headers(max_age).items():
        rv.headers[key] = value
    if isinstance(etag, str):
        rv.headers["ETag"] = quote_etag(etag)
    elif etag and path is not None:
        check = adler32(path.encode()) & 0xFFFFFFFF
        rv.headers["ETag"] = quote_etag(f"{mtime}-{size}-{check}")
    return rv


def send_from_directory(
    directory: os.PathLike[str] | str,
    path: os.PathLike[str] | str,
    environ: dict[str, Any],
    **kwargs: Any,
) -> Response:
    """:func:`send_file` for ``path`` inside ``directory``; a path that leaves
    ``directory``, or names no file, raises :class:`NotFound`.

    Never pass a user-supplied ``directory``; ``path`` may come from the URL.
    ``kwargs`` are :func:`send_file`'s (``_root_path`` applies to ``directory``).
    """
    joined = safe_join(os.fspath(directory), os.fspath(path))
    if joined is None:
        raise NotFound()
    root = kwargs.pop("_root_path", None)
    full = joined if root is None else os.path.join(root, joined)
    if not os.path.isfile(full):
        raise NotFound()
    return send_file(full, environ, **kwargs)
