"""Load the WSGI application named by an app spec.

Accepted specs::

    module                      -> module:application
    module:attr                 -> an attribute
    module:attr.sub             -> a dotted attribute path
    module:factory()            -> the result of calling a factory
    module:factory('arg', k=1)  -> ... with literal arguments (parsed with ``ast``,
                                   never evaluated as code)

``--paste FILE`` loads the application from a PasteDeploy configuration file
instead: the settings turn it into the spec
``config:/absolute/FILE`` (``#name`` picks an app section other than ``main``),
which :func:`load_app` hands to ``paste.deploy.loadapp``.

Every failure raises :class:`AppLoadError` whose message is one line:
``Failed to load app 'SPEC': REASON``.  When the application's own code raised (an
import deep inside it, a factory), the original exception is the error's
``__cause__``, and :meth:`AppLoadError.traceback` gives its traceback, so that the
failing file and line can be shown after the one-line summary.
"""

from __future__ import annotations

import ast
import importlib
import os
import pwd
import stat
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ATTR = "application"
PASTE_PREFIX = "config:"


class AppLoadError(Exception):
    """The app spec could not be turned into a callable."""

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        self.reason = reason
        super().__init__(f"Failed to load app {spec!r}: {reason}")

    def traceback(self) -> str:
        """The traceback of the exception the application's code raised ("" when
        the failure is the spec itself: a missing module or attribute)."""
        cause = self.__cause__
        if cause is None:
            return ""
        return "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))


@dataclass
class AppSpec:
    """A parsed app spec: ``module``, attribute ``path`` and, for a factory, its
    literal ``args``/``kwargs`` (``call`` is False for a plain attribute)."""

    module: str
    path: list[str]
    call: bool = False
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _attr_path(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [*_attr_path(node.value), node.attr]
    raise ValueError("expected an attribute name or a call of one")


def parse_spec(spec: str) -> AppSpec:
    """Split and check a spec; raise :class:`AppLoadError` if it is malformed."""
    module, sep, expr = spec.strip().partition(":")
    module = module.strip()
    if not sep:
        expr = DEFAULT_ATTR
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise AppLoadError(spec, f"invalid module name {module!r}")
    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        raise AppLoadError(spec, f"invalid attribute expression {expr!r}")
    try:
        if not isinstance(node, ast.Call):
            return AppSpec(module, _attr_path(node))
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise ValueError("** arguments are not allowed")
            kwargs[kw.arg] = ast.literal_eval(kw.value)
        return AppSpec(module, _attr_path(node.func), True, args, kwargs)
    except ValueError as e:
        # literal_eval's messages ("malformed node or string ...") name AST internals
        reason = str(e) if "malformed node" not in str(e) else "arguments must be literals"
        raise AppLoadError(spec, f"invalid attribute expression {expr.strip()!r}: {reason}")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _blocked_at(path: str) -> str | None:
    """The first directory on the way to ``path`` this process may not enter or
    list (None when it can read ``path``)."""
    current = "/"
    for part in [p for p in os.path.abspath(path).split("/") if p]:
        current = os.path.join(current, part)
        if not os.path.isdir(current) and os.path.exists(current):
            return None
        if os.path.isdir(current) and not os.access(current, os.R_OK | os.X_OK):
            return current
    return None


def unreadable_path_reason(paths: list[str] | None = None) -> str | None:
    """When this process (typically a worker switched to ``--user``) cannot read a
    directory the application is imported from (the working directory, an entry of
    ``sys.path`` such as ``--pythonpath``): one line naming the user and the path."""
    candidates = [os.getcwd() if p == "" else p for p in (sys.path if paths is None else paths)]
    python_home = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    for path in candidates:
        if not os.path.isabs(path) or "site-packages" in path or path.endswith(".zip"):
            continue
        if any(os.path.realpath(path).startswith(home + os.sep) for home in python_home):
            continue  # Python's own library, not the application's
        blocked = _blocked_at(path)
        if blocked is None:
            continue
        try:
            info = os.stat(blocked)
            mode = f"mode {stat.S_IMODE(info.st_mode):04o}, owner {_user_name(info.st_uid)}"
        except OSError:
            mode = "not accessible"
        user = _user_name(os.geteuid())
        where = f"{path} ({mode})" if blocked == path else f"{path} ({blocked}: {mode})"
        return (f"user {user!r} cannot read {where}: make the application's directory "
                f"readable to {user!r} (e.g. install it outside a private home directory) "
                "or run the workers as a user who can read it")
    return None


def _import(spec: str, module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        # distinguish "the module is not there" from an import failing inside it
        if e.name is not None and (module == e.name or module.startswith(e.name + ".")):
            unreadable = unreadable_path_reason()
            if unreadable is not None:  # hidden by permissions rather than absent
                raise AppLoadError(spec, unreadable) from None
            raise AppLoadError(spec, f"No module named {e.name!r}") from None
        raise AppLoadError(spec, f"error while importing {module!r}: {_one_line(e)}") from e
    except PermissionError as e:
        unreadable = unreadable_path_reason()
        reason = unreadable or f"error while importing {module!r}: {_one_line(e)}"
        raise AppLoadError(spec, reason) from e
    except BaseException as e:  # SyntaxError, SystemExit in module code, ...
        if isinstance(e, KeyboardInterrupt):
            raise
        raise AppLoadError(spec, f"error while importing {module!r}: {_one_line(e)}") from e


def paste_spec(path: str, cwd: str | None = None) -> str:
    """The app spec for ``--paste PATH`` (relative to ``cwd``)."""
    return PASTE_PREFIX + os.path.abspath(os.path.join(cwd or os.getcwd(), path))


def is_paste_spec(spec: str) -> bool:
    # "config:/..." is never a module spec, while "config:app" is one
    return spec.startswith(PASTE_PREFIX + "/")


def check_paste(spec: str) -> None:
    """Raise :class:`AppLoadError` when PasteDeploy or the file is missing."""
    try:
        import paste.deploy  # noqa: F401
    except ImportError:
        raise AppLoadError(spec, "PasteDeploy is not installed (pip install PasteDeploy)")
    path = spec[len(PASTE_PREFIX):].split("#", 1)[0]
    if not os.path.isfile(path):
        raise AppLoadError(spec, f"no such PasteDeploy configuration file: {path}")


def load_paste_app(spec: str) -> Callable[..., Any]:
    """``paste.deploy.loadapp`` on a ``config:/path.ini[#name]`` spec."""
    check_paste(spec)
    from paste.deploy import loadapp

    try:
        app = loadapp(spec, relative_to=os.getcwd())
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        raise AppLoadError(spec, _one_line(e)) from e
    if not callable(app):
        raise AppLoadError(spec, f"PasteDeploy returned a {type(app).__name__}, not a callable")
    return app  # type: ignore[no-any-return]


def load_app(spec: str) -> Callable[..., Any]:
    """Import the module named by ``spec`` and return the WSGI callable."""
    if is_paste_spec(spec):
        return load_paste_app(spec)
    parsed = parse_spec(spec)
    obj = _import(spec, parsed.module)
    where = parsed.module
    for name in parsed.path:
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise AppLoadError(spec, f"{where!r} has no attribute {name!r}")
        where = f"{where}:{name}" if where == parsed.module else f"{where}.{name}"
    if parsed.call:
        if not callable(obj):
            raise AppLoadError(spec, f"{where!r} is not callable")
        try:
            obj = obj(*parsed.args, **parsed.kwargs)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            raise AppLoadError(spec, f"factory {where!r} raised {_one_line(e)}") from e
        if obj is None:
            raise AppLoadError(spec, f"factory {where!r} returned None")
    if not callable(obj):
        kind = "returned" if parsed.call else "is"
        raise AppLoadError(
            spec, f"{where!r} {kind} a {type(obj).__name__}, not a callable application"
        )
    return obj
