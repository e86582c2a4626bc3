"""Server hooks: default no-op implementations with Gunicorn's names and signatures.

A config file overrides any of them by defining a function of the same name::

    def post_fork(server, worker):
        server.log.info("worker %s forked", worker.pid)

``HOOK_ARITY`` maps every hook name to the number of positional arguments it is
called with; the settings table uses it to validate hooks from config files.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def on_starting(server: Any) -> None:
    """Called just before the master process is initialized."""


def on_reload(server: Any) -> None:
    """Called when the master re-reads its configuration (SIGHUP)."""


def when_ready(server: Any) -> None:
    """Called just after the server is started (listeners bound, workers forked)."""


def pre_fork(server: Any, worker: Any) -> None:
    """Called in the master just before a worker is forked."""


def post_fork(server: Any, worker: Any) -> None:
    """Called in the worker just after it has been forked."""


def post_worker_init(worker: Any) -> None:
    """Called in the worker after it has loaded the application."""


def worker_int(worker: Any) -> None:
    """Called in the worker when it receives SIGINT or SIGQUIT."""


def worker_abort(worker: Any) -> None:
    """Called in the worker when it receives SIGABRT (request timeout)."""


def pre_exec(server: Any) -> None:
    """Called just before a new master process is exec'd."""


def pre_request(worker: Any, req: Any) -> None:
    """Called in the worker just before the application handles a request."""


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """Called in the worker after a request has been handled."""


def child_exit(server: Any, worker: Any) -> None:
    """Called in the master after a worker exited."""


def worker_exit(server: Any, worker: Any) -> None:
    """Called in the worker just before it exits."""


def nworkers_changed(server: Any, new_value: int, old_value: int | None) -> None:
    """Called in the master when the number of workers changes."""


def on_exit(server: Any) -> None:
    """Called just before the master exits."""


DEFAULT_HOOKS: dict[str, Callable[..., Any]] = {
    fn.__name__: fn
    for fn in (
        on_starting, on_reload, when_ready, pre_fork, post_fork, post_worker_init,
        worker_int, worker_abort, pre_exec, pre_request, post_request, child_exit,
        worker_exit, nworkers_changed, on_exit,
    )
}

HOOK_ARITY: dict[str, int] = {
    name: len(inspect.signature(fn).parameters) for name, fn in DEFAULT_HOOKS.items()
}


def hook_params(name: str) -> list[str]:
    """Parameter names of a hook, as documented."""
    return list(inspect.signature(DEFAULT_HOOKS[name]).parameters)


def check_hook(name: str, value: object) -> Callable[..., Any]:
    """Return ``value`` if it is a callable accepting the hook's positional
    arguments; raise ``ValueError`` otherwise."""
    if not callable(value):
        raise ValueError(f"hook must be callable, got {type(value).__name__}")
    arity = HOOK_ARITY[name]
    try:
        sig = inspect.signature(value)
    except (TypeError, ValueError):
        return value  # builtins without a signature: trust them
    try:
        sig.bind(*([None] * arity))
    except TypeError:
        raise ValueError(f"hook must accept {arity} positional argument(s), got {sig}")
    return value
