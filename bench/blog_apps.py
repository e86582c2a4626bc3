"""The demo blog (examples/blog) as served by the end-to-end blog benchmark.

* ``corral_blog()``: the blog on corral.web, as written.
* ``flask_blog()``: the same package on real Flask: before the blog is imported,
  ``corral.web`` (and ``corral.web.cli``) are made to name Flask's modules, with
  ``App`` standing for ``flask.Flask``. Only this factory's process does that.

Both read the database path and secret key from ``BLOG_BENCH_DATABASE`` and
``BLOG_BENCH_SECRET`` (set by bench/blog_e2e.py).
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

BLOG_DIR = Path(__file__).resolve().parent.parent / "examples" / "blog"


def _create() -> Any:
    if str(BLOG_DIR) not in sys.path:
        sys.path.insert(0, str(BLOG_DIR))
    from corralblog import create_app

    return create_app(
        {
            "SECRET_KEY": os.environ.get("BLOG_BENCH_SECRET", "bench secret"),
            "DATABASE": os.environ["BLOG_BENCH_DATABASE"],
        }
    )


def corral_blog() -> Any:
    """The blog on corral.web."""
    return _create()


def flask_blog() -> Any:
    """The same blog source on Flask (``corral.web`` resolves to Flask's names)."""
    import flask
    import flask.cli

    if "corral.web" in sys.modules and sys.modules["corral.web"].__name__ != "flask-twin":
        raise RuntimeError("corral.web is already imported: the Flask blog needs its own process")
    twin = types.ModuleType("flask-twin")
    twin.__dict__.update({k: getattr(flask, k) for k in dir(flask) if not k.startswith("__")})
    twin.App = flask.Flask  # type: ignore[attr-defined]
    twin.__path__ = []  # type: ignore[attr-defined]  # a package: corral.web.cli below
    sys.modules["corral.web"] = twin
    sys.modules["corral.web.cli"] = flask.cli
    return _create()
