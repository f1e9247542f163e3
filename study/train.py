"""A model of the study trained through ``train.py`` (``python -m s2t.train fit``), resuming from its last checkpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path

from study.aside import EXPLANATIONS, set_aside
from study.config import ModelSpec, Study
from study.runner import LEDGER, call

TRAIN = "s2t.train"  # the training and testing step's module


def logger_override(folder: Path, name: str, group: str | None = None) -> list[str]:
    """CSV and W&B loggers writing under ``folder``; the W&B run in ``group`` (default: the checkpoint's, or the name)."""
    wandb_args = {"save_dir": str(folder), "name": name, **({"group": group} if group else {})}
    loggers = [{"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(folder), "name": "csv"}},
               {"class_path": "s2t.loggers.SafeWandbLogger", "init_args": wandb_args}]
    return ["--trainer.logger", json.dumps(loggers)]


def last_checkpoint(folder: Path) -> Path | None:
    """The newest ``last.ckpt`` under a training folder."""
    found = sorted(folder.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def recipe_changed(marker: Path, recipe: list[str]) -> bool:
    """Whether a finished training's marker records another recipe (markers without one are taken as they are)."""
    try:
        return json.loads(marker.read_text())["recipe"] != recipe
    except (ValueError, KeyError, TypeError):
        return False


def train(study: Study, spec: ModelSpec, folder: Path) -> Path:
    """Train a model (resuming from its last checkpoint) unless it finished; returns its final checkpoint.

    A finished model whose recipe changed since (e.g. more epochs) trains on from its last checkpoint under the new
    recipe; its test scores and explanations are then made anew.
    """
    marker = folder / "train.done"
    recipe = [*study.train, *spec.train]
    if marker.is_file() and recipe_changed(marker, recipe):
        print(f"[study] {spec.name}: its recipe changed since it was trained; training on from its last checkpoint",
              flush=True)
        marker.unlink()
        (folder / "final.ckpt").unlink(missing_ok=True)
        (folder.parent / "quality.json").unlink(missing_ok=True)
        for runs in EXPLANATIONS:
            set_aside(folder.parent / runs)
    if not marker.is_file():
        resume = last_checkpoint(folder)
        args = ["fit", "--config", spec.experiment, "--data.data_dir", str(study.data_dir),
                "--trainer.default_root_dir", str(folder),
                *logger_override(folder, spec.name, group=f"{study.out.name}-{spec.name}"),
                *study.train, *spec.train, *(["--ckpt_path", str(resume)] if resume else [])]
        call(TRAIN, args, f"{spec.name}: training" + (f" (resuming {resume.name})" if resume else ""), folder.parent / LEDGER)
        if not (folder / "final.ckpt").is_file():
            raise RuntimeError(f"{spec.name}: training ended without {folder / 'final.ckpt'} (FinalCheckpoint callback missing?)")
        marker.write_text(json.dumps({"finished": time.strftime("%Y-%m-%d %H:%M:%S"), "recipe": recipe}) + "\n")
    return folder / "final.ckpt"
