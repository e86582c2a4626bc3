"""Dict types of the HTTP layer: MultiDict and its immutable, combined and
type-converting kin, CallbackDict."""

from __future__ import annotations

import copy
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping

from .. import werkzeug_interop
from ..exceptions import BadRequestKeyError

K = t.TypeVar("K")
V = t.TypeVar("V")

_missing: t.Any = object()


def _key_error(key: object) -> KeyError:
    """A ``BadRequestKeyError`` (a ``KeyError`` that is also a 400) for a missing key."""
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


class TypeConversionDict(dict):
    """A dict whose ``get`` can convert values with ``type``."""

    def get(
        self, key: t.Any, default: t.Any = None, type: Callable[[t.Any], t.Any] | None = None
    ) -> t.Any:
        try:
            value = self[key]
        except KeyError:
            return default
        return _convert(value, type, default)


class ImmutableDict(ImmutableDictMixin, dict):
    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"

    def copy(self) -> dict:
        return dict(self)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


class ImmutableTypeConversionDict(ImmutableDictMixin, TypeConversionDict):
    pass


_dict_get = dict.get


class MultiDict(TypeConversionDict, metaclass=werkzeug_interop.WerkzeugKin):
    """A dict holding a list of values per key; ``d[key]`` returns the first value.

    With Werkzeug installed, this class and its subclasses here also derive from
    their Werkzeug namesakes (same storage: a dict of lists), so extensions'
    ``isinstance`` checks pass.
    """

    def __init__(self, mapping: t.Any = None) -> None:
        # (dict.__init__ without arguments does nothing, so it is not called)
        if mapping is None:
            return
        setdefault = dict.setdefault
        pairs = mapping if type(mapping) is list else _iter_pairs(mapping)
        for key, value in pairs:
            setdefault(self, key, []).append(value)

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        # a subclass with its own __getitem__ keeps get() going through it
        if "__getitem__" in cls.__dict__ and "get" not in cls.__dict__:
            cls.get = TypeConversionDict.get  # type: ignore[method-assign]

    def __getitem__(self, key: t.Any) -> t.Any:
        if dict.__contains__(self, key):
            lst = dict.__getitem__(self, key)
            if lst:
                return lst[0]
        raise _key_error(key)

    def get(
        self, key: t.Any, default: t.Any = None, type: Callable[[t.Any], t.Any] | None = None
    ) -> t.Any:
        lst = _dict_get(self, key)
        if not lst:  # missing (no KeyError built for a miss)
            return default
        if type is None:
            return lst[0]
        return _convert(lst[0], type, default)

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
        return dict.__getitem__(self, key)

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
        return dict.pop(self, key, [])

    def popitemlist(self) -> tuple[t.Any, list[t.Any]]:
        return dict.popitem(self)

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


class ImmutableMultiDict(ImmutableDictMixin, MultiDict):
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

    def get(
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


class CallbackDict(dict):
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

    def __ior__(self, other: t.Any) -> CallbackDict:  # type: ignore[misc]
        self.update(other)
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


