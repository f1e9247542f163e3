"""A model's test, once: ``quality.json`` (WER/CER per language, BLEU per direction, size, steps), which decides on
which groups it is explained. A model trained here is tested by ``train.py test``; a pretrained one (``hf:``) by
``probes.evaluation.quality`` on every group's test rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from probes.evaluation.quality import languages_and_tasks
from probes.store import read_json, write_json
from s2t.csv_log import logged_values
from s2t.models import ModelConfig, S2TModel
from s2t.module import read_checkpoint
from study.config import ModelSpec, Study, group_dataset, group_filter, speech_of
from study.runner import LEDGER, call, study_cost
from study.train import TRAIN, logger_override

QUALITY = "probes.evaluation.quality"  # a pretrained model's testing step's module


def quality(study: Study, spec: ModelSpec, ckpt: Path, folder: Path, name: str = "quality.json") -> dict[str, Any]:
    """Test the final checkpoint (beam search) once; WER/CER per language, BLEU per direction, size and steps."""
    path = folder / name
    if path.is_file():
        return json.loads(path.read_text())
    test_dir = folder / "test"
    call(TRAIN, ["test", "--config", spec.experiment, "--data.data_dir", str(study.data_dir),
          *study.train, *spec.train, "--ckpt_path", str(ckpt), "--trainer.default_root_dir", str(test_dir),
          *logger_override(test_dir, f"{spec.name}-test")],
         f"{spec.name}: testing", folder / LEDGER)
    newest = max(test_dir.rglob("metrics.csv"), key=lambda p: p.stat().st_mtime)  # the newest test
    values = {key: logged[-1][1] for key, logged in logged_values(newest, ("test/",)).items()}
    checkpoint = read_checkpoint(ckpt)
    hp, config = checkpoint["hyper_parameters"], checkpoint["model_config"]
    with torch.device("meta"):  # parameters only (no BatchNorm statistics), no memory
        parameters = S2TModel(ModelConfig(**config)).num_parameters()
    elapsed = (checkpoint.get("callbacks") or {}).get("Timer", {}).get("time_elapsed", {}).get("train")
    result = {
        "name": spec.name, "experiment": spec.experiment, "recipe": [*study.train, *spec.train], "preset": hp["preset"],
        "parameters": parameters,
        "d_model": config["d_model"], "layers": [config["encoder_layers"], config["decoder_layers"]],
        "vocab_size": config["vocab_size"],
        "steps": checkpoint["global_step"],
        # Lightning's Timer when the run had max_time, else the ledger's wall time of the training calls
        "train_minutes": round((elapsed or 3600 * study_cost(folder / LEDGER).get("training", 0.0)) / 60, 1),
        **{name: {k.split("/")[2]: round(v, 2) for k, v in values.items() if k.startswith(f"test/{name}/")}
           for name in ("wer", "cer", "bleu")},
    }
    result |= languages_and_tasks(result["wer"], result["bleu"])
    write_json(path, result)
    return result


def pretrained_quality(study: Study, spec: ModelSpec, folder: Path) -> dict[str, Any]:
    """Test a pretrained model (``hf:``) once on every group's test rows (beam 5, text normalised as its users score
    it): WER per language, BLEU per direction, a group of another dataset keyed ``en@librivox``; its size, vocabulary
    and the languages it knows (its folder's config.json and generation_config.json), and each group's speech."""
    path = folder / "quality.json"
    if path.is_file():
        return json.loads(path.read_text())
    measures = ("wer", "cer", "bleu")
    config = json.loads((spec.pretrained / "config.json").read_text())
    generation = read_json(spec.pretrained / "generation_config.json")
    result: dict[str, Any] = {"name": spec.name, "hf": spec.hf, "recipe": [], "pretrained": True,
                              "vocab_size": config.get("vocab_size"), "d_model": config.get("d_model"),
                              "layers": [config.get("encoder_layers"), config.get("decoder_layers")],
                              "model_languages": len(generation.get("lang_to_id") or {}) or 1,
                              **{m: {} for m in measures}, "intervals": {m: {} for m in measures},
                              "speech": {group: speech_of(study.test_dir(group)) for group in spec.groups}}
    for group in spec.groups:
        out = folder / "quality" / group
        if not (out / "quality.json").is_file():
            call(QUALITY, ["--hf", str(spec.pretrained), "--manifest", str(study.test_manifest(group)), "--out", str(out),
                           "--beam", "5", *group_filter(group)], f"{spec.name}: testing {group}", folder / LEDGER)
        tested = json.loads((out / "quality.json").read_text())
        suffix = f"@{group_dataset(group)}" if group_dataset(group) else ""
        for measure in measures:
            result[measure].update({key + suffix: value for key, value in tested[measure].items()})
            result["intervals"][measure].update({key + suffix: value
                                                 for key, value in tested["intervals"].get(measure, {}).items()})
        result["parameters"] = tested["parameters"]
    result |= languages_and_tasks(result["wer"], result["bleu"])
    write_json(path, result)
    return result
