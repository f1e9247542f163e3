"""Known answers for the agreement metrics: scipy parity, invariances, hand-built spans and summaries."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Sequence

import numpy as np
import pytest
import torch
from scipy import stats

from probes.interface import Utterance
from probes.metrics.agreement import (
    Summary,
    baselines,
    correlations,
    linear_share,
    linear_span_parts,
    mass_in_span,
    match_words,
    random_map,
    span_mass,
    summarize,
    token_pearson,
    token_spans,
    uniform_map,
    word_spans_to_frames,
)
from tests.probes.toys import ToyProbe, toy_utterance

SEC = 0.04  # seconds per encoder frame of the stub and toy models


class Grouped:
    """Stub model whose word groups are fixed: the only member ``token_spans`` needs besides the frame rate."""

    frames_per_second = 100
    subsampling = 4

    def __init__(self, words: Sequence[str], sizes: Sequence[int]) -> None:
        """Word ``k`` spans the next ``sizes[k]`` tokens."""
        self.groups, start = [], 0
        for word, size in zip(words, sizes):
            self.groups.append((word, list(range(start, start + size))))
            start += size
        self.tokens = list(range(start))

    def word_groups(self, tokens: Sequence[int]) -> list[tuple[str, list[int]]]:
        """The fixed groups."""
        return self.groups


def timed(words: Sequence[str]) -> list[tuple[str, float, float]]:
    """Word k spans encoder frames [2k, 2k + 2)."""
    return [(w, 2 * k * SEC, (2 * k + 2) * SEC) for k, w in enumerate(words)]


def test_correlations_match_scipy() -> None:
    g = np.random.default_rng(0)
    a, b = g.normal(size=(7, 30)), g.normal(size=(7, 30))
    b += 0.5 * a
    got = correlations(torch.from_numpy(a).float(), b)
    assert got["pearson"] == pytest.approx(stats.pearsonr(a.ravel(), b.ravel()).statistic, abs=1e-6)
    assert got["spearman"] == pytest.approx(stats.spearmanr(a.ravel(), b.ravel()).statistic)
    assert got["kendall"] == pytest.approx(stats.kendalltau(a.ravel(), b.ravel()).statistic)


def test_pearson_invariant_to_affine_rescaling() -> None:
    g = np.random.default_rng(1)
    a, b = g.random((5, 20)), g.random((5, 20))
    base = correlations(a, b)["pearson"]
    assert correlations(3.0 * a + 7.0, b)["pearson"] == pytest.approx(base)
    assert correlations(a, 0.01 * b - 2.0)["pearson"] == pytest.approx(base)
    assert correlations(-a, b)["pearson"] == pytest.approx(-base)


def test_constant_maps_give_nan_correlations_without_warnings() -> None:
    near_constant = torch.full((3, 7), 1.0 / 7).cumsum(dim=1) / torch.arange(1, 8)  # 1/7 up to float32 rounding
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = correlations(near_constant, torch.rand(3, 7))
    assert all(math.isnan(v) for v in got.values()) and set(got) == {"pearson", "pearson_token", "spearman", "kendall"}


def test_correlations_reject_different_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        correlations(np.zeros((2, 3)), np.zeros((3, 2)))


def test_summarize_against_hand_computation() -> None:
    s = summarize([1.0, 2.0, float("nan"), 3.0, 4.0])
    std = math.sqrt(5 / 3)  # squared deviations 2.25 + 0.25 + 0.25 + 2.25 over n - 1 = 3
    half = 3.182446305284263 * std / 2  # t(0.975, df 3) from tables, / sqrt(4)
    assert (s.mean, s.n, s.skipped) == (2.5, 4, 1)
    assert s.std == pytest.approx(std)
    assert (s.ci_low, s.ci_high) == (pytest.approx(2.5 - half), pytest.approx(2.5 + half))


def test_summarize_small_samples() -> None:
    one = summarize([0.3])
    assert one.mean == 0.3 and one.n == 1 and math.isnan(one.ci_low) and math.isnan(one.ci_high) and math.isnan(one.std)
    none = summarize([float("nan")] * 3)
    assert math.isnan(none.mean) and none.n == 0 and none.skipped == 3
    assert summarize([2.0, 2.0]) == Summary(2.0, 2.0, 2.0, 2, 0.0, 0)


def test_word_spans_cover_overlapped_frames_snap_and_clip() -> None:
    words = [("a", 3 * SEC, 5 * SEC), ("b", 0.13, 0.42), ("c", 0.5, 0.5), ("d", -0.1, 9.0)]
    assert word_spans_to_frames(words, 20, SEC) == [(3, 5), (3, 11), (12, 13), (0, 20)]


def test_mass_in_span_on_hand_built_maps() -> None:
    relevance = torch.tensor([
        [0.0, 2.0, 3.0, 0.0, 0.0, 0.0],  # all inside [1, 3)
        [1.0, 1.0, 1.0, 1.0, 0.0, 0.0],  # half inside [0, 2)
        [-5.0, 1.0, 0.0, 0.0, 0.0, 3.0],  # negative clipped: 1 of 4 inside [0, 2)
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # no windows: unscored
        [0.0, 0.0, 0.0, 0.0, 0.0, -1.0],  # no positive mass: unscored
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # overlapping windows counted once: [0, 3) and [2, 4)
    ])
    spans = [[(1, 3)], [(0, 2)], [(0, 2)], [], [(0, 6)], [(0, 3), (2, 4)]]
    np.testing.assert_allclose(mass_in_span(relevance, spans), [1.0, 0.5, 0.25, np.nan, np.nan, 4 / 6])
    assert span_mass(relevance, spans) == pytest.approx((1.0 + 0.5 + 0.25 + 4 / 6) / 4)
    assert math.isnan(span_mass(relevance, [[]] * 6))


def test_linear_span_parts_are_sums_in_units_of_absolute_mass_and_give_span_mass_for_attention_rows() -> None:
    relevance = torch.tensor([
        [0.0, 2.0, 3.0, -1.0],  # inside [1, 3): 5 of net 4, absolute 6
        [1.0, 1.0, 1.0, 1.0],  # no windows: left out of every sum
        [2.0, 2.0, 0.0, 0.0],  # inside [0, 1) and [0, 2) overlapping: 4 of 4
    ])
    spans = [[(1, 3)], [], [(0, 1), (0, 2)]]
    parts = linear_span_parts(relevance, spans)
    assert parts == pytest.approx({"inside": (5 + 4) / 10, "net": (4 + 4) / 10})
    assert linear_span_parts(relevance, [[]] * 3) is None
    assert linear_span_parts(torch.zeros(3, 4), spans) is None
    rows = torch.softmax(torch.randn(5, 9, generator=torch.Generator().manual_seed(0)), dim=1)  # like CA
    windows = [[(0, 3)], [(2, 5)], [], [(4, 9)], [(1, 2), (6, 8)]]
    parts = linear_span_parts(rows, windows)
    assert parts["net"] == pytest.approx(1.0)
    assert parts["inside"] == pytest.approx(span_mass(rows, windows))
    assert linear_share([parts, parts]).mean == pytest.approx(span_mass(rows, windows))


def test_noise_biases_span_mass_but_not_the_pooled_linear_share() -> None:
    """A noise-free map with 0.85 of its relevance in the spans, estimated with zero-mean noise (like SPES with few
    masks): clipping counts the noise outside the spans as mass, the linear share does not."""
    spans = [[(10 * i, 10 * i + 10)] for i in range(4)]
    clean = torch.full((4, 40), 0.2 / 40)  # (I, T'): 0.2 of each token's relevance spread over the utterance
    for i in range(4):
        clean[i, 10 * i:10 * i + 10] += 0.08  # 0.8 on its own word
    truth = 0.8 + 0.2 * 10 / 40
    assert linear_share([linear_span_parts(clean, spans)]).mean == pytest.approx(truth) == span_mass(clean, spans)
    generator = torch.Generator().manual_seed(0)
    noisy = [clean + 0.02 * torch.randn(clean.shape, generator=generator) for _ in range(400)]
    share = linear_share([linear_span_parts(m, spans) for m in noisy])
    assert share.mean == pytest.approx(truth, abs=0.01)
    assert share.ci_low < truth < share.ci_high
    assert (share.ci_high - share.ci_low) / 3.92 == pytest.approx(share.std / math.sqrt(share.n), rel=0.2)
    assert np.mean([span_mass(m, spans) for m in noisy]) < truth - 0.05


def test_the_pooled_share_stays_defined_where_a_map_sums_to_nearly_nothing() -> None:
    """An utterance whose relevance cancels (net ~ 0) makes its own share inside / net explode; pooled, it only adds
    its little net and inside mass: the run's share stays that of the other utterances, and its interval finite."""
    sound = [{"inside": 0.5, "net": 0.9}, {"inside": 0.6, "net": 1.0}, {"inside": 0.4, "net": 0.8}]
    cancelling = {"inside": 0.05, "net": 0.001}
    assert cancelling["inside"] / cancelling["net"] == pytest.approx(50)
    alone, pooled = linear_share(sound), linear_share([*sound, cancelling, None])
    assert alone.mean == pytest.approx(1.5 / 2.7)
    assert pooled.mean == pytest.approx(1.55 / 2.701)
    assert (pooled.n, pooled.skipped) == (4, 1)
    assert linear_share([*sound, 0.7]) == dataclasses.replace(alone, skipped=1)  # an older record's bare ratio
    assert 0.4 < pooled.ci_low < pooled.mean < pooled.ci_high < 0.8
    assert pooled.std / math.sqrt(pooled.n) < 0.1  # the ratio estimator's standard error
    assert linear_share([*sound, cancelling]) == linear_share([*sound, cancelling])  # a fixed bootstrap seed
    assert math.isnan(linear_share([{"inside": 0.1, "net": -0.2}]).mean)  # the pooled net is not positive


def test_the_paired_difference_of_two_pooled_shares() -> None:
    a = [{"inside": 0.5, "net": 1.0}, {"inside": 0.7, "net": 1.0}, {"inside": 0.6, "net": 1.0}, None]
    b = [{"inside": 0.4, "net": 1.0}, {"inside": 0.5, "net": 0.5}, {"inside": 0.2, "net": 1.0}, {"inside": 1, "net": 1}]
    difference = linear_share(a, b)
    assert difference.mean == pytest.approx(1.8 / 3 - 1.1 / 2.5)
    assert (difference.n, difference.skipped) == (3, 1)
    assert difference.ci_low < difference.mean < difference.ci_high
    assert linear_share(a, a).mean == 0 and linear_share(a, a).ci_high == 0  # a map against itself: no difference


def test_match_words_when_the_hypothesis_drops_or_inserts_words() -> None:
    assert match_words(["The", "cat", "sat"], ["the", "big", "cat", "sat."]) == {0: 0, 1: 2, 2: 3}
    assert match_words(["the", "big", "fat", "cat"], ["the", "big", "cat"]) == {0: 0, 1: 1, 3: 2}
    assert match_words(["a", "dog"], ["a", "cat"]) == {0: 0}  # a substitution stays unmatched
    assert match_words(["-", "x"], ["--", "x"]) == {1: 1}  # punctuation-only words never match


def test_token_spans_follow_matched_words_only() -> None:
    model = Grouped(["the", "cat", "sat"], sizes=[1, 2, 1])  # "cat" is tokens 1 and 2
    utt = Utterance(id="u", features=torch.zeros(40, 2), prefix=[0], tokens=model.tokens,
                    words=timed(["the", "big", "cat", "sat"]))
    assert token_spans(model, utt, 10) == [[(0, 2)], [(4, 6)], [(4, 6)], [(6, 8)]]
    inserted = Grouped(["the", "fat", "cat"], sizes=[1, 1, 1])
    utt = Utterance(id="v", features=torch.zeros(40, 2), prefix=[0], tokens=inserted.tokens,
                    words=timed(["the", "cat"]))
    assert token_spans(inserted, utt, 10) == [[(0, 2)], [], [(2, 4)]]


def test_st_target_token_spans_are_the_union_of_aligned_source_words() -> None:
    model = Grouped(["il", "gatto", "nero", "qui"], sizes=[1, 2, 1, 1])
    utt = Utterance(id="st", features=torch.zeros(40, 2), prefix=[0], tokens=model.tokens, task="st",
                    words=timed(["the", "black", "cat", "here"]), tgt_words=["il", "gatto", "nero", "qui"],
                    alignment=[(0, 0), (2, 1), (1, 1), (1, 2)])  # "gatto" aligned to two source words; "qui" to none
    spans = token_spans(model, utt, 10)
    assert spans == [[(0, 2)], [(2, 4), (4, 6)], [(2, 4), (4, 6)], [(2, 4)], []]
    relevance = torch.zeros(5, 10)
    relevance[1, 2:6] = 1.0  # "gatto"'s first token reads both source words
    assert mass_in_span(relevance, spans)[1] == 1.0
    with pytest.raises(ValueError, match="alignment"):
        token_spans(model, Utterance(id="x", features=torch.zeros(40, 2), prefix=[0], tokens=model.tokens, task="st",
                                     words=timed(["the"])), 10)


def test_toy_attention_lies_inside_the_read_windows() -> None:
    reads = [(1, 3), (5, 7), (9, 12), (14, 16), (17, 19)]
    model = ToyProbe(reads)
    utt = toy_utterance(model, frames=80)
    spans = token_spans(model, utt, 20)
    assert spans == [[w] for w in reads]
    truthful = torch.zeros(len(reads), 20)
    for i, (a, b) in enumerate(reads):
        truthful[i, a:b] = 1.0 / (b - a)
    assert span_mass(truthful, spans) == pytest.approx(1.0)
    assert span_mass(uniform_map(len(reads), 20), spans) == pytest.approx(np.mean([(b - a) / 20 for a, b in reads]))


def test_baseline_maps() -> None:
    assert torch.allclose(uniform_map(3, 8).sum(dim=1), torch.ones(3))
    noise = random_map(3, 8, torch.Generator().manual_seed(0))
    assert torch.allclose(noise.sum(dim=1), torch.ones(3)) and (noise > 0).all()
    assert torch.equal(noise, random_map(3, 8, torch.Generator().manual_seed(0)))


def test_baselines_have_every_metric_with_an_undefined_uniform_correlation() -> None:
    target = torch.rand(4, 30, generator=torch.Generator().manual_seed(2))
    spans = [[(0, 10)], [(10, 20)], [], [(20, 30)]]
    rows = baselines(target, torch.Generator().manual_seed(3), spans)
    assert set(rows) == {"uniform", "random"}
    assert set(rows["uniform"]) == set(rows["random"]) == {"pearson", "pearson_token", "spearman", "kendall", "span_mass"}
    assert all(math.isnan(rows["uniform"][k]) for k in ("pearson", "pearson_token", "spearman", "kendall"))
    assert rows["uniform"]["span_mass"] == pytest.approx(1 / 3)
    assert abs(rows["random"]["pearson"]) < 0.3
    assert summarize([rows["uniform"]["pearson"]] * 5).skipped == 5


def test_token_pearson_weighs_every_token_the_same() -> None:
    """A per-token offset makes whole-map Pearson high without any agreement inside the rows; per token it is 0."""
    g = np.random.default_rng(0)
    a, b = g.normal(size=(6, 40)), g.normal(size=(6, 40))
    offsets = np.arange(6)[:, None] * 10.0  # (I, 1): token i's map sits at 10 i
    got = correlations(a + offsets, b + offsets)
    assert got["pearson"] > 0.9
    rows = [stats.pearsonr(a[i], b[i]).statistic for i in range(6)]
    assert got["pearson_token"] == pytest.approx(np.mean(rows))
    assert token_pearson(a, 3.0 * a + 1.0) == pytest.approx(1.0)  # each row rescaled: identical per token


def test_token_pearson_constant_rows_and_maps() -> None:
    a = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    assert token_pearson(a, a) == pytest.approx(1.0)  # the constant row is left out
    assert math.isnan(token_pearson(np.ones((2, 3)), a))
