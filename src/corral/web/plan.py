"""What an app's requests need, decided once.

:class:`RequestPlan` holds the per-app facts that the request path would
otherwise re-derive on every request: which hooks exist and whether the
steps that run them are the stock ones, and which session interface may be
skipped when a request never touches its session. ``App.request_plan`` builds
it at the first request, once setup is locked (setup methods refuse to run
after it), and keeps it; before that it is rebuilt on each use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .sessions import SecureCookieSessionInterface

if TYPE_CHECKING:
    from .app import App


def _overridden(app: App, base: type, name: str) -> bool:
    """Does ``app``'s class or the instance itself replace ``base``'s ``name``?"""
    return getattr(type(app), name) is not getattr(base, name) or name in app.__dict__


def _any_hooks(registry: dict[Any, list[Any]]) -> bool:
    return any(registry.values())


@dataclass(frozen=True)
class RequestPlan:
    """The per-app decisions of the request path.

    Each ``run_*`` field says whether a step has anything to do: True when
    hooks are registered for it or the app overrides the method that runs it.
    Signals are not part of the plan: receivers may connect at any time, so
    the path checks them on each request.
    """

    #: call ``preprocess_request`` (before_request functions or URL value preprocessors)
    run_preprocess: bool
    #: run ``do_teardown_request`` when the request context pops
    run_teardown_request: bool
    #: run ``do_teardown_appcontext`` when the app context pops
    run_teardown_appcontext: bool
    #: the app's session interface when it is the stock cookie one: a request that
    #: neither opened the session nor sent its cookie has nothing to save
    stock_session_interface: Any
    #: ``create_url_adapter`` is the stock one: with routing by path alone, a request
    #: is matched without binding the map to its host (bound when something needs it)
    stock_url_adapter: bool = True

    @classmethod
    def for_app(cls, app: App, base: type) -> RequestPlan:
        """The plan of ``app``, whose stock methods are those of ``base``."""

        si = app.session_interface
        return cls(
            run_preprocess=(
                _any_hooks(app.before_request_funcs)
                or _any_hooks(app.url_value_preprocessors)
                or _overridden(app, base, "preprocess_request")
            ),
            run_teardown_request=(
                _any_hooks(app.teardown_request_funcs)
                or _overridden(app, base, "do_teardown_request")
            ),
            run_teardown_appcontext=(
                bool(app.teardown_appcontext_funcs)
                or _overridden(app, base, "do_teardown_appcontext")
            ),
            stock_session_interface=si if type(si) is SecureCookieSessionInterface else None,
            stock_url_adapter=not _overridden(app, base, "create_url_adapter"),
        )
