"""URL converters: turn one URL part into a Python value and back."""

from __future__ import annotations

import re
import typing as t
import uuid
from collections.abc import Callable, Mapping
from urllib.parse import quote

if t.TYPE_CHECKING:
    from .map import Map

URL_SAFE = "!$&'()*+,/:;=@"
#: text that ``quote(text, safe=URL_SAFE)`` returns unchanged (its always-safe
#: characters and URL_SAFE): most values built into URLs are, and need no quoting
_UNQUOTED = re.compile("[A-Za-z0-9_.~" + re.escape(URL_SAFE) + "-]*").fullmatch


class ValidationError(ValueError):
    """Raised by a converter's ``to_python`` to reject a value: the rule does not match."""


# -- converters


class BaseConverter:
    """Turns one URL part into a Python value and back."""

    regex = "[^/]+"
    weight = 100
    part_isolating = True

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "regex" in cls.__dict__ and "part_isolating" not in cls.__dict__:
            cls.part_isolating = "/" not in cls.regex

    def __init__(self, map: Map, *args: t.Any, **kwargs: t.Any) -> None:
        self.map = map

    def to_python(self, value: str) -> t.Any:
        return value

    def to_url(self, value: t.Any) -> str:
        text = str(value)
        return text if _UNQUOTED(text) else quote(text, safe=URL_SAFE)


class UnicodeConverter(BaseConverter):
    """``string(minlength=1, maxlength=None, length=None)``: one path segment."""

    def __init__(
        self,
        map: Map,
        minlength: int = 1,
        maxlength: int | None = None,
        length: int | None = None,
    ) -> None:
        super().__init__(map)
        if length is not None:
            rng = f"{{{int(length)}}}"
        else:
            rng = f"{{{int(minlength)},{'' if maxlength is None else int(maxlength)}}}"
        self.regex = f"[^/]{rng}"


class AnyConverter(BaseConverter):
    """``any(a, b, c)``: one of the listed strings."""

    def __init__(self, map: Map, *items: str) -> None:
        super().__init__(map)
        self.items = set(items)
        self.regex = f"(?:{'|'.join(re.escape(x) for x in items)})"

    def to_url(self, value: t.Any) -> str:
        if value in self.items:
            return str(value)
        valid = "', '".join(sorted(self.items))
        raise ValueError(f"'{value}' is not one of '{valid}'")


class PathConverter(BaseConverter):
    """``path``: like string but accepts slashes."""

    part_isolating = False
    regex = "[^/].*?"
    weight = 200


class NumberConverter(BaseConverter):
    weight = 50
    num_convert: Callable[[str], t.Any] = int
    signed_regex = ""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: t.Any = None,
        max: t.Any = None,
        signed: bool = False,
    ) -> None:
        if signed:
            self.regex = self.signed_regex
        super().__init__(map)
        self.fixed_digits = fixed_digits
        self.min = min
        self.max = max
        self.signed = signed
        cls = type(self)
        if not fixed_digits and min is None and max is None and cls.to_python is NumberConverter.to_python:
            self.to_python = cls.num_convert  # type: ignore[method-assign,assignment]

    def to_python(self, value: str) -> t.Any:
        if self.fixed_digits and len(value) != self.fixed_digits:
            raise ValidationError()
        number = type(self).num_convert(value)
        if (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise ValidationError()
        return number

    def to_url(self, value: t.Any) -> str:
        text = str(type(self).num_convert(value))
        if self.fixed_digits:
            text = text.zfill(self.fixed_digits)
        return text


class IntegerConverter(NumberConverter):
    """``int(fixed_digits=0, min=None, max=None, signed=False)``."""

    regex = r"\d+"
    signed_regex = r"-?\d+"


class FloatConverter(NumberConverter):
    """``float(min=None, max=None, signed=False)``."""

    regex = r"\d+\.\d+"
    signed_regex = r"-?\d+\.\d+"
    num_convert = float

    def __init__(
        self, map: Map, min: float | None = None, max: float | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, min=min, max=max, signed=signed)


class UUIDConverter(BaseConverter):
    regex = (
        r"[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}"
    )

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value: t.Any) -> str:
        return str(value)


DEFAULT_CONVERTERS: Mapping[str, type[BaseConverter]] = {
    "default": UnicodeConverter,
    "string": UnicodeConverter,
    "any": AnyConverter,
    "path": PathConverter,
    "int": IntegerConverter,
    "float": FloatConverter,
    "uuid": UUIDConverter,
}
