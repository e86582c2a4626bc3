"""corral.web: a WSGI web framework with Flask's public API.

Top-level names are resolved lazily so that importing one submodule
(``corral.web.routing`` say) does not pull in the whole framework.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "App": ("app", "App"),
    "install_as_flask": ("flask_alias", "install_as_flask"),
    "Blueprint": ("blueprints", "Blueprint"),
    "request": ("globals", "request"),
    "session": ("globals", "session"),
    "g": ("globals", "g"),
    "current_app": ("globals", "current_app"),
    "has_request_context": ("ctx", "has_request_context"),
    "has_app_context": ("ctx", "has_app_context"),
    "copy_current_request_context": ("ctx", "copy_current_request_context"),
    "after_this_request": ("ctx", "after_this_request"),
    "abort": ("helpers", "abort"),
    "redirect": ("helpers", "redirect"),
    "url_for": ("helpers", "url_for"),
    "make_response": ("helpers", "make_response"),
    "flash": ("helpers", "flash"),
    "get_flashed_messages": ("helpers", "get_flashed_messages"),
    "stream_with_context": ("helpers", "stream_with_context"),
    "get_template_attribute": ("helpers", "get_template_attribute"),
    "send_file": ("helpers", "send_file"),
    "send_from_directory": ("helpers", "send_from_directory"),
    "jsonify": ("json", "jsonify"),
    "render_template": ("templating", "render_template"),
    "render_template_string": ("templating", "render_template_string"),
    "stream_template": ("templating", "stream_template"),
    "stream_template_string": ("templating", "stream_template_string"),
    "Request": ("app", "Request"),
    "Response": ("app", "Response"),
    "Config": ("config", "Config"),
    "signals_available": ("signals", "signals_available"),
    "template_rendered": ("signals", "template_rendered"),
    "before_render_template": ("signals", "before_render_template"),
    "request_started": ("signals", "request_started"),
    "request_finished": ("signals", "request_finished"),
    "got_request_exception": ("signals", "got_request_exception"),
    "request_tearing_down": ("signals", "request_tearing_down"),
    "appcontext_tearing_down": ("signals", "appcontext_tearing_down"),
    "appcontext_pushed": ("signals", "appcontext_pushed"),
    "appcontext_popped": ("signals", "appcontext_popped"),
    "message_flashed": ("signals", "message_flashed"),
    "escape": ("markupsafe", "escape"),
    "Markup": ("markupsafe", "Markup"),
}

__all__ = sorted(_EXPORTS)

# the submodule ``corral.web.globals`` shadows the builtin once imported
_namespace = globals()


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'corral.web' has no attribute {name!r}") from None
    if module_name == "markupsafe":
        module = importlib.import_module("markupsafe")
    else:
        module = importlib.import_module(f"corral.web.{module_name}")
    value = getattr(module, attr)
    _namespace[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(_namespace) | set(_EXPORTS))
