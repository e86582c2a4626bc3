"""Server settings: one declarative table, read by the CLI, the config file and the docs.

Every setting is one :class:`Setting` record in :data:`SETTINGS` (name, validator,
default, command-line flags, environment variable, help text, section).  From that
table come the argparse parser, the config-file reader, ``--print-config``, the
Markdown reference in README.md (``python -m corral.server.config --markdown``) and
the typed attributes of :class:`Settings` (:mod:`corral.server.settings_types`,
written by ``tools/update_settings_types.py``: the type of each is its validator's
return annotation).

Names, flag spellings and precedence are Gunicorn's.  Highest first: the command
line, ``CORRAL_CMD_ARGS`` then ``GUNICORN_CMD_ARGS`` (extra arguments parsed like the
command line), the config file (a Python file whose module globals are setting
names; hooks are functions there), then the defaults, some of which come from the
environment (``$PORT`` for ``bind``, ``WEB_CONCURRENCY`` for ``workers``).  The
config file is ``-c FILE`` if given, else ``./corral.conf.py`` or
``./gunicorn.conf.py``, the first that exists.

Usage::

    settings = Settings.from_argv(sys.argv[1:])   # raises ConfigError on a bad value
    settings.workers, settings.bind, settings.post_fork(arbiter, worker)
    fresh = settings.reread()                     # re-reads argv/env/config file
    Settings(workers=2, timeout=5)                # defaults + overrides (for tests)
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral import __version__
from corral.server import dropin, hooks
from corral.server.settings_types import SettingFields
from corral.server.validators import (  # noqa: F401  (the table's vocabulary)
    Validator,
    _account,
    _bool,
    _choice,
    _comma_list,
    _dict,
    _env_list,
    _float,
    _group,
    _hook,
    _int,
    _octal,
    _opt_bool,
    _opt_dir,
    _opt_str,
    _peer_list,
    _proxy_protocol,
    _ssl_version,
    _static_map,
    _str,
    _str_dict,
    _str_list,
    _user,
    _worker_class,
)

DEFAULT_CONFIG = "./corral.conf.py"
DEFAULT_CONFIGS = ("corral.conf.py", "gunicorn.conf.py")  # looked for in this order
DEFAULT_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
CMD_ARGS_ENV = "CORRAL_CMD_ARGS"
CMD_ARGS_ENVS = (CMD_ARGS_ENV, "GUNICORN_CMD_ARGS")  # highest precedence first
USAGE = "corral [OPTIONS] APP_URI"


class ConfigError(Exception):
    """A bad setting value or config file; the message is one line naming it.  When
    the config file's own code raised, that exception is the ``__cause__``."""


class UsageError(ConfigError):
    """The command line itself could not be parsed (unknown option, ...)."""


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
    nargs: str | None = None  # "?": the flag's value is optional (``const`` without one)
    const: Any = None

    @property
    def label(self) -> str:
        """How errors name this setting: its long flag, else its name."""
        longs = [f for f in self.flags if f.startswith("--")]
        return longs[0] if longs else self.name

    def default_value(self, cwd: str, environ: Mapping[str, str] | None = None) -> Any:
        """The default, or the value of the setting's environment variable when set
        (``$PORT`` gives ``bind`` the default ``0.0.0.0:$PORT``), as in Gunicorn."""
        if self.name == "chdir":
            return cwd
        if environ is not None and self.env and self.env in environ:
            value = environ[self.env]
            return [f"0.0.0.0:{value}"] if self.name == "bind" else value
        return self.default


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
       _SOCK, action="append", metavar="ADDRESS", env="PORT",
       doc_default="`0.0.0.0:$PORT` if `$PORT` is set, else `127.0.0.1:8000`"),
    _s("backlog", _int(1), 2048, "--backlog", "Maximum number of pending connections.",
       _SOCK, metavar="INT"),
    _s("umask", _octal, 0, "-m --umask", "Bit mask for the mode of unix socket files: "
       "octal with a leading zero (`022`, `0o22`), else decimal (`18`) or hex, as in "
       "Gunicorn.", _SOCK, metavar="INT"),
    _s("reuse_port", _bool, False, "--reuse-port", "Set `SO_REUSEPORT` on listening "
       "sockets.", _SOCK, action="store_true"),
    _s("workers", _int(1), 1, "-w --workers", "Number of worker processes.", _WORK,
       metavar="INT", env="WEB_CONCURRENCY", doc_default="`$WEB_CONCURRENCY` or 1"),
    _s("worker_class", _worker_class, "asyncio", "-k --worker-class", "Worker class: "
       "`asyncio`, `sync`, `gthread`, `gevent` (also by Gunicorn's names, e.g. "
       "`gunicorn.workers.gthread.ThreadWorker`), or a `module:Class` path. `sync` with "
       "`--threads` above 1 means `gthread`, as in Gunicorn.", _WORK, metavar="STRING"),
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
       "How `--reload` notices changes (through `watchfiles`): `auto` or `inotify` use the "
       "system's file notifications, `poll` looks at the files once a second.", _MECH,
       metavar="STRING"),
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
       "header line in bytes, counted as Gunicorn counts it: the line as sent plus its CRLF "
       "(0 means the default, as in Gunicorn). Also bounds chunk-size lines.", _SEC,
       metavar="INT"),
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
    _s("forwarded_allow_ips", _peer_list, ["127.0.0.1", "::1"], "--forwarded-allow-ips",
       "Comma-separated addresses or networks (`10.0.0.0/8`, `fd00::/8`) trusted to set "
       "`X-Forwarded-*` and the `secure_scheme_headers` (`*` = all).",
       _PROXY, metavar="STRING", env="FORWARDED_ALLOW_IPS"),
    _s("secure_scheme_headers", _str_dict, {"X-FORWARDED-PROTOCOL": "ssl",
       "X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"}, "", "Headers (and values) "
       "from trusted proxies that say the scheme: each one present means https when it "
       "has its listed value and http otherwise; a request whose scheme headers disagree "
       "is refused (400). Config file only.", _PROXY),
    _s("forwarder_headers", _comma_list, ["SCRIPT_NAME", "PATH_INFO"], "--forwarder-headers",
       "Request header fields (as environ keys, e.g. `SCRIPT_NAME`) that trusted "
       "`--forwarded-allow-ips` peers may set in environ directly.", _PROXY,
       metavar="STRING"),
    _s("proxy_protocol", _proxy_protocol, False, "--proxy-protocol", "Accept the PROXY "
       "protocol header (v1 or v2) from trusted proxies. Gunicorn's values `auto`, `v1`, "
       "`v2` mean on, `off` off; the flag alone means on.", _PROXY, metavar="MODE",
       nargs="?", const="auto"),
    _s("proxy_allow_ips", _peer_list, ["127.0.0.1", "::1"], "--proxy-allow-from",
       "Comma-separated addresses or networks allowed to send the PROXY protocol header "
       "(`*` = all).",
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
    # -- production without a front proxy: static files, compression, metrics, JSON logs
    _s("static_map", _static_map, [], "--static-map", "Serve the files of DIR under "
       "URL_PREFIX without calling the app (`/static=./public`; repeat for several): "
       "sendfile, ETag/Last-Modified/304, ranges, precompressed `.br`/`.gz` siblings. "
       "Relative DIRs are taken from the working directory (after `--chdir`).", _MECH,
       action="append", metavar="URL_PREFIX=DIR"),
    _s("static_max_age", _int(0), 0, "--static-max-age", "`Cache-Control: max-age` of "
       "static files in seconds; 0 sends `no-cache` (clients revalidate with the "
       "validators).", _MECH, metavar="INT"),
    _s("compress", _bool, False, "--compress", "Compress responses of compressible types "
       "(text, JSON, JavaScript, XML, SVG, ...) with gzip, or Brotli when the `brotli` "
       "package is installed, for clients that accept it.", _MECH, action="store_true"),
    _s("compress_min_size", _int(0), 1024, "--compress-min-size", "Smallest body, in "
       "bytes, that `--compress` compresses (streamed bodies of unknown length are always "
       "compressed).", _MECH, metavar="INT"),
    _s("metrics_bind", _opt_str, None, "--metrics-bind", "Serve Prometheus metrics of "
       "every worker at `http://HOST:PORT/metrics`, from the master process (needs "
       "`prometheus_client`: `pip install 'corral[metrics]'`).", _LOG, metavar="HOST:PORT"),
    _s("access_log_json", _bool, False, "--access-log-json", "Write the access log as one "
       "JSON object per request (the default format's fields plus `duration_us`); to "
       "stdout unless `--access-logfile` names a file.", _LOG, action="store_true"),
    # -- Bounded input ---------------------------------------------------------------
    _s("body_spool_limit", _int(0), 100 * 1024 * 1024, "--body-spool-limit", "Largest "
       "request body (in bytes) the buffering workers (`asyncio`, `gthread`, `gevent`) "
       "read whole before the application runs, in memory or spooled to a temporary "
       "file past `--body-spool-size`; a larger body is answered 413. 0 = unlimited "
       "(disk permitting). The `sync` worker streams bodies and is bounded by "
       "`--limit-request-body` alone.", _SEC, metavar="INT"),
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

    def _get_option_tuples(self, option_string: str) -> Any:
        """Abbreviations resolve as in Gunicorn: matches of one option count once,
        and a prefix matching one of Gunicorn's flags and only corral's others
        goes to Gunicorn's."""
        matches = super()._get_option_tuples(option_string)
        seen: dict[int, Any] = {}
        for match in matches:
            seen.setdefault(id(match[0]), match)
        unique = list(seen.values())
        if len(unique) > 1:
            gunicorn = [m for m in unique if m[1] in dropin.GUNICORN_FLAGS]
            if len(gunicorn) == 1:
                return gunicorn
        return unique


class _Refuse(argparse.Action):
    """A Gunicorn flag for a feature corral does not have: refused in one line
    (unless its value asks for nothing), once the whole command line is read."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        name = self.dest[len(_ABSENT_DEST):]
        if self.nargs == 0:
            values = True
        if not dropin.is_harmless(name, values):
            reason = dropin.absent_reason(name) or "not supported"
            raise ConfigError(f"{option_string}: {reason}")


_ABSENT_DEST = "_absent_"


def _help_with_default(s: Setting) -> str:
    if s.doc_default:
        default = s.doc_default.replace("`", "")
    elif s.action in ("store_true", "store_false") and isinstance(s.default, bool):
        default = str(s.default)
    else:
        default = format_value(s.default)
    return f"{s.help.replace('`', '')} [{default}]".replace("%", "%%")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser, made from the table.  Values are kept as given (strings):
    the table's validators convert them after the layers are merged.  Long flags
    may be abbreviated (as in Gunicorn); ``--help`` shows each default."""
    parser = _Parser(
        prog="corral",
        usage=USAGE,
        description="corral: a pre-fork WSGI HTTP/1.1 server. Settings may also come from "
        "$CORRAL_CMD_ARGS or $GUNICORN_CMD_ARGS and from ./corral.conf.py or "
        "./gunicorn.conf.py (or -c FILE).",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=True,
    )
    parser.add_argument("-v", "--version", action="version", version=f"corral {__version__}")
    groups = {name: parser.add_argument_group(name.lower()) for name in SECTION_ORDER}
    for s in SETTINGS:
        if s.positional:
            parser.add_argument(s.name, nargs="?", metavar=s.metavar,
                                help=s.help.replace("`", "").replace("%", "%%"))
        elif s.flags:
            kw: dict[str, Any] = {"dest": s.name, "action": s.action,
                                  "help": _help_with_default(s)}
            if s.action not in ("store_true", "store_false"):
                kw["metavar"] = s.metavar
            if s.nargs is not None:
                kw.update(nargs=s.nargs, const=s.const)
            groups.get(s.section, parser).add_argument(*s.flags, **kw)
    for absent in dropin.ABSENT_SETTINGS:
        if absent.flags:
            nargs = 0 if absent.action == "store_true" else None
            parser.add_argument(*absent.flags, dest=_ABSENT_DEST + absent.name,
                                action=_Refuse, nargs=nargs, help=argparse.SUPPRESS)
    for flag, name in dropin.IGNORED_FLAGS.items():
        parser.add_argument(flag, dest=_ABSENT_DEST + name, help=argparse.SUPPRESS)
    return parser


def find_config_file(explicit: str | None, cwd: str) -> str | None:
    """The config file to read: ``explicit`` (``-c``) resolved against ``cwd``,
    else the first of ``./corral.conf.py`` and ``./gunicorn.conf.py`` that exists."""
    if explicit is not None:
        if explicit.startswith("python:"):
            return explicit
        return os.path.normpath(os.path.join(cwd, explicit.removeprefix("file:")))
    for name in DEFAULT_CONFIGS:
        path = os.path.join(cwd, name)
        if os.path.exists(path):
            return path
    return None


def read_config_file(path: str, warnings: list[str] | None = None) -> dict[str, Any]:
    """Execute a config file (or import ``python:module``) and return the settings it
    defines.  A global that is not a setting is ignored, with a warning naming the
    closest setting when one is close (appended to ``warnings``); one naming a
    Gunicorn feature corral does not have is refused (:class:`ConfigError`)."""
    if path.startswith("python:"):
        try:
            namespace = vars(importlib.import_module(path[len("python:"):]))
        except Exception as e:
            raise ConfigError(f"config module {path!r}: {type(e).__name__}: {e}") from e
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
            raise ConfigError(f"config file {path!r}: {type(e).__name__}: {e}") from e
    found: dict[str, Any] = {}
    for key, value in namespace.items():
        name = FILE_ALIASES.get(key, key)
        if name in ("config", "check_config", "print_config") or key.startswith("__"):
            continue
        if name in BY_NAME:
            found[name] = value
            continue
        reason = dropin.absent_reason(name)
        if reason is not None and not dropin.is_harmless(name, value):
            raise ConfigError(f"{name} (config file {path}): {reason}")
        if reason is None and name not in dropin.IGNORED and warnings is not None:
            message = dropin.unknown_name_warning(name, value, BY_NAME)
            if message:
                warnings.append(f"config file {path}: {message}")
    return found


_ENV_SOURCE = " (environment)"


def _parse_cmd_args(parser: argparse.ArgumentParser, environ: Mapping[str, str],
                    var: str) -> dict[str, Any]:
    text = environ.get(var, "")
    try:
        return vars(parser.parse_args(shlex.split(text))) if text.strip() else {}
    except (ConfigError, ValueError) as e:  # ValueError: unbalanced quotes
        raise ConfigError(f"${var}: {e}") from None


def _parse_layers(
    argv: Sequence[str], environ: Mapping[str, str], cwd: str, warnings: list[str]
) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """The value layers, highest precedence first, each (source description,
    values), and the config file read (None if none was)."""
    parser = build_parser()
    cli = vars(parser.parse_args(list(argv)))
    env_layers = [(var, _parse_cmd_args(parser, environ, var)) for var in CMD_ARGS_ENVS]
    explicit = cli.get("config")
    for _, layer in env_layers:
        if explicit is None:
            explicit = layer.get("config")
    path = find_config_file(explicit, cwd)
    file_values = read_config_file(path, warnings) if path else {}
    layers = [("", cli)]
    layers += [(f" (in ${var})", layer) for var, layer in env_layers]
    layers.append((f" (config file {path})", file_values))
    return layers, path


class Settings(SettingFields):
    """Resolved settings, read by attribute with Gunicorn's names (``settings.workers``).

    Every setting is a typed slot declared in :class:`SettingFields` (generated from
    the table), so reads are plain attribute reads.  ``Settings(**overrides)``
    gives the defaults plus validated overrides; :meth:`from_argv` resolves command
    line, environment and config file.  Assigning a setting attribute validates the
    value; assigning any other name raises :class:`AttributeError`.
    """

    __slots__ = ("_origin", "_config_read", "_warnings")

    _origin: tuple[list[str], dict[str, str], str] | None
    _config_read: str | None
    _warnings: list[str]

    def __init__(self, **overrides: Any) -> None:
        cwd = os.getcwd()
        values = {s.name: s.default_value(cwd) for s in SETTINGS}
        for name, value in overrides.items():
            if name not in BY_NAME:
                raise TypeError(f"unknown setting {name!r}")
            values[name] = value
        _resolve_paste(values, cwd)
        self._fill(_validate_all(values, {}), None, None, [])

    def _fill(self, values: Mapping[str, Any],
              origin: tuple[list[str], dict[str, str], str] | None,
              config_read: str | None, warnings: list[str]) -> None:
        """Store validated ``values`` (one per setting) and where they came from."""
        try:
            for name, value in values.items():
                object.__setattr__(self, name, value)
        except AttributeError:  # a row added to the table after the last generation
            raise RuntimeError("corral/server/settings_types.py is out of date with the "
                               "settings table: run tools/update_settings_types.py") from None
        object.__setattr__(self, "_origin", origin)
        object.__setattr__(self, "_config_read", config_read)
        object.__setattr__(self, "_warnings", warnings)

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
        warnings: list[str] = []
        layers, config_read = _parse_layers(args, env, cwd, warnings)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for s in SETTINGS:
            values[s.name] = s.default_value(cwd, env)
            if s.env and s.env in env:
                sources[s.name] = _ENV_SOURCE
            for where, layer in layers:
                if s.name in layer:
                    values[s.name] = layer[s.name]
                    sources[s.name] = where
                    break
        if config_read:
            values["config"] = config_read  # --print-config names the file read
        _resolve_paste(values, cwd)
        validated = _validate_all(values, sources)
        if validated["worker_class"] == "sync" and validated["threads"] > 1:
            validated["worker_class"] = "gthread"
            warnings.append(f"the sync worker runs one request at a time: with --threads "
                            f"{validated['threads']}, gthread is used (as in Gunicorn)")
        self = cls.__new__(cls)
        self._fill(validated, (args, env, cwd), config_read, warnings)
        return self

    def reread(self) -> Settings:
        """A fresh Settings built again from the same argv, environment and config file
        (re-read from disk).  Raises :class:`ConfigError` if it became invalid."""
        if self._origin is None:
            return Settings(**self.as_dict())
        args, env, cwd = self._origin
        return Settings.from_argv(args, env, cwd)

    def __setattr__(self, name: str, value: Any) -> None:
        setting = BY_NAME.get(name)
        if setting is None:
            raise AttributeError(f"no setting named {name!r}")
        object.__setattr__(self, name, _validate_one(setting, value, ""))

    def as_dict(self) -> dict[str, Any]:
        """Every setting's value by name, in the order of the table."""
        return {name: getattr(self, name) for name in SettingFields.__slots__}

    @property
    def config_read(self) -> str | None:
        """The config file that was read (a path or ``python:module``), if any."""
        return self._config_read

    @property
    def origin_cwd(self) -> str | None:
        """The working directory :meth:`from_argv` resolved paths against (None for
        ``Settings(**overrides)``)."""
        return None if self._origin is None else self._origin[2]

    @property
    def warnings(self) -> list[str]:
        """Warnings about the configuration (config-file names that are not
        settings), one line each, for the log."""
        return list(self._warnings)

    @property
    def worker_class_str(self) -> str:
        """Gunicorn's name for the worker class as a string (``gthread`` ...)."""
        return self.worker_class

    @property
    def is_ssl(self) -> bool:
        return bool(self.certfile)

    @property
    def uid(self) -> int:
        """Gunicorn's name for the resolved ``user`` id."""
        return self.user

    @property
    def gid(self) -> int:
        """Gunicorn's name for the resolved ``group`` id."""
        return self.group

    @property
    def env(self) -> dict[str, str]:
        """``raw_env`` as a dict."""
        return dict(item.split("=", 1) for item in self.raw_env)

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
        "Precedence, highest first (Gunicorn's): command line, `$CORRAL_CMD_ARGS`, "
        "`$GUNICORN_CMD_ARGS`, config file (`-c FILE`, else `./corral.conf.py` or "
        "`./gunicorn.conf.py`), defaults (some taken from environment variables, "
        "listed with the setting). In a config file, use the setting name as a global "
        "(`workers = 4`); hooks are functions with that name.",
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
