"""What evaluate.py does with merged results: the report, and a Weights & Biases run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import wandb

from probes.evaluation.job import EvaluationJob, write_run_report
from probes.evaluation.wandb_panels import figure_images, layer_head_panels, summary_numbers, utterance_table
from probes.interface import ProbeModel, describe
from s2t.loggers import SafeWandbLogger, artifact_name


def write_outputs(job: EvaluationJob, metrics: dict[str, Any], records: list[dict[str, Any]],
                  model: ProbeModel) -> dict[Path, str]:
    """Tables, figures and report.md in OUTDIR; returns every figure with its caption."""
    return write_run_report(job.out, job.manifest, metrics, records, model).figures


def checkpoint_artifact(identity: dict[str, str], group: str) -> wandb.Artifact | None:
    """The explained weights (a local checkpoint file or model folder) as a W&B reference artifact, or None."""
    local = identity.get("ckpt") or identity.get("hf")
    if not local or not Path(local).exists():
        return None  # a hub name: nothing local to reference
    artifact = wandb.Artifact(artifact_name(f"model-{group}"), type="model", metadata=identity)
    artifact.add_reference(Path(local).resolve().as_uri())
    return artifact


def use_model(run: Any, artifact: wandb.Artifact) -> None:
    """Declare the model artifact an input of the run, so that W&B draws the lineage model -> run -> explanation.

    Online: ``use_artifact``. Offline, where ``use_artifact`` refuses, the record it would send (the draft artifact
    logged with ``use_after_commit``): ``wandb sync`` commits the artifact, then marks it used by the run.
    """
    if run.offline:
        run._log_artifact(artifact, is_user_created=True, use_after_commit=True)
    else:
        run.use_artifact(artifact)


def explanation_artifact(job: EvaluationJob, table: wandb.Table, group: str) -> wandb.Artifact:
    """The run's outputs as an ``explanation`` artifact: metrics.json, report.md and tables/ (those written) and the
    per-utterance table; its metadata the run's settings."""
    artifact = wandb.Artifact(artifact_name(f"explanation-{group}-{job.out.name}"), type="explanation",
                              metadata=job.settings())
    for name in ("metrics.json", "report.md"):
        if (job.out / name).is_file():
            artifact.add_file(str(job.out / name), name=name)
    if (job.out / "tables").is_dir():
        artifact.add_dir(str(job.out / "tables"), name="tables")
    artifact.add(table, "utterances")
    return artifact


def log_to_wandb(job: EvaluationJob, metrics: dict[str, Any], records: list[dict[str, Any]],
                 figures: dict[Path, str], model: ProbeModel) -> None:
    """A W&B run under OUTDIR (offline unless logged in, job type ``explain``) in the group of the run that trained
    the model: in its config the settings, the model's config and parameter count; in its summary the headline
    numbers with intervals and counts; in one history row the per-utterance table, the per-head tables and charts
    and the figures; the model artifact as its input and an ``explanation`` artifact as its output."""
    about = describe(model)
    trained = about.get("training_run") or {}
    logger = SafeWandbLogger(project=trained.get("project") or "crossprobe", save_dir=str(job.out),
                             name=f"evaluate-{job.out.name}", job_type="explain")
    logger.join(trained)
    logger.log_hyperparams({**job.settings(), "model": about.get("config"), "parameters": about.get("parameters")})
    run = logger.experiment
    run.summary.update(summary_numbers(metrics))
    table = utterance_table(records, figures, model)
    run.log({"probe/per_utterance": table, **layer_head_panels(metrics), **figure_images(figures)})
    if logger.mode != "disabled":  # disabled, nothing would keep the artifacts: no staged copies of the outputs
        if (model_artifact := checkpoint_artifact(job.identity, logger.group)) is not None:
            use_model(run, model_artifact)
        run.log_artifact(explanation_artifact(job, table, logger.group))
    run.finish()
