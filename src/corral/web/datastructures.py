"""Request/response data structures with Werkzeug-compatible names and semantics."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping

from . import werkzeug_interop

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

    def get(  # type: ignore[override]
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


_ENV_KEYS: dict[str, str] = {}  # header name -> environ key, for the names seen


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

    def get(  # type: ignore[override]
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

    add = set = setlist = remove = extend = update = clear = pop = popitem = _readonly  # type: ignore[assignment]
    setdefault = __setitem__ = __delitem__ = add_header = _readonly  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__  # type: ignore[assignment]


# re-exported so that everything is importable from this module, as with Werkzeug
from .filestorage import FileMultiDict, FileStorage, guess_mimetype  # noqa: E402
from .headervalues import (  # noqa: E402
    Accept,
    Authorization,
    CharsetAccept,
    HeaderSet,
    LanguageAccept,
    MIMEAccept,
    RequestCacheControl,
    ResponseCacheControl,
)

__all__ = [
    "Accept", "Authorization", "CallbackDict", "CharsetAccept", "CombinedMultiDict",
    "EnvironHeaders", "FileMultiDict", "FileStorage", "HeaderSet", "Headers", "ImmutableDict",
    "ImmutableMultiDict", "ImmutableTypeConversionDict", "LanguageAccept", "MIMEAccept",
    "MultiDict", "RequestCacheControl", "ResponseCacheControl", "TypeConversionDict",
    "guess_mimetype",
]  # fmt: skip
