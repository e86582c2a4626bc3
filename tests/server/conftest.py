"""The request-head and response-head tests run twice: on the compiled head
scanner and on its Python definition (see corral.server.http.headscan), so
both stay tested whichever one a machine installs."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from corral.server.http import headscan, strict

# the test modules that read request heads in-process
_HEAD_TESTS = {"test_head_grammar", "test_read_sizes", "test_parser", "test_parser_properties",
               "test_corpus", "test_environ", "test_body", "test_response",
               "test_whole_bodies"}
# fixtures of tests that talk to a server process (which uses what it installed)
_SERVED = {"server", "serve", "worker_args", "corpus_server"}
_SCANNERS = {
    "compiled": (headscan.scan_head, headscan.sort_fields, headscan.field_lines,
                 strict.match_head),
    "python": (headscan.python_scan_head, headscan.python_sort_fields,
               headscan.python_field_lines, strict.python_match_head),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (metafunc.module.__name__.rpartition(".")[2] in _HEAD_TESTS
            and not _SERVED.intersection(metafunc.fixturenames)):
        metafunc.fixturenames.append("head_scanner")
        metafunc.parametrize("head_scanner", list(_SCANNERS), indirect=True)


@pytest.fixture
def head_scanner(request: pytest.FixtureRequest) -> Iterator[str]:
    """Which definition of the head scanner a request-head test runs on."""
    if request.param == "compiled" and not headscan.COMPILED:
        pytest.skip("the compiled head scanner is not built here")
    saved = headscan.scan_head, headscan.sort_fields, headscan.field_lines, strict.match_head
    (headscan.scan_head, headscan.sort_fields, headscan.field_lines,
     strict.match_head) = _SCANNERS[request.param]
    try:
        yield request.param
    finally:
        (headscan.scan_head, headscan.sort_fields, headscan.field_lines,
         strict.match_head) = saved


HARNESS = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_parser.py"


def load_harness() -> ModuleType:
    """The atheris harness in fuzz/ (loaded from its file: fuzz/ is no package)."""
    spec = importlib.util.spec_from_file_location("fuzz_parser", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    """The atheris harness in fuzz/."""
    return load_harness()
