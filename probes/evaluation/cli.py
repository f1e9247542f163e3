"""Explain a checkpoint's outputs: cross-attention against saliency, with metrics, tables and figures.

    crossprobe-evaluate --ckpt CKPT --manifest DIR/test.tsv --out OUTDIR [--explain.methods [spes,encoder]]
        [--explain.spes.masks N] [--limit K] [--devices 2 --strategy ddp]
    crossprobe-evaluate --hf WHISPER_FOLDER --manifest DIR/test.tsv --out OUTDIR   # a Hugging Face Whisper
    crossprobe-evaluate ... --print_config > run.yaml; crossprobe-evaluate --config run.yaml   # the same run

The explanation settings are ``ExplainConfig``'s fields (``--explain.spes.masks``, ``--explain.encoder.keep_prob``,
...; ``--explain '{spes: {masks: 8}}'`` sets several), the ``explain:`` section of a ``--config`` file; the earlier
flags (``--masks``, ``--encoder-masks``, ``--methods spes,encoder``, ``--no-deletion-decode``, ...) set them too.
``python evaluate.py`` in a checkout and ``python -m probes.evaluation`` are the same command. Writes
OUTDIR/metrics.json, utterances.jsonl, maps.h5, report.md, tables/ and figures/, and logs the
headline numbers, a per-utterance table, charts and figures, and its outputs as an artifact, to
Weights & Biases (offline unless logged in). Killed and restarted with the same arguments, it resumes
where it stopped.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from jsonargparse import ActionConfigFile, ArgumentParser, Namespace

from probes.adapters import S2TProbe
from probes.evaluation.identity import file_digest, weights_digest
from probes.evaluation.publish import log_to_wandb, write_outputs
from probes.evaluation.job import ConfigMismatchError, EvaluationJob, run
from probes.evaluation.settings import EXPLAIN, add_explain_arguments, add_shorthands
from probes.interface import ProbeModel
from probes.metrics_layout import agreement, explained_count, skipped
from probes.records import CA_VS_INPUT
from probes.report.tables import CORR, comparison_label, mean_ci
from s2t.data.manifest import ManifestError
from s2t.module import CheckpointMismatchError
from s2t.quiet import silence
from s2t.usage import prog


def parser() -> ArgumentParser:
    """Command-line options: the model, the rows and where the run goes; the explanation settings (``--explain.*``,
    from ``ExplainConfig``); the earlier flags that set them. ``--config FILE`` reads any of them from YAML."""
    p = ArgumentParser(prog=prog("probes.evaluation"), description=__doc__.split("\n\n")[0])
    p.add_argument("--config", action=ActionConfigFile,
                   help="a YAML file of these options, as --print_config writes it; options after it override it")
    p.add_argument("--ckpt", type=Path | None, help="checkpoint written by train.py (or --hf)")
    p.add_argument("--hf", type=str | None, metavar="NAME_OR_FOLDER",
                   help="a Hugging Face Whisper (WhisperForConditionalGeneration with its processor): a folder "
                        "saved by save_pretrained, or a hub name such as openai/whisper-tiny, which needs the "
                        "network or the hub cache; needs the hf extra (pip install -e .[hf])")
    p.add_argument("--int8", action="store_true",
                   help="with --hf: quantise every linear layer to int8 (CPU), an approximation whose maps differ from the "
                        "exact model's (experiments/approximations.py measures by how much)")
    p.add_argument("--manifest", type=Path, required=True, help="manifest TSV (its .align.jsonl sidecar gives ground truth)")
    p.add_argument("--out", type=Path, required=True, help="output folder (resumed if it holds a run with the same settings)")
    p.add_argument("--limit", type=int | None, help="explain only the first K rows")
    p.add_argument("--tasks", type=str | None, help="comma-separated tasks to explain (default: all rows)")
    p.add_argument("--languages", type=str | None,
                   help="comma-separated languages: only rows whose source and target are among them")
    p.add_argument("--pairs", type=str | None,
                   help="comma-separated source-target pairs, e.g. en-en (English ASR) or en-it,it-en")
    p.add_argument("--accelerator", default="cpu", help="Lightning accelerator (cpu, gpu, auto)")
    p.add_argument("--devices", type=int | str, default="auto",
                   help="devices per node, each explaining a shard; auto on CPU: one single-thread worker process per "
                        "core (forked, strategy ddp_fork), faster than one multi-threaded process, above all on a busy "
                        "machine; 1: one process with torch's threads")
    p.add_argument("--strategy", default="auto", help="Lightning strategy, e.g. ddp")
    p.add_argument("--num-nodes", type=int, default=1)
    p.add_argument("--no-report", action="store_true", help="metrics only: no report, tables or figures")
    p.add_argument("--no-wandb", action="store_true", help="do not log to Weights & Biases")
    add_explain_arguments(p)
    add_shorthands(p)
    return p


def options(argv: Sequence[str] | None = None) -> Namespace:
    """The parsed command line, its ``explain`` an ``ExplainConfig``; exits with a usage error when no model or two
    are given, ValueError for an explanation setting no run can honour."""
    p = parser()
    a = p.parse_args(argv)
    if (a.ckpt is None) == (a.hf is None):
        p.error("give the model to explain: --ckpt or --hf, one of them")
    return p.instantiate(a)


def publish(job: EvaluationJob, metrics: dict[str, Any], records: list[dict[str, Any]], model: Any, report: bool,
            wandb: bool) -> None:
    """Write the report and log to W&B (rank zero, after the merge)."""
    figures = write_outputs(job, metrics, records, model) if report else {}
    if wandb:
        log_to_wandb(job, metrics, records, figures, model)


def closing_line(metrics: dict[str, Any], out: Path, report: bool) -> str:
    """The line evaluate.py ends with: utterances explained and skipped, the headline agreement (CA vs input
    saliency, Pearson mean with its 95% interval, where computed) and where the report (or the results) is."""
    s = agreement(metrics, CA_VS_INPUT)
    headline = f"{comparison_label(CA_VS_INPUT)} (Pearson) {mean_ci(s, CORR)}; " if s else ""
    where = f"report: {out / 'report.md'}" if report else f"results in {out}"
    return f"explained {explained_count(metrics)} utterance(s), {len(skipped(metrics))} skipped; {headline}{where}"


def load_model(a: Namespace) -> tuple[ProbeModel, dict[str, str]]:
    """The probed model and its identity (a resumed run must explain the same weights); ValueError if unusable."""
    if a.ckpt is not None:
        if a.int8:
            raise ValueError("--int8 applies to --hf (Whisper) only")
        try:
            model = S2TProbe.from_checkpoint(a.ckpt)  # refuses a missing or foreign file before hashing it
        except (CheckpointMismatchError, FileNotFoundError) as err:
            raise ValueError(str(err)) from err
        return model, {"ckpt": str(a.ckpt.resolve()), "ckpt_sha256": file_digest(a.ckpt)}
    try:
        from probes.adapters.whisper import WhisperProbe
    except ImportError as err:
        raise ValueError(f"--hf needs transformers ({err}); install the hf extra: pip install -e .[hf]") from err
    try:
        model = WhisperProbe.from_pretrained(a.hf, int8=a.int8)
    except Exception as err:  # transformers and safetensors raise many kinds for a missing or broken checkpoint
        raise ValueError(f"cannot load a Whisper from {a.hf!r}: {type(err).__name__}: {err}".splitlines()[0]) from err
    folder = Path(a.hf)
    identity = {"hf": str(folder.resolve()) if folder.is_dir() else a.hf,
                "hf_sha256": weights_digest(folder) or str(model.model.config._commit_hash),
                **({"int8": True} if a.int8 else {})}  # an exact run's settings stay as they were
    return model, identity


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (test runners swap it)."""

    @property
    def stream(self) -> Any:
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


def show_progress_lines() -> None:
    """Print the probes' INFO lines (an utterance explained, an adaptive budget's doublings) to stderr, timed."""
    logger = logging.getLogger("probes")
    logger.setLevel(logging.INFO)
    if not logger.handlers:  # main() may run several times in one process
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s [pid %(process)d] %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``crossprobe-evaluate``, ``python -m probes.evaluation`` and ``python evaluate.py``; the exit status."""
    silence()
    show_progress_lines()
    try:
        a = options(argv)
        model, identity = load_model(a)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tasks = tuple(a.tasks.split(",")) if a.tasks else None
    languages = tuple(a.languages.split(",")) if a.languages else None
    pairs = tuple(a.pairs.split(",")) if a.pairs else None
    job = EvaluationJob(a.manifest, a.out, a[EXPLAIN], a.limit, tasks, languages, pairs, identity)
    try:
        results = run(model, job, a.accelerator, a.devices, a.strategy, a.num_nodes)
    except (ConfigMismatchError, ManifestError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if results is None:  # not rank zero
        return 0
    metrics, records = results
    publish(job, metrics, records, model, report=not a.no_report, wandb=not a.no_wandb)
    print(closing_line(metrics, a.out, report=not a.no_report))
    return 0
