"""The compat harness's own logic: the expected-failures files parse, the suites are
well formed, and the verdict is strict both ways (without running any suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compat import run
from tests.compat.suites import SUITES, Suite


@pytest.mark.parametrize("name", sorted(SUITES))
def test_suite_entries_are_pinned_and_their_lists_parse(name: str) -> None:
    suite = SUITES[name]
    assert "==" in suite.sdist, "pin the sdist version"
    expected = run.read_expected(suite.expected_failures)
    assert all(reason for reason in expected.values())


def test_flask_list_holds_few_entries() -> None:
    expected = run.read_expected(SUITES["flask"].expected_failures)
    assert len(expected) <= 45


def test_a_line_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "expected.txt"
    path.write_text("tests/test_x.py::test_y\n")
    with pytest.raises(SystemExit, match="expected '<test id> | <reason>'"):
        run.read_expected(path)


def test_verdict_fails_on_unlisted_failures_and_on_listed_passes(tmp_path: Path) -> None:
    suite = Suite(name="demo", sdist="demo==1.0", expected_failures=tmp_path / "none.txt")
    outcomes = {"a": "passed", "b": "failed", "c": "error", "d": "skipped"}
    assert run.compare(suite, outcomes, {"b": "r", "c": "r"}) == 0
    assert run.compare(suite, outcomes, {"b": "r"}) == 1  # c fails unlisted
    assert run.compare(suite, outcomes, {"a": "r", "b": "r", "c": "r"}) == 1  # a passes


def test_sdist_names_match_whatever_their_case_and_separator() -> None:
    assert run.is_sdist_of("Flask-Login-0.6.3.tar.gz", "flask-login==0.6.3")
    assert run.is_sdist_of("flask_wtf-1.2.2.tar.gz", "flask-wtf==1.2.2")
    assert not run.is_sdist_of("flask_wtf-1.2.1.tar.gz", "flask-wtf==1.2.2")


def test_unmet_requirements_include_wrong_versions() -> None:
    assert run.unmet(("pytest", "pytest>=1")) == []
    assert run.unmet(("pytest<1", "surely-not-an-installed-package-x")) == [
        "pytest<1", "surely-not-an-installed-package-x",
    ]


def test_every_extension_suite_has_its_package_on_the_path() -> None:
    from tests.compat.suites import EXTENSIONS

    for name in EXTENSIONS:
        assert SUITES[name].pythonpath == ("src",)
        assert SUITES[name].expected_failures.exists()
