"""Training-step time of our Conformer encoder blocks against ``torchaudio.models.Conformer``.

Both get the same already-subsampled input and lengths and the same width, depth, heads,
feed-forward size, kernel and dropout; each step is forward + backward of a mean-square
loss. After warm-up, repetitions alternate between the two models (and which goes first),
so drifts in machine load hit both. Prints the median times and the ratio ours / theirs.

    .venv/bin/python -m benchmarks.conformer_throughput --batch 8 --frames 400
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchaudio
from torch import Tensor, nn

from s2t.models.config import ModelConfig
from s2t.models.encoder import Encoder


def train_step(model: nn.Module, x: Tensor, lengths: Tensor) -> float:
    """Seconds for one forward + backward of ``model`` (gradients cleared first)."""
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    out = model(x, lengths)[0]  # (B, T, D) for both models
    out.square().mean().backward()
    if x.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    """Parse sizes, build both encoders, time interleaved training steps and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=400, help="subsampled frames of the longest utterance")
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ffn", type=int, default=1024)
    parser.add_argument("--kernel", type=int, default=31)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=8, d_model=args.d_model, encoder_layers=args.layers, heads=args.heads,
                         ffn_dim=args.ffn, conv_kernel=args.kernel, dropout=args.dropout,
                         attention_dropout=args.dropout, ctc_layer=0)
    models = {
        "ours": Encoder(config),
        "torchaudio": torchaudio.models.Conformer(input_dim=args.d_model, num_heads=args.heads, ffn_dim=args.ffn,
                                                  num_layers=args.layers, depthwise_conv_kernel_size=args.kernel,
                                                  dropout=args.dropout),
    }
    x = torch.randn(args.batch, args.frames, args.d_model, device=args.device)
    # Lengths spread over the last quarter, as in length-bucketed batches; the longest fills the batch.
    lengths = torch.linspace(args.frames * 3 // 4, args.frames, args.batch, device=args.device).long()
    times: dict[str, list[float]] = {name: [] for name in models}
    for name, model in models.items():
        model.to(args.device).train()
        print(f"{name}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters")
        for _ in range(args.warmup):
            train_step(model, x, lengths)
    for repeat in range(args.repeats):
        for name in list(models)[:: 1 if repeat % 2 == 0 else -1]:
            times[name].append(train_step(models[name], x, lengths))
    print(f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, device {args.device}, "
          f"threads {torch.get_num_threads()}, batch {args.batch} x {args.frames} frames, d {args.d_model}, "
          f"{args.layers} layers, {args.heads} heads, ffn {args.ffn}, kernel {args.kernel}, dropout {args.dropout}")
    for name, values in times.items():
        print(f"{name:>10}: median {statistics.median(values) * 1000:.0f} ms/step "
              f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})")
    ratio = statistics.median(times["ours"]) / statistics.median(times["torchaudio"])
    print(f"ratio ours/torchaudio: {ratio:.3f}")


if __name__ == "__main__":
    main()
