"""Saliency budget benchmark: how many masks, how coarse cells and which keep probability an occlusion map needs.

SPES estimates one value per superpixel from random masks, so a map can only be as good as
the ratio of masks to segments: the paper's 20,000 masks over about 2,500 segments per 5 s
give a few masks per segment and granularity; 256 masks over the same segments give a
twentieth of one. For each setting (granularities, keep probability, masks, estimator) this
prints, over the same English test utterances:

- segments: mean SLIC segments per granularity and utterance, and masks per segment;
- reliability: Pearson of two maps from different mask seeds, avg2d-pooled to CA's grid
  (max2d pooling adds a per-token offset, the largest of many noisy cells, that is
  reproducible without meaning anything; ``--seeds 1`` skips it);
- CA vs input Pearson (max2d, as the probes compare maps, and avg2d);
- truth: share of each token's pooled relevance inside its word's true span (chance is the
  uniform map's share, printed with CA's and gradient saliency's as reference rows);
- seconds per utterance (one seed).

``--encoder-setting DIM_GROUPS:KEEP:MASKS`` adds the same rows for encoder-output saliency,
whose cells are (encoder frame, group of dimensions).

    .venv/bin/python -m benchmarks.saliency_convergence --ckpt CKPT --manifest data/synth/test.tsv \\
        --setting 2000/2500/3000:0.5:256 --setting 100/150/200:0.5:256 --encoder-setting 8:0.5:256
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from probes.adapters import S2TProbe
from probes.attention import cross_attention, view
from probes.encoder_saliency import EncoderSaliencyConfig, encoder_saliency
from probes.explain import ExplainConfig, reliability_scores
from probes.gradients import gradient_saliency
from probes.interface import Utterance
from probes.metrics import correlations, span_mass, token_spans, uniform_map
from probes.pooling import pool_to_frames
from probes.spes import SpesConfig, segment_count, spes
from probes.utterances import ground_truth, load_utterance, manifest_rows


@dataclass(frozen=True)
class Setting:
    """One configuration of the sweep: SPES granularities, or encoder-saliency dimension groups (``dim_groups``)."""

    cells: tuple[int, ...]  # SLIC segments per 500 frames, one per granularity; or (dim_groups,)
    keep_prob: float
    masks: int
    estimator: str = "contrast"
    encoder: bool = False

    @classmethod
    def parse(cls, text: str, encoder: bool = False) -> Setting:
        """``2000/2500/3000:0.5:256`` (or ``8:0.5:256`` for the encoder) -> Setting; estimator optional."""
        parts = text.split(":")
        if len(parts) not in (3, 4):
            raise argparse.ArgumentTypeError(f"{text!r}: expected CELLS:KEEP:MASKS[:ESTIMATOR]")
        cells = tuple(int(g) for g in parts[0].split("/"))
        return cls(cells, float(parts[1]), int(parts[2]), *parts[3:], encoder=encoder)

    def config(self) -> ExplainConfig:
        """Explanation settings of this row: its one occlusion method, mask seed 1."""
        common = dict(masks=self.masks, keep_prob=self.keep_prob, estimator=self.estimator, seed=1)
        if self.encoder:
            return ExplainConfig(methods=("encoder",),
                                 encoder=EncoderSaliencyConfig(dim_groups=self.cells[0], **common))
        return ExplainConfig(methods=("spes",), spes=SpesConfig(granularities=self.cells, **common))

    def maps(self, model: S2TProbe, utt: Utterance) -> dict[str, torch.Tensor]:
        """One utterance's map under ``probes.explain``'s name: input_full (I, T, F) or encoder (I, T')."""
        config = self.config()
        if self.encoder:
            return {"encoder": encoder_saliency(model, utt, config.encoder)}
        return {"input_full": spes(model, utt, config.spes)}

    def cell_count(self, utt: Utterance, frames: int) -> float:
        """Cells one mask draws over: mean SLIC segments per granularity, or frames x dimension groups."""
        if self.encoder:
            return frames * self.cells[0]
        return float(np.mean([segment_count(g, utt.num_frames) for g in self.cells]))

    def label(self) -> str:
        """Table label."""
        what = f"H, {self.cells[0]} dim groups" if self.encoder else "/".join(map(str, self.cells))
        return f"{what} | {self.keep_prob:g} | {self.masks} | {self.estimator}"


def reference_rows(model: S2TProbe, utts: list[Utterance], cas: list[torch.Tensor], spans: list) -> None:
    """Truth shares (and CA agreement) of CA, gradient saliency and the uniform map."""
    rows = {"CA (all layers and heads)": cas,
            "gradient saliency (Captum), max2d": [pool_to_frames(gradient_saliency(model, u), ca.shape[-1])
                                                  for u, ca in zip(utts, cas)],
            "uniform map (chance)": [uniform_map(*ca.shape) for ca in cas]}
    for name, maps in rows.items():
        truth = np.nanmean([span_mass(m, s) for m, s in zip(maps, spans)])
        agree = [correlations(ca, m)["pearson"] for ca, m in zip(cas, maps)]
        agree_text = "n/a" if np.isnan(agree).all() else f"{np.nanmean(agree):.3f}"  # a constant map has no correlation
        print(f"| {name} | | | | | | {agree_text} | | {truth:.3f} | | |", flush=True)


def main() -> None:
    """Print segments, reliability, CA agreement, ground-truth share and cost per setting."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=8, help="English ASR test utterances")
    p.add_argument("--setting", type=Setting.parse, action="append", default=[],
                   help="SPES: GRANULARITIES:KEEP:MASKS[:ESTIMATOR], e.g. 2000/2500/3000:0.5:256 (repeat)")
    p.add_argument("--encoder-setting", type=lambda t: Setting.parse(t, encoder=True), action="append", default=[],
                   help="encoder-output saliency: DIM_GROUPS:KEEP:MASKS[:ESTIMATOR], e.g. 8:0.5:256 (repeat)")
    p.add_argument("--seeds", type=int, choices=(1, 2), default=2, help="2: also measure reliability")
    a = p.parse_args()
    model = S2TProbe.from_checkpoint(a.ckpt)
    truth = ground_truth(a.manifest)
    utts = []
    for row in manifest_rows(a.manifest, a.utterances, tasks=["asr"], pairs=["en-en"]):
        utt = load_utterance(model, a.manifest, row, truth)
        utt.tokens = model.hypotheses(utt.features[None], utt.prefix, beam_size=5)[0]
        utts.append(utt)
    cas = [view(cross_attention(model, u), "all") for u in utts]  # (I, T') each
    spans = [token_spans(model, u, ca.shape[-1]) for u, ca in zip(utts, cas)]
    print(f"{len(utts)} utterances, mean {np.mean([u.num_frames for u in utts]) / 100:.1f} s, "
          f"{np.mean([len(u.tokens) for u in utts]):.0f} tokens")
    print("| granularities | keep | masks | estimator | cells | masks / cell | CA vs map (max2d) "
          "| CA vs map (avg2d) | truth share (max2d) | reliability (avg2d) | seconds / utterance |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    reference_rows(model, utts, cas, spans)
    for setting in [*a.setting, *a.encoder_setting]:
        cells = np.mean([setting.cell_count(u, ca.shape[-1]) for u, ca in zip(utts, cas)])
        per_cell = setting.masks / len(setting.cells) / cells
        agree_max, agree_avg, share, reliability, seconds = [], [], [], [], []
        for utt, ca, span in zip(utts, cas, spans):
            frames = ca.shape[-1]
            start = time.perf_counter()
            maps = setting.maps(model, utt)
            seconds.append(time.perf_counter() - start)
            if setting.encoder:
                pooled = averaged = maps["encoder"]
            else:
                pooled, averaged = (pool_to_frames(maps["input_full"], frames, how) for how in ("max2d", "avg2d"))
            agree_max.append(correlations(ca, pooled)["pearson"])
            agree_avg.append(correlations(ca, averaged)["pearson"])
            share.append(span_mass(pooled, span))
            if a.seeds == 2:  # the same measure as evaluate.py --reliability
                reliability.extend(reliability_scores(model, utt, setting.config(), maps, frames).values())
        rel = f"{np.nanmean(reliability):.3f}" if reliability else ""
        print(f"| {setting.label()} | {cells:.0f} | {per_cell:.2f} | {np.nanmean(agree_max):.3f} | "
              f"{np.nanmean(agree_avg):.3f} | {np.nanmean(share):.3f} | {rel} | {np.mean(seconds):.2f} |", flush=True)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
