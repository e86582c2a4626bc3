"""The WSGI ``environ`` (PEP 3333) for one request.

:class:`EnvironBuilder` is made once per worker from the settings; it keeps the
per-process constant keys in a template dict, and each connection's in a copy of
it (``SERVER_NAME`` and ``SERVER_PORT`` there as the last request's Host header
gave them: the next request nearly always sends the same one); the head's
fields arrive already keyed by their environ names (``RequestHead.fields``, made
while the parser checks the head), so :func:`build_environ` does only
per-request work, in one pass over nothing.

Forwarding headers count only from peers ``forwarded_allow_ips`` trusts
(addresses, CIDR networks or ``*``, see :class:`corral.server.http.proxy.PeerTrust`):
``X-Forwarded-For`` then gives ``REMOTE_ADDR``, and each ``secure_scheme_headers``
field present says https (its listed value) or http (any other); fields that
disagree refuse the request (400), as in Gunicorn.

Header fields whose names contain ``_`` are dropped, as Gunicorn does by default:
``X_Forwarded_For`` would otherwise pass for ``X-Forwarded-For``.  Gunicorn's
settings change that for the rare request carrying one:

* ``forwarder_headers``: from a peer trusted by ``forwarded_allow_ips``, a field
  named as listed (``SCRIPT_NAME: /app``) is kept as ``HTTP_SCRIPT_NAME`` and sets
  that environ key itself; ``SCRIPT_NAME`` is taken off the front of
  ``PATH_INFO`` as ``--root-path`` is, and a ``PATH_INFO`` field replaces it.
  ``*`` keeps every such field of a trusted peer (as ``HTTP_*`` only);
* ``header_map``: ``drop`` (default) the others, ``refuse`` the request (400) or
  keep them (``dangerous``): as in Gunicorn, ``X_Foo`` and ``X-Foo`` then share
  ``HTTP_X_FOO``, their values joined with commas in the order they came.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from corral.server.http import headscan
from corral.server.http.errors import ParseError
from corral.server.http.head import (
    UNDERSCORE_DROPPED,
    environ_key,
    forwarder_names,
    underscore_policy,
)
from corral.server.http.proxy import PeerTrust
from corral.server.http.response import FileWrapper
from corral.server.http.strict import flag_forwarding

if TYPE_CHECKING:
    from corral.server.config import Settings
    from corral.server.http.cycle import ConnInfo
    from corral.server.http.parser import RequestHead

_V11 = (1, 1)
class ErrorStream:
    """``wsgi.errors``: writes go to the error log's current stream, looked up
    per call (USR1 reopens log files), so one object serves every request."""

    __slots__ = ("_log",)

    def __init__(self, log: Any) -> None:
        self._log = log

    def _stream(self) -> Any:
        stream = getattr(self._log, "error_stream", None)
        return stream if stream is not None else sys.stderr

    def write(self, text: str) -> int:
        return int(self._stream().write(text) or 0)

    def writelines(self, lines: Any) -> None:
        self._stream().writelines(lines)

    def flush(self) -> None:
        self._stream().flush()


def path_info(path: str, script_name: str = "") -> str:
    """``PATH_INFO`` for a percent-encoded path: decoded, then read as latin-1
    (PEP 3333), with ``script_name`` taken off its front when it is there."""
    if "%" in path:
        path = unquote_to_bytes(path).decode("latin-1")
    if script_name and (path == script_name or path.startswith(script_name + "/")):
        path = path[len(script_name) :]
    return path


class EnvironBuilder:
    """Builds environ dicts for one worker process."""

    def __init__(self, settings: Settings, log: Any = None, multithread: bool = False) -> None:
        root = settings.root_path or os.environ.get("SCRIPT_NAME", "")
        self.script_name = root.rstrip("/")
        self.trusted = PeerTrust(settings.forwarded_allow_ips)
        self.secure_headers = [
            ("HTTP_" + k.upper().replace("-", "_"), v.lower())
            for k, v in settings.secure_scheme_headers.items()
        ]
        # the keys of the fields a trusted peer may forward the scheme or client in
        self.forwarding = frozenset([key for key, _ in self.secure_headers]
                                    + ["HTTP_X_FORWARDED_FOR"])
        flag_forwarding(self.forwarding)  # a head says when it has one (head.forwarded)
        self.header_map = settings.header_map
        self.forwarders = forwarder_names(settings)
        self.underscores = underscore_policy(self.header_map, self.forwarders)
        self.log = log
        self.template: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.multithread": multithread,
            "wsgi.multiprocess": settings.workers > 1,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
            "wsgi.input_terminated": True,
            "SERVER_SOFTWARE": "corral",
            "SCRIPT_NAME": self.script_name,
            "wsgi.errors": ErrorStream(log),
        }
        # (Host header, scheme) -> (SERVER_NAME, SERVER_PORT)
        self.host_splits = HostSplits()

    def _point(self, conn: ConnInfo, base: dict[str, Any], host: str | None) -> None:
        """Set ``SERVER_NAME`` and ``SERVER_PORT`` in the connection's ``base``
        for requests with this Host header (None or empty: none, the listening
        address then), which is nearly always the one the last request on the
        connection had: that one is found by comparing two strings."""
        if host:
            base["SERVER_NAME"], base["SERVER_PORT"] = self.host_splits[host, conn.url_scheme]
        else:
            base["SERVER_NAME"], base["SERVER_PORT"] = _listening(conn)
        conn.environ_host = host

    def connection_base(self, conn: ConnInfo) -> dict[str, Any]:
        """The keys every request on ``conn`` starts from: the template, the
        peer's address, the scheme, the listening address (until a Host header
        says otherwise), HTTP/1.1; kept on ``conn``."""
        env = self.template.copy()
        env["SERVER_PROTOCOL"] = "HTTP/1.1"
        peer = conn.peer
        if isinstance(peer, tuple):
            env["REMOTE_ADDR"] = str(peer[0])
            env["REMOTE_PORT"] = str(peer[1])
        else:
            env["REMOTE_ADDR"] = peer or ""
        env["wsgi.url_scheme"] = conn.url_scheme
        env["SERVER_NAME"], env["SERVER_PORT"] = _listening(conn)
        conn.environ_host = None
        conn.environ_trusted = self.trusts(conn)
        conn.environ_base = env
        return env

    def _with_underscores(self, head: RequestHead, env: dict[str, Any],
                          conn: ConnInfo) -> dict[str, Any]:
        """The end of :func:`build_environ` for a head with ``_`` field names (see the
        module docstring); raises ParseError(400) for ``header_map = refuse``."""
        trusted = self.trusts(conn)
        kept: set[str] = set()
        direct: dict[str, str] = {}
        pairs = head.headers
        for name, value in pairs:
            if "_" not in name:
                continue
            upper = name.upper()
            if trusted and upper in self.forwarders:
                direct[upper] = value
            elif not (trusted and "*" in self.forwarders):
                if self.header_map == "refuse":
                    raise ParseError(400, "header field name with underscore")
                if self.header_map != "dangerous":
                    continue
            kept.add(name)
        if kept:
            for name, _ in pairs:
                key = environ_key(name)
                if key is not None:
                    env.pop(key, None)
            for name, value in pairs:
                key = environ_key(name)
                if key is None:
                    if name not in kept:
                        continue
                    key = "HTTP_" + name.upper().replace("-", "_")
                env[key] = f"{env[key]},{value}" if key in env else value
        script_name = self.script_name
        if "SCRIPT_NAME" in direct:
            script_name = env["SCRIPT_NAME"] = direct.pop("SCRIPT_NAME").rstrip("/")
        env["PATH_INFO"] = path_info(head.path, script_name)
        if conn.environ_trusted and not self.forwarding.isdisjoint(env):
            self._forwarded(env, conn)
        env.update(direct)
        return env

    def trusts(self, conn: ConnInfo) -> bool:
        """Whether the peer may set forwarding headers (``forwarded_allow_ips``)."""
        return self.trusted(conn.peer)

    def _forwarded(self, env: dict[str, Any], conn: ConnInfo) -> None:
        """What the forwarding headers of a trusted peer say: the scheme, the
        client's address."""
        scheme = self._forwarded_scheme(env, conn.url_scheme)
        if scheme != conn.url_scheme:  # the default port goes with it
            env["wsgi.url_scheme"] = scheme
            host = env.get("HTTP_HOST")
            if host:
                env["SERVER_NAME"], env["SERVER_PORT"] = self.host_splits[host, scheme]
            elif not isinstance(conn.sockname, tuple):
                env["SERVER_PORT"] = "443" if scheme == "https" else "80"
        fwd = env.get("HTTP_X_FORWARDED_FOR")
        if fwd:
            client = fwd.rsplit(",", 1)[-1].strip()
            if client:
                env["REMOTE_ADDR"] = client
                env.pop("REMOTE_PORT", None)

    def _forwarded_scheme(self, env: dict[str, Any], scheme: str) -> str:
        """The scheme the ``secure_scheme_headers`` of a trusted peer say, as
        Gunicorn reads them: each one present says https when its value is the
        listed one and http otherwise; when they disagree the request is refused
        (400), since nobody can tell which hop lied."""
        verdict: bool | None = None
        for key, wanted in self.secure_headers:
            got = env.get(key)
            if got is None:
                continue
            for value in got.split(","):  # a field sent twice is joined with a comma
                https = value.strip().lower() == wanted
                if verdict is None:
                    verdict = https
                elif verdict != https:
                    raise ParseError(400, "contradictory scheme headers")
        if verdict is None:
            return scheme
        return "https" if verdict else "http"


def python_build_environ(builder: EnvironBuilder, head: RequestHead, body: Any,
                         conn: ConnInfo) -> dict[str, Any]:
    """The environ of one request: the connection's keys (made on its first
    request), the head's fields, the request's own keys; the rarer steps (a
    connection's first request, another Host header, names with ``_``,
    forwarding headers from a trusted peer) are ``builder``'s methods.

    This is the reference; where the extension is built, the compiled
    ``build_environ`` (``_headscan.c``) does the same, calling the same
    methods for the rarer steps."""
    base = conn.environ_base
    if base is None:
        base = builder.connection_base(conn)
    fields = head.fields
    host = fields.get("HTTP_HOST")
    if host != conn.environ_host:  # SERVER_NAME and SERVER_PORT as the base has them
        builder._point(conn, base, host)
    env = {**base, **fields}  # the head's fields, already keyed and joined
    env["REQUEST_METHOD"] = head.method
    env["RAW_URI"] = head.raw_uri
    env["QUERY_STRING"] = head.query
    if head.version != _V11:
        env["SERVER_PROTOCOL"] = "HTTP/1.0"
    env["wsgi.input"] = body
    if head.underscored and builder.underscores != UNDERSCORE_DROPPED:
        return builder._with_underscores(head, env, conn)
    path = head.path
    script_name = builder.script_name
    if "%" in path or script_name:
        path = path_info(path, script_name)
    env["PATH_INFO"] = path
    if head.forwarded and conn.environ_trusted:
        builder._forwarded(env, conn)
    return env


build_environ = python_build_environ
if headscan.native is not None:
    headscan.native.bind_environ(path_info, UNDERSCORE_DROPPED)
    build_environ = headscan.native.build_environ


def _listening(conn: ConnInfo) -> tuple[str, str]:
    """``SERVER_NAME`` and ``SERVER_PORT`` for a request without a Host header:
    the listening address (a Unix socket: localhost, the scheme's port)."""
    sock = conn.sockname
    if isinstance(sock, tuple):
        return str(sock[0]), str(sock[1])
    return "localhost", "443" if conn.url_scheme == "https" else "80"


class HostSplits(dict[tuple[str, str], tuple[str, str]]):
    """(Host header value, scheme) -> (SERVER_NAME, SERVER_PORT), split when
    first looked up and kept (up to 256 of them; others are split each time):
    a known host costs one dict lookup and no Python call."""

    __slots__ = ()

    def __missing__(self, key: tuple[str, str]) -> tuple[str, str]:
        split = _split_host(*key)
        if len(self) < 256:
            self[key] = split
        return split


def _split_host(host: str, scheme: str) -> tuple[str, str]:
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[: end + 1], host[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    elif ":" in host:
        name, _, port = host.rpartition(":")
    else:
        name, port = host, ""
    return name, port or ("443" if scheme == "https" else "80")
