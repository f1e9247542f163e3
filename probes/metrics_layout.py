"""The layout of ``metrics.json`` and how to read it: every reader of a run's metrics goes through the accessors here.

``probes.metrics.summary.summarize_records`` writes the file: a summary ``{mean, ci_low, ci_high, n, std, skipped}``
over utterances (``Stat``) for each number, laid out::

    utterances, skipped: {id: reason}
    <correlation>.ca_vs_<target>.{all, per_layer.{L}, per_head.{"L.H"}}; <correlation>.input_vs_encoder;
        <correlation>.baselines.<target>.{uniform, random}
    deletion_auc|insertion_auc.<source>.{prob, text}: summary with metric, percents, mean_scores
    ground_truth.{ca.{all, per_layer, per_head}, <map>, uniform, random}; ground_truth.signed.<map>: pooled linear share
    alignment_heads: [["L.H", share in true spans], ...], best first
    timestamps.<estimator>.{mae_ms, within, available}; reliability.<map>
    budget.<map>.{masks, split_half, by_cap.{"<masks>": {masks, split_half, pearson, pearson_token, span_mass,
        span_mass_signed}}}: an adaptive run as if capped at each budget its doublings passed
    hypothesis.{tokens, tokens_per_word}; baselines: every family's uniform and random rows
    seconds_per_utterance.<stage>; groups.{"<task> <src>-<tgt>"}.{n, pearson.ca_vs_<target>, ground_truth_ca}

Correlations: pearson, pearson_token, spearman, kendall (``probes.metrics.agreement.CORRELATIONS``). Layers and heads
count from 1. The layout has had one version (``probes.records.SCHEMA_VERSION`` 1) in every metrics.json committed:
a file made before a number existed lacks it (no per-token Pearson, budget, linear shares, hypothesis lengths), and
the accessors below give None or an empty collection for it, so older files read as they are, with no upgrade step.
Every accessor takes None (a run that is missing) as a run with nothing in it.
"""

from __future__ import annotations

from typing import Any, Mapping, TypedDict

from probes.records import dig

Metrics = Mapping[str, Any] | None  # one run's metrics.json, or None for a run that is missing


class Stat(TypedDict):
    """One number summarised over utterances (``probes.metrics.agreement.summarize``); undefined parts are null."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    std: float | None
    skipped: int


class CurveStat(Stat):
    """A deletion or insertion AUC's summary, with its score and the mean curve."""

    metric: str
    percents: list[float]
    mean_scores: list[float]


def _keys(block: Any) -> list[str]:
    """The keys of a block, in file order ([] when it is missing)."""
    return list(block) if isinstance(block, Mapping) else []


def _is_stat(x: Any) -> bool:
    """Whether ``x`` is one summary."""
    return isinstance(x, Mapping) and "mean" in x


# ---------------------------------------------------------------- agreement


def comparisons(metrics: Metrics, correlation: str = "pearson") -> list[str]:
    """The ``ca_vs_<target>`` comparisons a run scored with one correlation, in file order."""
    return [k for k in _keys(dig(metrics, correlation)) if k.startswith("ca_vs_")]


def views(metrics: Metrics, comparison: str, correlation: str = "pearson") -> dict[str, Any] | None:
    """A comparison's summaries by view: ``all``, ``per_layer``, ``per_head``; None when not made."""
    return dig(metrics, correlation, comparison)


def agreement(metrics: Metrics, comparison: str, correlation: str = "pearson") -> Stat | None:
    """CA over all layers and heads against a saliency map, e.g. ``agreement(m, "ca_vs_input")``; None when not made."""
    return dig(metrics, correlation, comparison, "all")


def per_layer(metrics: Metrics, comparison: str, correlation: str = "pearson") -> dict[str, Stat]:
    """Each decoder layer's head-averaged CA against a saliency map, by layer ("1", "2"...; {} when not made)."""
    return dig(metrics, correlation, comparison, "per_layer") or {}


def per_head(metrics: Metrics, comparison: str, correlation: str = "pearson") -> dict[str, Stat]:
    """Each head's CA against a saliency map, by head ("1.1", "1.2"...; {} when not made)."""
    return dig(metrics, correlation, comparison, "per_head") or {}


def saliency_agreement(metrics: Metrics, correlation: str = "pearson") -> Stat | None:
    """The input saliency map against the encoder-output one (``input_vs_encoder``); None when not made."""
    return dig(metrics, correlation, "input_vs_encoder")


def baseline_targets(metrics: Metrics, correlation: str = "pearson") -> list[str]:
    """The saliency maps the uniform and random maps were scored against, in file order."""
    return _keys(dig(metrics, correlation, "baselines"))


def baseline(metrics: Metrics, target: str, kind: str, correlation: str = "pearson") -> Stat | None:
    """A uniform or random (kind) map against a saliency map (target: input, encoder); None when not made."""
    return dig(metrics, correlation, "baselines", target, kind)


# ---------------------------------------------------------------- deletion and insertion


def curve_sources(metrics: Metrics, mode: str = "deletion") -> list[str]:
    """The relevance sources of a run's deletion or insertion (mode) curves, in file order."""
    return _keys(dig(metrics, f"{mode}_auc"))


def curve_auc(metrics: Metrics, source: str, kind: str, mode: str = "deletion") -> CurveStat | None:
    """The AUC of one source's deletion or insertion (mode) curve of the prob or text kind; None when not made."""
    return dig(metrics, f"{mode}_auc", source, kind)


def curve_kind(metrics: Metrics, mode: str = "deletion") -> str:
    """``text`` (re-decoded WER or BLEU curves) when any source of the mode has it, else ``prob``."""
    return "text" if any(curve_auc(metrics, s, "text", mode) for s in curve_sources(metrics, mode)) else "prob"


# ---------------------------------------------------------------- ground truth


def has_truth(metrics: Metrics) -> bool:
    """Whether the run scored its maps against true word spans."""
    return bool(dig(metrics, "ground_truth"))


def truth_share(metrics: Metrics, source: str = "ca") -> Stat | None:
    """The clipped share of a map's relevance in the true word spans (CA: all layers and heads); None when not made."""
    return dig(metrics, "ground_truth", "ca", "all") if source == "ca" else dig(metrics, "ground_truth", source)


def truth_maps(metrics: Metrics) -> list[str]:
    """The maps other than CA with a clipped true-span share (saliency maps, uniform, random), in file order."""
    truth = dig(metrics, "ground_truth") or {}
    return [k for k, v in truth.items() if k != "ca" and _is_stat(v)]


def truth_per_layer(metrics: Metrics) -> dict[str, Stat]:
    """CA's true-span share of each decoder layer (heads averaged), by layer ({} when not made)."""
    return dig(metrics, "ground_truth", "ca", "per_layer") or {}


def truth_per_head(metrics: Metrics) -> dict[str, Stat]:
    """CA's true-span share of each head, by head ({} when not made)."""
    return dig(metrics, "ground_truth", "ca", "per_head") or {}


def linear_maps(metrics: Metrics) -> list[str]:
    """The maps with a linear true-span share (CA's among them), in file order ([] in a run made before them)."""
    return _keys(dig(metrics, "ground_truth", "signed"))


def linear_truth_share(metrics: Metrics, source: str) -> Stat | None:
    """A map's linear true-span share (``ground_truth.signed``: pooled, unbiased by its noise); None when not made."""
    return dig(metrics, "ground_truth", "signed", source)


# ---------------------------------------------------------------- word timestamps


def estimators(metrics: Metrics) -> list[str]:
    """The word-timestamp estimators a run scored, in file order."""
    return _keys(dig(metrics, "timestamps"))


def boundary_error(metrics: Metrics, estimator: str) -> Stat | None:
    """An estimator's mean absolute word-boundary error (ms); None when not made."""
    return dig(metrics, "timestamps", estimator, "mae_ms")


def within_tolerance(metrics: Metrics, estimator: str) -> Stat | None:
    """An estimator's share of word boundaries within the records' tolerance; None when not made."""
    return dig(metrics, "timestamps", estimator, "within")


def aligned(metrics: Metrics, estimator: str) -> int:
    """How many utterances an estimator could align (0 when not made)."""
    return dig(metrics, "timestamps", estimator, "available") or 0


# ---------------------------------------------------------------- the saliency maps' budget and noise


def reliability_maps(metrics: Metrics) -> list[str]:
    """The occlusion maps whose two-seed reliability a run measured, in file order."""
    return _keys(dig(metrics, "reliability"))


def seed_reliability(metrics: Metrics, target: str) -> Stat | None:
    """Pearson of an occlusion map with its twin from another mask seed; None when not measured."""
    return dig(metrics, "reliability", target)


def budget_maps(metrics: Metrics) -> list[str]:
    """The occlusion maps whose budget a run recorded, in file order."""
    return _keys(dig(metrics, "budget"))


def masks_spent(metrics: Metrics, target: str) -> Stat | None:
    """Masks an occlusion map spent per utterance; None when not recorded."""
    return dig(metrics, "budget", target, "masks")


def split_half(metrics: Metrics, target: str) -> Stat | None:
    """An occlusion map's split-half reliability (Spearman-Brown); None when not recorded."""
    return dig(metrics, "budget", target, "split_half")


def caps(metrics: Metrics, target: str) -> dict[str, dict[str, Any]]:
    """An adaptive run's summaries as if capped at each budget its doublings passed, by cap ({} when not adaptive):
    ``masks`` and the measures of ``probes.metrics.summary.CAPPED``."""
    return dig(metrics, "budget", target, "by_cap") or {}


def by_cap(metrics: Metrics, target: str, key: str) -> tuple[list[float], list[Any]]:
    """An adaptive run's mean masks and ``key`` summary at each budget its doublings passed (``caps``).

    A run rescored after it was made has its linear share (``span_mass_signed``) at its final map only: the last
    budget's is then ``ground_truth.signed.<map>``, the final map's.
    """
    at = list(caps(metrics, target).values())
    stats = [cap.get(key) for cap in at]
    if key == "span_mass_signed" and stats[-1] is None:
        stats[-1] = linear_truth_share(metrics, target)
    return [cap["masks"]["mean"] for cap in at], stats


# ---------------------------------------------------------------- the rest


def tokens_per_word(metrics: Metrics) -> Stat | None:
    """Tokens per word of the explained hypotheses; None in a run made before they were recorded."""
    return dig(metrics, "hypothesis", "tokens_per_word")


def seconds_per_utterance(metrics: Metrics) -> dict[str, float | None]:
    """Mean wall time of each stage per utterance ({} when not recorded)."""
    return dig(metrics, "seconds_per_utterance") or {}


def groups(metrics: Metrics) -> dict[str, dict[str, Any]]:
    """The headline numbers by task and language pair (``asr en-en``...; {} when not made): see ``group_*``."""
    return dig(metrics, "groups") or {}


def group_size(group: Mapping[str, Any]) -> int:
    """How many utterances of one group were explained."""
    return dig(group, "n") or 0


def group_agreement(group: Mapping[str, Any], comparison: str) -> Stat | None:
    """One group's CA (all layers and heads) against a saliency map, Pearson; None when not made."""
    return dig(group, "pearson", comparison)


def group_truth_share(group: Mapping[str, Any]) -> Stat | None:
    """One group's clipped true-span share of CA; None when not made."""
    return dig(group, "ground_truth_ca")


def explained_count(metrics: Metrics) -> int:
    """How many utterances the run explained."""
    return dig(metrics, "utterances") or 0


def skipped(metrics: Metrics) -> dict[str, str]:
    """The utterances left out, with why, by id."""
    return dig(metrics, "skipped") or {}
