"""A Gunicorn command line or config file keeps working when ``gunicorn`` becomes
``corral``: every setting of the installed Gunicorn is checked against corral's table."""

from __future__ import annotations

from typing import Any

import pytest

from corral.server.config import BY_NAME, FILE_ALIASES, build_parser

gconfig = pytest.importorskip("gunicorn.config")

# Gunicorn features corral does not have, by family: their flags are refused with
# argparse's one-line usage error rather than accepted and ignored.
ABSENT_FAMILIES = (
    "http2_", "asgi_", "dirty_", "on_dirty_", "control_socket", "websocket_", "uwsgi_",
)
ABSENT = {
    "protocol",  # the uwsgi wire protocol
    "http_protocols",  # HTTP/2
    "http_parser",  # a choice between Gunicorn's own parsers
    "enable_backlog_metric",
    "raw_paste_global_conf",
    "default_proc_name",  # internal: set from the app spec
    "ssl_context",  # a config-file hook building the SSLContext
}


def gunicorn_settings() -> list[Any]:
    return [s for s in gconfig.KNOWN_SETTINGS
            if s.name not in ABSENT and not s.name.startswith(ABSENT_FAMILIES)]


@pytest.mark.parametrize("setting", gunicorn_settings(), ids=lambda s: s.name)
def test_every_gunicorn_setting_is_known(setting: Any) -> None:
    name = FILE_ALIASES.get(setting.name, setting.name)
    assert name in BY_NAME, f"config files setting {setting.name!r} would be ignored"
    flags = set(build_parser()._option_string_actions)
    missing = [f for f in (getattr(setting, "cli", None) or []) if f not in flags]
    assert not missing, f"gunicorn flags {missing} are unknown to corral"


def test_absent_features_are_named_here_only_while_absent() -> None:
    for s in gconfig.KNOWN_SETTINGS:
        if s.name in ABSENT or s.name.startswith(ABSENT_FAMILIES):
            assert s.name not in BY_NAME, f"{s.name} is supported now: drop it from ABSENT"
