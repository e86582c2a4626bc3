"""The application object: serving requests (wsgi_app and the steps it runs); its
setup half (configuration and registrations) is :class:`~corral.web.app_setup.AppSetup`."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import update_wrapper
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar
from urllib.parse import quote

from . import signals
from .app_setup import (
    _APP_ONLY,
    _BAD_REQUEST_KEY_ERRORS,
    _REQUEST_REDIRECTS,
    AppSetup,
    _blueprint_chain,
    _sentinel,
)
from .ctx import _UNBOUND, AppContext, RequestContext
from .debughelpers import check_routing_redirect
from .globals import _cv_app, _cv_request, request
from .http.datastructures.headers import Headers
from .http.exceptions import (
    HTTP_EXCEPTIONS,
    HTTPException,
    InternalServerError,
)
from .http.response import redirect
from .plan import RequestPlan
from .routing.exceptions import BuildError
from .sessions import SecureCookieSessionInterface, SessionInterface
from .wrappers import Request, Response, make_response_from_view

if TYPE_CHECKING:
    from .testing import CliRunner, TestClient

F = TypeVar("F", bound=Callable[..., Any])


class App(AppSetup):
    """A WSGI application with Flask's API.

    ``app = App(__name__)``; register views with ``@app.route``; serve it with
    any WSGI server (``app(environ, start_response)``) or ``app.run()``.
    """

    test_client_class: type[TestClient] | None = None
    test_cli_runner_class: type[CliRunner] | None = None
    session_interface: SessionInterface = SecureCookieSessionInterface()

    # -- contexts ---------------------------------------------------------------

    def app_context(self) -> AppContext:
        """A new :class:`~corral.web.ctx.AppContext` for this app; use it as
        ``with app.app_context():`` to make ``current_app`` and ``g`` available
        outside a request (in a CLI command or a test).
        """
        return AppContext(self)

    def request_context(self, environ: dict[str, Any]) -> RequestContext:
        """A new :class:`~corral.web.ctx.RequestContext` for a WSGI environ;
        :meth:`wsgi_app` pushes one for each request.

        :param environ: the WSGI environment.
        :return: the context, not pushed yet.
        """
        return RequestContext(self, environ)

    def test_request_context(self, *args: Any, **kwargs: Any) -> RequestContext:
        """A request context for a request built from test arguments, for using
        ``request`` and ``session`` outside a real request::

            with app.test_request_context("/?q=1", method="POST"):
                ...

        Takes the arguments of :class:`~corral.web.testing.EnvironBuilder`
        (path, base_url, query_string, method, headers, data, json...).
        """
        from .testing import EnvironBuilder  # the test tools load only when tests use them

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies: bool = True, **kwargs: Any) -> TestClient:
        """A test client for the app: send requests without a server.

        :param use_cookies: keep cookies between requests, as a browser does.
        :param kwargs: passed to ``test_client_class``.
        :return: a :class:`~corral.web.testing.TestClient`; use it as a context manager
            to keep the last request's context for inspection.
        """
        cls: Any = self.test_client_class
        if cls is None:
            from .testing import TestClient as cls  # loaded only when tests use it
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def test_cli_runner(self, **kwargs: Any) -> CliRunner:
        """A :class:`~corral.web.testing.CliRunner` that invokes the app's CLI commands in tests."""
        cls: Any = self.test_cli_runner_class
        if cls is None:
            from .testing import CliRunner as cls  # loaded only when tests use it
        return cls(self, **kwargs)

    def _routes_by_path(self) -> bool:
        """Does matching a request depend on its path and method only? (The stock
        ``create_url_adapter``; no ``SERVER_NAME``, trusted hosts, host or
        subdomain matching, and no rule tied to a host or subdomain.)"""
        config = self.config
        url_map = self.url_map
        return (
            config["SERVER_NAME"] is None
            and config["TRUSTED_HOSTS"] is None
            and not self.subdomain_matching
            and not url_map.host_matching
            and not url_map._check_domain
            and (self._request_plan or self.request_plan).stock_url_adapter
        )

    def create_url_adapter(self, request: Request | None) -> Any:
        """The URL map bound to a request (or, with ``request`` None, to the
        ``SERVER_NAME`` setting) for matching and building URLs.

        :param request: the request, or None outside a request.
        :return: a :class:`~corral.web.routing.MapAdapter`, or None when there is no
            request and no ``SERVER_NAME``.
        """
        config = self.config
        if request is not None:
            trusted = config["TRUSTED_HOSTS"]
            if trusted is not None:
                request.trusted_hosts = trusted
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

    def _hooks_changed(self) -> None:
        """A hook was registered: the request plan is decided again."""
        self._request_plan = None

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

    def _run_before_first_request(self) -> None:
        with self._before_first_request_lock:
            if not self._got_first_request:
                for func in self.before_first_request_funcs:
                    self.ensure_sync(func)()
                self._got_first_request = True

    def full_dispatch_request(self) -> Response:
        """Run a request from the request_started signal to the finished response:
        before-request hooks, the view (or a handled error), then
        :meth:`finalize_request`.

        :return: the response object.
        """
        if not self._got_first_request:
            self._run_before_first_request()
        try:
            if signals.request_started.receivers:
                signals.request_started.send(self, _async_wrapper=self.ensure_sync)
            plan = self._request_plan or self.request_plan
            rv = self.preprocess_request() if plan.run_preprocess else None
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def finalize_request(self, rv: Any, from_error_handler: bool = False) -> Response:
        """Turn a view's return value into the final response: :meth:`make_response`,
        after-request hooks and session saving (:meth:`process_response`), and the
        request_finished signal.

        :param rv: the view's (or error handler's) return value.
        :param from_error_handler: when True, an error while finalizing is logged
            instead of raised.
        :return: the response object.
        """
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
        """Run the URL value preprocessors and before-request functions (the app's,
        then the request's blueprints'). A before-request function that returns a
        value stops the request: that value is the response.

        :return: that value, or None to go on to the view.
        """
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
        """Raise the routing error kept on ``request`` (404, 405, or a redirect
        that adds a slash). In debug mode a redirect that would drop a form body
        raises a clear error instead.
        """
        exc: Any = request.routing_exception
        if self.debug and isinstance(exc, _REQUEST_REDIRECTS):
            check_routing_redirect(request)  # a redirect that drops form data is an error
        raise exc

    def dispatch_request(self) -> Any:
        """Call the view function matched for the current request, with the URL's
        values as keyword arguments (``OPTIONS`` is answered automatically when the
        rule provides it).

        :return: the view's return value, not yet a response.
        """
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule: Any = req.url_rule
        if req.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return self.make_default_options_response()
        view = self.view_functions[rule.endpoint]
        return (self._sync_cache.get(view) or self.ensure_sync(view))(**req.view_args)  # type: ignore[arg-type]

    def make_default_options_response(self) -> Response:
        """The automatic answer to ``OPTIONS``: an empty response whose ``Allow`` header lists the URL's methods."""
        adapter = _cv_request.get().url_adapter
        methods = adapter.allowed_methods()
        rv = self.response_class()
        rv.headers["Allow"] = ", ".join(sorted(methods))
        return rv

    def process_response(self, response: Response) -> Response:
        """Run the after-request functions (the request's own, then the blueprints',
        then the app's, last registered first) and save the session.

        :param response: the response from :meth:`make_response`.
        :return: the response the functions returned.
        """
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
        if ctx._session is None and si is (self._request_plan or self.request_plan).stock_session_interface:
            # the stock session, not opened during the request, and either not sent
            # by the client or unreadable without a secret key (it would open as
            # the null session, which is never saved): there is nothing to save
            cookies = ctx.request.environ.get("HTTP_COOKIE")
            if (not cookies or self.config["SESSION_COOKIE_NAME"] not in cookies
                    or not self.secret_key):
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
        """Run the teardown-request functions (last registered first) and send the
        request_tearing_down signal; called when the request context is popped.

        :param exc: the unhandled exception of the request, or None.
        """
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
        """Run the teardown-appcontext functions and send the
        appcontext_tearing_down signal; called when the app context is popped.

        :param exc: the unhandled exception, or None.
        """
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        if self.teardown_appcontext_funcs:
            for func in reversed(self.teardown_appcontext_funcs):
                self.ensure_sync(func)(exc)
        if signals.appcontext_tearing_down.receivers:
            signals.appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    # -- errors ---------------------------------------------------------------------

    def handle_http_exception(self, e: HTTPException) -> Any:
        """Answer an HTTP exception: its registered error handler's result, or the
        exception itself (which is a response). Redirects from routing are returned
        as they are.
        """
        if e.code is None or isinstance(e, _REQUEST_REDIRECTS):
            return e
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            return e
        return self.ensure_sync(handler)(e)

    def handle_user_exception(self, e: Exception) -> Any:
        """Handle an exception raised by a view or a hook: HTTP exceptions go to
        :meth:`handle_http_exception`; others to their registered error handler.
        Without a handler the exception is re-raised (to :meth:`handle_exception`).

        :return: the handler's return value.
        """
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
        """Handle an exception no error handler caught: send the
        got_request_exception signal, then re-raise it in debug or testing mode
        (``PROPAGATE_EXCEPTIONS``), else log it and answer 500 (with the handler
        registered for 500 or :class:`InternalServerError`, if any).

        :param e: the unhandled exception.
        :return: the 500 response.
        """
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
        """Log an unhandled exception with the app's logger (``app.logger.error``, with the path and method)."""
        self.logger.error(f"Exception on {request.path} [{request.method}]", exc_info=exc_info)

    # -- responses and URLs -----------------------------------------------------------

    #: Turn a view's return value into a response (Flask's accepted types).
    make_response: ClassVar[Callable[[App, Any], Response]] = make_response_from_view

    def redirect(self, location: str, code: int = 302) -> Response:
        """A redirect response of the app's response class.

        :param location: the URL to redirect to.
        :param code: the status code (302 by default).
        :return: the response.
        """

        return redirect(location, code=code, Response=self.response_class)

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
        """Build the URL of an endpoint; what :func:`corral.web.url_for` calls.

        :param endpoint: the endpoint name; ``".name"`` means the current blueprint's.
        :param _anchor: a fragment to append (``#...``).
        :param _method: the method the rule must allow, to pick among rules.
        :param _scheme: the URL scheme, for an external URL.
        :param _external: an absolute URL (with scheme and host); the default inside a
            request is a path, outside one an absolute URL (needs ``SERVER_NAME``).
        :param values: the rule's variables; unknown ones become the query string.
        :return: the URL.
        :raises BuildError: when no rule fits (unless a URL build error handler
            answers).
        """
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            url_adapter = req_ctx._url_adapter
            if url_adapter is _UNBOUND:
                url_adapter = req_ctx.url_adapter
            if endpoint[:1] == ".":
                blueprint_name = req_ctx.request.blueprint
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
            rv = f"{rv}#{quote(_anchor, safe='%!#$&' + chr(39) + '()*+,/:;=?@')}"
        return rv

    # -- serving ----------------------------------------------------------------------

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: Any,
    ) -> None:
        """Serve the app with corral's server, for development (blocks until stopped).

        :param host: the interface to listen on (``127.0.0.1``, or ``SERVER_NAME``'s host).
        :param port: the port (5000, or ``SERVER_NAME``'s port).
        :param debug: turn debug mode on or off (and the reloader with it).
        :param load_dotenv: read ``.env`` and ``.flaskenv`` first, as ``corral-web run`` does.
        :param options: the development server's options (``use_reloader``,
            ``threaded``, ``ssl_context``...).

        Does nothing under ``corral-web run`` (which sets ``CORRAL_RUN_FROM_CLI``),
        so a module that calls ``app.run()`` when imported does not start a
        second server.
        """
        if os.environ.get("CORRAL_RUN_FROM_CLI") == "true":
            return
        # the server is imported by App.run only (corral.server never loads with an app)
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
