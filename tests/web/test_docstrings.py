"""Every public function, class and method of corral.web's app layer has a
docstring written for users (an override may rely on the one it inherits, as
``inspect.getdoc`` and the documentation tools do)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import corral.web

#: the app layer: corral.web's flat modules, and its JSON package
APP_LAYER = sorted(
    [
        f"corral.web.{m.name}"
        for m in pkgutil.iter_modules(corral.web.__path__)
        if not m.ispkg and m.name not in ("flask_alias", "typing")
    ]
    + ["corral.web", "corral.web.json", "corral.web.json.provider", "corral.web.json.tag"]
)


def _public_members(module: Any) -> list[tuple[str, Any]]:
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue  # (proxies such as ``request`` are documented in their module)
        if obj.__module__ != module.__name__ or obj.__name__ != name:
            continue  # imported, or an alias (Flask = App): counted where it is defined
        if inspect.isfunction(obj):
            found.append((f"{module.__name__}.{name}", obj))
        elif inspect.isclass(obj):
            found.append((f"{module.__name__}.{name}", obj))
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member) or isinstance(member, property):
                    found.append((f"{module.__name__}.{name}.{attr}", (obj, attr)))
    return found


def _doc(obj: Any) -> str | None:
    if isinstance(obj, tuple):  # (class, attribute): look it up as users do
        cls, attr = obj
        return inspect.getdoc(getattr(cls, attr, None)) if not isinstance(
            inspect.getattr_static(cls, attr), property
        ) else (inspect.getattr_static(cls, attr).__doc__ or _inherited_property_doc(cls, attr))
    return inspect.getdoc(obj)


def _inherited_property_doc(cls: type, attr: str) -> str | None:
    for base in cls.__mro__[1:]:
        member = vars(base).get(attr)
        if member is not None and getattr(member, "__doc__", None):
            return member.__doc__  # type: ignore[no-any-return]
    return None


def undocumented() -> list[str]:
    missing = []
    for module_name in APP_LAYER:
        module = importlib.import_module(module_name)
        for qualname, obj in _public_members(module):
            doc = _doc(obj)
            if not doc or not doc.strip():
                missing.append(qualname)
    return missing


def test_every_public_app_layer_name_has_a_docstring() -> None:
    missing = undocumented()
    assert not missing, f"{len(missing)} without a docstring: {missing}"


def test_the_central_api_is_documented_with_its_parameters() -> None:
    """The entry points users read first say what they take and what they return."""
    from corral.web import App

    for name in ("add_url_rule", "route", "url_for", "make_response", "handle_exception", "run"):
        doc = inspect.getdoc(getattr(App, name)) or ""
        assert ":param" in doc or ":return" in doc, name
