"""Saliency budget benchmark: how many masks, how coarse segments and which keep probability a SPES map needs.

SPES estimates one value per superpixel from random masks, so a map can only be as good as
the ratio of masks to segments: the paper's 20,000 masks over about 2,500 segments per 5 s
give a few masks per segment and granularity; 256 masks over the same segments give a
twentieth of one. For each setting (granularities, keep probability, masks, estimator) this
prints, over the same English test utterances:

- segments: mean SLIC segments per granularity and utterance, and masks per segment;
- reliability: Pearson of two maps from different mask seeds, avg2d-pooled to CA's grid
  (max2d pooling adds a per-token offset, the largest of many noisy cells, that is
  reproducible without meaning anything; ``--seeds 1`` skips it);
- CA vs input Pearson (max2d, as the probes compare maps, and avg2d);
- truth: share of each token's pooled relevance inside its word's true span (chance is the
  uniform map's share, printed with CA's and gradient saliency's as reference rows);
- seconds per utterance (one seed).

    .venv/bin/python -m benchmarks.saliency_convergence --ckpt CKPT --manifest data/synth/test.tsv \\
        --setting 2000/2500/3000:0.5:256 --setting 2000/2500/3000:0.5:4096 --setting 100/150/200:0.8:256
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from probes.adapters import S2TProbe
from probes.attention import cross_attention, view
from probes.gradients import gradient_saliency
from probes.interface import Utterance
from probes.metrics import correlations, span_mass, token_spans, uniform_map
from probes.pooling import pool_to_frames
from probes.spes import SpesConfig, segment_count, spes
from probes.utterances import ground_truth, load_utterance, manifest_rows


@dataclass(frozen=True)
class Setting:
    """One SPES configuration of the sweep, parsed from ``G1/G2/...:KEEP:MASKS[:ESTIMATOR]``."""

    granularities: tuple[int, ...]
    keep_prob: float
    masks: int
    estimator: str = "contrast"

    @classmethod
    def parse(cls, text: str) -> Setting:
        """``2000/2500/3000:0.5:256`` -> Setting (estimator optional, default contrast)."""
        parts = text.split(":")
        if len(parts) not in (3, 4):
            raise argparse.ArgumentTypeError(f"{text!r}: expected GRANULARITIES:KEEP:MASKS[:ESTIMATOR]")
        grans = tuple(int(g) for g in parts[0].split("/"))
        return cls(grans, float(parts[1]), int(parts[2]), *parts[3:])

    def config(self, seed: int) -> SpesConfig:
        """The SpesConfig of this setting with a mask seed."""
        return SpesConfig(masks=self.masks, granularities=self.granularities, keep_prob=self.keep_prob,
                          estimator=self.estimator, seed=seed)

    def label(self) -> str:
        """Table label."""
        return f"{'/'.join(map(str, self.granularities))} | {self.keep_prob:g} | {self.masks} | {self.estimator}"


def reference_rows(model: S2TProbe, utts: list[Utterance], cas: list[torch.Tensor], spans: list) -> None:
    """Truth shares (and CA agreement) of CA, gradient saliency and the uniform map."""
    rows = {"CA (all layers and heads)": cas,
            "gradient saliency (Captum), max2d": [pool_to_frames(gradient_saliency(model, u), ca.shape[-1])
                                                  for u, ca in zip(utts, cas)],
            "uniform map (chance)": [uniform_map(*ca.shape) for ca in cas]}
    for name, maps in rows.items():
        truth = np.nanmean([span_mass(m, s) for m, s in zip(maps, spans)])
        agree = [correlations(ca, m)["pearson"] for ca, m in zip(cas, maps)]
        agree_text = "n/a" if np.isnan(agree).all() else f"{np.nanmean(agree):.3f}"  # a constant map has no correlation
        print(f"| {name} | | | | | | {agree_text} | | {truth:.3f} | | |", flush=True)


def main() -> None:
    """Print segments, reliability, CA agreement, ground-truth share and cost per setting."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=8, help="English ASR test utterances")
    p.add_argument("--setting", type=Setting.parse, action="append", required=True,
                   help="GRANULARITIES:KEEP:MASKS[:ESTIMATOR], e.g. 2000/2500/3000:0.5:256 (repeat)")
    p.add_argument("--seeds", type=int, choices=(1, 2), default=2, help="2: also measure reliability")
    a = p.parse_args()
    model = S2TProbe.from_checkpoint(a.ckpt)
    truth = ground_truth(a.manifest)
    utts = []
    for row in manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"]):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = model.hypothesis(utt.features, utt.prefix, beam_size=5)
        utts.append(utt)
    cas = [view(cross_attention(model, u), "all") for u in utts]  # (I, T') each
    spans = [token_spans(model, u, ca.shape[-1]) for u, ca in zip(utts, cas)]
    print(f"{len(utts)} utterances, mean {np.mean([u.num_frames for u in utts]) / 100:.1f} s, "
          f"{np.mean([len(u.tokens) for u in utts]):.0f} tokens")
    print("| granularities | keep | masks | estimator | segments | masks / segment | CA vs input (max2d) "
          "| CA vs input (avg2d) | truth share (max2d) | reliability (avg2d) | seconds / utterance |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    reference_rows(model, utts, cas, spans)
    for setting in a.setting:
        segments = np.mean([segment_count(g, u.num_frames) for g in setting.granularities for u in utts])
        per_segment = setting.masks / len(setting.granularities) / segments
        agree_max, agree_avg, share, reliability, seconds = [], [], [], [], []
        for utt, ca, span in zip(utts, cas, spans):
            frames = ca.shape[-1]
            start = time.perf_counter()
            full = spes(model, utt, setting.config(seed=1))  # (I, T, F)
            seconds.append(time.perf_counter() - start)
            pooled, averaged = pool_to_frames(full, frames), pool_to_frames(full, frames, "avg2d")
            agree_max.append(correlations(ca, pooled)["pearson"])
            agree_avg.append(correlations(ca, averaged)["pearson"])
            share.append(span_mass(pooled, span))
            if a.seeds == 2:
                again = pool_to_frames(spes(model, utt, setting.config(seed=2)), frames, "avg2d")
                reliability.append(correlations(averaged, again)["pearson"])
        rel = f"{np.nanmean(reliability):.3f}" if reliability else ""
        print(f"| {setting.label()} | {segments:.0f} | {per_segment:.2f} | {np.nanmean(agree_max):.3f} | "
              f"{np.nanmean(agree_avg):.3f} | {np.nanmean(share):.3f} | {rel} | {np.mean(seconds):.2f} |", flush=True)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
