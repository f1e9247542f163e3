"""A study folder read back: its trained models, their explain runs, and the few summaries read from them.

``load_study`` reads ``models/<model>/quality.json`` and ``models/<model>/explain/<group>/metrics.json`` (see
``study.report``) into ``ModelResults``, in report order; the helpers below read the summaries that both the study
tables (``study.report``) and the findings (``study.findings``) quote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from probes.report.paper import QUALITY_TARGETS
from probes.metrics_layout import agreement, per_head, seed_reliability, split_half
from probes.records import CA_VS_ENCODER, CA_VS_INPUT
from probes.report.tables import Stat, as_float, code_span, is_stat, lookup
from probes.store import read_json
from s2t.models.config import PRESETS  # by size, smallest first
from study.paired import capped, compare, first_doubling, records_by_id

KINDS = ("monolingual ASR", "multilingual ASR", "multilingual ASR+ST")
ENGLISH_ASR = "asr_en"


@dataclass
class ModelResults:
    """A model's study folder read back, not the model: its quality.json ({} when absent), each group's metrics.json."""

    name: str
    quality: dict[str, Any]
    groups: dict[str, dict[str, Any]]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # each explain run's settings.json
    paper: dict[str, dict[str, Any]] = field(default_factory=dict)  # paper_resolution/<group>/metrics.json
    paper_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # and their settings.json
    paired: dict[str, dict[str, Any]] = field(default_factory=dict)  # per paper run: ``paired_runs`` of its records

    @property
    def multilingual(self) -> bool:
        """Whether the model was trained on more than one language (a pretrained one: knows more than one)."""
        return max(len(self.quality.get("languages") or []), self.quality.get("model_languages") or 0) > 1

    @property
    def kind(self) -> str:
        """``monolingual ASR``, ``multilingual ASR+ST``, ``pretrained multilingual, tested on ASR``...; ``unknown``
        without quality.json."""
        if not self.quality:
            return "unknown"
        tasks = "+".join(t.upper() for t in sorted(self.quality.get("tasks") or [])) or "?"
        if self.quality.get("pretrained"):
            return f"pretrained {'multilingual' if self.multilingual else 'monolingual'}, tested on {tasks}"
        return f"{'multilingual' if self.multilingual else 'monolingual'} {tasks}"

    @property
    def preset(self) -> str:
        """The model preset, "" when unknown."""
        return str(self.quality.get("preset") or "")


def _group_key(group: str) -> tuple[bool, bool, str]:
    """Group order: English ASR, other ASR, then translation directions."""
    return not group.startswith("asr_"), group != ENGLISH_ASR, group


def _model_key(m: ModelResults) -> tuple[int, int, float, str]:
    """Model order: by kind, then preset (smallest first), parameters and name."""
    rank = lambda x, xs: xs.index(x) if x in xs else len(xs)  # noqa: E731
    return rank(m.kind, KINDS), rank(m.preset, tuple(PRESETS)), as_float(m.quality.get("parameters") or 0), m.name


def load_study(study: Path) -> list[ModelResults]:
    """Every model folder of ``study/models`` with its quality and explain runs, in report order."""
    models = []
    for folder in sorted(p for p in (Path(study) / "models").glob("*") if p.is_dir()):
        runs, settings = _runs(folder / "explain")
        paper, paper_settings = _runs(folder / "paper_resolution")
        paired = {g: found for g in paper if (found := paired_runs(folder / "explain" / g, folder / "paper_resolution" / g))}
        models.append(ModelResults(folder.name, read_json(folder / "quality.json"), runs, settings, paper, paper_settings,
                            paired))
    return sorted(models, key=_model_key)


def paired_runs(coarse: Path, fine: Path) -> dict[str, Any] | None:
    """A paper-resolution run beside the coarse run of its group on the utterances both explained, differences paired
    (``study.paired.compare``): runs ``coarse``, ``first_doubling`` (an adaptive run as its first doubling
    left it, when it doubled) and ``paper``; None without both runs' records."""
    if not ((coarse / "utterances.jsonl").is_file() and (fine / "utterances.jsonl").is_file()):
        return None
    paper = records_by_id(fine)
    runs = {"coarse": records_by_id(coarse)}
    if first := first_doubling(paper):
        runs["first_doubling"] = {u: capped(r, first) for u, r in paper.items()}
    try:
        found = compare({**runs, "paper": paper})
    except ValueError:  # no shared utterance
        return None
    if first:  # what doubling on to convergence changed, paired, on the same utterances
        shared = found["utterances"]
        gain = compare({"first_doubling": {u: runs["first_doubling"][u] for u in shared}, "paper": paper})
        found["paper_minus_first_doubling"] = gain["differences"]["paper"]
    return {**found, "first_doubling_masks": first}


def _runs(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Each ``folder/<group>/``'s metrics.json and settings.json, by group in report order."""
    groups = sorted((p.parent.name for p in folder.glob("*/metrics.json")), key=_group_key)
    return ({g: read_json(folder / g / "metrics.json") for g in groups},
            {g: read_json(folder / g / "settings.json") for g in groups})


def group_quality(quality: Mapping[str, Any], group: str) -> tuple[str, float]:
    """The measure a group is held to and the model's test value: ``asr_en`` -> ("WER en", wer["en"]), nan if absent."""
    task, _, langs = group.partition("_")
    key, scores = (("WER", quality.get("wer")) if task == "asr" else ("BLEU", quality.get("bleu")))
    return f"{key} {langs}", as_float((scores or {}).get(langs, math.nan))


def targets(quality: Mapping[str, Any]) -> dict[str, float]:
    """The targets a model was held to: its quality.json's ``targets``, else the study's default ``QUALITY_TARGETS``."""
    return {**QUALITY_TARGETS, **(quality.get("targets") or {})}


def meets_target(quality: Mapping[str, Any], group: str) -> bool:
    """Whether the model's test score on a group meets its target (by default WER <= 15 %, BLEU >= 40)."""
    measure, value = group_quality(quality, group)
    if measure.startswith("WER"):
        return value <= targets(quality)["wer_max"]
    return value >= targets(quality)["bleu_min"]


def explain_runs(models: Sequence[ModelResults]) -> Iterator[tuple[ModelResults, str, dict[str, Any]]]:
    """(model, group, metrics) of every explain run whose model meets its quality target on the group.

    A model that misses its target on a group does not listen or translate well enough there for its attention to
    mean anything: such runs are listed by ``missed_targets`` and draw no finding.
    """
    return ((m, group, metrics) for m in models for group, metrics in m.groups.items()
            if meets_target(m.quality, group))


def paper_runs(models: Sequence[ModelResults]) -> Iterator[tuple[ModelResults, str, dict[str, Any]]]:
    """(model, group, metrics) of every paper-resolution run whose model meets its quality target on the group."""
    return ((m, group, metrics) for m in models for group, metrics in m.paper.items()
            if meets_target(m.quality, group))


def missed_targets(models: Sequence[ModelResults]) -> list[tuple[ModelResults, str, str, float]]:
    """(model, group, measure, value) of every explain run left out because its model missed the target there."""
    return [(m, g, *group_quality(m.quality, g)) for m in models for g in m.groups if not meets_target(m.quality, g)]


def run_span(m: ModelResults, group: str) -> str:
    """``model/group`` as a code span."""
    return code_span(f"{m.name}/{group}")


def ca_stat(metrics: Mapping[str, Any] | None, comparison: str, corr: str = "pearson") -> Stat | None:
    """CA (all layers and heads) vs a target, when defined."""
    s = agreement(metrics, comparison, corr)
    return s if is_stat(s) and math.isfinite(as_float(s["mean"])) else None


def mean_of_heads(metrics: Mapping[str, Any], comparison: str) -> float:
    """Mean over single heads of their mean Pearson (nan without heads): a derived value."""
    means = [v for s in per_head(metrics, comparison).values()
             if math.isfinite(v := as_float(s.get("mean")))]
    return sum(means) / len(means) if means else math.nan


def encoder_gain(metrics: Mapping[str, Any]) -> float:
    """CA-vs-encoder minus CA-vs-input Pearson mean (nan unless both exist): a derived value."""
    enc, inp = ca_stat(metrics, CA_VS_ENCODER), ca_stat(metrics, CA_VS_INPUT)
    return as_float(enc["mean"]) - as_float(inp["mean"]) if enc and inp else math.nan


def pooling(settings: Mapping[str, Any] | None) -> str:
    """How a run pooled its input maps to CA's grid (evaluate.py --pooling; max2d when unrecorded)."""
    return str(lookup(settings, "config", "pooling") or "max2d")


def corrected(metrics: Mapping[str, Any], comparison: str, settings: Mapping[str, Any] | None) -> float:
    """Pearson mean divided by sqrt of the saliency map's two-seed reliability (nan without both): a derived value.

    Spearman's correction for attenuation: the agreement CA would have with a noise-free map. It holds for maps whose
    noise is independent across mask seeds: encoder-output maps, and input maps averaged to CA's grid (avg2d, the
    pooling the reliability is measured with). Max pooling's bias repeats across seeds, so an agreement with a
    max2d-pooled input map (the default) is not corrected (nan).
    """
    s = ca_stat(metrics, comparison)
    target = comparison.removeprefix("ca_vs_")
    if target == "input" and pooling(settings) != "avg2d":
        return math.nan
    r = as_float((seed_reliability(metrics, target) or {}).get("mean"))
    return as_float(s["mean"]) / math.sqrt(r) if s and r > 0 else math.nan


def map_reliability(metrics: Mapping[str, Any], target: str) -> Stat | None:
    """A saliency map's reliability: two mask seeds' Pearson when the run measured it, else its split-half one."""
    twins = seed_reliability(metrics, target)
    return twins if is_stat(twins) else split_half(metrics, target)

