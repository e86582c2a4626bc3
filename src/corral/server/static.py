"""Static files served by the server itself (``--static-map URL_PREFIX=DIR``).

:class:`StaticFiles` wraps the loaded application: a request whose ``PATH_INFO``
is under one of the mapped prefixes is answered from the directory without calling
the application; every other request goes to the application.

For a file under a prefix:

* ``GET`` and ``HEAD`` only (anything else: 405 with ``Allow``);
* ``Content-Type`` from :mod:`mimetypes`, ``ETag`` (mtime and size),
  ``Last-Modified``, ``Cache-Control`` from ``--static-max-age`` (0: ``no-cache``,
  i.e. revalidate with the validators; N: ``public, max-age=N``);
* 304 for a matching ``If-None-Match`` (or, without it, ``If-Modified-Since``);
* one ``Range`` (``bytes=A-B``, ``A-``, ``-N``) answers 206 with ``Content-Range``,
  an unsatisfiable one 416; several ranges answer 200 with the whole file;
  ``If-Range`` is honoured;
* a precompressed sibling (``FILE.br``, ``FILE.gz``) is sent instead when the client
  accepts that encoding, with ``Content-Encoding``; ``Vary: Accept-Encoding``
  whenever such a sibling exists;
* the body goes out as ``wsgi.file_wrapper``, so the worker sends it with
  ``sendfile`` (unless ``--no-sendfile``) where its class does; a body of up to
  :data:`SMALL_FILE` bytes is read in one call and sent with the headers;
* where a path leads (links resolved, siblings found, type guessed) is remembered
  for two seconds per worker; the file is ``stat``-ed for every request.

Nothing outside DIR can be reached: ``..`` segments (also percent-encoded ones,
which arrive decoded in ``PATH_INFO``) and backslashes answer 400, a NUL byte 400,
and a path whose real location (symbolic links resolved) is outside DIR 404, as
does a missing file or a directory.
"""

from __future__ import annotations

import mimetypes
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import IO, Any

from corral.server.compress import accepted_encodings

_monotonic = time.monotonic
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]

# precompressed siblings, best first: (encoding, file suffix)
SIBLINGS = (("br", ".br"), ("gzip", ".gz"))
BLOCK = 65536
SMALL_FILE = 32768  # bodies up to this size are read and sent in one piece
CACHE_SECONDS = 2.0  # how long a resolved path is trusted
CACHE_MAX = 4096  # resolved paths remembered per worker


class StaticMapError(ValueError):
    """A ``--static-map`` entry that cannot be used (message names it)."""


def parse_static_map(entries: Iterable[str], base: str | None = None) -> list[tuple[str, str]]:
    """``URL_PREFIX=DIR`` strings -> [(prefix without trailing ``/``, real DIR)],
    longest prefix first.  Relative DIRs are taken from ``base`` (the cwd)."""
    mounts: list[tuple[str, str]] = []
    for entry in entries:
        prefix, sep, directory = entry.partition("=")
        prefix = prefix.strip()
        if not sep or not prefix.startswith("/") or not directory:
            raise StaticMapError(f"--static-map {entry!r}: expected URL_PREFIX=DIR "
                                 "with URL_PREFIX starting with /")
        path = os.path.realpath(os.path.join(base or os.getcwd(), directory))
        if not os.path.isdir(path):
            raise StaticMapError(f"--static-map {entry!r}: {path} is not a directory")
        mounts.append((prefix.rstrip("/"), path))
    mounts.sort(key=lambda m: len(m[0]), reverse=True)
    return mounts


def _quote_etag(st: os.stat_result, suffix: str = "") -> str:
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}{suffix}"'


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of ``If-None-Match`` with our (strong) tag."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _http_time(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """One byte range -> (first, last inclusive); None to send the whole file
    (no usable range, or several); ``"unsatisfiable"`` for 416."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not (first_text.isdigit() or last_text.isdigit()):
        return None
    if (first_text and not first_text.isdigit()) or (last_text and not last_text.isdigit()):
        return None
    if not first_text:  # the last N bytes
        count = int(last_text)
        if count == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - count), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    if first >= size:
        return "unsatisfiable"
    return first, min(last, size - 1)


@dataclass(frozen=True, slots=True)
class _Found:
    """Where a request path leads: the file, its type, its precompressed siblings."""

    path: str
    content_type: str
    siblings: tuple[tuple[str, str], ...]  # (encoding, path), best first


BAD_PATH = "bad path"
Resolved = _Found | str | None  # None: not found (or outside DIR)


def resolve(root: str, rel: str) -> Resolved:
    """The file under ``root`` for the rest of a path after its prefix (see the
    module docs for what is refused)."""
    try:  # PATH_INFO carries the path's bytes as latin-1 (PEP 3333)
        rel = rel.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return BAD_PATH
    parts = rel.split("/")
    if "\x00" in rel or "\\" in rel or ".." in parts:
        return BAD_PATH
    full = os.path.realpath(os.path.join(root, *[p for p in parts if p not in ("", ".")]))
    if os.path.commonpath([root, full]) != root or not os.path.isfile(full):
        return None
    siblings = []
    for encoding, suffix in SIBLINGS:
        sibling = os.path.realpath(full + suffix)
        if os.path.commonpath([root, sibling]) == root and os.path.isfile(sibling):
            siblings.append((encoding, sibling))
    ctype, _ = mimetypes.guess_type(full, strict=False)
    ctype = ctype or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript", "image/svg+xml"):
        ctype += "; charset=utf-8"
    return _Found(full, ctype, tuple(siblings))


class StaticFiles:
    """WSGI wrapper serving ``mounts`` (see the module docs) in front of ``app``.

    Where a request path leads (symbolic links resolved, siblings looked for) is
    remembered for :data:`CACHE_SECONDS`; the file itself is looked at (``stat``)
    for every request, so its validators are always current."""

    def __init__(self, app: WSGIApp, mounts: list[tuple[str, str]], max_age: int = 0) -> None:
        self.app = app
        self.mounts = mounts
        self.cache_control = f"public, max-age={max_age}" if max_age > 0 else "no-cache"
        self._cache: dict[tuple[str, str], tuple[float, Resolved]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, root in self.mounts:
            if path.startswith(prefix) and (len(path) == len(prefix) or
                                            path[len(prefix)] == "/" or not prefix):
                return self.serve(environ, start_response, root, path[len(prefix):])
        return self.app(environ, start_response)

    # -- one file -------------------------------------------------------------
    def serve(self, environ: dict[str, Any], start_response: StartResponse, root: str,
              rel: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", "method not allowed",
                          [("Allow", "GET, HEAD")])
        key = (root, rel)
        now = _monotonic()
        hit = self._cache.get(key)
        if hit is None or now - hit[0] > CACHE_SECONDS:
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
            hit = self._cache[key] = (now, resolve(root, rel))
        found = hit[1]
        if found is BAD_PATH:
            return _plain(start_response, "400 Bad Request", "bad path")
        try:
            st = os.stat(found.path) if isinstance(found, _Found) else None
        except (OSError, ValueError):
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            return _not_found(start_response)
        assert isinstance(found, _Found)
        return self.send(environ, start_response, found, st, method == "HEAD")

    @staticmethod
    def pick_variant(environ: dict[str, Any], found: _Found, st: os.stat_result
                     ) -> tuple[str, os.stat_result, str | None]:
        """(file to send, its stat, Content-Encoding or None)."""
        accepted = accepted_encodings(environ.get("HTTP_ACCEPT_ENCODING", ""))
        for encoding, sibling in found.siblings:
            if accepted.get(encoding, accepted.get("*", 0.0)) > 0:
                try:
                    sst = os.stat(sibling)
                except OSError:
                    continue
                if stat.S_ISREG(sst.st_mode):
                    return sibling, sst, encoding
        return found.path, st, None

    def send(self, environ: dict[str, Any], start_response: StartResponse, found: _Found,
             st: os.stat_result, head_only: bool) -> Iterable[bytes]:
        path, vst, encoding = found.path, st, None
        if found.siblings:
            path, vst, encoding = self.pick_variant(environ, found, st)
        etag = _quote_etag(vst, f"-{encoding}" if encoding else "")
        headers = [("ETag", etag), ("Last-Modified", formatdate(vst.st_mtime, usegmt=True)),
                   ("Cache-Control", self.cache_control)]
        if found.siblings:
            headers.append(("Vary", "Accept-Encoding"))
        if self.not_modified(environ, etag, vst):
            start_response("304 Not Modified", headers)
            return []
        headers.insert(0, ("Content-Type", found.content_type))
        if encoding:
            headers.append(("Content-Encoding", encoding))
        headers.append(("Accept-Ranges", "bytes"))
        size = vst.st_size
        status, first, count = "200 OK", 0, size
        rng = environ.get("HTTP_RANGE")
        if rng and self.range_applies(environ, etag, vst):
            wanted = parse_range(rng, size)
            if wanted == "unsatisfiable":
                return _plain(start_response, "416 Range Not Satisfiable",
                              "range not satisfiable", [("Content-Range", f"bytes */{size}")])
            if isinstance(wanted, tuple):
                first, last = wanted
                count = last - first + 1
                status = "206 Partial Content"
                headers.append(("Content-Range", f"bytes {first}-{last}/{size}"))
        headers.append(("Content-Length", str(count)))
        if head_only:
            start_response(status, headers)
            return []
        try:
            f = open(path, "rb", buffering=0)
        except OSError:
            return _not_found(start_response)
        if count <= SMALL_FILE:  # one read: cheaper than setting up sendfile
            with f:
                data = os.pread(f.fileno(), count, first)
            if len(data) == count:
                start_response(status, headers)
                return [data]
            f = open(path, "rb", buffering=0)  # changed under us: let framing cope
        if first:
            f.seek(first)
        start_response(status, headers)
        wrapper = environ.get("wsgi.file_wrapper")
        if wrapper is None:
            return _read_blocks(f)
        return wrapper(f, BLOCK)  # type: ignore[no-any-return]

    @staticmethod
    def not_modified(environ: dict[str, Any], etag: str, st: os.stat_result) -> bool:
        inm = environ.get("HTTP_IF_NONE_MATCH")
        if inm is not None:
            return _etag_matches(inm, etag)
        ims = environ.get("HTTP_IF_MODIFIED_SINCE")
        if ims:
            when = _http_time(ims)
            return when is not None and int(st.st_mtime) <= when
        return False

    @staticmethod
    def range_applies(environ: dict[str, Any], etag: str, st: os.stat_result) -> bool:
        cond = environ.get("HTTP_IF_RANGE")
        if not cond:
            return True
        cond = cond.strip()
        if cond.startswith(('"', "W/")):
            return cond == etag  # strong comparison
        when = _http_time(cond)
        return when is not None and int(st.st_mtime) == int(when)


def _read_blocks(f: IO[bytes]) -> Iterator[bytes]:
    with f:
        while block := f.read(BLOCK):
            yield block


def _plain(start_response: StartResponse, status: str, text: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = (text + "\n").encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *(extra or [])])
    return [body]


def _not_found(start_response: StartResponse) -> list[bytes]:
    return _plain(start_response, "404 Not Found", "not found")
