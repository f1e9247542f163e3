"""What evaluate.py does with merged results: the report, and a Weights & Biases run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from probes.evaluation import EvaluationJob
from probes.interface import ProbeModel
from probes.report import write_report
from probes.summary import PER_HEAD_COLUMNS, per_head_rows, scalars
from probes.utterances import ground_truth
from s2t.loggers import SafeWandbLogger


def write_outputs(job: EvaluationJob, metrics: dict[str, Any], model: ProbeModel) -> dict[str, Path]:
    """Tables, figures and report.md in OUTDIR; returns the figures by name."""
    records = [json.loads(line) for line in (job.out / "utterances.jsonl").read_text().splitlines()]
    words = {key: value[0] for key, value in ground_truth(job.manifest).items()}
    write_report(job.out, metrics, records, job.out / "maps.h5", title=f"Explanations: {job.manifest}",
                 word_times=words, token_text=lambda t: model.detokenize([t]))
    return {path.stem: path for path in sorted((job.out / "figures").glob("*.png"))}


def log_to_wandb(job: EvaluationJob, metrics: dict[str, Any], figures: dict[str, Path]) -> None:
    """Headline scalars, figures and the per-head table in a W&B run (offline unless logged in) under OUTDIR."""
    logger = SafeWandbLogger(project="crossprobe", save_dir=str(job.out), name=f"evaluate-{job.out.name}",
                             job_type="evaluate")
    logger.log_hyperparams(job.settings())
    logger.log_metrics(scalars(metrics))
    for name, path in figures.items():
        logger.log_image(key=f"probe/{name}", images=[str(path)])
    for target, block in metrics["pearson"].items():
        if target.startswith("ca_vs_"):
            logger.log_table(key=f"probe/per_head/{target}", columns=PER_HEAD_COLUMNS, data=per_head_rows(block["per_head"]))
    logger.experiment.finish()
