"""Server hooks: default no-op implementations with Gunicorn's names and signatures.

A config file overrides any of them by defining a function of the same name::

    def post_fork(server, worker):
        server.log.info("worker %s forked", worker.pid)

``HOOK_ARITY`` maps every hook name to the number of positional arguments it is
called with; the settings table uses it to validate hooks from config files.
``post_request`` may also take two or three (as in Gunicorn).

The objects handed to hooks carry the attributes Gunicorn's documentation and
examples use: ``server`` is the arbiter (``log``, ``cfg``, ``pid``, ``WORKERS``,
``LISTENERS``, ``num_workers``, ``timeout``, ``kill_worker()`` ...), ``worker`` the
worker (``pid``, ``ppid``, ``age``, ``nr``, ``log``, ``cfg``, ``alive``, ``tmp``,
``sockets`` ...), ``req`` a :class:`HookRequest` and ``resp`` a :class:`HookResponse`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.server.config import Settings


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


def ssl_context(config: Any, default_ssl_context_factory: Callable[[], Any]) -> Any:
    """Return the `ssl.SSLContext` for TLS listeners; `default_ssl_context_factory()`
    builds the one the TLS settings describe, for the hook to adjust (SNI, versions)."""
    return default_ssl_context_factory()


DEFAULT_HOOKS: dict[str, Callable[..., Any]] = {
    fn.__name__: fn
    for fn in (
        on_starting, on_reload, when_ready, pre_fork, post_fork, post_worker_init,
        worker_int, worker_abort, pre_exec, pre_request, post_request, child_exit,
        worker_exit, nworkers_changed, on_exit, ssl_context,
    )
}

HOOK_ARITY: dict[str, int] = {
    name: len(inspect.signature(fn).parameters) for name, fn in DEFAULT_HOOKS.items()
}


class _Alias:
    """An attribute that is another one under Gunicorn's name (read and write)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else getattr(obj, self.target)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(obj, self.target, value)


class ServerAttributes:
    """Gunicorn's names for the arbiter's state, as hooks written for it use them
    (mixed into :class:`corral.server.arbiter.Arbiter`)."""

    settings: Settings
    WORKERS = _Alias("workers")
    LISTENERS = _Alias("listeners")

    @property
    def timeout(self) -> int:
        """The worker timeout in seconds (``--timeout``)."""
        return int(self.__dict__.get("_timeout", self.settings.timeout))

    @timeout.setter
    def timeout(self, value: int) -> None:
        self.__dict__["_timeout"] = value

    @property
    def address(self) -> list[str]:
        return list(self.settings.bind)


class WorkerAttributes:
    """Gunicorn's names for a worker's state (mixed into the worker base class)."""

    sockets = _Alias("listeners")


class HookRequest:
    """The ``req`` of ``pre_request``/``post_request``, with Gunicorn's request
    attributes: ``method``, ``uri`` (the target as sent), ``path``, ``query``,
    ``fragment``, ``version`` (a tuple), ``headers`` (a list of ``(NAME, value)``
    with upper-case names, as Gunicorn gives them), ``trailers``, ``scheme``,
    ``remote_addr``/``peer_addr``, ``body``.  Hooks may set attributes on it (a
    start time in ``pre_request`` read back in ``post_request``)."""

    def __init__(self, head: Any, conn: Any, body: Any = None) -> None:
        self.method: str = head.method
        self.uri: str = head.raw_uri
        self.path: str = head.path
        self.query: str = head.query
        self.fragment: str = head.raw_uri.partition("#")[2]
        self.version: tuple[int, int] = head.version
        self.headers: list[tuple[str, str]] = [(n.upper(), v) for n, v in head.headers]
        self.trailers: list[tuple[str, str]] = []
        self.scheme: str = conn.url_scheme
        self.remote_addr: Any = conn.peer
        self.peer_addr: Any = conn.peer
        self.body: Any = body
        self.proxy_protocol_info: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<HookRequest {self.method} {self.uri}>"


class HookResponse:
    """The ``resp`` of ``post_request``, with Gunicorn's response attributes:
    ``status`` (``"200 OK"``), ``status_code``, ``headers``, ``sent`` (body bytes
    written), ``headers_sent``, ``response_length`` (the Content-Length, if any)."""

    def __init__(self, exchange: Any) -> None:
        self.status: str = exchange.status_line
        self.status_code: int = exchange.status
        self.headers: list[tuple[str, str]] = list(exchange.headers)
        self.sent: int = exchange.sent
        self.headers_sent: bool = exchange.headers_sent
        self.response_length: int | None = exchange.content_length

    def __repr__(self) -> str:
        return f"<HookResponse {self.status}>"


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
        if name == "post_request":  # Gunicorn also calls one taking 2 or 3 arguments
            for fewer in (3, 2):
                try:
                    sig.bind(*([None] * fewer))
                except TypeError:
                    continue
                return _first_args(value, fewer)
        raise ValueError(f"hook must accept {arity} positional argument(s), got {sig}")
    return value


def _first_args(fn: Callable[..., Any], count: int) -> Callable[..., Any]:
    """``fn`` called with the first ``count`` of the arguments it is given."""

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        return fn(*args[:count])

    return call
