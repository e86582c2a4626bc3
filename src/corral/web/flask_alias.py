"""Serve ``import flask`` (and every public ``flask.*`` module) from corral.web.

Call :func:`install_as_flask` once, before anything imports ``flask``::

    import corral.web; corral.web.install_as_flask()
    import flask                      # corral.web, under Flask's names
    assert flask.Flask is corral.web.App

A finder placed first on ``sys.meta_path`` answers for the ``flask`` names, so an
installed Flask is never loaded. Flask's modules that have one corral.web module
behind them resolve to that very module object (patching ``flask.helpers`` patches
``corral.web.helpers``); ``flask`` itself and its packages (``flask.json``,
``flask.sansio``) are small package modules that read through to corral.web.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import Any

from .http import warn as _warn

#: The Flask release whose public API corral.web follows; ``flask.__version__``.
FLASK_API_VERSION = "3.1.3"

# flask module name -> corral.web module it is (same object)
MODULES: dict[str, str] = {
    "flask.app": "corral.web.app",
    "flask.blueprints": "corral.web.blueprints",
    "flask.cli": "corral.web.cli",
    "flask.config": "corral.web.config",
    "flask.ctx": "corral.web.ctx",
    "flask.debughelpers": "corral.web.debughelpers",
    "flask.globals": "corral.web.globals",
    "flask.helpers": "corral.web.helpers",
    "flask.json.provider": "corral.web.json.provider",
    "flask.json.tag": "corral.web.json.tag",
    "flask.logging": "corral.web.logging",
    "flask.sessions": "corral.web.sessions",
    "flask.signals": "corral.web.signals",
    "flask.templating": "corral.web.templating",
    "flask.testing": "corral.web.testing",
    "flask.typing": "corral.web.typing",
    "flask.views": "corral.web.views",
    "flask.wrappers": "corral.web.wrappers",
    "flask.sansio.app": "corral.web.app",
    "flask.sansio.blueprints": "corral.web.blueprints",
    "flask.sansio.scaffold": "corral.web.scaffold",
}

# flask package name -> corral.web module its attributes come from
PACKAGES: dict[str, str] = {
    "flask": "corral.web",
    "flask.json": "corral.web.json",
    "flask.sansio": "corral.web",
}

# names a package has beyond what its corral.web module exports
_EXTRA: dict[str, dict[str, tuple[str, str]]] = {
    "flask": {"Flask": ("corral.web.app", "App")},
}


class _FlaskPackage(types.ModuleType):
    """A ``flask`` package module whose attributes are read from corral.web."""

    _source: str
    __version__: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        extra = _EXTRA.get(self.__name__, {}).get(name)
        sub = f"{self.__name__}.{name}"
        if sub in MODULES or sub in PACKAGES:  # as the real package imports its submodules
            value = importlib.import_module(sub)
        elif extra is not None:
            value = getattr(importlib.import_module(extra[0]), extra[1])
        else:
            try:
                value = getattr(importlib.import_module(self._source), name)
            except AttributeError:
                raise AttributeError(
                    f"module {self.__name__!r} (served by {self._source}) has no attribute {name!r}"
                ) from None
        setattr(self, name, value)
        return value

    def __dir__(self) -> list[str]:
        source = importlib.import_module(self._source)
        return sorted(set(super().__dir__()) | set(dir(source)) | set(_EXTRA.get(self.__name__, {})))


class _AliasLoader(importlib.abc.Loader):
    def __init__(self) -> None:
        self._own_specs: dict[str, Any] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        name = spec.name
        if name in MODULES:
            module = importlib.import_module(MODULES[name])
            # the import system stamps the alias spec on the module; exec_module puts back its own
            self._own_specs[module.__name__] = module.__spec__
            return module
        module = _FlaskPackage(name, f"corral.web's stand-in for {name}")
        module._source = PACKAGES[name]
        if name == "flask":
            module.__version__ = FLASK_API_VERSION
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module is corral.web's, already loaded."""
        own = self._own_specs.get(module.__name__)
        if own is not None:
            module.__spec__ = own


class FlaskAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``flask`` and its public submodules in corral.web."""

    loader = _AliasLoader()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in PACKAGES:
            spec = importlib.machinery.ModuleSpec(fullname, self.loader, is_package=True)
            spec.submodule_search_locations = []
            return spec
        if fullname in MODULES:
            return importlib.machinery.ModuleSpec(fullname, self.loader)
        if fullname == "flask" or fullname.startswith("flask."):
            # a private or unknown flask module: not found, rather than the real Flask's
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (flask is served by corral.web)", name=fullname
            )
        return None


def install_as_flask() -> None:
    """Make ``import flask`` and ``flask.*`` resolve to corral.web from now on.

    Idempotent. Raises :class:`RuntimeError` if the real Flask was imported first,
    since objects made from it would then mix with corral.web's.
    """
    if any(isinstance(f, FlaskAliasFinder) for f in sys.meta_path):
        return
    loaded = [name for name in sys.modules if name == "flask" or name.startswith("flask.")]
    if loaded:
        raise RuntimeError(
            "install_as_flask() must run before anything imports flask;"
            f" already imported: {', '.join(sorted(loaded))}"
        )
    sys.meta_path.insert(0, FlaskAliasFinder())


def flask_installed_as_alias() -> bool:
    """Whether :func:`install_as_flask` is in effect."""
    return any(isinstance(f, FlaskAliasFinder) for f in sys.meta_path)


def public_module_name(name: str) -> str:
    """``name`` as code sees it: ``flask.app`` for ``corral.web.app`` under the alias."""
    if not flask_installed_as_alias():
        return name
    for flask_name, corral_name in MODULES.items():
        if corral_name == name and not flask_name.startswith("flask.sansio."):
            return flask_name
    return "flask" if name == "corral.web" else name


def _public_name_of_corral_module(name: str) -> str:
    return public_module_name(name) if name.startswith("corral.web") else name


_warn.public_module_name = _public_name_of_corral_module
warn = _warn.warn
