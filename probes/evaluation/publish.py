"""What evaluate.py does with merged results: the report, and a Weights & Biases run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import wandb

from probes.evaluation.run import EvaluationJob, write_run_report
from probes.interface import ProbeModel, describe
from probes.metrics.summary import PER_HEAD_COLUMNS, per_head_rows, scalars
from s2t.loggers import SafeWandbLogger


def write_outputs(job: EvaluationJob, metrics: dict[str, Any], records: list[dict[str, Any]],
                  model: ProbeModel) -> dict[Path, str]:
    """Tables, figures and report.md in OUTDIR; returns every figure with its caption."""
    return write_run_report(job.out, job.manifest, metrics, records, model).figures


def checkpoint_artifact(identity: dict[str, str], group: str) -> wandb.Artifact | None:
    """The explained weights (a local checkpoint file or model folder) as a W&B reference artifact, or None."""
    local = identity.get("ckpt") or identity.get("hf")
    if not local or not Path(local).exists():
        return None  # a hub name: nothing local to reference
    artifact = wandb.Artifact(re.sub(r"[^A-Za-z0-9_.-]", "-", f"model-{group}"), type="model", metadata=identity)
    artifact.add_reference(Path(local).resolve().as_uri())
    return artifact


def log_to_wandb(job: EvaluationJob, metrics: dict[str, Any], figures: dict[Path, str], model: ProbeModel) -> None:
    """A W&B run under OUTDIR (offline unless logged in): the headline scalars in its summary, figures with
    their captions and per-head tables logged; in its config the settings, the model's config and parameter
    count; in the group of the run that trained the model; the checkpoint referenced as an artifact."""
    about = describe(model)
    trained = about.get("training_run") or {}
    logger = SafeWandbLogger(project=trained.get("project") or "crossprobe", save_dir=str(job.out),
                             name=f"evaluate-{job.out.name}", job_type="evaluate")
    logger.join(trained)
    logger.log_hyperparams({**job.settings(), "model": about.get("config"), "parameters": about.get("parameters")})
    run = logger.experiment
    run.summary.update(scalars(metrics))
    for path, caption in figures.items():
        logger.log_image(key=f"probe/{path.stem}", images=[str(path)], caption=[caption])
    for target, block in metrics["pearson"].items():
        if target.startswith("ca_vs_"):
            logger.log_table(key=f"probe/per_head/{target}", columns=PER_HEAD_COLUMNS, data=per_head_rows(block["per_head"]))
    artifact = checkpoint_artifact(job.identity, logger.group)
    if artifact is not None and run.offline:
        run.log_artifact(artifact)  # an offline run cannot declare an input, only log
    elif artifact is not None:
        run.use_artifact(artifact)
    run.finish()
