"""Fewer curve levels as an approximate lever (issue 31.5): deletion and insertion AUCs at 10 levels beside 20.

The Whisper study draws its curves at 10 levels (p = 0, 10, ..., 100), the paper at 20. Every level of
10 is one of 20, so one 20-level run gives both: the 10-level curve is its every other point. From an
explained run (its ``utterances.jsonl`` and ``maps.h5``: no saliency recomputed), per utterance, mode
(deletion, insertion), relevance source and score (token probability, WER), this computes both AUCs,
checks that the 10 shared levels reproduce the run's own curve (the same copies, so the same scores),
and prints over utterances:

  shift     mean |AUC at 10 - AUC at 20|: what the coarser trapezoid moves
  gap       mean |AUC of CA - AUC of the other source| at 20 levels: the differences the curves are read for
  order     share of (utterance, source) pairs whose order against CA is the same at 10 and 20 levels

A lever that moves the AUCs far less than the gaps keeps what the curves say.

    .venv/bin/python -m experiments.curve_levels --hf ~/.cache/crossprobe/whisper/tiny.en \\
        --run ~/.cache/crossprobe/whisper-study/outputs/whisper/models/whisper_tiny.en/explain/asr_en \\
        --manifest data/natural/test.tsv [--utterances 3]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from probes.adapters.whisper import WhisperProbe
from probes.attention import view
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.metrics import deletion
from probes.metrics.agreement import random_map, uniform_map
from probes.metrics.text import normalizer
from probes.store import read_json, read_maps, read_records
from s2t.quiet import silence

SOURCES = ("uniform", "random", "saliency_pooled", "saliency_full")  # each compared with CA


def twenty_and_ten(model: WhisperProbe, run: Path, manifest: Path, rows: dict, truth: dict, record: dict,
                   settings: dict) -> dict:
    """(mode, source, score) -> (AUC at 20 levels, AUC at 10, the run's own AUC at 10 or None) for one utterance of
    the manifest's ``rows`` (by id) with its ``truth`` (word times)."""
    utt = load_utterance(model, manifest, rows[record["id"]], truth)
    utt.tokens = list(record["tokens"])
    stored = {k: torch.from_numpy(v) for k, v in read_maps(run / "maps.h5", record["id"], ("ca", "input", "input_full")).maps.items()}
    ca = view(stored["ca"], "all")  # (I, T')
    tokens, frames = ca.shape
    generator = torch.Generator().manual_seed(0)
    relevance = {mode: {"ca": ca, "uniform": uniform_map(tokens, frames), "random": random_map(tokens, frames, generator),
                        "saliency_pooled": stored["input"], "saliency_full": stored["input_full"]}
                 for mode in deletion.MODES}
    config = settings["config"]
    made = deletion.curves(model, utt, relevance, model.detokenize, 20, config["deletion_beam"], True,
                           normalize=normalizer(model, utt.tgt_lang), fill=config["spes"]["fill"])
    out = {}
    for mode, curves in made.items():
        for source, pair in curves.items():
            for score, curve in zip(("prob", "text"), pair):
                ten = deletion.auc(curve.percents[::2], curve.scores[::2])
                own = None if source == "random" else record[mode][source][score]["auc"]  # random: another draw
                out[mode, source, score] = (curve.auc, ten, own)
    return out


def main() -> None:
    """Measure and print."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hf", type=Path, required=True, help="the Whisper folder the run explained")
    p.add_argument("--run", type=Path, required=True, help="an evaluate.py output folder (utterances.jsonl, maps.h5)")
    p.add_argument("--manifest", type=Path, required=True, help="the run's manifest, with this machine's audio")
    p.add_argument("--utterances", type=int, default=3)
    a = p.parse_args()
    silence()
    torch.set_num_threads(1)
    model = WhisperProbe.from_pretrained(a.hf)
    settings = read_json(a.run / "settings.json")
    records = [r for r in read_records(a.run / "utterances.jsonl") if not r.get("skipped")][: a.utterances]
    rows, truth = {row.id: row for row in manifest_rows(a.manifest)}, ground_truth(a.manifest)
    found = []
    for record in records:
        found.append(twenty_and_ten(model, a.run, a.manifest, rows, truth, record, settings))
        worst = max(abs(ten - own) for _, ten, own in found[-1].values() if own is not None)
        print(f"{record['id']}: the 10 shared levels reproduce the run's AUCs within {worst:.2e}", flush=True)
    print("\n| mode | score | shift: mean abs(AUC 10 - AUC 20) | gap: mean abs(CA - source), 20 levels | order kept |")
    print("|---|---|---:|---:|---:|")
    for mode in deletion.MODES:
        for score in ("prob", "text"):
            shift = [abs(f[mode, s, score][1] - f[mode, s, score][0]) for f in found for s in ("ca", *SOURCES)]
            gap = [abs(f[mode, "ca", score][0] - f[mode, s, score][0]) for f in found for s in SOURCES]
            kept = [(f[mode, "ca", score][0] > f[mode, s, score][0]) == (f[mode, "ca", score][1] > f[mode, s, score][1])
                    for f in found for s in SOURCES]
            print(f"| {mode} | {score} | {statistics.mean(shift):.2f} | {statistics.mean(gap):.2f} | "
                  f"{sum(kept)}/{len(kept)} |")


if __name__ == "__main__":
    main()
