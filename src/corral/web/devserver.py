"""Flask's development-server options on corral's server.

``App.run(**options)`` takes Werkzeug's ``run_simple`` keywords and
``corral-web run`` takes ``flask run``'s flags; both end here. What corral's
server has an equivalent for is mapped to its settings (``processes`` ->
``workers``, ``ssl_context`` -> ``certfile``/``keyfile``, ``static_files`` through
Werkzeug's SharedDataMiddleware, ...), the reloader
restarts the serving process on code changes, the debugger is Werkzeug's
``DebuggedApplication`` when Werkzeug is installed, and options that mean
nothing here are accepted and noted in a debug log line.
"""

from __future__ import annotations

import datetime
import fnmatch
import logging
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from typing import Any

import click

from .helpers import get_debug_flag, get_load_dotenv

log = logging.getLogger("corral.web.devserver")

#: Set in the environment of a process the reloader started (Werkzeug's
#: ``WERKZEUG_RUN_MAIN`` is set too, so ``is_running_from_reloader`` agrees).
RUN_MAIN_ENV = "CORRAL_RUN_MAIN"
#: "1" when the served app is to be wrapped in the interactive debugger.
DEBUGGER_ENV = "CORRAL_DEBUGGER"
#: What ``load_dotenv`` reads, nearest upward from the working directory.
DOTENV_FILES = (".env", ".flaskenv")

# run_simple keywords with no meaning for a pre-fork server
_IGNORED = {
    "request_handler": "requests are handled by corral's worker classes",
    "passthrough_errors": "app errors are logged by the worker and answered with a 500",
    "reloader_type": "the reloader compares modification times",
}
_WATCH_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "instance"}


def is_running_from_reloader() -> bool:
    """Whether this process is the one a reloader started (and will restart)."""
    return os.environ.get(RUN_MAIN_ENV) == "true"


def debugged(app: Any, evalex: bool = True) -> Any:
    """``app`` inside Werkzeug's interactive debugger, or ``app`` itself (with a
    warning) when Werkzeug is not installed."""
    try:  # optional: Werkzeug
        from werkzeug.debug import DebuggedApplication
    except ImportError:
        log.warning("The interactive debugger needs Werkzeug; serving without it.")
        return app
    return DebuggedApplication(app, evalex=evalex)


def with_static_files(app: Any, static_files: dict[str, Any]) -> Any:
    """``app`` behind Werkzeug's SharedDataMiddleware serving ``static_files``
    (URL prefix -> directory), or ``app`` itself (with a warning) without Werkzeug."""
    try:  # optional: Werkzeug
        from werkzeug.middleware.shared_data import SharedDataMiddleware
    except ImportError:
        log.warning("static_files needs Werkzeug; serving without them.")
        return app
    return SharedDataMiddleware(app, static_files)


def adhoc_certificate(directory: str | None = None) -> tuple[str, str]:
    """A fresh self-signed certificate for localhost: (certfile, keyfile)."""
    try:  # optional: cryptography
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise ValueError("An ad hoc certificate needs the cryptography package.") from None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "corral development certificate"),
        x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
    ])  # fmt: skip
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = directory or tempfile.mkdtemp(prefix="corral-adhoc-")
    certfile, keyfile = os.path.join(folder, "adhoc.crt"), os.path.join(folder, "adhoc.key")
    with open(certfile, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    return certfile, keyfile


def ssl_files(ssl_context: Any) -> tuple[str, str | None]:
    """``(certfile, keyfile)`` for run_simple's ``ssl_context``: a (cert, key) pair,
    a certificate path, or ``"adhoc"``. For an ``ssl.SSLContext`` object there are
    no files: a ValueError says so (``App.run`` hands such a context to the
    listeners instead, see :func:`context_hook`)."""
    if isinstance(ssl_context, (tuple, list)):
        return str(ssl_context[0]), (str(ssl_context[1]) if ssl_context[1] else None)
    if isinstance(ssl_context, str):
        if ssl_context == "adhoc":
            return adhoc_certificate()
        return ssl_context, None
    raise ValueError(
        "the command line serves TLS from files: give --cert and --key (or --cert adhoc);"
        " an SSLContext object can be passed to app.run(ssl_context=...)"
    )


def context_hook(context: ssl.SSLContext, then: Any = None) -> Any:
    """A ``when_ready`` server hook that makes every listener speak TLS with
    ``context`` (the listeners exist, the workers are not forked yet), then calls
    ``then``, a ``when_ready`` hook given as well."""

    def when_ready(server: Any) -> None:
        for listener in server.listeners:
            listener.ssl_context = context
            if listener.url.startswith("http://"):
                listener.url = "https://" + listener.url[len("http://"):]
            server.log.info("TLS with the SSLContext given to app.run() on %s", listener.url)
        if then is not None:
            then(server)

    return when_ready


def run_simple_settings(options: dict[str, Any], debug: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``App.run`` keywords into corral server settings and the dev-server
    choices (``reload``, ``debugger``, ``evalex``, ``extra_files``,
    ``exclude_patterns``, ``reloader_interval``, ``static_files``). Werkzeug's names are mapped; corral's own setting
    names pass through unchanged."""
    settings = dict(options)
    dev: dict[str, Any] = {
        "reload": settings.pop("use_reloader", debug),
        "debugger": settings.pop("use_debugger", debug),
        "evalex": settings.pop("use_evalex", True),
        "extra_files": list(settings.pop("extra_files", None) or ()),
        "exclude_patterns": list(settings.pop("exclude_patterns", None) or ()),
        "reloader_interval": float(settings.pop("reloader_interval", None) or 1.0),
        "static_files": settings.pop("static_files", None),
    }
    settings.pop("load_dotenv", None)
    threaded = settings.pop("threaded", None)
    if threaded is not None and "threads" not in settings:
        settings["threads"] = 4 if threaded else 1
    processes = settings.pop("processes", None)
    if processes is not None and "workers" not in settings:
        settings["workers"] = int(processes)
    ssl_context = settings.pop("ssl_context", None)
    if isinstance(ssl_context, ssl.SSLContext):
        settings["when_ready"] = context_hook(ssl_context, settings.get("when_ready"))
    elif ssl_context is not None and "certfile" not in settings:
        settings["certfile"], keyfile = ssl_files(ssl_context)
        if keyfile:
            settings["keyfile"] = keyfile
    for name, why in _IGNORED.items():
        if name in settings:
            log.debug("App.run(%s=%r) ignored: %s.", name, settings.pop(name), why)
    if dev["debugger"]:
        settings.setdefault("workers", 1)  # the debugger's frames live in one process
    return settings, dev


# -- the reloader -----------------------------------------------------------------


def _is_user_file(filename: str) -> bool:
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    real = os.path.realpath(filename)
    return not any(real.startswith(p + os.sep) for p in prefixes) and "site-packages" not in real


def watched_files(roots: Iterable[str], extra: Iterable[str], exclude: Sequence[str] = ()) -> set[str]:
    """The loaded modules' files outside the Python installation, the ``.py``
    files under ``roots`` and ``extra``, minus those matching ``exclude``."""
    files: set[str] = set(extra)
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if filename and _is_user_file(filename):
            files.add(filename)
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [
                d for d in dirnames
                if not d.startswith(".") and d not in _WATCH_SKIP_DIRS
                and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg"))
            ]  # fmt: skip
            files.update(os.path.join(dirpath, f) for f in filenames if f.endswith(".py"))
    if exclude:
        files = {f for f in files if not any(fnmatch.fnmatch(f, p) for p in exclude)}
    return files


def _stop_child(proc: Any, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        # SIGINT: the arbiter's quick shutdown; a code reload need not drain requests.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_with_reloader(
    command: list[str],
    env: dict[str, str],
    roots: list[str],
    extra: list[str],
    exclude: Sequence[str] = (),
    interval: float = 1.0,
) -> None:
    """Run ``command`` in a child process and restart it whenever a watched file
    changes (the server's ``watchfiles`` reloader, the one ``corral --reload``
    uses); returns on SIGTERM or Ctrl-C."""

    def _terminate(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    env = dict(env, **{RUN_MAIN_ENV: "true", "WERKZEUG_RUN_MAIN": "true"})
    # the server is imported by App.run and the run command only
    from corral.server.reloader import Watcher

    proc: Any = None
    try:
        while True:
            changed: list[str] = []
            watcher = Watcher(watched_files(roots, extra, exclude), changed.append,
                              interval=interval, boot_time=time.time())
            watcher.begin()
            proc = subprocess.Popen(command, env=env)
            try:
                while not changed:
                    watcher.stopped.wait(interval)
            finally:
                watcher.stop()
            sys.stderr.write(f" * Detected change in {changed[0]!r}, reloading\n")
            _stop_child(proc)
    except KeyboardInterrupt:
        pass
    finally:
        if proc is not None:
            _stop_child(proc)


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load ``.env`` and ``.flaskenv`` (nearest upward from the working directory)
    and then ``path``, without overriding variables already set.

    Returns whether any file was loaded; does nothing without python-dotenv.
    """
    try:  # optional: python-dotenv
        import dotenv
    except ImportError:
        if path or any(os.path.isfile(name) for name in DOTENV_FILES):
            click.secho(
                " * Tip: There are .env files present. Install python-dotenv to use them.",
                fg="yellow",
                err=True,
            )
        return False
    loaded = False
    if path is not None and os.path.isfile(path):
        loaded = dotenv.load_dotenv(path, encoding="utf-8", override=False)
    if load_defaults:
        for name in DOTENV_FILES:
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                dotenv.load_dotenv(found, encoding="utf-8", override=False)
                loaded = True
    return loaded


def show_server_banner(debug: bool | None, app_import_path: str | None) -> None:
    """The ``Serving app`` / ``Debug mode`` lines, once (not again after a reload)."""
    if is_running_from_reloader():
        return
    if app_import_path is not None:
        click.echo(f" * Serving app '{app_import_path}'", err=True)
    if debug is not None:
        click.echo(f" * Debug mode: {'on' if debug else 'off'}", err=True)


def script_command() -> list[str]:
    """The command line that started this interpreter (``-m module`` kept)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name not in ("__main__", None):
        name = spec.name[: -len(".__main__")] if spec.name.endswith(".__main__") else spec.name
        return [sys.executable, "-m", name, *sys.argv[1:]]
    return [sys.executable, *sys.argv]


def load_run_dotenv(app: Any, load: bool) -> None:
    """``App.run(load_dotenv=True)``: read ``.env``/``.flaskenv`` (unless
    ``FLASK_SKIP_DOTENV``) and let a debug variable set there decide debug mode."""

    if not get_load_dotenv(load):
        return
    load_dotenv()
    if "FLASK_DEBUG" in os.environ or "CORRAL_DEBUG" in os.environ:
        app.debug = get_debug_flag()


def serve_app(app: Any, host: str, port: int, options: dict[str, Any]) -> None:
    """``App.run``: serve ``app`` with corral's arbiter (blocking)."""
    # the server is imported by App.run and the run command only
    from corral.server.arbiter import Arbiter
    from corral.server.config import Settings

    settings_kw, dev = run_simple_settings(options, bool(app.debug))
    show_server_banner(bool(app.debug), getattr(app, "name", None))
    if dev["reload"] and not is_running_from_reloader():
        roots = [os.getcwd(), getattr(app, "root_path", os.getcwd())]
        run_with_reloader(
            script_command(), dict(os.environ), roots, dev["extra_files"],
            dev["exclude_patterns"], dev["reloader_interval"],
        )  # fmt: skip
        return
    settings_kw.setdefault("bind", [f"{host}:{port}"])
    served = with_static_files(app, dev["static_files"]) if dev["static_files"] else app
    served = debugged(served, dev["evalex"]) if dev["debugger"] else served
    arbiter = Arbiter(Settings(**settings_kw))
    arbiter.app = served
    arbiter.run()
