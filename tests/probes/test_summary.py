"""Aggregation of per-utterance records into metrics.json: layout, undefined values, alignment heads."""

from __future__ import annotations

import json
import math

import pytest

from probes.metrics.summary import json_ready, scalars, summarize_records


def record(uid: str, pearson: float | None, heads: dict[str, float], task: str = "asr") -> dict:
    """A minimal explained record: CA vs input per view, ground truth per head, one deletion curve."""
    views = {"all": {"pearson": pearson, "spearman": 0.5, "kendall": 0.4},
             "layer:1": {"pearson": 0.1, "spearman": 0.1, "kendall": 0.1},
             **{f"head:{h}": {"pearson": v, "spearman": v, "kendall": v} for h, v in heads.items()}}
    return {
        "id": uid, "task": task, "src_lang": "en", "tgt_lang": "en" if task == "asr" else "it",
        "agreement": {"ca_vs_input": views, "baselines": {"input": {"uniform": {"pearson": None},
                                                                    "random": {"pearson": 0.01}}}},
        "ground_truth": {"ca": {"all": 0.5, "layer:1": 0.5, **{f"head:{h}": v for h, v in heads.items()}},
                         "input": 0.6, "uniform": 0.2},
        "deletion": {"ca": {"prob": {"auc": 40.0, "metric": "100-prob", "percents": [0, 50, 100], "scores": [0, 40, 80]}}},
        "timestamps": {"ca": {"mae_ms": 30.0, "within": 1.0}, "ctc": None},
        "seconds": {"spes": 2.0},
    }


def test_means_intervals_and_undefined_values() -> None:
    records = [record("a", 0.5, {"1.1": 0.9, "1.2": 0.2}), record("b", 0.7, {"1.1": 0.7, "1.2": 0.4}),
               record("c", None, {"1.1": 0.8, "1.2": 0.3}, task="st"), {"id": "d", "skipped": "empty hypothesis"}]
    metrics = summarize_records(records)
    assert metrics["utterances"] == 3 and metrics["skipped"] == {"d": "empty hypothesis"}
    block = metrics["pearson"]["ca_vs_input"]
    assert block["all"]["mean"] == pytest.approx(0.6) and block["all"]["n"] == 2 and block["all"]["skipped"] == 1
    assert block["per_head"]["1.1"]["mean"] == pytest.approx(0.8) and set(block["per_layer"]) == {"1"}
    assert metrics["pearson"]["baselines"]["input"]["uniform"]["n"] == 0
    assert metrics["deletion_auc"]["ca"]["prob"]["mean_scores"] == [0, 40, 80]
    assert metrics["timestamps"]["ctc"]["available"] == 0 and metrics["timestamps"]["ca"]["mae_ms"]["mean"] == 30.0
    assert metrics["alignment_heads"][0][0] == "1.1" and metrics["alignment_heads"][1][0] == "1.2"
    assert set(metrics["groups"]) == {"asr en-en", "st en-it"} and metrics["groups"]["st en-it"]["n"] == 1
    text = json.dumps(json_ready(metrics), allow_nan=False)  # strict JSON: nan became null
    assert "NaN" not in text


def test_scalars_are_flat_finite_means() -> None:
    metrics = summarize_records([record("a", 0.5, {"1.1": 0.9}), record("b", 0.7, {"1.1": 0.7})])
    flat = scalars(metrics)
    assert flat["probe/pearson/ca_vs_input/all"] == pytest.approx(0.6)
    assert flat["probe/pearson/ca_vs_input/layer1"] == pytest.approx(0.1)
    assert flat["probe/deletion_auc/ca/prob"] == 40.0 and flat["probe/ground_truth/ca"] == 0.5
    assert all(math.isfinite(v) for v in flat.values())
