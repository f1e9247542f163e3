"""Saliency convergence: how reliable each occlusion estimator's map is for the seconds it costs.

An occlusion map is estimated from random masks, so two runs with different mask seeds give
two maps; their Pearson correlation, token by token (the map's *reliability*), says how much of
a map is signal.
For the same English test utterances and segments (default: the paper's 2000/2500/3000 SLIC
segments per 500 frames), this draws masks once per seed and design (independent, or
antithetic pairs), force-decodes them all, and then lets every estimator
(``probes.saliency.perturbation``: occluded, contrast, ridge) read the first N masks, for each budget N.
Estimators thus compete on the very same forced decodings. Per (estimator, masks, budget) it
prints:

- reliability of the full-resolution (I, T, F) map and of the map avg2d-pooled to CA's grid;
- agreement (full resolution) of the seed-1 map with the largest-budget contrast and ridge maps
  of seed 2 (do the estimators converge to the same map?), and with CA (max2d, as the probes
  compare them);
- share of each token's pooled relevance inside its word's true time span;
- seconds per utterance: masks / measured forced decodings per second + the estimator's own time.

It writes ``OUT/convergence.json`` and ``OUT/convergence.png`` (reliability against seconds).

    OMP_NUM_THREADS=1 .venv/bin/python -m experiments.saliency_convergence --ckpt CKPT \\
        --manifest data/synth/test.tsv --utterances 3 --budgets 512,1024,2048,4096,8192 --out OUT
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from probes.adapters import S2TProbe
from probes.attention import cross_attention, view
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.interface import Utterance, forced, hypotheses
from probes.metrics.agreement import correlations, span_mass, token_spans
from probes.saliency.perturbation import Batch, estimate, keep_masks, score_masks
from probes.saliency.pooling import pool_to_frames
from probes.saliency.spes import SpesConfig, segmentations

VARIANTS = {"occluded": ("occluded", False), "contrast": ("contrast", False), "contrast, antithetic": ("contrast", True),
            "ridge": ("ridge", False), "ridge, antithetic": ("ridge", True)}


def pearson(a: Tensor, b: Tensor) -> float:
    """Mean over tokens of the Pearson correlation of their two maps (I, ...), constant rows left out (nan if all).

    Per token, as the released SPES evaluation normalises maps: whole-map Pearson would reward a
    per-token offset (the occluded estimator's token baseline) that reproduces across seeds
    without saying where the token listens.
    """
    x, y = a.double().flatten(1), b.double().flatten(1)  # (I, cells)
    x, y = x - x.mean(dim=1, keepdim=True), y - y.mean(dim=1, keepdim=True)
    den = x.norm(dim=1) * y.norm(dim=1)  # (I,)
    ok = den > 0
    return float(((x * y).sum(dim=1)[ok] / den[ok]).mean()) if ok.any() else float("nan")


def scored_masks(model: S2TProbe, utt: Utterance, designs: list[Tensor], per_design: int, antithetic: bool,
                 seed: int, batch_size: int) -> tuple[list[Tensor], list[Tensor], float]:
    """``per_design`` masks over every design's units, force-decoded: (keeps, scores, decodings per second)."""
    t, f = utt.features.shape
    original = forced(model, utt).log_probs[0]  # (I, V)

    def log_probs_of(keep: Tensor) -> Tensor:
        return forced(model, utt, torch.where(keep.view(-1, t, f), utt.features, 0.0)).log_probs  # (M, I, V)

    generator = torch.Generator().manual_seed(seed)
    draws = [keep_masks(per_design, int(d.max()) + 1, 0.5, generator, antithetic) for d in designs]  # (N, U) each
    batches: list[Batch] = [(g, b) for g, keep in enumerate(draws) for b in keep.split(batch_size)]
    start = time.perf_counter()
    keeps, scores = score_masks(log_probs_of, original, batches, designs)
    return keeps, scores, per_design * len(designs) / (time.perf_counter() - start)


def sweep(model: S2TProbe, utt: Utterance, ca: Tensor, span: list, config: SpesConfig, budgets: list[int],
          batch_size: int) -> list[dict]:
    """Rows (variant, budget, reliabilities, agreement, truth share, seconds) of one utterance."""
    frames = ca.shape[-1]
    designs = [s.flatten() for s in segmentations(utt.features, config)]  # (T * F,) per granularity
    top = max(budgets) // len(designs)
    draws = {(anti, seed): scored_masks(model, utt, designs, top, anti, seed, batch_size)
             for anti in (False, True) for seed in (1, 2)}
    rate = float(np.mean([d[2] for d in draws.values()]))  # forced decodings per second
    rows, first, reference = [], {}, {}
    for name, (estimator, anti) in VARIANTS.items():
        for budget in sorted(budgets):
            n = budget // len(designs)
            maps, fit = [], []
            for seed in (1, 2):
                keeps, scores, _ = draws[(anti, seed)]
                start = time.perf_counter()
                maps.append(estimate(designs, [k[:n] for k in keeps], [y[:n] for y in scores], estimator)
                            .view(-1, *utt.features.shape))  # (I, T, F)
                fit.append(time.perf_counter() - start)
            pooled = [pool_to_frames(m, frames, "avg2d") for m in maps]
            peak = pool_to_frames(maps[0], frames, "max2d")
            rows.append({"variant": name, "budget": budget, "masks": n * len(designs),
                         "reliability_full": pearson(*maps), "reliability_pooled": pearson(*pooled),
                         "ca": correlations(ca, peak)["pearson"], "truth_share": span_mass(peak, span),
                         "seconds": n * len(designs) / rate + float(np.mean(fit)), "fit_seconds": float(np.mean(fit)),
                         "decodings_per_second": rate})
            first[(name, budget)] = maps[0]
            reference[name] = maps[1]  # the largest budget's seed-2 map, once the loop ends
    for row in rows:  # full-resolution agreement with the largest-budget maps of the other seed
        mine = first[(row["variant"], row["budget"])]
        row["vs_contrast_max"] = pearson(mine, reference["contrast"])
        row["vs_ridge_max"] = pearson(mine, reference["ridge"])
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean over utterances of every numeric field, per (variant, masks)."""
    keys = sorted({(r["variant"], r["masks"]) for r in rows}, key=lambda k: (list(VARIANTS).index(k[0]), k[1]))
    out = []
    for variant, masks in keys:
        group = [r for r in rows if r["variant"] == variant and r["masks"] == masks]
        mean = {k: float(np.nanmean([g[k] for g in group])) if any(np.isfinite([g[k] for g in group])) else float("nan")
                for k in group[0] if isinstance(group[0][k], float)}
        out.append({"variant": variant, "masks": masks, "utterances": len(group), **mean})
    return out


def figure(summary: list[dict], path: Path, title: str) -> None:
    """Reliability against seconds per utterance, one line per variant, full resolution and pooled side by side."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    for ax, key, label in zip(fig.subplots(1, 2), ("reliability_full", "reliability_pooled"),
                              ("full resolution (I x T x F)", "avg2d-pooled to CA's grid (I x T')")):
        for variant in VARIANTS:
            pts = [(s["seconds"], s[key]) for s in summary if s["variant"] == variant]
            ax.plot(*zip(*pts), marker="o", label=variant)
        ax.axhline(0.9, color="grey", linestyle=":", linewidth=1)
        ax.axvline(30, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set(xlabel="seconds per utterance (this machine)", ylabel="reliability (Pearson of two seeds)",
               title=label, ylim=(0, 1))
    fig.axes[0].legend(loc="lower right", fontsize="small")
    fig.suptitle(title)
    fig.savefig(path, dpi=110)


def main() -> None:
    """Sweep estimators and budgets; print a Markdown table, write JSON and a figure."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=3, help="English ASR test utterances")
    p.add_argument("--granularities", default="2000,2500,3000", help="SLIC segments per 500 frames (paper's)")
    p.add_argument("--budgets", default="512,1024,2048,4096,8192", help="total masks per utterance")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    config = SpesConfig(granularities=tuple(int(g) for g in a.granularities.split(",")))
    budgets = [int(b) for b in a.budgets.split(",")]
    model = S2TProbe.from_checkpoint(a.ckpt)
    truth = ground_truth(a.manifest)
    rows = []
    for row in manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"]):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = hypotheses(model, utt.features[None], utt.prefix, beam_size=5)[0]
        ca = view(cross_attention(model, utt), "all")  # (I, T')
        rows.extend(dict(r, id=row.id) for r in sweep(model, utt, ca, token_spans(model, utt, ca.shape[-1]), config,
                                                       budgets, a.batch_size))
        print(f"[convergence] {row.id}: {utt.num_frames / 100:.1f} s, {len(utt.tokens)} tokens done", flush=True)
    summary = summarise(rows)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "convergence.json").write_text(json.dumps({"granularities": config.granularities, "rows": rows,
                                                        "summary": summary}, indent=1))
    figure(summary, a.out / "convergence.png", f"SPES estimators, segments {a.granularities} per 500 frames")
    print("| estimator | masks | reliability (full) | reliability (pooled) | vs contrast, max | vs ridge, max "
          "| CA vs map | truth share | seconds / utt |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['variant']} | {s['masks']} | {s['reliability_full']:.3f} | {s['reliability_pooled']:.3f} | "
              f"{s['vs_contrast_max']:.3f} | {s['vs_ridge_max']:.3f} | {s['ca']:.3f} | {s['truth_share']:.3f} | "
              f"{s['seconds']:.1f} |")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
