"""Application configuration: a dict with loaders, and Flask's default keys."""

from __future__ import annotations

import errno
import importlib
import json
import os
import types
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from datetime import timedelta
from typing import IO, Any, Generic, Protocol, TypeVar, overload

T = TypeVar("T")

#: Every configuration key the framework reads, with Flask 3's default values.
DEFAULT_CONFIG: dict[str, Any] = {
    "DEBUG": None,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": None,
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": None,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    "USE_X_SENDFILE": False,
    "TRUSTED_HOSTS": None,
    "SERVER_NAME": None,
    "APPLICATION_ROOT": "/",
    "SESSION_COOKIE_NAME": "session",
    "SESSION_COOKIE_DOMAIN": None,
    "SESSION_COOKIE_PATH": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_PARTITIONED": False,
    "SESSION_COOKIE_SAMESITE": None,
    "SESSION_REFRESH_EACH_REQUEST": True,
    "MAX_CONTENT_LENGTH": None,
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_FORM_PARTS": 1_000,
    "SEND_FILE_MAX_AGE_DEFAULT": None,
    "TRAP_BAD_REQUEST_ERRORS": None,
    "TRAP_HTTP_EXCEPTIONS": False,
    "EXPLAIN_TEMPLATE_LOADING": False,
    "PREFERRED_URL_SCHEME": "http",
    "TEMPLATES_AUTO_RELOAD": None,
    "MAX_COOKIE_SIZE": 4093,
    "PROVIDE_AUTOMATIC_OPTIONS": True,
}

#: Environment prefixes read by :meth:`Config.from_prefixed_env` by default, in
#: increasing priority (``FLASK_`` is honoured so existing deployments keep working).
DEFAULT_ENV_PREFIXES = ("FLASK", "CORRAL")


def import_string(name: str) -> Any:
    """Import ``package.module``, ``package.module:attr`` or ``package.module.attr``."""
    name = name.strip()
    if ":" in name:
        module_name, _, attr = name.partition(":")
    else:
        try:
            return importlib.import_module(name)
        except ImportError:
            if "." not in name:
                raise
        module_name, _, attr = name.rpartition(".")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as e:
            raise ImportError(f"cannot import name {attr!r} from {module_name!r}") from e
    return obj


class _HasConfig(Protocol):
    """What a :class:`ConfigAttribute` forwards to: an object with a ``config``."""

    @property
    def config(self) -> MutableMapping[str, Any]: ...


class ConfigAttribute(Generic[T]):
    """Forward an attribute of the app to one of its config keys."""

    def __init__(self, name: str, get_converter: Callable[[Any], T] | None = None) -> None:
        self.__name__ = name
        self.get_converter = get_converter

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> ConfigAttribute[T]: ...

    @overload
    def __get__(self, obj: _HasConfig, owner: type | None = None) -> T: ...

    def __get__(self, obj: _HasConfig | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        rv = obj.config[self.__name__]
        if self.get_converter is not None:
            rv = self.get_converter(rv)
        return rv

    def __set__(self, obj: _HasConfig, value: Any) -> None:
        obj.config[self.__name__] = value


class Config(dict):
    """A dict of settings that can be filled from files, objects and the environment.

    Only UPPERCASE keys are taken from objects, Python files and mappings, so a
    config module may keep helper names in lowercase.
    """

    def __init__(
        self, root_path: str | os.PathLike[str] = ".", defaults: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(defaults or {})
        self.root_path = os.fspath(root_path)

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load the Python file named by the environment variable ``variable_name``."""
        filename = os.environ.get(variable_name)
        if not filename:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set and as such"
                " configuration could not be loaded. Set this variable and make it"
                " point to a configuration file"
            )
        return self.from_pyfile(filename, silent=silent)

    def from_prefixed_env(
        self, prefix: str | None = None, *, loads: Callable[[str], Any] = json.loads
    ) -> bool:
        """Load ``PREFIX_KEY`` environment variables as ``KEY``.

        Each value goes through ``loads`` (JSON by default) and stays a string when
        that fails.  ``PREFIX_A__B`` sets ``config["A"]["B"]``.  Without an explicit
        prefix both ``FLASK_`` and ``CORRAL_`` are read, ``CORRAL_`` winning.
        """
        prefixes = DEFAULT_ENV_PREFIXES if prefix is None else (prefix,)
        for pfx in prefixes:
            self._load_prefixed(f"{pfx}_", loads)
        return True

    def _load_prefixed(self, prefix: str, loads: Callable[[str], Any]) -> None:
        for key in sorted(os.environ):
            if not key.startswith(prefix):
                continue
            raw = os.environ[key]
            try:
                value = loads(raw)
            except Exception:
                value = raw
            parts = key[len(prefix) :].split("__")
            if not parts[-1]:
                continue
            target: dict[str, Any] = self
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Execute a Python file and load its uppercase names."""
        path = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = path
        try:
            with open(path, "rb") as f:
                code = compile(f.read(), path, "exec")
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        exec(code, module.__dict__)
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Load the uppercase attributes of an object, class or (import string) module."""
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: Callable[[IO[Any]], Mapping[str, Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a file with ``load`` (``json.load``, ``tomllib.load`` with ``text=False``)."""
        path = os.path.join(self.root_path, filename)
        try:
            with open(path, "r" if text else "rb") as f:
                data = load(f)
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR):
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        return self.from_mapping(data)

    def from_mapping(
        self, mapping: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, **kwargs: Any
    ) -> bool:
        """Update with the uppercase keys of ``mapping`` and ``kwargs``."""
        items: dict[str, Any] = {}
        if mapping is not None:
            items.update(mapping)
        items.update(kwargs)
        for key, value in items.items():
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, Any]:
        """Keys starting with ``namespace`` as a new dict (trimmed and lowercased)."""
        rv: dict[str, Any] = {}
        for key, value in self.items():
            if not key.startswith(namespace):
                continue
            name = key[len(namespace) :] if trim_namespace else key
            rv[name.lower() if lowercase else name] = value
        return rv

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"
