"""The site of ``diffsite_flask``, ported by changing only its imports.

The Flask module's source is read, ``from flask import`` becomes
``from corral.web import`` and ``Flask(`` becomes ``App(``; nothing else changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_SOURCE_PATH = Path(__file__).with_name("diffsite_flask.py")


def ported_source() -> str:
    source = _SOURCE_PATH.read_text("utf-8")
    ported = source.replace("from flask import", "from corral.web import")
    ported = ported.replace("    Flask,\n", "    App,\n").replace("Flask(", "App(")
    assert "flask" not in ported.replace("Flask's", "").replace("diffsite_flask", "").lower()
    return ported


_namespace: dict[str, Any] = {"__name__": __name__, "__file__": str(_SOURCE_PATH)}
exec(compile(ported_source(), str(_SOURCE_PATH), "exec"), _namespace)

create_app = _namespace["create_app"]
