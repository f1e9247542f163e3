"""evaluate.py's W&B run read back from its offline files: the per-utterance table, summary with intervals and counts,
one history row, the layer x head charts, the model artifact as input and the explanation artifact as output; and the
line it ends with."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

import evaluate
from probes.evaluation.wandb_panels import UTTERANCE_COLUMNS, utterance_row
from probes.metrics.text import as_is, wer
from tests.probes.test_evaluation import FAST
from tests.test_wandb import offline_run, records

pytestmark = pytest.mark.slow  # one end-to-end run (about 25 s), shared by the tests below
FLAGS = FAST[:-7]  # the small budgets, without --languages, --limit, --no-wandb and --devices


@pytest.fixture(scope="module")
def explained(tiny_checkpoint: Path, tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One offline-logged run on 4 ASR rows, the last in a language the model lacks (skipped): its folder, stdout,
    metrics, records and the W&B records."""
    out = tmp_path_factory.mktemp("explain") / "out"
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout):
        mp.setenv("WANDB_MODE", "offline")
        for name in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):  # staging and cache off the home folder
            mp.setenv(name, str(out.parent / name.lower()))
        code = evaluate.main(["--ckpt", str(tiny_checkpoint), "--manifest", str(tiny_corpus / "test.tsv"), "--out",
                              str(out), *FLAGS, "--limit", "4", "--devices", "1"])
    assert code == 0
    (log,) = out.rglob("offline-run-*/run-*.wandb")
    run = offline_run(out)  # waits until the run file is complete
    return {"out": out, "stdout": stdout.getvalue(), "run": run, "files": log.parent / "files", "log": records(log),
            "metrics": json.loads((out / "metrics.json").read_text()), "ckpt": tiny_checkpoint,
            "records": [json.loads(line) for line in (out / "utterances.jsonl").read_text().splitlines()]}


def of_type(log: list, kind: str) -> list:
    """The records of one type (``history``, ``artifact``, ...), in order."""
    return [getattr(r, kind) for r in log if r.WhichOneof("record_type") == kind]


def logged_table(files: Path, item: dict[str, Any]) -> dict[str, Any]:
    """A table logged to the run, read from its media file."""
    return json.loads((files / item["path"]).read_text())


def history_row(log: list) -> dict[str, Any]:
    """The run's only history row, by top-level key (nested keys of media joined into dicts)."""
    (row,) = of_type(log, "history")
    out: dict[str, Any] = {}
    for item in row.item:
        value = json.loads(item.value_json)
        if item.key:
            out[item.key] = value
        else:
            out.setdefault(item.nested_key[0], {})[item.nested_key[-1]] = value
    return out


def md5_b64(path: Path) -> str:
    """A file's MD5 as W&B's manifests write it."""
    return base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()


def test_the_run_is_an_explain_job_with_the_settings_in_its_config(explained: dict[str, Any]) -> None:
    run = explained["run"]
    assert run["run"].job_type == "explain"
    assert run["config"]["manifest"].endswith("test.tsv") and run["config"]["limit"] == 4
    assert run["config"]["parameters"] > 0 and run["config"]["model"]["d_model"] == 32


def test_summary_holds_counts_means_and_intervals(explained: dict[str, Any]) -> None:
    summary, metrics = explained["run"]["summary"], explained["metrics"]
    assert summary["probe/utterances"] == metrics["utterances"] == 3
    assert summary["probe/skipped"] == len(metrics["skipped"]) == 1
    for key, stat in (("probe/pearson/ca_vs_input/all", metrics["pearson"]["ca_vs_input"]["all"]),
                      ("probe/pearson/ca_vs_encoder/layer2", metrics["pearson"]["ca_vs_encoder"]["per_layer"]["2"]),
                      ("probe/deletion_auc/ca/prob", metrics["deletion_auc"]["ca"]["prob"])):
        assert summary[key] == pytest.approx(stat["mean"])
        assert summary[f"{key}/ci_low"] == pytest.approx(stat["ci_low"]) and stat["ci_low"] < stat["mean"]
        assert summary[f"{key}/ci_high"] == pytest.approx(stat["ci_high"]) and summary[f"{key}/n"] == stat["n"] == 3
    # the untrained model's hypotheses match no reference word: no true-span share, and the summary says n = 0
    assert metrics["ground_truth"]["ca"]["all"]["n"] == 0 and summary["probe/ground_truth/ca/n"] == 0
    assert "probe/ground_truth/ca" not in summary and "probe/ground_truth/ca/ci_low" not in summary


def test_everything_is_logged_in_one_history_row(explained: dict[str, Any]) -> None:
    row = history_row(explained["log"])
    figures = sorted(p.stem for p in (explained["out"] / "figures").glob("*.png"))
    assert len(figures) >= 10 and {"example_1", "layer_head_ca_vs_input"} <= set(figures)
    for stem in figures:
        assert row[f"probe/{stem}"]["_type"] == "image-file" and row[f"probe/{stem}"]["caption"]
        assert (explained["files"] / row[f"probe/{stem}"]["path"]).is_file()
    assert {"probe/per_utterance", "probe/per_head/ca_vs_input", "probe/layer_head/ca_vs_input_table"} <= set(row)


def test_per_utterance_table_has_a_row_per_utterance(explained: dict[str, Any]) -> None:
    table = logged_table(explained["files"], history_row(explained["log"])["probe/per_utterance"])
    assert table["columns"] == UTTERANCE_COLUMNS
    rows = [dict(zip(table["columns"], row)) for row in table["data"]]
    assert [r["id"] for r in rows] == [r["id"] for r in explained["records"]]
    done = [(row, record) for row, record in zip(rows, explained["records"]) if not record.get("skipped")]
    assert len(done) == 3
    for row, record in done:
        assert row["wer"] == pytest.approx(wer(record["hypothesis"], record["reference"], as_is)) and row["bleu"] is None
        assert row["ca_vs_input"] == pytest.approx(record["agreement"]["ca_vs_input"]["all"]["pearson"])
        assert row["ca_vs_encoder"] == pytest.approx(record["agreement"]["ca_vs_encoder"]["all"]["pearson"])
        assert row["span_ca"] is row["span_input"] is row["span_encoder"] is None  # undefined here (see the summary)
        assert row["example"] == "Image" and row["skipped"] is None  # the run's copy names the image; its artifact has it
    (skipped,) = [row for row in rows if row["skipped"]]
    assert skipped["example"] is None and skipped["ca_vs_input"] is None and skipped["wer"] is None
    (stored,) = [a for a in of_type(explained["log"], "artifact") if a.type == "run_table" and "per_utterance" in a.name]
    images = sorted(Path(c.path).name for c in stored.manifest.contents if c.path.startswith("media/images/"))
    assert images == ["example_1.png", "example_2.png", "example_3.png"]


def test_true_span_shares_fill_the_row_where_the_ground_truth_scored(explained: dict[str, Any]) -> None:
    record = {**explained["records"][0], "ground_truth": {"ca": {"all": 0.6}, "input": 0.5, "encoder": None}}
    row = dict(zip(UTTERANCE_COLUMNS, utterance_row(record, None, None)))
    assert (row["span_ca"], row["span_input"], row["span_encoder"]) == (0.6, 0.5, None)
    assert row["ca_vs_input"] == pytest.approx(record["agreement"]["ca_vs_input"]["all"]["pearson"])


def test_layer_head_agreement_is_an_interactive_chart(explained: dict[str, Any]) -> None:
    (chart,) = [json.loads(c.value_json) for config in of_type(explained["log"], "config") for c in config.update
                if list(c.nested_key) == ["_wandb", "visualize", "probe/layer_head/ca_vs_input"]]
    assert chart["panel_config"]["panelDefId"] == "wandb/lineseries/v0"
    table = logged_table(explained["files"], history_row(explained["log"])["probe/layer_head/ca_vs_input_table"])
    assert table["columns"] == ["step", "lineKey", "lineVal"]  # x: the head; one line per layer
    per_head = explained["metrics"]["pearson"]["ca_vs_input"]["per_head"]
    drawn = {f"{line.removeprefix('layer ')}.{head}": value for head, line, value in table["data"]}
    assert drawn == pytest.approx({key: stat["mean"] for key, stat in per_head.items()})
    assert len(drawn) == 4  # 2 layers x 2 heads


def test_model_is_the_input_and_the_outputs_an_explanation_artifact(explained: dict[str, Any]) -> None:
    artifacts = of_type(explained["log"], "artifact")
    (model,) = [a for a in artifacts if a.type == "model"]
    assert model.use_after_commit  # wandb sync marks it used by the run: lineage model -> run -> explanation
    assert [c.ref for c in model.manifest.contents] == [explained["ckpt"].resolve().as_uri()]
    (output,) = [a for a in artifacts if a.type == "explanation"]
    assert not output.use_after_commit
    contents = {c.path: c for c in output.manifest.contents}
    out = explained["out"]
    for name in ("metrics.json", "report.md", "tables/aggregated.csv", "tables/aggregated.md"):
        assert contents[name].digest == md5_b64(out / name)
    assert {f"tables/{p.name}" for p in (out / "tables").iterdir()} <= set(contents)
    assert "utterances.table.json" in contents
    assert json.loads(output.metadata)["limit"] == 4


def test_the_last_line_gives_the_headline_and_the_report(explained: dict[str, Any]) -> None:
    stat = explained["metrics"]["pearson"]["ca_vs_input"]["all"]
    last = explained["stdout"].strip().splitlines()[-1]
    assert last == (f"explained 3 utterance(s), 1 skipped; CA vs SPES input saliency (Pearson) {stat['mean']:.3f} "
                    f"[{stat['ci_low']:.3f}, {stat['ci_high']:.3f}]; report: {explained['out'] / 'report.md'}")
    assert "Explaining: 100%" in explained["stdout"] and "4/4" in explained["stdout"]
