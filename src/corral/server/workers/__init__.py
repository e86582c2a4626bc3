"""Worker classes: they differ only in how bytes move and how concurrency is had.

``-k NAME`` picks one of :data:`WORKER_CLASSES`; ``-k module:Class`` or
``-k module.Class`` names any other :class:`corral.server.workers.base.Worker`
subclass.  The names Gunicorn users write (``gunicorn.workers.gthread.ThreadWorker``,
``egg:gunicorn#gevent``, ``gevent_pywsgi`` ...) stand for corral's classes of the
same kind (:func:`canonical_worker_class`); worker classes corral cannot run (ASGI,
eventlet, tornado, classes written against Gunicorn's worker API) are refused in
one line that says what to use instead.
"""

from __future__ import annotations

import importlib
from typing import Any

WORKER_CLASSES: dict[str, str] = {
    "sync": "corral.server.workers.sync:SyncWorker",
    "gthread": "corral.server.workers.gthread:ThreadWorker",
    "asyncio": "corral.server.workers.asyncio:AsyncioWorker",
    "gevent": "corral.server.workers.gevent:GeventWorker",
}

# Gunicorn's names for worker classes corral has one of.
GUNICORN_ALIASES: dict[str, str] = {
    "gunicorn.workers.sync.SyncWorker": "sync",
    "gunicorn.workers.gthread.ThreadWorker": "gthread",
    "gunicorn.workers.ggevent.GeventWorker": "gevent",
    "gunicorn.workers.ggevent.GeventPyWSGIWorker": "gevent",
    "gevent_wsgi": "gevent",
    "gevent_pywsgi": "gevent",
}

_ASGI = ("runs ASGI applications and corral is a WSGI server: serve an ASGI application "
         "with uvicorn or hypercorn, or run a WSGI one with -k asyncio (corral's "
         "event-loop worker)")
_AIOHTTP = _ASGI.replace("ASGI application", "aiohttp application")
_EVENTLET = ("is not supported (eventlet is deprecated upstream): use -k gevent for green "
             "threads, or -k asyncio or -k gthread")
_TORNADO = ("is not supported: a Tornado WSGI application runs under -k asyncio or "
            "-k gthread; a Tornado-native one needs Tornado's own server")
_GUNICORN_API = ("is written against Gunicorn's worker API, which corral does not "
                 "implement: use one of corral's worker classes (asyncio, sync, gthread, "
                 "gevent) or a subclass of corral.server.workers.base.Worker")
# Worker classes refused by name (no import): a name, or a dotted prefix ending in
# ".", mapped to what follows the name in the message.
REFUSED: dict[str, str] = {
    "asgi": _ASGI,
    "gunicorn.workers.gasgi.": _ASGI,
    "uvicorn.": _ASGI,
    "uvicorn_worker.": _ASGI,
    "aiohttp.": _AIOHTTP,
    "gaiohttp": _AIOHTTP,
    "eventlet": _EVENTLET,
    "gunicorn.workers.geventlet.": _EVENTLET,
    "tornado": _TORNADO,
    "gunicorn.workers.gtornado.": _TORNADO,
    "gunicorn.": _GUNICORN_API,
}


class WorkerClassError(Exception):
    """The worker class named by ``-k`` cannot be loaded (one-line message)."""


def canonical_worker_class(name: str) -> str:
    """The name corral uses for ``name``: Gunicorn's spellings map to corral's
    classes; a class corral cannot run raises :class:`WorkerClassError`."""
    spec = name.strip()
    if spec.startswith("egg:"):
        dist, _, entry = spec[len("egg:"):].rpartition("#")
        if dist not in ("gunicorn", "corral") or not entry:
            raise WorkerClassError(f"worker class {name!r}: entry points of other packages "
                                   "are not supported; name the class as module:Class")
        spec = entry
    spec = spec.lstrip("#")
    spec = GUNICORN_ALIASES.get(spec, spec)
    if spec in WORKER_CLASSES:
        return spec
    for prefix, reason in REFUSED.items():
        if spec == prefix or (prefix.endswith(".") and spec.startswith(prefix)):
            raise WorkerClassError(f"worker class {name!r} {reason}")
    return spec


def load_worker_class(name: str) -> Any:
    """Return the worker class for a registry name or a dotted/colon path."""
    spec = WORKER_CLASSES.get(canonical_worker_class(name), name)
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
    elif "." in spec:
        module_name, _, attr = spec.rpartition(".")
    else:
        known = ", ".join(sorted(WORKER_CLASSES))
        raise WorkerClassError(f"unknown worker class {name!r} (known: {known})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise WorkerClassError(f"cannot load worker class {name!r}: {e}") from e
    try:
        cls = getattr(module, attr)
    except AttributeError:
        raise WorkerClassError(
            f"cannot load worker class {name!r}: {module_name} has no attribute {attr!r}"
        ) from None
    if not isinstance(cls, type):
        raise WorkerClassError(f"worker class {name!r} is not a class")
    from corral.server.workers.base import Worker

    if not issubclass(cls, Worker):
        raise WorkerClassError(f"worker class {name!r} {_GUNICORN_API}")
    return cls
