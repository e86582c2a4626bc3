"""What a Gunicorn deployment brings along, and how corral reads it.

* :data:`GUNICORN_FLAGS`: every command-line flag of Gunicorn 27.  Abbreviations of
  long flags resolve as Gunicorn resolves them: a prefix that is ambiguous only
  because of a flag corral adds (``--body-timeout`` ...) goes to Gunicorn's.
* :data:`ABSENT`: Gunicorn settings for features corral does not have.  Their flags
  and config-file names are refused in one line that says why and what to use
  instead, unless the value asks for nothing (``http_protocols = ["h1"]``).
* :func:`unknown_name_warning`: the closest setting name for a config-file global
  that is not one (``wokers = 4`` -> ``workers``).
"""

from __future__ import annotations

import difflib
import inspect
import types
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

_HTTP2 = ("HTTP/2 is not supported: corral speaks HTTP/1.1 (terminate HTTP/2 in a proxy "
          "such as nginx in front of it)")
_ASGI = ("ASGI is not supported: corral is a WSGI server (serve ASGI applications with "
         "uvicorn or hypercorn)")
_DIRTY = ("Gunicorn's dirty arbiters are not part of corral (run long tasks in a task "
          "queue or a separate service)")
_CONTROL = ("Gunicorn's control socket is not part of corral (steer the master with "
            "signals: HUP, TTIN, TTOU, USR1, USR2, TERM)")
_UWSGI = ("the uwsgi wire protocol is not supported: corral speaks HTTP (use nginx's "
          "proxy_pass instead of uwsgi_pass)")


@dataclass(frozen=True)
class Absent:
    """A Gunicorn setting corral does not have: its flags, the reason, and the
    values that ask for nothing and are therefore accepted (and ignored)."""

    name: str
    flags: tuple[str, ...]
    reason: str
    harmless: tuple[Any, ...] = ()
    action: str = "store"


def _a(name: str, flags: str, reason: str, harmless: tuple[Any, ...] = (),
       action: str = "store") -> Absent:
    return Absent(name, tuple(flags.split()), reason, harmless, action)


ABSENT_SETTINGS: list[Absent] = [
    _a("http_protocols", "--http-protocols", _HTTP2, ("h1", ("h1",), ["h1"])),
    _a("http2_cleartext", "--http2-cleartext", _HTTP2, ("off",)),
    _a("http2_max_concurrent_streams", "--http2-max-concurrent-streams", _HTTP2),
    _a("http2_initial_window_size", "--http2-initial-window-size", _HTTP2),
    _a("http2_max_frame_size", "--http2-max-frame-size", _HTTP2),
    _a("http2_max_header_list_size", "--http2-max-header-list-size", _HTTP2),
    _a("asgi_loop", "--asgi-loop", _ASGI),
    _a("asgi_lifespan", "--asgi-lifespan", _ASGI),
    _a("asgi_disconnect_grace_period", "--asgi-disconnect-grace-period", _ASGI),
    _a("websocket_max_message_size", "--websocket-max-message-size", _ASGI),
    _a("dirty_apps", "--dirty-app", _DIRTY, ([], ()), "append"),
    _a("dirty_workers", "--dirty-workers", _DIRTY, (0, "0")),
    _a("dirty_timeout", "--dirty-timeout", _DIRTY),
    _a("dirty_threads", "--dirty-threads", _DIRTY),
    _a("dirty_graceful_timeout", "--dirty-graceful-timeout", _DIRTY),
    _a("control_socket", "--control-socket", _CONTROL),
    _a("control_socket_mode", "--control-socket-mode", _CONTROL),
    _a("control_socket_disable", "--no-control-socket", _CONTROL, (True,), "store_true"),
    _a("protocol", "--protocol", _UWSGI, ("http",)),
    _a("uwsgi_allow_ips", "--uwsgi-allow-from", _UWSGI),
    _a("enable_backlog_metric", "--enable-backlog-metric", "the listen-queue backlog metric "
       "is not reported by corral", (False,), "store_true"),
    _a("raw_paste_global_conf", "--paste-global", "PasteDeploy global_conf values are not "
       "supported (set them in the .ini file)", ([], ()), "append"),
]
# Gunicorn settings that choose between Gunicorn's own implementations or are
# internal: corral has one of each, so any value is accepted and ignored.
IGNORED = frozenset({"http_parser", "default_proc_name"})
IGNORED_FLAGS = {"--http-parser": "http_parser"}
# Gunicorn's hooks of the dirty arbiters: refused when a config file defines them.
ABSENT_HOOKS = {"on_dirty_starting": _DIRTY, "dirty_post_fork": _DIRTY,
                "dirty_worker_init": _DIRTY, "dirty_worker_exit": _DIRTY}
ABSENT_BY_NAME = {a.name: a for a in ABSENT_SETTINGS}

# Every flag of Gunicorn 27 (checked against the installed Gunicorn by the tests).
GUNICORN_FLAGS = frozenset("""
-h --help -v --version -c --config -b --bind --backlog -w --workers -k --worker-class
--threads --worker-connections --max-requests --max-requests-jitter -t --timeout
--graceful-timeout --keep-alive --limit-request-line --limit-request-fields
--limit-request-field_size --reload --reload-engine --reload-extra-file --spew
--check-config --print-config --preload --no-sendfile --reuse-port --chdir -D --daemon
-e --env -p --pid --worker-tmp-dir -u --user -g --group -m --umask --initgroups
--forwarded-allow-ips --access-logfile --disable-redirect-access-to-syslog
--access-logformat --error-logfile --log-file --log-level --capture-output --logger-class
--log-config --log-config-json --log-syslog-to --log-syslog --log-syslog-prefix
--log-syslog-facility -R --enable-stdio-inheritance --statsd-host --dogstatsd-tags
--statsd-prefix --enable-backlog-metric -n --name --pythonpath --paste --paster
--proxy-protocol --proxy-allow-from --protocol --uwsgi-allow-from --keyfile --certfile
--ssl-version --cert-reqs --ca-certs --suppress-ragged-eofs --do-handshake-on-connect
--ciphers --http-protocols --http2-cleartext --http2-max-concurrent-streams
--http2-initial-window-size --http2-max-frame-size --http2-max-header-list-size
--paste-global --permit-obsolete-folding --strip-header-spaces
--permit-unconventional-http-method --permit-unconventional-http-version
--casefold-http-method --forwarder-headers --header-map --asgi-loop --asgi-lifespan
--asgi-disconnect-grace-period --websocket-max-message-size --http-parser --root-path
--dirty-app --dirty-workers --dirty-timeout --dirty-threads --dirty-graceful-timeout
--control-socket --control-socket-mode --no-control-socket
""".split())


def absent_reason(name: str) -> str | None:
    """Why a Gunicorn setting (or hook) named ``name`` is refused, or None."""
    if name in ABSENT_BY_NAME:
        return ABSENT_BY_NAME[name].reason
    return ABSENT_HOOKS.get(name)


def is_harmless(name: str, value: Any) -> bool:
    """True when an absent setting's value asks for nothing corral lacks."""
    absent = ABSENT_BY_NAME.get(name)
    if absent is None:
        return name in IGNORED
    if value is None:
        return True
    if isinstance(value, str) and absent.name == "http_protocols":
        value = tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list):
        value = tuple(value)
    return any(value == h or (isinstance(h, list) and value == tuple(h))
               for h in absent.harmless)


def _is_helper(value: Any) -> bool:
    """Config-file globals that are plainly not settings: functions and other
    callables (a misspelt hook is caught by its closeness to a hook's name)."""
    return inspect.isroutine(value) or callable(value)


def unknown_name_warning(name: str, value: Any, known: Collection[str]) -> str | None:
    """A warning for a config-file global ``name`` that is not a setting, or None
    when it is plainly a helper (``_private``, an import, a function with no
    setting name close to it, an upper-case constant)."""
    if name.startswith("_") or isinstance(value, (types.ModuleType, type)):
        return None  # imports and classes are never misspelt settings
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.75)
    if close:
        return f"{name!r} is not a setting and is ignored; did you mean {close[0]!r}?"
    if _is_helper(value) or not name.islower():
        return None
    return f"{name!r} is not a setting and is ignored"
