"""Worker base class: what every worker class shares except I/O.

Contract with the arbiter and with the concrete worker classes:

    worker = WorkerClass(age, ppid, listeners, app_loader, settings, log)
    # in the child after fork:
    worker.init_process()   # never returns: switches to --group/--user, installs
                            # signals, starts the heartbeat,
                            # loads the app (exit 4 on failure, 3 on other boot errors),
                            # builds self.cycle = RequestCycle(self.wsgi, settings, log, self)
                            # and calls self.run(); exits 0 after a graceful stop.

Attributes: ``alive`` (False once TERM/max-requests asks for a graceful stop),
``listeners`` (list of :class:`corral.server.sockets.Listener`), ``wsgi``,
``cycle``, ``settings``, ``log``, ``pid``, ``ppid``, ``age``, ``nr`` (requests
served), ``tmp`` (:class:`Heartbeat`: ``notify()`` in the child,
``last_update()`` in the arbiter).
Methods for subclasses: ``run()`` (abstract), ``notify()`` (heartbeat + parent
check: a worker whose parent changed stops), ``request_started()`` (counts a
request before its response is framed, triggers --max-requests recycling),
``connection_infos()`` (the open connections, whose ``keepalive_allowed`` turns
False when the worker starts stopping).
Signals in the worker: TERM -> graceful (alive = False), INT/QUIT -> fast exit,
ABRT -> request timeout (log the stack where it hung, raise RequestTimeout in the
main thread), USR1 -> reopen log files, CHLD -> default.
"""

from __future__ import annotations

import linecache
import mmap
import os
import pwd
import random
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from corral.server.hooks import WorkerAttributes

# imported with the worker class, before a worker switches to --user: that account may
# not be able to read the Python installation (one under /root, say)
from corral.server.middleware import LayerError, wrap_app
from corral.server.sockets import Listener

if TYPE_CHECKING:
    from corral.server.config import Settings

EXIT_OK = 0
EXIT_BOOT_ERROR = 3
EXIT_APP_LOAD_ERROR = 4

_NOTIFIED, _BOOTED = 0, 1  # the heartbeat page's two doubles (see Heartbeat)


def call_hook(settings: Settings, log: Any, name: str, *args: Any) -> None:
    """Call the server hook ``name`` (one of the hook settings); log (never raise)
    its errors."""
    hook: Callable[..., Any] = getattr(settings, name)
    try:
        hook(*args)
    except Exception:
        log.exception("Exception in %s hook", name)


def switch_identity(uid: int, gid: int, initgroups: bool = False) -> None:
    """Become ``gid`` then ``uid`` (``--group``/``--user``); raises OSError when not
    allowed.  When the identity changes, the supplementary groups are replaced:
    by every group of the user's account with ``initgroups``, else by none, so
    that a worker forked from a root master keeps none of root's groups."""
    same = uid == os.getuid() == os.geteuid() and gid == os.getgid() == os.getegid()
    if same and not initgroups:
        return
    groups: list[int] = []
    if initgroups:
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = None  # a bare id: no account, so no groups to add
        groups = os.getgrouplist(name, gid) if name else [gid]
    if set(groups) != set(os.getgroups()):
        try:
            os.setgroups(groups)
        except PermissionError:
            if not same:
                raise
            # --initgroups alone, without the privilege to set groups: keep them
    if gid != os.getgid() or gid != os.getegid():
        os.setgid(gid)
    if uid != os.getuid() or uid != os.geteuid():
        os.setuid(uid)


def set_process_title(title: str) -> None:
    """Set the process title when setproctitle is installed."""
    try:
        from setproctitle import setproctitle
    except ImportError:
        return
    setproctitle(title)


def process_title(role: str, settings: Settings) -> str:
    name = settings.proc_name or settings.app_uri or "corral"
    return f"corral: {role} [{name}]"


def spew() -> None:
    """--spew: print every line of Python this process executes from now on
    (``module:line: source``), in every thread started from now on too."""
    sys.settrace(_spew_trace)
    threading.settrace(_spew_trace)


def _spew_trace(frame: FrameType, event: str, arg: Any) -> Any:
    if event == "line":
        lineno = frame.f_lineno
        filename = frame.f_code.co_filename
        name = frame.f_globals.get("__name__", "[unknown]")
        line = linecache.getline(filename, lineno, frame.f_globals).rstrip()
        if not line:
            line = f"Unknown code named [{frame.f_code.co_name}].  VM instruction #{frame.f_lasti}"
        try:
            print(f"{name}:{lineno}: {line}", flush=False)
        except (OSError, ValueError):
            pass
    return _spew_trace


class Heartbeat:
    """A timestamp shared between a worker and the arbiter through an anonymous
    shared memory page created before the fork.

    ``notify()`` (in the worker) is one memory write: no system call.
    ``last_update()`` (in the arbiter) returns the ``time.monotonic()`` of the
    last notification (CLOCK_MONOTONIC is the same clock in every process).

    The page holds two doubles: the last notification, and 1.0 once the worker
    has booted.  Each is written by assigning to an item of a ``"d"`` view of
    the page, which stores the 8 bytes in one aligned write, so a reader in
    another process sees the old value or the new one, never a mixture.
    (``struct.pack_into`` would not do: it clears its target before writing the
    value, and an arbiter reading in between saw a stamp of 0.0, a worker
    silent for hours, and aborted a healthy one with a request in hand.)
    """

    def __init__(self) -> None:
        self._map: mmap.mmap | None = mmap.mmap(-1, mmap.PAGESIZE)
        # Any: typeshed's memoryview takes only ints as items, even cast to "d"
        self._slots: Any = memoryview(self._map).cast("d")
        self.notify()

    def notify(self) -> None:
        slots = self._slots
        if slots is not None:
            slots[_NOTIFIED] = time.monotonic()

    def mark_booted(self) -> None:
        if self._slots is not None:
            self._slots[_BOOTED] = 1.0

    def booted(self) -> bool:
        return self._slots is not None and self._slots[_BOOTED] == 1.0

    def last_update(self) -> float:
        slots = self._slots
        if slots is None:
            return time.monotonic()
        return float(slots[_NOTIFIED])

    def close(self) -> None:
        if self._slots is not None:
            self._slots.release()  # the page cannot be unmapped while a view holds it
            self._slots = None
        if self._map is not None:
            self._map.close()
            self._map = None


class Worker(WorkerAttributes):
    """Base class of every worker class; subclasses implement :meth:`run`."""

    # Signals the worker handles or ignores (the arbiter's handlers are replaced).
    IGNORED_SIGNALS = ("SIGHUP", "SIGTTIN", "SIGTTOU", "SIGWINCH", "SIGUSR2")

    def __init__(
        self,
        age: int,
        ppid: int,
        listeners: list[Listener],
        app_loader: Callable[[], Any],
        settings: Settings,
        log: Any,
    ) -> None:
        self.age = age
        self.pid = 0  # set in the child by init_process()
        self.ppid = ppid
        self.listeners = listeners
        self.app_loader = app_loader
        self.settings = settings
        self.log = log
        self._alive = True
        self.booted = False
        self.aborted = False
        self.nr = 0
        self.timeout = settings.timeout
        self.max_requests = self._pick_max_requests(settings)
        self.wsgi: Any = None
        self.cycle: Any = None
        self.reloader: Any = None
        self.reload = False  # --reload, read once the settings are final (in the child)
        self.reload_error_files: set[str] = set()
        self.tmp = Heartbeat()

    @staticmethod
    def _pick_max_requests(settings: Settings) -> int:
        limit = settings.max_requests
        if limit <= 0:
            return sys.maxsize
        jitter = settings.max_requests_jitter
        return limit + (random.randint(0, jitter) if jitter > 0 else 0)

    def __str__(self) -> str:
        return f"<Worker {self.pid}>"

    @property
    def alive(self) -> bool:
        """False once the worker is to stop (TERM, --max-requests, a reload, a
        stuck request, a vanished parent): it accepts nothing more and every
        response framed from then on says ``Connection: close``."""
        return self._alive

    @alive.setter
    def alive(self, value: bool) -> None:
        was = self._alive
        self._alive = value
        if was and not value:
            self.stop_keepalive()

    def stop_keepalive(self) -> None:
        """Called once when the worker starts stopping, in whatever thread (or
        signal handler) decided it: no connection may be kept after the
        response being framed now.  Idle connections are not closed here: each
        worker closes an idle connection only when no request is on its way
        (see :mod:`corral.server.workers._closing`)."""
        for info in self.connection_infos():
            info.keepalive_allowed = False

    def connection_infos(self) -> list[Any]:
        """The :class:`~corral.server.http.cycle.ConnInfo` of every open
        connection (workers that keep connections alive override this)."""
        return []

    @property
    def cfg(self) -> Settings:
        """Gunicorn's name for the settings, for hooks written for it."""
        return self.settings

    # -- life cycle ------------------------------------------------------------
    def init_process(self) -> None:
        """Run in the child after fork; never returns (raises SystemExit)."""
        self.pid = os.getpid()
        self.drop_privileges()
        random.seed()
        set_process_title(process_title("worker", self.settings))
        self.init_signals()
        self.tmp.notify()
        boot_time = time.time()
        self.reload = self.settings.reload
        if self.settings.spew:
            spew()
        self.load_wsgi()
        if self.reload:
            self.start_reloader(boot_time)
        call_hook(self.settings, self.log, "post_worker_init", self)
        self.booted = True
        self.tmp.mark_booted()
        self.tmp.notify()
        self.run_until_stopped()

    def drop_privileges(self) -> None:
        """Switch to ``--group``/``--user`` before anything of the application runs
        here (exit 3 when that is not allowed)."""
        s = self.settings
        uid, gid = s.user, s.group
        try:
            switch_identity(uid, gid, s.initgroups)
        except OSError as e:
            self.log.error("Cannot run the worker as uid %s, gid %s: %s",
                           uid, gid, e.strerror or e)
            sys.exit(EXIT_BOOT_ERROR)

    def load_wsgi(self) -> None:
        """Load the app and build the request cycle; exit 4/3 on failure."""
        from corral.server.loader import AppLoadError

        try:
            self.wsgi = self.app_loader()
        except SystemExit:
            raise
        except BaseException as e:
            if self.reload:
                self.wsgi = self.survive_load_error(e)
            elif isinstance(e, AppLoadError):  # the summary, then the app's traceback
                self.log.error("%s", e, exc_info=e.__cause__)
                sys.exit(EXIT_APP_LOAD_ERROR)
            else:
                self.log.exception("Exception in worker process while loading the application")
                sys.exit(EXIT_BOOT_ERROR)
        try:
            self.wsgi = wrap_app(self.wsgi, self.settings)  # --static-map, --compress, ...
            self.cycle = self.make_cycle()
        except LayerError as e:  # a setting that cannot be applied here: one line
            self.log.error("%s", e)
            sys.exit(EXIT_BOOT_ERROR)
        except Exception:
            self.log.exception("Exception in worker process while booting")
            sys.exit(EXIT_BOOT_ERROR)

    def survive_load_error(self, e: BaseException) -> Any:
        """Under --reload, an application that cannot be loaded (a syntax error
        being edited, say) does not stop the server: the worker logs the error,
        answers 500 with it, and watches the files involved, so that the next
        change brings a fresh worker with the fixed code."""
        from corral.server.loader import AppLoadError
        from corral.server.reloader import describe_error, error_files, failed_app

        if isinstance(e, AppLoadError):
            self.log.error("%s", e, exc_info=e.__cause__)
        else:
            self.log.exception("Exception in worker process while loading the application")
        self.reload_error_files = error_files(e)
        self.log.info("Waiting for a change of the application's files to load it again")
        return failed_app(describe_error(e))

    def start_reloader(self, boot_time: float) -> None:
        """--reload: watch the loaded modules (and --reload-extra-file files) and
        stop this worker when one changes."""
        from corral.server.reloader import make_watcher

        s = self.settings
        extra = [*s.reload_extra_files, *self.reload_error_files]
        self.reloader = make_watcher(
            s.reload_engine, extra, self.reload_changed,
            log=self.log, boot_time=boot_time,
        )
        self.reloader.begin()

    def reload_changed(self, path: str) -> None:
        """Called by the watcher (in its thread): stop gracefully; the arbiter
        forks a fresh worker that imports the new code."""
        self.log.info("Worker reloading: %s modified", path)
        self.alive = False
        call_hook(self.settings, self.log, "worker_int", self)

    def make_cycle(self) -> Any:
        from corral.server.http.cycle import RequestCycle

        return RequestCycle(self.wsgi, self.settings, self.log, self)

    def run_until_stopped(self) -> None:
        from corral.server.http.errors import RequestTimeout

        try:
            self.run()
        except RequestTimeout:
            # the timeout struck outside a request cycle: just go away
            sys.exit(1)
        code = 1 if self.aborted else EXIT_OK
        sys.exit(code)

    def run(self) -> None:
        """Accept and serve connections while ``self.alive``; call ``self.notify()``
        at least every ``timeout / 2`` seconds and ``self.request_done()`` after
        each request."""
        raise NotImplementedError

    # -- helpers for subclasses --------------------------------------------------
    def notify(self) -> None:
        """Heartbeat for the arbiter; stop if the arbiter went away."""
        self.tmp.notify()
        if self.alive and os.getppid() != self.ppid:
            self.log.info("Parent changed, shutting down: %s", self)
            self.alive = False

    def request_started(self) -> None:
        """Count one request before its response is framed; at --max-requests
        ask for a graceful stop, so that this request's response already says
        ``Connection: close``."""
        self.nr += 1
        if self.nr >= self.max_requests and self.alive:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False

    # -- signals -----------------------------------------------------------------
    def init_signals(self) -> None:
        for name in self.IGNORED_SIGNALS:
            sig = getattr(signal, name, None)
            if sig is not None:
                signal.signal(sig, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, self.handle_exit)
        signal.signal(signal.SIGINT, self.handle_quit)
        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGABRT, self.handle_abort)
        signal.signal(signal.SIGUSR1, self.handle_usr1)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """TERM: finish in-flight work, accept nothing new, exit 0."""
        self.alive = False

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        """INT/QUIT: stop now."""
        self.alive = False
        call_hook(self.settings, self.log, "worker_int", self)
        sys.exit(EXIT_OK)

    def handle_usr1(self, sig: int, frame: FrameType | None) -> None:
        self.log.reopen_files()

    def handle_abort(self, sig: int, frame: FrameType | None) -> None:
        """ABRT from the arbiter: the request in the main thread is over time."""
        self.alive = False
        self.aborted = True
        call_hook(self.settings, self.log, "worker_abort", self)
        self.log_timeout(frame)
        if not self.booted:
            # still loading the app: an exception here would pass for an app error
            os._exit(1)
        from corral.server.http.errors import RequestTimeout

        raise RequestTimeout(f"request exceeded the {self.timeout}s timeout")

    def log_timeout(self, frame: FrameType | None) -> None:
        stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
        self.log.critical(
            "WORKER TIMEOUT (pid:%s) after %ss; the request was at:\n%s",
            self.pid, self.timeout, stack.rstrip(),
        )
