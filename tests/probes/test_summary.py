"""Aggregation of per-utterance records into metrics.json: layout, undefined values, alignment heads."""

from __future__ import annotations

import json
import math

import pytest

from probes.metrics.summary import at_cap, json_ready, scalars, summarize_records


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


def adaptive(checks: list[tuple[int, float, float]]) -> dict:
    """A budget record of an adaptive map: (masks, split-half, CA Pearson) at each doubling, span mass Pearson / 2."""
    return {"masks": checks[-1][0], "split_half": checks[-1][1], "rounds": [[m, h] for m, h, _ in checks],
            "by_round": [{"masks": m, "ca": {"pearson": r, "pearson_token": r + 0.1}, "span_mass": r / 2}
                         for m, _, r in checks]}


def test_an_adaptive_run_capped_takes_each_utterance_at_its_last_doubling_within_the_cap() -> None:
    slow, quick = adaptive([(8, 0.5, 0.1), (16, 0.7, 0.2), (32, 0.9, 0.3)]), adaptive([(8, 0.95, 0.4)])
    assert at_cap(slow, 20) == {"masks": 16, "split_half": 0.7, "pearson": 0.2, "pearson_token": pytest.approx(0.3),
                                "span_mass": 0.1}
    assert at_cap(slow, 7) is None and at_cap(quick, 1000)["masks"] == 8  # it had stopped: its final map
    records = [{**record("a", 0.3, {}), "budget": {"input": slow}}, {**record("b", 0.4, {}), "budget": {"input": quick}}]
    by_cap = summarize_records(records)["budget"]["input"]["by_cap"]
    assert list(by_cap) == ["8", "16", "32"]
    assert by_cap["8"]["pearson"]["mean"] == pytest.approx(0.25) and by_cap["16"]["masks"]["mean"] == pytest.approx(12)
    assert by_cap["32"]["span_mass"]["mean"] == pytest.approx(0.175)  # (0.3 + 0.4) / 2 / 2: the final maps
    topped = adaptive([(8, 0.5, 0.1), (16, 0.7, 0.2), (24, 0.9, 0.3)])  # its last round a top-up, not a doubling
    records.append({**record("c", 0.5, {}), "budget": {"input": topped}})
    assert list(summarize_records(records)["budget"]["input"]["by_cap"]) == ["8", "16", "32"]  # no budget "24"
