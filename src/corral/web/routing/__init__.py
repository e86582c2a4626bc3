"""URL routing: rules, converters, the map and its matcher, and the routing
exceptions. Everything is importable from this package."""

from __future__ import annotations

from .converters import (
    DEFAULT_CONVERTERS,
    AnyConverter,
    BaseConverter,
    FloatConverter,
    IntegerConverter,
    NumberConverter,
    PathConverter,
    UnicodeConverter,
    UUIDConverter,
    ValidationError,
)
from .exceptions import BuildError, RequestPath, RequestRedirect, RoutingException
from .map import Map, MapAdapter
from .rules import Rule, parse_converter_args

__all__ = [
    "DEFAULT_CONVERTERS", "AnyConverter", "BaseConverter", "BuildError", "FloatConverter",
    "IntegerConverter", "Map", "MapAdapter", "NumberConverter", "PathConverter",
    "RequestPath", "RequestRedirect", "RoutingException", "Rule", "UUIDConverter",
    "UnicodeConverter", "ValidationError", "parse_converter_args",
]  # fmt: skip
