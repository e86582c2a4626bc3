"""The setup half of the application object: configuration, and the registration
of routes, blueprints, hooks, error handlers and templates.

:class:`AppSetup` holds everything an app is before it serves: what :class:`~corral.web.App`
adds is the serving of requests (contexts, dispatch, responses, errors).
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Iterator
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from . import templating as _templating
from .config import DEFAULT_CONFIG, Config, ConfigAttribute
from .ctx import _AppCtxGlobals
from .globals import _cv_app
from .helpers import get_debug_flag
from .http import werkzeug_interop
from .http.exceptions import (
    HTTP_EXCEPTIONS,
    Aborter,
    BadRequest,
    BadRequestKeyError,
)
from .json.provider import DefaultJSONProvider, JSONProvider
from .logging import create_logger
from .plan import RequestPlan
from .routing.exceptions import BuildError, RequestRedirect
from .routing.map import Map
from .routing.rules import Rule
from .scaffold import Scaffold, _endpoint_from_view_func, find_package, setupmethod
from .wrappers import Request, Response

if TYPE_CHECKING:
    from .blueprints import Blueprint
    from .cli import AppGroup

F = TypeVar("F", bound=Callable[..., Any])

# each with its Werkzeug namesake, which an extension may raise (shared with app.py)
_BAD_REQUESTS = werkzeug_interop.family(BadRequest)
_BAD_REQUEST_KEY_ERRORS = werkzeug_interop.family(BadRequestKeyError)
_REQUEST_REDIRECTS = werkzeug_interop.family(RequestRedirect)
_sentinel: Any = object()


def _td_seconds(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


_APP_ONLY: tuple[str | None, ...] = (None,)


def _blueprint_chain(endpoint: str) -> tuple[str | None, ...]:
    """``(None, "a", "a.b")`` for ``a.b.view``: the app, then blueprints outer to inner."""
    if "." not in endpoint:
        return _APP_ONLY
    parts = endpoint.split(".")[:-1]
    return (None, *(".".join(parts[: i + 1]) for i in range(len(parts))))


class AppSetup(Scaffold):
    """The configuration and registrations of an app (the base of :class:`~corral.web.App`)."""

    #: the classes of the app's request and response objects
    request_class: type[Request] = Request
    response_class: type[Response] = Response
    aborter_class = Aborter

    jinja_environment: Any = None  # templating.Environment, set lazily

    app_ctx_globals_class = _AppCtxGlobals

    config_class = Config

    testing = ConfigAttribute[bool]("TESTING")

    secret_key = ConfigAttribute[Any]("SECRET_KEY")

    permanent_session_lifetime = ConfigAttribute[timedelta](
        "PERMANENT_SESSION_LIFETIME", get_converter=_td_seconds  # type: ignore[arg-type]
    )

    json_provider_class: type[JSONProvider] = DefaultJSONProvider

    jinja_options: dict[str, Any] = {}

    url_rule_class = Rule

    url_map_class = Map

    default_config = DEFAULT_CONFIG

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if instance_path is None:
            instance_path = self.auto_find_instance_path()
        elif not os.path.isabs(instance_path):
            raise ValueError(
                "If an instance path is provided it must be absolute."
                " A relative path was given instead."
            )
        self.instance_path = instance_path
        self.config = self.make_config(instance_relative_config)
        self.aborter = self.make_aborter()
        self.json: JSONProvider = self.json_provider_class(self)
        self.url_build_error_handlers: list[Callable[[Exception, str, dict[str, Any]], str]] = []
        self.teardown_appcontext_funcs: list[Callable[[BaseException | None], None]] = []
        self.shell_context_processors: list[Callable[[], dict[str, Any]]] = []
        self.before_first_request_funcs: list[Callable[[], Any]] = []
        self.blueprints: dict[str, Blueprint] = {}
        self.extensions: dict[str, Any] = {}
        self.url_map = self.url_map_class(host_matching=host_matching)
        self.subdomain_matching = subdomain_matching
        self._got_first_request = False
        self._before_first_request_lock = threading.Lock()
        self._sync_cache: dict[Callable[..., Any], Callable[..., Any]] = {}
        self._request_plan: RequestPlan | None = None
        self.template_context_processors[None].append(_templating._default_template_ctx_processor)
        if self.has_static_folder:
            assert bool(static_host) == host_matching, (
                "Invalid static_host/host_matching combination"
            )
            self_ref = weakref.ref(self)
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=lambda **kw: self_ref().send_static_file(**kw),  # type: ignore[union-attr]
            )

    @cached_property
    def name(self) -> str:  # type: ignore[override]
        if self.import_name == "__main__":
            fn: str | None = getattr(sys.modules["__main__"], "__file__", None)
            if fn is None:
                return "__main__"
            return os.path.splitext(os.path.basename(fn))[0]
        return self.import_name

    @property
    def debug(self) -> bool:
        """Debug mode (the ``DEBUG`` config key): detailed errors, template reloading."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None and "jinja_env" in self.__dict__:
            self.jinja_env.auto_reload = value

    @cached_property
    def cli(self) -> AppGroup:
        """The click group of the app's commands, named after the app."""
        return self._make_cli_group(self.name)

    @cached_property
    def logger(self) -> Any:
        return create_logger(self)

    @cached_property
    def jinja_env(self) -> Any:
        return self.create_jinja_environment()

    def make_config(self, instance_relative: bool = False) -> Config:
        """Build the app's :class:`Config`, with ``default_config`` and the debug flag from the environment.

        :param instance_relative: resolve relative config file names against the
            instance folder instead of the app's root path.
        :return: the new config object (``app.config``).
        """
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def make_aborter(self) -> Aborter:
        """Build the :class:`Aborter` that :func:`~corral.web.abort` uses for this app (``aborter_class()``)."""
        return self.aborter_class()

    def auto_find_instance_path(self) -> str:
        """Locate the instance folder when none was given: ``instance`` beside the
        app's package, or ``<prefix>/var/<name>-instance`` for an installed package.
        """
        prefix, package_path = find_package(self.import_name)
        if prefix is None:
            return os.path.join(package_path, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

    def open_instance_resource(self, resource: str, mode: str = "rb", encoding: str | None = "utf-8") -> Any:
        """Open a file from the app's instance folder.

        :param resource: the path inside the instance folder.
        :param mode: the file mode (``"rb"`` by default).
        :param encoding: the text encoding, for text modes.
        :return: the open file object.
        """
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called"
                " on the application. It has already handled its first"
                " request, any changes will not be applied"
                " consistently.\n"
                "Make sure all imports, decorators, functions, etc."
                " needed to set up the application are done before"
                " running it."
            )

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Connect a URL rule to a view function; what :meth:`route` does.

        :param rule: the URL rule, e.g. ``"/user/<int:id>"``.
        :param endpoint: the endpoint name (for :func:`url_for`); the view function's
            name by default.
        :param view_func: the function called for matching requests; may be left out
            and registered later in ``app.view_functions``.
        :param provide_automatic_options: answer ``OPTIONS`` automatically (by default
            unless ``OPTIONS`` is among the methods, or the view says otherwise).
        :param options: passed to the :class:`~corral.web.routing.Rule`: ``methods``
            (``["GET"]`` by default; ``HEAD`` comes with ``GET``), ``defaults``,
            ``subdomain``, ``strict_slashes``, ``redirect_to``, ``host``...
        :raises AssertionError: when the endpoint already belongs to another function.
        """
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)
        options["endpoint"] = endpoint
        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError(
                "Allowed methods must be a list of strings, for"
                ' example: @app.route(..., methods=["POST"])'
            )
        methods = {item.upper() for item in methods}
        required_methods = set(getattr(view_func, "required_methods", ()))
        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:
            if "OPTIONS" not in methods and self.config["PROVIDE_AUTOMATIC_OPTIONS"]:
                provide_automatic_options = True
                required_methods.add("OPTIONS")
            else:
                provide_automatic_options = False
        methods |= required_methods
        rule_obj = self.url_rule_class(rule, methods=methods, **options)
        rule_obj.provide_automatic_options = provide_automatic_options
        self.url_map.add(rule_obj)
        if view_func is not None:
            old_func = self.view_functions.get(endpoint)
            if old_func is not None and old_func != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing"
                    f" endpoint function: {endpoint}"
                )
            self.view_functions[endpoint] = view_func

    @setupmethod
    def before_first_request(self, f: F) -> F:
        """Run ``f()`` once, before the first request this app instance handles."""
        self.before_first_request_funcs.append(f)
        return f

    @setupmethod
    def teardown_appcontext(self, f: F) -> F:
        """Register ``f(error)`` to run when the application context is popped
        (after each request, and at the end of ``with app.app_context()``).

        It receives the unhandled exception or None; its return value is ignored.
        Returns ``f`` unchanged, so it works as a decorator.
        """
        self.teardown_appcontext_funcs.append(f)
        return f

    @setupmethod
    def shell_context_processor(self, f: F) -> F:
        """Register a function returning a dict of names for ``corral-web shell``.
        Returns the function unchanged (a decorator).
        """
        self.shell_context_processors.append(f)
        return f

    def make_shell_context(self) -> dict[str, Any]:
        """The names available in ``corral-web shell``: ``app``, ``g`` and those of the shell context processors."""
        rv: dict[str, Any] = {"app": self, "g": self.app_ctx_globals_class}
        ctx = _cv_app.get(None)
        if ctx is not None:
            rv["g"] = ctx.g
        for processor in self.shell_context_processors:
            rv.update(processor())
        return rv

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Register a blueprint on the app: its routes, hooks, error handlers and
        templates become the app's.

        :param blueprint: the :class:`~corral.web.Blueprint`.
        :param options: override the blueprint's settings for this registration:
            ``url_prefix``, ``subdomain``, ``url_defaults``, ``name`` (to register the
            same blueprint twice), ``cli_group``.
        """
        blueprint.register(self, options)

    def iter_blueprints(self) -> Iterator[Blueprint]:
        """Iterate over the registered blueprints, in registration order."""
        return iter(self.blueprints.values())

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Whether teardown functions should see ``error`` as None; False by default. Override to hide some errors from them."""
        return False

    def _find_error_handler(self, e: BaseException, blueprints: list[str]) -> Callable[..., Any] | None:
        exc_class = type(e)
        code = getattr(e, "code", None) if isinstance(e, HTTP_EXCEPTIONS) else None
        names = (*blueprints, None)
        spec = self.error_handler_spec
        for c in (code, None) if code is not None else (None,):
            for name in names:
                if name not in spec:
                    continue
                handler_map = spec[name].get(c)
                if not handler_map:
                    continue
                for cls in exc_class.__mro__:
                    # a Werkzeug class also finds handlers of the corral.web class for it
                    handler = handler_map.get(cls) or handler_map.get(werkzeug_interop.ours(cls))
                    if handler is not None:
                        return handler
        return None

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTP exception should be raised like any other error instead of
        becoming its error page (``TRAP_HTTP_EXCEPTIONS``, ``TRAP_BAD_REQUEST_ERRORS``,
        and bad-request key errors in debug mode).
        """
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, _BAD_REQUEST_KEY_ERRORS):
            return True
        if trap_bad_request:
            return isinstance(e, _BAD_REQUESTS)
        return False

    def inject_url_defaults(self, endpoint: str, values: dict[str, Any]) -> None:
        """Let the URL default functions of the app and the endpoint's blueprints fill ``values`` before a URL is built."""
        udf = self.url_default_functions
        if not udf:
            return
        for name in _blueprint_chain(endpoint):
            if name in udf:
                for func in udf[name]:
                    func(endpoint, values)

    def handle_url_build_error(self, error: BuildError, endpoint: str, values: dict[str, Any]) -> str:
        """Called when :meth:`url_for` cannot build a URL: the
        ``url_build_error_handlers`` may return a URL; otherwise the error is raised.
        """
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if rv is not None:
                    return rv
        if error is sys.exc_info()[1]:
            raise
        raise error

    def create_jinja_environment(self) -> Any:
        """Build the app's Jinja environment (``app.jinja_env``): its loader, autoescaping, and the ``url_for``, ``get_flashed_messages``, ``config``, ``request``, ``session`` and ``g`` globals."""
        env_class = self.jinja_environment
        if env_class is None:
            env_class = _templating.Environment
        return env_class(self, **dict(self.jinja_options))

    def create_global_jinja_loader(self) -> Any:
        """The loader that looks for templates in the app's folder, then in each blueprint's."""
        return _templating.DispatchingJinjaLoader(self)

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Whether to autoescape a template: True for ``.html``, ``.htm``, ``.xml``, ``.xhtml`` and ``.svg`` names (and for strings)."""
        return _templating.select_jinja_autoescape(filename)

    def update_template_context(self, context: dict[str, Any]) -> None:
        """Add the context processors' names (the app's and the request's blueprints') to a template context; names the caller passed win."""
        _templating.update_template_context(self, context)

    def _template_registrar(self, kind: str, name: str | Callable[..., Any] | None) -> Any:
        adder = getattr(self, f"add_template_{kind}")
        if callable(name):
            adder(name)
            return name

        def decorator(f: F) -> F:
            adder(f, name=name)
            return f

        return decorator

    @setupmethod
    def template_filter(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Register the decorated function as a Jinja filter (``name`` defaults to the function's name)."""
        return self._template_registrar("filter", name)

    @setupmethod
    def add_template_filter(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register ``f`` as a Jinja filter named ``name`` (the function's name by default)."""
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Register the decorated function as a Jinja test."""
        return self._template_registrar("test", name)

    @setupmethod
    def add_template_test(self, f: Callable[..., bool], name: str | None = None) -> None:
        """Register ``f`` as a Jinja test named ``name``."""
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Register the decorated function as a Jinja global."""
        return self._template_registrar("global", name)

    @setupmethod
    def add_template_global(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register ``f`` as a Jinja global named ``name``."""
        self.jinja_env.globals[name or f.__name__] = f
