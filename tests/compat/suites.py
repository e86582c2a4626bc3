"""Test suites written by others, run against corral.web through the ``flask`` alias.

Each suite is one entry: where its tests come from (a pinned sdist on PyPI), what its
tests need installed, and the checked-in list of its tests that fail on purpose.
Run one with ``python tests/compat/run.py NAME`` (``make flask-suite`` for Flask's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Suite:
    name: str
    #: pip requirement of the sdist that holds the tests, pinned: ``flask==3.1.3``
    sdist: str
    #: packages the tests import besides pytest (installed when missing)
    test_deps: tuple[str, ...] = ()
    #: directory of the tests inside the unpacked sdist
    tests_dir: str = "tests"
    #: ``<test id> | <reason>`` per line; tests that fail here on purpose
    expected_failures: Path = field(default=HERE)
    #: extra pytest arguments
    pytest_args: tuple[str, ...] = ()
    #: directories of the unpacked sdist put on ``sys.path`` (an extension's own
    #: package, e.g. ``("src",)``); the ``flask`` alias still wins over any Flask there
    pythonpath: tuple[str, ...] = ()


SUITES: dict[str, Suite] = {
    "flask": Suite(
        name="flask",
        sdist="flask==3.1.3",
        test_deps=("asgiref", "greenlet", "python-dotenv"),
        expected_failures=HERE / "flask_suite" / "expected_failures.txt",
    ),
    # Extensions: their own tests, with their package from the sdist's src/.
    "flask-login": Suite(
        name="flask-login",
        sdist="flask-login==0.6.3",
        test_deps=("semantic-version", "asgiref", "blinker"),
        expected_failures=HERE / "extensions" / "flask-login.txt",
        pythonpath=("src",),
    ),
    "flask-wtf": Suite(
        name="flask-wtf",
        sdist="flask-wtf==1.2.2",
        test_deps=("wtforms", "flask-babel", "flask-reuploaded", "email-validator"),
        expected_failures=HERE / "extensions" / "flask-wtf.txt",
        pythonpath=("src",),
    ),
    "flask-sqlalchemy": Suite(
        name="flask-sqlalchemy",
        # SQLAlchemy 2.1 breaks this release's dataclass models on real Flask too
        sdist="flask-sqlalchemy==3.1.1",
        test_deps=("sqlalchemy>=2.0.16,<2.1", "blinker"),
        expected_failures=HERE / "extensions" / "flask-sqlalchemy.txt",
        pythonpath=("src",),
    ),
}

#: the extension suites, run by ``make ext-suites``
EXTENSIONS = ("flask-login", "flask-wtf", "flask-sqlalchemy")
