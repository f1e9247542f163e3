"""Encoder-output saliency: configuration, planted signal, masking of H, reproducibility."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import Tensor

from probes.interface import Forced, Utterance
from probes.metrics.agreement import token_pearson
from probes.saliency.encoder import EncoderSaliencyConfig, dim_group_index, encoder_estimate, encoder_saliency
from tests.probes.test_perturbation import excess_share
from tests.probes.toys import ToyProbe, toy_utterance

READS = [(0, 4), (6, 9), (11, 15), (16, 20)]  # encoder frames of an 80-frame toy utterance (T' = 20)
SMALL = EncoderSaliencyConfig(dim_groups=3, batch_size=1000)  # the toy's D = 6: groups of 2 dimensions


class RecordingToy(ToyProbe):
    """The toy model, keeping every batch of encoder states it decodes from."""

    def __init__(self, *args, **kwargs) -> None:
        """As ``ToyProbe``, with an empty record."""
        super().__init__(*args, **kwargs)
        self.states: list[Tensor] = []

    def force_decode(self, enc: Tensor, enc_lengths: Tensor, prefix: Tensor, tokens: Tensor,
                     need_weights: bool = False) -> Forced:
        """Record (B, T', D), then decode."""
        self.states.append(enc.clone())
        return super().force_decode(enc, enc_lengths, prefix, tokens, need_weights)


@pytest.fixture
def toy() -> tuple[ToyProbe, Utterance]:
    """A toy whose token i reads encoder frames READS[i], and its 80-frame utterance."""
    model = ToyProbe(READS)
    return model, toy_utterance(model, frames=80)


@pytest.mark.parametrize("bad", [
    dict(masks=0), dict(keep_prob=0.0), dict(keep_prob=1.0), dict(keep_prob=-0.1),
    dict(dim_groups=0), dict(batch_size=0), dict(reduce="sum"), dict(target_reliability=1.0),
    dict(target_reliability=0.9, max_masks=10), dict(precision="half"),
])
def test_config_rejects(bad: dict) -> None:
    """Out-of-range values raise ValueError at construction."""
    with pytest.raises(ValueError):
        EncoderSaliencyConfig(**bad)


def test_dim_groups_contiguous() -> None:
    """6 dims in 3 groups: pairs; 7 dims in 3 groups: sizes 3, 2, 2."""
    assert dim_group_index(6, 3).tolist() == [0, 0, 1, 1, 2, 2]
    assert dim_group_index(7, 3).tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert dim_group_index(4, 4).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("estimator, masks", [("occluded", 4000), ("contrast", 4000), ("ridge", 1000)])
def test_planted_signal(toy: tuple[ToyProbe, Utterance], estimator: str, masks: int) -> None:
    """Token i's map sits in READS[i]: the peak and at least 80% of the excess over the baseline.

    4000 masks: below ~2000 the share of the toy's noisy scores dips under 0.8 for some seeds
    (one cell at a time); ridge, every mask for every cell: 1000.
    """
    model, utt = toy
    saliency = encoder_saliency(model, utt, dataclasses.replace(SMALL, masks=masks, estimator=estimator))
    assert saliency.shape == (4, 20) and saliency.dtype == torch.float32 and saliency.device.type == "cpu"
    for row, (a, b) in zip(saliency, READS):
        assert a <= int(row.argmax()) < b
        assert excess_share(row, (a, b)) >= 0.8


def test_masked_cells_are_exactly_zero() -> None:
    """The decoder sees whole (frame, group) cells zeroed and every other value of H untouched."""
    model = RecordingToy(READS)
    utt = toy_utterance(model, frames=80)
    h, _ = model.encode(utt.features[None], torch.tensor([80]))  # (1, T', D)
    model.states.clear()
    encoder_saliency(model, utt, dataclasses.replace(SMALL, masks=12, batch_size=5))
    assert [x.shape[0] for x in model.states] == [1, 5, 5, 2]  # original, then the masks
    assert torch.equal(model.states[0], h)
    rows = torch.cat(model.states[1:])  # (12, T', D)
    cells = (rows == 0).view(12, 20, 3, 2)  # (M, T', G, D / G); the toy's H is never exactly 0
    assert torch.all(cells.all(dim=-1) | ~cells.any(dim=-1))  # a cell is zeroed whole or not at all
    assert torch.equal(torch.where(rows == 0, h, rows), h.expand_as(rows))
    assert 0.3 < cells.float().mean().item() < 0.7


def test_batched_equals_one_at_a_time(toy: tuple[ToyProbe, Utterance]) -> None:
    """Batch size does not change the map; progress counts every mask."""
    model, utt = toy
    maps = []
    for size in (1, 7, 1000):
        seen: list[int] = []
        config = dataclasses.replace(SMALL, masks=24, batch_size=size)
        maps.append(encoder_saliency(model, utt, config, seen.append))
        assert sum(seen) == 24 and max(seen) <= size
    torch.testing.assert_close(maps[0], maps[1])
    torch.testing.assert_close(maps[0], maps[2])


def test_seed_reproducible(toy: tuple[ToyProbe, Utterance]) -> None:
    """Same seed, identical map; another seed, another map."""
    model, utt = toy
    config = dataclasses.replace(SMALL, masks=30)
    assert torch.equal(encoder_saliency(model, utt, config), encoder_saliency(model, utt, config))
    other = dataclasses.replace(config, seed=1)
    assert not torch.equal(encoder_saliency(model, utt, config), encoder_saliency(model, utt, other))


def test_reduce_and_group_clamp(toy: tuple[ToyProbe, Utterance]) -> None:
    """Max over groups bounds the mean from above; more groups than dimensions (8 > 6) still works."""
    model, utt = toy
    config = dataclasses.replace(SMALL, masks=40)
    mean = encoder_saliency(model, utt, config)
    peak = encoder_saliency(model, utt, dataclasses.replace(config, reduce="max"))
    assert torch.all(peak >= mean - 1e-6)
    assert encoder_saliency(model, utt, EncoderSaliencyConfig(masks=16)).shape == (4, 20)


def test_no_tokens(toy: tuple[ToyProbe, Utterance]) -> None:
    """An empty hypothesis gives an empty (0, T') map."""
    model, utt = toy
    assert encoder_saliency(model, dataclasses.replace(utt, tokens=[]), SMALL).shape == (0, 20)


def test_adaptive_budget_adds_masks_until_the_target_or_the_cap(toy: tuple[ToyProbe, Utterance]) -> None:
    """Rounds of 64 masks are added, at most doubling them, until the split-half reliability reaches the target; an
    unreachable target stops at the cap; without a target one round is spent; and the promised reliability holds
    for a fresh seed."""
    model, utt = toy
    once = encoder_estimate(model, utt, dataclasses.replace(SMALL, masks=64))
    assert once.masks == 64 and -1 <= once.reliability <= 1
    config = dataclasses.replace(SMALL, masks=64, target_reliability=0.9, max_masks=8192)
    reached = encoder_estimate(model, utt, config)
    assert reached.reliability >= 0.9 and reached.masks % 64 == 0 and reached.masks > 64
    masks, halves = zip(*reached.rounds)
    assert all(a < b <= 2 * a for a, b in zip(masks, masks[1:])) and max(halves[:-1]) < 0.9 <= halves[-1]
    assert masks[-1] < 2 * masks[-2]  # 0.867 at 512 masks: topped up, not doubled
    assert once.trail == () and len(reached.trail) == len(reached.rounds)  # a map per check, with a target only
    assert torch.equal(reached.trail[-1], reached.map)
    assert torch.allclose(reached.trail[0], once.map)  # the first check's map is the one-round map of the same seed
    capped = encoder_estimate(model, utt, dataclasses.replace(config, target_reliability=0.9999, max_masks=256))
    assert capped.masks == 256 and capped.reliability < 0.9999
    fresh = encoder_estimate(model, utt, dataclasses.replace(config, seed=5, target_reliability=None,
                                                             masks=reached.masks))
    assert token_pearson(reached.map, fresh.map) > 0.8
