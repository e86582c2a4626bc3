"""Headers: an ordered, case-insensitive, multi-valued header collection, and
EnvironHeaders, its read-only view of a WSGI environ."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping

from .. import werkzeug_interop
from ..header_syntax import dump_options_header
from .structures import _convert, _iter_pairs, _key_error, _missing

K = t.TypeVar("K")
V = t.TypeVar("V")


def _header_value(value: t.Any) -> str:
    if not isinstance(value, str):
        value = str(value)
    if "\n" in value or "\r" in value:
        raise ValueError("Header values must not contain newline characters.")
    return value


def _with_params(value: t.Any, params: Mapping[str, t.Any]) -> str:
    value = _header_value(value)
    if not params:
        return value
    return dump_options_header(value, {k.replace("_", "-"): v for k, v in params.items()})


class Headers(metaclass=werkzeug_interop.WerkzeugKin):
    """An ordered, case-insensitive, multi-valued collection of HTTP headers.

    Also a ``werkzeug.datastructures.Headers`` when Werkzeug is installed (the same
    ``_list`` of pairs inside).
    """

    def __init__(self, defaults: t.Any = None) -> None:
        self._list: list[tuple[str, str]] = []
        if defaults is not None:
            self.extend(defaults)

    # -- reading
    def __getitem__(self, key: t.Any) -> t.Any:
        if isinstance(key, int):
            return self._list[key]
        if isinstance(key, slice):
            return type(self)(self._list[key])
        if not isinstance(key, str):
            raise _key_error(key)
        value = self._first(key)
        if value is _missing:
            raise _key_error(key)
        return value

    def _first(self, key: str) -> t.Any:
        """The first value of the name ``key`` (any case), or ``_missing``."""
        ikey = key.lower()
        for k, v in self._list:
            if k.lower() == ikey:
                return v
        return _missing

    def get(
        self, key: str, default: t.Any = None, type: Callable[[str], t.Any] | None = None
    ) -> t.Any:
        if key.__class__ is str and self.__class__.__getitem__ is _getitem:
            # no KeyError made and caught for a missing name (a response's headers
            # are asked for absent ones often); a subclass's own __getitem__ is used
            value = self._first(key)
            if value is _missing:
                return default
            return value if type is None else _convert(value, type, default)
        try:
            value = self[key]
        except KeyError:
            return default
        return _convert(value, type, default)

    def getlist(self, key: str, type: Callable[[str], t.Any] | None = None) -> list[t.Any]:
        ikey = key.lower()
        result = []
        for k, v in self._list:
            if k.lower() == ikey:
                if type is not None:
                    try:
                        result.append(type(v))
                    except (ValueError, TypeError):
                        continue
                else:
                    result.append(v)
        return result

    def get_all(self, name: str) -> list[str]:
        return self.getlist(name)

    def items(self, lower: bool = False) -> Iterator[tuple[str, str]]:
        for k, v in self:
            yield (k.lower() if lower else k), v

    def keys(self, lower: bool = False) -> Iterator[str]:
        for k, _v in self.items(lower):
            yield k

    def values(self) -> Iterator[str]:
        for _k, v in self.items():
            yield v

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._list)

    def __len__(self) -> int:
        return len(self._list)

    def __bool__(self) -> bool:
        return bool(self._list)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return self._first(key) is not _missing

    def has_key(self, key: str) -> bool:
        return key in self

    # -- writing
    def add(self, key: str, value: t.Any, **params: t.Any) -> None:
        self._list.append((key, _with_params(value, params)))

    def add_header(self, key: str, value: t.Any, **params: t.Any) -> None:
        self.add(key, value, **params)

    def set(self, key: str, value: t.Any, **params: t.Any) -> None:
        value = _with_params(value, params)
        ikey = key.lower()
        lst = self._list
        for idx, (k, _v) in enumerate(lst):
            if k.lower() == ikey:
                lst[idx] = (key, value)
                lst[idx + 1 :] = [item for item in lst[idx + 1 :] if item[0].lower() != ikey]
                return
        lst.append((key, value))

    def setlist(self, key: str, values: Iterable[t.Any]) -> None:
        values = list(values)
        if not values:
            self.remove(key)
            return
        self.set(key, values[0])
        for value in values[1:]:
            self.add(key, value)

    def __setitem__(self, key: t.Any, value: t.Any) -> None:
        if isinstance(key, int):
            self._list[key] = (value[0], _header_value(value[1]))
        else:
            self.set(key, value)

    def remove(self, key: str) -> None:
        ikey = key.lower()
        self._list[:] = [item for item in self._list if item[0].lower() != ikey]

    def __delitem__(self, key: t.Any) -> None:
        if isinstance(key, (int, slice)):
            del self._list[key]
        else:
            self.remove(key)

    def pop(self, key: t.Any = None, default: t.Any = _missing) -> t.Any:
        if key is None:
            return self._list.pop()
        if isinstance(key, int):
            return self._list.pop(key)
        try:
            value = self[key]
        except KeyError:
            if default is not _missing:
                return default
            raise
        self.remove(key)
        return value

    def popitem(self) -> tuple[str, str]:
        return self._list.pop()

    def setdefault(self, key: str, default: t.Any) -> t.Any:
        if key in self:
            return self[key]
        self.set(key, default)
        return self[key]

    def setlistdefault(self, key: str, default: Iterable[t.Any]) -> list[str]:
        if key not in self:
            self.setlist(key, default)
        return self.getlist(key)

    def _pairs(self, args: tuple[t.Any, ...], kwargs: Mapping[str, t.Any]) -> Iterator[tuple[str, t.Any]]:
        if len(args) > 1:
            raise TypeError(f"expected at most 1 positional argument, got {len(args)}")
        for source in (args[0] if args else None, kwargs):
            if isinstance(source, Headers):
                yield from source._list
            else:
                yield from _iter_pairs(source)

    def extend(self, *args: t.Any, **kwargs: t.Any) -> None:
        for key, value in self._pairs(args, kwargs):
            self.add(key, value)

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        grouped: dict[str, list[tuple[str, t.Any]]] = {}
        for key, value in self._pairs(args, kwargs):
            grouped.setdefault(key.lower(), []).append((key, value))
        for items in grouped.values():
            self.setlist(items[0][0], [v for _k, v in items])

    def __ior__(self, other: t.Any) -> Headers:
        self.update(other)
        return self

    def __or__(self, other: t.Any) -> Headers:
        new = self.copy()
        new.update(other)
        return new

    def clear(self) -> None:
        del self._list[:]

    def copy(self) -> Headers:
        return type(self)(self._list)

    def __copy__(self) -> Headers:
        return self.copy()

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        return list(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return set(other.items(lower=True)) == set(self.items(lower=True))

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        lines = [f"{k}: {v}" for k, v in self.to_wsgi_list()]
        lines.append("\r\n")
        return "\r\n".join(lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


_ENV_KEYS: dict[str, str] = {}  # header name -> environ key, for the names seen


_getitem = Headers.__getitem__


class EnvironHeaders(Headers):
    """A read-only, lazy view of the request headers in a WSGI environ."""

    def __init__(self, environ: dict[str, t.Any]) -> None:
        self.environ = environ

    @staticmethod
    def _env_key(key: str) -> str:
        env_key = _ENV_KEYS.get(key)
        if env_key is None:
            env_key = key.upper().replace("-", "_")
            if env_key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                env_key = "HTTP_" + env_key
            if len(_ENV_KEYS) < 1024:
                _ENV_KEYS[key] = env_key
        return env_key

    def get(
        self, key: str, default: t.Any = None, type: Callable[[str], t.Any] | None = None
    ) -> t.Any:
        if key.__class__ is not str:
            return super().get(key, default, type)
        value = self.environ.get(_ENV_KEYS.get(key) or self._env_key(key))
        if value is None:
            return default
        return value if type is None else _convert(value, type, default)

    @property
    def _list(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return list(self)

    def __getitem__(self, key: t.Any) -> t.Any:
        if not isinstance(key, str):
            return list(self)[key] if isinstance(key, int) else super().__getitem__(key)
        value = self.environ.get(self._env_key(key))
        if value is None:
            raise _key_error(key)
        return value

    def getlist(self, key: str, type: Callable[[str], t.Any] | None = None) -> list[t.Any]:
        value = self.environ.get(self._env_key(key))
        if value is None:
            return []
        return [value] if type is None else [v for v in [_convert(value, type, _missing)] if v is not _missing]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._env_key(key) in self.environ

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for key, value in self.environ.items():
            if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                yield key[5:].replace("_", "-").title(), value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                yield key.replace("_", "-").title(), value

    def copy(self) -> Headers:
        return Headers(list(self))

    def _readonly(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise TypeError(f"{type(self).__name__!r} objects are immutable")

    add = set = setlist = remove = extend = update = clear = pop = popitem = _readonly
    setdefault = __setitem__ = __delitem__ = add_header = _readonly

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__  # type: ignore[assignment]


