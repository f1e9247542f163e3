"""Reliability of SPES maps pooled to CA's grid two ways, and CA's agreement with each, per utterance.

Spearman's correction for attenuation divides an agreement by the square root of the reliability
of the very map correlated. CA is compared with the input map max2d-pooled to its grid (the
default), so that map's seed-to-seed Pearson is the one to use; this prints it beside the
avg2d-pooled map's, with CA's (all layers and heads) Pearson against each, for two mask seeds
of SPES at the given resolution and budget, on English ASR test utterances and the model's
beam-5 hypotheses.

    OMP_NUM_THREADS=1 .venv/bin/python -m experiments.reliability_pooling --ckpt CKPT \\
        --manifest data/synth/test.tsv --granularities 2000,2500,3000 --masks 8192 --utterances 3
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from probes.adapters import S2TProbe
from probes.attention import cross_attention
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.interface import hypotheses
from probes.metrics.agreement import correlations
from probes.saliency.pooling import pool_to_frames
from probes.saliency.spes import SpesConfig, spes_estimate

POOLINGS = ("avg2d", "max2d")


def main() -> None:
    """One Markdown row per utterance: each pooling's seed-to-seed Pearson and CA's Pearson with the pooled map."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--granularities", default="50,75,100", help="SLIC segments per 500 frames")
    p.add_argument("--masks", type=int, default=256, help="SPES masks per map")
    p.add_argument("--utterances", type=int, default=3, help="English ASR test utterances")
    a = p.parse_args()
    torch.set_num_threads(1)
    config = SpesConfig(granularities=tuple(int(g) for g in a.granularities.split(",")), masks=a.masks)
    model = S2TProbe.from_checkpoint(a.ckpt)
    truth = ground_truth(a.manifest)
    print(f"| utterance | {' | '.join(f'r {p} | CA vs {p} map' for p in POOLINGS)} |")
    print("|---|" + "---:|" * 2 * len(POOLINGS))
    for row in manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"]):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = hypotheses(model, utt.features[None], utt.prefix, beam_size=5)[0]
        if not utt.tokens:
            continue
        ca = cross_attention(model, utt)  # (L, H, I, T')
        frames = ca.shape[-1]
        maps = [spes_estimate(model, utt, dataclasses.replace(config, seed=seed)).map for seed in (0, 1)]  # (I, T, F)
        cells = []
        for pooling in POOLINGS:
            first, second = (pool_to_frames(m, frames, pooling) for m in maps)  # (I, T')
            cells += [correlations(first, second)["pearson"], correlations(ca.mean(dim=(0, 1)), first)["pearson"]]
        print(f"| {row.id} | " + " | ".join(f"{c:.3f}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
