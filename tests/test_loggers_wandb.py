"""A training run's W&B run as its users expect, read back from the offline run files: job types per stage,
best-value summaries, the final and best checkpoints as artifacts, and the probe's scalars and figures at one step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import wandb

from s2t.cli import main
from tests.test_train import args
from tests.test_wandb import offline_run, records

PROBE = json.dumps({"class_path": "probes.callback.ExplanationCallback", "init_args": {
    "every_n_epochs": 1, "utterances": 2, "masks": 8, "granularities": [300], "figures": 1}})


def wandb_logger(folder: Path, name: str, **init_args: Any) -> str:
    """``--trainer.logger``'s value: a ``SafeWandbLogger`` writing under ``folder``."""
    return json.dumps([{"class_path": "s2t.loggers.SafeWandbLogger",
                        "init_args": {"save_dir": str(folder), "name": name, **init_args}}])


def history(folder: Path) -> list[dict[str, Any]]:
    """The history rows (one per ``run.log``) of the one offline run under ``folder``; media as ``<key>/<field>``."""
    (path,) = folder.rglob("offline-run-*/run-*.wandb")
    rows = [r.history for r in records(path) if r.WhichOneof("record_type") == "history"]
    return [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in row.item} for row in rows]


def steps(rows: list[dict[str, Any]], key: str) -> list[int]:
    """The ``trainer/global_step`` of each row holding ``key``."""
    return [row["trainer/global_step"] for row in rows if key in row]


@pytest.mark.slow
def test_fit_and_test_runs_name_their_jobs_keep_best_values_log_checkpoints_and_probe_at_one_step(
        tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))  # artifact staging copies
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    fit = args(tiny_corpus, tmp_path / "train", "--trainer.max_epochs", "2", f"--trainer.callbacks+={PROBE}")
    at = fit.index("--trainer.logger")
    fit[at:at + 4] = ["--trainer.logger", wandb_logger(tmp_path / "train", "tiny", log_model=True)]
    main(["fit", *fit])
    wandb.finish()  # as the process's exit would
    trained = offline_run(tmp_path / "train")
    assert trained["run"].job_type == "train" and trained["run"].run_group == "tiny"

    rows = history(tmp_path / "train")
    for key, best in [("valid/wer/en", min), ("valid/cer/en", min), ("valid/loss", min), ("valid/bleu/en-it", max)]:
        logged = [row[key] for row in rows if key in row]  # one value per validation epoch
        assert len(logged) == 2 and trained["summary"][key] == {best.__name__: best(logged), "last": logged[-1]}, key

    artifacts = {sorted(a.aliases)[0]: a for a in trained["artifacts"] if a.type == "model"}
    # W&B gives every version it logs "latest" and keeps it on the newest: the final weights, logged last
    assert [(alias, sorted(a.aliases)) for alias, a in artifacts.items()] == [("best", ["best", "latest"]),
                                                                              ("final", ["final", "latest"])]
    for artifact in artifacts.values():
        assert artifact.name == "model-tiny" and [e.path for e in artifact.manifest.contents] == ["model.ckpt"]
    final, best = (json.loads(artifacts[alias].metadata) for alias in ("final", "best"))
    assert final["file"] == "final.ckpt" and final["epoch"] == 2
    assert best["monitor"] == "valid/loss" and best["file"].startswith("best-") and best["score"] > 0

    probed = steps(rows, "probe/pearson/ca_vs_input/all")
    assert len(probed) == 2 and probed == steps(rows, "probe/layer_head/_type") == steps(rows, "probe/per_head/_type")
    assert probed == steps(rows, "valid/loss")  # the probe lands with the validation epoch it follows

    (ckpt,) = (tmp_path / "train").rglob("final.ckpt")
    main(["test", "--ckpt_path", str(ckpt), "--data.data_dir", str(tiny_corpus), "--data.num_workers", "0",
          "--model.test_beam_size", "1", "--trainer.enable_progress_bar", "false",
          "--trainer.default_root_dir", str(tmp_path / "test"),
          "--trainer.logger", wandb_logger(tmp_path / "test", "tiny-test", log_model=True)])
    wandb.finish()
    tested = offline_run(tmp_path / "test")
    assert tested["run"].job_type == "test" and tested["run"].run_group == "tiny"
    assert not [a for a in tested["artifacts"] if a.type == "model"]  # only a fit logs checkpoints
    assert isinstance(tested["summary"]["test/wer/en"], (int, float))  # a plain value: no best-value summary
