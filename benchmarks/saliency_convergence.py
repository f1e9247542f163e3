"""Saliency budget benchmark: how many masks a stable SPES map needs, per estimator, and what it costs.

For each mask budget N and each estimator (SPES's "occluded" mean, our "contrast"), two
maps of the same utterance are computed with different seeds; their Pearson correlation
(on the token x encoder-frame grid, max2d pooling, as the probes compare maps) measures
how reproducible a map is at that budget. Also printed: CA-vs-saliency Pearson at each
budget and seconds per utterance. One run, same utterances for every setting.

    .venv/bin/python -m benchmarks.saliency_convergence --ckpt CKPT --manifest data/synth/test.tsv [--utterances 8]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from probes.adapters import S2TProbe
from probes.attention import cross_attention, view
from probes.metrics import correlations
from probes.pooling import pool_to_frames
from probes.spes import SpesConfig, spes
from probes.utterances import ground_truth, load_utterance, manifest_rows


def main() -> None:
    """Print reliability, CA agreement and cost per budget and estimator."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=8)
    p.add_argument("--budgets", default="64,128,256,512,1024")
    p.add_argument("--keep-prob", type=float, default=0.5, help="probability that a segment is kept (paper: 0.5)")
    p.add_argument("--granularities", default="2000,2500,3000", help="SLIC segments per 500 frames")
    a = p.parse_args()
    model = S2TProbe.from_checkpoint(a.ckpt)
    rows = manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"])
    truth = ground_truth(a.manifest)
    utts = []
    for row in rows:
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = model.hypothesis(utt.features, utt.prefix, beam_size=5)
        utts.append(utt)
    cas = [view(cross_attention(model, u), "all") for u in utts]
    print(f"{len(utts)} utterances, mean {np.mean([u.num_frames for u in utts]) / 100:.1f} s, "
          f"{np.mean([len(u.tokens) for u in utts]):.0f} tokens")
    print("| masks | estimator | reliability (Pearson, two seeds) | CA vs input Pearson | seconds / utterance |")
    print("|---|---|---|---|---|")
    granularities = tuple(int(g) for g in a.granularities.split(","))
    for budget in (int(b) for b in a.budgets.split(",")):
        for estimator in ("occluded", "contrast"):
            reliability, agreement, seconds = [], [], []
            for utt, ca in zip(utts, cas):
                frames = ca.shape[-1]
                start = time.perf_counter()
                first = pool_to_frames(spes(model, utt, SpesConfig(masks=budget, seed=1, estimator=estimator, keep_prob=a.keep_prob,
                                                             granularities=granularities)), frames)
                seconds.append(time.perf_counter() - start)
                second = pool_to_frames(spes(model, utt, SpesConfig(masks=budget, seed=2, estimator=estimator, keep_prob=a.keep_prob,
                                                              granularities=granularities)), frames)
                reliability.append(correlations(first, second)["pearson"])
                agreement.append(correlations(ca, first)["pearson"])
            print(f"| {budget} | {estimator} | {np.nanmean(reliability):.3f} | {np.nanmean(agreement):.3f} | "
                  f"{np.mean(seconds):.2f} |", flush=True)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
