"""Type aliases for what views, hooks and handlers may take and return (Flask's names)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Union

if TYPE_CHECKING:
    from .http.datastructures.headers import Headers
    from .http.response import Response

_WSGIApplication = Callable[[dict, Callable[..., Any]], Any]

ResponseValue = Union[
    "Response",
    str,
    bytes,
    list[Any],
    Mapping[str, Any],
    Iterator[str],
    Iterator[bytes],
    AsyncIterable[str],
    AsyncIterable[bytes],
]
HeaderValue = Union[str, list[str], tuple[str, ...]]
HeadersValue = Union["Headers", Mapping[str, HeaderValue], Sequence[tuple[str, HeaderValue]]]
ResponseReturnValue = Union[
    ResponseValue,
    tuple[ResponseValue, HeadersValue],
    tuple[ResponseValue, int],
    tuple[ResponseValue, int, HeadersValue],
    _WSGIApplication,
]
ResponseClass = TypeVar("ResponseClass", bound="Response")

# None is the app's key in the per-blueprint hook registries
AppOrBlueprintKey = str | None

AfterRequestCallable = Union[
    Callable[[ResponseClass], ResponseClass], Callable[[ResponseClass], Awaitable[ResponseClass]]
]
BeforeFirstRequestCallable = Union[Callable[[], None], Callable[[], Awaitable[None]]]
BeforeRequestCallable = Union[
    Callable[[], ResponseReturnValue | None],
    Callable[[], Awaitable[ResponseReturnValue | None]],
]
ShellContextProcessorCallable = Callable[[], dict[str, Any]]
TeardownCallable = Union[
    Callable[[BaseException | None], None], Callable[[BaseException | None], Awaitable[None]]
]
TemplateContextProcessorCallable = Union[
    Callable[[], dict[str, Any]], Callable[[], Awaitable[dict[str, Any]]]
]
TemplateFilterCallable = Callable[..., Any]
TemplateGlobalCallable = Callable[..., Any]
TemplateTestCallable = Callable[..., bool]
URLDefaultCallable = Callable[[str, dict[str, Any]], None]
URLValuePreprocessorCallable = Callable[[str | None, dict[str, Any] | None], None]
ErrorHandlerCallable = Union[
    Callable[[Any], ResponseReturnValue], Callable[[Any], Awaitable[ResponseReturnValue]]
]
RouteCallable = Union[
    Callable[..., ResponseReturnValue], Callable[..., Awaitable[ResponseReturnValue]]
]
