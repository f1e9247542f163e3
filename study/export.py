"""A study's light results exported (to commit): no checkpoints, no maps, and its report rebuilt from them alone."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Sequence

from study.aside import EXPLANATIONS
from study.report import write_study_report
from study.runner import LOCK

HEAVY = ("*.h5", "*.ckpt")  # never exported: maps and checkpoints
LIGHT_DIRS = EXPLANATIONS  # besides the model folder's own files, the only folders exported (not train/, test/)


def export(out: Path, dest: Path, only: Sequence[str] = ()) -> Path:
    """Copy a study's light results (quality, ledgers, explain metrics, records, reports, figures, tables) of every
    (selected) model into ``dest`` and rebuild its report there from those files alone; returns the report's path."""
    for folder in sorted((out / "models").glob("*")):
        if not (folder / "quality.json").is_file() or (only and folder.name not in only):
            continue  # not trained and tested yet, or not asked for
        target = dest / "models" / folder.name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for f in folder.iterdir():
            if f.is_file() and f.name != LOCK:
                shutil.copy2(f, target / f.name)
        for name in LIGHT_DIRS:
            if (folder / name).is_dir():
                shutil.copytree(folder / name, target / name, ignore=shutil.ignore_patterns(*HEAVY, "work", "wandb"))
    return write_study_report(dest)
