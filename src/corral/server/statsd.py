"""StatsD metrics, sent by a logger (as Gunicorn's ``--statsd-host`` does).

With ``--statsd-host`` and the default ``--logger-class``, the server logs through
:class:`Statsd`, which also sends, one datagram per metric (names as Gunicorn's, so
its dashboards keep working, each after ``--statsd-prefix`` plus ``.``):

    gunicorn.requests:1|c|@1.0                 per request
    gunicorn.request.duration:<ms>|ms          per request, milliseconds
    gunicorn.request.status.<code>:1|c|@1.0    per request
    gunicorn.workers:<n>|g                     when the number of workers changes
    gunicorn.log.<level>:1|c|@1.0              per critical, error, warning and
                                               exception line of the error log

``--dogstatsd-tags`` (``k:v,k2:v2``) is appended to every datagram as ``|#k:v,k2:v2``.
A log call with ``extra={"metric": NAME, "value": V, "mtype": "gauge"|"counter"|
"histogram"}`` sends that metric too.  The socket never blocks; a datagram that
cannot be sent is dropped.
"""

from __future__ import annotations

import logging
import re
import socket
from typing import TYPE_CHECKING, Any

from corral.server.logconfig import LogConfigError
from corral.server.logging import Environ, Headers, Logger

if TYPE_CHECKING:
    from corral.server.config import Settings

DEFAULT_PORT = 8125
_UNIX_PORT = re.compile(r"unix:(\d+)")


def parse_statsd_address(value: str) -> str | tuple[str, int]:
    """``unix://PATH`` (or ``unix:PATH``) as a path, ``HOST[:PORT]`` or
    ``[V6]:PORT`` as (host, port); the port defaults to 8125."""
    label = f"--statsd-host {value!r}"
    text = value.strip()
    if _UNIX_PORT.fullmatch(text):  # a host named "unix", as Gunicorn reads it
        return "unix", int(text[5:])
    if text.startswith("unix:"):
        path = text[len("unix://"):] if text.startswith("unix://") else text[len("unix:"):]
        if not path:
            raise LogConfigError(f"{label}: expected unix://PATH")
        return path
    if text.startswith("["):
        host, sep, tail = text[1:].partition("]")
        if not sep or (tail and not tail.startswith(":")):
            raise LogConfigError(f"{label}: expected HOST:PORT or unix://PATH")
        port_text = tail[1:]
    else:
        host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
    if not port_text:
        port_text = str(DEFAULT_PORT)
    if not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise LogConfigError(f"{label}: {port_text!r} is not a valid port number")
    return host or "localhost", int(port_text)


def metric_prefix(prefix: str | None) -> str:
    """``--statsd-prefix`` with one ``.`` after it (empty stays empty)."""
    text = (prefix or "").strip().rstrip(".")
    return f"{text}." if text else ""


class StatsdClient:
    """A non-blocking datagram socket to a StatsD server (UDP or unix)."""

    def __init__(self, address: str | tuple[str, int], prefix: str = "",
                 tags: str = "") -> None:
        self.address = address
        self.prefix = metric_prefix(prefix)
        tags = (tags or "").strip()
        self.suffix = f"|#{tags}".encode() if tags else b""
        self.problem = ""  # why nothing can be sent, if so
        self.path: str | None = None
        self.sock: socket.socket | None = None
        try:
            if isinstance(address, str):
                self.path = address  # sendto each time: the server may start later
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            else:
                family, kind, proto, _, sockaddr = socket.getaddrinfo(
                    address[0], address[1], 0, socket.SOCK_DGRAM)[0]
                self.sock = socket.socket(family, kind, proto)
                self.sock.connect(sockaddr)
            self.sock.setblocking(False)
        except OSError as e:
            self.close()
            self.problem = e.strerror or str(e)

    def send(self, line: str) -> None:
        sock = self.sock
        if sock is None:
            return
        data = self.prefix.encode() + line.encode("utf-8", "replace") + self.suffix
        try:
            if self.path is None:
                sock.send(data)
            else:
                sock.sendto(data, self.path)
        except OSError:
            pass  # no server, a full queue, ...: metrics are best effort

    def gauge(self, name: str, value: Any) -> None:
        self.send(f"{name}:{value}|g")

    def increment(self, name: str, value: Any = 1, sampling_rate: float = 1.0) -> None:
        self.send(f"{name}:{value}|c|@{sampling_rate}")

    def decrement(self, name: str, value: Any = 1, sampling_rate: float = 1.0) -> None:
        self.send(f"{name}:-{value}|c|@{sampling_rate}")

    def histogram(self, name: str, value: Any) -> None:
        self.send(f"{name}:{value}|ms")

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


class Statsd(Logger):
    """The error and access logs, plus StatsD metrics (see the module docs)."""

    _statsd: StatsdClient | None = None

    def setup(self, settings: Settings) -> None:
        first = not self._set_up_once
        problem = ""
        try:
            address = parse_statsd_address(str(settings.statsd_host))
        except LogConfigError as e:
            if first:
                raise
            client, problem = None, str(e)
        else:
            client = StatsdClient(address, settings.statsd_prefix, settings.dogstatsd_tags)
            problem = f"{settings.statsd_host}: {client.problem}" if client.problem else ""
        super().setup(settings)  # closes the previous client
        self._statsd = client
        self.access_enabled = True
        if problem:
            Logger.warning(self, "StatsD metrics are off: %s", problem)

    def close(self) -> None:
        super().close()
        client, self._statsd = self._statsd, None
        if client is not None:
            client.close()

    # -- metrics ---------------------------------------------------------------
    def gauge(self, name: str, value: Any) -> None:
        if self._statsd is not None:
            self._statsd.gauge(name, value)

    def increment(self, name: str, value: Any = 1, sampling_rate: float = 1.0) -> None:
        if self._statsd is not None:
            self._statsd.increment(name, value, sampling_rate)

    def decrement(self, name: str, value: Any = 1, sampling_rate: float = 1.0) -> None:
        if self._statsd is not None:
            self._statsd.decrement(name, value, sampling_rate)

    def histogram(self, name: str, value: Any) -> None:
        if self._statsd is not None:
            self._statsd.histogram(name, value)

    # -- the error log, counted ------------------------------------------------
    def critical(self, msg: str, *args: Any, **kw: Any) -> None:
        super().critical(msg, *args, **kw)
        self.increment("gunicorn.log.critical")

    def error(self, msg: str, *args: Any, **kw: Any) -> None:
        super().error(msg, *args, **kw)
        self.increment("gunicorn.log.error")

    def warning(self, msg: str, *args: Any, **kw: Any) -> None:
        super().warning(msg, *args, **kw)
        self.increment("gunicorn.log.warning")

    def exception(self, msg: str, *args: Any, **kw: Any) -> None:
        super().exception(msg, *args, **kw)
        self.increment("gunicorn.log.exception")

    def info(self, msg: str, *args: Any, **kw: Any) -> None:
        self.log(logging.INFO, msg, *args, **kw)

    def debug(self, msg: str, *args: Any, **kw: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kw)

    def log(self, level: int, msg: str, *args: Any, **kw: Any) -> None:
        """Log ``msg`` (if any), and send the metric named in ``extra``, if any."""
        extra = kw.get("extra")
        if isinstance(extra, dict) and extra.get("metric") and extra.get("value") is not None:
            send = {"gauge": self.gauge, "counter": self.increment,
                    "histogram": self.histogram}.get(str(extra.get("mtype")))
            if send is not None:
                send(str(extra["metric"]), extra["value"])
        if msg:
            super().log(level, msg, *args, **kw)

    # -- per request -----------------------------------------------------------
    def access(self, environ: Environ, status: str, headers: Headers, sent: int,
               elapsed: float) -> None:
        super().access(environ, status, headers, sent, elapsed)
        client = self._statsd
        if client is None:
            return
        client.histogram("gunicorn.request.duration", round(elapsed * 1000, 3))
        client.increment("gunicorn.requests")
        try:
            code = int(str(status).split(None, 1)[0])
        except (ValueError, IndexError):
            return
        client.increment(f"gunicorn.request.status.{code}")
