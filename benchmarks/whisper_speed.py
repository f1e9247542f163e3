"""What explaining a real Whisper costs on this CPU, and where the time goes (issue 31.5).

On one utterance of a manifest, in one process with one torch thread, at the Whisper study's
settings (``configs/study/whisper.yaml``: 128 SPES masks, 512 encoder-output masks, 10 curve
levels, beam 5, batches of 32):

  pass         one unperturbed pass (encode + force-decode, batch 1)
  per copy     at batch 32: encoding one copy (the whole 30 s window) and force-decoding it,
               its own padding (SPES, curves) or one padding shared by the batch, projected
               once (encoder-output occlusion; and, for comparison, projected for every copy)
  spes         SPES masks per second
  encoder      encoder-output masks per second, with the shared padding projected once and
               for every mask, and the two maps' agreement (the same map: max |difference|)
  search       beam-5 search per copy at batch 32, on copies with 0-97% of their cells deleted
               (as the curves' copies are): each row's cross-attention keys and values projected
               once for its beams, against generate's own (projected for every beam and copied
               at every step), and whether the hypotheses are the same
  explain      one utterance end to end (``probes.explain``), per stage, against its limit:
               the copies each stage passes through the encoder and decoder times their cost
               per copy (searches not counted), so wall / limit is the overhead beyond the passes

    .venv/bin/python -m benchmarks.whisper_speed --hf ~/.cache/crossprobe/whisper/base \\
        --manifest data/natural/test.tsv [--row 0] [--masks 128] [--encoder-masks 512] [--steps 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Callable, TypeVar

import torch

from probes.adapters.whisper import WhisperProbe
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.explain import ExplainConfig, explain
from probes.interface import force_on_encoding, hypotheses, occlusion_value
from probes.metrics.agreement import correlations
from probes.metrics.deletion import perturbed
from probes.saliency.encoder import EncoderSaliencyConfig, encoder_saliency
from probes.saliency.spes import SpesConfig, spes
from s2t.quiet import silence

BATCH = 32
T = TypeVar("T")
CURVE_SOURCES = 5  # ca, uniform, random, SPES pooled, SPES full resolution (probes.explain.curve_scores)


def seconds(fn: Callable[[], object], repeats: int = 1) -> float:
    """Median wall seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def on_and_off(model: WhisperProbe, lever: str, fn: Callable[[], T]) -> tuple[T, float, T, float]:
    """``fn``'s result and wall seconds with the model's exact ``lever`` (a flag) on, then off; left on."""
    out: list = []
    for value in (True, False):
        setattr(model, lever, value)
        start = time.perf_counter()
        out += [fn(), time.perf_counter() - start]
    setattr(model, lever, True)
    return out[0], out[1], out[2], out[3]


def main() -> None:
    """Measure and print."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hf", type=Path, required=True, help="a Hugging Face Whisper folder (make whisper)")
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--row", type=int, default=0, help="which row of the manifest")
    p.add_argument("--masks", type=int, default=128)
    p.add_argument("--encoder-masks", type=int, default=512)
    p.add_argument("--steps", type=int, default=10, help="curve levels")
    a = p.parse_args()
    silence()
    torch.set_num_threads(1)
    model = WhisperProbe.from_pretrained(a.hf)
    row = manifest_rows(a.manifest)[a.row]
    utt = load_utterance(model, a.manifest, row, ground_truth(a.manifest))
    utt.tokens = hypotheses(model, utt.features[None], utt.prefix, 5)[0]
    t, tokens = utt.num_frames, len(utt.tokens)
    print(f"{a.hf.name}: {row.id}, {t / 100:.2f} s of audio, {tokens} tokens; one torch thread")

    def one_pass(copies: int) -> tuple[float, float]:
        feats = utt.features[None].expand(copies, -1, -1).contiguous()
        with torch.no_grad():
            start = time.perf_counter()
            enc, lengths = model.encode(feats, torch.full((copies,), t))
            middle = time.perf_counter()
            force_on_encoding(model, utt, enc, lengths)
        return middle - start, time.perf_counter() - middle

    single = sum(one_pass(1))
    encode, decode = (s / BATCH for s in one_pass(BATCH))
    with torch.no_grad():
        enc, lengths = model.encode(utt.features[None], torch.tensor([t]))
        copies = enc.expand(BATCH, -1, -1).contiguous()
        shared = seconds(lambda: force_on_encoding(model, utt, copies, lengths.expand(BATCH)), 3) / BATCH
        model.share_padding = False
        plain = seconds(lambda: force_on_encoding(model, utt, copies, lengths.expand(BATCH)), 3) / BATCH
        model.share_padding = True
    print(f"pass (batch 1): {single:.3f} s; per copy at batch {BATCH}: encode {encode:.3f} s, force-decode {decode:.3f} s"
          f" (its own padding), {shared:.4f} s (a shared padding projected once) vs {plain:.4f} s (projected anew)")

    spes_config = SpesConfig(masks=a.masks, batch_size=BATCH)
    spes_s = seconds(lambda: spes(model, utt, spes_config))
    print(f"spes: {a.masks} masks in {spes_s:.1f} s, {a.masks / spes_s:.2f} masks/s "
          f"(limit {a.masks * (encode + decode):.1f} s: masks x (encode + force-decode))")
    enc_config = EncoderSaliencyConfig(masks=a.encoder_masks, batch_size=BATCH)
    fast, fast_s, slow, slow_s = on_and_off(model, "share_padding", lambda: encoder_saliency(model, utt, enc_config))
    print(f"encoder: {a.encoder_masks} masks in {fast_s:.1f} s ({a.encoder_masks / fast_s:.1f} masks/s) with the shared "
          f"padding projected once, {slow_s:.1f} s projected for every mask: {slow_s / fast_s:.2f}x; maps' max |diff| "
          f"{float((fast - slow).abs().max()):.2e} of max {float(slow.abs().max()):.2e}, Pearson "
          f"{correlations(fast, slow)['pearson']:.6f}")

    order = torch.randperm(utt.features.numel(), generator=torch.Generator().manual_seed(0))  # a random ranking
    damaged = perturbed(utt.features, order, [100.0 * k / BATCH for k in range(BATCH)], insertion=False,
                        fill=occlusion_value(model, utt.features, "model"))  # (BATCH, T, F)
    with torch.no_grad():
        enc, lengths = model.encode(damaged, torch.full((BATCH,), t))
        once, once_s, every, every_s = on_and_off(model, "share_beams", lambda: model.search(enc, lengths, utt.prefix, 5))
    print(f"search (beam 5, at most {model.max_new_tokens(lengths, len(utt.prefix))} tokens) per copy at batch {BATCH}: "
          f"{once_s / BATCH:.3f} s with a row's cross keys and values projected once for its beams, "
          f"{every_s / BATCH:.3f} s as generate projects and reorders them: {every_s / once_s:.2f}x; "
          f"the same hypotheses: {once == every}")

    config = ExplainConfig(methods=("spes", "encoder"), spes=spes_config, encoder=enc_config, deletion_steps=a.steps)
    start = time.perf_counter()
    found = explain(model, utt, config)
    wall = time.perf_counter() - start
    stages = found.record["seconds"]
    curve_copies = 2 + 2 * CURVE_SOURCES * (a.steps - 1)
    limit = {"spes": (a.masks + 1) * (encode + decode), "encoder": a.encoder_masks * shared,
             "curves": curve_copies * (encode + decode)}
    print(f"explain: {wall:.1f} s for one utterance; per stage (s): "
          + ", ".join(f"{k} {v:.1f}" + (f" (limit {limit[k]:.1f})" if k in limit else "") for k, v in stages.items()))
    print(f"explain against its passes: {wall:.1f} s / {sum(limit.values()):.1f} s = {wall / sum(limit.values()):.2f} "
          f"(the rest: searches of the curves' {curve_copies} copies, the hypothesis, CA, timestamps)")


if __name__ == "__main__":
    main()
