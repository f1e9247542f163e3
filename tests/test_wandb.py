"""W&B as its users expect, read back from the offline run files: training, test and explanation runs of one
model in one group, results in the run summary, the model's config and size in the run config, the checkpoint
as an artifact."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import wandb
from wandb.proto import wandb_internal_pb2

import evaluate
from s2t.cli import main
from s2t.module import S2TModule
from tests.test_train import args

BLOCK, HEADER = 32768, 7  # the .wandb file is a LevelDB-style log: 32 KiB blocks of records with 7-byte headers


def records(path: Path) -> list[wandb_internal_pb2.Record]:
    """Every record of an offline run's ``run-<id>.wandb`` file."""
    data, pos, pending, out = path.read_bytes(), HEADER, b"", []  # the file opens with its own 7-byte header
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        length, kind = struct.unpack("<HB", data[pos + 4:pos + HEADER])
        pending += data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind in (1, 4):  # a full record, or the last piece of one
            out.append(wandb_internal_pb2.Record.FromString(pending))
            pending = b""
    return out


def values(items: Any) -> dict[str, Any]:
    """Config or summary items by name (a key, or its nested keys joined by dots)."""
    return {item.key or ".".join(item.nested_key): json.loads(item.value_json) for item in items}


def offline_run(folder: Path) -> dict[str, Any]:
    """The one offline run under ``folder``: its run record, config, summary and logged artifacts."""
    (path,) = folder.rglob("offline-run-*/run-*.wandb")
    for _ in range(300):  # W&B's service may still be writing the file when the run has finished
        logged = records(path)
        if any(record.WhichOneof("record_type") == "exit" for record in logged):
            break
        time.sleep(0.1)
    run: dict[str, Any] = {"config": {}, "summary": {}, "artifacts": []}
    for record in logged:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run["run"] = record.run
            run["config"].update(values(record.run.config.update))
        elif kind == "config":
            run["config"].update(values(record.config.update))
        elif kind == "summary":
            run["summary"].update(values(record.summary.update))
        elif kind == "artifact":
            run["artifacts"].append(record.artifact)
    return run


def test_training_test_and_explanation_share_a_group_and_say_what_they_ran(tiny_corpus: Path, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    wandb_logger = lambda folder, name: json.dumps([{"class_path": "s2t.loggers.SafeWandbLogger",  # noqa: E731
                                                      "init_args": {"save_dir": str(folder), "name": name}}])
    fit = args(tiny_corpus, tmp_path / "train", "--trainer.max_steps", "2")
    at = fit.index("--trainer.logger")
    fit[at:at + 4] = ["--trainer.logger", wandb_logger(tmp_path / "train", "tiny")]  # W&B instead of CSV
    main(["fit", *fit])
    wandb.finish()  # as the process's exit would
    (ckpt,) = (tmp_path / "train").rglob("last.ckpt")
    trained = offline_run(tmp_path / "train")
    stored = torch.load(ckpt, weights_only=True)["wandb_run"]
    assert trained["run"].run_group == stored["group"] == "tiny" and stored["id"] == trained["run"].run_id

    main(["test", "--ckpt_path", str(ckpt), "--data.data_dir", str(tiny_corpus), "--data.num_workers", "0",
          "--model.test_beam_size", "1", "--trainer.enable_progress_bar", "false",
          "--trainer.default_root_dir", str(tmp_path / "test"), "--trainer.logger", wandb_logger(tmp_path / "test", "tiny-test")])
    wandb.finish()
    tested = offline_run(tmp_path / "test")
    assert tested["run"].run_group == "tiny" and tested["config"]["training_run"] == f"crossprobe/{stored['id']}"
    assert {"test/wer/en", "test/bleu/en-it", "test/loss"} <= set(tested["summary"])

    assert evaluate.main(["--ckpt", str(ckpt), "--manifest", str(tiny_corpus / "test.tsv"), "--out", str(tmp_path / "explain"),
                          "--masks", "8", "--encoder-masks", "8", "--granularities", "300", "--deletion-steps", "2",
                          "--beam", "1", "--tasks", "asr", "--languages", "en", "--limit", "2"]) == 0
    explained = offline_run(tmp_path / "explain")
    assert explained["run"].run_group == "tiny" and explained["run"].job_type == "explain"
    assert explained["config"]["training_run"] == f"crossprobe/{stored['id']}"
    module = S2TModule.from_checkpoint(ckpt)
    assert explained["config"]["parameters"] == module.model.num_parameters()
    assert explained["config"]["model"]["d_model"] == module.model.config.d_model == 64
    metrics = json.loads((tmp_path / "explain" / "metrics.json").read_text())
    assert explained["summary"]["probe/pearson/ca_vs_input/all"] == pytest.approx(metrics["pearson"]["ca_vs_input"]["all"]["mean"])
    (artifact,) = [a for a in explained["artifacts"] if a.type == "model"]  # tables are artifacts too
    assert artifact.name == "model-tiny"
    assert [entry.ref for entry in artifact.manifest.contents] == [ckpt.resolve().as_uri()]
