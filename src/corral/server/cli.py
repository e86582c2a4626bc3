"""The ``corral`` command (also ``python -m corral``).

Exit statuses: 0 fine, 2 bad command line or setting, 3 worker boot error (from
the arbiter), 4 the application could not be loaded.  With ``--daemon`` the
command returns once the detached master listens (0), or with the status of a
start that failed.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from corral.server.config import USAGE, ConfigError, Settings, UsageError, print_config
from corral.server.loader import AppLoadError, check_paste, load_app

EXIT_USAGE = 2
EXIT_APP_LOAD = 4


def fail(message: str, status: int = EXIT_USAGE, usage: bool = False) -> NoReturn:
    """Print ``corral: error: MESSAGE`` (after the usage line if asked) and exit."""
    if usage:
        print(f"usage: {USAGE}", file=sys.stderr)
    print(f"corral: error: {message}", file=sys.stderr)
    sys.exit(status)


def fail_config(error: ConfigError) -> NoReturn:
    """Exit 2 with the one-line reason; when a config file's code raised, its
    traceback follows (as in Gunicorn), naming the file and line."""
    print(f"corral: error: {error}", file=sys.stderr)
    cause = error.__cause__
    if cause is not None:
        print("".join(traceback.format_exception(cause)), file=sys.stderr, end="")
    sys.exit(EXIT_USAGE)


def fail_app(error: AppLoadError) -> NoReturn:
    """Exit 4 with the one-line summary, then (as Gunicorn does) the traceback of
    what the application's code raised, so the failing file and line show."""
    print(f"corral: error: {error}", file=sys.stderr)
    details = error.traceback()
    if details:
        print(details, file=sys.stderr, end="")
    sys.exit(EXIT_APP_LOAD)


def warn(settings: Settings) -> None:
    """Print the configuration's warnings (when no server log exists yet)."""
    for message in settings.warnings:
        print(f"corral: warning: {message}", file=sys.stderr)


def prepare_process(settings: Settings) -> None:
    """Apply ``--env``, ``--chdir`` and ``--pythonpath`` to this process, so the
    application imports from where the user expects."""
    os.environ.update(settings.env)
    try:
        os.chdir(settings.chdir)
    except OSError as e:
        fail(f"--chdir: cannot change to {settings.chdir!r}: {e.strerror}")
    cwd = os.getcwd()
    paths = [cwd]
    if settings.pythonpath:
        paths = [os.path.abspath(p.strip()) for p in settings.pythonpath.split(",") if p.strip()]
        paths.append(cwd)
    for path in reversed(paths):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


def daemonize(inherit_stdio: bool = False) -> int:
    """``--daemon``: detach from the terminal (fork, new session, fork again) with
    stdin, stdout and stderr on ``/dev/null``; the working directory stays the one
    ``--chdir`` chose.  With ``inherit_stdio`` (``-R``) stdout and stderr stay the
    inherited ones unless they are a terminal (which the detached process leaves),
    and stdin goes to ``/dev/null`` all the same, as in Gunicorn.  Returns, in the
    detached process only, the write end of a pipe for :meth:`Arbiter.report_start`;
    the launching process waits for that report and exits with its status."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    launcher = os.getpid()
    read_fd, write_fd = os.pipe()
    middle = os.fork()
    if middle:
        os.close(write_fd)
        os.waitpid(middle, 0)
        sys.exit(await_start(read_fd))
    os.close(read_fd)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.umask(0o022)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd == 0 or not inherit_stdio or _is_terminal(fd):
            os.dup2(null, fd)
    os.close(null)
    if os.environ.get("LISTEN_PID") == str(launcher):  # systemd socket activation
        os.environ["LISTEN_PID"] = str(os.getpid())
    return write_fd


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def await_start(read_fd: int) -> int:
    """In the launching process: read the detached master's report (``STATUS
    REASON``) and return the status, printing the reason of a failed start."""
    chunks = []
    try:
        while chunk := os.read(read_fd, 4096):
            chunks.append(chunk)
    except KeyboardInterrupt:
        return 130
    finally:
        os.close(read_fd)
    status_text, _, reason = b"".join(chunks).decode("utf-8", "replace").partition(" ")
    try:
        status = int(status_text)
    except ValueError:
        status, reason = 1, "the server stopped while starting"
    if status:
        print(f"corral: error: {reason or 'the server could not start'}", file=sys.stderr)
    return status


def check_app(settings: Settings, app_uri: str) -> None:
    """``--check-config``: load the worker class and the application in this
    process; exit 0, 2 (the worker class) or 4 (the application)."""
    from corral.server.workers import WorkerClassError, load_worker_class

    try:
        load_worker_class(settings.worker_class)
    except WorkerClassError as e:
        fail(str(e), EXIT_USAGE)
    try:
        load_app(app_uri)
    except AppLoadError as e:
        fail_app(e)
    sys.exit(0)


def check_dev_settings(settings: Settings) -> None:
    """``--paste`` (exit 4 without PasteDeploy or the file) and
    ``--reload-engine inotify`` (exit 2 where inotify does not work)."""
    if settings.paste and settings.app_uri:  # --paste gave app_uri its config: spec
        try:
            check_paste(settings.app_uri)
        except AppLoadError as e:
            fail(str(e), EXIT_APP_LOAD)
    if settings.reload and settings.reload_engine == "inotify":
        from corral.server.reloader import inotify_available

        if not inotify_available():
            fail("--reload-engine inotify: inotify does not work on this system")


def check_first_load(app_uri: str) -> None:
    """With ``--reload``, a worker whose app stops importing after an edit keeps
    serving the error until the file is fixed; an app spec that never loaded is
    still a one-line error and exit 4.  The app is tried in a short-lived child, so
    this process imports nothing of it (the workers must import it fresh)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: load, report, leave without cleanup
        os.close(read_fd)
        status = 0
        try:
            load_app(app_uri)
        except AppLoadError as e:
            report = f"{e}\n{e.traceback()}".rstrip("\n")
            os.write(write_fd, report.encode("utf-8", "replace"))
            status = EXIT_APP_LOAD
        except BaseException as e:  # anything else: the workers will say it in full
            os.write(write_fd, f"{app_uri}: {type(e).__name__}: {e}".encode())
            status = EXIT_APP_LOAD
        os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        message = f.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        fail(message or f"{app_uri}: the application did not load", EXIT_APP_LOAD)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse settings, then run the arbiter (which exits the process)."""
    try:
        settings = Settings.from_argv(argv)
    except UsageError as e:
        fail(str(e), usage=True)
    except ConfigError as e:
        fail_config(e)
    if settings.print_config or settings.check_config:
        warn(settings)
    if settings.print_config:
        try:
            print_config(settings)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. piped into head
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    check_dev_settings(settings)
    if settings.daemon and os.environ.get("NOTIFY_SOCKET"):
        print("corral: warning: --daemon under systemd's Type=notify: the detached master "
              "is not the process systemd started; drop --daemon", file=sys.stderr)
    app_uri = settings.app_uri
    if not app_uri:
        fail("the following arguments are required: APP_URI", usage=True)
    prepare_process(settings)
    if settings.check_config:
        check_app(settings, app_uri)
    if settings.reload and not settings.preload_app:
        check_first_load(app_uri)
    from corral.server.arbiter import Arbiter
    from corral.server.sockets import INHERIT_ENV

    # a master re-executed by USR2 is already detached: it must not fork away again
    detach = settings.daemon and INHERIT_ENV not in os.environ
    ready_fd = daemonize(settings.enable_stdio_inheritance) if detach else None
    try:
        arbiter = Arbiter(settings)
    except ConfigError as e:  # the logger: --logger-class, log config, syslog, statsd
        if ready_fd is not None:
            os.write(ready_fd, f"{EXIT_USAGE} {e}".encode("utf-8", "replace"))
            os.close(ready_fd)
        fail(str(e))
    arbiter.ready_fd = ready_fd
    arbiter.log.info("Configuration read from %s", settings.config_read or "the command line "
                     "and environment only (no ./corral.conf.py or ./gunicorn.conf.py)")
    for message in settings.warnings:
        arbiter.log.warning("%s", message)
    arbiter.run()
