"""corral.web: a WSGI web framework with Flask's public API.

Two layers, as in Werkzeug and Flask: the HTTP layer (:mod:`corral.web.http`:
requests, responses, headers, exceptions, form parsing, file sending; and
:mod:`corral.web.routing`) knows nothing of apps; the app layer beside it (``App``,
blueprints, contexts, globals, sessions, templating, testing, the CLI) builds on it.
The names below are the app layer's public API, as ``flask`` exports them.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from .app import App
from .blueprints import Blueprint
from .config import Config
from .ctx import (
    after_this_request,
    copy_current_request_context,
    has_app_context,
    has_request_context,
)
from .flask_alias import install_as_flask
from .globals import current_app, g, request, session
from .helpers import (
    abort,
    flash,
    get_flashed_messages,
    get_template_attribute,
    make_response,
    redirect,
    send_file,
    send_from_directory,
    stream_with_context,
    url_for,
)
from .json import jsonify
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    before_render_template,
    got_request_exception,
    message_flashed,
    request_finished,
    request_started,
    request_tearing_down,
    signals_available,
    template_rendered,
)
from .templating import (
    render_template,
    render_template_string,
    stream_template,
    stream_template_string,
)
from .wrappers import Request, Response

__all__ = [
    "App", "Blueprint", "Config", "Markup", "Request", "Response", "abort",
    "after_this_request", "appcontext_popped", "appcontext_pushed", "appcontext_tearing_down",
    "before_render_template", "copy_current_request_context", "current_app", "escape", "flash",
    "g", "get_flashed_messages", "get_template_attribute", "got_request_exception",
    "has_app_context", "has_request_context", "install_as_flask", "jsonify", "make_response",
    "message_flashed", "redirect", "render_template", "render_template_string", "request",
    "request_finished", "request_started", "request_tearing_down", "send_file",
    "send_from_directory", "session", "signals_available", "stream_template",
    "stream_template_string", "stream_with_context", "template_rendered", "url_for",
]  # fmt: skip
