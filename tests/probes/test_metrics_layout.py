"""The metrics.json layout: its accessors read each documented path, on every committed run and on the oldest layout.

``data/records/8d438ce/metrics.json`` is the oldest metrics.json ever committed (copied from the git history of
``results/study/models/en_asr_xxs/explain/asr_en/``, over its 40 utterances): no per-token Pearson, budget,
hypothesis lengths or linear shares.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probes import metrics_layout as ml
from probes.metrics.agreement import CORRELATIONS
from probes.records import CA_VS_ENCODER, CA_VS_INPUT
from probes.report.run_report import headline
from probes.report.run_tables import tables
from probes.report.tables import CORR, SHARE, mean_ci

ROOT = Path(__file__).resolve().parents[2]
OLDEST = Path(__file__).parent / "data" / "records" / "8d438ce" / "metrics.json"
COMMITTED = sorted(ROOT.glob("results/*/models/*/*/*/metrics.json"))


@pytest.mark.parametrize("path", [*COMMITTED, OLDEST], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_accessor_reads_its_documented_path(path: Path) -> None:
    raw = json.loads(path.read_text())
    for corr in CORRELATIONS:
        block = raw.get(corr) or {}
        assert ml.comparisons(raw, corr) == [k for k in block if k.startswith("ca_vs_")]
        for c in ml.comparisons(raw, corr):
            assert ml.views(raw, c, corr) is block[c]
            assert ml.agreement(raw, c, corr) is block[c]["all"]
            assert ml.per_layer(raw, c, corr) is block[c]["per_layer"]
            assert ml.per_head(raw, c, corr) is block[c]["per_head"]
        assert ml.saliency_agreement(raw, corr) is block.get("input_vs_encoder")
        assert ml.baseline_targets(raw, corr) == list(block.get("baselines") or {})
        for t in ml.baseline_targets(raw, corr):
            assert ml.baseline(raw, t, "random", corr) is block["baselines"][t]["random"]
    for mode in ("deletion", "insertion"):
        auc = raw[f"{mode}_auc"]
        assert ml.curve_sources(raw, mode) == list(auc)
        assert all(ml.curve_auc(raw, s, k, mode) is auc[s].get(k) for s in auc for k in ("prob", "text"))
    truth = raw["ground_truth"]
    assert ml.has_truth(raw) == bool(truth)
    if truth:
        assert ml.truth_share(raw) is truth["ca"]["all"] and ml.truth_per_head(raw) is truth["ca"]["per_head"]
        assert ml.truth_maps(raw) == [k for k in truth if k not in ("ca", "signed")]
        assert all(ml.truth_share(raw, k) is truth[k] for k in ml.truth_maps(raw))
        assert ml.linear_maps(raw) == list(truth.get("signed") or {})
        assert all(ml.linear_truth_share(raw, k) is truth["signed"][k] for k in ml.linear_maps(raw))
    assert ml.estimators(raw) == list(raw["timestamps"])
    for n in ml.estimators(raw):
        assert ml.boundary_error(raw, n) is raw["timestamps"][n]["mae_ms"]
        assert ml.aligned(raw, n) == raw["timestamps"][n]["available"]
    assert all(ml.seed_reliability(raw, t) is raw["reliability"][t] for t in ml.reliability_maps(raw))
    for t in ml.budget_maps(raw):
        assert ml.masks_spent(raw, t) is raw["budget"][t]["masks"]
        assert ml.split_half(raw, t) is raw["budget"][t]["split_half"]
    assert ml.explained_count(raw) == raw["utterances"] and ml.skipped(raw) == raw["skipped"]
    for name, group in ml.groups(raw).items():
        assert ml.group_agreement(group, CA_VS_INPUT) is raw["groups"][name]["pearson"][CA_VS_INPUT]


def test_the_oldest_metrics_read_as_they_are_and_the_report_shows_their_values() -> None:
    m = json.loads(OLDEST.read_text())
    assert ml.agreement(m, CA_VS_INPUT)["mean"] == pytest.approx(0.39928727552050447)
    assert ml.truth_share(m)["mean"] == pytest.approx(0.6522186898221576)
    assert ml.agreement(m, CA_VS_INPUT, "pearson_token") is None  # not measured then
    assert ml.linear_maps(m) == [] and ml.linear_truth_share(m, "input") is None
    assert ml.budget_maps(m) == [] and ml.masks_spent(m, "input") is None and ml.caps(m, "input") == {}
    assert ml.tokens_per_word(m) is None
    assert ml.curve_kind(m) == "text"
    text = headline(m)
    assert f"**{mean_ci(ml.agreement(m, CA_VS_INPUT), CORR)}**, n = 40" in text
    assert f"CA {mean_ci(ml.truth_share(m), SHARE)}" in text and "linear" not in text
    assert mean_ci(ml.agreement(m, CA_VS_ENCODER), CORR) in text
    built = {t.name: t for t in tables(m)}
    assert "budget" not in built and "layer_head_ca_vs_input_pearson_token" not in built
    assert [row[0] for row in built["ground_truth"].csv_rows] == ["ca:all", "ca:layer:2", "ca:head:2.1", "input",
                                                                  "encoder", "random", "uniform"]


def test_a_rescored_runs_last_budget_takes_its_final_linear_share() -> None:
    path = ROOT / "results/study/models/en_asr_xxs/paper_resolution/asr_en/metrics.json"
    m = json.loads(path.read_text())
    masks, stats = ml.by_cap(m, "input", "span_mass_signed")
    assert masks == [at["masks"]["mean"] for at in ml.caps(m, "input").values()]
    assert stats[-1] is ml.linear_truth_share(m, "input") and stats[-1] is not None  # recorded at the final map only
    assert ml.by_cap(None, "input", "pearson") == ([], [])  # a missing run has no budgets
