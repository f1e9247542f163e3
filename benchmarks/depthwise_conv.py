"""The Conformer's depthwise convolution without autograd: shifted sums against oneDNN's kernel.

``s2t.models.conformer.depthwise_conv`` sums the kernel's shifted, channel-scaled frames when no
gradient is needed on a CPU (every SPES, encoder-saliency and decoding pass). This times, at the
presets' widths and one torch thread, that sum against ``nn.Conv1d`` (oneDNN) alone, and a whole
forced-decode pass of the model (a batch of masked copies, as SPES runs it) with each. The conv path is
taken by running the same pass with grad mode on and every parameter frozen, so no graph is built.
Repetitions alternate between the two, so load on a shared machine hits both; ratios are medians.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.depthwise_conv
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from s2t.models.config import preset
from s2t.models.conformer import depthwise_conv
from s2t.models.model import S2TModel


def seconds(step: Callable[[], object], grad: bool) -> float:
    """Wall seconds of one call of ``step`` with grad mode ``grad``."""
    with torch.set_grad_enabled(grad):
        start = time.perf_counter()
        step()
        return time.perf_counter() - start


def speedup(step: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Median seconds with the convolution, with the shifted sums, and their ratio; alternating order."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for repeat in range(repeats + 1):
        for grad in (True, False) if repeat % 2 else (False, True):
            spent = seconds(step, grad)
            if repeat:  # the first round warms up
                times[grad].append(spent)
    conv, shifted = statistics.median(times[True]), statistics.median(times[False])
    return conv, shifted, conv / shifted


def main() -> None:
    """Time the operation and the whole pass per preset and print a table of ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="xxs,xs,s")
    parser.add_argument("--batch", type=int, default=32, help="masked copies per pass")
    parser.add_argument("--seconds", type=float, default=4.0, help="utterance length (10 ms frames)")
    parser.add_argument("--tokens", type=int, default=20, help="forced tokens per copy")
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    frames = int(args.seconds * 100)
    print(f"torch {torch.__version__}, 1 thread, batch {args.batch} x {frames} frames, {args.tokens} tokens, "
          f"median of {args.repeats}")
    print("| preset | d_model | conv op (ms) | shifted sums (ms) | op ratio | pass with conv (ms) | pass (ms) | pass ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.presets.split(","):
        model = S2TModel(preset(name)).eval().requires_grad_(False)
        config = model.config
        conv = model.encoder.layers[0].conv.depthwise
        x = torch.randn(args.batch, frames // 4, config.d_model)  # (B, T', D) subsampled frames
        op = speedup(lambda: depthwise_conv(x, conv), args.repeats)
        features = torch.randn(args.batch, frames, config.n_mels)  # (B, T, mels)
        lengths = torch.full((args.batch,), frames)
        tokens = torch.randint(0, config.vocab_size, (args.batch, args.tokens))  # (B, U)
        whole = speedup(lambda: model(features, lengths, tokens), args.repeats)
        print(f"| {name} | {config.d_model} | {op[0] * 1e3:.2f} | {op[1] * 1e3:.2f} | {op[2]:.2f} | "
              f"{whole[0] * 1e3:.0f} | {whole[1] * 1e3:.0f} | {whole[2]:.2f} |")


if __name__ == "__main__":
    main()
