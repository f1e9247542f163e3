"""Committed results reused: a model finished in ``results/`` under the same recipe is not made again on a new
machine, and is trained again (same recipe and seed, its test compared) only when a run needs its checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from probes.store import write_json
from study.aside import EXPLANATIONS, set_aside
from study.config import ModelSpec, Study
from study.quality import quality
from study.train import last_checkpoint, train

RETRAIN = "retrain.json"  # OUT/models/<name>/train/retrain.json: train_again under way, until its test is compared


def seed_from_results(study: Study, spec: ModelSpec, folder: Path) -> bool:
    """On a machine without this model's training, take it from the committed results when they hold it under the
    same recipe: quality, ledger and explain runs are copied and training is marked done (without its checkpoint).

    A group that still needs explaining then needs the checkpoint: ``study.explain_groups`` says so.
    """
    committed = study.results / "models" / spec.name if study.results else None
    recipe = [*study.train, *spec.train]
    if (committed is None or not (committed / "quality.json").is_file() or (folder / "train" / "train.done").is_file()
            or last_checkpoint(folder / "train")):
        return False
    if json.loads((committed / "quality.json").read_text()).get("recipe") != recipe:
        return False
    shutil.copytree(committed, folder, dirs_exist_ok=True)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    (folder / "train" / "train.done").write_text(json.dumps({"recipe": recipe, "from": str(committed)}) + "\n")
    return True


def seeded(train_folder: Path) -> bool:
    """Whether a model's training was taken from the committed results (``seed_from_results``), not made here."""
    marker = train_folder / "train.done"
    return marker.is_file() and "from" in json.loads(marker.read_text())


def train_again(study: Study, spec: ModelSpec, folder: Path, scores: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Train a model taken from the committed results again, with the same recipe and seed, for a run that needs it;
    returns its checkpoint and the scores the study now holds for it.

    Its test is run again (``quality.retrained.json``). When it scores as the committed model did, the committed runs
    stand. Otherwise the training did not reproduce (the committed one made on another machine, with other code or
    resumed, say), so every run must come from the new model: the committed ones are set aside
    (``explain.<time>/``, ``paper_resolution.<time>/``, made anew) and its scores replace the committed ones (kept as
    ``quality.committed.json``). ``train/retrain.json`` marks it under way until then, so that a run stopped
    midway resumes it (``study.pipeline.run_model``) rather than take the new model for the committed one.
    """
    marker = folder / "train" / RETRAIN
    if marker.is_file():
        print(f"[study] {spec.name}: resuming its training again, stopped before its test was compared with the "
              "committed one", flush=True)
    else:
        print(f"[study] {spec.name}: a run needs the model, which came from {study.results} without its checkpoint; "
              "training it again with the same recipe and seed", flush=True)
        write_json(marker, {"from": str(study.results)})
    if seeded(folder / "train"):  # the committed model's marker: from now on the model is trained here
        (folder / "train" / "train.done").unlink()
    ckpt = train(study, spec, folder / "train")
    again = quality(study, spec, ckpt, folder, "quality.retrained.json")
    differ = [f"{m} {k}: {scores.get(m, {}).get(k)} committed, {v} now" for m in ("wer", "cer", "bleu")
              for k, v in again.get(m, {}).items() if scores.get(m, {}).get(k) != v]
    if differ:
        print(f"[study] {spec.name}: trained again, but its test scores differ ({'; '.join(differ)}): the committed "
              "runs came from another training, so they are set aside and the model is explained anew", flush=True)
        for runs in EXPLANATIONS:
            set_aside(folder / runs)
        (folder / "quality.json").rename(folder / "quality.committed.json")
        (folder / "quality.retrained.json").rename(folder / "quality.json")
        scores = {**again, "targets": study.targets}
    else:
        print(f"[study] {spec.name}: trained again, and it tests as the committed model did", flush=True)
    marker.unlink()  # compared: the model the study now holds is settled
    return ckpt, scores
