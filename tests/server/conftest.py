"""The request-head and response-head tests run twice: on the compiled head
scanner and response framing and on their Python definitions (see
corral.server.http.headscan), so both stay tested whichever one a machine
installs."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from corral.server.http import cycle, environ, headscan, response, strict

# the test modules that read request heads in-process
_HEAD_TESTS = {"test_head_grammar", "test_read_sizes", "test_parser", "test_parser_properties",
               "test_corpus", "test_environ", "test_body", "test_response",
               "test_whole_bodies"}
# fixtures of tests that talk to a server process (which uses what it installed)
_SERVED = {"server", "serve", "worker_args", "corpus_server"}
# where each step is looked up, and its two definitions: compiled, Python
_STEPS = [
    (headscan, "scan_head", headscan.python_scan_head),
    (headscan, "sort_fields", headscan.python_sort_fields),
    (headscan, "field_lines", headscan.python_field_lines),
    (strict, "match_head", strict.python_match_head),
    (environ, "build_environ", environ.python_build_environ),
    (cycle, "_new_exchange", cycle.Exchange),
    (cycle, "_frame_head", cycle.python_frame_head),
    (cycle, "_frame_whole", cycle.python_frame_whole),
    (response, "_start_response", response.python_start_response),
]
_SCANNERS = {
    "compiled": [getattr(module, name) for module, name, _ in _STEPS],
    "python": [python for _, _, python in _STEPS],
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (metafunc.module.__name__.rpartition(".")[2] in _HEAD_TESTS
            and not _SERVED.intersection(metafunc.fixturenames)):
        metafunc.fixturenames.append("head_scanner")
        metafunc.parametrize("head_scanner", list(_SCANNERS), indirect=True)


@pytest.fixture
def head_scanner(request: pytest.FixtureRequest) -> Iterator[str]:
    """Which definition of the head scanner (and of the response framing) a
    request-head or response test runs on."""
    if request.param == "compiled" and not headscan.COMPILED:
        pytest.skip("the compiled head scanner is not built here")
    saved = [getattr(module, name) for module, name, _ in _STEPS]
    for (module, name, _), step in zip(_STEPS, _SCANNERS[request.param], strict=True):
        setattr(module, name, step)
    try:
        yield request.param
    finally:
        for (module, name, _), step in zip(_STEPS, saved, strict=True):
            setattr(module, name, step)


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
