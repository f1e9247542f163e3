"""Planted-signal tests for word timestamps: DTW, CA word times, CTC alignment, scoring, head ranking."""

from __future__ import annotations

import itertools
import logging
from typing import Sequence

import numpy as np
import pytest
import torch
from torch import Tensor

from probes.interface import Utterance, forced
from probes.metrics.timestamps import (
    ctc_word_times,
    dtw,
    even_word_times,
    normalise,
    pick_heads,
    score_word_times,
    spans,
    to_words,
    word_times,
)
from tests.probes.toys import ToyProbe, toy_utterance

SEC = 0.04  # seconds per encoder frame of the fakes below (4x subsampling at 100 frames/s)


class FakeModel:
    """Just what timing needs: fixed word groups, frame rate and (optionally) CTC log-probabilities."""

    frames_per_second = 100
    subsampling = 4
    blank_id = 0

    def __init__(self, groups: Sequence[Sequence[int]], ctc: Tensor | None = None) -> None:
        """``groups``: token indices of each word; ``ctc`` (T', V) log-probabilities or None."""
        self.groups = [list(g) for g in groups]
        self.ctc = ctc

    def word_groups(self, tokens: Sequence[int]) -> list[tuple[str, list[int]]]:
        """Word k is named "wk"."""
        return [(f"w{k}", g) for k, g in enumerate(self.groups)]

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Token 99 is a full stop, the others words."""
        return " ".join("." if t == 99 else f"t{t}" for t in tokens)

    def ctc_log_probs(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor] | None:
        """The planted log-probabilities, whatever the input."""
        if self.ctc is None:
            return None
        return self.ctc[None], torch.tensor([self.ctc.shape[0]])


def windows_map(windows: Sequence[tuple[int, int]], frames: int) -> np.ndarray:
    """(I, T') map that is 1 on token i's window and 0 elsewhere."""
    m = np.zeros((len(windows), frames))
    for i, (a, b) in enumerate(windows):
        m[i, a:b] = 1.0
    return m


def path_of(windows: Sequence[tuple[int, int]], frames: int) -> np.ndarray:
    """(T') token of each frame, -1 outside every window."""
    path = np.full(frames, -1)
    for i, (a, b) in enumerate(windows):
        path[a:b] = i
    return path


def assert_times(actual: Sequence[tuple[str, float, float]], expected: Sequence[tuple[str, float, float]],
                 tol: float = 1e-9) -> None:
    """Same words, and every boundary within ``tol`` seconds."""
    assert [w for w, _, _ in actual] == [w for w, _, _ in expected]
    np.testing.assert_allclose([t[1:] for t in actual], [t[1:] for t in expected], rtol=0, atol=tol)


def utterance(tokens: Sequence[int], words: list[tuple[str, float, float]] | None = None, frames: int = 4) -> Utterance:
    """An utterance with dummy features of ``frames`` input frames."""
    return Utterance(id="u", features=torch.zeros(frames, 2), prefix=[1], tokens=list(tokens), words=words)


# --- DTW and the map pipeline ------------------------------------------------------------------


def test_dtw_recovers_a_planted_noisy_path() -> None:
    rng = np.random.default_rng(0)
    bounds = np.sort(rng.choice(np.arange(1, 80), size=11, replace=False))
    windows = list(zip([0, *bounds], [*bounds, 80]))  # 12 tokens tiling 80 frames, 1..>10 frames each
    noisy = windows_map(windows, 80) + rng.normal(0, 0.3, (12, 80))
    path = dtw(-noisy)
    assert np.all(np.diff(path) >= 0) and np.all(np.diff(path) <= 1) and path[0] == 0 and path[-1] == 11
    assert np.abs(spans(path, 12) - np.array(windows)).max() <= 1  # noise may move a boundary by a frame
    assert (path == path_of(windows, 80)).mean() >= 0.95


def test_dtw_with_silence_recovers_gaps_and_batches() -> None:
    rng = np.random.default_rng(1)
    windows = [(3, 9), (9, 12), (15, 24), (30, 33), (33, 38)]
    clean = windows_map(windows, 45)
    batch = np.stack([clean + rng.normal(0, 0.2, clean.shape) for _ in range(3)])  # (3, I, T')
    paths = dtw(-batch, silence=0.5)
    assert paths.shape == (3, 45)
    for path in paths:
        np.testing.assert_array_equal(path, path_of(windows, 45))


def every_path(n_tokens: int, frames: int, silence: bool) -> list[np.ndarray]:
    """All paths ``dtw`` may take, by brute force: state per frame, silence states at even indices."""
    states = 2 * n_tokens + 1 if silence else n_tokens
    ends = ({0, 1}, {states - 1, states - 2}) if silence else ({0}, {states - 1})
    paths = []
    for seq in itertools.combinations_with_replacement(range(states), frames):
        steps = np.diff(seq)
        ok = seq[0] in ends[0] and seq[-1] in ends[1] and np.all(steps <= (2 if silence else 1))
        ok = ok and all(b % 2 == 1 for a, b in zip(seq, seq[1:]) if b - a == 2)  # a skip lands on a token
        ok = ok and (not silence or set(range(1, states, 2)) <= set(seq))  # every token visited
        if ok:
            paths.append(np.where(np.array(seq) % 2 == 1, np.array(seq) // 2, -1) if silence else np.array(seq))
    return paths


@pytest.mark.parametrize("silence", [None, 0.3])
def test_dtw_finds_the_cheapest_of_all_paths(silence: float | None) -> None:
    rng = np.random.default_rng(3)
    for n_tokens, frames in [(1, 4), (2, 5), (3, 7), (4, 8)]:
        candidates = every_path(n_tokens, frames, silence is not None)
        for _ in range(10):
            cost = rng.normal(size=(n_tokens, frames))
            totals = [sum(-silence if i < 0 else cost[i, f] for f, i in enumerate(p)) for p in candidates]
            np.testing.assert_array_equal(dtw(cost, silence), candidates[int(np.argmin(totals))])


def test_dtw_rejects_more_tokens_than_frames() -> None:
    with pytest.raises(ValueError, match="tokens"):
        dtw(np.zeros((5, 4)))


def test_median_filter_of_width_one_is_identity_after_standardising() -> None:
    x = np.random.default_rng(2).random((2, 3, 20))
    z = (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)
    np.testing.assert_allclose(normalise(torch.tensor(x), filter_width=1), z)
    assert not np.allclose(normalise(x, filter_width=5), z)
    np.testing.assert_array_equal(normalise(np.ones((2, 7))), 0.0)  # a constant row carries no timing


def test_peaked_map_gives_known_word_times() -> None:
    windows = [(0, 5), (5, 9), (9, 16), (16, 20), (20, 26), (26, 30)]  # tile the 30 frames
    model = FakeModel([[0, 1], [2], [3, 4, 5]])
    times = word_times(model, range(6), windows_map(windows, 30) + 0.01)
    expected = [("w0", 0 * SEC, 9 * SEC), ("w1", 9 * SEC, 16 * SEC), ("w2", 16 * SEC, 30 * SEC)]
    assert_times(times, expected)


def test_silence_places_words_with_pauses_to_the_frame() -> None:
    windows = [(4, 9), (9, 14), (20, 26), (31, 36)]
    model = FakeModel([[0, 1], [2], [3]])
    heads = np.stack([windows_map(windows, 40), 2 * windows_map(windows, 40)])  # (K, I, T'): heads averaged
    times = word_times(model, range(4), heads, filter_width=3, silence=0.0)
    expected = [("w0", 4 * SEC, 14 * SEC), ("w1", 20 * SEC, 26 * SEC), ("w2", 31 * SEC, 36 * SEC)]
    assert_times(times, expected)
    without = word_times(model, range(4), heads, filter_width=3)
    assert without[0][1] == 0.0 and without[-1][2] == pytest.approx(40 * SEC)  # edges go to the end words


# --- the toy model's cross-attention -----------------------------------------------------------


def ca_word_times(model: ToyProbe, utt: Utterance, heads: list[tuple[int, int]] | None, filter_width: int = 7,
                  silence: float | None = None) -> list[tuple[str, float, float]]:
    """Word times of ``utt`` from the CA of ``heads`` (1-based; None: all), as ``probes.explain`` times them."""
    ca = forced(model, utt, need_weights=True).attention[0]  # (L, H, I, T')
    return word_times(model, utt.tokens, pick_heads(ca, heads), filter_width, silence)


def test_toy_ca_word_times_equal_its_read_windows() -> None:
    model = ToyProbe(reads=[(0, 4), (4, 9), (9, 13), (13, 20)])
    utt = toy_utterance(model, frames=80)  # T' = 20
    assert_times(ca_word_times(model, utt, heads=[(1, 1)]), utt.words)
    assert_times(ca_word_times(model, utt, heads=None), utt.words)  # the useless uniform heads do not move it


def test_toy_ca_word_times_with_pauses() -> None:
    model = ToyProbe(reads=[(2, 6), (7, 11), (14, 18)])
    utt = toy_utterance(model, frames=80)
    assert_times(ca_word_times(model, utt, heads=[(2, 1)], filter_width=3, silence=0.0), utt.words)


# --- CTC forced alignment ----------------------------------------------------------------------


def planted_ctc(labels: Sequence[int], vocab: int = 6) -> Tensor:
    """(T', V) log-probabilities that put 0.9 on the planted label of every frame."""
    probs = torch.full((len(labels), vocab), 0.1 / (vocab - 1))
    probs[torch.arange(len(labels)), torch.tensor(labels)] = 0.9
    return probs.log()


def test_ctc_word_times_recover_a_planted_alignment() -> None:
    # frames:  0  1  2  3  4  5  6  7  8  9 10 11 12 13
    labels = [0, 0, 3, 3, 0, 1, 0, 1, 1, 0, 0, 4, 4, 0]  # tokens 3 1 1 4: the repeated 1 needs a blank
    model = FakeModel([[0, 1], [2, 3]], ctc=planted_ctc(labels))
    times = ctc_word_times(model, utterance([3, 1, 1, 4]))
    assert_times(times, [("w0", 2 * SEC, 6 * SEC), ("w1", 7 * SEC, 13 * SEC)])


def test_ctc_word_times_without_head_or_path_is_none(caplog: pytest.LogCaptureFixture) -> None:
    assert ctc_word_times(FakeModel([[0]]), utterance([3])) is None
    model = FakeModel([[0, 1, 2]], ctc=planted_ctc([0, 2, 0]))
    with caplog.at_level(logging.WARNING, logger="probes.metrics.timestamps"):
        assert ctc_word_times(model, utterance([2, 2, 3])) is None  # 3 tokens + 1 repeat > 3 frames
        assert ctc_word_times(model, utterance([0])) is None
    assert "repeats" in caplog.text and "blank" in caplog.text


# --- scoring -----------------------------------------------------------------------------------


REFERENCE = [("the", 0.10, 0.30), ("cat", 0.30, 0.62), ("sat", 0.70, 1.00), ("down", 1.00, 1.40)]


def test_score_of_a_uniform_40ms_shift() -> None:
    late = [(w, s + 0.04, e + 0.04) for w, s, e in REFERENCE]
    score = score_word_times(late, REFERENCE)
    assert score["mae_start_ms"] == pytest.approx(40) and score["mae_end_ms"] == pytest.approx(40)
    assert score["mae_ms"] == pytest.approx(40) and score["within"] == 1.0
    assert (score["matched"], score["total"]) == (4, 4)


def test_score_with_one_word_200ms_off_and_an_extra_word() -> None:
    predicted = [("The", 0.10, 0.30), ("cat", 0.50, 0.82), ("uh", 0.62, 0.70), ("sat,", 0.70, 1.00),
                 ("down", 1.00, 1.40)]
    score = score_word_times(predicted, REFERENCE)
    assert (score["matched"], score["total"]) == (4, 4)  # "uh" is unmatched, case and punctuation ignored
    assert score["mae_start_ms"] == pytest.approx(50) and score["mae_end_ms"] == pytest.approx(50)
    assert score["within"] == pytest.approx(6 / 8)
    assert score_word_times(predicted, REFERENCE, tolerance_ms=250)["within"] == 1.0
    assert np.isnan(score_word_times([("x", 0.0, 1.0)], REFERENCE)["mae_ms"])


def test_the_uniform_baseline_spreads_tokens_evenly() -> None:
    class Words:
        subsampling, frames_per_second = 4, 100

        def word_groups(self, tokens):
            return [("a", [0, 1]), ("b", [2]), ("c", [3])]

        def detokenize(self, tokens):
            return "x"

    times = even_word_times(Words(), [5, 6, 7, 8], frames=20)  # 5 frames (0.2 s) per token
    assert [(w, round(s, 3), round(e, 3)) for w, s, e in times] == [("a", 0.0, 0.4), ("b", 0.4, 0.6), ("c", 0.6, 0.8)]


def test_a_words_time_leaves_out_its_punctuation() -> None:
    # "w0" = tokens 0-1, "w1." = tokens 2-3 with token 3 a full stop, "..." alone = token 4 (kept whole)
    model = FakeModel([[0, 1], [2, 3], [4]])
    spans = np.array([[0, 2], [2, 5], [5, 8], [8, 20], [20, 25]])  # (I, 2) frames; the stop holds the trailing pause
    times = to_words(model, [10, 11, 12, 99, 99], spans)
    assert [(w, round(s / SEC), round(e / SEC)) for w, s, e in times] == [("w0", 0, 5), ("w1", 5, 8), ("w2", 20, 25)]
