"""SPES on the input filterbank: configuration, segmentation, planted signal, masking, reproducibility."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import Tensor

from probes.interface import Utterance
from probes.saliency.spes import SpesConfig, segment_count, segmentations, spes, superpixels
from tests.probes.test_perturbation import excess_share
from tests.probes.toys import ToyProbe, toy_utterance

READS = [(0, 4), (6, 9), (11, 15), (16, 20)]  # encoder frames of an 80-frame toy utterance (T' = 20)
# The toy has 6 filterbank channels: at the paper's granularities every cell would be its own
# segment, so these tests use coarser ones (~40-50 segments of ~10 cells, as on real 80-channel input).
COARSE = SpesConfig(granularities=(200, 300), batch_size=1000)


class RecordingToy(ToyProbe):
    """The toy model, keeping every batch of features it encodes."""

    def __init__(self, *args, **kwargs) -> None:
        """As ``ToyProbe``, with an empty record."""
        super().__init__(*args, **kwargs)
        self.inputs: list[Tensor] = []

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Record (B, T, F), then encode."""
        self.inputs.append(features.clone())
        return super().encode(features, lengths)


@pytest.fixture
def toy() -> tuple[ToyProbe, Utterance]:
    """A toy whose token i reads encoder frames READS[i], and its 80-frame utterance."""
    model = ToyProbe(READS)
    return model, toy_utterance(model, frames=80)


@pytest.mark.parametrize("bad", [
    dict(masks=0), dict(masks=2),  # fewer masks than the 3 default granularities
    dict(keep_prob=0.0), dict(keep_prob=1.0), dict(keep_prob=1.5),
    dict(batch_size=0), dict(granularities=()), dict(granularities=(100, 0)),
    dict(compactness=0.0), dict(sigma=-1.0), dict(estimator="mean"), dict(antithetic=True, keep_prob=0.6),
    dict(precision="fp16"), dict(fill="mean"),
])
def test_config_rejects(bad: dict) -> None:
    """Out-of-range values raise ValueError at construction."""
    with pytest.raises(ValueError):
        SpesConfig(**bad)


def test_config_splits_masks_and_accepts_lists() -> None:
    """256 masks over 3 granularities -> 86/85/85; a list of granularities is stored as a tuple."""
    assert SpesConfig().masks_per_granularity() == [86, 85, 85]
    config = SpesConfig(masks=10, granularities=[5, 6])
    assert config.granularities == (5, 6) and config.masks_per_granularity() == [5, 5]
    hash(config)  # frozen and hashable


def test_segment_count_scales_with_duration() -> None:
    """Segments per 500 frames: 2000 -> 4000 for 1000 frames; never fewer than 1."""
    assert segment_count(2000, 1000) == 4000
    assert segment_count(2500, 250) == 1250
    assert segment_count(1, 10) == 1


def test_superpixels_dense_labels() -> None:
    """Labels cover (T, F), numbered 0..S-1 without gaps, about as many as asked; constant input works."""
    feats = torch.randn(80, 6, generator=torch.Generator().manual_seed(0))
    labels = superpixels(feats, 40, compactness=0.1, sigma=1.0)
    assert labels.shape == (80, 6) and labels.dtype == torch.long
    assert torch.equal(labels.unique(), torch.arange(int(labels.max()) + 1))
    assert 20 <= int(labels.max()) + 1 <= 80
    assert superpixels(torch.ones(20, 6), 4, compactness=0.1, sigma=1.0).shape == (20, 6)


def test_segmentations_cached_by_content() -> None:
    """The same features (even a copy) reuse the cached label maps; other features do not."""
    feats = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    first = segmentations(feats, COARSE)
    assert len(first) == 2
    assert all(a is b for a, b in zip(first, segmentations(feats.clone(), COARSE)))
    assert segmentations(feats + 1.0, COARSE)[0] is not first[0]


@pytest.mark.parametrize("estimator, masks, antithetic", [
    ("occluded", 8000, False), ("contrast", 8000, False), ("contrast", 8000, True), ("ridge", 2000, False)])
def test_planted_signal(toy: tuple[ToyProbe, Utterance], estimator: str, masks: int, antithetic: bool) -> None:
    """Token i's map, summed over frequency and pooled to encoder frames, sits in READS[i].

    At least 80% of the excess over the baseline, and the peak, lie in the read window.
    8000 masks: the toy's scores are noisy, and with the one-cell-at-a-time estimators the share
    only passes 0.8 for every token past ~5000 masks (it tends to ~0.95; segments straddling
    window edges leak the rest). Ridge uses every mask for every segment: 2000 masks.
    """
    model, utt = toy
    config = dataclasses.replace(COARSE, masks=masks, estimator=estimator, antithetic=antithetic)
    saliency = spes(model, utt, config)
    assert saliency.shape == (4, 80, 6) and saliency.dtype == torch.float32 and saliency.device.type == "cpu"
    pooled = saliency.sum(dim=-1).view(4, 20, 4).sum(dim=-1)  # (I, T'): input frame t -> encoder frame t // 4
    for row, (a, b) in zip(pooled, READS):
        assert a <= int(row.argmax()) < b
        assert excess_share(row, (a, b)) >= 0.8


def test_masked_cells_are_exactly_zero() -> None:
    """The model sees whole segments zeroed and every other cell untouched, in batches of batch_size."""
    model = RecordingToy(READS)
    utt = toy_utterance(model, frames=80)
    model.inputs.clear()  # the hypothesis search encoded once
    config = dataclasses.replace(COARSE, masks=12, batch_size=5)
    spes(model, utt, config)
    assert [x.shape[0] for x in model.inputs] == [1, 5, 1, 5, 1]  # original, then 6 masks per granularity
    assert torch.equal(model.inputs[0][0], utt.features)
    rows = torch.cat(model.inputs[1:])  # (12, T, F)
    labels = segmentations(utt.features, config)
    zeroed = rows == 0  # the toy's random features are never exactly 0
    assert torch.equal(torch.where(zeroed, utt.features, rows), utt.features.expand_as(rows))
    for r, zero in enumerate(zeroed):
        segments = labels[r // 6].flatten()  # (T * F,)
        zero_cells = torch.bincount(segments, weights=zero.flatten().double())
        sizes = torch.bincount(segments).double()
        assert torch.all((zero_cells == 0) | (zero_cells == sizes))  # a segment is zeroed whole or not at all
    assert 0.3 < zeroed.float().mean().item() < 0.7


class NeutralToy(RecordingToy):
    """A toy whose inputs' neutral value is 0.25: occlusion fills cells with it."""

    def neutral(self, features: Tensor) -> float:
        """A constant neutral level."""
        return 0.25


def test_masked_cells_take_the_models_neutral_value() -> None:
    """With fill "model" masked cells hold the model's neutral value; with "zero" they hold 0, whatever it declares."""
    model = NeutralToy(READS)
    utt = toy_utterance(model, frames=80)
    for fill, value in (("model", 0.25), ("zero", 0.0)):
        model.inputs.clear()
        spes(model, utt, dataclasses.replace(COARSE, masks=12, batch_size=12, fill=fill))
        rows = torch.cat(model.inputs[1:])  # (12, T, F)
        filled = rows != utt.features  # the toy's random features are never exactly 0 or 0.25
        assert 0.3 < filled.float().mean().item() < 0.7 and torch.all(rows[filled] == value), fill


def test_batched_equals_one_at_a_time(toy: tuple[ToyProbe, Utterance]) -> None:
    """Batch size does not change the map; progress counts every mask."""
    model, utt = toy
    maps = []
    for size in (1, 7, 1000):
        seen: list[int] = []
        maps.append(spes(model, utt, dataclasses.replace(COARSE, masks=24, batch_size=size), seen.append))
        assert sum(seen) == 24 and max(seen) <= size
    torch.testing.assert_close(maps[0], maps[1])
    torch.testing.assert_close(maps[0], maps[2])


def test_seed_reproducible(toy: tuple[ToyProbe, Utterance]) -> None:
    """Same seed, identical map; another seed, another map."""
    model, utt = toy
    config = dataclasses.replace(COARSE, masks=30)
    assert torch.equal(spes(model, utt, config), spes(model, utt, config))
    assert not torch.equal(spes(model, utt, config), spes(model, utt, dataclasses.replace(config, seed=1)))


def test_no_tokens(toy: tuple[ToyProbe, Utterance]) -> None:
    """An empty hypothesis gives an empty (0, T, F) map without calling the model."""
    _, utt = toy
    assert spes(None, dataclasses.replace(utt, tokens=[]), COARSE).shape == (0, 80, 6)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["spes", "encoder"])
def test_bf16_passes_change_the_map_far_less_than_another_mask_seed(toy: tuple[ToyProbe, Utterance],
                                                                     method: str) -> None:
    from probes.saliency.encoder import EncoderSaliencyConfig, encoder_estimate
    from probes.metrics.agreement import correlations
    from probes.saliency.spes import spes_estimate

    model, utt = toy
    estimate, config = ((spes_estimate, SpesConfig(masks=96, granularities=(20,))) if method == "spes"
                        else (encoder_estimate, EncoderSaliencyConfig(masks=96)))
    fp32 = estimate(model, utt, config).map
    bf16 = estimate(model, utt, dataclasses.replace(config, precision="bf16")).map
    other_seed = estimate(model, utt, dataclasses.replace(config, seed=1)).map
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, fp32)  # the passes did run in bfloat16
    same, seeds = correlations(fp32, bf16)["pearson"], correlations(fp32, other_seed)["pearson"]
    assert same > 0.99 and 1 - same < (1 - seeds) / 10, (same, seeds)
