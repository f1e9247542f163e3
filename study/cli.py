"""Run a study: train a matrix of models, measure their quality, explain them, write one report.

    python -m study --config configs/study/cpu.yaml [--only NAME ...] [--redo-explain] [--dry-run]
    python -m study --config configs/study/cpu.yaml --out STUDY --export results/study

The study file (YAML) lists models, each an experiment config with overrides and the groups
of test rows to explain (``asr_en``: English ASR rows; ``st_en-it``: English-to-Italian
ST rows), and how to explain them: ``explain:``, a mapping of evaluate.py's explanation settings
(``spes: {masks: 256}``, ...; ``study.config``). Every step runs ``python -m s2t.train`` (``train.py``) or ``python -m probes.evaluation``
(``evaluate.py``) in a subprocess, from the project root in a checkout and from the current
folder once installed (``crossprobe-study``), and leaves a marker when it completes, so an
interrupted study, started again, resumes where it stopped: training from its last checkpoint,
explanation from its last finished utterance. Layout::

    OUT/models/<name>/train/            Lightning run (checkpoints/last.ckpt), train.done when finished
    OUT/models/<name>/quality.json      test WER per language, BLEU per direction, size, steps
    OUT/models/<name>/quality/<group>/  a pretrained model's (``hf:``) test on a group: probes.evaluation.quality
    OUT/models/<name>/explain/<group>/  an evaluate.py OUTDIR
    OUT/models/<name>/paper_resolution/<group>/  the same at the paper's SPES resolution, on a few utterances
    OUT/report.md, tables/, figures/    study.report
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Sequence

from s2t.data.manifest import ManifestError
from s2t.resources import find_config
from s2t.usage import prog
from study.config import Study
from study.export import export
from study.report import write_study_report
from study.rescore import rescore_explanations
from study.pipeline import run


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(
        prog=prog("study"), description=__doc__.split("\n\n")[0],
        epilog="Run again to resume after any stop. --redo-explain explains the trained models anew (e.g. after "
               "saliency defaults changed) without retraining or retesting; the old runs stay as explain.<time>/ (the "
               "paper_resolution/ runs are kept).")
    p.add_argument("--config", type=Path, required=True,
                   help="study YAML; configs/study/NAME.yaml is found in the installed package too")
    p.add_argument("--only", nargs="*", default=(), help="run only these models (the report covers all finished ones)")
    p.add_argument("--out", type=Path, help="the study's folder (default: the study file's out)")
    p.add_argument("--redo-explain", action="store_true",
                   help="set aside the (selected) models' explain runs and explain them again, without retraining")
    p.add_argument("--redo-changed", action="store_true",
                   help="set aside the finished explain and paper-resolution runs made with other settings than the "
                        "study file's (else kept, with a note) and make them anew; a model that came from the "
                        "committed results is trained again for them (same recipe and seed, its test compared)")
    p.add_argument("--export", type=Path, metavar="DIR",
                   help="copy the light results (no checkpoints, no maps.h5) of the (selected) models into DIR, rebuild "
                        "DIR/report.md, and stop (with --only, the other models' results in DIR are left as they are)")
    p.add_argument("--rescore", action="store_true",
                   help="recompute the agreement scores of the (selected) models' finished explain runs from their saved "
                        "maps (seconds, no model pass; e.g. after a new correlation was added), and their ground-truth "
                        "shares where the run's checkpoint is still here (run it from the folder the study ran in, so "
                        "that the manifest is found), rewrite the study report, and stop")
    p.add_argument("--dry-run", action="store_true", help="check the study file and list the models")
    return p


def dry_run(study: Study) -> None:
    """Print each model: how it is made (trained from an experiment, or pretrained) and what it explains."""
    for spec in study.models:
        fine = study.paper_resolution
        also = f"; {spec.groups[0]} again at the paper's resolution ({fine.limit} utterances)" if fine and spec.groups else ""
        made = f"pretrained {spec.hf}" if spec.hf else f"{spec.experiment} {' '.join([*study.train, *spec.train])}"
        print(f"{spec.name}: {made}; explain {', '.join(spec.groups)}{also}")


def rescore(study: Study, only: Sequence[str]) -> int:
    """``--rescore``: every finished run rescored from its maps, then the report rewritten; the exit status."""
    try:
        for folder, truth in rescore_explanations(study, only):
            print(f"[study] rescored {folder}"
                  + ("" if truth else " (not its ground truth nor its report: its checkpoint is gone)"))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"[study] report: {write_study_report(study.out)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``crossprobe-study`` and ``python -m study``; the exit status."""
    a = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `make study-stop`: unwind, so ledgers record the time
    try:
        study = Study.load(find_config(a.config))
    except (ValueError, TypeError, KeyError) as err:
        print(f"error: {a.config}: {err}", file=sys.stderr)
        return 2
    if a.out:
        study.out = a.out
    if a.export:
        print(f"[study] report: {export(study.out, a.export, a.only)}")
        return 0
    if a.rescore:
        return rescore(study, a.only)
    if a.dry_run:
        dry_run(study)
        return 0
    try:
        run(study, a.only, a.redo_changed, a.redo_explain)
    except (RuntimeError, ManifestError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
