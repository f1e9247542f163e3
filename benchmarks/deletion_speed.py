"""Deletion and insertion curves: re-decoding the perturbed copies one at a time against in batches.

A WER/BLEU curve re-decodes the utterance at every perturbation level (21 by default) for
every relevance source; ``curves(batch_size=B)`` searches B copies together. This
runs both on the same utterances and maps (CA, a random map), in alternation, checks that
the curves are equal, and prints the time of each and their ratio.

    .venv/bin/python -m benchmarks.deletion_speed --ckpt CKPT --manifest data/synth/test.tsv [--utterances 6]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from probes.adapters import S2TProbe
from probes.attention import cross_attention, view
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.interface import hypotheses
from probes.metrics.agreement import random_map
from probes.metrics.deletion import curves as deletion_curves


def main() -> None:
    """Time one-at-a-time and batched curves on the same maps; print seconds and the ratio."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=6, help="English ASR test utterances")
    p.add_argument("--beam", type=int, default=1, help="re-decoding beam (evaluate.py's default: greedy)")
    p.add_argument("--batch-size", type=int, default=32, help="perturbed copies searched together")
    a = p.parse_args()
    model = S2TProbe.from_checkpoint(a.ckpt)
    truth = ground_truth(a.manifest)
    seconds = {1: 0.0, a.batch_size: 0.0}
    for k, row in enumerate(manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"])):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = hypotheses(model, utt.features[None], utt.prefix, beam_size=5)[0]
        ca = view(cross_attention(model, utt), "all")  # (I, T')
        maps = {"ca": ca, "random": random_map(*ca.shape, torch.Generator().manual_seed(k))}
        for rel in maps.values():
            for insertion in (False, True):
                curves = {}
                for batch in seconds:
                    start = time.perf_counter()
                    mode = "insertion" if insertion else "deletion"
                    curves[batch] = deletion_curves(model, utt, {mode: {"map": rel}}, model.detokenize, beam_size=a.beam,
                                                    batch_size=batch)[mode]["map"][1]
                    seconds[batch] += time.perf_counter() - start
                if not np.allclose(curves[1].scores, curves[a.batch_size].scores):
                    raise SystemExit(f"{row.id}: batched curve differs: {curves[1].scores} vs {curves[a.batch_size].scores}")
    n = 4 * a.utterances
    print(f"{n} curves ({a.utterances} utterances x CA, random x deletion, insertion), beam {a.beam}, equal scores")
    print(f"one at a time: {seconds[1] / n:.2f} s per curve; batches of {a.batch_size}: "
          f"{seconds[a.batch_size] / n:.2f} s per curve; ratio {seconds[1] / seconds[a.batch_size]:.2f}x")


if __name__ == "__main__":
    main()
