"""``--reload``: stop a worker when the code it runs changes.

A :class:`Watcher` runs in a daemon thread of the worker.  It watches the file of
every loaded module (``sys.modules`` entries with a real file, looked up again as
the application imports more) plus ``--reload-extra-file`` files, and calls
``on_change(path)`` once, for the first file found changed; the worker then stops
and the arbiter forks a fresh one, which imports the new code.

Engines (``--reload-engine``):

* ``poll``: compares each file's modification time, size and inode once a second;
* ``inotify``: Linux inotify through ``ctypes`` on the C library (no third-party
  package), watching the directories of the files, so that editors that save by
  renaming a new file over the old one are noticed too;
* ``auto``: inotify when the kernel offers it, else poll.

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

import ctypes
import ctypes.util
import errno
import os
import select
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

Signature = tuple[int, int, int]  # st_mtime_ns, st_size, st_ino

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_Q_OVERFLOW = 0x00004000
IN_ONLYDIR = 0x01000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
# a file written in place (closed after writing), renamed into place, or touched
DIR_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


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
    """Base class of the engines: the set of files and the change test."""

    engine = ""

    def __init__(
        self,
        extra_files: Iterable[str],
        on_change: Callable[[str], None],
        *,
        interval: float = 1.0,
        boot_time: float | None = None,
    ) -> None:
        super().__init__(name=f"corral-reload-{self.engine}", daemon=True)
        self.extra_files = {os.path.abspath(p) for p in extra_files}
        self.on_change = on_change
        self.interval = interval
        self.boot_ns = int((time.time() if boot_time is None else boot_time) * 1e9)
        self.seen: dict[str, Signature] = {}
        self.stopped = threading.Event()
        self.fired = False

    def add_extra_file(self, path: str) -> None:
        self.extra_files.add(os.path.abspath(path))

    def files(self) -> set[str]:
        return module_files() | self.extra_files

    def begin(self) -> None:
        """Record every file now (in the caller's thread: the baseline exists
        before the worker serves), then watch in the background."""
        changed = self.scan(self.files())
        if changed is not None:
            self.fire(changed)
            return
        self.setup()
        self.start()

    def setup(self) -> None:
        """Engine-specific preparation, before the thread starts."""

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


class PollWatcher(Watcher):
    """Looks at every file's signature once per ``interval``."""

    engine = "poll"

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            changed = self.scan(self.files())
            if changed is not None:
                self.fire(changed)
                return


class _Inotify:
    """The inotify system calls through ctypes."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("c") or "libc.so.6"
        libc = ctypes.CDLL(name, use_errno=True)
        try:
            self._add = libc.inotify_add_watch
            init = libc.inotify_init1
        except AttributeError:
            raise OSError(errno.ENOSYS, "inotify is not available in the C library")
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._add.restype = ctypes.c_int
        init.argtypes = [ctypes.c_int]
        init.restype = ctypes.c_int
        fd = int(init(IN_NONBLOCK | IN_CLOEXEC))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self.fd = fd

    def add_watch(self, path: str, mask: int) -> int:
        wd = int(self._add(self.fd, os.fsencode(path), mask))
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
        return wd

    def read(self, timeout: float) -> list[tuple[int, int, str]]:
        """Events as (watch descriptor, mask, name); [] after ``timeout`` seconds."""
        ready = select.select([self.fd], [], [], timeout)[0]
        if not ready:
            return []
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        events = []
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
            offset += _EVENT.size
            raw = data[offset:offset + length].split(b"\0", 1)[0]
            offset += length
            events.append((wd, mask, os.fsdecode(raw)))
        return events

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def inotify_available() -> bool:
    try:
        _Inotify().close()
    except OSError:
        return False
    return True


class InotifyWatcher(Watcher):
    """Watches the directories of the files; a new module loaded later gets its
    directory watched at the next ``interval``."""

    engine = "inotify"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inotify = _Inotify()  # raises OSError where inotify does not work
        self.dirs: dict[str, int] = {}  # directory -> watch descriptor
        self.names: dict[int, set[str]] = {}  # watch descriptor -> watched names
        self.known: set[str] = set()

    def setup(self) -> None:
        self.watch(self.files())

    def watch(self, paths: set[str]) -> None:
        for path in paths - self.known:
            self.known.add(path)
            folder, name = os.path.split(path)
            wd = self.dirs.get(folder)
            if wd is None:
                try:
                    wd = self.inotify.add_watch(folder, DIR_MASK)
                except OSError:
                    continue  # a directory that is not there (yet): nothing to see
                self.dirs[folder] = wd
            self.names.setdefault(wd, set()).add(name)

    def refresh(self) -> str | None:
        """Take in files that appeared since the last look."""
        paths = self.files()
        fresh = paths - self.known
        if not fresh:
            return None
        self.watch(fresh)
        return self.scan(fresh)

    def changed_in(self, events: list[tuple[int, int, str]]) -> str | None:
        folders = {wd: folder for folder, wd in self.dirs.items()}
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:
                return self.scan(self.known)  # events were lost: compare everything
            if name not in self.names.get(wd, ()):
                continue
            path = os.path.join(folders[wd], name)
            if mask & IN_ATTRIB and not mask & (IN_CLOSE_WRITE | IN_MOVED_TO):
                # metadata only: a change if the signature moved (touch, not chmod)
                if self.scan([path]) is None:
                    continue
            self.seen.pop(path, None)
            return path
        return None

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                changed = self.changed_in(self.inotify.read(self.interval))
                if changed is None and not self.stopped.is_set():
                    changed = self.refresh()
                if changed is not None:
                    self.fire(changed)
                    return
        finally:
            self.inotify.close()


def make_watcher(
    engine: str,
    extra_files: Iterable[str],
    on_change: Callable[[str], None],
    *,
    log: Any = None,
    boot_time: float | None = None,
) -> Watcher:
    """A watcher for ``--reload-engine`` ``engine`` (auto, poll or inotify)."""
    if engine in ("auto", "inotify"):
        try:
            return InotifyWatcher(extra_files, on_change, boot_time=boot_time)
        except OSError as e:
            if engine == "inotify" and log is not None:
                log.warning("inotify does not work here (%s); polling for changes instead", e)
    return PollWatcher(extra_files, on_change, boot_time=boot_time)


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
