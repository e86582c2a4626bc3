"""pytest plugin for the suites in tests/compat: serve ``flask`` from corral.web and
write each test's outcome as a JSON line to ``$CORRAL_COMPAT_REPORT``.

Loaded with ``-p corral_compat_plugin`` before the suite's conftest imports flask.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
from typing import Any

#: set by ``run.py --real``: the baseline run on the installed Flask, no alias
REAL = os.environ.get("CORRAL_COMPAT_REAL") == "1"

if REAL:
    pass
elif any(m == "flask" or m.startswith("flask.") for m in sys.modules):
    raise RuntimeError("the real flask was imported before the corral.web alias")
else:
    import corral.web
    import corral.web.flask_alias

    corral.web.install_as_flask()
    _flask = importlib.import_module("flask")
    if _flask.Flask is not corral.web.App:  # the real Flask must never answer these suites
        raise RuntimeError(f"flask resolved to {_flask!r}, not corral.web")

    # Load every module up front: some suites drop the modules a test imported from
    # sys.modules afterwards, which would otherwise make second copies of corral.web's.
    for _info in pkgutil.iter_modules(corral.web.__path__):
        importlib.import_module(f"corral.web.{_info.name}")
    for _name in (*corral.web.flask_alias.PACKAGES, *corral.web.flask_alias.MODULES):
        importlib.import_module(_name)

# suites written for older pytest: ``_pytest.monkeypatch.notset`` became ``NOTSET``
_monkeypatch = importlib.import_module("_pytest.monkeypatch")
if not hasattr(_monkeypatch, "notset"):
    _monkeypatch.notset = importlib.import_module("_pytest.compat").NOTSET  # type: ignore[attr-defined]

_REPORT = os.environ.get("CORRAL_COMPAT_REPORT")


def _write(test_id: str, when: str, outcome: str) -> None:
    if _REPORT:
        with open(_REPORT, "a", encoding="utf-8") as f:
            f.write(json.dumps({"id": test_id, "when": when, "outcome": outcome}) + "\n")


def pytest_collectreport(report: Any) -> None:
    if report.failed:  # a module that does not even import counts as one failure
        _write(report.nodeid, "collect", "error")


def pytest_runtest_logreport(report: Any) -> None:
    if not _REPORT:
        return
    outcome = report.outcome
    if report.when != "call" and outcome == "passed":
        return
    if report.when != "call" and outcome == "failed":
        outcome = "error"
    _write(report.nodeid, report.when, outcome)
