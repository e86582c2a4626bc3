"""Werkzeug's vocabulary types as bases of corral.web's own, when Werkzeug is installed.

Flask extensions meet Werkzeug's types directly: ``except
werkzeug.exceptions.HTTPException``, ``isinstance(response.headers,
werkzeug.datastructures.Headers)``, ``errorhandler(werkzeug.exceptions.Forbidden)``.
``except`` ignores ``__subclasscheck__`` and these Werkzeug classes are not ABCs, so a
corral.web class passes those checks only by really deriving from its Werkzeug
namesake. Classes built with the :class:`WerkzeugKin` metaclass get that namesake
inserted into their bases at class creation; without Werkzeug they are unchanged.

corral.web's own methods come first in every such MRO, so behaviour is corral.web's
either way; Werkzeug only adds names to ``isinstance``/``except``. The cost is
Werkzeug's import, once per process; requests do not pay for it.
"""

from __future__ import annotations

import importlib
from typing import Any

try:
    import werkzeug.datastructures
    import werkzeug.exceptions
    import werkzeug.local
    import werkzeug.routing.exceptions  # noqa: F401
except ImportError:  # pragma: no cover - Werkzeug is installed wherever Flask's ecosystem is
    AVAILABLE = False
else:
    AVAILABLE = True

#: corral.web module -> the Werkzeug module holding the namesakes of its classes
HOMES: dict[str, str] = {
    "corral.web.http.exceptions": "werkzeug.exceptions",
    "corral.web.routing.exceptions": "werkzeug.routing.exceptions",
    "corral.web.http.datastructures.structures": "werkzeug.datastructures",
    "corral.web.http.datastructures.headers": "werkzeug.datastructures",
    "corral.web.http.datastructures.file_storage": "werkzeug.datastructures",
    "corral.web.globals": "werkzeug.local",
}


def namesake(module: str, name: str) -> type[Any] | None:
    """Werkzeug's class of the same name for a class defined in ``module``."""
    home = HOMES.get(module)
    if not AVAILABLE or home is None:
        return None
    kin = getattr(importlib.import_module(home), name, None)
    return kin if isinstance(kin, type) else None


def with_namesake(module: str, name: str, bases: tuple[type, ...]) -> tuple[type, ...]:
    """``bases`` with the Werkzeug namesake added: in place of the builtin base it
    refines (``Exception``, ``dict``, ``KeyError``), else after the others."""
    kin = namesake(module, name)
    if kin is None or any(issubclass(b, kin) for b in bases):
        return bases
    out: list[type] = []
    placed = False
    for base in bases:
        if issubclass(kin, base) and base.__module__ == "builtins":
            if not placed:
                out.append(kin)
                placed = True
            continue
        out.append(base)
    if not placed:
        out.append(kin)
    return tuple(out)


#: Werkzeug class -> the corral.web class that took it as a base
STANDS_FOR: dict[type, type] = {}


class WerkzeugKin(type):
    """Metaclass: a class takes its Werkzeug namesake (see :data:`HOMES`) as a base."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> Any:
        module = ns.get("__module__", "")
        new_bases = with_namesake(module, name, bases)
        cls = super().__new__(mcls, name, new_bases, ns, **kw)
        if new_bases != bases:
            kin = namesake(module, name)
            if kin is not None:
                STANDS_FOR.setdefault(kin, cls)
        return cls


def ours(cls: type) -> type:
    """The corral.web class standing for Werkzeug's class ``cls`` (else ``cls``)."""
    return STANDS_FOR.get(cls, cls)


def family(cls: type) -> tuple[type, ...]:
    """Classes an ``isinstance``/``except`` must name to match ``cls`` and its
    Werkzeug namesake (the namesake alone when ``cls`` derives from it)."""
    kin = [k for k, v in STANDS_FOR.items() if v is cls]
    return tuple(kin) or (cls,)
