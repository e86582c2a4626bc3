"""Blueprints: deferred groups of routes and hooks registered on an app."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .scaffold import Scaffold, _endpoint_from_view_func, setupmethod

if TYPE_CHECKING:
    from .app_setup import AppSetup

F = TypeVar("F", bound=Callable[..., Any])
DeferredSetupFunction = Callable[["BlueprintSetupState"], None]
_sentinel: Any = object()


def _join_prefix(outer: str | None, inner: str | None) -> str | None:
    if outer is not None and inner is not None:
        return outer.rstrip("/") + "/" + inner.lstrip("/")
    return inner if inner is not None else outer


class BlueprintSetupState:
    """What a deferred function sees while a blueprint is registered on an app."""

    def __init__(
        self,
        blueprint: Blueprint,
        app: AppSetup,
        options: dict[str, Any],
        first_registration: bool,
    ) -> None:
        self.app = app
        self.blueprint = blueprint
        self.options = options
        self.first_registration = first_registration
        subdomain = options.get("subdomain")
        self.subdomain: str | None = blueprint.subdomain if subdomain is None else subdomain
        url_prefix = options.get("url_prefix")
        self.url_prefix: str | None = blueprint.url_prefix if url_prefix is None else url_prefix
        self.name: str = options.get("name", blueprint.name)
        self.name_prefix: str = options.get("name_prefix", "")
        self.url_defaults = dict(blueprint.url_values_defaults)
        self.url_defaults.update(options.get("url_defaults", ()))

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        **options: Any,
    ) -> None:
        """Add a blueprint's rule to the app, with the registration's URL prefix, subdomain, defaults and endpoint prefix."""
        if self.url_prefix is not None:
            rule = "/".join((self.url_prefix.rstrip("/"), rule.lstrip("/"))) if rule else self.url_prefix
        options.setdefault("subdomain", self.subdomain)
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)
        defaults = self.url_defaults
        if "defaults" in options:
            defaults = dict(defaults, **options.pop("defaults"))
        self.app.add_url_rule(
            rule,
            f"{self.name_prefix}.{self.name}.{endpoint}".lstrip("."),
            view_func,
            defaults=defaults,
            **options,
        )


class Blueprint(Scaffold):
    """Routes, hooks, templates and static files to register on an app later,
    possibly several times and nested in other blueprints."""

    _got_registered_once = False

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = _sentinel,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if not name:
            raise ValueError("'name' may not be empty.")
        if "." in name:
            raise ValueError("'name' may not contain a dot '.' character.")
        self.name = name
        self.url_prefix = url_prefix
        self.subdomain = subdomain
        self.deferred_functions: list[DeferredSetupFunction] = []
        self.url_values_defaults = {} if url_defaults is None else url_defaults
        self.cli_group = cli_group
        self._blueprints: list[tuple[Blueprint, dict[str, Any]]] = []

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_registered_once:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the blueprint"
                f" '{self.name}'. It has already been registered to an application at"
                " least once, any changes will not be applied consistently.\n"
                "Make sure all imports, decorators, functions, etc. needed to set up"
                " the blueprint are done before registering it."
            )

    @setupmethod
    def record(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` each time the blueprint is registered."""
        self.deferred_functions.append(func)

    @setupmethod
    def record_once(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` on the first registration only."""

        def wrapper(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        wrapper.__name__ = getattr(func, "__name__", "record_once")
        self.record(wrapper)

    def make_setup_state(
        self, app: AppSetup, options: dict[str, Any], first_registration: bool = False
    ) -> BlueprintSetupState:
        """The :class:`BlueprintSetupState` passed to the deferred setup functions of one registration."""
        return BlueprintSetupState(self, app, options, first_registration)

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Nest ``blueprint`` in this one; its names become ``self.child.view``."""
        if blueprint is self:
            raise ValueError("Cannot register a blueprint on itself")
        self._blueprints.append((blueprint, options))

    def register(self, app: AppSetup, options: dict[str, Any]) -> None:
        """Called by :meth:`App.register_blueprint`."""
        name_prefix = options.get("name_prefix", "")
        self_name = options.get("name", self.name)
        name = f"{name_prefix}.{self_name}".lstrip(".")
        if name in app.blueprints:
            bp_desc = "this" if app.blueprints[name] is self else "a different"
            existing_at = f" '{name}'" if self_name != name else ""
            raise ValueError(
                f"The name '{self_name}' is already registered for"
                f" {bp_desc} blueprint{existing_at}. Use 'name=' to"
                " provide a unique name."
            )
        first_bp_registration = not any(bp is self for bp in app.blueprints.values())
        first_name_registration = name not in app.blueprints
        app.blueprints[name] = self
        self._got_registered_once = True
        state = self.make_setup_state(app, options, first_bp_registration)
        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                view_func=self.send_static_file,
                endpoint="static",
            )
        if first_bp_registration or first_name_registration:
            self._merge_blueprint_funcs(app, name)
        for deferred in self.deferred_functions:
            deferred(state)
        self._register_cli(app, name, options)
        for blueprint, bp_options in self._blueprints:
            blueprint.register(app, self._child_options(state, name, blueprint, bp_options))
        app._hooks_changed()

    @staticmethod
    def _child_options(
        state: BlueprintSetupState, name: str, blueprint: Blueprint, bp_options: dict[str, Any]
    ) -> dict[str, Any]:
        opts = bp_options.copy()
        sub = opts.get("subdomain")
        if sub is None:
            sub = blueprint.subdomain
        if state.subdomain is not None and sub is not None:
            opts["subdomain"] = sub + "." + state.subdomain
        elif sub is not None or state.subdomain is not None:
            opts["subdomain"] = sub if sub is not None else state.subdomain
        prefix = opts.get("url_prefix")
        if prefix is None:
            prefix = blueprint.url_prefix
        joined = _join_prefix(state.url_prefix, prefix)
        if joined is not None:
            opts["url_prefix"] = joined
        opts["name_prefix"] = name
        return opts

    def _register_cli(self, app: AppSetup, name: str, options: dict[str, Any]) -> None:
        cli = self.__dict__.get("cli")
        if cli is None or not cli.commands:
            return
        group = options.get("cli_group", self.cli_group)
        if group is None:
            app.cli.commands.update(cli.commands)
        else:
            cli.name = name if group is _sentinel else group
            app.cli.add_command(cli)

    def _merge_blueprint_funcs(self, app: AppSetup, name: str) -> None:
        def extend(bp_dict: dict[Any, list[Any]], parent_dict: dict[Any, list[Any]]) -> None:
            for key, values in bp_dict.items():
                key = name if key is None else f"{name}.{key}"
                parent_dict.setdefault(key, []).extend(values)

        for key, value in self.error_handler_spec.items():
            key = name if key is None else f"{name}.{key}"
            app.error_handler_spec[key] = defaultdict(
                dict, {code: dict(handlers) for code, handlers in value.items()}
            )
        for endpoint, func in self.view_functions.items():
            app.view_functions[endpoint] = func
        extend(self.before_request_funcs, app.before_request_funcs)
        extend(self.after_request_funcs, app.after_request_funcs)
        extend(self.teardown_request_funcs, app.teardown_request_funcs)
        extend(self.url_default_functions, app.url_default_functions)
        extend(self.url_value_preprocessors, app.url_value_preprocessors)
        extend(self.template_context_processors, app.template_context_processors)

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Record a rule for the blueprint, added to the app (with the blueprint's prefix and endpoint name) on registration."""
        if endpoint and "." in endpoint:
            raise ValueError("'endpoint' may not contain a dot '.' character.")
        if view_func and hasattr(view_func, "__name__") and "." in view_func.__name__:
            raise ValueError("'view_func' name may not contain a dot '.' character.")
        self.record(
            lambda s: s.add_url_rule(
                rule,
                endpoint,
                view_func,
                provide_automatic_options=provide_automatic_options,
                **options,
            )
        )

    # -- hooks that apply to the whole app ------------------------------------------

    def _app_hook(self, attr: str, f: F) -> F:
        self.record_once(lambda s: getattr(s.app, attr).setdefault(None, []).append(f))
        return f

    @setupmethod
    def before_app_request(self, f: F) -> F:
        """Like :meth:`before_request`, but for every request of the app."""
        return self._app_hook("before_request_funcs", f)

    @setupmethod
    def after_app_request(self, f: F) -> F:
        """Like :meth:`after_request`, but for every request of the app."""
        return self._app_hook("after_request_funcs", f)

    @setupmethod
    def teardown_app_request(self, f: F) -> F:
        """Like :meth:`teardown_request`, but for every request of the app."""
        return self._app_hook("teardown_request_funcs", f)

    @setupmethod
    def app_context_processor(self, f: F) -> F:
        """Like :meth:`context_processor`, but for every template the app renders."""
        return self._app_hook("template_context_processors", f)

    @setupmethod
    def app_url_value_preprocessor(self, f: F) -> F:
        """Like :meth:`url_value_preprocessor`, but for every request of the app."""
        return self._app_hook("url_value_preprocessors", f)

    @setupmethod
    def app_url_defaults(self, f: F) -> F:
        """Like :meth:`url_defaults`, but for every URL the app builds."""
        return self._app_hook("url_default_functions", f)

    @setupmethod
    def before_app_first_request(self, f: F) -> F:
        """Register ``f()`` to run once before the app's first request."""
        self.record_once(lambda s: s.app.before_first_request_funcs.append(f))
        return f

    @setupmethod
    def app_errorhandler(self, code: type[BaseException] | int) -> Callable[[F], F]:
        """Like :meth:`errorhandler`, but for errors anywhere in the app."""
        def decorator(f: F) -> F:
            self.record_once(lambda s: s.app.register_error_handler(code, f))
            return f

        return decorator

    def _app_template(self, kind: str, name: str | Callable[..., Any] | None) -> Any:
        def add(f: F, name: str | None = None) -> F:
            self.record_once(lambda s: getattr(s.app, f"add_template_{kind}")(f, name=name))
            return f

        if callable(name):
            return add(name)
        return lambda f: add(f, name)

    @setupmethod
    def app_template_filter(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Register a Jinja filter for the whole app (decorator; ``name`` defaults to the function's)."""
        return self._app_template("filter", name)

    @setupmethod
    def add_app_template_filter(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register ``f`` as a Jinja filter for the whole app."""
        self._app_template("filter", name)(f)

    @setupmethod
    def app_template_test(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Register a Jinja test for the whole app (decorator)."""
        return self._app_template("test", name)

    @setupmethod
    def add_app_template_test(self, f: Callable[..., bool], name: str | None = None) -> None:
        """Register ``f`` as a Jinja test for the whole app."""
        self._app_template("test", name)(f)

    @setupmethod
    def app_template_global(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Register a Jinja global for the whole app (decorator)."""
        return self._app_template("global", name)

    @setupmethod
    def add_app_template_global(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register ``f`` as a Jinja global for the whole app."""
        self._app_template("global", name)(f)
