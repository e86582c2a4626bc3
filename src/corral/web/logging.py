"""``app.logger``: a logger named after the app, writing to the server's error stream."""

from __future__ import annotations

import logging
import sys
from typing import IO, TYPE_CHECKING, Any

from .globals import _cv_request

if TYPE_CHECKING:
    from .app_setup import AppSetup


class _WSGIErrorsStream:
    """A stream that writes to ``environ['wsgi.errors']`` of the current request,
    or to ``sys.stderr`` outside one (looked up on every write)."""

    def _target(self) -> IO[str]:
        ctx = _cv_request.get(None)
        if ctx is not None:
            stream = ctx.request.environ.get("wsgi.errors")
            if stream is not None:
                return stream
        return sys.stderr

    def _get_current_object(self) -> IO[str]:
        """The stream written to now (a proxy's name for it)."""
        return self._target()

    def write(self, data: str) -> int:
        rv = self._target().write(data)
        return len(data) if rv is None else rv

    def flush(self) -> None:
        target = self._target()
        flush = getattr(target, "flush", None)
        if flush is not None:
            flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __repr__(self) -> str:
        return f"<wsgi_errors_stream {self._target()!r}>"


#: The current request's ``wsgi.errors``, or ``sys.stderr`` outside a request.
wsgi_errors_stream = _WSGIErrorsStream()

#: The handler added to ``app.logger`` when no handler would emit its records.
default_handler = logging.StreamHandler(wsgi_errors_stream)
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def has_level_handler(logger: logging.Logger) -> bool:
    """Whether some handler on the logger or its propagation chain takes its level."""
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        if not current.propagate:
            break
        current = current.parent
    return False


def create_logger(app: AppSetup) -> logging.Logger:
    """The ``app.name`` logger: DEBUG level in debug mode when unset, and
    :data:`default_handler` attached unless a handler is configured already."""
    logger = logging.getLogger(app.name)
    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger
