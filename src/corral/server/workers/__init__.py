"""Worker classes: they differ only in how bytes move and how concurrency is had.

``-k NAME`` picks one of :data:`WORKER_CLASSES`; ``-k module:Class`` or
``-k module.Class`` names any other :class:`corral.server.workers.base.Worker`
subclass.
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


class WorkerClassError(Exception):
    """The worker class named by ``-k`` cannot be loaded (one-line message)."""


def load_worker_class(name: str) -> Any:
    """Return the worker class for a registry name or a dotted/colon path."""
    spec = WORKER_CLASSES.get(name, name)
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
    return cls
