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
