"""A model explained through ``evaluate.py`` (``python -m probes.evaluation``) on every group that meets its target,
and again at the paper's resolution when the study asks for it; a finished run made otherwise is kept or redone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from study.aside import set_aside_run
from study.config import ModelSpec, Study, group_filter
from study.models import group_quality, meets_target, targets
from study.runner import LEDGER, call
from study.settings import changed_settings

EVALUATE = "probes.evaluation"  # the explaining step's module


class CheckpointMissing(RuntimeError):
    """A run needs the model, whose checkpoint is not on this machine."""


def explain_groups(study: Study, spec: ModelSpec, ckpt: Path, folder: Path, scores: dict[str, Any],
            redo_changed: bool = False) -> None:
    """Explain every group on which the model meets its quality target (evaluate.py resumes unfinished groups),
    then its first such group at the paper's resolution when the study asks for it. ``redo_changed``: a finished run
    made with other settings than the study file's is set aside and made anew (else it is kept, with a note)."""
    explained = []
    for group in spec.groups:
        if not meets_target(scores, group):
            measure, value = group_quality(scores, group)
            goal = targets(scores)
            print(f"[study] {spec.name}: not explaining {group}: test {measure} {value:g} misses the target "
                  f"(WER <= {goal['wer_max']:g}, BLEU >= {goal['bleu_min']:g})", flush=True)
            continue
        explained.append(group)
        _evaluate(study, spec, ckpt, folder, folder / "explain" / group, group, study.limit, study.explain,
                  redo_changed=redo_changed)
    if study.paper_resolution and explained:
        fine, group = study.paper_resolution, explained[0]
        _evaluate(study, spec, ckpt, folder, folder / "paper_resolution" / group, group, fine.limit, fine.explain,
                  " at the paper's resolution", redo_changed)


def _evaluate(study: Study, spec: ModelSpec, ckpt: Path, folder: Path, out: Path, group: str, limit: int,
              explain: Mapping[str, Any], what: str = "", redo_changed: bool = False) -> None:
    """One evaluate.py run of a group into ``out`` with the explanation settings ``explain`` (a mapping of
    ``ExplainConfig``'s fields), unless its report exists (an unfinished run resumes)."""
    if (out / "report.md").is_file():
        if not (changed := changed_settings(out, explain)):
            return
        if not redo_changed:
            print(f"[study] {spec.name}: note: {out} was explained with other settings than the study file's "
                  f"({', '.join(changed)} differ); kept as it is: --redo-changed sets it aside and explains "
                  f"{group}{what} anew", flush=True)
            return
        print(f"[study] {spec.name}: {out} was explained with other settings ({', '.join(changed)} differ); set aside "
              f"as {set_aside_run(out)}, explaining {group}{what} anew", flush=True)
    if spec.pretrained is not None and not spec.pretrained.is_dir():
        raise RuntimeError(f"{spec.name}: {group} needs explaining, but its pretrained model {spec.pretrained} is not "
                           f"on this machine (make whisper converts the Whisper models)")
    if spec.pretrained is None and not ckpt.is_file():
        raise CheckpointMissing(f"{spec.name}: {group} needs explaining, but the model's checkpoint {ckpt} is not on "
                                f"this machine")
    model = ["--hf", str(spec.pretrained)] if spec.pretrained is not None else ["--ckpt", str(ckpt)]
    call(EVALUATE, [*model, "--manifest", str(study.test_manifest(group)), "--out", str(out), "--limit", str(limit),
                    *group_filter(group), "--explain", json.dumps(explain), *study.evaluate],
         f"{spec.name}: explaining {group}{what}", folder / LEDGER)
