"""Importable only when CFG_FLAG=1 is in the environment (tests -e/--env)."""

import os

if os.environ.get("CFG_FLAG") != "1":
    raise RuntimeError("CFG_FLAG is not set")

from cfg_app import app  # noqa: F401
