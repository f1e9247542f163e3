"""The report: every table in Markdown and CSV, figures, headline numbers traceable to metrics.json."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from probes.metrics.summary import json_ready, summarize_records
from probes.report import run_report as report
from probes.report.paper import PAPER
from probes.report.tables import markdown_table, numbers_traceable
from probes.store import read_maps, write_maps

LAYERS, HEADS, TOKENS, FRAMES = 2, 3, 3, 10
CORRELATIONS = ("pearson", "spearman", "kendall")
TABLES = ["aggregated", "per_layer", "input_vs_encoder", "deletion", "ground_truth", "timestamps", "groups", "cost",
          *(f"layer_head_ca_vs_{t}_{c}" for t in ("input", "encoder") for c in CORRELATIONS)]
WORDS = {"u0": [("a", 0.0, 0.1), ("b", 0.1, 0.25), ("c", 0.25, 0.4)]}


def _views() -> list[str]:
    """CA view specs as in the records: all, each layer, each head."""
    return ["all", *(f"layer:{l}" for l in range(1, LAYERS + 1)),
            *(f"head:{l}.{h}" for l in range(1, LAYERS + 1) for h in range(1, HEADS + 1))]


def _corr(rng: np.random.Generator, spec: str = "") -> dict[str, float | None]:
    """Three correlations; the last head of each layer is undefined (null), like a constant head."""
    if spec.endswith(f".{HEADS}"):
        return dict.fromkeys(CORRELATIONS)
    return {c: float(rng.uniform(-0.1, 0.95)) for c in CORRELATIONS}


def _curve(rng: np.random.Generator, metric: str) -> dict[str, Any]:
    """A three-point deletion curve."""
    scores = sorted(rng.uniform(0, 100, 3).tolist())
    return {"auc": float(np.mean(scores)), "metric": metric, "percents": [0.0, 50.0, 100.0], "scores": scores}


def _stamp(rng: np.random.Generator) -> dict[str, Any]:
    """Boundary errors of one estimator."""
    return {"mae_ms": float(rng.uniform(0, 200)), "within": float(rng.uniform(0, 1)), "tolerance_ms": 100.0,
            "matched": 3.0, "total": 3.0, "words": [list(w) for w in WORDS["u0"]]}


def make_record(uid: str, seed: int, targets: Sequence[str] = ("input", "encoder"), task: str = "asr",
                tgt: str = "en", extras: bool = True) -> dict[str, Any]:
    """One per-utterance record in the format of utterances.jsonl (``extras``: ground truth, deletion, timestamps)."""
    rng = np.random.default_rng(seed)
    agreement: dict[str, Any] = {f"ca_vs_{t}": {s: _corr(rng, s) for s in _views()} for t in targets}
    if {"input", "encoder"} <= set(targets):
        agreement["input_vs_encoder"] = _corr(rng)
    agreement["baselines"] = {t: {"uniform": dict.fromkeys(CORRELATIONS), "random": _corr(rng)} for t in targets}
    record = {"id": uid, "task": task, "src_lang": "en", "tgt_lang": tgt, "reference": "a b c", "hypothesis": "a b c",
              "tokens": [7, 8, 9], "frames": 4 * FRAMES, "frames_per_second": 100, "encoder_frames": FRAMES,
              "agreement": agreement,
              "seconds": {"ca": 0.01 + seed / 1000, "spes": 2.0 + seed}}
    if extras:
        record["ground_truth"] = {"ca": {s: float(rng.uniform(0, 1)) for s in _views()},
                                  **{t: float(rng.uniform(0, 1)) for t in targets},
                                  "uniform": 0.3, "random": float(rng.uniform(0, 1)), "scored_tokens": 3}
        record["deletion"] = {s: {"prob": _curve(rng, "100-prob"), "text": _curve(rng, "wer")}
                              for s in ("ca", "saliency_pooled", "saliency_full", "random")}
        record["timestamps"] = {**{n: _stamp(rng) for n in ("ca", *targets)}, "ctc": None}
    return record


def write_maps_h5(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """A maps.h5 written as evaluate.py writes it (``probes.store.write_maps`` from per-utterance work files)."""
    rng = np.random.default_rng(0)
    for index, r in enumerate(records):
        np.savez(path.parent / f"{index}.npz", features=rng.normal(size=(4 * FRAMES, 8)).astype(np.float32),
                 ca=rng.dirichlet(np.ones(FRAMES), (LAYERS, HEADS, TOKENS)).astype(np.float32),
                 input_full=rng.random((TOKENS, 4 * FRAMES, 8)).astype(np.float32),
                 input=rng.random((TOKENS, FRAMES)).astype(np.float32), encoder=rng.random((TOKENS, FRAMES)).astype(np.float32))
    write_maps(path, records, lambda index: path.parent / f"{index}.npz")
    return path


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    """A report of four records (three ASR, one ST) with every section; metrics as read from metrics.json."""
    out = tmp_path_factory.mktemp("report")
    records = [make_record(f"u{k}", k, task="st" if k == 3 else "asr", tgt="it" if k == 3 else "en") for k in range(4)]
    records.append({"id": "bad", "task": "asr", "src_lang": "en", "tgt_lang": "en", "skipped": "unreadable audio"})
    metrics = json.loads(json.dumps(json_ready(summarize_records(records))))
    maps = write_maps_h5(out / "maps.h5", records[:2])
    path = report.write_report(out, metrics, records, maps, "Toy run", word_times=WORDS, token_text=lambda t: f"tok{t}").path
    return out, metrics, path.read_text()


def test_every_table_is_written_as_markdown_and_csv(full: tuple[Path, dict, str]) -> None:
    out, _, _ = full
    for name in TABLES:
        md, table = out / "tables" / f"{name}.md", out / "tables" / f"{name}.csv"
        assert md.is_file() and md.read_text().startswith("| "), name
        rows = list(csv.reader(table.open()))
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows), name


def test_layer_head_csv_has_a_row_per_layer_with_the_metrics_values(full: tuple[Path, dict, str]) -> None:
    out, metrics, _ = full
    block = metrics["pearson"]["ca_vs_input"]
    rows = list(csv.DictReader((out / "tables" / "layer_head_ca_vs_input_pearson.csv").open()))
    assert [int(r["layer"]) for r in rows] == list(range(1, LAYERS + 1))
    for row in rows:
        l = row["layer"]
        for h in range(1, HEADS + 1):
            s = block["per_head"][f"{l}.{h}"]
            for key in ("mean", "ci_low", "ci_high"):
                cell = row[f"head{h}_{key}"]
                assert (cell == "" and s[key] is None) or float(cell) == s[key]
        assert float(row["layer_view_mean"]) == block["per_layer"][l]["mean"]
    md = (out / "tables" / "layer_head_ca_vs_input_pearson.md").read_text()
    s = block["per_head"]["1.1"]
    assert f"{s['mean']:.3f} ± {(s['ci_high'] - s['ci_low']) / 2:.3f}" in md
    assert md.count("n/a") == LAYERS  # the undefined last head of each layer


def headline_section(report_text: str) -> str:
    """The headline section of a report (from its heading to the next section)."""
    match = re.search(r"^## Headline\n(.*?)(?=^## |\Z)", report_text, flags=re.M | re.S)
    return match.group(0) if match else ""


def test_headline_shows_metrics_next_to_the_paper(full: tuple[Path, dict, str]) -> None:
    _, metrics, text = full
    head = headline_section(text)
    for comparison in ("ca_vs_input", "ca_vs_encoder"):
        s = metrics["pearson"][comparison]["all"]
        assert f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]" in head
    assert "0.55–0.64" in head and "0.52–0.75" in head
    for source, paper in PAPER["deletion_auc_wer"].items():
        assert f"{metrics['deletion_auc'][source]['text']['mean']:.1f}" in head and f"{paper:g}" in head
    assert f"{metrics['ground_truth']['ca']['all']['mean']:.3f}" in head
    assert f"{metrics['timestamps']['ca']['mae_ms']['mean']:.1f}" in head
    assert "CTC n/a" in head


def test_every_report_number_is_traceable_to_metrics(full: tuple[Path, dict, str]) -> None:
    _, metrics, text = full
    assert headline_section(text).startswith("## Headline")
    assert numbers_traceable(headline_section(text), metrics) == []
    assert numbers_traceable(text, metrics) == []


def test_numbers_traceable_flags_invented_numbers_only() -> None:
    metrics = {"pearson": {"all": {"mean": 0.61234, "ci_low": 0.5, "ci_high": 0.7, "n": 12}}, "per_layer": {"3": 1}}
    text = ("# Title 2025\nmean 0.612 [0.500, 0.700], ± 0.100, n = 12, layer 3, paper 0.55–0.64 and 41.2; "
            "made up 0.613 and 7 and 1.5e-03; `id 999` ignored, h5 and 100-prob glued; ends -0.61.")
    assert numbers_traceable(text, metrics) == ["0.613", "7", "1.5e-03", "-0.61"]


def test_uniform_baseline_reads_na_with_its_reason(full: tuple[Path, dict, str]) -> None:
    out, _, _ = full
    line = next(l for l in (out / "tables" / "aggregated.md").read_text().splitlines() if l.startswith("| uniform"))
    assert "n/a" in line and "constant" in line


def test_figures_are_written_and_linked(full: tuple[Path, dict, str]) -> None:
    out, _, text = full
    names = ["layer_head_ca_vs_input", "layer_head_ca_vs_encoder", "distributions_pearson", "per_layer_pearson",
             "deletion_prob", "deletion_text", "example_1", "example_2"]
    for name in names:
        assert (out / "figures" / f"{name}.png").stat().st_size > 0
        assert f"](figures/{name}.png)" in text
    assert not (out / "figures" / "example_3.png").exists()  # maps.h5 holds two utterances
    assert "`u0`" in text and "`bad`" in text  # an example's id, the skipped id


def test_read_maps_round_trips(tmp_path: Path) -> None:
    record = make_record("x", 1)
    stored = read_maps(write_maps_h5(tmp_path / "maps.h5", [record]), "x")
    assert stored.tokens == record["tokens"] and stored.hypothesis == "a b c" and stored.reference == "a b c"
    assert set(stored.maps) == {"features", "ca", "input_full", "input", "encoder"}
    assert stored.maps["ca"].shape == (LAYERS, HEADS, TOKENS, FRAMES)


def test_missing_methods_and_keys_leave_sections_out(tmp_path: Path) -> None:
    records = [make_record(f"v{k}", k, targets=("input",), extras=False) for k in range(2)]
    metrics = summarize_records(records)  # raw: nan, not null
    for key in ("timestamps", "deletion_auc", "ground_truth", "groups", "seconds_per_utterance", "skipped"):
        del metrics[key]
    text = report.write_report(tmp_path, metrics, records, None, "Input only").path.read_text()
    assert "CA vs SPES input saliency" in text and "encoder-output" not in text
    assert "Deletion" not in text and "timestamps" not in text and "Ground truth" not in text
    assert numbers_traceable(text, metrics) == []
    assert not (tmp_path / "tables" / "deletion.md").exists() and (tmp_path / "tables" / "aggregated.csv").is_file()
    assert not list((tmp_path / "figures").glob("example_*.png"))
    bare = report.write_report(tmp_path / "bare", {"utterances": 0}, [], tmp_path / "missing.h5", "Nothing")
    assert "No metrics computed" in bare.path.read_text() and bare.figures == {}


def test_single_utterance_has_no_interval_but_still_renders(tmp_path: Path) -> None:
    records = [make_record("w", 3)]
    metrics = summarize_records(records)
    text = report.write_report(tmp_path, metrics, records, None, "One").path.read_text()
    mean = metrics["pearson"]["ca_vs_input"]["all"]["mean"]
    assert math.isnan(metrics["pearson"]["ca_vs_input"]["all"]["ci_low"])
    assert f"**{mean:.3f}**" in text and numbers_traceable(text, metrics) == []
    assert (tmp_path / "figures" / "per_layer_pearson.png").is_file()


def table_cells(line: str) -> list[str]:
    """The cells of a Markdown table line (escaped bars stay inside their cell)."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_every_committed_table_has_a_label_over_every_cell() -> None:
    """Each Markdown table in the committed reports and tables has as many cells in every row as labels."""
    checked = 0
    for path in sorted(Path(__file__).resolve().parents[2].glob("results/**/*.md")):
        block: list[str] = []
        for line in [*path.read_text().splitlines(), ""]:
            if line.startswith("|"):
                block.append(line)
                continue
            if block:
                widths = {len(table_cells(row)) for row in block}
                assert widths == {len(table_cells(block[0]))}, (path, block[0])
                checked += 1
            block = []
    assert checked > 100


def test_a_row_wider_than_its_labels_is_refused() -> None:
    with pytest.raises(ValueError, match="3 cells under 2 labels"):
        markdown_table(["a", "b"], [["1", "2", "3"]])
