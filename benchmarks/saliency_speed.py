"""Saliency speed: occlusion saliency against the model's own speed, against Captum, and the machine's matmul peak.

Occlusion saliency costs one forced decoding per mask, so it can be no faster than the model
force-decodes copies of the utterance. On English ASR test utterances and the model's own
beam-5 hypotheses, this measures in one run, repeating every measurement and alternating the
compared things (their order reversed every other repetition) so that drifts of machine load
hit all of them alike:

1. SPES throughput: masks scored per second by ``spes_estimate`` (``SpesConfig`` defaults but
   ``--granularities``, the paper's 2000/2500/3000 segments per 500 frames by default, and
   ``--masks``) against forced decodings per second of unmasked copies of the utterance, both
   at the batch size (8, 16, 32, 64) at which plain forced decoding is fastest for that
   utterance. SLIC segmentation (once per utterance; ``spes_estimate`` caches it) is timed
   apart, so the ratio is shown without and with it. Goal: >= 0.9.
2. Against Captum: ``captum.attr.FeatureAblation`` zeroing the SLIC segments of one coarse
   granularity (``feature_mask``, baseline 0, as SPES masks) one at a time, with the forward
   function of the project's Captum gradients (``probes.saliency.gradients.token_log_probs``), against
   ``spes_estimate`` over that granularity with as many masks as it has segments, which
   scores every token on each perturbed input; all on the first utterance. Both evaluate
   S + 1 inputs (S perturbed, one intact) per call. Captum is used two ways:
   - per token, as for a classifier: one ``target`` token per call, at the same batch size
     (``perturbations_per_eval``). To keep it short it runs on the first ``--captum-tokens``
     tokens only, and its seconds per token are extrapolated to all the hypothesis's tokens.
     Goal: speed-up >= 10.
   - all tokens in one call: the forward returns the (I,) log-probabilities of a single input,
     which Captum reads as an aggregate output, attributing every element, but then evaluates
     the perturbed inputs one at a time (``perturbations_per_eval=1``).
   Compared: seconds per perturbed input scored for all tokens.
3. Encoder-output saliency (``encoder_estimate``, the decoder alone per mask, at the same
   batch size) against SPES: seconds per mask. Goal: <= 1/5.
4. Hardware efficiency: the FLOPs of one batched forced decoding (``FlopCounterMode``:
   matrix products, convolutions, attention; elementwise work is not counted) times forced
   decodings per second, as a share of the GFLOP/s of square float32 ``torch.matmul``
   measured in the same alternation, all on ``--threads`` threads.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python -m benchmarks.saliency_speed --ckpt CKPT \\
        --manifest data/synth/test.tsv --utterances 3 --repeats 3
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import torch
from captum.attr import FeatureAblation
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from probes.adapters import S2TProbe
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.interface import Utterance, forced, hypotheses
from probes.saliency.encoder import EncoderSaliencyConfig, encoder_estimate
from probes.saliency.gradients import token_log_probs
from probes.saliency.spes import SpesConfig, segment_count, segmentations, spes_estimate, superpixels

BATCH_SIZES = (8, 16, 32, 64)
SWEEP_COPIES = 64  # unmasked copies force-decoded per batch size and round when choosing the batch size
MATMULS = 4  # matrix products per repetition of the matmul item


def timed(work: Callable[[], object]) -> float:
    """Seconds one call of ``work`` takes."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def plain_passes(model: S2TProbe, utt: Utterance, copies: int, batch_size: int) -> None:
    """Force-decode ``copies`` unmasked copies of the utterance, ``batch_size`` at a time."""
    batch = utt.features.expand(batch_size, -1, -1).clone()  # (B, T, F)
    for start in range(0, copies, batch_size):
        forced(model, utt, batch[: copies - start])


def best_batch_size(model: S2TProbe, utt: Utterance, rounds: int = 2) -> int:
    """The batch size of ``BATCH_SIZES`` that force-decodes the utterance fastest, batch sizes alternating."""
    seconds = dict.fromkeys(BATCH_SIZES, 0.0)
    for r in range(rounds):
        for b in BATCH_SIZES[:: 1 if r % 2 == 0 else -1]:
            seconds[b] += timed(lambda: plain_passes(model, utt, SWEEP_COPIES, b))
    return min(seconds, key=seconds.get)


def flops_per_copy(model: S2TProbe, utt: Utterance, batch_size: int) -> float:
    """FLOPs ``FlopCounterMode`` counts in one forced decoding of ``batch_size`` copies, per copy."""
    with FlopCounterMode(display=False) as counter:
        forced(model, utt, utt.features.expand(batch_size, -1, -1).clone())
    return counter.get_total_flops() / batch_size


def slic_all(utt: Utterance, config: SpesConfig) -> None:
    """SLIC segmentation of the utterance at every granularity of ``config``, uncached."""
    for granularity in config.granularities:
        superpixels(utt.features, segment_count(granularity, utt.num_frames), config.compactness, config.sigma)


def captum_occlusion(model: S2TProbe, utt: Utterance, segments: Tensor, tokens: int, batch_size: int) -> None:
    """Captum's FeatureAblation of the (T, F) ``segments`` for the first ``tokens`` tokens, one call per token."""
    ablation = FeatureAblation(token_log_probs(model, utt))
    for i in range(tokens):
        ablation.attribute(utt.features[None], baselines=0.0, target=i, feature_mask=segments[None],
                           perturbations_per_eval=batch_size)


def captum_occlusion_all(model: S2TProbe, utt: Utterance, segments: Tensor) -> None:
    """Captum's FeatureAblation of the (T, F) ``segments`` for all tokens in one call, one input per evaluation."""
    forward = token_log_probs(model, utt)
    FeatureAblation(lambda x: forward(x)[0]).attribute(utt.features[None], baselines=0.0, feature_mask=segments[None])


def matmul(a: Tensor, b: Tensor, times: int) -> None:
    """``times`` float32 matrix products."""
    for _ in range(times):
        torch.matmul(a, b)


def command_line() -> str:
    """The command that started this run, with the thread variables set in the environment."""
    env = [f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ]
    return " ".join(env + [shlex.join([sys.executable, "-m", "benchmarks.saliency_speed", *sys.argv[1:]])])


def table(rows: list[tuple[str, str, str]]) -> str:
    """A Markdown table of (measure, value, goal) rows."""
    lines = ["| measure | value | goal |", "|---|---:|---|"]
    return "\n".join(lines + [f"| {m} | {v} | {g} |" for m, v, g in rows])


def verdict(ok: bool, goal: str) -> str:
    """``goal`` marked as met or missed."""
    return f"{goal}: {'met' if ok else 'missed'}"


def captum_items(model: S2TProbe, utt: Utterance, a: argparse.Namespace,
                 batch: int) -> tuple[dict[str, Callable[[], object]], dict[str, int]]:
    """The project's occlusion and Captum's two ways over one coarse granularity, and what they count."""
    coarse = SpesConfig(granularities=(a.captum_granularity,), batch_size=batch)
    segments = segmentations(utt.features, coarse)[0]  # (T, F)
    count = int(segments.max()) + 1
    coarse = dataclasses.replace(coarse, masks=count)  # one mask per segment: as many inputs as Captum's
    shown = min(a.captum_tokens, len(utt.tokens))
    items = {"occlusion": lambda: spes_estimate(model, utt, coarse),
             "captum": lambda: captum_occlusion(model, utt, segments, shown, batch),
             "captum_all": lambda: captum_occlusion_all(model, utt, segments)}
    return items, {"segments": count, "tokens": len(utt.tokens), "shown": shown, "frames": utt.num_frames}


def rows(seconds: dict[str, float], flops: float, utterances: int, captum: dict[str, int],
         a: argparse.Namespace) -> list[tuple[str, str, str]]:
    """The table's (measure, value, goal) rows from the summed seconds of every item."""
    masks = a.masks * a.repeats * utterances  # SPES masks, also the plain copies
    plain = masks / seconds["plain"]
    spes = masks / seconds["spes"]
    spes_slic = masks / (seconds["spes"] + seconds["slic"])
    inputs = a.repeats * captum["segments"]  # perturbed inputs of each occlusion item
    project = seconds["occlusion"] / inputs  # s per perturbed input, all tokens
    per_token = seconds["captum"] / captum["shown"] * captum["tokens"] / inputs
    all_tokens = seconds["captum_all"] / inputs
    encoder = seconds["encoder"] / (a.encoder_masks * a.repeats * utterances)  # s per mask
    input_saliency = seconds["spes"] / masks
    peak = 2 * a.matmul_size**3 * MATMULS * a.repeats * utterances / seconds["matmul"] / 1e9  # GFLOP/s
    achieved = flops / seconds["plain"] / 1e9
    granularities = "/".join(a.granularities.split(","))
    return [
        ("forced decoding, unmasked copies", f"{plain:.1f} copies/s", ""),
        (f"SPES, {granularities} segments, {a.masks} masks (SLIC cached)", f"{spes:.1f} masks/s", ""),
        ("SPES / forced decoding", f"{spes / plain:.2f}", verdict(spes / plain >= 0.9, ">= 0.9")),
        ("SLIC segmentation per utterance", f"{seconds['slic'] / (a.repeats * utterances):.2f} s", ""),
        ("SPES with SLIC / forced decoding", f"{spes_slic / plain:.2f}", ""),
        (f"occlusion, project (spes_estimate, {captum['segments']} masks)",
         f"{project * 1000:.1f} ms per input, all tokens", ""),
        ("occlusion, Captum FeatureAblation, one token per call (extrapolated)",
         f"{per_token * 1000:.1f} ms per input, all tokens", ""),
        ("speed-up project / Captum one token per call", f"{per_token / project:.1f}x",
         verdict(per_token / project >= 10, ">= 10x")),
        ("occlusion, Captum FeatureAblation, all tokens per call (unbatched)",
         f"{all_tokens * 1000:.1f} ms per input, all tokens", ""),
        ("speed-up project / Captum all tokens per call", f"{all_tokens / project:.1f}x", ""),
        (f"encoder-output saliency, {a.encoder_masks} masks", f"{encoder * 1000:.2f} ms/mask", ""),
        ("SPES input saliency", f"{input_saliency * 1000:.2f} ms/mask", ""),
        ("encoder / input saliency per mask", f"{encoder / input_saliency:.3f}",
         verdict(encoder / input_saliency <= 0.2, "<= 0.2")),
        (f"matmul (float32, {a.matmul_size}^2)", f"{peak:.1f} GFLOP/s", ""),
        ("forced decoding (counted FLOPs x copies/s)", f"{achieved:.1f} GFLOP/s", ""),
        ("forced decoding / matmul", f"{achieved / peak:.1%}", ""),
    ]


def main() -> None:
    """Time every item in alternation, utterance by utterance, and print a Markdown table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=3, help="English ASR test utterances")
    p.add_argument("--granularities", default="2000,2500,3000", help="SPES's SLIC segments per 500 frames (paper's)")
    p.add_argument("--masks", type=int, default=256, help="SPES masks per utterance")
    p.add_argument("--encoder-masks", type=int, default=EncoderSaliencyConfig.masks, help="encoder-output masks")
    p.add_argument("--captum-granularity", type=int, default=100, help="segments per 500 frames Captum ablates")
    p.add_argument("--captum-tokens", type=int, default=3, help="tokens Captum explains one per call (extrapolated)")
    p.add_argument("--repeats", type=int, default=3, help="timed repetitions of every item per utterance")
    p.add_argument("--matmul-size", type=int, default=2048, help="side of the square matrices of the peak")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for everything")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(command_line())
    spes_config = SpesConfig(granularities=tuple(int(g) for g in a.granularities.split(",")), masks=a.masks)
    model = S2TProbe.from_checkpoint(a.ckpt)
    truth = ground_truth(a.manifest)
    left, right = torch.randn(2, a.matmul_size, a.matmul_size)
    seconds: dict[str, float] = defaultdict(float)
    flops = 0.0  # FLOPs of all timed plain forced decodings
    captum: dict[str, int] = {}  # what the Captum comparison counts, first utterance only
    batch_sizes = []
    for row in manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"]):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = hypotheses(model, utt.features[None], utt.prefix, beam_size=5)[0]
        if not utt.tokens:
            print(f"[saliency_speed] {row.id}: empty hypothesis, skipped", flush=True)
            continue
        batch = best_batch_size(model, utt)
        batch_sizes.append(batch)
        spes = dataclasses.replace(spes_config, batch_size=batch)
        segmentations(utt.features, spes)  # SLIC into spes's cache: timed apart, by slic_all
        encoder = EncoderSaliencyConfig(masks=a.encoder_masks, batch_size=batch)
        items: dict[str, Callable[[], object]] = {
            "slic": lambda: slic_all(utt, spes),
            "spes": lambda: spes_estimate(model, utt, spes),
            "plain": lambda: plain_passes(model, utt, a.masks, batch),
            "encoder": lambda: encoder_estimate(model, utt, encoder),
            "matmul": lambda: matmul(left, right, MATMULS),
        }
        if not captum:
            more, captum = captum_items(model, utt, a, batch)
            items.update(more)
        for r in range(a.repeats):
            for name in list(items)[:: 1 if r % 2 == 0 else -1]:
                seconds[name] += timed(items[name])
        flops += flops_per_copy(model, utt, batch) * a.masks * a.repeats
        print(f"[saliency_speed] {row.id}: {utt.num_frames / 100:.1f} s, {len(utt.tokens)} tokens, "
              f"batch size {batch}", flush=True)
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} thread(s), {len(batch_sizes)} utterance(s), "
          f"{a.repeats} repetitions alternating, batch sizes {batch_sizes} (fastest of {list(BATCH_SIZES)})")
    print(f"Captum: FeatureAblation on the first utterance ({captum['frames'] / 100:.1f} s), "
          f"{captum['segments']} segments ({a.captum_granularity} per 500 frames); one token per call: timed on "
          f"{captum['shown']} of its {captum['tokens']} tokens and extrapolated linearly to all "
          f"{captum['tokens']}; all tokens per call: timed in full\n")
    print(table(rows(seconds, flops, len(batch_sizes), captum, a)))


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
