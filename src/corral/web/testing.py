"""Test helpers: an environ builder, a test client with a cookie jar, a CLI runner."""

from __future__ import annotations

import io
import mimetypes
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

from click.testing import CliRunner as _ClickCliRunner
from click.testing import Result

if TYPE_CHECKING:
    from .app import App
    from .wrappers import Response

_USER_AGENT = "corral.web/0.1"
_REDIRECT_CODES = frozenset({301, 302, 303, 305, 307, 308})


class ClientRedirectError(Exception):
    """A redirect loop while following redirects."""


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


def _items(data: Any) -> Iterator[tuple[str, Any]]:
    if hasattr(data, "items") and callable(getattr(data, "lists", None)):
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


def _header_items(headers: Any) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if hasattr(headers, "to_wsgi_list"):
        return list(headers.to_wsgi_list())
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(k), str(v)) for k, v in pairs]


class EnvironBuilder:
    """Build a WSGI environ from test arguments, with the app's SERVER_NAME,
    APPLICATION_ROOT and PREFERRED_URL_SCHEME as defaults."""

    def __init__(
        self,
        app: App,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        *,
        method: str = "GET",
        query_string: Any = None,
        headers: Any = None,
        data: Any = None,
        json: Any = None,
        content_type: str | None = None,
        mimetype: str | None = None,
        content_length: int | None = None,
        input_stream: Any = None,
        environ_base: Mapping[str, Any] | None = None,
        environ_overrides: Mapping[str, Any] | None = None,
        errors_stream: Any = None,
        auth: Any = None,
        multithread: bool = False,
        multiprocess: bool = False,
        run_once: bool = False,
    ) -> None:
        self.app = app
        parts = urlsplit(path)
        if base_url is None:
            host = app.config.get("SERVER_NAME") or "localhost"
            if subdomain:
                host = f"{subdomain}.{host}"
            scheme = url_scheme or app.config["PREFERRED_URL_SCHEME"]
            root = app.config["APPLICATION_ROOT"]
            base_url = f"{parts.scheme or scheme}://{parts.netloc or host}/{root.lstrip('/')}"
        base = urlsplit(base_url)
        self.url_scheme = base.scheme or "http"
        self.host = base.netloc or "localhost"
        self.script_root = base.path.rstrip("/")
        self.path = parts.path or "/"
        query = parts.query
        if query_string is not None:
            query = query_string if isinstance(query_string, str) else urlencode(list(_items(query_string)))
        elif isinstance(query, bytes):
            query = query.decode("latin-1")
        self.query_string: str = query
        self.method = method.upper()
        self.headers = _header_items(headers)
        self.environ_base = dict(environ_base or {})
        self.environ_overrides = dict(environ_overrides or {})
        self.errors_stream = errors_stream if errors_stream is not None else sys.stderr
        self.multithread, self.multiprocess, self.run_once = multithread, multiprocess, run_once
        if auth is not None:
            self._add_auth(auth)
        self.content_type = content_type
        if mimetype is not None and content_type is None:
            self.content_type = mimetype
        self.body, self.input_stream = self._make_body(data, json, input_stream)
        self.content_length = content_length

    def _add_auth(self, auth: Any) -> None:
        import base64

        if isinstance(auth, tuple):
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self.headers.append(("Authorization", f"Basic {token}"))
        else:
            self.headers.append(("Authorization", str(auth)))

    def _make_body(self, data: Any, json: Any, input_stream: Any) -> tuple[bytes | None, Any]:
        if json is not None:
            if data is not None:
                raise TypeError("can't provide both json and data")
            data = self.app.json.dumps(json)
            if self.content_type is None:
                self.content_type = "application/json"
        if input_stream is not None:
            return None, input_stream
        if data is None:
            return None, None
        if isinstance(data, str):
            return data.encode("utf-8"), None
        if isinstance(data, (bytes, bytearray)):
            return bytes(data), None
        if hasattr(data, "read"):
            raw = data.read()
            return (raw.encode("utf-8") if isinstance(raw, str) else raw), None
        fields = list(_items(data))
        if any(_is_file(v) for _, v in fields) or (
            self.content_type or ""
        ).startswith("multipart/form-data"):
            body, boundary = encode_multipart(fields)
            self.content_type = f"multipart/form-data; boundary={boundary}"
            return body, None
        if self.content_type is None:
            self.content_type = "application/x-www-form-urlencoded"
        return urlencode(fields).encode("ascii"), None

    def get_environ(self) -> dict[str, Any]:
        host = self.host
        if ":" in host and not host.endswith("]"):
            server_name, _, server_port = host.rpartition(":")
        else:
            server_name, server_port = host, ("443" if self.url_scheme == "https" else "80")
        path = unquote(self.path).encode("utf-8").decode("latin-1")
        script = unquote(self.script_root).encode("utf-8").decode("latin-1")
        uri = quote(self.script_root + self.path, safe="/%:@!$&'()*+,;=")
        if self.query_string:
            uri = f"{uri}?{self.query_string}"
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": script,
            "PATH_INFO": path,
            "QUERY_STRING": self.query_string,
            "REQUEST_URI": uri,
            "RAW_URI": uri,
            "SERVER_NAME": server_name,
            "SERVER_PORT": server_port,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": host,
            "HTTP_USER_AGENT": _USER_AGENT,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.url_scheme,
            "wsgi.errors": self.errors_stream,
            "wsgi.multithread": self.multithread,
            "wsgi.multiprocess": self.multiprocess,
            "wsgi.run_once": self.run_once,
        }
        environ.update(self.environ_base)
        if self.input_stream is not None:
            environ["wsgi.input"] = self.input_stream
        else:
            body = self.body or b""
            environ["wsgi.input"] = io.BytesIO(body)
            if self.body is not None:
                environ["CONTENT_LENGTH"] = str(len(body))
        if self.content_length is not None:
            environ["CONTENT_LENGTH"] = str(self.content_length)
        if self.content_type is not None:
            environ["CONTENT_TYPE"] = self.content_type
        for key, value in self.headers:
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[name] = value
                continue
            name = f"HTTP_{name}"
            environ[name] = f"{environ[name]}, {value}" if name in environ and key.lower() not in (
                "host", "user-agent") else value
        environ.update(self.environ_overrides)
        return environ

    def close(self) -> None:
        """Nothing to release; kept for API compatibility."""


class Cookie:
    """One cookie in the test client's jar."""

    def __init__(self, key: str, value: str, domain: str, path: str, origin_only: bool,
                 expires: float | None = None, secure: bool = False, http_only: bool = False,
                 same_site: str | None = None) -> None:
        self.key, self.value, self.domain, self.path = key, value, domain, path
        self.origin_only, self.expires = origin_only, expires
        self.secure, self.http_only, self.same_site = secure, http_only, same_site

    @property
    def decoded_key(self) -> str:
        return self.key

    @property
    def decoded_value(self) -> str:
        return self.value

    def matches(self, host: str, path: str) -> bool:
        host_ok = host == self.domain or (
            not self.origin_only and host.endswith(f".{self.domain.lstrip('.')}")
        ) or (not self.origin_only and host == self.domain.lstrip("."))
        path_ok = path == self.path or path.startswith(self.path.rstrip("/") + "/") or self.path == "/"
        return host_ok and path_ok

    def __repr__(self) -> str:
        return f"<Cookie {self.key}={self.value!r} domain={self.domain} path={self.path}>"


def parse_set_cookie(header: str, host: str, path: str) -> tuple[Cookie, bool]:
    """(cookie, expired) from a Set-Cookie header received for host/path."""
    first, *attrs = header.split(";")
    key, _, value = first.strip().partition("=")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    cookie = Cookie(key.strip(), value, host, "/", True)
    expired = False
    for attr in attrs:
        name, _, arg = attr.strip().partition("=")
        name = name.lower()
        if name == "domain" and arg:
            cookie.domain, cookie.origin_only = arg.lstrip("."), False
        elif name == "path" and arg:
            cookie.path = arg
        elif name == "max-age":
            age = int(arg)
            cookie.expires = time.time() + age
            expired = age <= 0
        elif name == "expires" and cookie.expires is None:
            try:
                when = parsedate_to_datetime(arg).timestamp()
            except (TypeError, ValueError):
                continue
            cookie.expires = when
            expired = when <= time.time()
        elif name == "secure":
            cookie.secure = True
        elif name == "httponly":
            cookie.http_only = True
        elif name == "samesite":
            cookie.same_site = arg
    del path
    return cookie, expired


class TestResponseMixin:
    """Extra attributes of responses returned by the test client."""

    request: Any
    history: tuple[Any, ...] = ()

    @property
    def text(self) -> str:
        return self.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


def _response_class(base: type[Response]) -> type[Any]:
    cache: dict[type, type] = _response_class.__dict__.setdefault("cache", {})
    cls = cache.get(base)
    if cls is None:
        cls = cache[base] = type("TestResponse", (TestResponseMixin, base), {"__test__": False})
    return cls


class TestClient:
    """Drive an app in-process: ``client.get("/")``, ``client.post(..., data=...)``."""

    __test__ = False

    def __init__(self, application: App, response_wrapper: type[Response] | None = None,
                 use_cookies: bool = True, **kwargs: Any) -> None:
        self.application = application
        self.response_wrapper = response_wrapper or application.response_class
        self._cookies: dict[tuple[str, str, str], Cookie] | None = {} if use_cookies else None
        self.environ_base: dict[str, Any] = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": _USER_AGENT}
        self.environ_base.update(kwargs.pop("environ_base", {}) or {})
        self.preserve_context = False
        self._new_contexts: list[Any] = []
        self._context_stack = ExitStack()

    # -- cookies -------------------------------------------------------------

    def _jar(self) -> dict[tuple[str, str, str], Cookie]:
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        return self._cookies

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> Cookie | None:
        return self._jar().get((domain, path, key))

    def set_cookie(self, key: str, value: str = "", *, domain: str = "localhost",
                   origin_only: bool = True, path: str = "/", **kwargs: Any) -> None:
        self._jar()[(domain, path, key)] = Cookie(key, value, domain, path, origin_only)

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        self._jar().pop((domain, path, key), None)

    def _cookie_header(self, host: str, path: str) -> str | None:
        if not self._cookies:
            return None
        now = time.time()
        out = []
        for k, c in list(self._cookies.items()):
            if c.expires is not None and c.expires <= now:
                del self._cookies[k]
            elif c.matches(host, path):
                out.append(f"{c.key}={c.value}")
        return "; ".join(out) or None

    def _add_cookies_to_wsgi(self, environ: dict[str, Any]) -> None:
        host = environ.get("HTTP_HOST", "localhost").partition(":")[0]
        header = self._cookie_header(host, environ.get("PATH_INFO") or "/")
        if header:
            existing = environ.get("HTTP_COOKIE")
            environ["HTTP_COOKIE"] = f"{existing}; {header}" if existing else header

    def _update_cookies_from_response(self, host: str, path: str, headers: list[str]) -> None:
        if self._cookies is None:
            return
        for header in headers:
            cookie, expired = parse_set_cookie(header, host, path)
            key = (cookie.domain, cookie.path, cookie.key)
            if expired:
                self._cookies.pop(key, None)
            else:
                self._cookies[key] = cookie

    # -- requests ---------------------------------------------------------------

    def _build_environ(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if args and isinstance(args[0], EnvironBuilder):
            environ = args[0].get_environ()
        elif args and isinstance(args[0], dict):
            environ = dict(args[0])
        else:
            base = dict(self.environ_base)
            base.update(kwargs.pop("environ_base", None) or {})
            environ = EnvironBuilder(self.application, *args, environ_base=base, **kwargs).get_environ()
        return environ

    def run_wsgi_app(self, environ: dict[str, Any], buffered: bool = False) -> Any:
        if self._cookies is not None:
            self._add_cookies_to_wsgi(environ)
        captured: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        app_iter = self.application(environ, start_response)
        try:
            for chunk in app_iter:
                chunks.append(chunk)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        status, headers = captured
        response = _response_class(self.response_wrapper)(chunks, status=status, headers=headers)
        if self._cookies is not None:
            host = environ.get("HTTP_HOST", "localhost").partition(":")[0]
            self._update_cookies_from_response(host, environ.get("PATH_INFO") or "/",
                                               response.headers.getlist("Set-Cookie"))
        return response

    def open(self, *args: Any, buffered: bool = False, follow_redirects: bool = False,
             **kwargs: Any) -> Any:
        self._context_stack.close()
        environ = self._build_environ(args, kwargs)
        self._new_contexts.clear()
        if self.preserve_context:
            environ["corral.web.preserve_context"] = self._new_contexts.append
        response = self._request(environ)
        history: list[Any] = []
        while follow_redirects and response.status_code in _REDIRECT_CODES:
            history.append(response)
            environ = self._redirect_environ(response, environ, history)
            self._context_stack.close()
            self._new_contexts.clear()
            if self.preserve_context:
                environ["corral.web.preserve_context"] = self._new_contexts.append
            response = self._request(environ)
        response.history = tuple(history)
        for cm in self._new_contexts:
            self._context_stack.enter_context(cm)
        self._new_contexts.clear()
        return response

    def _request(self, environ: dict[str, Any]) -> Any:
        response = self.run_wsgi_app(environ)
        response.request = self.application.request_class(environ)
        return response

    def _redirect_environ(self, response: Any, environ: dict[str, Any], history: list[Any]) -> dict[str, Any]:
        old = f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}{environ.get('SCRIPT_NAME', '')}{environ['PATH_INFO']}"
        target = urlsplit(urljoin(old, response.headers["Location"]))
        method = environ["REQUEST_METHOD"]
        keep_body = response.status_code in (307, 308)
        if not keep_body and method != "HEAD":
            method = "GET"
        key = (target.geturl(), method)
        seen = [(r.request.url, r.request.method) for r in history[:-1]]
        if key in seen or len(history) > 30:
            raise ClientRedirectError("loop detected")
        new = {k: v for k, v in environ.items() if k != "HTTP_COOKIE"}
        new.update(REQUEST_METHOD=method, PATH_INFO=unquote(target.path or "/").encode().decode("latin-1"),
                   QUERY_STRING=target.query, HTTP_HOST=target.netloc or environ["HTTP_HOST"],
                   SCRIPT_NAME="", REQUEST_URI=target.path, RAW_URI=target.path)
        new["wsgi.url_scheme"] = target.scheme or environ["wsgi.url_scheme"]
        if keep_body:
            stream = environ["wsgi.input"]
            if hasattr(stream, "seek"):
                stream.seek(0)
        else:
            new["wsgi.input"] = io.BytesIO(b"")
            for k in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                new.pop(k, None)
        return new

    def get(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="GET", **kw)

    def post(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="POST", **kw)

    def put(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="PUT", **kw)

    def patch(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="PATCH", **kw)

    def delete(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="DELETE", **kw)

    def head(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="HEAD", **kw)

    def options(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="OPTIONS", **kw)

    def trace(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="TRACE", **kw)

    # -- contexts -------------------------------------------------------------------

    def __enter__(self) -> TestClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.preserve_context = False
        self._context_stack.close()

    @contextmanager
    def session_transaction(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Open the session the next request would see; changes are saved to the jar."""
        self._jar()
        app = self.application
        ctx = app.test_request_context(*args, **kwargs)
        self._add_cookies_to_wsgi(ctx.request.environ)
        si = app.session_interface
        with ctx:
            sess = si.open_session(app, ctx.request)
        if sess is None:
            raise RuntimeError("Session backend did not open a session.")
        yield sess
        resp = app.response_class()
        if si.is_null_session(sess):
            return
        with ctx:
            si.save_session(app, sess, resp)
        self._update_cookies_from_response(
            ctx.request.host.partition(":")[0], ctx.request.path, resp.headers.getlist("Set-Cookie")
        )


FlaskClient = TestClient


class CliRunner(_ClickCliRunner):
    """Invoke the app's CLI commands in-process: ``runner.invoke(args=["cmd"])``."""

    def __init__(self, app: App, **kwargs: Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(self, cli: Any = None, args: Any = None, **kwargs: Any) -> Result:  # type: ignore[override]
        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            from .cli import ScriptInfo

            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)
        return super().invoke(cli, args, **kwargs)


def make_test_environ_builder(app: App, *args: Any, **kwargs: Any) -> EnvironBuilder:
    return EnvironBuilder(app, *args, **kwargs)


