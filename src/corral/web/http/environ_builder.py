"""Building WSGI environs from test arguments (Werkzeug's EnvironBuilder); given an
app-like object, its URL settings are the defaults."""

from __future__ import annotations

import base64
import io
import json as _json
import mimetypes
import os
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from .datastructures.file_storage import FileMultiDict
from .datastructures.headers import EnvironHeaders, Headers
from .datastructures.structures import MultiDict
from .parsing import parse_options_header, url_encode


def _is_file(value: Any) -> bool:
    return hasattr(value, "read") or (
        isinstance(value, tuple) and len(value) >= 2 and hasattr(value[0], "read")
    )


def _file_parts(value: Any) -> tuple[bytes, str, str]:
    """(content, filename, content type) of a file object or (file, name[, type]) tuple."""
    content_type = None
    if isinstance(value, tuple):
        fileobj, filename = value[0], value[1]
        if len(value) > 2:
            content_type = value[2]
    else:
        fileobj = value
        filename = getattr(value, "filename", None) or getattr(value, "name", None) or ""
        content_type = getattr(value, "content_type", None)
        filename = os.path.basename(str(filename)) if filename else ""
    stream: Any = getattr(fileobj, "stream", fileobj)
    data = stream.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not content_type:
        content_type = (filename and mimetypes.guess_type(filename)[0]) or "application/octet-stream"
    return data, filename or "", content_type


def encode_multipart(fields: list[tuple[str, Any]], boundary: str | None = None) -> tuple[bytes, str]:
    """Encode form fields and files as multipart/form-data; returns (body, boundary)."""
    if boundary is None:
        boundary = f"---------------CorralFormBoundary{time.time_ns():x}"
    out = io.BytesIO()
    for key, value in fields:
        out.write(f"--{boundary}\r\n".encode())
        name = quote(key, safe=" ").replace('"', "%22")
        if _is_file(value):
            data, filename, ctype = _file_parts(value)
            fname = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
            out.write(
                f'Content-Disposition: form-data; name="{name}"; filename="{fname}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n".encode()
            )
            out.write(data)
        else:
            out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            out.write(value if isinstance(value, bytes) else str(value).encode("utf-8"))
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), boundary


def _iter_data(data: Any) -> Iterator[tuple[str, Any]]:
    """Pairs of a form-data argument: MultiDict, mapping (list values repeat), pairs."""
    if hasattr(data, "lists") and callable(data.lists):
        for key, values in data.lists():
            for v in values:
                yield key, v
        return
    pairs = data.items() if isinstance(data, Mapping) else data
    for key, value in pairs:
        if isinstance(value, list):
            for v in value:
                yield key, v
        else:
            yield key, value


def _wsgi_text(value: str) -> str:
    """A str as the latin-1 text of its UTF-8 bytes (how an environ carries text)."""
    return value.encode("utf-8").decode("latin-1")


class BuilderApp(Protocol):
    """What :class:`EnvironBuilder` reads from an app (corral.web's ``App`` has it):
    its request class, its config (``SERVER_NAME``, ``APPLICATION_ROOT``,
    ``PREFERRED_URL_SCHEME``) and its JSON provider."""

    @property
    def request_class(self) -> type[Any]: ...

    @property
    def config(self) -> Mapping[str, Any]: ...

    @property
    def json(self) -> Any: ...


class EnvironBuilder:
    """Build a WSGI environ from test arguments, as Werkzeug's builder does; with
    an app, its SERVER_NAME, APPLICATION_ROOT and PREFERRED_URL_SCHEME are the
    defaults of the URL and its JSON provider serializes ``json=``.

    Requests are built from it by ``Request.from_values`` and by the test tools'
    builder (``corral.web.testing.EnvironBuilder.get_request``).
    """

    server_protocol = "HTTP/1.1"
    wsgi_version = (1, 0)
    #: the app's request class, for a builder made for an app
    request_class: type[Any]

    def __init__(
        self,
        app: BuilderApp | None,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        # after the app's URL parts, Werkzeug's builder's parameters in its order
        query_string: Any = None,
        method: str = "GET",
        input_stream: Any = None,
        content_type: str | None = None,
        content_length: int | None = None,
        errors_stream: Any = None,
        multithread: bool = False,
        multiprocess: bool = False,
        run_once: bool = False,
        headers: Any = None,
        data: Any = None,
        environ_base: Mapping[str, Any] | None = None,
        environ_overrides: Mapping[str, Any] | None = None,
        mimetype: str | None = None,
        json: Any = None,
        auth: Any = None,
        *,
        charset: str | None = None,
    ) -> None:
        self.app = app
        if app is not None:
            self.request_class = app.request_class
        parts = self.request_uri = urlsplit(path)
        if base_url is None:
            host, scheme, root = "localhost", url_scheme or "http", "/"
            if app is not None:
                host = app.config.get("SERVER_NAME") or "localhost"
                scheme = url_scheme or app.config["PREFERRED_URL_SCHEME"]
                root = app.config["APPLICATION_ROOT"]
            if subdomain:
                host = f"{subdomain}.{host}"
            base_url = f"{parts.scheme or scheme}://{parts.netloc or host}/{root.lstrip('/')}"
        self.base_url = base_url
        self.path = parts.path or "/"
        if query_string is None:
            query_string = parts.query
        self._query_string: str | None = None
        self._args: MultiDict | None = None
        if isinstance(query_string, (str, bytes)):
            self.query_string = (
                query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
            )
        else:
            self.args = query_string if isinstance(query_string, MultiDict) else MultiDict(query_string)
        self.method = method.upper()
        self.headers = headers.copy() if isinstance(headers, Headers) else Headers(headers or ())
        if content_type is None and mimetype is not None:
            content_type = mimetype
        if content_type is not None:
            self.headers.set("Content-Type", content_type)
        if content_length is not None:
            self.headers.set("Content-Length", str(content_length))
        self.environ_base = dict(environ_base) if environ_base else None
        self.environ_overrides = dict(environ_overrides) if environ_overrides else None
        self.errors_stream = errors_stream if errors_stream is not None else sys.stderr
        self.multithread, self.multiprocess, self.run_once = multithread, multiprocess, run_once
        self.closed = False
        self._form: MultiDict | None = None
        self._files: FileMultiDict | None = None
        self._input_stream: Any = input_stream
        if auth is not None:
            self._add_auth(auth)
        if json is not None:
            if data is not None:
                raise TypeError("can't provide both json and data")
            data = self.json_dumps(json)
            if self.content_type is None:
                self.content_type = "application/json"
        if data:
            self._set_data(data)

    def json_dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize ``json=`` with the app's JSON provider (the stdlib without an app)."""
        if self.app is None:
            return _json.dumps(obj, **kwargs)
        return self.app.json.dumps(obj, **kwargs)

    def _set_data(self, data: Any) -> None:
        if self._input_stream is not None:
            raise TypeError("can't provide input stream and data")
        if hasattr(data, "read"):
            data = data.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        if isinstance(data, (bytes, bytearray)):
            self._input_stream = io.BytesIO(bytes(data))
            if self.content_length is None:
                self.content_length = len(data)
            return
        for key, value in _iter_data(data):
            if _is_file(value) or hasattr(value, "stream"):
                self._add_file(key, value)
            else:
                self.form.add(key, value)

    def _add_file(self, key: str, value: Any) -> None:
        if isinstance(value, tuple):
            self.files.add_file(key, *value)
        else:
            self.files.add_file(key, value)

    def _add_auth(self, auth: Any) -> None:
        if isinstance(auth, tuple):
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self.headers.set("Authorization", f"Basic {token}")
        else:
            self.headers.set("Authorization", auth.to_header() if hasattr(auth, "to_header") else str(auth))

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any], app: BuilderApp | None = None,
                     **kwargs: Any) -> EnvironBuilder:
        """A builder that makes an environ like ``environ`` (its headers, URL and body)."""
        headers = Headers(EnvironHeaders(dict(environ)))
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost")
        script = environ.get("SCRIPT_NAME", "").encode("latin-1").decode("utf-8", "replace")
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        out: dict[str, Any] = {
            "path": quote(path) or "/",
            "base_url": f"{scheme}://{host}{quote(script)}/",
            "query_string": environ.get("QUERY_STRING", ""),
            "method": environ.get("REQUEST_METHOD", "GET"),
            "input_stream": environ.get("wsgi.input"),
            "content_type": headers.pop("Content-Type", None),
            "content_length": headers.pop("Content-Length", None),
            "errors_stream": environ.get("wsgi.errors"),
            "multithread": environ.get("wsgi.multithread", False),
            "multiprocess": environ.get("wsgi.multiprocess", False),
            "run_once": environ.get("wsgi.run_once", False),
            "headers": headers,
        }
        out.update(kwargs)
        return cls(app, **out)

    # -- URL parts
    @property
    def base_url(self) -> str:
        return f"{self.url_scheme}://{self.host}{self.script_root}/"

    @base_url.setter
    def base_url(self, value: str | None) -> None:
        base = urlsplit(value or "http://localhost/")
        if base.query or base.fragment:
            raise ValueError("base url must not contain a query string or fragment")
        self.url_scheme = base.scheme or "http"
        self.host = base.netloc or "localhost"
        self.script_root = base.path.rstrip("/")

    @property
    def query_string(self) -> str:
        if self._query_string is None:
            return url_encode(self._args) if self._args is not None else ""
        return self._query_string

    @query_string.setter
    def query_string(self, value: str | None) -> None:
        self._query_string = value
        self._args = None

    @property
    def args(self) -> MultiDict:
        if self._query_string is not None:
            raise AttributeError("a query string is defined")
        if self._args is None:
            self._args = MultiDict()
        return self._args

    @args.setter
    def args(self, value: MultiDict | None) -> None:
        self._query_string = None
        self._args = value

    @property
    def server_name(self) -> str:
        return self.host.split(":", 1)[0]

    @property
    def server_port(self) -> int:
        _, sep, port = self.host.rpartition(":")
        if sep and port.isdigit() and not self.host.endswith("]"):
            return int(port)
        return 443 if self.url_scheme == "https" else 80

    # -- body
    @property
    def content_type(self) -> str | None:
        ct = self.headers.get("Content-Type")
        if ct is None and not self._input_stream:
            if self._files:
                return "multipart/form-data"
            if self._form:
                return "application/x-www-form-urlencoded"
        return ct

    @content_type.setter
    def content_type(self, value: str | None) -> None:
        if value is None:
            self.headers.remove("Content-Type")
        else:
            self.headers.set("Content-Type", value)

    @property
    def mimetype(self) -> str | None:
        ct = self.content_type
        return ct.split(";")[0].strip() if ct else None

    @mimetype.setter
    def mimetype(self, value: str) -> None:
        self.content_type = value

    @property
    def mimetype_params(self) -> dict[str, str]:
        return parse_options_header(self.content_type)[1]

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        try:
            return None if value is None else int(value)
        except ValueError:
            return None

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        if value is None:
            self.headers.remove("Content-Length")
        else:
            self.headers.set("Content-Length", str(value))

    @property
    def form(self) -> MultiDict:
        if self._input_stream is not None:
            raise AttributeError("an input stream is defined")
        if self._form is None:
            self._form = MultiDict()
        return self._form

    @form.setter
    def form(self, value: MultiDict) -> None:
        self._input_stream = None
        self._form = value

    @property
    def files(self) -> FileMultiDict:
        if self._input_stream is not None:
            raise AttributeError("an input stream is defined")
        if self._files is None:
            self._files = FileMultiDict()
        return self._files

    @files.setter
    def files(self, value: FileMultiDict) -> None:
        self._input_stream = None
        self._files = value

    @property
    def input_stream(self) -> Any:
        return self._input_stream

    @input_stream.setter
    def input_stream(self, value: Any) -> None:
        self._input_stream = value
        self._form = self._files = None

    def _body(self) -> tuple[Any, int | None, str | None]:
        """(input stream, content length, content type) of the request body."""
        stream, length, ctype = self._input_stream, self.content_length, self.content_type
        mimetype = self.mimetype
        if stream is not None:
            if hasattr(stream, "seek") and hasattr(stream, "tell"):
                start = stream.tell()
                stream.seek(0, 2)
                length = stream.tell() - start
                stream.seek(start)
            return stream, length, ctype
        if mimetype == "multipart/form-data":
            fields = list(self.form.items(multi=True)) + list(self.files.items(multi=True))
            body, boundary = encode_multipart(fields)
            return io.BytesIO(body), len(body), f'{mimetype}; boundary="{boundary}"'
        if mimetype == "application/x-www-form-urlencoded":
            body = url_encode(self.form).encode("ascii")
            return io.BytesIO(body), len(body), ctype
        return io.BytesIO(), length, ctype

    def get_environ(self) -> dict[str, Any]:
        stream, length, ctype = self._body()
        host = self.host
        path = _wsgi_text(unquote(self.path))
        script = _wsgi_text(unquote(self.script_root))
        uri = quote(self.script_root + self.path, safe="/%:@!$&'()*+,;=")
        qs = self.query_string
        if qs:
            uri = f"{uri}?{qs}"
        environ: dict[str, Any] = dict(self.environ_base or {})
        environ.update({
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": script,
            "PATH_INFO": path,
            "QUERY_STRING": _wsgi_text(qs),
            "REQUEST_URI": uri,
            "RAW_URI": uri,
            "SERVER_NAME": self.server_name,
            "SERVER_PORT": str(self.server_port),
            "HTTP_HOST": host,
            "SERVER_PROTOCOL": self.server_protocol,
            "wsgi.version": self.wsgi_version,
            "wsgi.url_scheme": self.url_scheme,
            "wsgi.input": stream,
            "wsgi.errors": self.errors_stream,
            "wsgi.multithread": self.multithread,
            "wsgi.multiprocess": self.multiprocess,
            "wsgi.run_once": self.run_once,
        })  # fmt: skip
        if ctype is not None:
            environ["CONTENT_TYPE"] = ctype
        if length is not None:
            environ["CONTENT_LENGTH"] = str(length)
        combined: dict[str, list[str]] = {}
        for key, value in self.headers.to_wsgi_list():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                continue
            combined.setdefault(f"HTTP_{name}", []).append(value)
        for key, values in combined.items():
            environ[key] = ", ".join(values)
        if self.environ_overrides:
            environ.update(self.environ_overrides)
        return environ

    def close(self) -> None:
        """Close the files added to the form."""
        if self.closed:
            return
        for _key, value in (self._files or FileMultiDict()).items(multi=True):
            close = getattr(value, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass
        self.closed = True


__all__ = ["EnvironBuilder", "encode_multipart"]
