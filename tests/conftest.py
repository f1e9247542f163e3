"""Shared fixtures: a tiny synthetic corpus made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2t.data.synth import SynthConfig, generate

TINY = dict(counts={"train": 8, "valid": 3, "test": 3}, seed=3, speakers=3)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All five languages, ASR and ST, a handful of utterances per split; returns its folder."""
    out = tmp_path_factory.mktemp("corpus")
    generate(SynthConfig(out=out, **TINY), progress=False)
    return out
