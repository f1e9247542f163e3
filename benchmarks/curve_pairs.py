"""Deletion and insertion curve pairs: one encoding of each perturbed copy for both curves, against two.

For every map, ``evaluate.py`` draws a probability curve (force-decoding the hypothesis on
each perturbed copy) and a WER/BLEU curve (searching a new hypothesis on each copy). Before
issue 18 each encoded the copies itself; ``probes.metrics.deletion.curves`` now encodes them
once for both. This runs both ways on the same utterances and maps (CA, a random map), in
alternation, checks that the scores are equal, and prints the time of each and their ratio.

    .venv/bin/python -m benchmarks.curve_pairs --ckpt CKPT --manifest data/synth/test.tsv [--utterances 3]
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
from probes.interface import ProbeModel, Utterance, forced, hypotheses
from probes.metrics.agreement import random_map
from probes.metrics.deletion import curves, levels, perturbed_copies, text_scorer


def separate(model: ProbeModel, utt: Utterance, rel: torch.Tensor, beam: int, insertion: bool) -> tuple[list, list]:
    """Both curves' scores the way they were made before: force-decoding and searching each encode the copies."""
    feats = perturbed_copies(model, utt, rel, levels(20), insertion)  # (P, T, F)
    log_probs = forced(model, utt, feats).log_probs  # (P, I, V)
    tokens = torch.tensor(utt.tokens).expand(feats.shape[0], -1)  # (P, I)
    probs = 100.0 * (1.0 - log_probs.gather(-1, tokens[..., None]).squeeze(-1).exp().mean(dim=1))  # (P,)
    _, score = text_scorer(utt, model.detokenize)
    texts = [score(model.detokenize(h)) for chunk in feats.split(32) for h in hypotheses(model, chunk, utt.prefix, beam)]
    return probs.tolist(), texts


def main() -> None:
    """Time both ways on the same maps; print seconds per curve pair and the ratio."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=3, help="English ASR test utterances")
    p.add_argument("--beam", type=int, default=1, help="re-decoding beam (evaluate.py's default: greedy)")
    a = p.parse_args()
    torch.set_grad_enabled(False)
    model = S2TProbe.from_checkpoint(a.ckpt)
    truth = ground_truth(a.manifest)
    seconds = {"separate": 0.0, "shared": 0.0}
    pairs = 0
    for k, row in enumerate(manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"])):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = hypotheses(model, utt.features[None], utt.prefix, beam_size=5)[0]
        ca = view(cross_attention(model, utt), "all")  # (I, T')
        for rel in (ca, random_map(*ca.shape, torch.Generator().manual_seed(k))):
            for insertion in (False, True):
                start = time.perf_counter()
                probs, texts = separate(model, utt, rel, a.beam, insertion)
                seconds["separate"] += time.perf_counter() - start
                start = time.perf_counter()
                mode = "insertion" if insertion else "deletion"
                prob, text = curves(model, utt, {mode: {"map": rel}}, model.detokenize, beam_size=a.beam)[mode]["map"]
                seconds["shared"] += time.perf_counter() - start
                if not (np.allclose(prob.scores, probs, atol=1e-4) and list(text.scores) == texts):
                    raise SystemExit(f"{row.id}: the shared encoding changed a score")
                pairs += 1
    print(f"{pairs} curve pairs ({a.utterances} utterances x CA, random x deletion, insertion), beam {a.beam}, "
          f"equal scores")
    print(f"two encodings: {seconds['separate'] / pairs:.2f} s per pair; one: {seconds['shared'] / pairs:.2f} s per "
          f"pair; ratio {seconds['separate'] / seconds['shared']:.2f}x")


if __name__ == "__main__":
    main()
