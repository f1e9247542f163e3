"""Explain one utterance: its hypothesis, cross-attention, saliency maps and every per-utterance metric.

``explain`` returns an ``Explanation``: a JSON-ready ``record`` (what ``probes.metrics.summary``
aggregates) and the ``maps`` (what reports plot and evaluate.py stores). Names used in
records and in ``metrics.json``:

- saliency targets, all at CA's resolution (I, T'): ``input`` (SPES on the filterbank, pooled
  with ``pooling``), ``encoder`` (SPES-style on the encoder output H), and each Captum
  method by name (``saliency``, ``input_x_gradient``, ``integrated_gradients``, pooled);
- comparisons ``ca_vs_<target>`` over every CA view (``all``, ``layer:l``, ``head:l.h``);
  ``input_vs_encoder`` compares the two SPES maps; ``uniform`` and ``random`` maps are the
  baselines of every target;
- ``ground_truth``: share of each token's mass inside its word's true time span (ASR), or
  the spans of the source words aligned to it (ST); ``ground_truth.signed`` the two sums of the
  same share computed linearly (``linear_span_parts``, input maps ``avg2d``-pooled) for CA and
  the occlusion maps, which their noise does not bias: pooled over utterances, what a converged
  map would give;
- ``deletion`` / ``insertion``: AUC of the damage curves when the most relevant input is
  removed first / restored first into silence, for CA, SPES pooled to CA's grid,
  full-resolution SPES and a random map;
- ``budget``: per occlusion map, the masks it spent and its split-half reliability; with an
  adaptive budget also ``rounds`` ([masks, split-half] at each doubling) and ``by_round``
  (what the map of each smaller budget gave: its correlations with the ``all`` CA view and its
  mass in the true spans, clipped and signed), so one run shows how the answer moves as the map
  converges;
- ``timestamps``: word boundaries from CA (DTW; ``ca_alignment_heads`` too from the heads the
  model's makers time words with, Whisper's alignment heads), from pooled SPES and from the CTC
  head, against the true ones;
- ``reliability`` (when asked): Pearson between each occlusion map and a second one drawn with
  the next mask seed, the map's own noise level r: any map's Pearson with a map of
  reliability r is at most sqrt(r), and divided by sqrt(r) it estimates the agreement with a
  noise-free map (Spearman's correction for attenuation). The input maps are compared
  avg2d-pooled: max2d pooling adds a per-token offset (the largest of many noisy cells) that
  repeats across seeds, so max2d twins agree at 0.8 even when the map is mostly noise
  (``experiments/FINDINGS.md#saliency-at-the-papers-resolution-estimators-x-budgets-2026-12-03``), and an agreement
  with a max2d-pooled map cannot be corrected.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch
from torch import Tensor

from probes.attention import cross_attention, standard_views, view, view_heads
from probes.interface import ProbeModel, Utterance, hypotheses
from probes.metrics import deletion, timestamps
from probes.metrics.text import normalizer
from probes.metrics.agreement import (baselines, correlations, linear_span_parts, random_map, span_mass, token_spans,
                                     uniform_map)
from probes.saliency.encoder import EncoderSaliencyConfig, encoder_estimate, encoder_saliency
from probes.saliency.gradients import METHODS as GRADIENT_METHODS
from probes.saliency.gradients import gradient_saliency
from probes.saliency.perturbation import Estimate
from probes.saliency.pooling import POOLERS, pool_to_frames
from probes.saliency.spes import SpesConfig, spes, spes_estimate

METHODS = ("spes", "encoder", *GRADIENT_METHODS)


@dataclass(frozen=True)
class ExplainConfig:
    """What to compute for each utterance, and how much to spend on it.

    evaluate.py's ``explain`` options, a study file's ``explain:`` and settings.json's ``config`` are these fields
    (``probes.evaluation.settings``).

    Attributes:
        methods: saliency maps to compute, any of spes (input), encoder (encoder output), saliency,
            input_x_gradient, integrated_gradients.
        spes: SPES input saliency (``probes.saliency.spes``).
        encoder: encoder-output saliency (``probes.saliency.encoder``).
        ig_steps: integration points of integrated_gradients.
        pooling: input maps -> CA's grid: max2d (the paper's), avg2d, max_avg1d.
        beam_size: beam of the explained hypothesis (the paper: 5).
        deletion_steps: deletion and insertion levels: every 100/N percent.
        deletion_beam: beam when re-decoding perturbed inputs (1: greedy).
        decode_deletion: WER/BLEU deletion curves (re-decoding); the probability curves are always computed.
        timestamp_heads: CA view whose heads time the words: all, layer:6, heads:6.1,5.3, ...
        filter_width: median filter of the timestamps' DTW, in encoder frames.
        reliability: compute each occlusion map twice, with two mask seeds, and report their agreement (the maps'
            noise level; doubles their cost).
        seed: seed of the random baselines.
    """

    methods: tuple[str, ...] = ("spes", "encoder")
    spes: SpesConfig = field(default_factory=SpesConfig)
    encoder: EncoderSaliencyConfig = field(default_factory=EncoderSaliencyConfig)
    ig_steps: int = 16
    pooling: str = "max2d"
    beam_size: int = 5
    deletion_steps: int = 20
    deletion_beam: int = 1
    decode_deletion: bool = True
    timestamp_heads: str = "all"
    filter_width: int = 3
    reliability: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        """Reject unknown methods and poolers, and settings no run can honour."""
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
        if self.pooling not in POOLERS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {POOLERS}")
        for name in ("ig_steps", "beam_size", "deletion_steps", "deletion_beam", "filter_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")


@dataclass
class Explanation:
    """One utterance's metrics (``record``, JSON-ready) and maps (CPU tensors)."""

    record: dict[str, Any]
    maps: dict[str, Tensor]


def utterance_seed(seed: int, utt_id: str) -> int:
    """A seed for an utterance's random baselines that does not depend on the order of utterances."""
    return seed * 1_000_003 + zlib.crc32(utt_id.encode())


class _Clock:
    """Seconds spent per named stage."""

    def __init__(self) -> None:
        """No stage timed yet."""
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """Call ``fn`` and add its wall time to ``name``."""
        start = time.perf_counter()
        out = fn()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        return out


def budget_record(found: Estimate) -> dict[str, Any]:
    """What an occlusion map spent and reached, for the utterance's record."""
    spent: dict[str, Any] = {"masks": found.masks, "split_half": found.reliability}
    if found.rounds:
        spent["rounds"] = [list(check) for check in found.rounds]
    return spent


def saliency_maps(model: ProbeModel, utt: Utterance, config: ExplainConfig, frames: int, clock: _Clock,
                  progress: Callable[[int], object] | None = None, budget: dict[str, Any] | None = None,
                  trails: dict[str, list[Tensor]] | None = None) -> dict[str, Tensor]:
    """Every configured saliency map: full-resolution (I, T, F) ones and their (I, T') poolings.

    ``budget`` receives, per occlusion map, the masks it spent and its split-half reliability (with an adaptive
    budget, also ``rounds``: [masks, split-half reliability] at each doubling); ``trails``, with an adaptive
    budget, the map at each doubling as the estimator made it ((I, T, F) for SPES, (I, T') for the encoder).
    """
    maps: dict[str, Tensor] = {}
    spent = budget if budget is not None else {}
    kept = trails if trails is not None else {}
    if "spes" in config.methods:
        found = clock.run("spes", lambda: spes_estimate(model, utt, config.spes, progress))
        maps["input_full"], spent["input"] = found.map, budget_record(found)
        maps["input"] = pool_to_frames(maps["input_full"], frames, config.pooling)
        kept["input"] = list(found.trail)
    if "encoder" in config.methods:
        found = clock.run("encoder", lambda: encoder_estimate(model, utt, config.encoder, progress))
        maps["encoder"], spent["encoder"] = found.map, budget_record(found)
        kept["encoder"] = list(found.trail)
    for method in GRADIENT_METHODS:
        if method in config.methods:
            full = clock.run(method, lambda: gradient_saliency(model, utt, method, config.ig_steps))
            maps[method] = pool_to_frames(full, frames, config.pooling)
    return maps


def reliability_scores(model: ProbeModel, utt: Utterance, config: ExplainConfig, maps: dict[str, Tensor],
                       frames: int) -> dict[str, float]:
    """Pearson between each occlusion map and its twin from the next mask seed (input maps avg2d-pooled)."""
    out: dict[str, float] = {}
    if "input_full" in maps:
        twin = spes(model, utt, replace(config.spes, seed=config.spes.seed + 1))  # (I, T, F)
        out["input"] = correlations(pool_to_frames(maps["input_full"], frames, "avg2d"),
                                    pool_to_frames(twin, frames, "avg2d"))["pearson"]
    if "encoder" in maps:
        twin = encoder_saliency(model, utt, replace(config.encoder, seed=config.encoder.seed + 1))  # (I, T')
        out["encoder"] = correlations(maps["encoder"], twin)["pearson"]
    return out


def agreement_scores(ca: Tensor, targets: dict[str, Tensor], generator: torch.Generator) -> dict[str, Any]:
    """Correlations of every CA view with every target, SPES input vs encoder, and the baselines."""
    views = standard_views(ca)
    scores: dict[str, Any] = {f"ca_vs_{name}": {spec: correlations(m, target) for spec, m in views.items()}
                              for name, target in targets.items()}
    if "input" in targets and "encoder" in targets:
        scores["input_vs_encoder"] = correlations(targets["input"], targets["encoder"])
    scores["baselines"] = {name: baselines(target, generator) for name, target in targets.items()}
    return scores


def on_grid(m: Tensor, frames: int, pooling: str) -> Tensor:
    """A saliency map on CA's grid (I, T'): a full-resolution (I, T, F) one pooled by ``pooling``, else as it is."""
    return pool_to_frames(m, frames, pooling) if m.dim() == 3 else m


def linear_maps(maps: dict[str, Tensor], frames: int) -> dict[str, Tensor]:
    """The occlusion maps on CA's grid by a linear pooling (input: ``avg2d``), for ``linear_span_parts``."""
    sources = {"input": maps.get("input_full"), "encoder": maps.get("encoder")}
    return {name: on_grid(m, frames, "avg2d") for name, m in sources.items() if m is not None}


def true_spans(model: ProbeModel, utt: Utterance, frames: int) -> list | None:
    """Each hypothesis token's true windows on a grid of ``frames``, or None when the utterance has no ground truth."""
    if utt.words is None or (utt.task == "st" and not utt.alignment):
        return None
    return token_spans(model, utt, frames)


def ground_truth_scores(model: ProbeModel, utt: Utterance, ca: Tensor, targets: dict[str, Tensor],
                        generator: torch.Generator, linear: dict[str, Tensor] | None = None) -> dict[str, Any] | None:
    """Share of each map's mass inside the true spans (CA views, saliency maps, uniform and random); with
    ``linear`` (``linear_maps``), ``signed``: the linear share's parts of the mean CA and of each linear map."""
    tokens, frames = ca.shape[-2:]
    if (spans := true_spans(model, utt, frames)) is None:
        return None
    out: dict[str, Any] = {"ca": {spec: span_mass(m, spans) for spec, m in standard_views(ca).items()}}
    out.update({name: span_mass(m, spans) for name, m in targets.items()})
    out["uniform"] = span_mass(uniform_map(tokens, frames), spans)
    out["random"] = span_mass(random_map(tokens, frames, generator), spans)
    out["scored_tokens"] = sum(1 for s in spans if s)
    if linear:
        out["signed"] = {name: linear_span_parts(m, spans) for name, m in {"ca": view(ca, "all"), **linear}.items()}
    return out


def round_scores(model: ProbeModel, utt: Utterance, ca: Tensor, trail: list[Tensor], rounds: list[list[float]],
                 pooling: str) -> list[dict[str, Any]]:
    """What each doubling's map of an adaptive budget gave: masks, correlations with the ``all`` CA view, span mass
    (on the map pooled by ``pooling``) and the linear share's parts (on the map pooled linearly)."""
    mean_ca = view(ca, "all")  # (I, T')
    frames = ca.shape[-1]
    spans = true_spans(model, utt, frames)
    out = []
    for (masks, _), m in zip(rounds, trail):
        pooled = on_grid(m, frames, pooling)  # (I, T')
        out.append({"masks": int(masks), "ca": correlations(mean_ca, pooled),
                    "span_mass": None if spans is None else span_mass(pooled, spans),
                    "span_mass_signed": None if spans is None
                    else linear_span_parts(on_grid(m, frames, "avg2d"), spans)})
    return out


def _curve_dict(curve: deletion.Curve) -> dict[str, Any]:
    """JSON form of a deletion curve."""
    return {"auc": curve.auc, "metric": curve.metric, "percents": list(curve.percents), "scores": list(curve.scores)}


def curve_scores(model: ProbeModel, utt: Utterance, ca: Tensor, maps: dict[str, Tensor], config: ExplainConfig,
                 generator: torch.Generator) -> dict[str, Any]:
    """Deletion and insertion curves of each relevance source: probability and, when asked, WER/BLEU.

    Returns mode -> source -> {"prob": curve, "text": curve}. Each mode draws its own random map.
    """
    tokens, frames = ca.shape[-2:]
    relevance = {}
    for mode in deletion.MODES:
        # a uniform map ranks nothing: ties fall back to time order (left to right), a chance baseline like random
        relevance[mode] = {"ca": view(ca, "all"), "uniform": uniform_map(tokens, frames),
                           "random": random_map(tokens, frames, generator)}
        if "input_full" in maps:
            relevance[mode].update(saliency_pooled=maps["input"], saliency_full=maps["input_full"])
    made = deletion.curves(model, utt, relevance, model.detokenize, config.deletion_steps, config.deletion_beam,
                           config.decode_deletion, normalize=normalizer(model, utt.tgt_lang), fill=config.spes.fill)
    return {mode: {name: {"prob": _curve_dict(prob), **({"text": _curve_dict(text)} if text is not None else {})}
                   for name, (prob, text) in curves.items()}
            for mode, curves in made.items()}


def _word_times_or_none(fn: Callable[[], list | None]) -> list | None:
    """Word times, or None when the map cannot be aligned (more tokens than frames)."""
    try:
        return fn()
    except ValueError:
        return None


def timestamp_scores(model: ProbeModel, utt: Utterance, ca: Tensor, maps: dict[str, Tensor],
                     config: ExplainConfig, ctc: bool = True) -> dict[str, Any] | None:
    """Word-boundary errors of CA, saliency, CTC and baseline timestamps against the true word times (ASR only).

    Baselines: uniform (tokens spread evenly over the utterance) and a random map through DTW, drawn from a stream of
    its own so that a rescore from stored maps draws it again. A model that names its alignment heads (Whisper) is timed
    from them too, as its makers do (``ca_alignment_heads``). ``ctc`` False leaves CTC out (it needs the features).
    """
    if utt.words is None or utt.task != "asr":
        return None
    heads = [(l + 1, h + 1) for l, h in view_heads(config.timestamp_heads, ca.shape[0], ca.shape[1])]
    estimates = {"ca": _word_times_or_none(lambda: timestamps.word_times(
        model, utt.tokens, timestamps.pick_heads(ca, heads), config.filter_width))}
    if aligned := getattr(model, "alignment_heads", None):
        estimates["ca_alignment_heads"] = _word_times_or_none(lambda: timestamps.word_times(
            model, utt.tokens, timestamps.pick_heads(ca, [(l + 1, h + 1) for l, h in aligned]), config.filter_width))
    tokens, frames = ca.shape[-2:]
    estimates["uniform"] = timestamps.even_word_times(model, utt.tokens, frames)
    generator = torch.Generator().manual_seed(utterance_seed(config.seed, f"{utt.id}/timestamps"))
    maps = {**maps, "random": random_map(tokens, frames, generator)}
    for name in ("input", "encoder", "random"):
        if name in maps:
            estimates[name] = _word_times_or_none(
                lambda m=maps[name]: timestamps.word_times(model, utt.tokens, m, config.filter_width))
    if ctc:
        estimates["ctc"] = timestamps.ctc_word_times(model, utt)
    return {name: None if words is None else {**timestamps.score_word_times(words, utt.words), "words": words}
            for name, words in estimates.items()}


def explain(model: ProbeModel, utt: Utterance, config: ExplainConfig,
            progress: Callable[[int], object] | None = None) -> Explanation:
    """Hypothesis, CA and saliency of one utterance, and all its per-utterance metrics.

    ``utt.tokens`` is filled with the model's own hypothesis (beam search) when empty.
    """
    clock = _Clock()
    if not utt.tokens:
        utt.tokens = clock.run("hypothesis", lambda: hypotheses(model, utt.features[None], utt.prefix, config.beam_size)[0])
    utt.hypothesis = model.detokenize(utt.tokens)
    record: dict[str, Any] = {
        "id": utt.id, "task": utt.task, "src_lang": utt.src_lang, "tgt_lang": utt.tgt_lang,
        "reference": utt.reference, "hypothesis": utt.hypothesis, "tokens": list(utt.tokens),
        "frames": utt.num_frames, "frames_per_second": model.frames_per_second,
    }
    if not utt.tokens:
        record["skipped"] = "empty hypothesis"
        return Explanation(record, {})
    ca = clock.run("ca", lambda: cross_attention(model, utt))  # (L, H, I, T')
    record["encoder_frames"] = frames = ca.shape[-1]
    record["budget"], trails = {}, {}
    maps = {"ca": ca, **saliency_maps(model, utt, config, frames, clock, progress, record["budget"], trails)}
    targets = {name: m for name, m in maps.items() if name not in ("ca", "input_full")}
    generator = torch.Generator().manual_seed(utterance_seed(config.seed, utt.id))
    record["agreement"] = agreement_scores(ca, targets, generator)
    record["ground_truth"] = ground_truth_scores(model, utt, ca, targets, generator, linear_maps(maps, frames))
    for name, trail in trails.items():
        if trail:
            spent = record["budget"][name]
            spent["by_round"] = round_scores(model, utt, ca, trail, spent["rounds"], config.pooling)
    curves = clock.run("curves", lambda: curve_scores(model, utt, ca, maps, config, generator))
    record["deletion"], record["insertion"] = curves["deletion"], curves["insertion"]
    record["timestamps"] = clock.run("timestamps", lambda: timestamp_scores(model, utt, ca, maps, config))
    if config.reliability:
        record["reliability"] = clock.run("reliability", lambda: reliability_scores(model, utt, config, maps, frames))
    record["seconds"] = clock.seconds
    return Explanation(record, maps)

