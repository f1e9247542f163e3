"""Fixtures of the Whisper tests: the tiny random Whisper and a chirp (``tests.probes.tiny_whisper``)."""

from __future__ import annotations

import pytest
from torch import Tensor

from probes.adapters.whisper import WhisperProbe
from tests.probes.tiny_whisper import chirp, tiny_whisper


@pytest.fixture(scope="module")
def whisper() -> WhisperProbe:
    """A seeded tiny Whisper, one per test module (tests may change its weights for a while)."""
    return tiny_whisper()


@pytest.fixture(scope="module")
def wav() -> Tensor:
    """1.99 s of a 16 kHz chirp with noise, (SAMPLES,)."""
    return chirp()
