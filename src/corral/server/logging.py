"""Error log and access log.

``Logger(settings)``: the error log goes through stdlib :mod:`logging` (logger
``corral.error``, to stderr or ``--error-logfile``) in Gunicorn's line format::

    [2026-11-22 10:00:00 +0000] [4242] [INFO] Listening at: http://127.0.0.1:8000 (4242)

The access log (only when ``--access-logfile`` is set; written directly, one
flushed line per request, not through :mod:`logging`) formats ``--access-logformat`` with Gunicorn's atoms:

    h remote address        l ``-``                 u user (HTTP basic auth)
    t time [10/Oct/2000:13:55:36 -0700]             r request line
    m method  U path  q query string  H protocol    s status
    B response length  b response length or ``-``   f referer  a user agent
    T seconds  D microseconds  M milliseconds  L seconds with decimals
    p ``<pid>``  {header}i request header  {header}o response header
    {variable}e WSGI environ variable

The format is compiled once: only the atoms it names are computed per request.
String values are escaped (:func:`escape`): ``"`` and ``\\`` get a backslash, control
characters become ``\\n``, ``\\r``, ``\\t`` or ``\\xHH``, so that no header can forge a
line or a field.  ``--access-log-json`` writes one JSON object per request instead
(:func:`json_access_line`).  With ``--metrics-bind``, :meth:`Logger.access` also counts
the request (:mod:`corral.server.metrics`).

A log config (``--log-config``, ``--log-config-json``, ``logconfig_dict``) and
``--log-syslog`` are applied on top of this setup (:mod:`corral.server.logconfig`);
with either, access lines also go through the ``corral.access`` logger, as a record
whose message is the format and whose argument is the dict of atoms (as Gunicorn's).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from corral.server.logconfig import (
    ACCESS_LOGGER,
    ERROR_LOGGER,
    LogConfigError,
    SyslogHandler,
    apply_log_config,
    syslog_handler,
)

if TYPE_CHECKING:
    from corral.server.config import Settings

ERROR_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
ERROR_DATEFMT = "[%Y-%m-%d %H:%M:%S %z]"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

Environ = Mapping[str, Any]
Headers = list[tuple[str, str]]
# an atom getter: (environ, status, response headers, bytes sent, seconds) -> value
Getter = Callable[[Environ, str, Headers, int, float], Any]

_ATOM_RE = re.compile(r"%\(([^)]*)\)")


def _basic_auth_user(environ: Environ) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "basic" or not value:
        return "-"
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return "-"
    user, sep, _ = decoded.partition(":")
    return user if sep and user else "-"


def _request_header(name: str) -> Getter:
    key = name.upper().replace("-", "_")
    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        key = "HTTP_" + key
    return lambda env, st, hd, n, el: env.get(key, "-")


def _response_header(name: str) -> Getter:
    lname = name.lower()

    def get(env: Environ, st: str, hd: Headers, n: int, el: float) -> str:
        for k, v in hd:
            if k.lower() == lname:
                return v
        return "-"

    return get


def _environ_var(name: str) -> Getter:
    return lambda env, st, hd, n, el: env.get(name, env.get(name.upper(), "-"))


def _request_line(env: Environ, st: str, hd: Headers, n: int, el: float) -> str:
    uri = env.get("RAW_URI") or env.get("PATH_INFO", "")
    return f"{env.get('REQUEST_METHOD', '-')} {uri} {env.get('SERVER_PROTOCOL', '-')}"


_ATOMS: dict[str, Getter] = {
    "h": lambda env, st, hd, n, el: env.get("REMOTE_ADDR", "-"),
    "l": lambda env, st, hd, n, el: "-",
    "u": lambda env, st, hd, n, el: _basic_auth_user(env),
    "r": _request_line,
    "m": lambda env, st, hd, n, el: env.get("REQUEST_METHOD", "-"),
    "U": lambda env, st, hd, n, el: env.get("PATH_INFO", "-"),
    "q": lambda env, st, hd, n, el: env.get("QUERY_STRING", "-"),
    "H": lambda env, st, hd, n, el: env.get("SERVER_PROTOCOL", "-"),
    "s": lambda env, st, hd, n, el: st.split(None, 1)[0] if st else "-",
    "B": lambda env, st, hd, n, el: n,
    "b": lambda env, st, hd, n, el: "-" if n is None else str(n),
    "f": lambda env, st, hd, n, el: env.get("HTTP_REFERER", "-"),
    "a": lambda env, st, hd, n, el: env.get("HTTP_USER_AGENT", "-"),
    "T": lambda env, st, hd, n, el: int(el),
    "D": lambda env, st, hd, n, el: int(el * 1_000_000),
    "M": lambda env, st, hd, n, el: int(el * 1000),
    "L": lambda env, st, hd, n, el: f"{el:.6f}",
}


# What an access line escapes (as Apache and nginx write their logs): quotes and
# backslashes with a backslash, control characters (C0, DEL, C1) as \n, \t, \r or
# \xHH, so that a header value cannot forge a line or a field.
_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)]}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
                 ord('"'): '\\"', ord("\\"): "\\\\"})


def escape(value: str) -> str:
    """``value`` as an access line writes it (see :data:`_ESCAPES`)."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return value
    return value.translate(_ESCAPES)


def _status_code(status: str) -> int | None:
    code = status.split(None, 1)[0] if status else ""
    return int(code) if code.isdigit() else None


def json_access_line(environ: Environ, status: str, sent: int, elapsed: float) -> str:
    """``--access-log-json``: one JSON object with the default format's fields (absent
    values as null), the time in ISO 8601 and the duration in microseconds."""
    user = _basic_auth_user(environ)
    return json.dumps({
        "time": datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(
            timespec="milliseconds"),
        "remote_addr": environ.get("REMOTE_ADDR"),
        "user": None if user == "-" else user,
        "request": _request_line(environ, status, [], sent, elapsed),
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "query": environ.get("QUERY_STRING", ""),
        "protocol": environ.get("SERVER_PROTOCOL"),
        "status": _status_code(status),
        "bytes": sent,
        "referer": environ.get("HTTP_REFERER"),
        "user_agent": environ.get("HTTP_USER_AGENT"),
        "duration_us": int(elapsed * 1_000_000),
        "pid": os.getpid(),
    })


class AccessFormat:
    """``--access-logformat`` compiled once: the atoms it names and their getters."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self._clf_second = -1
        self._clf_time = ""
        self._pid = ""
        keys = list(dict.fromkeys(_ATOM_RE.findall(fmt)))
        self.getters: list[tuple[str, Getter]] = []
        for key in keys:
            getter = self._getter(key)
            if getter is not None:
                self.getters.append((key, getter))
        self.uses_time = "t" in keys
        self.uses_pid = "p" in keys

    @staticmethod
    def _getter(key: str) -> Getter | None:
        if key in _ATOMS:
            return _ATOMS[key]
        if key.startswith("{") and len(key) > 3 and key[-2] == "}":
            name, kind = key[1:-2], key[-1]
            if kind == "i":
                return _request_header(name)
            if kind == "o":
                return _response_header(name)
            if kind == "e":
                return _environ_var(name)
        return None  # t, p and unknown atoms are filled in by render()

    def now(self) -> str:
        """Apache common log format time, formatted once per second."""
        second = int(time.time())
        if second != self._clf_second:
            self._clf_second = second
            self._clf_time = time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second))
        return self._clf_time

    def render(self, environ: Environ, status: str, headers: Headers, sent: int,
               elapsed: float) -> str:
        return self.fmt % self.atoms(environ, status, headers, sent, elapsed)

    def atoms(self, environ: Environ, status: str, headers: Headers, sent: int,
              elapsed: float) -> dict[str, Any]:
        """The values of the atoms the format names (unknown ones read as ``-``)."""
        atoms: dict[str, Any] = _Missing()
        for key, get in self.getters:
            value = get(environ, status, headers, sent, elapsed)
            if value.__class__ is str:
                value = escape(value)
            atoms[key] = value
        if self.uses_time:
            atoms["t"] = self.now()
        if self.uses_pid:
            atoms["p"] = f"<{os.getpid()}>"
        return atoms


class _Missing(dict):  # type: ignore[type-arg]
    """Unknown atoms format as ``-``."""

    def __missing__(self, key: str) -> str:
        return "-"


class _LineWriter:
    """The access log's output: one flushed line per request, without the cost of a
    :class:`logging.LogRecord` per request.  ``-`` means the current ``sys.stdout``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.lock = threading.Lock()
        self.stream: IO[str] | None = None
        self.reopen()

    def reopen(self) -> None:
        with self.lock:
            old, self.stream = self.stream, None
            if self.target != "-":
                _make_parent(self.target)
                self.stream = open(self.target, "a", encoding="utf-8")
            if old is not None:
                old.close()

    def write(self, line: str) -> None:
        with self.lock:
            stream = self.stream or sys.stdout
            stream.write(line + "\n")
            stream.flush()

    def close(self) -> None:
        with self.lock:
            if self.stream is not None:
                self.stream.close()
                self.stream = None

    def __del__(self) -> None:  # a Logger dropped without close(): no unclosed file
        stream = getattr(self, "stream", None)
        if stream is not None:
            stream.close()


def _make_parent(path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


class _ErrorStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The error log on stderr (marks handlers installed by a :class:`Logger`)."""


class _ErrorFileHandler(logging.FileHandler):
    """The error log in a file (marks handlers installed by a :class:`Logger`)."""


def _error_handler(target: str) -> logging.Handler:
    if target == "-":
        return _ErrorStreamHandler(sys.stderr)
    _make_parent(target)
    return _ErrorFileHandler(target, encoding="utf-8")


class Logger:
    """The server's error and access logs, configured from settings.

    The newest Logger of a process owns the ``corral.error`` and ``corral.access``
    loggers: creating one removes the handlers an earlier one installed, so lines are
    never doubled.

    ``access_enabled`` tells the request cycle whether to time requests and call
    :meth:`access`; subclasses that measure requests (see
    :class:`corral.server.statsd.Statsd`) set it even when no access line is written.
    """

    def __init__(self, settings: Settings) -> None:
        self.error_log = logging.getLogger(ERROR_LOGGER)
        self.access_log = logging.getLogger(ACCESS_LOGGER)
        self.access_writer: _LineWriter | None = None
        self.access_enabled = False
        self._access_lines = False  # access() renders a line
        self._access_records = False  # ... and logs it through ``corral.access``
        self._handler: logging.Handler | None = None
        self._syslog: list[tuple[logging.Logger, logging.Handler]] = []
        self._configured = False  # a log config file or dict was applied
        self._set_up_once = False
        self._capture_fd: int | None = None
        self.access_json = False  # --access-log-json
        self.metrics: Any = None  # corral.server.metrics.Metrics with --metrics-bind
        self.setup(settings)

    def setup(self, settings: Settings) -> None:
        """(Re)configure from ``settings``; also used after a reload.

        A bad log config raises :class:`LogConfigError` the first time; on a later
        call (a reload) it is logged and the default setup is kept."""
        self.close()
        for log in (self.error_log, self.access_log):
            for stale in list(log.handlers):
                if isinstance(stale, (_ErrorStreamHandler, _ErrorFileHandler, SyslogHandler)):
                    log.removeHandler(stale)
                    if not isinstance(stale, _ErrorStreamHandler):
                        stale.close()
        self.settings = settings
        self.access_format = AccessFormat(settings.access_log_format)
        handler = _error_handler(settings.errorlog)
        handler.setFormatter(logging.Formatter(ERROR_FORMAT, ERROR_DATEFMT))
        self.error_log.setLevel(LEVELS.get(settings.loglevel, logging.INFO))
        self.error_log.propagate = False
        self.error_log.addHandler(handler)
        self._handler = handler
        self.access_log.setLevel(logging.INFO)
        self.access_log.propagate = False
        first, self._set_up_once = not self._set_up_once, True
        try:
            self._apply_extras(settings)
        except LogConfigError as e:
            if first:
                self.close()
                raise
            self.error_log.error("Cannot apply the logging settings, keeping the "
                                 "defaults: %s", e)
        self.access_enabled = self._access_lines or self.metrics is not None
        self._capture()

    def _apply_extras(self, settings: Settings) -> None:
        """Log config, syslog, then the access log file (unless the log config took
        over the access logger)."""
        configured = apply_log_config(settings)
        self._configured = configured is not None
        if configured is not None:
            self._keep_own_handler()
        config_takes_access = configured is not None and ACCESS_LOGGER in configured
        takes_access = config_takes_access
        if settings.syslog:
            self._add_syslog(self.error_log, syslog_handler(settings, "error"))
            if not settings.disable_redirect_access_to_syslog:
                self._add_syslog(self.access_log, syslog_handler(settings, "access"))
                takes_access = True
        self._access_records = configured is not None or takes_access
        self.access_json = settings.access_log_json
        target = settings.accesslog
        if target is None and self.access_json:
            target = "-"  # --access-log-json alone: to stdout
        if target is not None and not config_takes_access:
            self.access_writer = _LineWriter(target)
        self._access_lines = self._access_records or self.access_writer is not None
        if settings.metrics_bind:
            from corral.server.metrics import MetricsError, enable

            try:
                self.metrics = enable()
            except MetricsError as e:
                raise LogConfigError(str(e)) from None

    def _keep_own_handler(self) -> None:
        """After a log config: drop the default handler if the config replaced it, or
        reopen it if the config closed it while leaving it in place."""
        handler = self._handler
        if handler is None:
            return
        if handler not in self.error_log.handlers:
            self._handler = None
            handler.close()
        elif isinstance(handler, logging.FileHandler) and handler.stream is None:
            handler.stream = handler._open()

    def _add_syslog(self, log: logging.Logger, handler: logging.Handler) -> None:
        log.addHandler(handler)
        self._syslog.append((log, handler))

    def _capture(self) -> None:
        """``capture_output``: point fds 1 and 2 at the error log file."""
        if not self.settings.capture_output or self.settings.errorlog == "-":
            return
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        fd = os.open(self.settings.errorlog, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        if self._capture_fd is not None:
            os.close(self._capture_fd)
        self._capture_fd = fd

    # -- error log -----------------------------------------------------------
    def debug(self, msg: str, *args: Any, **kw: Any) -> None:
        self.error_log.debug(msg, *args, **kw)

    def info(self, msg: str, *args: Any, **kw: Any) -> None:
        self.error_log.info(msg, *args, **kw)

    def warning(self, msg: str, *args: Any, **kw: Any) -> None:
        self.error_log.warning(msg, *args, **kw)

    def error(self, msg: str, *args: Any, **kw: Any) -> None:
        self.error_log.error(msg, *args, **kw)

    def exception(self, msg: str, *args: Any, **kw: Any) -> None:
        self.error_log.exception(msg, *args, **kw)

    def critical(self, msg: str, *args: Any, **kw: Any) -> None:
        self.error_log.critical(msg, *args, **kw)

    def log(self, level: int, msg: str, *args: Any, **kw: Any) -> None:
        self.error_log.log(level, msg, *args, **kw)

    @property
    def error_stream(self) -> IO[str]:
        """The error log's current text stream (e.g. for ``wsgi.errors``); fetch it
        per use, since :meth:`reopen_files` replaces it."""
        if isinstance(self._handler, logging.StreamHandler) and self._handler.stream:
            return self._handler.stream  # type: ignore[no-any-return]
        return sys.stderr

    # -- access log ----------------------------------------------------------
    def access(self, environ: Environ, status: str, headers: Headers, sent: int,
               elapsed: float) -> None:
        """Write one access log line (a no-op unless an access log is configured);
        count the request in the metrics (--metrics-bind)."""
        if self.metrics is not None:
            self.metrics.observe(environ.get("REQUEST_METHOD", ""), status, elapsed)
        if not self._access_lines:
            return
        fmt = self.access_format
        try:
            if self.access_json:
                line = json_access_line(environ, status, sent, elapsed)
                atoms = None
            else:
                atoms = fmt.atoms(environ, status, headers, sent, elapsed)
                line = fmt.fmt % atoms
        except Exception:
            self.error_log.exception("Failed to format the access log line")
            return
        if self.access_writer is not None:
            self.access_writer.write(line)
        if self._access_records:
            if atoms:
                self.access_log.info(fmt.fmt, atoms)
            else:
                self.access_log.info(line.replace("%", "%%"))

    # -- files ---------------------------------------------------------------
    def reopen_files(self) -> None:
        """Reopen log files (SIGUSR1, after log rotation); with a log config, the
        file handlers of every logger too."""
        handlers: list[logging.Handler] = [] if self._handler is None else [self._handler]
        if self._configured:
            loggers = [logging.getLogger()] + [
                log for log in logging.Logger.manager.loggerDict.values()
                if isinstance(log, logging.Logger)]
            for log in loggers:
                handlers.extend(h for h in log.handlers if h not in handlers)
        for handler in handlers:
            if isinstance(handler, logging.FileHandler):
                _reopen(handler)
        if self.access_writer is not None:
            self.access_writer.reopen()
        self._capture()

    def close(self) -> None:
        """Remove and close this logger's handlers and files."""
        handler, self._handler = self._handler, None
        owned = [(self.error_log, handler)] if handler is not None else []
        owned += self._syslog
        self._syslog = []
        for log, h in owned:
            log.removeHandler(h)
            try:
                h.flush()
                h.close()
            except (ValueError, OSError):  # the stream was closed under us
                pass
        if self.access_writer is not None:
            self.access_writer.close()
            self.access_writer = None
        self.access_enabled = self._access_lines = self._access_records = False
        if self._capture_fd is not None:
            os.close(self._capture_fd)
            self._capture_fd = None


def _reopen(handler: logging.FileHandler) -> None:
    handler.acquire()
    try:
        if handler.stream:
            handler.stream.close()
        handler.stream = handler._open()
    finally:
        handler.release()
