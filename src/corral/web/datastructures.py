"""Request/response data structures with Werkzeug-compatible names and semantics."""

from __future__ import annotations

import mimetypes
import os
import shutil
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping

K = t.TypeVar("K")
V = t.TypeVar("V")

_missing: t.Any = object()


def _key_error(key: object) -> KeyError:
    """Return a ``BadRequestKeyError`` for a missing key (imported lazily)."""
    from .exceptions import BadRequestKeyError

    return BadRequestKeyError(key)


def _convert(value: t.Any, type: Callable[[t.Any], t.Any] | None, default: t.Any) -> t.Any:
    if type is None:
        return value
    try:
        return type(value)
    except (ValueError, TypeError):
        return default


def _iter_pairs(mapping: t.Any) -> Iterator[tuple[t.Any, t.Any]]:
    """Yield (key, value) pairs; list/tuple values of a plain dict expand."""
    if isinstance(mapping, MultiDict):
        yield from mapping.items(multi=True)
    elif isinstance(mapping, Mapping):
        for key, value in mapping.items():
            if isinstance(value, (list, tuple)):
                for v in value:
                    yield key, v
            else:
                yield key, value
    elif mapping is not None:
        yield from mapping


class ImmutableDictMixin:
    def _immutable(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise TypeError(f"{type(self).__name__!r} objects are immutable")

    __setitem__ = __delitem__ = setdefault = update = pop = popitem = clear = _immutable


class TypeConversionDict(dict):  # type: ignore[type-arg]
    """A dict whose ``get`` can convert values with ``type``."""

    def get(  # type: ignore[override]
        self, key: t.Any, default: t.Any = None, type: Callable[[t.Any], t.Any] | None = None
    ) -> t.Any:
        try:
            value = self[key]
        except KeyError:
            return default
        return _convert(value, type, default)


class ImmutableDict(ImmutableDictMixin, dict):  # type: ignore[misc,type-arg]
    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"

    def copy(self) -> dict:  # type: ignore[type-arg]
        return dict(self)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


class ImmutableTypeConversionDict(ImmutableDictMixin, TypeConversionDict):  # type: ignore[misc]
    pass


class MultiDict(TypeConversionDict):
    """A dict holding a list of values per key; ``d[key]`` returns the first value."""

    def __init__(self, mapping: t.Any = None) -> None:
        dict.__init__(self)
        for key, value in _iter_pairs(mapping):
            dict.setdefault(self, key, []).append(value)

    def __getitem__(self, key: t.Any) -> t.Any:
        if dict.__contains__(self, key):
            lst = dict.__getitem__(self, key)
            if lst:
                return lst[0]
        raise _key_error(key)

    def __setitem__(self, key: t.Any, value: t.Any) -> None:
        dict.__setitem__(self, key, [value])

    def add(self, key: t.Any, value: t.Any) -> None:
        dict.setdefault(self, key, []).append(value)

    def getlist(self, key: t.Any, type: Callable[[t.Any], t.Any] | None = None) -> list[t.Any]:
        try:
            values = dict.__getitem__(self, key)
        except KeyError:
            return []
        if type is None:
            return list(values)
        result = []
        for value in values:
            try:
                result.append(type(value))
            except (ValueError, TypeError):
                pass
        return result

    def setlist(self, key: t.Any, new_list: Iterable[t.Any]) -> None:
        dict.__setitem__(self, key, list(new_list))

    def setdefault(self, key: t.Any, default: t.Any = None) -> t.Any:
        if key not in self:
            self[key] = default
            return default
        return self[key]

    def setlistdefault(self, key: t.Any, default_list: Iterable[t.Any] | None = None) -> list[t.Any]:
        if key not in self:
            dict.__setitem__(self, key, list(default_list or ()))
        return dict.__getitem__(self, key)  # type: ignore[no-any-return]

    def items(self, multi: bool = False) -> Iterator[tuple[t.Any, t.Any]]:  # type: ignore[override]
        for key, values in dict.items(self):
            if multi:
                for value in values:
                    yield key, value
            elif values:
                yield key, values[0]

    def lists(self) -> Iterator[tuple[t.Any, list[t.Any]]]:
        for key, values in dict.items(self):
            yield key, list(values)

    def values(self) -> Iterator[t.Any]:  # type: ignore[override]
        for values in dict.values(self):
            if values:
                yield values[0]

    def listvalues(self) -> Iterator[list[t.Any]]:
        return iter(dict.values(self))

    def copy(self) -> MultiDict:
        return type(self)(self)

    def deepcopy(self, memo: t.Any = None) -> MultiDict:
        import copy

        return type(self)(copy.deepcopy(self.to_dict(flat=False), memo))

    def to_dict(self, flat: bool = True) -> dict[t.Any, t.Any]:
        if flat:
            return dict(self.items())
        return dict(self.lists())

    def update(self, mapping: t.Any = None, **kwargs: t.Any) -> None:  # type: ignore[override]
        for key, value in _iter_pairs(mapping):
            self.add(key, value)
        for key, value in _iter_pairs(kwargs):
            self.add(key, value)

    def pop(self, key: t.Any, default: t.Any = _missing) -> t.Any:
        try:
            lst = dict.pop(self, key)
            if not lst:
                raise KeyError(key)
            return lst[0]
        except KeyError:
            if default is not _missing:
                return default
            raise _key_error(key)

    def popitem(self) -> tuple[t.Any, t.Any]:
        key, lst = dict.popitem(self)
        return key, lst[0]

    def poplist(self, key: t.Any) -> list[t.Any]:
        return dict.pop(self, key, [])  # type: ignore[no-any-return]

    def popitemlist(self) -> tuple[t.Any, list[t.Any]]:
        return dict.popitem(self)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[t.Any]:
        return dict.__iter__(self)

    def __copy__(self) -> MultiDict:
        return self.copy()

    def __deepcopy__(self, memo: t.Any) -> MultiDict:
        return self.deepcopy(memo)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiDict):
            return dict(self.lists()) == dict(other.lists())
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.items(multi=True))!r})"

    def __getstate__(self) -> dict[t.Any, t.Any]:
        return dict(self.lists())

    def __setstate__(self, value: dict[t.Any, t.Any]) -> None:
        dict.clear(self)
        dict.update(self, value)

    def __reduce_ex__(self, protocol: t.SupportsIndex) -> t.Any:
        return (type(self), (list(self.items(multi=True)),))


class ImmutableMultiDict(ImmutableDictMixin, MultiDict):  # type: ignore[misc]
    def add(self, key: t.Any, value: t.Any) -> None:
        self._immutable()

    def setlist(self, key: t.Any, new_list: Iterable[t.Any]) -> None:
        self._immutable()

    def setlistdefault(self, key: t.Any, default_list: Iterable[t.Any] | None = None) -> list[t.Any]:
        self._immutable()

    def poplist(self, key: t.Any) -> list[t.Any]:
        self._immutable()

    def popitemlist(self) -> tuple[t.Any, list[t.Any]]:
        self._immutable()

    def copy(self) -> MultiDict:
        """Return a mutable copy."""
        return MultiDict(self)

    def __copy__(self) -> ImmutableMultiDict:
        return self

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items(multi=True)))


class CombinedMultiDict(ImmutableMultiDict):
    """A read-only view over several MultiDicts, first one wins for ``[]``."""

    def __init__(self, dicts: Iterable[MultiDict] | None = None) -> None:
        dict.__init__(self)
        self.dicts: list[MultiDict] = list(dicts or ())

    def __getitem__(self, key: t.Any) -> t.Any:
        for d in self.dicts:
            if key in d:
                return d[key]
        raise _key_error(key)

    def get(  # type: ignore[override]
        self, key: t.Any, default: t.Any = None, type: Callable[[t.Any], t.Any] | None = None
    ) -> t.Any:
        for d in self.dicts:
            if key in d:
                return _convert(d[key], type, default)
        return default

    def getlist(self, key: t.Any, type: Callable[[t.Any], t.Any] | None = None) -> list[t.Any]:
        result: list[t.Any] = []
        for d in self.dicts:
            result.extend(d.getlist(key, type))
        return result

    def _keys_impl(self) -> list[t.Any]:
        seen: dict[t.Any, None] = {}
        for d in self.dicts:
            for key in d:
                seen.setdefault(key, None)
        return list(seen)

    def keys(self) -> list[t.Any]:  # type: ignore[override]
        return self._keys_impl()

    def __iter__(self) -> Iterator[t.Any]:
        return iter(self._keys_impl())

    def __len__(self) -> int:
        return len(self._keys_impl())

    def __contains__(self, key: object) -> bool:
        return any(key in d for d in self.dicts)

    def has_key(self, key: t.Any) -> bool:
        return key in self

    def items(self, multi: bool = False) -> Iterator[tuple[t.Any, t.Any]]:  # type: ignore[override]
        found: set[t.Any] = set()
        for d in self.dicts:
            for key, value in d.items(multi):
                if multi:
                    yield key, value
                elif key not in found:
                    found.add(key)
                    yield key, value

    def values(self) -> Iterator[t.Any]:  # type: ignore[override]
        for _key, value in self.items():
            yield value

    def lists(self) -> Iterator[tuple[t.Any, list[t.Any]]]:
        for key in self._keys_impl():
            yield key, self.getlist(key)

    def listvalues(self) -> Iterator[list[t.Any]]:
        return (value for _key, value in self.lists())

    def to_dict(self, flat: bool = True) -> dict[t.Any, t.Any]:
        if flat:
            return dict(self.items())
        return dict(self.lists())

    def copy(self) -> MultiDict:
        return MultiDict(list(self.items(multi=True)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dicts!r})"


class CallbackDict(dict):  # type: ignore[type-arg]
    """A dict that calls ``on_update(self)`` after every mutation."""

    on_update: Callable[[t.Any], None] | None

    def __init__(
        self, initial: t.Any = None, on_update: Callable[[t.Any], None] | None = None
    ) -> None:
        if initial is None:
            super().__init__()
        else:
            super().__init__(initial)
        self.on_update = on_update

    def _changed(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    def __setitem__(self, key: t.Any, value: t.Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: t.Any) -> None:
        super().__delitem__(key)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def pop(self, key: t.Any, *default: t.Any) -> t.Any:
        had = key in self
        value = super().pop(key, *default)
        if had:
            self._changed()
        return value

    def popitem(self) -> tuple[t.Any, t.Any]:
        item = super().popitem()
        self._changed()
        return item

    def setdefault(self, key: t.Any, default: t.Any = None) -> t.Any:
        had = key in self
        value = super().setdefault(key, default)
        if not had:
            self._changed()
        return value

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def __ior__(self, other: t.Any) -> CallbackDict:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


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
    from .http import dump_options_header

    return dump_options_header(value, params)


class Headers:
    """An ordered, case-insensitive, multi-valued collection of HTTP headers."""

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
        ikey = key.lower()
        for k, v in self._list:
            if k.lower() == ikey:
                return v
        raise _key_error(key)

    def get(
        self, key: str, default: t.Any = None, type: Callable[[str], t.Any] | None = None
    ) -> t.Any:
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
        ikey = key.lower()
        return any(k.lower() == ikey for k, _v in self._list)

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


class EnvironHeaders(Headers):
    """A read-only, lazy view of the request headers in a WSGI environ."""

    def __init__(self, environ: dict[str, t.Any]) -> None:
        self.environ = environ

    @staticmethod
    def _env_key(key: str) -> str:
        key = key.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return key
        return "HTTP_" + key

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

    add = set = setlist = remove = extend = update = clear = pop = popitem = _readonly  # type: ignore[assignment]
    setdefault = __setitem__ = __delitem__ = add_header = _readonly  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__  # type: ignore[assignment]


class Accept(tuple):  # type: ignore[type-arg]
    """Parsed ``Accept*`` header: (value, quality) pairs, best first."""

    provided: bool

    def __new__(cls, values: Iterable[tuple[str, float]] | None = ()) -> Accept:
        if values is None:
            obj = tuple.__new__(cls, ())
            obj.provided = False
            return obj
        items = sorted(values, key=lambda x: (cls._specificity(x[0]), x[1]), reverse=True)
        items.sort(key=lambda x: x[1], reverse=True)
        obj = tuple.__new__(cls, [(v, q) for v, q in items])
        obj.provided = True
        return obj

    def __init__(self, values: Iterable[tuple[str, float]] | None = ()) -> None:
        pass

    @staticmethod
    def _specificity(value: str) -> tuple[int, ...]:
        return (value != "*",)

    def _value_matches(self, value: str, item: str) -> bool:
        return item == "*" or item.lower() == value.lower()

    def __getitem__(self, key: t.Any) -> t.Any:  # type: ignore[override]
        if isinstance(key, str):
            return self.quality(key)
        return tuple.__getitem__(self, key)

    def quality(self, key: str) -> float:
        for item, quality in self:
            if self._value_matches(key, item):
                return quality
        return 0

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        return any(self._value_matches(value, item) for item, _q in self)

    def __repr__(self) -> str:
        pairs = ", ".join(f"({v!r}, {q})" for v, q in self)
        return f"{type(self).__name__}([{pairs}])"

    def index(self, key: t.Any, *args: t.Any) -> int:  # type: ignore[override]
        if isinstance(key, str):
            for idx, (item, _q) in enumerate(self):
                if self._value_matches(key, item):
                    return idx
            raise ValueError(key)
        return tuple.index(self, key, *args)

    def find(self, key: t.Any) -> int:
        try:
            return self.index(key)
        except ValueError:
            return -1

    def values(self) -> Iterator[str]:
        for item in self:
            yield item[0]

    def to_header(self) -> str:
        parts = []
        for value, quality in self:
            if quality != 1:
                value = f"{value};q={quality}"
            parts.append(value)
        return ",".join(parts)

    def __str__(self) -> str:
        return self.to_header()

    def best_match(self, matches: Iterable[str], default: str | None = None) -> str | None:
        result = default
        best_quality: float = -1
        best_spec: tuple[int, ...] = (-1,)
        for server_item in matches:
            for client_item, quality in self:
                if quality <= 0 or quality < best_quality:
                    break
                if self._value_matches(server_item, client_item):
                    spec = self._specificity(client_item)
                    if quality > best_quality or spec > best_spec:
                        result = server_item
                        best_quality = quality
                        best_spec = spec
                    break
        return result

    @property
    def best(self) -> str | None:
        return self[0][0] if self else None


def _split_mime(value: str) -> tuple[str, str, str]:
    base, _, params = value.partition(";")
    major, _, minor = base.strip().lower().partition("/")
    return major, minor or "*", params.strip().lower()


class MIMEAccept(Accept):
    @staticmethod
    def _specificity(value: str) -> tuple[int, ...]:
        major, minor, params = _split_mime(value)
        return (major != "*", minor != "*", bool(params))

    def _value_matches(self, value: str, item: str) -> bool:
        if "/" not in value:
            return False
        if item in ("*", "*/*"):
            return True
        vmaj, vmin, vparams = _split_mime(value)
        imaj, imin, iparams = _split_mime(item)
        if imaj == "*" and imin != "*":
            return False
        if imaj != "*" and imaj != vmaj:
            return False
        if imin != "*" and imin != vmin:
            return False
        return not iparams or iparams == vparams

    @property
    def accept_html(self) -> bool:
        return "text/html" in self or "application/xhtml+xml" in self or self.accept_xhtml

    @property
    def accept_xhtml(self) -> bool:
        return "application/xhtml+xml" in self or "application/xml" in self

    @property
    def accept_json(self) -> bool:
        return "application/json" in self


class LanguageAccept(Accept):
    def _value_matches(self, value: str, item: str) -> bool:
        if item == "*":
            return True
        norm_v = value.lower().replace("_", "-")
        norm_i = item.lower().replace("_", "-")
        return norm_v == norm_i or norm_v.split("-")[0] == norm_i


class CharsetAccept(Accept):
    def _value_matches(self, value: str, item: str) -> bool:
        if item == "*":
            return True
        import codecs

        try:
            return codecs.lookup(value).name == codecs.lookup(item).name
        except LookupError:
            return value.lower() == item.lower()


class Authorization:
    """The parsed ``Authorization`` header."""

    def __init__(
        self,
        auth_type: str,
        data: dict[str, str | None] | None = None,
        token: str | None = None,
    ) -> None:
        self.type = auth_type
        self.parameters: dict[str, str | None] = dict(data or {})
        self.token = token

    def __getattr__(self, name: str) -> str | None:
        return self.parameters.get(name)

    def __getitem__(self, key: str) -> str | None:
        return self.parameters[key]

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.parameters.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.parameters

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Authorization):
            return NotImplemented
        return (self.type, self.parameters, self.token) == (other.type, other.parameters, other.token)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_header(cls, value: str | None) -> Authorization | None:
        if not value:
            return None
        scheme, _, rest = value.partition(" ")
        scheme = scheme.lower()
        rest = rest.strip()
        if scheme == "basic":
            import base64
            import binascii

            try:
                decoded = base64.b64decode(rest, validate=False).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            username, sep, password = decoded.partition(":")
            if not sep:
                return None
            return cls(scheme, {"username": username, "password": password})
        if "=" in rest.rstrip("="):
            from .http import parse_dict_header

            return cls(scheme, parse_dict_header(rest))
        return cls(scheme, None, rest or None)

    def to_header(self) -> str:
        if self.type == "basic":
            import base64

            raw = f"{self.username}:{self.password}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        if self.token is not None:
            return f"{self.type.title()} {self.token}"
        from .http import dump_options_header

        params = ", ".join(dump_options_header("", {k: v}).lstrip("; ") for k, v in self.parameters.items())
        return f"{self.type.title()} {params}"

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()}>"


class FileStorage:
    """An uploaded file: a stream plus the part's filename, name and headers."""

    def __init__(
        self,
        stream: t.Any = None,
        filename: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        import io

        self.name = name
        self.stream = stream if stream is not None else io.BytesIO()
        if filename is None:
            filename = getattr(stream, "name", None)
            if isinstance(filename, bytes):
                filename = filename.decode("utf-8", "replace")
            if isinstance(filename, str) and filename[:1] == "<" and filename[-1:] == ">":
                filename = None
            elif isinstance(filename, str):
                filename = os.fspath(filename)
            else:
                filename = None
        self.filename = filename
        if headers is None:
            headers = Headers()
        self.headers = headers
        if content_type is not None:
            headers["Content-Type"] = content_type
        if content_length is not None:
            headers["Content-Length"] = str(content_length)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")  # type: ignore[no-any-return]

    @property
    def content_length(self) -> int:
        try:
            return int(self.headers.get("content-length") or 0)
        except ValueError:
            return 0

    @property
    def mimetype(self) -> str:
        from .http import parse_options_header

        return parse_options_header(self.content_type)[0].lower()

    @property
    def mimetype_params(self) -> dict[str, str]:
        from .http import parse_options_header

        return parse_options_header(self.content_type)[1]

    def save(self, dst: t.Any, buffer_size: int = 16384) -> None:
        """Save the file to a path or a writable file object."""
        if isinstance(dst, (str, os.PathLike)):
            with open(dst, "wb") as fh:
                shutil.copyfileobj(self.stream, fh, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def close(self) -> None:
        try:
            self.stream.close()
        except Exception:
            pass

    def __bool__(self) -> bool:
        return bool(self.filename)

    def __getattr__(self, name: str) -> t.Any:
        if name == "stream":
            raise AttributeError(name)
        return getattr(self.stream, name)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.filename!r} ({self.content_type!r})>"


def guess_mimetype(filename: str, default: str = "application/octet-stream") -> str:
    return mimetypes.guess_type(filename)[0] or default


class FileMultiDict(MultiDict):
    """A MultiDict with ``add_file`` (used to build test request bodies)."""

    def add_file(
        self, name: str, file: t.Any, filename: str | None = None, content_type: str | None = None
    ) -> None:
        if isinstance(file, FileStorage):
            value = file
        else:
            if isinstance(file, (str, os.PathLike)):
                if filename is None:
                    filename = os.fspath(file)
                file = open(file, "rb")
            if filename and content_type is None:
                content_type = guess_mimetype(filename)
            value = FileStorage(file, filename, name, content_type)
        self.add(name, value)


class HeaderSet:
    """A case-insensitive ordered set for headers like ``Vary`` or ``Allow``."""

    def __init__(
        self,
        headers: Iterable[str] | None = None,
        on_update: Callable[[HeaderSet], None] | None = None,
    ) -> None:
        self._headers = list(headers or ())
        self._set = {x.lower() for x in self._headers}
        self.on_update = on_update

    def _changed(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    def add(self, header: str) -> None:
        if header.lower() not in self._set:
            self._set.add(header.lower())
            self._headers.append(header)
            self._changed()

    def update(self, iterable: Iterable[str]) -> None:
        for header in iterable:
            if header.lower() not in self._set:
                self._set.add(header.lower())
                self._headers.append(header)
        self._changed()

    def remove(self, header: str) -> None:
        key = header.lower()
        if key not in self._set:
            raise KeyError(header)
        self.discard(header)

    def discard(self, header: str) -> None:
        key = header.lower()
        if key in self._set:
            self._set.remove(key)
            self._headers = [h for h in self._headers if h.lower() != key]
            self._changed()

    def clear(self) -> None:
        self._set.clear()
        self._headers.clear()
        self._changed()

    def as_set(self, preserve_casing: bool = False) -> set[str]:
        return set(self._headers) if preserve_casing else set(self._set)

    def to_header(self) -> str:
        return ", ".join(self._headers)

    def __contains__(self, header: object) -> bool:
        return isinstance(header, str) and header.lower() in self._set

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)

    def __bool__(self) -> bool:
        return bool(self._headers)

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._headers!r})"


def _cache_property(key: str, empty: t.Any, type: Callable[[str], t.Any] | None) -> t.Any:
    def getter(self: _CacheControl) -> t.Any:
        if key not in self._values:
            return None
        value = self._values[key]
        if value is None:
            return empty
        if type is not None:
            try:
                return type(value)
            except ValueError:
                return None
        return value

    def setter(self: _CacheControl, value: t.Any) -> None:
        if value is None or value is False:
            self._values.pop(key, None)
        elif value is True:
            self._values[key] = None
        else:
            self._values[key] = str(value) if type is not bool else None
        self._changed()

    def deleter(self: _CacheControl) -> None:
        self._values.pop(key, None)
        self._changed()

    return property(getter, setter, deleter)


class _CacheControl:
    """``Cache-Control`` directives as attributes; writes back through ``on_update``."""

    def __init__(
        self,
        values: Mapping[str, str | None] | None = None,
        on_update: Callable[[_CacheControl], None] | None = None,
    ) -> None:
        self._values: dict[str, str | None] = dict(values or {})
        self.on_update = on_update
        self.provided = values is not None

    def _changed(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    no_cache = _cache_property("no-cache", "*", None)
    no_store = _cache_property("no-store", True, bool)
    max_age = _cache_property("max-age", -1, int)
    no_transform = _cache_property("no-transform", True, bool)
    public = _cache_property("public", True, bool)
    private = _cache_property("private", "*", None)
    must_revalidate = _cache_property("must-revalidate", True, bool)
    proxy_revalidate = _cache_property("proxy-revalidate", True, bool)
    s_maxage = _cache_property("s-maxage", None, int)
    immutable = _cache_property("immutable", True, bool)
    stale_while_revalidate = _cache_property("stale-while-revalidate", None, int)
    stale_if_error = _cache_property("stale-if-error", None, int)

    def to_header(self) -> str:
        from .http import quote_header_value

        parts = []
        for key, value in self._values.items():
            parts.append(key if value is None else f"{key}={quote_header_value(value)}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.to_header()

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()!r}>"


class ResponseCacheControl(_CacheControl):
    pass


class RequestCacheControl(_CacheControl):
    pass
