"""Explain every utterance of a manifest: sharded over Lightning ranks, resumable, merged into OUTDIR.

Each utterance's results go to ``OUTDIR/work/`` as soon as they exist (maps first, then the
record, both by atomic rename), so a run killed at any moment loses at most the utterance in
progress; restarted with the same arguments it skips finished utterances. Utterances are
independent (their random draws are seeded per utterance, not per run), so a resumed run,
or one spread over several processes with ``trainer.predict`` under DDP, ends with the same
files as one uninterrupted process. Rank zero then merges the work files into::

    OUTDIR/metrics.json        aggregated metrics (probes.metrics.summary)
    OUTDIR/utterances.jsonl    one record per utterance, in manifest order
    OUTDIR/maps.h5             per-utterance maps, one group per utterance id
    OUTDIR/report.md, tables/, figures/   (probes.report.run_report)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from probes.evaluation.progress import UtteranceProgress
from probes.evaluation.settings import config_changes
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows, stored_utterance
from probes.explain import (GRADIENT_METHODS, ExplainConfig, agreement_scores, explain, ground_truth_scores, linear_maps,
                            timestamp_scores, utterance_seed)
from probes.interface import ProbeModel
from probes.metrics.summary import json_ready, summarize_records
from probes.report.run_report import Written, write_report
from probes.records import SCHEMA_VERSION, upgrade_settings
from probes.store import (atomic_write, read_json, read_maps, read_record, read_records, write_json, write_maps,
                          write_record, write_records)

log = logging.getLogger(__name__)
TARGETS = ("input", "encoder", *GRADIENT_METHODS)  # saliency maps CA is compared with, in the order explain() makes them


class ConfigMismatchError(RuntimeError):
    """OUTDIR holds a run made with other arguments."""


@dataclasses.dataclass
class EvaluationJob:
    """What to explain and where the results go."""

    manifest: Path
    out: Path
    config: ExplainConfig
    limit: int | None = None
    tasks: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None
    pairs: tuple[str, ...] | None = None
    identity: dict[str, Any] = dataclasses.field(default_factory=dict)  # e.g. the checkpoint, checked on resume

    @property
    def work(self) -> Path:
        """Per-utterance results of a run in progress."""
        return self.out / "work"

    def settings(self) -> dict[str, Any]:
        """Everything that determines the results, as JSON-ready data."""
        return json_ready({"schema_version": SCHEMA_VERSION,
                           "manifest": str(self.manifest), "limit": self.limit, "tasks": self.tasks, "languages": self.languages,
                           "pairs": self.pairs,
                           "config": dataclasses.asdict(self.config), **self.identity})

    def record_path(self, index: int) -> Path:
        """Work file of the record of manifest row ``index``."""
        return record_file(self.out, index)

    def maps_path(self, index: int) -> Path:
        """Work file of the maps of manifest row ``index``."""
        return self.work / f"{index:07d}.npz"


def record_file(out: Path, index: int) -> Path:
    """Work file of the record of (selected) manifest row ``index`` of the run in ``out``."""
    return out / "work" / f"{index:07d}.json"


def prepare(job: EvaluationJob) -> None:
    """Create OUTDIR and its settings file, or check that a run there used the same settings, naming those that
    differ (``limit``, ``config.spes.masks``, ...; ``probes.evaluation.settings`` compares the explanation's)."""
    job.work.mkdir(parents=True, exist_ok=True)
    settings_file = job.out / "settings.json"
    settings = job.settings()
    if settings_file.is_file():
        previous = upgrade_settings(read_json(settings_file))
        others = [k for k in set(previous) | set(settings) if k != "config" and previous.get(k) != settings.get(k)]
        explained = [f"config.{name}" for name in config_changes(previous.get("config") or {}, job.config)]
        changed = sorted([*others, *explained])
        if changed:
            raise ConfigMismatchError(
                f"{job.out} holds a run with other settings ({', '.join(changed)} differ); "
                "use another --out, or delete it to start over"
            )
    else:
        write_json(settings_file, settings)


def explain_row(model: ProbeModel, job: EvaluationJob, index: int, rows: Sequence, truth: dict,
                device: torch.device) -> None:
    """Explain manifest row ``index`` (unless already done) and store its maps and record."""
    if job.record_path(index).is_file():
        return
    row = rows[index]
    try:
        utt = load_utterance(model, job.manifest, row, truth)
    except ValueError as err:  # bad audio or features, a language or task the model lacks
        record, maps = {"id": row.id, "task": row.task, "src_lang": row.src_lang, "tgt_lang": row.tgt_lang,
                        "skipped": f"{job.manifest} row {row.id}: {err}"}, {}
        log.warning("skipping %s", record["skipped"])
    else:
        utt.features = utt.features.to(device)
        start = time.perf_counter()
        explanation = explain(model, utt, job.config)
        log.info("%s explained in %.0f s", row.id, time.perf_counter() - start)
        record = json_ready(explanation.record)
        maps = {name: m.float().cpu().numpy() for name, m in explanation.maps.items()}
        if maps:
            maps["features"] = utt.features.cpu().numpy()
    atomic_write(job.maps_path(index), lambda tmp: np.savez(tmp.open("wb"), **maps))
    write_record(job.record_path(index), record)


def root_modules(obj: object) -> list[nn.Module]:
    """The ``nn.Module`` attributes of ``obj`` that are not inside another one of them."""
    found = [v for v in vars(obj).values() if isinstance(v, nn.Module)]
    return [m for m in found if not any(m is not o and any(m is s for s in o.modules()) for o in found)]


class ExplainTask(L.LightningModule):
    """Lightning wrapper so that ``trainer.predict`` places the model and shards the rows over ranks."""

    def __init__(self, model: ProbeModel, job: EvaluationJob) -> None:
        """``model``'s ``nn.Module`` attributes are registered so Lightning moves them to the device."""
        super().__init__()
        self.probe = model
        self.job = job
        self.nets = nn.ModuleList(root_modules(model))
        self.rows = manifest_rows(job.manifest, job.limit, job.tasks, job.languages, job.pairs)
        self.truth = ground_truth(job.manifest)
        self.threads: int | None = None  # torch threads of each worker, when the placement fixes them
        self._threads_before = torch.get_num_threads()

    def on_predict_start(self) -> None:
        """Set this worker's torch threads (each forked worker runs it)."""
        self._threads_before = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)

    def on_predict_end(self) -> None:
        """Give the process its threads back (rank zero goes on to merge and report)."""
        torch.set_num_threads(self._threads_before)

    def predict_dataloader(self) -> DataLoader:
        """Row indices, one per batch (Lightning's distributed sampler splits them over ranks)."""
        return DataLoader(list(range(len(self.rows))), batch_size=1, collate_fn=lambda batch: batch[0])

    def predict_step(self, index: int, batch_idx: int) -> int:
        """Explain one row; returns its index (Lightning warns on every row whose step returns None)."""
        explain_row(self.probe, self.job, index, self.rows, self.truth, self.device)
        return index


def merge(job: EvaluationJob, rows: Sequence) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Merge the work files into metrics.json, utterances.jsonl and maps.h5; returns metrics and records."""
    missing = [i for i in range(len(rows)) if not job.record_path(i).is_file()]
    if missing:
        raise RuntimeError(f"{len(missing)} utterance(s) not explained yet (first: row {missing[0]}); run again to resume")
    records = [read_record(job.record_path(i)) for i in range(len(rows))]
    metrics = summarize_records(records)
    write_json(job.out / "metrics.json", metrics)
    write_records(job.out / "utterances.jsonl", records)
    write_maps(job.out / "maps.h5", records, job.maps_path)
    return metrics, records


def write_run_report(out: Path, manifest: Path | str, metrics: dict[str, Any], records: list[dict[str, Any]],
                     model: ProbeModel) -> Written:
    """An explain run's tables, figures and report.md in ``out``, examples drawn with the manifest's word times."""
    words = {key: value[0] for key, value in ground_truth(manifest).items()}
    return write_report(out, metrics, records, out / "maps.h5", title=f"Explanations: {manifest}",
                        word_times=words, token_text=lambda t: model.detokenize([t]))


def rescore(out: Path, model: ProbeModel | None = None) -> dict[str, Any]:
    """Recompute every record's agreement scores from a finished run's ``maps.h5`` (no model pass) and rewrite its
    ``utterances.jsonl``, ``metrics.json`` and work records; returns the metrics.

    The random baselines draw from the same per-utterance seed as the explanation did, so the scores are those a new
    explanation would give: this brings a run up to date when the agreement metrics change (e.g. a new correlation).
    Given the run's ``model`` (only its tokenizer is used), the ground-truth shares and word timestamps are recomputed
    too, from the word times of the run's manifest (its path as settings.json names it, relative to the working
    directory), CTC's times excepted (kept as explained: they need a model pass), and a report the run has is written
    again. Per-doubling scores (``budget.<map>.by_round``) stay as they were: the maps of the
    smaller budgets were not kept.
    """
    settings = read_json(out / "settings.json")
    seed = settings["config"]["seed"]
    timing = ExplainConfig(**{k: v for k, v in settings["config"].items() if k in ("timestamp_heads", "filter_width", "seed")})
    records = read_records(out / "utterances.jsonl")
    names = ("ca", *TARGETS, "input_full")  # input_full: the input map, pooled linearly for the ground truth
    truth = ground_truth(settings["manifest"]) if model is not None else {}
    if model is not None and not truth and any(r.get("ground_truth") for r in records):
        raise ValueError(f"{out}: its manifest {settings['manifest']} has no word times here (missing, or not relative "
                         "to this working directory): the ground truth cannot be rescored")
    for record in records:
        if record.get("skipped"):
            continue
        stored = {name: torch.from_numpy(m) for name, m in read_maps(out / "maps.h5", record["id"], names).maps.items()}
        targets = {name: stored[name] for name in TARGETS if name in stored}  # (I, T') each
        generator = torch.Generator().manual_seed(utterance_seed(seed, record["id"]))
        record["agreement"] = json_ready(agreement_scores(stored["ca"], targets, generator))
        if model is not None:  # the generator goes on where explain() had it: the random baseline draws the same map
            utt = stored_utterance(record, truth)
            record["ground_truth"] = json_ready(ground_truth_scores(
                model, utt, stored["ca"], targets, generator, linear_maps(stored, stored["ca"].shape[-1])))
            if record.get("timestamps"):  # CTC's word times need a model pass: kept as explained
                kept = {name: v for name, v in record["timestamps"].items() if name == "ctc"}
                times = timestamp_scores(model, utt, stored["ca"], targets, timing, ctc=False)
                record["timestamps"] = {**json_ready(times), **kept}
    metrics = summarize_records(records)
    write_json(out / "metrics.json", metrics)
    write_records(out / "utterances.jsonl", records)
    for index, record in enumerate(records):  # work records too, so that a later merge gives the same files
        if (work := record_file(out, index)).is_file():
            write_record(work, record)
    if model is not None and (out / "report.md").is_file():
        write_run_report(out, settings["manifest"], metrics, records, model)
    return metrics


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, which containers and ``taskset`` narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def placement(accelerator: str, devices: int | str, strategy: str, rows: int) -> tuple[int | str, str, int | None]:
    """Devices, strategy and torch threads per worker of a run.

    ``devices="auto"`` on CPU: one single-thread worker process per usable core, at most one
    per row, forked (``ddp_fork``) so that none re-imports or reloads anything. On 2 cores it
    beat one 2-thread process by 1.14x on an idle machine and by 2.6x beside a busy core, where
    a process's threads wait for each other at every operation
    (``benchmarks/RESULTS.md#explanation-speed-evaluatepy-before-and-after-issue-18-idle-and-busy-machine-2026-12-04``).
    Anything else is Lightning's to place, with its own thread setting.
    """
    if devices != "auto" or accelerator != "cpu":
        return devices, strategy, None
    workers = max(1, min(usable_cores(), rows)) if hasattr(os, "fork") else 1  # no forking on Windows
    if workers == 1:
        return 1, strategy, None
    return workers, "ddp_fork" if strategy == "auto" else strategy, 1


def run(model: ProbeModel, job: EvaluationJob, accelerator: str = "cpu", devices: int | str = "auto",
        strategy: str = "auto", num_nodes: int = 1) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Explain the job's rows with ``trainer.predict`` on the given devices (``placement``) and merge them on rank zero.

    Returns the metrics and the records on rank zero (for the report and W&B, without reading
    the files back), None on the other ranks. Gradient saliency needs autograd, so the trainer
    runs without inference mode. Rank zero's tqdm bar counts the utterances of every worker.
    """
    task = ExplainTask(model, job)
    devices, strategy, task.threads = placement(accelerator, devices, strategy, len(task.rows))
    trainer = L.Trainer(accelerator=accelerator, devices=devices, strategy=strategy, num_nodes=num_nodes,
                        logger=False, enable_checkpointing=False, inference_mode=False,
                        callbacks=[UtteranceProgress(job, len(task.rows))])
    prepare(job)
    trainer.predict(task, return_predictions=False)
    trainer.strategy.barrier()
    if not trainer.is_global_zero:
        return None
    return merge(job, task.rows)
