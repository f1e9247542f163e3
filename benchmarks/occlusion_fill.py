"""How much what occlusion fills a cell with moves a SPES map, beside the maps' own noise (issue 31.3).

SPES masks (and the deletion curves remove) input cells by setting them to a value. The SPES
release sets 0 after utterance CMVN, the utterance mean. On Whisper's normalised log-mel 0 is
a loud flat spectrum, so Whisper's adapter declares its own neutral value, the level its
feature extractor gives digital silence in the utterance (``probes.interface.occlusion_value``).
Per utterance this explains the hypothesis three times with SPES at the study's settings:
``model`` fill with seeds 0 and 1, ``zero`` fill with seed 0 (the same masks as seed 0), and
reports, maps avg2d-pooled to CA's grid:

  seeds        Pearson of the two ``model`` maps: the maps' own noise level
  fills        Pearson of the ``model`` and ``zero`` maps drawn with the same masks
  CA vs SPES   the mean CA's Pearson with each map (max2d-pooled, as the study scores it)

Fills that moved the map no more than noise would give ``fills`` near ``seeds``; below it, the
choice changes what the map says.

    .venv/bin/python -m benchmarks.occlusion_fill --hf ~/.cache/crossprobe/whisper/tiny.en \\
        --manifest data/natural/test.tsv [--utterances 4] [--masks 128]
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from pathlib import Path

import torch

from probes.adapters.whisper import WhisperProbe
from probes.attention import cross_attention, view
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.interface import hypotheses, occlusion_value
from probes.metrics.agreement import correlations
from probes.saliency.pooling import pool_to_frames
from probes.saliency.spes import SpesConfig, spes


def main() -> None:
    """Measure and print, one line per utterance, then the means."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hf", type=Path, required=True, help="a Hugging Face Whisper folder (make whisper)")
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=4)
    p.add_argument("--masks", type=int, default=128)
    a = p.parse_args()
    torch.set_num_threads(1)
    model = WhisperProbe.from_pretrained(a.hf)
    truth = ground_truth(a.manifest)
    config = SpesConfig(masks=a.masks)
    rows: list[tuple[float, float, float, float]] = []
    for row in manifest_rows(a.manifest, a.utterances):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = hypotheses(model, utt.features[None], utt.prefix, 5)[0]
        ca = view(cross_attention(model, utt), "all")  # (I, T')
        frames = ca.shape[-1]
        maps = {name: spes(model, utt, replace(config, fill=fill, seed=seed))
                for name, fill, seed in (("model", "model", 0), ("twin", "model", 1), ("zero", "zero", 0))}
        pooled = {name: pool_to_frames(m, frames, "avg2d") for name, m in maps.items()}
        seeds = correlations(pooled["model"], pooled["twin"])["pearson"]
        fills = correlations(pooled["model"], pooled["zero"])["pearson"]
        ca_model, ca_zero = (correlations(ca, pool_to_frames(maps[n], frames, "max2d"))["pearson"] for n in ("model", "zero"))
        rows.append((seeds, fills, ca_model, ca_zero))
        print(f"{row.id}: neutral {occlusion_value(model, utt.features):.3f}; seeds {seeds:.3f}, fills {fills:.3f}; "
              f"CA vs SPES: model fill {ca_model:.3f}, zero fill {ca_zero:.3f}", flush=True)
    means = [statistics.fmean(column) for column in zip(*rows)]
    print(f"{a.hf.name}, {len(rows)} utterances, {a.masks} masks: seeds {means[0]:.3f}, fills {means[1]:.3f}; "
          f"CA vs SPES: model fill {means[2]:.3f}, zero fill {means[3]:.3f}")


if __name__ == "__main__":
    main()
