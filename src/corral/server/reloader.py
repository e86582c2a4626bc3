"""``--reload``: stop a worker when the code it runs changes.

A :class:`Watcher` runs in a daemon thread of the worker.  It watches the file of
every loaded module (``sys.modules`` entries with a real file, looked up again as
the application imports more) plus ``--reload-extra-file`` files, and calls
``on_change(path)`` once, for the first file found changed; the worker then stops
and the arbiter forks a fresh one, which imports the new code.  The same watcher
restarts ``corral-web run --reload``'s server process.

The events come from ``watchfiles`` (the operating system's notifications: inotify
on Linux, FSEvents, kqueue, ReadDirectoryChangesW), on the directories of the
watched files, so that editors that save by renaming a new file over the old one
are noticed too.  ``--reload-engine``: ``auto`` and ``inotify`` use the
notifications, ``poll`` makes ``watchfiles`` poll the directories instead (for
file systems that send none: network mounts, some containers' volumes).

A file that disappears is not a change (an editor may be about to write it
again); its reappearance with other contents is.  A file modified after the
worker started booting (``boot_time``) but before the watcher looked at it counts
as changed as well, so that an edit made while the app was importing is not lost.

When the application cannot be loaded under ``--reload``, the worker serves
:func:`failed_app` instead of exiting, and watches :func:`error_files` too (the
file holding a syntax error, the files in the traceback, and where a missing
module would be created), so that fixing the code brings the application back.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

Signature = tuple[int, int, int]  # st_mtime_ns, st_size, st_ino
ENGINES = ("auto", "poll", "inotify")


def module_files() -> set[str]:
    """Absolute paths of the files of the loaded modules."""
    found = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path:
            continue
        if path.endswith((".pyc", ".pyo")):
            path = path[:-1]
        found.add(os.path.abspath(path))
    return found


def signature(path: str) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class Watcher(threading.Thread):
    """Watches the loaded modules and ``extra_files`` (see the module docs);
    ``polling`` makes ``watchfiles`` poll instead of using notifications."""

    def __init__(
        self,
        extra_files: Iterable[str],
        on_change: Callable[[str], None],
        *,
        interval: float = 1.0,
        boot_time: float | None = None,
        polling: bool = False,
    ) -> None:
        super().__init__(name="corral-reload", daemon=True)
        self.extra_files = {os.path.abspath(p) for p in extra_files}
        self.on_change = on_change
        self.interval = interval
        self.polling = polling
        self.engine = "poll" if polling else "notify"
        self.boot_ns = int((time.time() if boot_time is None else boot_time) * 1e9)
        self.seen: dict[str, Signature] = {}
        self.known: set[str] = set()
        self.stopped = threading.Event()
        self.fired = False

    def add_extra_file(self, path: str) -> None:
        self.extra_files.add(os.path.abspath(path))

    def files(self) -> set[str]:
        return module_files() | self.extra_files

    def begin(self) -> None:
        """Record every file now (in the caller's thread: the baseline exists
        before the worker serves), then watch in the background."""
        self.known = self.files()
        changed = self.scan(self.known)
        if changed is not None:
            self.fire(changed)
            return
        self.start()

    def stop(self) -> None:
        self.stopped.set()

    def scan(self, paths: Iterable[str]) -> str | None:
        """Compare ``paths`` with what was recorded; return the first changed one."""
        now_ns = time.time_ns()
        for path in paths:
            sig = signature(path)
            if sig is None:
                continue  # gone (or never there): its reappearance is the change
            old = self.seen.get(path)
            self.seen[path] = sig
            if old is None:
                # first look: changed if modified since the worker began booting
                # (a modification time in the future is a clock skew, not an edit)
                if self.boot_ns < sig[0] <= now_ns:
                    return path
            elif old != sig:
                return path
        return None

    def fire(self, path: str) -> None:
        if self.fired:
            return
        self.fired = True
        self.stopped.set()
        self.on_change(path)

    def folders(self) -> list[str]:
        """The existing directories of the watched files."""
        return sorted({d for d in (os.path.dirname(p) for p in self.known) if os.path.isdir(d)})

    def run(self) -> None:
        import watchfiles

        while not self.stopped.is_set():
            folders = self.folders()
            if not folders:
                self.stopped.wait(self.interval)
                changed = self.refresh()
            else:
                try:
                    changed = self.watch(watchfiles, folders)
                except OSError:  # no notifications to be had (watch limit, ...)
                    if self.polling:
                        raise
                    self.polling, self.engine = True, "poll"
                    continue
            if changed is not None:
                self.fire(changed)
                return

    def watch(self, watchfiles: Any, folders: list[str]) -> str | None:
        """Wait for events in ``folders`` until a watched file changes (its path)
        or a file in a directory not watched yet is loaded (None: watch again)."""
        events = watchfiles.watch(
            *folders, watch_filter=lambda change, path: path in self.known, debounce=50,
            step=20, stop_event=self.stopped, rust_timeout=int(self.interval * 1000),
            yield_on_timeout=True, recursive=False, force_polling=self.polling,
            poll_delay_ms=int(self.interval * 1000), raise_interrupt=False,
            ignore_permission_denied=True)
        first = True
        try:
            while True:
                changes = _blocking(next, events, None)
                if changes is None:
                    break
                # the first time: everything, since what changed before the
                # notifications were set up sent none
                paths = self.known if first else sorted({path for _, path in changes})
                first = False
                changed = self.scan(paths)
                if changed is not None:
                    return changed
                before = set(self.folders())
                changed = self.refresh()
                if changed is not None or not before.issuperset(self.folders()):
                    return changed
        finally:
            events.close()
        return None

    def refresh(self) -> str | None:
        """Take in files that appeared since the last look (modules imported later,
        directories created later)."""
        fresh = self.files() - self.known
        if fresh:
            self.known = self.known | fresh
        return self.scan(fresh | {p for p in self.known if p not in self.seen})


def _blocking(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, a call that blocks in native code; in a gevent worker (threads
    patched into greenlets) it runs in gevent's pool of real threads, so the other
    greenlets keep running meanwhile."""
    if "gevent" in sys.modules:
        from gevent import get_hub, monkey

        if monkey.is_module_patched("threading"):
            return get_hub().threadpool.apply(fn, args)
    return fn(*args)


def inotify_available() -> bool:
    """Whether this system has inotify (what ``--reload-engine inotify`` asks for)."""
    return sys.platform.startswith("linux") and os.path.isdir("/proc/sys/fs/inotify")


def make_watcher(
    engine: str,
    extra_files: Iterable[str],
    on_change: Callable[[str], None],
    *,
    log: Any = None,
    boot_time: float | None = None,
    interval: float = 1.0,
) -> Watcher:
    """A watcher for ``--reload-engine`` ``engine`` (auto, poll or inotify)."""
    return Watcher(extra_files, on_change, boot_time=boot_time, interval=interval,
                   polling=engine == "poll")


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if e in found:
            continue
        found.append(e)
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return found


def missing_module_files(name: str) -> set[str]:
    """Where module ``name`` would be created in the application's directories
    (the ``sys.path`` entries outside the Python installation)."""
    installed = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    rel = name.replace(".", os.sep)
    found = set()
    for entry in sys.path:
        folder = os.path.abspath(entry or os.curdir)
        if not os.path.isdir(folder) or any(
            folder == p or folder.startswith(p + os.sep) for p in installed
        ):
            continue
        found.add(os.path.join(folder, rel + ".py"))
        found.add(os.path.join(folder, rel, "__init__.py"))
    return found


def error_files(exc: BaseException) -> set[str]:
    """Files to watch after ``exc`` stopped the application from loading."""
    found: set[str] = set()
    for e in _chain(exc):
        if isinstance(e, SyntaxError) and e.filename and os.path.isfile(e.filename):
            found.add(os.path.abspath(e.filename))
        if isinstance(e, ModuleNotFoundError) and e.name:
            found |= missing_module_files(e.name)
        tb = e.__traceback__
        while tb is not None:
            path = tb.tb_frame.f_code.co_filename
            if os.path.isfile(path):
                found.add(os.path.abspath(path))
            tb = tb.tb_next
    return found


def describe_error(exc: BaseException) -> str:
    """The error message and the traceback of what went wrong first."""
    root = _chain(exc)[-1]
    lines = [str(exc), ""]
    if root is not exc:
        lines.append("".join(traceback.format_exception(root)).rstrip())
    return "\n".join(lines).rstrip() + "\n"


def failed_app(message: str) -> Callable[..., Any]:
    """A WSGI app answering every request with 500 and ``message``."""
    body = message.encode("utf-8", "replace")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("500 Internal Server Error", [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ])
        return [body]

    return app
