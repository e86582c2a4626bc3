"""The template side of the application object: the Jinja environment's
factories and the registration of template filters, tests and globals."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from .scaffold import setupmethod

F = TypeVar("F", bound=Callable[..., Any])


class TemplateMixin:
    """Jinja integration methods of :class:`~corral.web.App` (Flask's names)."""

    jinja_environment: Any
    jinja_options: dict[str, Any]
    jinja_env: Any

    def create_jinja_environment(self) -> Any:
        env_class = self.jinja_environment
        if env_class is None:
            from .templating import Environment as env_class
        return env_class(self, **dict(self.jinja_options))

    def create_global_jinja_loader(self) -> Any:
        from .templating import DispatchingJinjaLoader

        return DispatchingJinjaLoader(self)  # type: ignore[arg-type]

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        from .templating import select_jinja_autoescape

        return select_jinja_autoescape(filename)

    def update_template_context(self, context: dict[str, Any]) -> None:
        from .templating import update_template_context

        update_template_context(self, context)  # type: ignore[arg-type]

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
        return self._template_registrar("filter", name)

    @setupmethod
    def add_template_filter(self, f: Callable[..., Any], name: str | None = None) -> None:
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(self, name: str | Callable[..., Any] | None = None) -> Any:
        return self._template_registrar("test", name)

    @setupmethod
    def add_template_test(self, f: Callable[..., bool], name: str | None = None) -> None:
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(self, name: str | Callable[..., Any] | None = None) -> Any:
        return self._template_registrar("global", name)

    @setupmethod
    def add_template_global(self, f: Callable[..., Any], name: str | None = None) -> None:
        self.jinja_env.globals[name or f.__name__] = f
