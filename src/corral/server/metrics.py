"""Prometheus metrics (``--metrics-bind HOST:PORT``), aggregated over every worker.

Needs the optional ``prometheus_client`` package (``pip install 'corral[metrics]'``).
It runs in multiprocess mode: :func:`enable` (called by the logger's set-up in the
arbiter, before any worker is forked) makes a per-run directory, points
``PROMETHEUS_MULTIPROC_DIR`` at it and creates the metrics; every process (the
arbiter and each worker) writes its values to its own memory-mapped files there.
The arbiter serves ``GET /metrics`` on its own listener, in a thread of its own
(:func:`serve`), reading all those files at each scrape; the directory is removed
when the arbiter exits.  Metrics that the application itself defines with
``prometheus_client`` land in the same directory and are served too.

Series::

    corral_requests_total{method, status}        counter; status is 1xx..5xx
    corral_request_duration_seconds{method}      histogram
    corral_requests_in_flight                    gauge (live workers)
    corral_open_connections                      gauge: ESTABLISHED TCP connections
                                                 on the app's listeners (Linux)
    corral_workers                               gauge
    corral_worker_restarts_total                 counter: workers that exited
                                                 unasked and were replaced
    corral_worker_timeouts_total                 counter: workers stopped by --timeout

Requests are counted where the access log line is written (every request whose
environ was built, whatever the worker class); in-flight requests are counted by a
thin wrapper around the application (see :func:`track_in_flight`).
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.server.config import Settings

ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class MetricsError(Exception):
    """Metrics cannot be enabled or served (one-line message)."""


class Metrics:
    """The metric objects of this run, shared by the arbiter and its workers."""

    def __init__(self, directory: str) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.directory = directory
        self.owner = os.getpid()
        self.requests = Counter("corral_requests", "Requests answered, by method and "
                                "status class.", ["method", "status"])
        self.duration = Histogram("corral_request_duration_seconds", "Time from the "
                                  "request's arrival to the end of its response.",
                                  ["method"])
        self.in_flight = Gauge("corral_requests_in_flight", "Requests being handled.",
                               multiprocess_mode="livesum")
        self.workers = Gauge("corral_workers", "Worker processes.",
                             multiprocess_mode="livesum")
        self.restarts = Counter("corral_worker_restarts", "Workers that exited without "
                                "being asked to and were replaced.")
        self.timeouts = Counter("corral_worker_timeouts", "Workers stopped because a "
                                "request exceeded --timeout.")
        self._children: dict[tuple[str, str], Any] = {}
        self._durations: dict[str, Any] = {}

    # -- per request (workers) ----------------------------------------------------
    def observe(self, method: str, status: str, elapsed: float) -> None:
        """Count one finished request (called with the access log's arguments)."""
        if method not in METHODS:
            method = "other"
        klass = f"{status[:1]}xx" if status[:1].isdigit() else "other"
        key = (method, klass)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(method, klass)
        child.inc()
        hist = self._durations.get(method)
        if hist is None:
            hist = self._durations[method] = self.duration.labels(method)
        hist.observe(elapsed)
        self.in_flight.dec()

    # -- the arbiter ----------------------------------------------------------------
    def worker_count(self, count: int) -> None:
        self.workers.set(count)

    def worker_exited(self, pid: int, restarted: bool, timed_out: bool) -> None:
        """A worker is gone: drop its live gauges, count a restart or a timeout."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, self.directory)
        if timed_out:
            self.timeouts.inc()
        elif restarted:
            self.restarts.inc()

    def remove(self) -> None:
        """Remove the run's directory (the process that made it, once)."""
        if os.getpid() == self.owner and os.path.isdir(self.directory):
            shutil.rmtree(self.directory, ignore_errors=True)


_current: Metrics | None = None
_RETRY_DELAYS = (0.0, 0.005, 0.02, 0.05)  # seconds before each new read of the directory
_HEADER_BYTES = 8  # a metrics file's header: how many of its bytes are used


def current() -> Metrics | None:
    """This run's metrics, or None when --metrics-bind is not set."""
    return _current


def enable() -> Metrics:
    """Make (once per run) the multiprocess directory and the metrics."""
    global _current
    if _current is not None:
        return _current
    try:
        import prometheus_client.values as values
    except ImportError:
        raise MetricsError("--metrics-bind needs the prometheus_client package "
                           "(pip install 'corral[metrics]')") from None
    directory = tempfile.mkdtemp(prefix="corral-metrics-")
    os.environ[ENV] = directory
    values.ValueClass = values.get_value_class()  # in case it was imported before
    _current = Metrics(directory)
    atexit.register(_current.remove)
    return _current


def track_in_flight(app: WSGIApp, metrics: Metrics) -> WSGIApp:
    """Wrap ``app`` so that each call counts one request in flight; the request
    leaves the count when it is logged (:meth:`Metrics.observe`)."""
    gauge = metrics.in_flight

    def in_flight(environ: dict[str, Any], start_response: Callable[..., Any]
                  ) -> Iterable[bytes]:
        gauge.inc()
        return app(environ, start_response)

    return in_flight


# -- open connections, as the kernel counts them ------------------------------------
_ESTABLISHED = "01"


def _listener_ports(listeners: Iterable[Any]) -> set[int]:
    ports = set()
    for listener in listeners:
        sock = getattr(listener, "sock", listener)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                ports.add(int(sock.getsockname()[1]))
            except OSError:
                continue
    return ports


def count_established(ports: set[int]) -> int | None:
    """ESTABLISHED TCP connections whose local port is one of ``ports``, from
    ``/proc/net/tcp{,6}``; None where that is not available."""
    total = 0
    seen = False
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == _ESTABLISHED:
                        port = int(fields[1].rsplit(":", 1)[1], 16)
                        if port in ports:
                            total += 1
            seen = True
        except OSError:
            continue
    return total if seen else None


class _ConnectionsCollector:
    def __init__(self, ports: set[int]) -> None:
        self.ports = ports

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        count = count_established(self.ports)
        if count is not None:
            yield GaugeMetricFamily("corral_open_connections", "Established TCP "
                                    "connections on the application's listeners.",
                                    value=count)


# -- the endpoint ---------------------------------------------------------------------
def _make_server(host: str, port: int, app: WSGIApp) -> Any:
    """A threaded WSGI server that logs nothing (imported only when needed)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        allow_reuse_address = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    return make_server(host, port, app, Server, Quiet)


def parse_bind(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (all interfaces) -> (host, port)."""
    text = value.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise MetricsError(f"--metrics-bind {value!r}: expected HOST:PORT")
    return host or "0.0.0.0", int(port)


def _worker_files_collector(base: Any, registry: Any, directory: str) -> Any:
    """prometheus_client's multiprocess collector (``base``) over ``directory``,
    reading only the files whose header is written: a worker's file is empty for
    a moment after the worker makes it, and stays so if the worker is killed in
    that moment; read as it is, it would fail every scrape."""

    class WorkerFiles(base):  # type: ignore[misc, valid-type]
        def collect(self) -> Any:
            files = []
            for path in glob.glob(os.path.join(directory, "*.db")):
                try:
                    if os.path.getsize(path) >= _HEADER_BYTES:
                        files.append(path)
                except OSError:  # gone with its worker
                    continue
            return self.merge(files, accumulate=True)

    return WorkerFiles(registry, path=directory)


class MetricsServer:
    """``GET /metrics`` on its own listener, served by threads of the arbiter."""

    def __init__(self, metrics: Metrics, bind: str, listeners: Iterable[Any]) -> None:
        from prometheus_client import CollectorRegistry, multiprocess
        from prometheus_client.exposition import make_wsgi_app

        registry = CollectorRegistry()
        _worker_files_collector(multiprocess.MultiProcessCollector, registry, metrics.directory)
        registry.register(_ConnectionsCollector(_listener_ports(listeners)))
        exposition = make_wsgi_app(registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]
                ) -> Iterable[bytes]:
            if environ.get("PATH_INFO") != "/metrics":
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"not found: the metrics are at /metrics\n"]
            # a dead worker's file may go between listing the directory and
            # reading it: read the directory again, a few times, before failing
            for delay in _RETRY_DELAYS:
                try:
                    return exposition(environ, start_response)  # type: ignore[no-any-return]
                except FileNotFoundError:
                    time.sleep(delay)
            return exposition(environ, start_response)  # type: ignore[no-any-return]

        host, port = parse_bind(bind)
        try:
            self.httpd = _make_server(host, port, app)
        except OSError as e:
            raise MetricsError(f"--metrics-bind {bind}: {e.strerror or e}") from None
        self.metrics = metrics
        self.address = self.httpd.server_address
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       name="corral-metrics", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = str(self.address[0]), int(self.address[1])
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/metrics"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.metrics.remove()


def serve(settings: Settings, listeners: Iterable[Any], log: Any) -> MetricsServer | None:
    """Start the endpoint when --metrics-bind is set (in the arbiter)."""
    bind = settings.metrics_bind
    if not bind:
        return None
    server = MetricsServer(enable(), bind, listeners)
    log.info("Metrics at: %s", server.url)
    return server
