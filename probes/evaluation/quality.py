"""Decode a manifest with a model and score it as the model's users do: WER and CER, or BLEU, with bootstrap intervals.

    python -m probes.evaluation.quality (--hf FOLDER | --ckpt CKPT) --manifest M --out DIR
        [--limit K] [--tasks asr] [--languages en] [--pairs en-en] [--beam 5]

Each selected row is decoded through the probes' interface (``probes.interface.hypotheses``, beam
search) from the audio and prompt ``evaluate.py`` would explain. DIR/predictions.tsv holds the
rows in ``s2t.predictions``' columns with hypothesis and reference both normalised by the model's
own normaliser (``probes.metrics.text.normalizer``: Whisper's text normaliser, identity for our
models), DIR/raw.tsv the same rows as decoded and as the manifest has them, DIR/quality.json the
scores (``s2t.score``: corpus WER/CER per language, BLEU per direction, percentile bootstrap
intervals over rows) under the keys the study's quality.json uses. Rows the model cannot read
are skipped and listed with the reason.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from probes.evaluation.cli import load_model
from probes.evaluation.utterances import load_utterance, manifest_rows
from probes.interface import ProbeModel, describe, hypotheses
from probes.metrics.text import normalizer
from probes.report.tables import mean_ci
from s2t.data.manifest import ManifestError, ManifestRow
from s2t.module import metric_key
from s2t.predictions import Prediction, write_predictions
from s2t.quiet import silence
from s2t.score import Score, read_predictions, score, statistics
from s2t.usage import prog


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog=prog("probes.evaluation.quality"), description=__doc__.split("\n\n")[0])
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--ckpt", type=Path, help="checkpoint written by train.py")
    model.add_argument("--hf", metavar="FOLDER", help="a Hugging Face Whisper folder (save_pretrained; needs the hf extra)")
    p.add_argument("--int8", action="store_true", help="with --hf: every linear layer quantised to int8 (an approximation)")
    p.add_argument("--manifest", type=Path, required=True, help="manifest TSV")
    p.add_argument("--out", type=Path, required=True, help="folder for predictions.tsv, raw.tsv and quality.json")
    p.add_argument("--limit", type=int, help="decode only the first K selected rows")
    p.add_argument("--tasks", help="comma-separated tasks (default: all rows)")
    p.add_argument("--languages", help="comma-separated languages: only rows whose source and target are among them")
    p.add_argument("--pairs", help="comma-separated source-target pairs, e.g. en-en (English ASR) or en-it,it-en")
    p.add_argument("--beam", type=int, default=5, help="beam size (default %(default)s)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples; 0 skips the intervals (default %(default)s)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals (default %(default)s)")
    return p


def decode(model: ProbeModel, manifest: Path, rows: Sequence[ManifestRow], beam: int,
           progress: bool = True) -> tuple[list[Prediction], list[str]]:
    """The model's hypothesis for each row (as decoded, reference as in the manifest), and the rows skipped, why."""
    decoded, skipped = [], []
    for row in tqdm(rows, desc="decoding", unit="row", disable=not progress):
        try:
            utt = load_utterance(model, manifest, row, {})
        except ValueError as err:  # bad audio or features, a language or task the model lacks
            skipped.append(f"{manifest} row {row.id}: {err}")
            continue
        tokens = hypotheses(model, utt.features[None].to(getattr(model, "device", "cpu")), utt.prefix, beam)[0]
        decoded.append(Prediction(row.id, row.task, row.src_lang, row.tgt_lang, model.detokenize(tokens), row.tgt_text))
    return decoded, skipped


def normalised(model: ProbeModel, rows: Sequence[Prediction]) -> list[Prediction]:
    """The rows with hypothesis and reference through the model's normaliser for the target language."""
    out = []
    for row in rows:
        normalize = normalizer(model, row.tgt_lang)
        out.append(dataclasses.replace(row, hypothesis=normalize(row.hypothesis), reference=normalize(row.reference)))
    return out


def languages_and_tasks(wer: Mapping[str, Any], bleu: Mapping[str, Any]) -> dict[str, list[str]]:
    """The languages and tasks scores cover, from their keys (``en``, ``it-en``; a dataset suffix ``@librivox`` aside)."""
    pairs = [k.partition("@")[0].split("-") for k in bleu]
    return {"languages": sorted({k.partition("@")[0] for k in wer} | {lang for pair in pairs for lang in pair}),
            "tasks": [task for task, scores in (("asr", wer), ("st", bleu)) if scores]}


def summary(scores: Sequence[Score], rows: Sequence[Prediction]) -> dict[str, Any]:
    """Scores under the study's quality.json keys (``wer``: {"en": 2.82}, ``bleu``: {"en-it": ...}), their
    intervals, and the edit counts of WER and CER per language ([errors, reference words or characters])."""
    out: dict[str, Any] = {name: {} for name in ("wer", "cer", "bleu")}
    out |= {"intervals": {}, "rows": {}, "edits": {}}
    for s in scores:
        out[s.metric][s.key] = round(s.value, 2)
        out["intervals"].setdefault(s.metric, {})[s.key] = [round(s.low, 2), round(s.high, 2)]
        out["rows"][s.key] = s.rows
        if s.metric in ("wer", "cer"):
            group = [r for r in rows if r.task == "asr" and metric_key(r.task, r.src_lang, r.tgt_lang) == s.key]
            errors, total = np.sum([statistics(s.metric, r.hypothesis, r.reference) for r in group], axis=0)
            out["edits"].setdefault(s.metric, {})[s.key] = [int(errors), int(total)]
    return out | languages_and_tasks(out["wer"], out["bleu"])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m probes.evaluation.quality``; the exit status."""
    a = parser().parse_args(argv)
    silence()
    start = time.monotonic()
    try:
        model, identity = load_model(a)
        rows = manifest_rows(a.manifest, a.limit, tuple(a.tasks.split(",")) if a.tasks else None,
                             tuple(a.languages.split(",")) if a.languages else None,
                             tuple(a.pairs.split(",")) if a.pairs else None)
    except (ValueError, ManifestError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    decoded, skipped = decode(model, a.manifest, rows, a.beam)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    if not decoded:
        print(f"error: {a.manifest}: no row decoded ({len(rows)} selected, {len(skipped)} skipped)", file=sys.stderr)
        return 1
    a.out.mkdir(parents=True, exist_ok=True)
    write_predictions(a.out / "raw.tsv", [dataclasses.asdict(row) for row in decoded])
    write_predictions(a.out / "predictions.tsv", [dataclasses.asdict(row) for row in normalised(model, decoded)])
    scored = read_predictions([a.out / "predictions.tsv"])
    scores = score(scored, a.resamples, a.confidence)
    info = describe(model)
    result = {"model": identity, "parameters": info.get("parameters"), **summary(scores, scored),
              "normalizer": callable(getattr(model, "normalize", None)), "manifest": str(a.manifest), "beam": a.beam,
              "limit": a.limit, "confidence": a.confidence, "skipped": skipped,
              "seconds": round(time.monotonic() - start, 1)}
    (a.out / "quality.json").write_text(json.dumps(result, indent=1) + "\n")
    for s in scores:
        counts = result["edits"].get(s.metric, {}).get(s.key)
        edits = f", {counts[0]} edits in {counts[1]} {'words' if s.metric == 'wer' else 'characters'}" if counts else ""
        interval = mean_ci({"mean": s.value, "ci_low": s.low, "ci_high": s.high}, ".2f")
        print(f"{s.metric} {s.key}: {interval} on {s.rows} rows{edits}")
    print(f"results in {a.out} (quality.json, predictions.tsv normalised, raw.tsv as decoded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
