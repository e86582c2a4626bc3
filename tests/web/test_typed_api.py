"""corral.web's public names are typed for a user's type checker: mypy, run on a
small user module, reveals concrete types for them, never ``Any``."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_MODULE = """
from corral.web import (
    App, Blueprint, abort, current_app, g, jsonify, make_response, redirect,
    render_template, request, session, url_for,
)

app = App(__name__)
bp = Blueprint("bp", __name__)


@app.route("/")
def index() -> str:
    return request.method


reveal_type(App)
reveal_type(app)
reveal_type(index)
reveal_type(request)
reveal_type(request.args)
reveal_type(session)
reveal_type(g)
reveal_type(current_app)
reveal_type(url_for)
reveal_type(make_response)
reveal_type(jsonify)
reveal_type(redirect)
reveal_type(render_template)
reveal_type(abort)
reveal_type(app.test_client())
reveal_type(bp)
"""


@pytest.mark.timeout(300)
def test_public_names_are_not_any_to_mypy(tmp_path: Path) -> None:
    user = tmp_path / "user_app.py"
    user.write_text(textwrap.dedent(USER_MODULE))
    proc = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
            "--python-executable", sys.executable, "--follow-imports", "silent", str(user),
        ],
        capture_output=True, text=True, timeout=280, cwd=tmp_path,
    )  # fmt: skip
    revealed = re.findall(r'Revealed type is "(.*)"', proc.stdout)
    assert len(revealed) == USER_MODULE.count("reveal_type("), proc.stdout + proc.stderr
    assert "error:" not in proc.stdout, proc.stdout
    named = dict(zip(re.findall(r"reveal_type\((.*)\)", USER_MODULE), revealed, strict=True))
    untyped = {name: t for name, t in named.items() if t == "Any"}
    assert not untyped, untyped
    assert named["app"] == "corral.web.app.App"
    assert named["request"] == "corral.web.wrappers.Request"
    assert named["current_app"] == "corral.web.app.App"
    assert named["index"] == "def () -> str"  # route() keeps the view's type
    assert named["session"] == "corral.web.sessions.SessionMixin"
