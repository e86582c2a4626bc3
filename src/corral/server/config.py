"""Server settings: one declarative table, read by the CLI, the config file and the docs.

Every setting is one :class:`Setting` record in :data:`SETTINGS` (name, validator,
default, command-line flags, environment variable, help text, section).  From that
table come the argparse parser, the config-file reader, ``--print-config`` and the
Markdown reference in README.md (``python -m corral.server.config --markdown``).

Names and flag spellings are Gunicorn's.  Precedence, highest first: command line,
``CORRAL_CMD_ARGS`` (extra arguments parsed like the command line), per-setting
environment variables (``WEB_CONCURRENCY`` for ``workers``), the config file
(a Python file whose module globals are setting names; hooks are functions there),
then the defaults.

Usage::

    settings = Settings.from_argv(sys.argv[1:])   # raises ConfigError on a bad value
    settings.workers, settings.bind, settings.post_fork(arbiter, worker)
    fresh = settings.reread()                     # re-reads argv/env/config file
    Settings(workers=2, timeout=5)                # defaults + overrides (for tests)
"""

from __future__ import annotations

import argparse
import grp
import importlib
import os
import pwd
import shlex
import ssl
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral import __version__
from corral.server import hooks

DEFAULT_CONFIG = "./corral.conf.py"
DEFAULT_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
CMD_ARGS_ENV = "CORRAL_CMD_ARGS"
USAGE = "corral [OPTIONS] APP_URI"

Validator = Callable[[Any], Any]


class ConfigError(Exception):
    """A bad setting value or config file; the message is one line naming it."""


class UsageError(ConfigError):
    """The command line itself could not be parsed (unknown option, ...)."""


# -- validators: take a raw value (a str from the CLI/env or any Python value from a
# config file), return the normalised value or raise ValueError with a short reason.
# They are idempotent: validating a validated value returns it unchanged.


def _int(minimum: int = 0) -> Validator:
    def validate(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"invalid int value: {value!r}")
        if isinstance(value, int):
            n = value
        else:
            try:
                n = int(str(value).strip())
            except ValueError:
                raise ValueError(f"invalid int value: {value!r}")
        if n < minimum:
            raise ValueError(f"must be >= {minimum}, got {n}")
        return n

    return validate


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"invalid float value: {value!r}")
    try:
        n = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except ValueError:
        raise ValueError(f"invalid float value: {value!r}")
    if n < 0:
        raise ValueError(f"must be >= 0, got {n}")
    return n


_TRUE = {"true", "1", "yes", "on", "y"}
_FALSE = {"false", "0", "no", "off", "n", ""}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"invalid boolean value: {value!r}")


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _octal(value: Any) -> int:
    """An int, or a string read as octal (``022``, ``0o22``) like a shell umask."""
    if isinstance(value, bool):
        raise ValueError(f"invalid octal value: {value!r}")
    if isinstance(value, int):
        result = value
    else:
        text = str(value).strip().lower().removeprefix("0o")
        try:
            result = int(text, 8)
        except ValueError:
            raise ValueError(f"invalid octal value: {value!r}") from None
    if not 0 <= result <= 0o777:
        raise ValueError(f"must be between 0 and 0o777, got {value!r}")
    return result


def _account(kind: str, lookup: Callable[[str], int], current: Callable[[], int]) -> Validator:
    """A user or group given by name or numeric id, resolved to the id.  ``None``
    means the identity this process runs with (nothing to switch)."""

    def validate(value: Any) -> int:
        if value is None:
            return current()
        if isinstance(value, bool):
            raise ValueError(f"invalid {kind}: {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"invalid {kind} id: {value}")
            return value
        text = _str(value).strip()
        if text.isdigit():
            return int(text)
        try:
            return lookup(text)
        except KeyError:
            raise ValueError(f"no such {kind}: {text!r}") from None

    return validate


_user = _account("user", lambda name: pwd.getpwnam(name).pw_uid, os.geteuid)
_group = _account("group", lambda name: grp.getgrnam(name).gr_gid, os.getegid)


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else _bool(value)


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a dict, got {value!r}")
    return value


def _ssl_version(value: Any) -> str:
    """Gunicorn's ``ssl_version``: only the values meaning "whatever OpenSSL
    negotiates" are accepted, as a name or as the ``ssl`` module's number."""
    names = {"TLS": "TLS_SERVER", "TLS_SERVER": "TLS_SERVER", "SSLV23": "TLS_SERVER"}
    numbers = {int(ssl.PROTOCOL_TLS_SERVER): "TLS_SERVER", 2: "TLS_SERVER"}
    if isinstance(value, int) and not isinstance(value, bool) and value in numbers:
        return numbers[value]
    text = str(value).strip().upper().removeprefix("PROTOCOL_")
    if text.isdigit() and int(text) in numbers:
        return numbers[int(text)]
    if text in names:
        return names[text]
    raise ValueError(f"{value!r} is not supported: corral negotiates the TLS version with "
                     "OpenSSL's defaults (TLS_SERVER); restrict it with --ciphers or the "
                     "OpenSSL configuration")


def _opt_dir(value: Any) -> str | None:
    """An existing, writable directory (or None)."""
    if value is None:
        return None
    path = _str(value)
    if not os.path.isdir(path):
        raise ValueError(f"no such directory: {path!r}")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"directory not writable: {path!r}")
    return path


def _choice(*choices: str) -> Validator:
    def validate(value: Any) -> str:
        text = _str(value).strip().lower()
        if text not in choices:
            options = ", ".join(repr(c) for c in choices)
            raise ValueError(f"invalid choice: {value!r} (choose from {options})")
        return text

    return validate


def _str_list(value: Any) -> list[str]:
    """A string or a list of strings (repeatable flags, e.g. --bind)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"expected a string or a list of strings, got {value!r}")


def _comma_list(value: Any) -> list[str]:
    """Comma-separated string, or a list of strings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [v.strip() for v in _str_list(value)]


def _env_list(value: Any) -> list[str]:
    items = _str_list(value)
    for item in items:
        if "=" not in item or item.startswith("="):
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
    return items


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"expected a dict of strings, got {value!r}")
    return {k.upper(): v for k, v in value.items()}


def _hook(name: str) -> Validator:
    def validate(value: Any) -> Any:
        return hooks.check_hook(name, value)

    return validate


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    validate: Validator
    default: Any
    help: str
    section: str
    flags: tuple[str, ...] = ()
    action: str = "store"  # "store", "append", "store_true" or "store_false"
    metavar: str | None = None
    env: str | None = None
    doc_default: str | None = None  # for the reference when the default is not fixed
    positional: bool = False

    @property
    def label(self) -> str:
        """How errors name this setting: its long flag, else its name."""
        longs = [f for f in self.flags if f.startswith("--")]
        return longs[0] if longs else self.name

    def default_value(self, cwd: str) -> Any:
        return cwd if self.name == "chdir" else self.default


def _s(name: str, validate: Validator, default: Any, flags: str, help: str, section: str,
       **kw: Any) -> Setting:
    return Setting(name, validate, default, help, section, tuple(flags.split()), **kw)


_SOCK, _WORK, _MECH, _LOG, _SEC, _PROXY, _SSL, _HOOK = (
    "Server socket", "Worker processes", "Server mechanics", "Logging",
    "Request limits", "Proxies", "TLS", "Server hooks",
)

SETTINGS: list[Setting] = [
    _s("app_uri", _opt_str, None, "", "The WSGI application: `module:attr`, `module:attr.sub`, "
       "`module:factory()`, `module:factory('arg', k=1)`, or `module` for "
       "`module:application`.", _MECH, positional=True, metavar="APP_URI"),
    _s("config", _str, DEFAULT_CONFIG, "-c --config", "Config file: a Python file whose "
       "globals are setting names (or `python:module.name`). The default one is read only "
       "if it exists.", _MECH, metavar="CONFIG"),
    _s("bind", _str_list, ["127.0.0.1:8000"], "-b --bind", "Address to listen on: "
       "`HOST:PORT`, `[::1]:PORT`, `unix:/path` or `fd://N`. Repeat to listen on several.",
       _SOCK, action="append", metavar="ADDRESS"),
    _s("backlog", _int(1), 2048, "--backlog", "Maximum number of pending connections.",
       _SOCK, metavar="INT"),
    _s("umask", _octal, 0, "-m --umask", "Bit mask for the mode of unix socket files "
       "(octal, e.g. `022`).", _SOCK, metavar="INT"),
    _s("reuse_port", _bool, False, "--reuse-port", "Set `SO_REUSEPORT` on listening "
       "sockets.", _SOCK, action="store_true"),
    _s("workers", _int(1), 1, "-w --workers", "Number of worker processes.", _WORK,
       metavar="INT", env="WEB_CONCURRENCY", doc_default="`$WEB_CONCURRENCY` or 1"),
    _s("worker_class", _str, "asyncio", "-k --worker-class", "Worker class: `asyncio`, "
       "`sync`, `gthread`, `gevent`, or a `module:Class` path.", _WORK, metavar="STRING"),
    _s("threads", _int(1), 1, "--threads", "Threads per worker that run the application "
       "(`asyncio`, `gthread`).", _WORK, metavar="INT"),
    _s("worker_connections", _int(1), 1000, "--worker-connections", "Maximum number of "
       "simultaneous connections per worker.", _WORK, metavar="INT"),
    _s("loop", _choice("auto", "asyncio", "uvloop"), "auto", "--loop", "Event loop of the "
       "`asyncio` worker: `auto` uses uvloop when installed.", _WORK, metavar="STRING"),
    _s("max_requests", _int(0), 0, "--max-requests", "Restart a worker gracefully after this "
       "many requests (0 disables).", _WORK, metavar="INT"),
    _s("max_requests_jitter", _int(0), 0, "--max-requests-jitter", "Add a random 0..N to "
       "`max_requests` per worker so they do not all restart at once.", _WORK, metavar="INT"),
    _s("timeout", _int(0), 30, "-t --timeout", "Workers silent for more than this many "
       "seconds are killed and restarted (0 disables).", _WORK, metavar="INT"),
    _s("graceful_timeout", _int(0), 30, "--graceful-timeout", "Seconds workers get to finish "
       "in-flight requests after a graceful stop before they are killed.", _WORK,
       metavar="INT"),
    _s("keepalive", _int(0), 2, "--keep-alive", "Seconds to wait for the next request on a "
       "keep-alive connection (0 disables keep-alive).", _WORK, metavar="INT"),
    _s("header_timeout", _float, 10.0, "--header-timeout", "Seconds a client gets to send a "
       "complete request head.", _WORK, metavar="FLOAT"),
    _s("body_timeout", _float, 30.0, "--body-timeout", "Seconds of idle time allowed between "
       "reads of a request body.", _WORK, metavar="FLOAT"),
    _s("worker_tmp_dir", _opt_str, None, "--worker-tmp-dir", "Directory for the workers' "
       "heartbeat files (default: the system temporary directory).", _WORK, metavar="DIR"),
    _s("preload_app", _bool, False, "--preload", "Load the application in the master before "
       "forking workers.", _MECH, action="store_true"),
    _s("chdir", _str, None, "--chdir", "Change to this directory before loading the "
       "application.", _MECH, metavar="DIR", doc_default="current directory"),
    _s("pythonpath", _opt_str, None, "--pythonpath", "Comma-separated directories to add "
       "to the Python path.", _MECH, metavar="STRING"),
    _s("user", _user, None, "-u --user", "Run the worker processes as this user (a name or "
       "a numeric id); the master keeps its own identity. Unix socket files and log files "
       "are given to this user and `--group`.", _MECH, metavar="USER", doc_default="current user"),
    _s("group", _group, None, "-g --group", "Run the worker processes with this group (a name "
       "or a numeric id); without it they keep the master's group, even with `--user`. When "
       "the identity changes, the workers keep no supplementary groups unless "
       "`--initgroups` is given.", _MECH, metavar="GROUP", doc_default="current group"),
    _s("initgroups", _bool, False, "--initgroups", "Give the worker processes every "
       "supplementary group the `--user` account belongs to, plus `--group`.", _MECH,
       action="store_true"),
    _s("daemon", _bool, False, "-D --daemon", "Detach the master from the terminal and run "
       "it in the background (`--pid` then records the background process). The command "
       "returns once the server listens; its standard streams go to `/dev/null`, so set "
       "`--error-logfile` (and `--capture-output`) to keep its output.", _MECH,
       action="store_true"),
    _s("raw_env", _env_list, [], "-e --env", "Set an environment variable (`KEY=VALUE`) in "
       "the server process. Repeatable.", _MECH, action="append", metavar="ENV"),
    _s("pidfile", _opt_str, None, "-p --pid", "Write the master's PID to this file.", _MECH,
       metavar="FILE"),
    _s("proc_name", _opt_str, None, "-n --name", "Process name shown by `ps` (needs "
       "setproctitle).", _MECH, metavar="STRING"),
    _s("root_path", _str, "", "--root-path", "`SCRIPT_NAME` of the application when it is "
       "mounted below the site root.", _MECH, metavar="PATH", env="SCRIPT_NAME"),
    _s("body_spool_size", _int(0), 1048576, "--body-spool-size", "Request bodies larger than "
       "this many bytes are spooled to a temporary file.", _MECH, metavar="INT"),
    _s("check_config", _bool, False, "--check-config", "Load the configuration, the worker "
       "class and the application, then exit (0 if all are fine).", _MECH,
       action="store_true"),
    _s("print_config", _bool, False, "--print-config", "Print the resolved settings and "
       "exit.", _MECH, action="store_true"),
    _s("reload", _bool, False, "--reload", "Restart the workers when a loaded Python module "
       "(or a `--reload-extra-file`) changes. An edit that breaks the import leaves the "
       "workers answering 500 with the error until the file is fixed. For development.",
       _MECH, action="store_true"),
    _s("reload_engine", _choice("auto", "poll", "inotify"), "auto", "--reload-engine",
       "How `--reload` notices changes: `poll` (file modification times once a second), "
       "`inotify` (Linux) or `auto` (inotify where it works).", _MECH, metavar="STRING"),
    _s("reload_extra_files", _str_list, [], "--reload-extra-file", "A file to watch with "
       "`--reload` besides the loaded modules (templates, configuration). Repeatable.",
       _MECH, action="append", metavar="FILE"),
    _s("spew", _bool, False, "--spew", "Print every line of Python the workers execute "
       "(a debugging aid, very slow).", _MECH, action="store_true"),
    _s("sendfile", _opt_bool, None, "--no-sendfile", "Do not use `sendfile()` for "
       "`wsgi.file_wrapper` responses (the file is read and written instead).", _MECH,
       action="store_false", env="SENDFILE", doc_default="sendfile used"),
    _s("enable_stdio_inheritance", _bool, False, "-R --enable-stdio-inheritance", "With "
       "`--daemon`, keep the standard streams the command was started with instead of "
       "sending them to `/dev/null`.", _MECH, action="store_true"),
    _s("tmp_upload_dir", _opt_dir, None, "--tmp-upload-dir", "Directory for the temporary "
       "files that hold large request bodies (default: the system temporary directory).",
       _MECH, metavar="DIR"),
    _s("paste", _opt_str, None, "--paste --paster", "Load the application from a "
       "PasteDeploy configuration file (needs the `PasteDeploy` package).", _MECH,
       metavar="STRING"),
    _s("accesslog", _opt_str, None, "--access-logfile", "Access log file (`-` for stdout). "
       "No access log when unset.", _LOG, metavar="FILE"),
    _s("access_log_format", _str, DEFAULT_ACCESS_LOG_FORMAT, "--access-logformat",
       "Access log line format, with Gunicorn's atoms: `h l u t r m U q H s B b f a T D M L "
       "p {header}i {header}o {variable}e`.", _LOG, metavar="STRING"),
    _s("errorlog", _str, "-", "--error-logfile --log-file", "Error log file (`-` for "
       "stderr).", _LOG, metavar="FILE"),
    _s("loglevel", _choice("debug", "info", "warning", "error", "critical"), "info",
       "--log-level", "Error log level.", _LOG, metavar="LEVEL"),
    _s("capture_output", _bool, False, "--capture-output", "Redirect the stdout and stderr "
       "of the server processes into the error log file.", _LOG, action="store_true"),
    _s("logger_class", _str, "corral.server.logging.Logger", "--logger-class", "The logger "
       "class (`module.Class`); `simple` is the default one.", _LOG, metavar="STRING"),
    _s("logconfig", _opt_str, None, "--log-config", "A `logging.config.fileConfig` file "
       "applied after the default logging setup.", _LOG, metavar="FILE"),
    _s("logconfig_dict", _dict, {}, "", "A `logging.config.dictConfig` dict applied after "
       "the default logging setup. Config file only.", _LOG),
    _s("logconfig_json", _opt_str, None, "--log-config-json", "A JSON file holding a "
       "`logging.config.dictConfig` dict.", _LOG, metavar="FILE"),
    _s("syslog", _bool, False, "--log-syslog", "Send the error log (and, unless "
       "`--disable-redirect-access-to-syslog`, the access log) to syslog.", _LOG,
       action="store_true"),
    _s("syslog_addr", _str, "udp://localhost:514", "--log-syslog-to", "Syslog address: "
       "`unix:///dev/log`, `udp://HOST:PORT` or `tcp://HOST:PORT`.", _LOG, metavar="ADDRESS"),
    _s("syslog_prefix", _opt_str, None, "--log-syslog-prefix", "Program name in syslog "
       "lines (default: `corral.<proc name>`).", _LOG, metavar="STRING"),
    _s("syslog_facility", _str, "user", "--log-syslog-facility", "Syslog facility name.",
       _LOG, metavar="STRING"),
    _s("disable_redirect_access_to_syslog", _bool, False,
       "--disable-redirect-access-to-syslog", "Keep access log lines out of syslog.", _LOG,
       action="store_true"),
    _s("statsd_host", _opt_str, None, "--statsd-host", "Send metrics to this StatsD server "
       "(`HOST:PORT` over UDP, or `unix:///path`).", _LOG, metavar="ADDRESS"),
    _s("statsd_prefix", _str, "", "--statsd-prefix", "Prefix of every StatsD metric name "
       "(a `.` is added).", _LOG, metavar="STRING"),
    _s("dogstatsd_tags", _str, "", "--dogstatsd-tags", "Comma-separated `key:value` tags "
       "added to every metric (DogStatsD format).", _LOG, metavar="TAGS"),
    _s("limit_request_line", _int(0), 4094, "--limit-request-line", "Maximum size of the "
       "request line in bytes (0 = unlimited).", _SEC, metavar="INT"),
    _s("limit_request_fields", _int(0), 100, "--limit-request-fields", "Maximum number of "
       "request header fields.", _SEC, metavar="INT"),
    _s("limit_request_field_size", _int(0), 8190,
       "--limit-request-field-size --limit-request-field_size", "Maximum size of one request "
       "header field in bytes.", _SEC, metavar="INT"),
    _s("limit_request_body", _int(0), 0, "--limit-request-body", "Maximum size of a request "
       "body in bytes (0 = unlimited).", _SEC, metavar="INT"),
    _s("header_map", _choice("drop", "refuse", "dangerous"), "drop", "--header-map",
       "Header fields whose names contain `_`: `drop` them (they could pass for the `-` "
       "spelling in environ), `refuse` the request (400), or keep them (`dangerous`).",
       _SEC, metavar="STRING"),
    _s("permit_obsolete_folding", _bool, False, "--permit-obsolete-folding", "Accept header "
       "values continued on the next line (obsolete line folding) instead of answering 400; "
       "the lines are joined with a space.", _SEC, action="store_true"),
    _s("strip_header_spaces", _bool, False, "--strip-header-spaces", "Accept whitespace "
       "between a header name and its colon (and remove it) instead of answering 400. "
       "Dangerous behind proxies that read such fields differently.", _SEC,
       action="store_true"),
    _s("permit_unconventional_http_method", _bool, False,
       "--permit-unconventional-http-method", "Accept method names longer than 64 "
       "characters (any token up to the request-line limit) instead of answering 400; "
       "methods in lower or mixed case are accepted either way.", _SEC,
       action="store_true"),
    _s("permit_unconventional_http_version", _bool, False,
       "--permit-unconventional-http-version", "Accept HTTP versions other than 1.0 and 1.1 "
       "(as 1.1) instead of answering 505.", _SEC, action="store_true"),
    _s("casefold_http_method", _bool, False, "--casefold-http-method", "Upper-case the "
       "method before the app sees it.", _SEC,
       action="store_true"),
    _s("forwarded_allow_ips", _comma_list, ["127.0.0.1", "::1"], "--forwarded-allow-ips",
       "Comma-separated addresses trusted to set `X-Forwarded-*` headers (`*` = all).",
       _PROXY, metavar="STRING", env="FORWARDED_ALLOW_IPS"),
    _s("secure_scheme_headers", _str_dict, {"X-FORWARDED-PROTOCOL": "ssl",
       "X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"}, "", "Headers (and values) "
       "from trusted proxies that mark a request as HTTPS. Config file only.", _PROXY),
    _s("forwarder_headers", _comma_list, ["SCRIPT_NAME", "PATH_INFO"], "--forwarder-headers",
       "Request header fields (as environ keys, e.g. `SCRIPT_NAME`) that trusted "
       "`--forwarded-allow-ips` peers may set in environ directly.", _PROXY,
       metavar="STRING"),
    _s("proxy_protocol", _bool, False, "--proxy-protocol", "Accept the PROXY protocol "
       "header from trusted proxies.", _PROXY, action="store_true"),
    _s("proxy_allow_ips", _comma_list, ["127.0.0.1", "::1"], "--proxy-allow-from",
       "Comma-separated addresses allowed to send the PROXY protocol header (`*` = all).",
       _PROXY, metavar="STRING"),
    _s("certfile", _opt_str, None, "--certfile", "TLS certificate file.", _SSL,
       metavar="FILE"),
    _s("keyfile", _opt_str, None, "--keyfile", "TLS private key file.", _SSL, metavar="FILE"),
    _s("ca_certs", _opt_str, None, "--ca-certs", "CA certificates file for client "
       "certificates.", _SSL, metavar="FILE"),
    _s("cert_reqs", _int(0), 0, "--cert-reqs", "Client certificate requirement: 0 none, "
       "1 optional, 2 required.", _SSL, metavar="INT"),
    _s("ciphers", _opt_str, None, "--ciphers", "OpenSSL cipher list.", _SSL,
       metavar="STRING"),
    _s("ssl_version", _ssl_version, "TLS_SERVER", "--ssl-version", "Accepted for Gunicorn "
       "compatibility; the TLS versions come from OpenSSL's defaults (`TLS_SERVER`). Any "
       "other value is refused.", _SSL, metavar="STRING"),
    _s("suppress_ragged_eofs", _bool, True, "--suppress-ragged-eofs", "Treat a TLS "
       "connection closed without a close_notify as a normal end of stream.", _SSL,
       action="store_true"),
    _s("do_handshake_on_connect", _bool, False, "--do-handshake-on-connect", "Do the TLS "
       "handshake when the connection is accepted rather than on first read.", _SSL,
       action="store_true"),
    # -- slow and stalled clients: a floor on the upload rate, a bound on stalled
    # writes (the connection is closed; the worker and its threads are not held)
    _s("min_data_rate", _float, 240.0, "--min-data-rate", "Bytes per second a client must "
       "keep up, on average, while it sends a request head or body, once "
       "`--min-data-rate-grace` has passed: a slower client gets 408 and is closed "
       "(0 disables).", _WORK, metavar="FLOAT"),
    _s("min_data_rate_grace", _float, 5.0, "--min-data-rate-grace", "Seconds at the start "
       "of each request (and of a fresh connection) before `--min-data-rate` applies; "
       "the rate is counted from the request's start, less these seconds.", _WORK,
       metavar="FLOAT"),
    _s("send_timeout", _float, 30.0, "--send-timeout", "Seconds a response write may make "
       "no progress (a client that stops reading) before that connection is closed; the "
       "time spent waiting on the client does not count towards `--timeout` (0 disables).",
       _WORK, metavar="FLOAT"),
] + [
    _s(name, _hook(name), fn, "", (fn.__doc__ or "").strip(), _HOOK,
       doc_default=f"`{name}({', '.join(hooks.hook_params(name))})`")
    for name, fn in hooks.DEFAULT_HOOKS.items()
]

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
SECTION_ORDER = [_SOCK, _WORK, _MECH, _LOG, _SEC, _PROXY, _SSL, _HOOK]
# Config-file spellings that differ from the setting name (Gunicorn's).
FILE_ALIASES = {"wsgi_app": "app_uri"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # never returns
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser, made from the table.  Values are kept as given (strings):
    the table's validators convert them after the layers are merged."""
    parser = _Parser(
        prog="corral",
        usage=USAGE,
        description="corral: a pre-fork WSGI HTTP/1.1 server.",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"corral {__version__}")
    groups = {name: parser.add_argument_group(name.lower()) for name in SECTION_ORDER}
    for s in SETTINGS:
        help_text = s.help.replace("%", "%%")
        if s.positional:
            parser.add_argument(s.name, nargs="?", metavar=s.metavar, help=help_text)
        elif s.flags:
            kw: dict[str, Any] = {"dest": s.name, "action": s.action, "help": help_text}
            if s.action not in ("store_true", "store_false"):
                kw["metavar"] = s.metavar
            groups[s.section].add_argument(*s.flags, **kw)
    return parser


def read_config_file(path: str) -> dict[str, Any]:
    """Execute a config file (or import ``python:module``) and return the settings it
    defines.  Names that are not settings (imports, helpers, ``_private``) are ignored."""
    if path.startswith("python:"):
        try:
            namespace = vars(importlib.import_module(path[len("python:"):]))
        except Exception as e:
            raise ConfigError(f"config module {path!r}: {type(e).__name__}: {e}")
    else:
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError as e:
            raise ConfigError(f"config file {path!r}: {e.strerror or e}")
        namespace = {"__file__": path, "__name__": "__config__"}
        try:
            exec(compile(source, path, "exec"), namespace)
        except Exception as e:
            raise ConfigError(f"config file {path!r}: {type(e).__name__}: {e}")
    found: dict[str, Any] = {}
    for key, value in namespace.items():
        name = FILE_ALIASES.get(key, key)
        if name in BY_NAME and name not in ("config", "check_config", "print_config"):
            found[name] = value
    return found


_ENV_SOURCE = " (environment)"


def _parse_layers(
    argv: Sequence[str], environ: Mapping[str, str], cwd: str
) -> list[tuple[str, dict[str, Any]]]:
    """The value layers, highest precedence first, each (source description, values)."""
    parser = build_parser()
    cli = vars(parser.parse_args(list(argv)))
    cmd_args = environ.get(CMD_ARGS_ENV, "")
    try:
        env_cli = vars(parser.parse_args(shlex.split(cmd_args))) if cmd_args.strip() else {}
    except (UsageError, ValueError) as e:  # ValueError: unbalanced quotes
        raise ConfigError(f"${CMD_ARGS_ENV}: {e}")
    env_vars = {s.name: environ[s.env] for s in SETTINGS if s.env and s.env in environ}
    path = cli.get("config") or env_cli.get("config") or DEFAULT_CONFIG
    explicit = "config" in cli or "config" in env_cli
    file_values: dict[str, Any] = {}
    if path.startswith("python:"):
        file_values = read_config_file(path)
    else:
        path = os.path.normpath(os.path.join(cwd, path))
        if explicit or os.path.exists(path):
            file_values = read_config_file(path)
    return [
        ("", cli),
        (f" (in ${CMD_ARGS_ENV})", env_cli),
        (_ENV_SOURCE, env_vars),
        (f" (config file {path})", file_values),
    ]


class Settings:
    """Resolved settings, read by attribute with Gunicorn's names (``settings.workers``).

    ``Settings(**overrides)`` gives the defaults plus validated overrides;
    :meth:`from_argv` resolves command line, environment and config file.
    Assigning a setting attribute validates the value.
    """

    _values: dict[str, Any]
    _origin: tuple[list[str], dict[str, str], str] | None

    def __init__(self, **overrides: Any) -> None:
        cwd = os.getcwd()
        values = {s.name: s.default_value(cwd) for s in SETTINGS}
        for name, value in overrides.items():
            if name not in BY_NAME:
                raise TypeError(f"unknown setting {name!r}")
            values[name] = value
        _resolve_paste(values, cwd)
        object.__setattr__(self, "_values", _validate_all(values, {}))
        object.__setattr__(self, "_origin", None)

    @classmethod
    def from_argv(
        cls,
        argv: Sequence[str] | None = None,
        environ: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> Settings:
        """Resolve settings from ``argv`` (default ``sys.argv[1:]``), ``environ``
        (default ``os.environ``) and the config file.  Raises :class:`ConfigError`
        (:class:`UsageError` for an unparsable command line)."""
        args = list(sys.argv[1:] if argv is None else argv)
        env = dict(os.environ if environ is None else environ)
        cwd = cwd or os.getcwd()
        layers = _parse_layers(args, env, cwd)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for s in SETTINGS:
            values[s.name] = s.default_value(cwd)
            for where, layer in layers:
                if s.name in layer:
                    values[s.name] = layer[s.name]
                    sources[s.name] = where
                    break
        _resolve_paste(values, cwd)
        self = cls.__new__(cls)
        object.__setattr__(self, "_values", _validate_all(values, sources))
        object.__setattr__(self, "_origin", (args, env, cwd))
        return self

    def reread(self) -> Settings:
        """A fresh Settings built again from the same argv, environment and config file
        (re-read from disk).  Raises :class:`ConfigError` if it became invalid."""
        if self._origin is None:
            return Settings(**self._values)
        args, env, cwd = self._origin
        return Settings.from_argv(args, env, cwd)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no setting named {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in BY_NAME:
            raise AttributeError(f"no setting named {name!r}")
        self._values[name] = _validate_one(BY_NAME[name], value, "")

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def is_ssl(self) -> bool:
        return bool(self._values["certfile"])

    @property
    def uid(self) -> int:
        """Gunicorn's name for the resolved ``user`` id."""
        return int(self._values["user"])

    @property
    def gid(self) -> int:
        """Gunicorn's name for the resolved ``group`` id."""
        return int(self._values["group"])

    @property
    def env(self) -> dict[str, str]:
        """``raw_env`` as a dict."""
        return dict(item.split("=", 1) for item in self._values["raw_env"])

    @property
    def config_source(self) -> str | None:
        return None if self._origin is None else " ".join(self._origin[0])

    def __repr__(self) -> str:
        return f"<Settings workers={self.workers} bind={self.bind!r} app_uri={self.app_uri!r}>"


def _validate_one(setting: Setting, value: Any, where: str) -> Any:
    try:
        return setting.validate(value)
    except ValueError as e:
        if where == _ENV_SOURCE:
            label = f"{setting.env} ({setting.name})"
        elif where.startswith(" (config"):
            label = f"{setting.name}{where}"
        else:
            label = f"{setting.label}{where}"
        raise ConfigError(f"{label}: {e}")


def _resolve_paste(values: dict[str, Any], cwd: str) -> None:
    """``--paste FILE`` stands for the app spec ``config:/absolute/FILE`` (it wins
    over a positional spec, as in Gunicorn); a relative FILE is taken from ``cwd``."""
    path = values.get("paste")
    if path and isinstance(path, str):
        from corral.server.loader import paste_spec

        values["app_uri"] = paste_spec(path, cwd)


def _validate_all(values: dict[str, Any], sources: dict[str, str]) -> dict[str, Any]:
    return {
        name: _validate_one(BY_NAME[name], value, sources.get(name, ""))
        for name, value in values.items()
    }


def format_value(value: Any) -> str:
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', value)}"
    return repr(value)


def print_config(settings: Settings, file: Any = None) -> None:
    """``name = value`` lines, sorted by name."""
    out = file or sys.stdout
    for name, value in sorted(settings.as_dict().items()):
        print(f"{name} = {format_value(value)}", file=out)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_reference() -> str:
    """The settings reference (README.md), one table per section."""
    sections: dict[str, list[Setting]] = {name: [] for name in SECTION_ORDER}
    for s in SETTINGS:
        sections.setdefault(s.section, []).append(s)
    lines = [
        "Precedence, highest first: command line, `$CORRAL_CMD_ARGS`, environment "
        "variables, config file (`-c`), defaults. In a config file, use the setting name "
        "as a global (`workers = 4`); hooks are functions with that name.",
    ]
    for section, rows in sections.items():
        lines += ["", f"### {section}", ""]
        if section == _HOOK:
            lines += ["| Hook | Called as | Description |", "|---|---|---|"]
            lines += [f"| `{s.name}` | {s.doc_default} | {_md_cell(s.help)} |" for s in rows]
            continue
        lines += ["| Setting | Flags | Default | Description |", "|---|---|---|---|"]
        for s in rows:
            flags = ", ".join(f"`{f}`" for f in s.flags) or (
                f"`{s.metavar}` (positional)" if s.positional else "config file"
            )
            if s.env:
                flags += f"; env `{s.env}`"
            default = s.doc_default or f"`{format_value(s.default)}`"
            lines.append(f"| `{s.name}` | {flags} | {_md_cell(default)} | {_md_cell(s.help)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m corral.server.config --markdown")
    sys.stdout.write(markdown_reference())
