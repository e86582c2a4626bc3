"""Context-local proxies: ``current_app``, ``g``, ``request``, ``session``.

The active contexts live in two :class:`contextvars.ContextVar` objects, so the
proxies follow threads, asyncio tasks and greenlets alike.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from .app import App
    from .ctx import AppContext, RequestContext, _AppCtxGlobals
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


class ContextProxy:
    """Forward every operation to an attribute of the object in a ContextVar.

    An unbound proxy is falsy, has a descriptive ``repr`` and raises
    ``RuntimeError`` with a clear message on any other use.
    """

    __slots__ = ("_cp_var", "_cp_attr", "_cp_msg")

    def __init__(self, var: ContextVar[Any], attr: str | None, message: str) -> None:
        object.__setattr__(self, "_cp_var", var)
        object.__setattr__(self, "_cp_attr", attr)
        object.__setattr__(self, "_cp_msg", message)

    def _get_current_object(self) -> Any:
        try:
            obj = self._cp_var.get()
        except LookupError:
            raise RuntimeError(self._cp_msg) from None
        attr = self._cp_attr
        return obj if attr is None else getattr(obj, attr)

    def __getattr__(self, name: str) -> Any:
        try:
            obj = self._cp_var.get()
        except LookupError:
            raise RuntimeError(self._cp_msg) from None
        attr = self._cp_attr
        if attr is not None:
            obj = getattr(obj, attr)
        return getattr(obj, name)

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            obj = self._cp_var.get()
        except LookupError:
            raise RuntimeError(self._cp_msg) from None
        attr = self._cp_attr
        setattr(obj if attr is None else getattr(obj, attr), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._get_current_object(), name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        try:
            return type(self._get_current_object())
        except RuntimeError:
            return type(self)

    def __bool__(self) -> bool:
        try:
            return bool(self._get_current_object())
        except RuntimeError:
            return False

    def __repr__(self) -> str:
        try:
            return repr(self._get_current_object())
        except RuntimeError:
            return f"<{type(self).__name__} unbound>"

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


app_ctx: AppContext = ContextProxy(_cv_app, None, _no_app_msg)  # type: ignore[assignment]
current_app: App = ContextProxy(_cv_app, "app", _no_app_msg)  # type: ignore[assignment]
g: _AppCtxGlobals = ContextProxy(_cv_app, "g", _no_app_msg)  # type: ignore[assignment]
request_ctx: RequestContext = ContextProxy(_cv_request, None, _no_req_msg)  # type: ignore[assignment]
request: Request = ContextProxy(_cv_request, "request", _no_req_msg)  # type: ignore[assignment]
session: Any = ContextProxy(_cv_request, "session", _no_req_msg)

