"""The atheris harness in fuzz/ runs without atheris: replay the corpus and random
bytes through its entry point so it never rots."""

from __future__ import annotations

import importlib.util
import random
import sys
from types import ModuleType

import pytest

from tests.server.corpus import CORPUS


def test_harness_accepts_the_corpus_and_random_bytes(harness: ModuleType) -> None:
    seeds = [p.read_bytes() for p in sorted(CORPUS.glob("*/*.http"))]
    assert len(seeds) > 50
    rng = random.Random(4)
    for seed in seeds:
        harness.test_one_input(seed)
        mutated = bytearray(seed)
        for _ in range(3):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        harness.test_one_input(bytes(mutated))
    for _ in range(300):
        harness.test_one_input(rng.randbytes(rng.randrange(400)))


def test_harness_explains_missing_atheris(harness: ModuleType) -> None:
    if "atheris" in sys.modules or importlib.util.find_spec("atheris") is not None:
        pytest.skip("atheris is installed")
    with pytest.raises(SystemExit, match="atheris is not installed"):
        harness.main(["fuzz_parser.py"])
