"""The application object and its request pipeline."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
import sys
import threading
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import cached_property, update_wrapper
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar

from . import signals
from .apptemplates import TemplateMixin
from .config import DEFAULT_CONFIG, Config, ConfigAttribute
from .ctx import AppContext, RequestContext, _AppCtxGlobals
from .globals import _cv_app, _cv_request, request
from .helpers import get_debug_flag
from .http import werkzeug_interop
from .http.datastructures.headers import Headers
from .http.exceptions import (
    HTTP_EXCEPTIONS,
    Aborter,
    BadRequest,
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
)
from .json.provider import DefaultJSONProvider, JSONProvider
from .plan import RequestPlan
from .routing.exceptions import BuildError, RequestRedirect
from .routing.map import Map
from .routing.rules import Rule
from .scaffold import Scaffold, _endpoint_from_view_func, find_package, setupmethod
from .sessions import SecureCookieSessionInterface, SessionInterface
from .wrappers import Request, Response, make_response_from_view

if TYPE_CHECKING:
    from .blueprints import Blueprint
    from .testing import CliRunner, TestClient

F = TypeVar("F", bound=Callable[..., Any])

# each with its Werkzeug namesake, which an extension may raise
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


class App(Scaffold, TemplateMixin):
    """A WSGI application with Flask's API.

    ``app = App(__name__)``; register views with ``@app.route``; serve it with
    any WSGI server (``app(environ, start_response)``) or ``app.run()``.
    """

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
    test_client_class: type[TestClient] | None = None
    test_cli_runner_class: type[CliRunner] | None = None
    session_interface: SessionInterface = SecureCookieSessionInterface()
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
        from .templating import _default_template_ctx_processor

        self.template_context_processors[None].append(_default_template_ctx_processor)
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

    # -- properties ------------------------------------------------------------

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
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None and "jinja_env" in self.__dict__:
            self.jinja_env.auto_reload = value

    @cached_property
    def cli(self) -> Any:
        from .cli import AppGroup

        return AppGroup(self.name)

    @cached_property
    def logger(self) -> Any:
        from .logging import create_logger

        return create_logger(self)

    @cached_property
    def jinja_env(self) -> Any:
        return self.create_jinja_environment()

    def make_config(self, instance_relative: bool = False) -> Config:
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def make_aborter(self) -> Aborter:
        return self.aborter_class()

    def auto_find_instance_path(self) -> str:
        prefix, package_path = find_package(self.import_name)
        if prefix is None:
            return os.path.join(package_path, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

    def open_instance_resource(self, resource: str, mode: str = "rb", encoding: str | None = "utf-8") -> Any:
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

    # -- registration ------------------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)  # type: ignore[arg-type]
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
        rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]
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
        self.teardown_appcontext_funcs.append(f)
        return f

    @setupmethod
    def shell_context_processor(self, f: F) -> F:
        self.shell_context_processors.append(f)
        return f

    def make_shell_context(self) -> dict[str, Any]:
        rv: dict[str, Any] = {"app": self, "g": self.app_ctx_globals_class}
        ctx = _cv_app.get(None)
        if ctx is not None:
            rv["g"] = ctx.g
        for processor in self.shell_context_processors:
            rv.update(processor())
        return rv

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        blueprint.register(self, options)

    def iter_blueprints(self) -> Iterator[Blueprint]:
        return iter(self.blueprints.values())

    # -- contexts ---------------------------------------------------------------

    def app_context(self) -> AppContext:
        return AppContext(self)

    def request_context(self, environ: dict[str, Any]) -> RequestContext:
        return RequestContext(self, environ)

    def test_request_context(self, *args: Any, **kwargs: Any) -> RequestContext:
        from .testing import EnvironBuilder

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies: bool = True, **kwargs: Any) -> TestClient:
        cls: Any = self.test_client_class
        if cls is None:
            from .testing import TestClient as cls
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)  # type: ignore[no-any-return]

    def test_cli_runner(self, **kwargs: Any) -> CliRunner:
        cls: Any = self.test_cli_runner_class
        if cls is None:
            from .testing import CliRunner as cls
        return cls(self, **kwargs)  # type: ignore[no-any-return]

    def create_url_adapter(self, request: Request | None) -> Any:
        config = self.config
        if request is not None:
            trusted = config["TRUSTED_HOSTS"]
            if trusted is not None:
                request.trusted_hosts = trusted  # type: ignore[attr-defined]
                request.host  # noqa: B018 - validates the Host header
            subdomain = None
            server_name = config["SERVER_NAME"]
            if self.url_map.host_matching:
                server_name = None
            elif not self.subdomain_matching:
                subdomain = self.url_map.default_subdomain or ""
            return self.url_map.bind_to_environ(
                request.environ, server_name=server_name, subdomain=subdomain
            )
        if config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                config["SERVER_NAME"],
                script_name=config["APPLICATION_ROOT"],
                url_scheme=config["PREFERRED_URL_SCHEME"],
            )
        return None

    # -- sync/async ---------------------------------------------------------------

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` itself, or a blocking wrapper when it is a coroutine function."""
        try:
            return self._sync_cache[func]
        except (KeyError, TypeError):
            pass
        wrapped = self.async_to_sync(func) if inspect.iscoroutinefunction(func) else func
        try:
            self._sync_cache[func] = wrapped
        except TypeError:
            pass
        return wrapped

    def async_to_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Run a coroutine function to completion; on a thread whose event loop is
        already running (an app served inline on a loop) it runs on a helper
        thread, in a copy of the current context."""

        def run(*args: Any, **kwargs: Any) -> Any:
            coro = func(*args, **kwargs)
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(coro)
            ctx = contextvars.copy_context()
            with ThreadPoolExecutor(1) as pool:
                return pool.submit(ctx.run, asyncio.run, coro).result()

        return update_wrapper(run, func)

    # -- the pipeline -------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """The WSGI entry point: calls :meth:`wsgi_app`, so that middleware can
        wrap ``app.wsgi_app`` while the app object is still what the server holds."""
        return self.wsgi_app(environ, start_response)

    @property
    def request_plan(self) -> RequestPlan:
        """What this app's requests need, decided at the first request (see
        :class:`~corral.web.plan.RequestPlan`)."""
        plan = self._request_plan
        if plan is None:
            plan = RequestPlan.for_app(self, App)
            if self._got_first_request:  # setup is over: the plan holds from now on
                self._request_plan = plan
        return plan

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Handle one request: push a request context, dispatch it
        (:meth:`full_dispatch_request`), turn an unhandled error into a 500
        (:meth:`handle_exception`), call the response, pop the context.

        :param environ: the WSGI environment of the request.
        :param start_response: the server's WSGI ``start_response`` callable.
        :return: the response body, an iterable of bytes.
        """
        ctx = self.request_context(environ)
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                response = self.full_dispatch_request()
            except Exception as e:
                error = e
                response = self.handle_exception(e)
            except BaseException:
                error = sys.exc_info()[1]
                raise
            return response(environ, start_response)
        finally:
            preserve = environ.get("corral.web.preserve_context")
            if preserve is not None:
                preserve(_cv_app.get())
                preserve(_cv_request.get())
            if error is not None and self.should_ignore_error(error):
                error = None
            ctx.pop(error)

    def should_ignore_error(self, error: BaseException | None) -> bool:
        return False

    def _run_before_first_request(self) -> None:
        with self._before_first_request_lock:
            if not self._got_first_request:
                for func in self.before_first_request_funcs:
                    self.ensure_sync(func)()
                self._got_first_request = True

    def full_dispatch_request(self) -> Response:
        if not self._got_first_request:
            self._run_before_first_request()
        try:
            if signals.request_started.receivers:
                signals.request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self.preprocess_request() if self.request_plan.run_preprocess else None
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def finalize_request(self, rv: Any, from_error_handler: bool = False) -> Response:
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if signals.request_finished.receivers:
                signals.request_finished.send(
                    self, _async_wrapper=self.ensure_sync, response=response
                )
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception(
                "Request finalizing failed with an error while handling an error"
            )
        return response

    def preprocess_request(self) -> Any:
        req = _cv_request.get().request
        rule = req.url_rule
        if rule is None or "." not in rule.endpoint:
            names = _APP_ONLY
        else:
            names = _blueprint_chain(rule.endpoint)
        uvp = self.url_value_preprocessors
        if uvp:
            for name in names:
                if name in uvp:
                    for url_func in uvp[name]:
                        url_func(req.endpoint, req.view_args)
        brf = self.before_request_funcs
        if brf:
            cache = self._sync_cache
            for name in names:
                if name in brf:
                    for before_func in brf[name]:
                        rv = (cache.get(before_func) or self.ensure_sync(before_func))()
                        if rv is not None:
                            return rv
        return None

    def raise_routing_exception(self, request: Request) -> None:
        exc: Any = request.routing_exception
        if self.debug and isinstance(exc, _REQUEST_REDIRECTS):
            from .debughelpers import check_routing_redirect

            check_routing_redirect(request)  # a redirect that drops form data is an error
        raise exc

    def dispatch_request(self) -> Any:
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)  # type: ignore[arg-type]
        rule: Any = req.url_rule
        if req.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return self.make_default_options_response()
        view = self.view_functions[rule.endpoint]
        return (self._sync_cache.get(view) or self.ensure_sync(view))(**req.view_args)  # type: ignore[arg-type]

    def make_default_options_response(self) -> Response:
        adapter = _cv_request.get().url_adapter
        methods = adapter.allowed_methods()
        rv = self.response_class()
        rv.headers["Allow"] = ", ".join(sorted(methods))
        return rv

    def process_response(self, response: Response) -> Response:
        ctx = _cv_request.get()
        ensure_sync = self.ensure_sync
        for func in ctx._after_request_functions:
            response = ensure_sync(func)(response)
        arf = self.after_request_funcs
        if arf:
            rule = ctx.request.url_rule
            names = _APP_ONLY if rule is None else _blueprint_chain(rule.endpoint)
            for name in reversed(names):
                if name in arf:
                    for func in reversed(arf[name]):
                        response = ensure_sync(func)(response)
        if (arf or ctx._after_request_functions) and not isinstance(response.headers, Headers):
            # a hook swapped in another header mapping (a Werkzeug Headers or MultiDict)
            response.headers = Headers(response.headers)
        si = self.session_interface
        if ctx._session is None and si is self.request_plan.stock_session_interface:
            # the stock session, neither opened during the request nor sent by the
            # client: there is nothing to save
            cookies = ctx.request.environ.get("HTTP_COOKIE")
            if not cookies or self.config["SESSION_COOKIE_NAME"] not in cookies:
                return response
        session = ctx.session
        if not si.is_null_session(session):
            si.save_session(self, session, response)
        return response

    def _open_session(self, request: Request) -> Any:
        si = self.session_interface
        session = si.open_session(self, request)
        if session is None:
            session = si.make_null_session(self)
        return session

    def do_teardown_request(self, exc: BaseException | None = _sentinel) -> None:
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        trf = self.teardown_request_funcs
        if trf:
            rule = _cv_request.get().request.url_rule
            names = _APP_ONLY if rule is None else _blueprint_chain(rule.endpoint)
            for name in reversed(names):
                if name in trf:
                    for func in reversed(trf[name]):
                        self.ensure_sync(func)(exc)
        if signals.request_tearing_down.receivers:
            signals.request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def do_teardown_appcontext(self, exc: BaseException | None = _sentinel) -> None:
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        if self.teardown_appcontext_funcs:
            for func in reversed(self.teardown_appcontext_funcs):
                self.ensure_sync(func)(exc)
        if signals.appcontext_tearing_down.receivers:
            signals.appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    # -- errors ---------------------------------------------------------------------

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
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, _BAD_REQUEST_KEY_ERRORS):
            return True
        if trap_bad_request:
            return isinstance(e, _BAD_REQUESTS)
        return False

    def handle_http_exception(self, e: HTTPException) -> Any:
        if e.code is None or isinstance(e, _REQUEST_REDIRECTS):
            return e
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            return e
        return self.ensure_sync(handler)(e)

    def handle_user_exception(self, e: Exception) -> Any:
        if isinstance(e, _BAD_REQUEST_KEY_ERRORS) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True  # type: ignore[attr-defined]
        if isinstance(e, HTTP_EXCEPTIONS) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)  # type: ignore[arg-type]
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            raise
        return self.ensure_sync(handler)(e)

    def handle_exception(self, e: Exception) -> Response:
        exc_info = sys.exc_info()
        signals.got_request_exception.send(self, _async_wrapper=self.ensure_sync, exception=e)
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            if exc_info[1] is e:
                raise
            raise e
        self.log_exception(exc_info)
        server_error: Any = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, request.blueprints)
        if handler is not None:
            server_error = self.ensure_sync(handler)(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        self.logger.error(f"Exception on {request.path} [{request.method}]", exc_info=exc_info)

    # -- responses and URLs -----------------------------------------------------------

    #: Turn a view's return value into a response (Flask's accepted types).
    make_response: ClassVar[Callable[[App, Any], Response]] = make_response_from_view

    def redirect(self, location: str, code: int = 302) -> Response:
        from .http.response import redirect

        return redirect(location, code=code, Response=self.response_class)  # type: ignore[return-value]

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            blueprint_name = req_ctx.request.blueprint
            if endpoint[:1] == ".":
                endpoint = f"{blueprint_name}{endpoint}" if blueprint_name else endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            url_adapter = app_ctx.url_adapter if app_ctx is not None else self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request"
                    " without 'SERVER_NAME' configured. Also configure"
                    " 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME' as"
                    " needed."
                )
            if _external is None:
                _external = True
        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")
        self.inject_url_defaults(endpoint, values)
        try:
            rv: str = url_adapter.build(
                endpoint, values, method=_method, url_scheme=_scheme, force_external=_external
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external)
            return self.handle_url_build_error(error, endpoint, values)
        if _anchor is not None:
            from urllib.parse import quote

            rv = f"{rv}#{quote(_anchor, safe='%!#$&' + chr(39) + '()*+,/:;=?@')}"
        return rv

    def inject_url_defaults(self, endpoint: str, values: dict[str, Any]) -> None:
        udf = self.url_default_functions
        for name in _blueprint_chain(endpoint):
            if name in udf:
                for func in udf[name]:
                    func(endpoint, values)

    def handle_url_build_error(self, error: BuildError, endpoint: str, values: dict[str, Any]) -> str:
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

    # -- serving ----------------------------------------------------------------------

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: Any,
    ) -> None:
        """Serve the app with corral's server (blocking).

        Does nothing under ``corral-web run`` (which sets ``CORRAL_RUN_FROM_CLI``),
        so a module that calls ``app.run()`` when imported does not start a
        second server.
        """
        if os.environ.get("CORRAL_RUN_FROM_CLI") == "true":
            return
        from .devserver import load_run_dotenv, serve_app

        load_run_dotenv(self, load_dotenv)  # .env/.flaskenv, as `corral-web run` would
        if debug is not None:
            self.debug = bool(debug)
        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        host = host or sn_host or "127.0.0.1"
        port = int(port) if port or port == 0 else int(sn_port or 5000)
        serve_app(self, host, port, options)


Flask = App  #: the name Flask's code imports from ``flask.app``
