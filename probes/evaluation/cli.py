"""Explain a checkpoint's outputs: cross-attention against saliency, with metrics, tables and figures.

    crossprobe-evaluate --ckpt CKPT --manifest DIR/test.tsv --out OUTDIR [--methods spes,encoder]
        [--masks N] [--limit K] [--devices 2 --strategy ddp]
    crossprobe-evaluate --hf WHISPER_FOLDER --manifest DIR/test.tsv --out OUTDIR   # a Hugging Face Whisper

``python evaluate.py`` in a checkout and ``python -m probes.evaluation`` are the same command. Writes
OUTDIR/metrics.json, utterances.jsonl, maps.h5, report.md, tables/ and figures/, and logs the
headline numbers, a per-utterance table, charts and figures, and its outputs as an artifact, to
Weights & Biases (offline unless logged in). Killed and restarted with the same arguments, it resumes
where it stopped.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from probes.adapters import S2TProbe
from probes.evaluation.identity import file_digest, weights_digest
from probes.evaluation.publish import log_to_wandb, write_outputs
from probes.evaluation.run import ConfigMismatchError, EvaluationJob, run
from probes.explain import METHODS, ExplainConfig
from probes.interface import FILLS, ProbeModel
from probes.report.tables import CORR, comparison_label, lookup, mean_ci
from probes.saliency.encoder import EncoderSaliencyConfig
from probes.saliency.perturbation import ESTIMATORS, PRECISIONS
from probes.saliency.pooling import POOLERS
from probes.saliency.spes import SpesConfig
from s2t.data.manifest import ManifestError
from s2t.module import CheckpointMismatchError
from s2t.quiet import silence
from s2t.usage import prog


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog=prog("probes.evaluation"), description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--ckpt", type=Path, help="checkpoint written by train.py")
    model.add_argument("--hf", metavar="NAME_OR_FOLDER",
                       help="a Hugging Face Whisper (WhisperForConditionalGeneration with its processor): a folder "
                            "saved by save_pretrained, or a hub name such as openai/whisper-tiny, which needs the "
                            "network or the hub cache; needs the hf extra (pip install -e .[hf])")
    p.add_argument("--int8", action="store_true",
                   help="with --hf: quantise every linear layer to int8 (CPU), an approximation whose maps differ from the "
                        "exact model's (benchmarks/approximations.py measures by how much)")
    p.add_argument("--manifest", type=Path, required=True, help="manifest TSV (its .align.jsonl sidecar gives ground truth)")
    p.add_argument("--out", type=Path, required=True, help="output folder (resumed if it holds a run with the same settings)")
    p.add_argument("--methods", default="spes,encoder", help=f"comma-separated saliency methods among {','.join(METHODS)}")
    p.add_argument("--masks", type=int, default=SpesConfig.masks, help="SPES masks per utterance (paper: 20000)")
    p.add_argument("--encoder-masks", type=int, default=EncoderSaliencyConfig.masks,
                   help="encoder-output saliency masks per utterance (the decoder alone runs per mask)")
    p.add_argument("--granularities", default=",".join(map(str, SpesConfig.granularities)),
                   help="SLIC segments per 500 frames, comma-separated (paper: 2000,2500,3000, which needs thousands "
                        "of masks for a stable map: benchmarks/RESULTS.md)")
    p.add_argument("--estimator", choices=ESTIMATORS, default="contrast",
                   help="occlusion estimator: mean score of the masks occluding a cell minus that of the masks keeping "
                        "it (contrast), SPES's plain mean over the occluding masks (occluded), or a ridge regression of "
                        "the scores on all units at once (ridge: every mask informs every cell)")
    p.add_argument("--target-reliability", type=float, metavar="R",
                   help="adaptive budget: keep doubling an utterance's masks (from --masks / --encoder-masks) until the "
                        "map's split-half reliability reaches R, or --max-masks are spent (near R, adding only what "
                        "Spearman-Brown predicts R needs); both are recorded per utterance (metrics.json budget.*)")
    p.add_argument("--max-masks", type=int, default=SpesConfig.max_masks,
                   help="cap of the adaptive budget, per map and utterance")
    p.add_argument("--antithetic", action="store_true",
                   help="follow each random mask by its complement (keep probability 0.5 only)")
    p.add_argument("--precision", choices=PRECISIONS, default=SpesConfig.precision,
                   help="of the perturbed passes: bf16 runs them under bfloat16 autocast, faster only where the "
                        "hardware has bfloat16 units (14x slower on a CPU without them) and safe only on a trained "
                        "model; measure both with benchmarks/precision.py")
    p.add_argument("--keep-prob", type=float, default=SpesConfig.keep_prob,
                   help="probability that a segment or cell is kept by a mask")
    p.add_argument("--fill", choices=FILLS, default=SpesConfig.fill,
                   help="what an occluded input cell becomes (SPES masks, deletion and insertion curves): the model's "
                        "neutral value (model: 0 after our CMVN, digital silence on Whisper's log-mel) or 0 (zero, the "
                        "SPES release's choice whatever the features' scale)")
    p.add_argument("--batch-size", type=int, default=32, help="perturbed copies per forced-decoding call")
    p.add_argument("--reliability", action="store_true",
                   help="compute each occlusion map twice, with two mask seeds, and report their agreement (the "
                        "maps' noise level; doubles their cost)")
    p.add_argument("--pooling", choices=POOLERS, default="max2d", help="input saliency -> encoder frames")
    p.add_argument("--beam", type=int, default=5, help="beam size of the explained hypothesis")
    p.add_argument("--deletion-steps", type=int, default=20, help="deletion levels: every 100/N percent")
    p.add_argument("--no-deletion-decode", action="store_true", help="skip the WER/BLEU deletion curves (re-decoding)")
    p.add_argument("--timestamp-heads", default="all", help="CA view for timestamps: all, layer:6, heads:6.1,5.3, ...")
    p.add_argument("--limit", type=int, help="explain only the first K rows")
    p.add_argument("--tasks", help="comma-separated tasks to explain (default: all rows)")
    p.add_argument("--languages", help="comma-separated languages: only rows whose source and target are among them")
    p.add_argument("--pairs", help="comma-separated source-target pairs, e.g. en-en (English ASR) or en-it,it-en")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--accelerator", default="cpu", help="Lightning accelerator (cpu, gpu, auto)")
    p.add_argument("--devices", default="auto",
                   help="devices per node, each explaining a shard; auto on CPU: one single-thread worker process per "
                        "core (forked, strategy ddp_fork), faster than one multi-threaded process, above all on a busy "
                        "machine; 1: one process with torch's threads")
    p.add_argument("--strategy", default="auto", help="Lightning strategy, e.g. ddp")
    p.add_argument("--num-nodes", type=int, default=1)
    p.add_argument("--no-report", action="store_true", help="metrics only: no report, tables or figures")
    p.add_argument("--no-wandb", action="store_true", help="do not log to Weights & Biases")
    return p


def explain_config(a: argparse.Namespace) -> ExplainConfig:
    """The ``ExplainConfig`` the options describe."""
    granularities = tuple(int(g) for g in a.granularities.split(","))
    common = dict(keep_prob=a.keep_prob, batch_size=a.batch_size, seed=a.seed, estimator=a.estimator,
                  antithetic=a.antithetic, target_reliability=a.target_reliability, max_masks=a.max_masks,
                  precision=a.precision)
    return ExplainConfig(
        methods=tuple(m.strip() for m in a.methods.split(",") if m.strip()),
        spes=SpesConfig(masks=a.masks, granularities=granularities, fill=a.fill, **common),
        encoder=EncoderSaliencyConfig(masks=a.encoder_masks, **common),
        pooling=a.pooling, beam_size=a.beam, deletion_steps=a.deletion_steps,
        decode_deletion=not a.no_deletion_decode, timestamp_heads=a.timestamp_heads, reliability=a.reliability,
        seed=a.seed,
    )


def config_from_args(argv: Sequence[str]) -> ExplainConfig:
    """The ``ExplainConfig`` that evaluate.py's explanation options ``argv`` (``--masks 8 ...``, no model) describe."""
    return explain_config(parser().parse_args(["--ckpt", "-", "--manifest", "-", "--out", "-", *argv]))


def publish(job: EvaluationJob, metrics: dict[str, Any], records: list[dict[str, Any]], model: Any, report: bool,
            wandb: bool) -> None:
    """Write the report and log to W&B (rank zero, after the merge)."""
    figures = write_outputs(job, metrics, records, model) if report else {}
    if wandb:
        log_to_wandb(job, metrics, records, figures, model)


def closing_line(metrics: dict[str, Any], out: Path, report: bool) -> str:
    """The line evaluate.py ends with: utterances explained and skipped, the headline agreement (CA vs input
    saliency, Pearson mean with its 95% interval, where computed) and where the report (or the results) is."""
    agreement = lookup(metrics, "pearson", "ca_vs_input", "all")
    headline = f"{comparison_label('ca_vs_input')} (Pearson) {mean_ci(agreement, CORR)}; " if agreement else ""
    where = f"report: {out / 'report.md'}" if report else f"results in {out}"
    return f"explained {metrics['utterances']} utterance(s), {len(metrics['skipped'])} skipped; {headline}{where}"


def load_model(a: argparse.Namespace) -> tuple[ProbeModel, dict[str, str]]:
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
    a = parser().parse_args(argv)
    silence()
    show_progress_lines()
    try:
        config = explain_config(a)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        model, identity = load_model(a)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tasks = tuple(a.tasks.split(",")) if a.tasks else None
    languages = tuple(a.languages.split(",")) if a.languages else None
    pairs = tuple(a.pairs.split(",")) if a.pairs else None
    job = EvaluationJob(a.manifest, a.out, config, a.limit, tasks, languages, pairs, identity)
    devices = int(a.devices) if a.devices.isdigit() else a.devices
    try:
        results = run(model, job, a.accelerator, devices, a.strategy, a.num_nodes)
    except (ConfigMismatchError, ManifestError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if results is None:  # not rank zero
        return 0
    metrics, records = results
    publish(job, metrics, records, model, report=not a.no_report, wandb=not a.no_wandb)
    print(closing_line(metrics, a.out, report=not a.no_report))
    return 0
