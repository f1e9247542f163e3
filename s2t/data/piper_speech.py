"""Say a sentence in one synthesis of the Piper voice and find its word times: the corpus's pauses and sentence modes.

In ``pauses`` mode the sentence is said with a comma after every word and ``pause_spans`` cuts
the utterance in the middle of each pause between the voice's word spans (each cut must fall in
silence, else the sentence is synthesised again, up to ``RETRIES`` times, then refused with
``PausesNotFound``); each word's span then runs from its first to its last loud 10 ms frame
(``TRIM_DB`` below the loudest), as the espeak corpus trims its words: exact. In ``sentence`` mode the spans are the voice's phoneme frames
(``s2t.data.piper_voice``): approximate. ``speak`` adds edge silence, a gain and maybe noise.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np

from s2t.data.manifest import SAMPLE_RATE
from s2t.data.piper_voice import NaturalVoiceError, PiperEngine, PiperSpeaker
from s2t.data.synth import add_noise

if TYPE_CHECKING:
    from s2t.data.natural import NaturalConfig

RETRIES = 3  # pauses mode: syntheses of a sentence before giving up on finding its pauses
TRIM_DB = 50.0  # words mode: Piper's silence is ~80 dB below a word's peak; 50 dB keeps the weak final stop releases


class PausesNotFound(NaturalVoiceError):
    """Pauses mode: no synthesis of a sentence left every pause between its words silent."""


def pause_spans(wav: np.ndarray, spans: list[tuple[int, int]], threshold_db: float = TRIM_DB) -> list[tuple[int, int]] | None:
    """Each word's audible extent, when silence separates every two words; None when some pause is not silent.

    ``spans`` (the voice's alignment) tell which stretch of audio belongs to which word: the
    utterance is cut in the middle of each gap between two spans, and each word's extent is
    its part's first to last loud 10 ms frame (louder than ``threshold_db`` below the loudest
    frame, as ``s2t.data.espeak.trim`` judges). Every cut must fall in a silent frame.
    """
    hop = SAMPLE_RATE // 100
    n = len(wav) // hop
    energy = (wav[: n * hop].reshape(n, hop) ** 2).mean(axis=1)  # (frames,)
    loud = energy > energy.max() * 10 ** (-threshold_db / 10)
    cuts = [0] + [(b + a) // 2 // hop for (_, b), (a, _) in zip(spans, spans[1:])] + [n]
    if any(loud[c] for c in cuts[1:-1]):
        return None
    out = []
    for lo, hi in zip(cuts, cuts[1:]):
        frames = np.nonzero(loud[lo:hi])[0]
        if len(frames) == 0:
            return None
        out.append(((lo + frames[0]) * hop, (lo + frames[-1] + 1) * hop))
    return out


def speak(
    words: tuple[str, ...], speaker: PiperSpeaker, engine: PiperEngine, rng: random.Random, config: NaturalConfig
) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """Sentence and pauses modes: the utterance (edge silence, gain, optional noise) and its word times in seconds."""
    if config.mode == "pauses":
        for _ in range(RETRIES):  # each synthesis draws new noise
            wav, spans = engine.synth_sentence(words, speaker, frozenset(range(len(words) - 1)))
            found = pause_spans(wav, spans)
            if found is not None:
                break
        else:
            raise PausesNotFound(f"no silent pause between some words of {' '.join(words)!r} in {RETRIES} syntheses")
        spans = found
    else:
        commas = frozenset(k for k in range(len(words) - 1) if rng.random() < config.long_pause_prob)
        wav, spans = engine.synth_sentence(words, speaker, commas)
    lead, tail = (np.zeros(int(rng.uniform(*config.edge_s) * SAMPLE_RATE), np.float32) for _ in range(2))
    audio = np.concatenate([lead, wav * rng.uniform(0.7, 1.0), tail])
    times = [(w, round((len(lead) + a) / SAMPLE_RATE, 5), round((len(lead) + b) / SAMPLE_RATE, 5))
             for w, (a, b) in zip(words, spans)]
    if rng.random() < config.noise_prob:
        audio = add_noise(audio, rng.uniform(*config.snr_db), np.random.default_rng(rng.getrandbits(32)))
    return audio, times
