"""Reduced precision for occlusion saliency: bfloat16 passes against float32, speed and maps, in one run.

On English ASR test utterances and the model's beam-5 hypotheses, SPES input saliency and
encoder-output saliency are computed with float32 passes and with bfloat16 autocast
(``precision="bf16"``), alternating (order reversed every other repetition), at the study's
default settings. Reported: seconds per utterance of each and their ratio, and how far the
bfloat16 map is from the float32 one (Pearson of the same mask seed) against how far two float32
mask seeds are from each other (the maps' own noise). bfloat16 is safe for a method when its
map agrees with float32 far above the seed-to-seed agreement.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.precision --ckpt CKPT --manifest data/synth/test.tsv
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from probes.adapters import S2TProbe
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.interface import Utterance, hypotheses
from probes.metrics.agreement import correlations
from probes.saliency.encoder import EncoderSaliencyConfig, encoder_estimate
from probes.saliency.spes import SpesConfig, segmentations, spes_estimate

Method = Callable[[S2TProbe, Utterance, str, int], torch.Tensor]  # (model, utt, precision, seed) -> map


def spes_map(config: SpesConfig) -> Method:
    """SPES input saliency at ``config`` with a given precision and seed."""
    return lambda model, utt, precision, seed: spes_estimate(
        model, utt, dataclasses.replace(config, precision=precision, seed=seed)).map


def encoder_map(config: EncoderSaliencyConfig) -> Method:
    """Encoder-output saliency at ``config`` with a given precision and seed."""
    return lambda model, utt, precision, seed: encoder_estimate(
        model, utt, dataclasses.replace(config, precision=precision, seed=seed)).map


def timed(work: Callable[[], torch.Tensor]) -> tuple[float, torch.Tensor]:
    """Seconds one call of ``work`` takes, and its result."""
    start = time.perf_counter()
    out = work()
    return time.perf_counter() - start, out


def main() -> None:
    """Time and compare both precisions for each method, utterance by utterance; print a Markdown table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=3, help="English ASR test utterances")
    p.add_argument("--repeats", type=int, default=2, help="timed repetitions of each precision per utterance")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(" ".join(shlex.quote(x) for x in [f"OMP_NUM_THREADS={a.threads}", sys.executable, "-m", "benchmarks.precision",
                                            *sys.argv[1:]]))
    methods = {"SPES input saliency": spes_map(SpesConfig()), "encoder-output saliency": encoder_map(EncoderSaliencyConfig())}
    model = S2TProbe.from_checkpoint(a.ckpt)
    truth = ground_truth(a.manifest)
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    agree: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"]):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = hypotheses(model, utt.features[None], utt.prefix, beam_size=5)[0]
        if not utt.tokens:
            continue
        segmentations(utt.features, SpesConfig())  # SLIC cached, out of the timings
        for name, method in methods.items():
            maps = {}
            for r in range(a.repeats):
                for precision in (("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")):
                    s, maps[precision] = timed(lambda: method(model, utt, precision, 0))
                    seconds[name, precision] += s
            maps["fp32 seed 1"] = method(model, utt, "fp32", 1)
            agree[name, "bf16"].append(correlations(maps["fp32"], maps["bf16"])["pearson"])
            agree[name, "seeds"].append(correlations(maps["fp32"], maps["fp32 seed 1"])["pearson"])
        print(f"[precision] {row.id}: {len(utt.tokens)} tokens", flush=True)
    print(f"\ntorch {torch.__version__}, {a.threads} thread(s), {len(agree[next(iter(methods)), 'bf16'])} utterance(s), "
          f"{a.repeats} repetitions alternating\n")
    print("| method | fp32 s | bf16 s | speed-up | Pearson bf16 vs fp32 (same seed) | Pearson two fp32 seeds |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in methods:
        fp32, bf16 = seconds[name, "fp32"], seconds[name, "bf16"]
        print(f"| {name} | {fp32:.1f} | {bf16:.1f} | {fp32 / bf16:.2f}x | {np.min(agree[name, 'bf16']):.5f} (min) "
              f"{np.mean(agree[name, 'bf16']):.5f} (mean) | {np.mean(agree[name, 'seeds']):.3f} |")


if __name__ == "__main__":
    main()
