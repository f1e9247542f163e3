"""A study's finished explain runs rescored from their saved maps (``probes.evaluation.job.rescore``), no model pass."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from probes.adapters.s2t import S2TProbe
from probes.evaluation.identity import file_digest, weights_digest
from probes.evaluation.job import rescore
from probes.interface import ProbeModel
from probes.store import read_json
from study.aside import EXPLANATIONS
from study.config import Study


def explained_model(folder: Path) -> ProbeModel | None:
    """The model a finished run explained, when its checkpoint (or Hugging Face folder) is still where the run found it
    and unchanged."""
    settings = read_json(folder / "settings.json")
    if settings.get("hf"):
        hf = Path(settings["hf"])
        digest = weights_digest(hf)  # '' for a hub name or a folder without weights: nothing to compare
        if not digest or digest != settings.get("hf_sha256"):
            return None
        from probes.adapters.whisper import WhisperProbe  # the hf extra

        return WhisperProbe.from_pretrained(hf)
    ckpt = Path(settings.get("ckpt") or "")
    if not ckpt.is_file() or file_digest(ckpt) != settings.get("ckpt_sha256"):
        return None
    return S2TProbe.from_checkpoint(ckpt)


def rescore_explanations(study: Study, only: Sequence[str] = ()) -> list[tuple[Path, bool]]:
    """Recompute the agreement scores of every finished explain run of the (selected) models from its maps.h5, without
    a model pass (``probes.evaluation.job.rescore``), and their ground-truth shares too where the run's checkpoint is
    still here (its tokenizer is needed), with their report.md; returns the runs and whether their ground truth and
    report were rescored."""
    folders = [h5.parent for spec in study.models if not only or spec.name in only for runs in EXPLANATIONS
               for h5 in sorted((study.out / "models" / spec.name / runs).glob("*/maps.h5"))]
    done = []
    for folder in folders:
        model = explained_model(folder)
        rescore(folder, model)
        done.append((folder, model is not None))
    return done
