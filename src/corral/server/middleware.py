"""The server's own layers around the loaded application, put on in the worker
(:meth:`corral.server.workers.base.Worker.load_wsgi`) from the settings:

    in-flight count (--metrics-bind)  ->  static files (--static-map)
        ->  compression (--compress)  ->  the application

Static files sit outside compression: they are sent with ``sendfile``, and their
precompressed siblings (``.gz``, ``.br``) stand for on-the-fly compression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from corral.server.static import StaticMapError as LayerError

__all__ = ["LayerError", "wrap_app"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wrap_app(app: WSGIApp, settings: Any) -> WSGIApp:
    """``app`` with the layers the settings ask for (itself when none)."""
    if getattr(settings, "compress", False):
        from corral.server.compress import Compress

        app = Compress(app, int(getattr(settings, "compress_min_size", 1024)))
    static_map = getattr(settings, "static_map", None)
    if static_map:
        from corral.server.static import StaticFiles, parse_static_map

        mounts = parse_static_map(static_map)
        app = StaticFiles(app, mounts, int(getattr(settings, "static_max_age", 0) or 0))
    if getattr(settings, "metrics_bind", None):
        from corral.server.metrics import current, track_in_flight

        metrics = current()
        if metrics is not None:
            app = track_in_flight(app, metrics)
    return app
