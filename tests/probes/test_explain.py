"""The whole per-utterance pipeline on toys with known answers: faithful attention agrees, lying attention does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from probes.explain import ExplainConfig, explain
from probes.metrics.agreement import correlations
from probes.metrics.summary import summarize_records
from probes.saliency.encoder import EncoderSaliencyConfig
from probes.saliency.pooling import pool_to_frames
from probes.saliency.spes import SpesConfig, spes
from tests.probes.toys import EnergyToy, toy_utterance

READS = [(0, 4), (4, 8), (8, 14), (14, 20)]
REVERSED = READS[::-1]


def config(estimator: str) -> ExplainConfig:
    """Enough masks for a stable toy map, coarse superpixels for its 6 channels."""
    return ExplainConfig(methods=("spes", "encoder", "saliency"), deletion_steps=4,
                         spes=SpesConfig(masks=400, granularities=(1000,), estimator=estimator),
                         encoder=EncoderSaliencyConfig(masks=400, dim_groups=3, estimator=estimator))


# SPES's own estimator is noisier at 400 masks (0.6-0.86 over five toy utterances, 0.83-0.93
# for the contrast estimator; 0.96-0.97 with avg2d pooling).
@pytest.mark.parametrize("estimator,input_floor", [("occluded", 0.5), ("contrast", 0.8)])
def test_faithful_attention_agrees_with_every_saliency(estimator: str, input_floor: float) -> None:
    model = EnergyToy(READS)
    record = explain(model, toy_utterance(model, seed=2), config(estimator)).record
    agreement = record["agreement"]
    assert agreement["ca_vs_input"]["all"]["pearson"] > input_floor
    assert agreement["ca_vs_encoder"]["all"]["pearson"] > 0.9
    assert agreement["ca_vs_saliency"]["head:1.1"]["pearson"] > 0.8
    assert abs(agreement["baselines"]["input"]["random"]["pearson"]) < 0.3
    truth = record["ground_truth"]
    assert truth["ca"]["head:1.1"] == pytest.approx(1.0) and truth["ca"]["head:1.3"] < 0.4  # the uniform head
    if estimator == "contrast":  # SPES's estimator adds each token's mean score everywhere: mass spreads
        assert truth["input"] > 2 * truth["uniform"] and truth["encoder"] > 0.8  # pooled input maps keep some noise
    assert truth["uniform"] == pytest.approx(sum((b - a) / 20 for a, b in READS) / 4)
    assert record["timestamps"]["ca"]["mae_ms"] == 0.0
    deletion = record["deletion"]
    assert deletion["ca"]["prob"]["auc"] > deletion["random"]["prob"]["auc"]


def test_lying_attention_disagrees() -> None:
    model = EnergyToy(READS, attends=REVERSED)
    record = explain(model, toy_utterance(model, seed=2), config("contrast")).record
    for target in ("ca_vs_input", "ca_vs_encoder", "ca_vs_saliency"):
        assert record["agreement"][target]["all"]["pearson"] < 0.0
    assert record["ground_truth"]["ca"]["head:1.1"] < 0.35  # the two middle windows overlap nothing of their own
    assert record["ground_truth"]["encoder"] > 0.8  # saliency still finds what is read


def test_an_empty_hypothesis_is_recorded_as_skipped() -> None:
    model = EnergyToy(READS)
    utt = toy_utterance(model)
    model.search = lambda enc, *args, **kwargs: [[] for _ in enc]
    utt.tokens = []
    record = explain(model, utt, config("occluded")).record
    assert record["skipped"] == "empty hypothesis" and record["hypothesis"] == ""


def test_reliability_compares_each_occlusion_map_with_a_second_mask_seed() -> None:
    model = EnergyToy(READS)
    asked = explain(model, toy_utterance(model, seed=2), replace(config("contrast"), reliability=True)).record
    twins = asked["reliability"]
    assert set(twins) == {"input", "encoder"} and all(-1.0 <= r <= 1.0 for r in twins.values())
    assert twins["encoder"] > 0.9 and twins["input"] > 0.85  # 400 masks over a few coarse cells: steady maps
    assert summarize_records([asked])["reliability"]["input"]["mean"] == pytest.approx(twins["input"])
    utt, settings = toy_utterance(model, seed=2), replace(config("contrast"), reliability=True, pooling="max2d")
    found = explain(model, utt, settings)
    twin = spes(model, utt, replace(settings.spes, seed=settings.spes.seed + 1))
    frames = found.maps["input"].shape[-1]
    expected = correlations(pool_to_frames(found.maps["input_full"], frames, "avg2d"), pool_to_frames(twin, frames, "avg2d"))
    assert found.record["reliability"]["input"] == pytest.approx(expected["pearson"])  # avg2d, whatever the pooling
    assert "reliability" not in explain(model, toy_utterance(model, seed=2), config("contrast")).record
    few = replace(config("contrast"), reliability=True)
    few = replace(few, spes=replace(few.spes, masks=8), encoder=replace(few.encoder, masks=8))
    noisy = explain(model, toy_utterance(model, seed=2), few).record["reliability"]
    assert noisy["input"] < 0.5 and noisy["encoder"] < 0.5  # 8 masks: mostly noise, and the measure says so
