"""Jinja2 integration: the app's environment, its loader and the render functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import BaseLoader, Template, TemplateNotFound

from . import helpers
from .debughelpers import explain_template_loading_attempts
from .globals import _cv_app, _cv_request, _no_app_msg, g, request, session
from .helpers import stream_with_context
from .signals import before_render_template, template_rendered

if TYPE_CHECKING:
    from .app import App
    from .app_setup import AppSetup

AUTOESCAPE_EXTENSIONS = (".html", ".htm", ".xml", ".xhtml", ".svg")


def select_jinja_autoescape(filename: str | None) -> bool:
    """Autoescape templates from strings and HTML/XML/SVG files."""
    if filename is None:
        return True
    return filename.endswith(AUTOESCAPE_EXTENSIONS)


def _default_template_ctx_processor() -> dict[str, Any]:
    """``g`` always, ``request`` and ``session`` inside a request."""
    rv: dict[str, Any] = {}
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        rv["g"] = app_ctx.g
    req_ctx = _cv_request.get(None)
    if req_ctx is not None:
        rv["request"] = req_ctx.request
        rv["session"] = req_ctx.session
    return rv


class Environment(jinja2.Environment):
    """A Jinja environment that knows its app and loads templates through it.

    Created as ``Environment(app, **app.jinja_options)``; fills in Flask's defaults
    (autoescape by extension, auto-reload from ``TEMPLATES_AUTO_RELOAD`` or debug,
    the ``url_for``/``get_flashed_messages``/``config``/``request``/``session``/``g``
    globals and ``tojson`` through ``app.json``).
    """

    def __init__(self, app: App, **options: Any) -> None:
        if "loader" not in options:
            options["loader"] = app.create_global_jinja_loader()
        options.setdefault("autoescape", app.select_jinja_autoescape)
        if "auto_reload" not in options:
            auto_reload = app.config.get("TEMPLATES_AUTO_RELOAD")
            options["auto_reload"] = bool(app.debug if auto_reload is None else auto_reload)
        super().__init__(**options)
        self.app = app

        self.globals.update(
            url_for=app.url_for,
            get_flashed_messages=helpers.get_flashed_messages,
            config=app.config,
            request=request,
            session=session,
            g=g,
        )
        json = getattr(app, "json", None)
        if json is not None:
            self.policies["json.dumps_function"] = json.dumps


class DispatchingJinjaLoader(BaseLoader):
    """Looks in the app's template folder, then in each blueprint's, in order."""

    def __init__(self, app: AppSetup) -> None:
        self.app = app

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if self.app.config.get("EXPLAIN_TEMPLATE_LOADING"):
            return self._get_source_explained(environment, template)
        for _owner, loader in self._iter_loaders():
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def _get_source_explained(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        attempts: list[tuple[Any, Any, Any]] = []
        found: tuple[str, str | None, Callable[[], bool] | None] | None = None
        for owner, loader in self._iter_loaders():
            try:
                rv = loader.get_source(environment, template)
            except TemplateNotFound:
                rv = None
            attempts.append((loader, owner, rv))
            if found is None:
                found = rv
        explain_template_loading_attempts(self.app, template, attempts)
        if found is None:
            raise TemplateNotFound(template)
        return found

    def _iter_loaders(self) -> Iterator[tuple[Any, BaseLoader]]:
        loader = getattr(self.app, "jinja_loader", None)
        if loader is not None:
            yield self.app, loader
        for blueprint in _iter_blueprints(self.app):
            loader = getattr(blueprint, "jinja_loader", None)
            if loader is not None:
                yield blueprint, loader

    def list_templates(self) -> list[str]:
        names: set[str] = set()
        for _owner, loader in self._iter_loaders():
            names.update(loader.list_templates())
        return sorted(names)


def _iter_blueprints(app: AppSetup) -> Iterable[Any]:
    iter_blueprints = getattr(app, "iter_blueprints", None)
    if iter_blueprints is not None:
        return iter_blueprints()
    return list(getattr(app, "blueprints", {}).values())


def _request_blueprints() -> list[str]:
    """Names of the current request's blueprint and its parents, innermost first."""
    req_ctx = _cv_request.get(None)
    if req_ctx is None:
        return []
    request = req_ctx.request
    names = getattr(request, "blueprints", None)
    if names is not None:
        return list(names)
    name = getattr(request, "blueprint", None)
    if not name:
        return []
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def update_template_context(app: AppSetup, context: dict[str, Any]) -> None:
    """Add the values of the context processors (app, then blueprints outer to
    inner); the values passed to the render call win over them."""
    original = context.copy()
    context.update(_default_template_ctx_processor())
    processors: dict[Any, list[Callable[[], dict[str, Any]]]] = getattr(
        app, "template_context_processors", {}
    )
    for name in (None, *reversed(_request_blueprints())):
        for func in processors.get(name, ()):
            if func is _default_template_ctx_processor:
                continue
            context.update(_ensure_sync(app, func)())
    context.update(original)


def _ensure_sync(app: AppSetup, func: Callable[..., Any]) -> Callable[..., Any]:
    ensure_sync = getattr(app, "ensure_sync", None)
    return func if ensure_sync is None else ensure_sync(func)


def _current_app() -> App:
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_msg)
    return ctx.app


def _prepare(app: App, template: Template, context: dict[str, Any]) -> None:
    app.update_template_context(context)
    before_render_template.send(app, template=template, context=context)


def _render(app: App, template: Template, context: dict[str, Any]) -> str:
    _prepare(app, template, context)
    rv = template.render(context)
    template_rendered.send(app, template=template, context=context)
    return rv


def _stream(app: App, template: Template, context: dict[str, Any]) -> Iterator[str]:
    _prepare(app, template, context)

    def generate() -> Iterator[str]:
        yield from template.generate(context)
        template_rendered.send(app, template=template, context=context)

    rv = generate()
    if _cv_request.get(None) is not None:
        rv = stream_with_context(rv)
    return rv


def render_template(
    template_name_or_list: str | Template | list[str | Template], **context: Any
) -> str:
    """Render a template from the app's (or a blueprint's) template folders.

    :param template_name_or_list: the template's name, or a list of names (the
        first that exists is used), or a Template object.
    :param context: the names the template sees, beside the context processors'.
    :return: the rendered text.
    """
    app = _current_app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _render(app, template, context)


def render_template_string(source: str, **context: Any) -> str:
    """Render a template given as a string (always autoescaped)."""
    app = _current_app()
    template = app.jinja_env.from_string(source)
    return _render(app, template, context)


def stream_template(
    template_name_or_list: str | Template | list[str | Template], **context: Any
) -> Iterator[str]:
    """Render a template piece by piece, as an iterator for a streamed response."""
    app = _current_app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _stream(app, template, context)


def stream_template_string(source: str, **context: Any) -> Iterator[str]:
    """Like :func:`stream_template`, from a string."""
    app = _current_app()
    template = app.jinja_env.from_string(source)
    return _stream(app, template, context)
