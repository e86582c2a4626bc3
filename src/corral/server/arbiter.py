"""The arbiter: the master process that binds the listeners and keeps workers alive.

``Arbiter(settings).run()`` binds every listener, forks ``settings.workers``
workers and then loops forever:

* signal handlers only append the signal to a queue and write one byte to a
  wake-up pipe; the loop ``select()``s on that pipe (1 s timeout) and dispatches
  queued signals to ``handle_<name>``;
* it reaps exited children, respawns missing workers, retires surplus ones, and
  sends SIGABRT (then SIGKILL after a grace period) to workers whose heartbeat is
  older than ``--timeout``;
* a worker exiting with status 3 (boot error) or 4 (app load error) stops the
  master with that status instead of respawning forever.

Workers switch to ``--group``/``--user`` as soon as they are forked; the master
keeps its own identity, so that it can still remove the pid file and unix socket
files and signal every worker.  With ``--daemon`` the command line detaches the
process first (:func:`corral.server.cli.daemonize`) and the arbiter reports the
outcome of :meth:`Arbiter.start` back through ``ready_fd``.

Signals: TERM graceful stop, INT/QUIT fast stop, HUP reload (new settings, new
workers with freshly imported app code, old workers retired gracefully once the
new ones booted), TTIN/TTOU one worker more/fewer, USR1 reopen log files, WINCH
ignored, CHLD reap.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

from corral.server import systemd
from corral.server.hooks import ServerAttributes
from corral.server.metrics import MetricsError
from corral.server.metrics import serve as serve_metrics
from corral.server.sockets import (
    INHERIT_ENV,
    Listener,
    ListenerError,
    close_listeners,
    create_listeners,
    switched_owner,
)
from corral.server.wakeup import WakePipe
from corral.server.workers import WorkerClassError, load_worker_class
from corral.server.workers.base import (
    EXIT_APP_LOAD_ERROR,
    EXIT_BOOT_ERROR,
    call_hook,
    process_title,
    set_process_title,
)

if TYPE_CHECKING:
    from corral.server.config import Settings

HANDLED_SIGNALS = ("HUP", "QUIT", "INT", "TERM", "TTIN", "TTOU", "USR1", "USR2", "WINCH")
STOP_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
EXIT_BAD_SETTING = 2
KILL_GRACE = 3.0  # seconds between SIGABRT and SIGKILL for a timed-out worker
BOOT_WAIT_LIMIT = 60.0  # on HUP, retire the old workers at the latest after this
MAX_QUEUED_SIGNALS = 32


class HaltServer(Exception):
    """Stop the master with ``status`` after logging ``reason``."""

    def __init__(self, reason: str, status: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Pidfile:
    """The pid file: written at start (a stale one replaced), removed on exit."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.pid = 0

    def create(self, pid: int) -> None:
        other = self.read()
        if other and other != pid and _pid_alive(other):
            raise HaltServer(f"Already running on PID {other} (pid file {self.path})")
        tmp = f"{self.path}.{pid}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{pid}\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path)
        self.pid = pid

    def read(self) -> int:
        try:
            with open(self.path) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def rename(self, path: str) -> None:
        """Move the pid file (``.oldbin`` while a re-executed master runs)."""
        if self.read() == self.pid:
            os.replace(self.path, path)
        self.path = path

    def unlink(self) -> None:
        if self.pid and self.read() == self.pid:
            try:
                os.unlink(self.path)
            except OSError:
                pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


class Arbiter(ServerAttributes):
    """The master process.  All state lives on the instance."""

    def __init__(self, settings: Settings, log: Any = None) -> None:
        self.settings = settings
        if log is None:
            from corral.server.logconfig import make_logger

            log = make_logger(settings)
        self.log = log
        self.pid = os.getpid()
        self.workers: dict[int, Any] = {}  # pid -> Worker
        self.listeners: list[Listener] = []
        self.sig_queue: list[int] = []
        self.pipe: WakePipe | None = None
        self.num_workers = settings.workers
        self.worker_age = 0
        self.worker_class: Any = None
        self.app: Any = None  # the preloaded app (--preload only)
        self.pidfile: Pidfile | None = None
        self.stopping = False
        self.retiring: dict[int, float] = {}  # pid -> SIGKILL deadline
        self.outgoing: set[int] = set()  # old workers awaiting new ones' boot (HUP)
        self.outgoing_deadline = 0.0
        self.aborted: dict[int, float] = {}  # pid -> SIGKILL deadline after SIGABRT
        self.reexec_pid = 0  # a new master started by USR2
        self.argv = list(sys.argv[1:])
        # --daemon: where the detached master reports how its start went to the
        # command that launched it (see corral.server.cli.daemonize)
        self.ready_fd: int | None = None
        self._reported_workers = -1  # the worker count last sent as a metric
        self.metrics: Any = None  # corral.server.metrics.MetricsServer (--metrics-bind)

    # -- properties used by hooks ---------------------------------------------------
    @property
    def cfg(self) -> Settings:
        """Gunicorn's name for the settings, for config-file hooks written for it."""
        return self.settings

    @property
    def app_uri(self) -> str:
        """The application spec (the command line refuses to start without one)."""
        uri = self.settings.app_uri
        if not uri:
            raise HaltServer("no application given (APP_URI)", EXIT_BAD_SETTING)
        return uri

    @property
    def proc_name(self) -> str:
        return str(self.settings.proc_name or self.settings.app_uri)

    # -- start-up -------------------------------------------------------------------
    def run(self) -> NoReturn:
        """Start and manage workers until a stop signal; exits the process."""
        try:
            self.start()
            self.manage_workers()
            systemd.ready(self.status_text(), self.log)
            self.main_loop()
        except _Stop as s:
            self.stop(graceful=s.graceful)
            self.halt(None, 0)
        except HaltServer as h:
            self.halt(h.reason, h.status)
        except SystemExit:
            raise
        except KeyboardInterrupt:  # SIGINT before the handlers were installed
            self.stop(graceful=False)
            self.halt(None, 0)
        except BaseException:
            self.log.exception("Unhandled exception in the main loop")
            self.stop(graceful=False)
            self.halt(None, 1)

    def start(self) -> None:
        self.log.info("Starting corral %s", _version())
        call_hook(self.settings, self.log, "on_starting", self)
        self.apply_environment(self.settings)
        self.load_worker_class()
        self.init_pipe()
        self.init_signals()
        pidfile = self.settings.pidfile
        if pidfile:
            self.pidfile = Pidfile(pidfile)
            self.pidfile.create(self.pid)
        if self.settings.preload_app:
            self.preload()
        try:
            self.listeners = create_listeners(self.settings, self.log)
        except ListenerError as e:
            raise HaltServer(str(e), 1) from None
        try:
            self.metrics = serve_metrics(self.settings, self.listeners, self.log)
        except MetricsError as e:
            raise HaltServer(str(e), 1) from None
        for listener in self.listeners:
            self.log.info("Listening at: %s (%s)", listener.url, self.pid)
        self.log.info("Using worker: %s", self.settings.worker_class)
        self.hand_over_logs(self.settings)
        set_process_title(process_title("master", self.settings))
        call_hook(self.settings, self.log, "when_ready", self)
        self.report_start(0)

    def status_text(self) -> str:
        """One line for systemd's ``STATUS=`` (``systemctl status``)."""
        urls = ", ".join(listener.url for listener in self.listeners)
        return f"Listening at {urls} with {self.num_workers} {self.settings.worker_class} workers"

    def apply_environment(self, settings: Settings) -> None:
        """``-e KEY=VALUE`` in the master (inherited by workers); the command line
        applies ``--chdir``/``--pythonpath`` before the arbiter exists."""
        os.environ.update(settings.env)

    def report_start(self, status: int, reason: str = "") -> None:
        """Under --daemon, tell the launching command that the start succeeded
        (0) or failed (``status`` and ``reason``); once only."""
        fd, self.ready_fd = self.ready_fd, None
        if fd is None:
            return
        try:
            os.write(fd, f"{status} {reason}".encode("utf-8", "replace"))
        except OSError:
            pass  # the launching command is gone: nobody to tell
        finally:
            os.close(fd)

    def hand_over_logs(self, settings: Settings) -> None:
        """Give the log files to ``--user``/``--group``, so that workers running as
        that account can reopen them (USR1 after a log rotation)."""
        uid, gid = switched_owner(settings)
        if (uid, gid) == (-1, -1):
            return
        for path in (settings.errorlog, settings.accesslog):
            if path and path != "-":
                try:
                    os.chown(path, uid, gid)
                except OSError as e:
                    self.log.warning("Cannot give %s to the workers' user and group: %s",
                                     path, e.strerror or e)

    def load_worker_class(self) -> None:
        try:
            self.worker_class = load_worker_class(self.settings.worker_class)
        except WorkerClassError as e:
            raise HaltServer(str(e), EXIT_BAD_SETTING) from None

    def preload(self) -> None:
        from corral.server.loader import AppLoadError, load_app

        try:
            self.app = load_app(self.app_uri)
        except AppLoadError as e:
            self.log.error("%s", e, exc_info=e.__cause__)  # the app's traceback
            raise HaltServer(str(e), EXIT_APP_LOAD_ERROR) from None

    def app_loader(self) -> Any:
        """Called in a worker: the preloaded app, or a fresh import."""
        if self.app is not None:
            return self.app
        from corral.server.loader import load_app

        return load_app(self.app_uri)

    # -- signals ----------------------------------------------------------------------
    def init_pipe(self) -> None:
        if self.pipe is not None:
            self.pipe.close()
        self.pipe = WakePipe()

    @property
    def signals(self) -> list[signal.Signals]:
        return [getattr(signal, f"SIG{name}") for name in (*HANDLED_SIGNALS, "CHLD")]

    def init_signals(self) -> None:
        for sig in self.signals:
            signal.signal(sig, self.signal_handler)

    def signal_handler(self, sig: int, frame: Any) -> None:
        """Only enqueue and wake the loop: everything else happens in the loop."""
        queue = self.sig_queue
        if len(queue) < MAX_QUEUED_SIGNALS and not (sig == signal.SIGCHLD and sig in queue):
            queue.append(sig)
        self.wakeup()

    def wakeup(self) -> None:
        if self.pipe is not None:
            self.pipe.wake()

    def sleep(self, timeout: float = 1.0) -> None:
        """Wait for a signal (or the timeout), then drain the wake-up pipe."""
        assert self.pipe is not None
        try:
            ready = select.select([self.pipe.r], [], [], timeout)[0]
        except InterruptedError:
            return
        if ready:
            self.pipe.drain()

    # -- the loop -------------------------------------------------------------------
    def main_loop(self) -> NoReturn:
        while True:
            if self.sig_queue:
                sig = self.next_signal()
                name = signal_name(sig)
                handler = getattr(self, f"handle_{name[3:].lower()}", None)
                if handler is None:
                    self.log.warning("Ignoring unknown signal: %s", name)
                else:
                    if sig != signal.SIGCHLD:
                        self.log.info("Handling signal: %s", name[3:].lower())
                    handler()
            else:
                self.sleep(1.0)
            self.reap_workers()
            self.murder_workers()
            self.retire_outgoing()
            self.manage_workers()

    def next_signal(self) -> int:
        """The next queued signal; a stop request goes first, so that workers that
        exit because the whole process group got TERM are not respawned."""
        queue = self.sig_queue
        for sig in STOP_SIGNALS:
            if sig in queue:
                queue.remove(sig)
                return sig
        return queue.pop(0)

    def handle_chld(self) -> None:
        self.reap_workers()

    def handle_hup(self) -> None:
        self.log.info("Hang up: %s", self.proc_name)
        self.reload()

    def handle_term(self) -> NoReturn:
        raise _Stop(graceful=True)

    def handle_int(self) -> NoReturn:
        raise _Stop(graceful=False)

    def handle_quit(self) -> NoReturn:
        raise _Stop(graceful=False)

    def handle_ttin(self) -> None:
        self.set_num_workers(self.num_workers + 1)

    def handle_ttou(self) -> None:
        if self.num_workers > 1:
            self.set_num_workers(self.num_workers - 1)

    def handle_usr1(self) -> None:
        self.log.reopen_files()
        self.kill_workers(signal.SIGUSR1)

    def handle_usr2(self) -> None:
        self.reexec()

    def handle_winch(self) -> None:
        self.log.debug("SIGWINCH ignored")

    def set_num_workers(self, value: int) -> None:
        old = self.num_workers
        self.num_workers = value
        call_hook(self.settings, self.log, "nworkers_changed", self, value, old)
        self.manage_workers()

    # -- workers ----------------------------------------------------------------------
    def current_workers(self) -> list[int]:
        """Pids of workers of the current generation that are not being retired."""
        return [
            pid for pid in self.workers
            if pid not in self.retiring and pid not in self.outgoing
        ]

    def manage_workers(self) -> None:
        if self.stopping or any(sig in self.sig_queue for sig in STOP_SIGNALS):
            return  # workers that died from a group-wide signal are not replaced
        current = self.current_workers()
        missing = self.num_workers - len(current)
        for _ in range(missing):
            self.spawn_worker()
        if missing < 0:
            by_age = sorted(current, key=lambda pid: self.workers[pid].age)
            for pid in by_age[:-missing]:
                self.retire(pid)
        count = len(self.current_workers())
        if count != self._reported_workers:
            self._reported_workers = count
            if self.metrics is not None:
                self.metrics.metrics.worker_count(count)
            self.log.debug("%s workers", count, extra={
                "metric": "gunicorn.workers", "value": count, "mtype": "gauge"})

    def retire(self, pid: int) -> None:
        """Ask a worker to stop gracefully; SIGKILL it after graceful_timeout."""
        self.outgoing.discard(pid)
        if pid in self.retiring:
            return
        self.retiring[pid] = time.monotonic() + float(self.settings.graceful_timeout)
        self.kill_worker(pid, signal.SIGTERM)

    def spawn_worker(self) -> int:
        self.worker_age += 1
        try:
            worker = self.worker_class(
                self.worker_age, self.pid, self.listeners, self.app_loader,
                self.settings, self.log,
            )
        except Exception as e:
            self.log.exception("Cannot create a worker")
            raise HaltServer(f"cannot create a worker: {e}", EXIT_BOOT_ERROR) from None
        call_hook(self.settings, self.log, "pre_fork", self, worker)
        # signals stay blocked across fork: a signal meant for the new worker must
        # not run the master's handler in the child and be lost there
        signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.signals)
            raise
        if pid != 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.signals)
            worker.pid = pid
            self.workers[pid] = worker
            return pid
        self.run_worker(worker)

    def run_worker(self, worker: Any) -> NoReturn:
        """In the child: drop the master's state, boot the worker, exit."""
        code: int = 1
        try:
            for sig in self.signals:
                default = sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGCHLD)
                signal.signal(sig, signal.SIG_DFL if default else signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.signals)
            if self.pipe is not None:
                self.pipe.close()
                self.pipe = None
            for other in self.workers.values():
                other.tmp.close()
            self.workers = {}
            self.sig_queue = []
            worker.pid = os.getpid()
            self.log.info("Booting worker with pid: %s", worker.pid)
            call_hook(self.settings, self.log, "post_fork", self, worker)
            worker.init_process()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            self.log.exception("Exception in worker process")
            code = 1 if worker.booted else EXIT_BOOT_ERROR
        finally:
            call_hook(self.settings, self.log, "worker_exit", self, worker)
            _flush_std()
            os._exit(code)

    def reap_workers(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.worker_exited(pid, status)

    def worker_exited(self, pid: int, status: int) -> None:
        if pid == self.reexec_pid:
            self.new_master_exited(os.waitstatus_to_exitcode(status))
            return
        worker = self.workers.pop(pid, None)
        expected = pid in self.retiring or self.stopping
        self.retiring.pop(pid, None)
        self.outgoing.discard(pid)
        timed_out = self.aborted.pop(pid, None) is not None
        if worker is None:
            return
        code = os.waitstatus_to_exitcode(status)
        worker.tmp.close()
        if self.metrics is not None:
            self.metrics.metrics.worker_exited(pid, not expected, timed_out)
        call_hook(self.settings, self.log, "child_exit", self, worker)
        if code == EXIT_BOOT_ERROR:
            raise HaltServer("Worker failed to boot.", EXIT_BOOT_ERROR)
        if code == EXIT_APP_LOAD_ERROR:
            raise HaltServer("App failed to load.", EXIT_APP_LOAD_ERROR)
        if code < 0:
            name = signal_name(-code)
            if -code == signal.SIGKILL and not timed_out and not expected:
                self.log.error("Worker (pid:%s) was sent SIGKILL! Perhaps out of memory?", pid)
            elif not expected or -code != signal.SIGTERM:
                self.log.warning("Worker (pid:%s) was sent %s!", pid, name)
        elif code != 0:
            self.log.error("Worker (pid:%s) exited with code %s", pid, code)
        else:
            self.log.debug("Worker (pid:%s) exited", pid)

    def murder_workers(self) -> None:
        """SIGABRT workers whose heartbeat is too old; SIGKILL the ones that neither
        answered SIGABRT nor a graceful stop in time."""
        now = time.monotonic()
        for pid, deadline in list(self.aborted.items()) + list(self.retiring.items()):
            if now >= deadline and pid in self.workers:
                self.kill_worker(pid, signal.SIGKILL)
        timeout = float(self.settings.timeout)
        if timeout <= 0:
            return
        for pid, worker in list(self.workers.items()):
            if pid in self.aborted or now - worker.tmp.last_update() <= timeout:
                continue
            self.log.critical("WORKER TIMEOUT (pid:%s)", pid)
            self.aborted[pid] = now + KILL_GRACE
            self.kill_worker(pid, signal.SIGABRT)

    def kill_worker(self, pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def kill_workers(self, sig: int) -> None:
        for pid in list(self.workers):
            self.kill_worker(pid, sig)

    # -- reload -------------------------------------------------------------------------
    def reload(self) -> None:
        """HUP: new settings, new workers (fresh app import), then the old workers
        are retired gracefully once every new one has booted."""
        systemd.reloading(self.log)
        try:
            fresh = self.settings.reread()
        except Exception as e:
            self.log.error("Reload failed, keeping the current configuration: %s", e)
            systemd.ready(self.status_text(), self.log)
            return
        old_bind = list(self.settings.bind)
        self.settings = fresh
        self.apply_environment(fresh)
        setup = getattr(self.log, "setup", None)
        if setup is not None:
            setup(fresh)  # new log settings; reopens the files
        else:
            self.log.reopen_files()
        self.hand_over_logs(fresh)
        try:
            self.load_worker_class()
        except HaltServer as h:
            self.log.error("%s; keeping the current worker class", h.reason)
        if list(fresh.bind) != old_bind:
            self.rebind()
        call_hook(fresh, self.log, "on_reload", self)
        if int(fresh.workers) != self.num_workers:
            old = self.num_workers
            self.num_workers = int(fresh.workers)
            call_hook(fresh, self.log, "nworkers_changed", self, self.num_workers, old)
        for pid in list(self.outgoing):
            self.retire(pid)  # a previous reload still waiting: stop those now
        self.outgoing = set(self.current_workers())
        self.outgoing_deadline = time.monotonic() + BOOT_WAIT_LIMIT
        set_process_title(process_title("master", fresh))
        self.manage_workers()
        systemd.ready(self.status_text(), self.log)

    def rebind(self) -> None:
        try:
            listeners = create_listeners(self.settings, self.log)
        except ListenerError as e:
            self.log.error("Cannot bind the new addresses, keeping the old ones: %s", e)
            return
        close_listeners(self.listeners, unlink=not self.reexec_pid)
        self.listeners = listeners
        for listener in listeners:
            self.log.info("Listening at: %s (%s)", listener.url, self.pid)

    def retire_outgoing(self) -> None:
        if not self.outgoing:
            return
        newcomers = self.current_workers()
        booted = all(self.workers[pid].tmp.booted() for pid in newcomers)
        if booted or time.monotonic() >= self.outgoing_deadline:
            for pid in list(self.outgoing):
                self.retire(pid)

    # -- re-exec (USR2) -------------------------------------------------------------
    def reexec(self) -> None:
        """Start a new master from the same command line, handing it the listening
        sockets; this one keeps running until told to stop (TERM/QUIT)."""
        if self.reexec_pid:
            self.log.warning("USR2 ignored: a new master (pid:%s) is running", self.reexec_pid)
            return
        if self.pidfile is not None:
            self.pidfile.rename(f"{self.pidfile.path}.oldbin")
        signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)
        try:
            pid = os.fork()
        finally:
            if os.getpid() == self.pid:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, self.signals)
        if pid:
            self.reexec_pid = pid
            self.log.info("Started a new master: pid %s", pid)
            return
        try:
            os.environ[INHERIT_ENV] = ",".join(str(lst.fileno()) for lst in self.listeners)
            call_hook(self.settings, self.log, "pre_exec", self)
            cwd = self.settings.origin_cwd
            if cwd is not None:
                os.chdir(cwd)
            for sig in self.signals:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.signals)
            _flush_std()
            os.execv(sys.executable, [sys.executable, "-m", "corral", *self.argv])
        except BaseException:
            self.log.exception("Cannot start a new master")
        finally:
            _flush_std()
            os._exit(1)

    def new_master_exited(self, code: int) -> None:
        self.log.error("The new master (pid:%s) exited with %s", self.reexec_pid, code)
        self.reexec_pid = 0
        if self.pidfile is not None:
            self.pidfile.rename(self.pidfile.path.removesuffix(".oldbin"))

    # -- stopping -----------------------------------------------------------------------
    def stop(self, graceful: bool = True) -> None:
        """Stop every worker: TERM (graceful) or QUIT (fast), then KILL at the
        deadline.  A fast-stop signal during a graceful stop escalates it."""
        if not self.stopping:
            systemd.stopping(self.log)
        self.stopping = True
        close_listeners(self.listeners, unlink=not self.reexec_pid)
        self.listeners = []
        limit = float(self.settings.graceful_timeout)
        deadline = time.monotonic() + limit
        self.kill_workers(signal.SIGTERM if graceful else signal.SIGQUIT)
        while self.workers and time.monotonic() < deadline:
            self.reap_stopping()
            if graceful and any(s in self.sig_queue for s in (signal.SIGINT, signal.SIGQUIT)):
                graceful = False
                self.kill_workers(signal.SIGQUIT)
            self.sig_queue.clear()
            if self.workers:
                self.sleep(0.1)
        if self.workers:
            self.kill_workers(signal.SIGKILL)
            end = time.monotonic() + 5.0
            while self.workers and time.monotonic() < end:
                self.reap_stopping()
                time.sleep(0.05)

    def reap_stopping(self) -> None:
        try:
            self.reap_workers()
        except HaltServer:
            pass  # exit statuses do not matter any more

    def halt(self, reason: str | None = None, status: int = 0) -> NoReturn:
        if self.workers and not self.stopping:
            self.stop(graceful=False)
        self.log.info("Shutting down: %s", self.proc_name)
        if reason:
            self.log.error("Reason: %s", reason)
        call_hook(self.settings, self.log, "on_exit", self)
        close_listeners(self.listeners, unlink=not self.reexec_pid)
        if self.metrics is not None:
            self.metrics.close()
        if self.pidfile is not None:
            self.pidfile.unlink()
        self.report_start(status or 1, reason or "the server stopped while starting")
        _flush_std()
        sys.exit(status)


class _Stop(Exception):
    def __init__(self, graceful: bool) -> None:
        super().__init__("stop")
        self.graceful = graceful


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def _version() -> str:
    try:
        from corral import __version__
    except ImportError:
        return "?"
    return str(__version__)
