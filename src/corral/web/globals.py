"""Context-local proxies: ``current_app``, ``g``, ``request``, ``session``.

The active contexts live in two :class:`contextvars.ContextVar` objects, so the
proxies follow threads, asyncio tasks and greenlets alike.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Iterator

from .http import werkzeug_interop

if TYPE_CHECKING:
    from .app import App
    from .ctx import AppContext, RequestContext, _AppCtxGlobals
    from .sessions import SessionMixin
    from .wrappers import Request

_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(). See the documentation for more information."""

_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. Consult the documentation on testing for
information about how to avoid this problem."""

_cv_app: ContextVar[AppContext] = ContextVar("corral.web.app_ctx")
_cv_request: ContextVar[RequestContext] = ContextVar("corral.web.request_ctx")


class LocalProxy(metaclass=werkzeug_interop.WerkzeugKin):
    """Forward every operation to an attribute of the object in a ContextVar.

    An unbound proxy is falsy, has a descriptive ``repr`` and raises
    ``RuntimeError`` with a clear message on any other use.  Each proxy is an
    instance of its own small subclass (see :func:`_make_proxy`) whose
    ``__getattribute__`` reads the context variable directly. With Werkzeug
    installed it is also a ``werkzeug.local.LocalProxy``.
    """

    __slots__ = ()

    def __init__(self) -> None:
        """Nothing to store: the proxy's class knows its context variable."""

    def _get_current_object(self) -> Any:
        raise NotImplementedError

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get_current_object(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._get_current_object(), name)

    def __bool__(self) -> bool:
        try:
            return bool(self._get_current_object())
        except RuntimeError:
            return False

    def __repr__(self) -> str:
        try:
            return repr(self._get_current_object())
        except RuntimeError:
            return f"<{LocalProxy.__name__} unbound>"

    def __str__(self) -> str:
        return str(self._get_current_object())

    def __dir__(self) -> list[str]:
        try:
            return dir(self._get_current_object())
        except RuntimeError:
            return []

    def __eq__(self, other: object) -> bool:
        return bool(self._get_current_object() == other)

    def __ne__(self, other: object) -> bool:
        return bool(self._get_current_object() != other)

    def __hash__(self) -> int:
        return hash(self._get_current_object())

    def __len__(self) -> int:
        return len(self._get_current_object())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get_current_object())

    def __contains__(self, item: object) -> bool:
        return item in self._get_current_object()

    def __getitem__(self, key: Any) -> Any:
        return self._get_current_object()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._get_current_object()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._get_current_object()[key]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._get_current_object()(*args, **kwargs)


ContextProxy = LocalProxy  # the name it had first


def _make_proxy(var: ContextVar[Any], attr: str | None, message: str) -> Any:
    """A proxy for ``var.get()`` (or its attribute ``attr``)."""

    def current() -> Any:
        try:
            obj = var.get()
        except LookupError:
            raise RuntimeError(message) from None
        return obj if attr is None else getattr(obj, attr)

    var_get = var.get

    def __getattribute__(self: Any, name: str) -> Any:
        if name == "_get_current_object":
            return current
        try:
            obj = var_get()
        except LookupError:
            if name[:2] == "__" and name[-2:] == "__":  # __class__, __repr__...
                return object.__getattribute__(self, name)
            raise RuntimeError(message) from None
        if attr is not None:
            obj = getattr(obj, attr)
        return getattr(obj, name)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        try:
            obj = var_get()
        except LookupError:
            raise RuntimeError(message) from None
        setattr(obj if attr is None else getattr(obj, attr), name, value)

    cls = type(
        LocalProxy.__name__,
        (LocalProxy,),
        {
            "__slots__": (),
            "__getattribute__": __getattribute__,
            "__setattr__": __setattr__,
            "__module__": __name__,
        },
    )
    return cls()


#: The current app context (``g``, the app).
app_ctx: AppContext = _make_proxy(_cv_app, None, _no_app_msg)
#: The app handling the current request (or of the pushed app context).
current_app: App = _make_proxy(_cv_app, "app", _no_app_msg)
#: A namespace for data during one app context (one request): ``g.user = ...``.
g: _AppCtxGlobals = _make_proxy(_cv_app, "g", _no_app_msg)
#: The current request context.
request_ctx: RequestContext = _make_proxy(_cv_request, None, _no_req_msg)
#: The request being handled: ``request.args``, ``request.form``, ``request.json``...
request: Request = _make_proxy(_cv_request, "request", _no_req_msg)
#: The session of the current request: a dict kept in a signed cookie.
session: SessionMixin = _make_proxy(_cv_request, "session", _no_req_msg)

