"""The ``corral`` command (also ``python -m corral``).

Exit statuses: 0 fine, 2 bad command line or setting, 3 worker boot error (from
the arbiter), 4 the application could not be loaded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from corral.server.config import USAGE, ConfigError, Settings, UsageError, print_config
from corral.server.loader import AppLoadError, load_app

EXIT_USAGE = 2
EXIT_APP_LOAD = 4


def fail(message: str, status: int = EXIT_USAGE, usage: bool = False) -> NoReturn:
    """Print ``corral: error: MESSAGE`` (after the usage line if asked) and exit."""
    if usage:
        print(f"usage: {USAGE}", file=sys.stderr)
    print(f"corral: error: {message}", file=sys.stderr)
    sys.exit(status)


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


def check_app(settings: Settings) -> None:
    """``--check-config``: load the worker class and the application in this
    process; exit 0, 2 (the worker class) or 4 (the application)."""
    from corral.server.workers import WorkerClassError, load_worker_class

    try:
        load_worker_class(settings.worker_class)
    except WorkerClassError as e:
        fail(str(e), EXIT_USAGE)
    try:
        load_app(settings.app_uri)
    except AppLoadError as e:
        fail(str(e), EXIT_APP_LOAD)
    sys.exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse settings, then run the arbiter (which exits the process)."""
    try:
        settings = Settings.from_argv(argv)
    except UsageError as e:
        fail(str(e), usage=True)
    except ConfigError as e:
        fail(str(e))
    if settings.print_config:
        try:
            print_config(settings)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. piped into head
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    if not settings.app_uri:
        fail("the following arguments are required: APP_URI", usage=True)
    prepare_process(settings)
    if settings.check_config:
        check_app(settings)
    from corral.server.arbiter import Arbiter

    Arbiter(settings).run()
