"""The server's own layers around the loaded application, put on in the worker
(:meth:`corral.server.workers.base.Worker.load_wsgi`) from the settings:

    in-flight count (--metrics-bind)  ->  static files (--static-map)
        ->  compression (--compress)  ->  the application

Static files sit outside compression: they are sent with ``sendfile``, and their
precompressed siblings (``.gz``, ``.br``) stand for on-the-fly compression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from corral.server.static import StaticMapError as LayerError

if TYPE_CHECKING:
    from corral.server.config import Settings

__all__ = ["LayerError", "wrap_app"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wrap_app(app: WSGIApp, settings: Settings) -> WSGIApp:
    """``app`` with the layers the settings ask for (itself when none)."""
    if settings.compress:
        from corral.server.compress import Compress

        app = Compress(app, settings.compress_min_size)
    static_map = settings.static_map
    if static_map:
        from corral.server.static import StaticFiles, parse_static_map

        mounts = parse_static_map(static_map)
        app = StaticFiles(app, mounts, settings.static_max_age)
    if settings.metrics_bind:
        from corral.server.metrics import current, track_in_flight

        metrics = current()
        if metrics is not None:
            app = track_in_flight(app, metrics)
    return app
