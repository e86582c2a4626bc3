"""The shared base of :class:`App` and :class:`Blueprint`: route and hook
registration, error handler lookup tables, static and template folders."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import sys
from collections import defaultdict
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, Callable, TypeVar, cast

from jinja2 import FileSystemLoader

from .globals import current_app
from .helpers import get_root_path, send_from_directory
from .http.exceptions import HTTP_EXCEPTIONS, default_exceptions

if TYPE_CHECKING:
    from .cli import AppGroup

F = TypeVar("F", bound=Callable[..., Any])

# The key of hook dicts: a blueprint's dotted name, or None for the app.
Key = str | None


def _setupmethod(f: F) -> F:
    """Mark a registration method; calling it after setup finished is an error."""
    name = f.__name__

    def wrapper(self: Scaffold, *args: Any, **kwargs: Any) -> Any:
        self._check_setup_finished(name)
        return f(self, *args, **kwargs)

    wrapper.__name__ = name
    wrapper.__doc__ = f.__doc__
    wrapper.__wrapped__ = f  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


setupmethod = _setupmethod


def _endpoint_from_view_func(view_func: Callable[..., Any] | None) -> str:
    assert view_func is not None, "expected view func if endpoint is not provided."
    return view_func.__name__


def _exc_class_and_code(exc_class_or_code: type[BaseException] | int) -> tuple[type[BaseException], int | None]:
    exc_class: Any
    if isinstance(exc_class_or_code, int):
        try:
            exc_class = default_exceptions[exc_class_or_code]
        except KeyError:
            raise ValueError(
                f"'{exc_class_or_code}' is not a recognized HTTP error code. Use a subclass of"
                " HTTPException with that code instead."
            ) from None
    else:
        exc_class = exc_class_or_code
    if isinstance(exc_class, Exception):
        raise TypeError(
            f"{exc_class!r} is an instance, not a class. Handlers can only be"
            " registered for Exception classes or HTTP error codes."
        )
    if not isinstance(exc_class, type) or not issubclass(exc_class, Exception):
        raise ValueError(
            f"'{getattr(exc_class, '__name__', exc_class)}' is not a subclass of Exception."
            " Handlers can only be registered for Exception classes or HTTP error codes."
        )
    if issubclass(exc_class, HTTP_EXCEPTIONS):
        return exc_class, getattr(exc_class, "code", None)
    return exc_class, None


class Scaffold:
    """Holds view functions, hooks and error handlers of an app or blueprint."""

    name: str
    _static_folder: str | None = None
    _static_url_path: str | None = None

    def __init__(
        self,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        root_path: str | None = None,
    ) -> None:
        self.import_name = import_name
        self.static_folder = static_folder
        self.static_url_path = static_url_path
        self.template_folder = template_folder
        if root_path is None:
            root_path = get_root_path(self.import_name)
        self.root_path = root_path
        self.view_functions: dict[str, Callable[..., Any]] = {}
        self.error_handler_spec: dict[
            Key, dict[int | None, dict[type[BaseException], Callable[..., Any]]]
        ] = defaultdict(lambda: defaultdict(dict))
        self.before_request_funcs: dict[Key, list[Callable[..., Any]]] = defaultdict(list)
        self.after_request_funcs: dict[Key, list[Callable[..., Any]]] = defaultdict(list)
        self.teardown_request_funcs: dict[Key, list[Callable[..., Any]]] = defaultdict(list)
        self.template_context_processors: dict[Key, list[Callable[..., Any]]] = defaultdict(list)
        self.url_value_preprocessors: dict[Key, list[Callable[..., Any]]] = defaultdict(list)
        self.url_default_functions: dict[Key, list[Callable[..., Any]]] = defaultdict(list)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def _check_setup_finished(self, f_name: str) -> None:
        raise NotImplementedError

    def _hooks_changed(self) -> None:
        """Called after any hook registration; the app drops its caches."""

    @cached_property
    def cli(self) -> AppGroup:
        """The click group of this app's or blueprint's commands (``flask`` /
        ``corral-web`` runs them)."""
        return self._make_cli_group(None)

    @staticmethod
    def _make_cli_group(name: str | None) -> AppGroup:
        # The cli module (and click) is loaded on the first use of ``cli``, not
        # with every app. It imports the App, which derives from this class: the
        # one call-time cycle of the app layer (tests/test_import_cycles.py).
        from .cli import AppGroup

        return AppGroup(name)

    # -- folders -------------------------------------------------------------

    @property
    def static_folder(self) -> str | None:
        """The absolute path of the static files folder, or None when there is none."""
        if self._static_folder is not None:
            return os.path.join(self.root_path, self._static_folder)
        return None

    @static_folder.setter
    def static_folder(self, value: str | os.PathLike[str] | None) -> None:
        if value is not None:
            value = os.fspath(value).rstrip(r"\/")
        self._static_folder = value

    @property
    def has_static_folder(self) -> bool:
        """Whether a static folder is set."""
        return self.static_folder is not None

    @property
    def static_url_path(self) -> str | None:
        """The URL prefix static files are served under (``/static`` by default)."""
        if self._static_url_path is not None:
            return self._static_url_path
        if self.static_folder is not None:
            basename = os.path.basename(self.static_folder)
            return f"/{basename}".rstrip("/")
        return None

    @static_url_path.setter
    def static_url_path(self, value: str | None) -> None:
        if value is not None:
            value = value.rstrip("/")
        self._static_url_path = value

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """The ``max_age`` :func:`~corral.web.send_file` uses by default:
        ``SEND_FILE_MAX_AGE_DEFAULT`` (None: the browser revalidates each time).
        Override to vary it by file name.
        """

        value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if value is None:
            return None
        if hasattr(value, "total_seconds"):
            return int(value.total_seconds())
        return int(value)

    def send_static_file(self, filename: str) -> Any:
        """The view of the ``static`` endpoint: send ``filename`` from the static folder (404 when missing)."""
        if not self.has_static_folder:
            raise RuntimeError("'static_folder' must be set to serve static_files.")
        max_age = self.get_send_file_max_age(filename)
        folder = cast(str, self.static_folder)  # has_static_folder: not None
        return send_from_directory(folder, filename, max_age=max_age)

    @cached_property
    def jinja_loader(self) -> Any:
        if self.template_folder is None:
            return None
        return FileSystemLoader(os.path.join(self.root_path, self.template_folder))

    def open_resource(self, resource: str, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
        """Open a file relative to the app's (or blueprint's) root path, for reading.

        :param resource: the path, relative to ``root_path``.
        :param mode: ``"r"``, ``"rt"`` or ``"rb"`` (the default).
        :param encoding: the text encoding, for text mode.
        """
        if mode not in {"r", "rt", "rb"}:
            raise ValueError("Resources can only be opened for reading.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    # -- routes --------------------------------------------------------------

    def _method_route(self, method: str, rule: str, options: dict[str, Any]) -> Callable[[F], F]:
        if "methods" in options:
            raise TypeError("Use the 'route' decorator to use the 'methods' argument.")
        return self.route(rule, methods=[method], **options)

    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=['GET'], **options)``: register the decorated function for GET."""
        return self._method_route("GET", rule, options)

    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=['POST'], **options)``: register the decorated function for POST."""
        return self._method_route("POST", rule, options)

    def put(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=['PUT'], **options)``: register the decorated function for PUT."""
        return self._method_route("PUT", rule, options)

    def delete(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=['DELETE'], **options)``: register the decorated function for DELETE."""
        return self._method_route("DELETE", rule, options)

    def patch(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=['PATCH'], **options)``: register the decorated function for PATCH."""
        return self._method_route("PATCH", rule, options)

    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        """Register the decorated function as the view of a URL rule::

            @app.route("/user/<int:id>", methods=["GET", "POST"])
            def user(id): ...

        :param rule: the URL rule; ``<converter:name>`` parts are passed to the view.
        :param options: :meth:`add_url_rule`'s: ``endpoint``, ``methods``,
            ``defaults``, ``strict_slashes``...
        :return: a decorator that returns the function unchanged.
        """

        def decorator(f: F) -> F:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, f, **options)
            return f

        return decorator

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Connect a URL rule to a view function (see :meth:`App.add_url_rule <corral.web.App.add_url_rule>`)."""
        raise NotImplementedError

    @setupmethod
    def endpoint(self, endpoint: str) -> Callable[[F], F]:
        """Register the decorated function as the view of ``endpoint``, for a rule
        added without a view (``add_url_rule(rule, endpoint)``).
        """
        def decorator(f: F) -> F:
            self.view_functions[endpoint] = f
            return f

        return decorator

    # -- hooks ---------------------------------------------------------------

    def _add_hook(self, table: dict[Key, list[Callable[..., Any]]], f: F) -> F:
        table.setdefault(None, []).append(f)
        self._hooks_changed()
        return f

    @setupmethod
    def before_request(self, f: F) -> F:
        """Register ``f()`` to run before each request, before the view. If it returns
        a value other than None, that value is the response and the view is not
        called. On a blueprint, it runs for the blueprint's requests only.
        """
        return self._add_hook(self.before_request_funcs, f)

    @setupmethod
    def after_request(self, f: F) -> F:
        """Register ``f(response)`` to run after each request; it must return the
        response (the same or a new one). Not called when an unhandled exception
        ends the request. On a blueprint, for the blueprint's requests only.
        """
        return self._add_hook(self.after_request_funcs, f)

    @setupmethod
    def teardown_request(self, f: F) -> F:
        """Register ``f(error)`` to run when the request context is popped, after
        the response is built, even after an unhandled exception (passed as
        ``error``, else None). Its return value is ignored.
        """
        return self._add_hook(self.teardown_request_funcs, f)

    @setupmethod
    def context_processor(self, f: F) -> F:
        """Register a function returning a dict of names added to every template's context."""
        return self._add_hook(self.template_context_processors, f)

    @setupmethod
    def url_value_preprocessor(self, f: F) -> F:
        """Register ``f(endpoint, values)`` to run before the before-request
        functions; it may pop values out of the matched URL arguments (into ``g``, say).
        """
        return self._add_hook(self.url_value_preprocessors, f)

    @setupmethod
    def url_defaults(self, f: F) -> F:
        """Register ``f(endpoint, values)`` to fill in URL values when :func:`url_for` builds a URL."""
        return self._add_hook(self.url_default_functions, f)

    @setupmethod
    def errorhandler(self, code_or_exception: type[BaseException] | int) -> Callable[[F], F]:
        """Register the decorated function as the handler of an HTTP status code or
        an exception class (and its subclasses)::

            @app.errorhandler(404)
            def not_found(e): return render_template("404.html"), 404

        :param code_or_exception: a status code (``404``) or an exception class.
        :return: a decorator that returns the function unchanged; the handler
            receives the exception and returns a response, as a view does.
        """

        def decorator(f: F) -> F:
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    @setupmethod
    def register_error_handler(
        self, code_or_exception: type[BaseException] | int, f: Callable[..., Any]
    ) -> None:
        """Register ``f`` as the handler of an exception class or HTTP status code;
        the non-decorator form of :meth:`errorhandler`.
        """
        exc_class, code = _exc_class_and_code(code_or_exception)
        self.error_handler_spec[None][code][exc_class] = f
        self._hooks_changed()

    _get_exc_class_and_code = staticmethod(_exc_class_and_code)


def find_package(import_name: str) -> tuple[str | None, str]:
    """(installation prefix or None, directory holding the top-level package or module)."""
    top = import_name.partition(".")[0]
    root = get_root_path(top)
    mod = sys.modules.get(top)
    is_package = mod is not None and hasattr(mod, "__path__")
    if mod is None:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        is_package = spec is not None and spec.submodule_search_locations is not None
    package_path = os.path.dirname(root) if is_package else root
    py_prefix = pathlib.Path(sys.prefix).resolve()
    try:
        pathlib.Path(package_path).resolve().relative_to(py_prefix)
    except ValueError:
        return None, package_path
    return str(py_prefix), package_path
