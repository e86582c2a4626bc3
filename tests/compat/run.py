"""Run a suite from tests/compat/suites.py against corral.web and check its failures
against the suite's list of expected ones.

    python tests/compat/run.py flask [-- extra pytest args]
    python tests/compat/run.py --real flask-login    # the baseline on real Flask

Downloads the suite's pinned sdist once into ``.cache/compat`` (outside the paths
``make test`` collects), installs its test dependencies when missing, runs its tests
with ``flask`` served by corral.web, and exits non-zero when a test fails that is not
on the list, or when a listed test passes (so the list stays true).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / ".cache" / "compat"

sys.path.insert(0, str(HERE))
from suites import SUITES, Suite  # noqa: E402

# outcome ranks: the worst phase of a test decides its outcome
_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def fetch(suite: Suite) -> Path:
    """The unpacked sdist of ``suite`` (downloaded and unpacked on first use)."""
    name, _, version = suite.sdist.partition("==")
    target = CACHE / f"{name}-{version}"
    if (target / suite.tests_dir).is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    download = CACHE / "downloads"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
         "--no-deps", "--dest", str(download), suite.sdist],
        check=True,
    )
    archives = sorted(p for p in download.glob("*.tar.gz") if is_sdist_of(p.name, suite.sdist))
    if not archives:
        raise SystemExit(f"no sdist for {suite.sdist} in {download}")
    with tarfile.open(archives[0]) as tar:
        tar.extractall(CACHE, filter="data")
    unpacked = CACHE / archives[0].name.removesuffix(".tar.gz")
    if unpacked != target:
        unpacked.rename(target)
    return target


def is_sdist_of(filename: str, pin: str) -> bool:
    """Whether ``filename`` is the sdist of ``name==version``; sdist names vary in
    case and separator (``Flask-Login-0.6.3.tar.gz``, ``flask_wtf-1.2.2.tar.gz``)."""
    name, _, version = pin.partition("==")
    return filename.lower().replace("_", "-") == f"{name}-{version}.tar.gz".lower().replace("_", "-")


def unmet(requirements: tuple[str, ...]) -> list[str]:
    """The requirement strings not satisfied by what is installed."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    missing = []
    for dep in requirements:
        req = Requirement(dep)
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            missing.append(dep)
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            missing.append(dep)
    return missing


def ensure_deps(suite: Suite) -> None:
    """Install the suite's test dependencies (requirement strings) that are missing
    or installed at a version outside the requirement."""
    missing = unmet(suite.test_deps)
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)


def read_expected(path: Path) -> dict[str, str]:
    """``{test id: reason}`` from an expected-failures file (``id | reason`` lines)."""
    expected: dict[str, str] = {}
    if not path.exists():
        return expected
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, sep, reason = line.partition(" | ")
        if not sep or not reason.strip():
            raise SystemExit(f"{path}:{lineno}: expected '<test id> | <reason>'")
        expected[test_id.strip()] = reason.strip()
    return expected


NOT_RUN = "not run:"


def run_tests(
    suite: Suite, source: Path, extra: list[str], expected: dict[str, str], real: bool = False
) -> dict[str, str]:
    """Run the suite's tests; ``{test id: outcome}``. Listed tests whose reason starts
    with ``not run:`` (they would start a real server in the test process) are
    deselected and count as failed."""
    deselect = [i for i, reason in expected.items() if reason.startswith(NOT_RUN)]
    report = CACHE / f"{suite.name}-report.jsonl"
    report.unlink(missing_ok=True)
    env = dict(os.environ)
    own = [str(source / p) for p in suite.pythonpath]
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), *own, env.get("PYTHONPATH", "")) if p
    )
    env["CORRAL_COMPAT_REPORT"] = str(report)
    if real:  # the baseline: the installed Flask answers, nothing is deselected
        env["CORRAL_COMPAT_REAL"] = "1"
        deselect = []
    cmd = [
        sys.executable, "-m", "pytest", "-p", "corral_compat_plugin", "-p", "no:cacheprovider",
        "--continue-on-collection-errors",
        "-q", "--no-header", "-rN", "-o", "timeout=60", *suite.pytest_args, *extra,
        *(f"--deselect={i}" for i in deselect), suite.tests_dir,
    ]
    subprocess.run(cmd, cwd=source, env=env, check=False)
    outcomes: dict[str, str] = {}
    if report.exists():
        for line in report.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            old = outcomes.get(rec["id"], "passed")
            if _RANK[rec["outcome"]] >= _RANK[old]:
                outcomes[rec["id"]] = rec["outcome"]
    outcomes.update(dict.fromkeys(deselect, "failed"))
    return outcomes


def compare(
    suite: Suite, outcomes: dict[str, str], expected: dict[str, str], target: str = "corral.web"
) -> int:
    failing = {i for i, o in outcomes.items() if o in ("failed", "error")}
    passed = sum(o == "passed" for o in outcomes.values())
    skipped = sum(o == "skipped" for o in outcomes.values())
    unexpected = sorted(failing - set(expected))
    stale = sorted(i for i in expected if outcomes.get(i) == "passed")
    missing = sorted(i for i in expected if i not in outcomes)
    print(
        f"\n{suite.name} suite ({suite.sdist}) on {target}: {len(outcomes)} tests,"
        f" {passed} passed, {len(failing)} failed, {skipped} skipped;"
        f" {len(expected)} on the expected-failures list"
    )
    for test_id in unexpected:
        print(f"  UNEXPECTED FAILURE  {test_id}")
    for test_id in stale:
        print(f"  NOW PASSES (take it off the list)  {test_id}")
    for test_id in missing:
        print(f"  LISTED BUT NOT RUN  {test_id}")
    return 1 if unexpected or stale else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument(
        "--real", action="store_true",
        help="the baseline: run the suite on the installed Flask (no alias), report only",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    suite = SUITES[args.suite]
    source = fetch(suite)
    ensure_deps(suite)
    expected = read_expected(suite.expected_failures)
    outcomes = run_tests(suite, source, args.pytest_args, expected, real=args.real)
    if not outcomes:
        print(f"{suite.name}: no test ran", file=sys.stderr)
        return 1
    if args.real:
        compare(suite, outcomes, {}, target="real Flask")
        return 0
    if args.pytest_args:  # a partial run: report, do not judge the list
        compare(suite, outcomes, {})
        return 0
    return compare(suite, outcomes, expected)


if __name__ == "__main__":
    sys.exit(main())
