"""Logging settings beyond the default error and access logs.

* ``logconfig_dict`` (config file), ``--log-config-json`` (a JSON file) and
  ``--log-config`` (a :func:`logging.config.fileConfig` ini file), the first one set
  winning, applied on top of the default setup.  A dict or JSON config is laid over
  :data:`CONFIG_DEFAULTS` key by key (top level only) before
  :func:`logging.config.dictConfig` runs, as Gunicorn does.
* The server's loggers are ``corral.error`` and ``corral.access``.  A config written
  for Gunicorn, naming ``gunicorn.error`` / ``gunicorn.access`` (and not the corral
  names), configures them the same way.
* ``--log-syslog``: a syslog handler for the error log (and the access log unless
  ``--disable-redirect-access-to-syslog``); lines read
  ``<PRI>corral.<prefix>.error: [<pid>] <message>``.
* ``--logger-class``: ``module.Class`` or ``simple`` (the default class, which turns
  into :class:`corral.server.statsd.Statsd` when ``--statsd-host`` is set).

Every problem is a :class:`LogConfigError`, a :class:`ConfigError` whose message is
one line naming the setting.
"""

from __future__ import annotations

import configparser
import copy
import importlib
import json
import logging
import logging.config
import logging.handlers
import os
import socket
from typing import Any

from corral.server.config import ConfigError, Settings

ERROR_LOGGER = "corral.error"
ACCESS_LOGGER = "corral.access"
GUNICORN_NAMES = {"gunicorn.error": ERROR_LOGGER, "gunicorn.access": ACCESS_LOGGER}
SYSLOG_FORMAT = "[%(process)d] %(message)s"
DEFAULT_LOGGER_CLASS = "corral.server.logging.Logger"
STATSD_LOGGER_CLASS = "corral.server.statsd.Statsd"
_DEFAULT_ALIASES = {"simple", "egg:gunicorn#simple", "gunicorn.glogging.Logger",
                    DEFAULT_LOGGER_CLASS}
_STATSD_ALIASES = {"gunicorn.instrument.statsd.Statsd", STATSD_LOGGER_CLASS}

CONFIG_DEFAULTS: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        ERROR_LOGGER: {"level": "INFO", "handlers": ["error_console"], "propagate": True,
                       "qualname": ERROR_LOGGER},
        ACCESS_LOGGER: {"level": "INFO", "handlers": ["console"], "propagate": True,
                        "qualname": ACCESS_LOGGER},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "generic",
                    "stream": "ext://sys.stdout"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "generic",
                          "stream": "ext://sys.stderr"},
    },
    "formatters": {
        "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
                    "datefmt": "[%Y-%m-%d %H:%M:%S %z]", "class": "logging.Formatter"},
    },
}


class LogConfigError(ConfigError):
    """A bad logging setting or log config file (one line naming it)."""


def _describe(e: BaseException) -> str:
    """An exception as one line: its text, its cause's, and whitespace folded."""
    if isinstance(e, KeyError):
        text = f"missing section or option {e.args[0]!r}" if e.args else "KeyError"
    else:
        text = str(e) or type(e).__name__
    cause = e.__cause__ or e.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return " ".join(text.split())


# -- log config files -----------------------------------------------------------------
def apply_log_config(settings: Settings) -> set[str] | None:
    """Apply the configured log config, if any; returns the names of the loggers it
    configured (with the corral names of Gunicorn's), or None without one."""
    conf_dict = settings.logconfig_dict
    conf_json = settings.logconfig_json
    conf_ini = settings.logconfig
    if conf_dict:
        names = _dict_config({**copy.deepcopy(CONFIG_DEFAULTS), **conf_dict},
                             "logconfig_dict")
    elif conf_json:
        names = _dict_config({**copy.deepcopy(CONFIG_DEFAULTS), **_read_json(conf_json)},
                             f"--log-config-json {conf_json!r}")
    elif conf_ini:
        names = _file_config(conf_ini)
    else:
        return None
    _adopt_gunicorn_names(names)
    return names


def _dict_config(config: dict[str, Any], label: str) -> set[str]:
    try:
        logging.config.dictConfig(config)
    except Exception as e:  # dictConfig imports and calls whatever the config names
        raise LogConfigError(f"{label}: {_describe(e)}") from None
    loggers = config.get("loggers")
    return {str(name) for name in loggers} if isinstance(loggers, dict) else set()


def _read_json(path: str) -> dict[str, Any]:
    label = f"--log-config-json {path!r}"
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise LogConfigError(f"{label}: {e.strerror or e}") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise LogConfigError(f"{label}: not valid JSON: {_describe(e)}") from None
    if not isinstance(data, dict):
        raise LogConfigError(f"{label}: expected a JSON object, got {type(data).__name__}")
    return data


def _file_config(path: str) -> set[str]:
    label = f"--log-config {path!r}"
    if not os.path.isfile(path):
        raise LogConfigError(f"{label}: no such file")
    parser = configparser.ConfigParser({"__file__": path, "here": os.path.dirname(path)})
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except OSError as e:
        raise LogConfigError(f"{label}: {e.strerror or e}") from None
    except (configparser.Error, UnicodeDecodeError) as e:
        raise LogConfigError(f"{label}: {_describe(e)}") from None
    try:
        logging.config.fileConfig(parser, disable_existing_loggers=False)
    except Exception as e:  # fileConfig evaluates handler arguments: anything can fail
        raise LogConfigError(f"{label}: {_describe(e)}") from None
    names = set()
    for key in parser.get("loggers", "keys", fallback="").split(","):
        key = key.strip()
        if key and key != "root":
            names.add(parser.get(f"logger_{key}", "qualname", raw=True, fallback=key))
    return names


def _adopt_gunicorn_names(names: set[str]) -> None:
    """Loggers configured under Gunicorn's names hand their setup to corral's."""
    for alias, name in GUNICORN_NAMES.items():
        if alias not in names or name in names:
            continue
        source, target = logging.getLogger(alias), logging.getLogger(name)
        for handler in list(target.handlers):
            target.removeHandler(handler)
        for handler in source.handlers:
            target.addHandler(handler)
        target.filters = list(source.filters)
        target.setLevel(source.level)
        target.propagate = source.propagate
        target.disabled = source.disabled
        names.add(name)


# -- syslog ---------------------------------------------------------------------------
class SyslogHandler(logging.handlers.SysLogHandler):
    """A syslog handler installed from ``--log-syslog``."""


def parse_syslog_address(addr: str) -> tuple[socket.SocketKind | None, str | tuple[str, int]]:
    """``unix://PATH[#dgram|#stream]``, ``udp://HOST[:PORT]`` or ``tcp://HOST[:PORT]``
    as (socket type, address); ``None`` lets the handler try both unix types."""
    label = f"--log-syslog-to {addr!r}"
    if addr.startswith("unix://"):
        path, _, kind = addr[len("unix://"):].partition("#")
        kinds: dict[str, socket.SocketKind | None] = {"": None, "dgram": socket.SOCK_DGRAM, "stream": socket.SOCK_STREAM}
        if not path or kind not in kinds:
            raise LogConfigError(f"{label}: expected unix://PATH[#dgram|#stream]")
        return kinds[kind], path
    scheme, sep, rest = addr.partition("://")
    types = {"udp": socket.SOCK_DGRAM, "tcp": socket.SOCK_STREAM}
    if not sep or scheme not in types:
        raise LogConfigError(f"{label}: expected unix://PATH, udp://HOST:PORT or "
                             "tcp://HOST:PORT")
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
        if tail and not tail.startswith(":"):
            raise LogConfigError(f"{label}: bad address")
    else:
        host, _, port_text = rest.partition(":")
    if port_text and not (port_text.isdigit() and int(port_text) < 65536):
        raise LogConfigError(f"{label}: {port_text!r} is not a valid port number")
    return types[scheme], (host.lower() or "localhost", int(port_text or 514))


def syslog_handler(settings: Settings, kind: str) -> SyslogHandler:
    """The syslog handler of the ``kind`` log (``error`` or ``access``)."""
    facility_name = settings.syslog_facility.strip().lower()
    facility = SyslogHandler.facility_names.get(facility_name)
    if facility is None:
        raise LogConfigError(f"--log-syslog-facility: unknown facility {facility_name!r} "
                             f"(one of {', '.join(sorted(SyslogHandler.facility_names))})")
    addr = settings.syslog_addr
    socktype, address = parse_syslog_address(addr)
    prefix = (settings.syslog_prefix or settings.proc_name or settings.app_uri
              or "corral").replace(":", ".")
    try:
        handler = SyslogHandler(address=address, facility=facility, socktype=socktype)
    except OSError as e:
        raise LogConfigError(f"--log-syslog-to {addr!r}: {e.strerror or e}") from None
    ident = f"corral.{prefix}.{kind}".replace("%", "%%")
    handler.setFormatter(logging.Formatter(f"{ident}: {SYSLOG_FORMAT}"))
    return handler


# -- the logger class -----------------------------------------------------------------
def logger_class(settings: Settings) -> type:
    """The class ``--logger-class`` names (``module.Class`` or ``module:Class``); the
    default (or ``simple``) becomes the StatsD logger when ``--statsd-host`` is set.
    A class's ``install()`` class method, if any, runs once here."""
    uri = (settings.logger_class or DEFAULT_LOGGER_CLASS).strip()
    if uri in _DEFAULT_ALIASES:
        uri = STATSD_LOGGER_CLASS if settings.statsd_host else \
            DEFAULT_LOGGER_CLASS
    elif uri in _STATSD_ALIASES:
        uri = STATSD_LOGGER_CLASS
    label = f"--logger-class {uri!r}"
    module_name, sep, class_name = uri.partition(":")
    if not sep:
        module_name, _, class_name = uri.rpartition(".")
    if not module_name or not class_name:
        raise LogConfigError(f"{label}: expected module.Class or 'simple'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise LogConfigError(f"{label}: cannot import {module_name!r}: {_describe(e)}"
                             ) from None
    except Exception as e:
        raise LogConfigError(f"{label}: importing {module_name!r} failed: "
                             f"{type(e).__name__}: {_describe(e)}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise LogConfigError(f"{label}: {module_name!r} has no class {class_name!r}")
    install = getattr(cls, "install", None)
    if callable(install):
        install()
    return cls


def make_logger(settings: Settings) -> Any:
    """An instance of :func:`logger_class` for ``settings``."""
    return logger_class(settings)(settings)
