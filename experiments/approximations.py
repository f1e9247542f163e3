"""How much the approximate levers move a Whisper SPES map, beside the maps' own noise (issue 31.3, 31.5).

Per utterance this explains the hypothesis with SPES at the study's settings, exactly (the
model's own neutral fill, float32) with mask seeds 0 and 1, and once per lever with seed 0's
masks (the same masks as the first exact map):

  zero   occluded cells filled with 0 instead of Whisper's digital silence (the SPES release's fill)
  int8   every linear layer quantised to int8 (``WhisperProbe.from_pretrained(int8=True)``), as
         faster-whisper runs on CPUs

and reports, maps avg2d-pooled to CA's grid:

  seeds         Pearson of the two exact maps: the maps' own noise level
  <lever>       Pearson of the exact map and the lever's map drawn with the same masks
  CA vs SPES    the mean CA's Pearson with each map (max2d-pooled, as the study scores it); the int8
                row uses the int8 model's CA, the one an int8 run would compare
  seconds       SPES time of each map, one thread (a ratio to read on a busy machine)

A lever that moves a map no more than noise gives a value near ``seeds``; below it, the lever
changes what the map says.

    .venv/bin/python -m experiments.approximations --hf ~/.cache/crossprobe/whisper/tiny.en \\
        --manifest data/natural/test.tsv [--utterances 4] [--masks 128] [--levers zero,int8]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor

from probes.adapters.whisper import WhisperProbe
from probes.attention import cross_attention, view
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.interface import Utterance, hypotheses, occlusion_value
from probes.metrics.agreement import correlations
from probes.saliency.pooling import pool_to_frames
from probes.saliency.spes import SpesConfig, spes

LEVERS = ("zero", "int8")


def timed_spes(model: WhisperProbe, utt: Utterance, config: SpesConfig) -> tuple[Tensor, float]:
    """The (I, T, F) SPES map and the seconds it took."""
    start = time.perf_counter()
    return spes(model, utt, config), time.perf_counter() - start


def measure(models: dict[str, WhisperProbe], utt: Utterance, config: SpesConfig, levers: list[str]) -> dict[str, float]:
    """Seeds, each lever's agreement with the exact map, CA vs SPES and seconds for one utterance."""
    exact = models["exact"]
    ca = view(cross_attention(exact, utt), "all")  # (I, T')
    frames = ca.shape[-1]
    maps, seconds = {}, {}
    maps["exact"], seconds["exact"] = timed_spes(exact, utt, replace(config, seed=0))
    maps["twin"], _ = timed_spes(exact, utt, replace(config, seed=1))
    for lever in levers:
        model = models["int8"] if lever == "int8" else exact
        maps[lever], seconds[lever] = timed_spes(model, utt, replace(config, seed=0, fill="zero" if lever == "zero" else "model"))
    pooled = {name: pool_to_frames(m, frames, "avg2d") for name, m in maps.items()}
    cas = {"int8": view(cross_attention(models["int8"], utt), "all")} if "int8" in levers else {}
    out = {"seeds": correlations(pooled["exact"], pooled["twin"])["pearson"]}
    for name in ("exact", *levers):
        if name != "exact":
            out[name] = correlations(pooled["exact"], pooled[name])["pearson"]
        out[f"ca_{name}"] = correlations(cas.get(name, ca), pool_to_frames(maps[name], frames, "max2d"))["pearson"]
        out[f"s_{name}"] = seconds[name]
    return out


def line(values: dict[str, float], levers: list[str]) -> str:
    """One utterance's (or the means') numbers as text."""
    agreement = ", ".join(f"{name} {values[name]:.3f}" for name in ("seeds", *levers))
    ca = ", ".join(f"{name} {values[f'ca_{name}']:.3f}" for name in ("exact", *levers))
    seconds = ", ".join(f"{name} {values[f's_{name}']:.1f}" for name in ("exact", *levers))
    return f"agreement with the exact map: {agreement}; CA vs SPES: {ca}; seconds: {seconds}"


def main() -> None:
    """Measure and print, one line per utterance, then the means."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hf", type=Path, required=True, help="a Hugging Face Whisper folder (make whisper)")
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=4)
    p.add_argument("--masks", type=int, default=128)
    p.add_argument("--levers", default=",".join(LEVERS), help="comma-separated, of: %(default)s")
    a = p.parse_args()
    levers = [lever for lever in a.levers.split(",") if lever]
    if unknown := set(levers) - set(LEVERS):
        p.error(f"unknown levers {sorted(unknown)}; choose from {LEVERS}")
    torch.set_num_threads(1)
    models = {"exact": WhisperProbe.from_pretrained(a.hf)}
    if "int8" in levers:
        models["int8"] = WhisperProbe.from_pretrained(a.hf, int8=True)
    truth = ground_truth(a.manifest)
    rows = []
    for row in manifest_rows(a.manifest, a.utterances):
        utt = load_utterance(models["exact"], a.manifest, row, truth)
        utt.tokens = hypotheses(models["exact"], utt.features[None], utt.prefix, 5)[0]
        rows.append(measure(models, utt, SpesConfig(masks=a.masks), levers))
        print(f"{row.id}: neutral {occlusion_value(models['exact'], utt.features):.3f}; " + line(rows[-1], levers), flush=True)
    means = {key: statistics.fmean(r[key] for r in rows) for key in rows[0]}
    print(f"{a.hf.name}, {len(rows)} utterances, {a.masks} masks: " + line(means, levers))


if __name__ == "__main__":
    main()
