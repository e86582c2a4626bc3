"""Warnings of corral.web, attributed to the module name code sees.

Under ``install_as_flask()`` a warning raised from ``corral.web.app`` is filed
under ``flask.app``, so warning filters written for Flask's module names apply.
The HTTP layer does not know of the alias: the app layer registers the mapping
in :data:`public_module_name` when it is imported.
"""

from __future__ import annotations

import sys
import warnings
from typing import Callable

#: the name code sees a module under (``flask.app`` for ``corral.web.app`` under
#: the alias); replaced by the app layer's alias
public_module_name: Callable[[str], str] | None = None


def warn(message: str, category: type[Warning] = UserWarning, stacklevel: int = 1) -> None:
    """``warnings.warn`` whose module is the public name of the warning's frame
    (``stacklevel`` frames up from the caller, as with :func:`warnings.warn`)."""
    frame = sys._getframe(stacklevel)
    module = frame.f_globals.get("__name__", "")
    mapping = public_module_name
    public = module if mapping is None else mapping(module)
    if public == module:
        warnings.warn(message, category, stacklevel=stacklevel + 1)
        return
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(
        message, category, frame.f_code.co_filename, frame.f_lineno, module=public, registry=registry
    )
