"""The ``corral-web`` command: find an app, then run, inspect or extend it.

``corral-web --app module[:name|factory(args)] COMMAND`` (or ``CORRAL_APP`` /
``FLASK_APP`` in the environment, or a ``wsgi.py``/``app.py`` in the current
directory).  Built-in commands: ``run`` (serve with corral's server), ``routes``,
``shell``; the app adds its own through ``app.cli``.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import ssl
import sys
import traceback
from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast

import click

from .app import App
from .devserver import (
    DEBUGGER_ENV,
    debugged,
    is_running_from_reloader,
    run_with_reloader,
    script_command,
    ssl_files,
)
from .devserver import DOTENV_FILES as DOTENV_FILES
from .devserver import load_dotenv as load_dotenv
from .devserver import show_server_banner as show_server_banner
from .flask_alias import FLASK_API_VERSION
from .globals import _cv_app, current_app, g
from .helpers import get_debug_flag, get_load_dotenv

F = TypeVar("F", bound=Callable[..., Any])

APP_ENV_VARS = ("CORRAL_APP", "FLASK_APP")
DEFAULT_APP_FILES = ("wsgi.py", "app.py")


class NoAppException(click.UsageError):
    """The app could not be found or loaded."""


def _call_factory(factory: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    try:
        return factory(*args, **kwargs)
    except TypeError as e:
        # A TypeError raised inside the factory is the app's own bug: re-raise it.
        if len(traceback.extract_tb(e.__traceback__)) > 1:
            raise
        raise NoAppException(
            f"The factory {factory.__name__!r} could not be called with the"
            f" given arguments: {e}"
        ) from e


def find_best_app(module: Any) -> Any:
    """An ``app``/``application`` attribute, the only App in the module, or the
    result of a ``create_app``/``make_app`` factory."""
    app_class = App
    for name in ("app", "application"):
        found = getattr(module, name, None)
        if isinstance(found, app_class):
            return found
    matches = [v for v in vars(module).values() if isinstance(v, app_class)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise NoAppException(
            f"Detected multiple apps in module {module.__name__!r}. Use"
            f" '--app {module.__name__}:name' to specify the correct one."
        )
    for name in ("create_app", "make_app"):
        factory = getattr(module, name, None)
        if inspect.isfunction(factory):
            app = _call_factory(factory, [], {})
            if isinstance(app, app_class):
                return app
    raise NoAppException(
        f"Failed to find an app in module {module.__name__!r}. Use"
        f" '--app {module.__name__}:name' to specify one."
    )


def _parse_app_expr(module: Any, expr: str) -> tuple[str, list[Any], dict[str, Any], bool]:
    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(f"Failed to parse {expr!r} as an attribute name or function call.")
    if isinstance(node, ast.Name):
        return node.id, [], {}, False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        try:
            args = [ast.literal_eval(arg) for arg in node.args]
            kwargs = {
                kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg is not None
            }
        except ValueError:
            raise NoAppException(f"Failed to parse arguments as literal values: {expr!r}.")
        return node.func.id, args, kwargs, True
    raise NoAppException(f"Failed to parse {expr!r} as an attribute name or function call.")


def find_app_by_string(module: Any, expr: str) -> Any:
    """``name`` or ``factory(literal args)`` inside ``module``."""
    name, args, kwargs, called = _parse_app_expr(module, expr)
    try:
        attr = getattr(module, name)
    except AttributeError as e:
        raise NoAppException(f"Failed to find attribute {name!r} in {module.__name__!r}.") from e
    app = _call_factory(attr, args, kwargs) if called or inspect.isfunction(attr) else attr
    if isinstance(app, App):
        return app
    raise NoAppException(
        f"A valid app was not obtained from '{module.__name__}:{expr}'."
    )


def prepare_import(path: str) -> str:
    """Turn a file or module path into an importable module name, extending
    ``sys.path`` with the directory above its package."""
    path = os.path.realpath(path)
    base, ext = os.path.splitext(path)
    if ext == ".py":
        path = base
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)
    parts: list[str] = []
    while True:
        path, name = os.path.split(path)
        parts.append(name)
        if not os.path.exists(os.path.join(path, "__init__.py")):
            break
    if sys.path[0] != path:
        sys.path.insert(0, path)
    return ".".join(reversed(parts))


def locate_app(module_name: str, app_name: str | None, raise_if_not_found: bool = True) -> Any:
    """Import ``module_name`` and find the app in it."""
    try:
        __import__(module_name)
    except ImportError as e:
        # An ImportError from inside the module is the module's own problem.
        if len(traceback.extract_tb(e.__traceback__)) > 1:
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was raised:\n\n"
                f"{traceback.format_exc()}"
            ) from e
        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from e
        return None
    module = sys.modules[module_name]
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


def split_app_path(import_path: str) -> tuple[str, str | None]:
    """``path/or.module:expr`` -> (path, expr); a Windows drive colon is not a split."""
    parts = re.split(r":(?![\\/])", import_path, maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else None)


class ScriptInfo:
    """Finds and loads the app for the CLI; ``create_app`` overrides the lookup."""

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: Callable[..., Any] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = load_dotenv_defaults
        self.data: dict[Any, Any] = {}
        self._loaded_app: Any = None

    def resolved_import_path(self) -> str | None:
        """The import path of the app: ``--app``, else ``CORRAL_APP``/``FLASK_APP``; None when none was given."""
        if self.app_import_path:
            return self.app_import_path
        for name in APP_ENV_VARS:
            if os.environ.get(name):
                return os.environ[name]
        return None

    def load_app(self) -> Any:
        """Load (once) and return the app."""
        if self._loaded_app is not None:
            return self._loaded_app
        app: Any = None
        import_path = self.resolved_import_path()
        if self.create_app is not None:
            app = self.create_app()
        elif import_path:
            path, name = split_app_path(import_path)
            app = locate_app(prepare_import(path), name)
        else:
            for filename in DEFAULT_APP_FILES:
                if os.path.exists(filename):
                    app = locate_app(prepare_import(filename), None, raise_if_not_found=False)
                if app is not None:
                    break
        if app is None:
            raise NoAppException(
                "Could not locate an application. Use the 'corral-web --app' option,"
                " the 'CORRAL_APP' (or 'FLASK_APP') environment variable, or a 'wsgi.py'"
                " or 'app.py' file in the current directory."
            )
        if self.set_debug_flag:
            # as Flask: the environment (unset means off) decides, not the app's code
            app.debug = get_debug_flag()
        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Run the command inside the app's context (loading the app if needed)."""

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        if _cv_app.get(None) is None:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return cast(F, update_wrapper(decorator, f))


class AppGroup(click.Group):
    """A click group whose commands run in the app context by default
    (``@group.command(with_appcontext=False)`` opts out)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:  # type: ignore[override]
        wrap = kwargs.pop("with_appcontext", True)

        def decorator(f: Callable[..., Any]) -> click.Command:
            if wrap:
                f = with_appcontext(f)
            return click.Group.command(self, *args, **kwargs)(f)

        return decorator

    def group(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Group]:  # type: ignore[override]
        kwargs.setdefault("cls", AppGroup)
        return super().group(*args, **kwargs)


def _set_app(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool | None) -> bool | None:
    if value is not None:
        flag = "1" if value else "0"
        os.environ["CORRAL_DEBUG"] = os.environ["FLASK_DEBUG"] = flag
    return value


def _env_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    info = ctx.ensure_object(ScriptInfo)
    if value is not None or get_load_dotenv(info.load_dotenv_defaults):
        load_dotenv(value, load_defaults=get_load_dotenv(info.load_dotenv_defaults))
    return value


_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    help="The app to load: 'module:name', 'module:factory(args)', or a file path.",
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)
_debug_option = click.Option(
    ["--debug/--no-debug"],
    default=None,
    help="Set debug mode.",
    expose_value=False,
    callback=_set_debug,
)
_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    help="Load environment variables from this file (needs python-dotenv).",
    is_eager=True,
    expose_value=False,
    callback=_env_file,
)


# -- built-in commands --------------------------------------------------------

#: The app ``run`` serves in this process (set before the server forks workers).
_RUN_APP: Any = None

def run_target() -> Any:
    """The app the server started by ``corral-web run`` serves.

    Used as the server's app spec (``corral.web.cli:run_target()``): the app this
    process already loaded, or the one named by ``CORRAL_APP`` in a fresh one.
    """
    app = _RUN_APP if _RUN_APP is not None else ScriptInfo().load_app()
    if os.environ.get(DEBUGGER_ENV) == "1":
        return debugged(app)
    return app


def get_version(ctx: click.Context, param: click.Parameter | None, value: Any) -> None:
    """``--version``: Python's, corral's and (when installed) Werkzeug's versions,
    and the Flask release whose API corral.web follows."""
    if not value or ctx.resilient_parsing:
        return
    # read for --version only
    import platform
    from importlib.metadata import PackageNotFoundError, version

    lines = [f"Python {platform.python_version()}", f"corral {version('corral')}"]
    lines.append(f"Flask {FLASK_API_VERSION} (the API corral.web follows)")
    try:
        lines.append(f"Werkzeug {version('werkzeug')}")
    except PackageNotFoundError:
        pass
    click.echo("\n".join(lines), color=ctx.color)
    ctx.exit()


version_option = click.Option(
    ["--version"],
    help="Show the versions of Python, corral and Werkzeug.",
    expose_value=False,
    callback=get_version,
    is_flag=True,
    is_eager=True,
)


def _import_object(name: str) -> Any:
    """``module``, ``module.attr`` or ``module:attr``: the object it names."""
    name = name.replace(":", ".")
    try:
        __import__(name)
        return sys.modules[name]
    except ImportError:
        module, _, attr = name.rpartition(".")
        if not module:
            raise
    __import__(module)
    return getattr(sys.modules[module], attr)


class CertParamType(click.ParamType):
    """``--cert``: an existing file, ``adhoc``, or ``module:name`` of an SSLContext."""

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:  # Flask's message for a Python built without ssl
            import ssl
        except ImportError:
            raise click.BadParameter(
                'Using "--cert" needs Python built with SSL support.', ctx, param
            ) from None
        try:
            return self.path_type(value, param, ctx)
        except click.BadParameter:
            text = click.STRING(value, param, ctx).lower()
            if text == "adhoc":
                try:  # optional: only "adhoc" certificates need it
                    import cryptography  # noqa: F401
                except ImportError:
                    raise click.BadParameter(
                        "An ad hoc certificate needs the cryptography package.", ctx, param
                    ) from None
                return text
            try:
                obj = _import_object(str(value))
            except (ImportError, AttributeError):
                obj = None
            if isinstance(obj, ssl.SSLContext):
                return obj
            raise


def _validate_key(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """``--key`` goes with a certificate file (and only with one)."""
    cert = ctx.params.get("cert")
    is_adhoc = cert == "adhoc"
    is_context = isinstance(cert, ssl.SSLContext)
    if value is not None:
        if is_adhoc:
            raise click.BadParameter('When "--cert" is "adhoc", "--key" is not used.', ctx, param)
        if is_context:
            raise click.BadParameter(
                'When "--cert" is an SSLContext object, "--key" is not used.', ctx, param
            )
        if not cert:
            raise click.BadParameter('"--cert" must also be specified.', ctx, param)
        ctx.params["cert"] = cert, value
    elif cert and not (is_adhoc or is_context):
        raise click.BadParameter('Required when using "--cert".', ctx, param)
    return value


class SeparatedPathType(click.Path):
    """Paths separated by ``os.pathsep``, each checked as a click.Path."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        items = self.split_envvar_value(value)
        convert = super().convert
        return [convert(item, param, ctx) for item in items]


@click.command(
    "run",
    short_help="Serve the app with corral's server.",
    context_settings={"ignore_unknown_options": True},
)
@click.option("--host", "-h", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", "-p", default=5000, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--cert", type=CertParamType(), is_eager=True,
    help="A certificate file to serve HTTPS with (or 'adhoc' for a throwaway one).",
)
@click.option(
    "--key", type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key, expose_value=False, help="The key file of --cert.",
)
@click.option(
    "--reload/--no-reload", default=None,
    help="Restart the server when code changes (on by default in debug mode).",
)
@click.option(
    "--debugger/--no-debugger", default=None,
    help="Werkzeug's interactive debugger on errors (on by default in debug mode;"
    " needs Werkzeug).",
)
@click.option(
    "--with-threads/--without-threads", default=None,
    help="Run the app on a pool of threads (--threads 4) or on one (--threads 1);"
    " unset, the server's default.",
)
@click.option("--debug/--no-debug", default=None, help="Set debug mode.")
@click.option(
    "--extra-files", default=None, type=SeparatedPathType(),
    help=f"More files for the reloader to watch, separated by {os.path.pathsep!r}.",
)
@click.option(
    "--exclude-patterns", default=None, type=SeparatedPathType(),
    help="Files matching these fnmatch patterns do not trigger a reload; separated"
    f" by {os.path.pathsep!r}.",
)
@click.argument("server_args", nargs=-1, type=click.UNPROCESSED)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    cert: Any,
    reload: bool | None,
    debugger: bool | None,
    with_threads: bool | None,
    debug: bool | None,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
    server_args: tuple[str, ...],
) -> None:
    """Serve the app with corral's server; arguments after the options (or after
    ``--``) go to the server, e.g. ``run -- -w 4 -k gthread``."""
    global _RUN_APP
    if debug is not None:
        _set_debug(click.get_current_context(), _debug_option, debug)
    app = info.load_app()
    if reload is None:
        reload = bool(app.debug)
    if debugger is None:
        debugger = bool(app.debug)
    argv = ["corral.web.cli:run_target()", "-b", f"{host}:{port}"]
    if cert is not None:
        try:
            certfile, keyfile = ssl_files(cert)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="'--cert'") from None
        argv += ["--certfile", certfile] + (["--keyfile", keyfile] if keyfile else [])
    if with_threads is not None:
        argv += ["--threads", "4" if with_threads else "1"]
    if debugger:
        argv += ["-w", "1"]  # the debugger's frames live in one process
    argv += server_args
    os.environ[DEBUGGER_ENV] = "1" if debugger else "0"
    show_server_banner(bool(app.debug), info.resolved_import_path() or app.name)
    import_path = info.resolved_import_path()
    if reload and not is_running_from_reloader():
        # this very command again in a child process, restarted on changes; the
        # child sees it runs under the reloader and serves
        run_with_reloader(
            script_command(), dict(os.environ), [os.getcwd(), app.root_path],
            list(extra_files or ()), list(exclude_patterns or ()),
        )  # fmt: skip
        return
    if import_path:
        os.environ["CORRAL_APP"] = import_path
    _RUN_APP = app
    # the server is imported by the run command only (see DESIGN.md)
    from corral.server.cli import main as serve

    serve(argv)


@click.command("shell", short_help="Run a Python shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """An interactive Python shell with ``app`` and ``g`` (and the app's shell
    context processors' names) in scope."""
    import code  # the shell command's only

    app = _cv_app.get().app  # the object behind current_app
    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {app.import_name}\n"
        f"Instance: {getattr(app, 'instance_path', '')}"
    )
    namespace: dict[str, Any] = {}
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup) as f:
            exec(compile(f.read(), startup, "exec"), namespace)
    make_shell_context = getattr(app, "make_shell_context", None)
    namespace.update(make_shell_context() if make_shell_context else {"app": app, "g": g})
    hook = getattr(sys, "__interactivehook__", None)
    if hook is not None:
        try:
            hook()
        except Exception:
            pass
    code.interact(banner=banner, local=namespace)


def _route_rows(rules: list[Any], all_methods: bool, host_matching: bool) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the routes table; a Host or Subdomain column only when
    some rule has one."""
    ignored = set() if all_methods else {"HEAD", "OPTIONS"}
    has_domain = any(r.host if host_matching else r.subdomain for r in rules)
    headers = ["Endpoint", "Methods"]
    if has_domain:
        headers.append("Host" if host_matching else "Subdomain")
    headers.append("Rule")
    rows = []
    for rule in rules:
        row = [rule.endpoint, ", ".join(sorted(set(rule.methods or ()) - ignored))]
        if has_domain:
            row.append((rule.host if host_matching else rule.subdomain) or "")
        row.append(rule.rule)
        rows.append(row)
    return headers, rows


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort", "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help="Sort by endpoint, methods, domain, rule, or match (the order they are matched in).",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS too.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show every route of the app: endpoint, methods and rule."""

    rules = list(current_app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return
    headers, rows = _route_rows(rules, all_methods, bool(current_app.url_map.host_matching))
    sorts = ["endpoint", "methods", *(["domain"] if len(headers) == 4 else []), "rule"]
    if sort in sorts:  # "match" keeps the order rules are matched in
        rows.sort(key=lambda row: row[sorts.index(sort)])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    click.echo(fmt.format(*headers).rstrip())
    click.echo(fmt.format(*("-" * w for w in widths)))
    for row in rows:
        click.echo(fmt.format(*row).rstrip())


class CorralGroup(AppGroup):
    """The top-level group: built-in commands plus those of the loaded app."""

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: Callable[..., Any] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: Any,
    ) -> None:
        params = list(extra.pop("params", None) or ())
        params.extend((_env_file_option, _app_option, _debug_option))
        if add_version_option:
            params.append(version_option)
        if "context_settings" not in extra:
            extra["context_settings"] = {}
        extra["context_settings"].setdefault("auto_envvar_prefix", "FLASK")
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)

    def _app_commands(self, ctx: click.Context) -> click.Group | None:
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None
        except Exception:
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
            return None
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not app:
            ctx.with_resource(app.app_context())
        return app.cli

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        rv = super().get_command(ctx, name)
        if rv is not None:
            return rv
        group = self._app_commands(ctx)
        return None if group is None else group.get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        group = self._app_commands(ctx)
        if group is not None:
            names.update(group.list_commands(ctx))
        return sorted(names)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        os.environ["CORRAL_RUN_FROM_CLI"] = "true"
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the command line; with no arguments or just ``--help``, the .env files are read first so that the app's commands are listed."""
        if (not args and self.no_args_is_help) or (
            len(args) == 1 and args[0] in self.get_help_option_names(ctx)
        ):
            # Still read .env files so that `--help` lists the app's commands.
            _env_file(ctx, _env_file_option, None)
        return super().parse_args(ctx, args)


#: Flask's name for the top-level group.
FlaskGroup = CorralGroup


cli = CorralGroup(
    name="corral-web",
    help=(
        "A command line for corral.web applications. Name the app with --app or"
        " CORRAL_APP (FLASK_APP works too)."
    ),
)


def main() -> None:
    """Entry point of the ``corral-web`` console script."""
    cli.main()


if __name__ == "__main__":
    main()
