"""A study run: every (selected) model trained, tested and explained in turn, each step resumed or skipped when
finished, then the study report written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from probes.store import write_json
from s2t.data.manifest import read_manifest
from study.aside import set_aside
from study.config import ModelSpec, Study
from study.explain_groups import CheckpointMissing, explain_groups
from study.quality import pretrained_quality, quality
from study.report import write_study_report
from study.reuse import RETRAIN, seed_from_results, seeded, train_again
from study.runner import LEDGER, runner_lock, study_cost
from study.train import train


def check_data(study: Study) -> None:
    """Read the test manifest, whose rows the study explains, before any step: a broken one (not UTF-8, an id twice,
    which evaluate.py refuses) is named now, not hours into the study."""
    for folder in (study.data_dir, *study.datasets.values()):
        if (manifest := folder / "test.tsv").is_file():
            read_manifest(manifest, unique_ids=True)


def run(study: Study, only: Sequence[str] = (), redo_changed: bool = False, redo_explain: bool = False) -> Path:
    """Train, test and explain every (selected) model that no other runner holds, then write the study report.

    ``redo_changed``: finished explain runs made with other settings than the study file's are set aside and made
    anew; a model taken from the committed results is then trained again for them (``train_again``).
    ``redo_explain``: every explain run of the model is set aside first and made anew, without retraining.
    """
    check_data(study)
    for spec in study.models:
        if only and spec.name not in only:
            continue
        folder = study.out / "models" / spec.name
        with runner_lock(folder) as holder:
            if holder:
                print(f"[study] {spec.name}: skipped, another runner is on it ({holder})", flush=True)
                continue
            if redo_explain and (moved := set_aside(folder / "explain")):
                print(f"[study] {spec.name}: set aside {moved}; explaining anew", flush=True)
            run_model(study, spec, folder, redo_changed)
    with runner_lock(study.out, wait=True):
        report = write_study_report(study.out)
    print(f"[study] report: {report}", flush=True)
    return report


def run_model(study: Study, spec: ModelSpec, folder: Path, redo_changed: bool) -> None:
    """Train, test and explain one model in ``folder`` (each step resumes or is skipped when finished)."""
    if spec.pretrained is not None:
        scores = {**pretrained_quality(study, spec, folder), "targets": study.targets}
        explain_groups(study, spec, spec.pretrained, folder, scores, redo_changed)
        scores["wall_minutes"] = {k: round(60 * v, 1) for k, v in study_cost(folder / LEDGER).items()}
        write_json(folder / "quality.json", scores)
        return
    if seed_from_results(study, spec, folder):
        print(f"[study] {spec.name}: finished in {study.results}; its light results copied, not made again",
              flush=True)
    if (folder / "train" / RETRAIN).is_file():  # a stop interrupted train_again: finish it before using the model
        ckpt, scores = train_again(study, spec, folder, json.loads((folder / "quality.json").read_text()))
    else:
        ckpt = train(study, spec, folder / "train")
        scores = quality(study, spec, ckpt, folder)
    if scores.get("targets") != study.targets:  # the study's targets, recorded with the scores they judge
        scores["targets"] = study.targets
        write_json(folder / "quality.json", scores)
    try:
        explain_groups(study, spec, ckpt, folder, scores, redo_changed)
    except CheckpointMissing:
        if not seeded(folder / "train"):
            raise
        ckpt, scores = train_again(study, spec, folder, scores)
        explain_groups(study, spec, ckpt, folder, scores, redo_changed)
    scores["wall_minutes"] = {k: round(60 * v, 1) for k, v in study_cost(folder / LEDGER).items()}
    write_json(folder / "quality.json", scores)
