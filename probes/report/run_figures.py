"""The figures of one run's report, drawn from its metrics, records and ``maps.h5`` and saved as PNGs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from probes.metrics.summary import per_head_grid
from probes.metrics_layout import agreement, budget_maps, caps, curve_auc, curve_sources, per_head, per_layer
from probes.records import CA_VS_ENCODER, CA_VS_INPUT, Record, baseline_correlations, budget, correlations
from probes.report import bar_plot, budget_plot, deletion_plot, distributions_plot, layer_head_plot, plots
from probes.report.run_tables import ca_comparisons, ordered
from probes.report.tables import DIRECTIONS, as_float, comparison_label, display_name
from probes.report.utterance_plot import utterance_maps_figure
from probes.store import read_maps, stored_ids

SCORE_LABELS = {"wer": "WER (%)", "100-bleu": "100 - BLEU", "100-prob": "100 x (1 - p) (%)"}
TokenText = Callable[[int], str]
WordTimes = Mapping[str, Sequence[tuple[str, float, float]]]  # utterance id -> (word, start s, end s)


def write_layer_head_figures(metrics: Mapping[str, Any], folder: Path) -> list[Path]:
    """Pearson heatmap per comparison: layers x heads, layer means and the all-heads value."""
    paths = []
    for comparison in ca_comparisons(metrics):
        if not (by_head := per_head(metrics, comparison)):
            continue
        values = per_head_grid(by_head)
        overall = as_float((agreement(metrics, comparison) or {}).get("mean"))
        fig = layer_head_plot.layer_head_figure(values, f"Pearson r, {comparison_label(comparison)}",
                                      overall=overall if math.isfinite(overall) else None)
        paths.append(plots.save(fig, folder / f"layer_head_{comparison}.png"))
    return paths


def _pearsons(records: Sequence[Record], scores: Callable[[Record], Mapping[str, Any] | None]) -> list[float]:
    """The Pearson of every record that scored the comparison (nan where undefined)."""
    return [as_float(found.get("pearson")) for r in records if (found := scores(r)) is not None]


def write_distributions(records: Sequence[Record], folder: Path) -> Path | None:
    """Per-utterance Pearson of CA vs input, CA vs encoder and the random baseline."""
    series: dict[str, Callable[[Record], Mapping[str, Any] | None]] = {
        comparison_label(CA_VS_INPUT): lambda r: correlations(r, CA_VS_INPUT),
        comparison_label(CA_VS_ENCODER): lambda r: correlations(r, CA_VS_ENCODER),
        f"random map vs {display_name('input')}": lambda r: baseline_correlations(r, "input", "random"),
    }
    samples = {name: values for name, scores in series.items() if (values := _pearsons(records, scores))}
    if not samples:
        return None
    return plots.save(distributions_plot.distributions_figure(samples), folder / "distributions_pearson.png")


def write_convergence_figures(records: Sequence[Record], folder: Path) -> list[Path]:
    """Split-half reliability against masks per utterance, for each map an adaptive budget made."""
    paths = []
    for target in ("input", "encoder"):
        rounds = {r["id"]: checks for r in records if (checks := (budget(r, target) or {}).get("rounds"))}
        if rounds:
            fig = budget_plot.convergence_figure(rounds, f"Adaptive budget: {display_name(target)}")
            paths.append(plots.save(fig, folder / f"convergence_{target}.png"))
    return paths


BUDGET_MEASURES = {"split_half": "split-half reliability", "pearson": "Pearson with CA",
                   "span_mass": "share in true spans (clipped)", "span_mass_signed": "share in true spans (linear)"}


def write_budget_figures(metrics: Mapping[str, Any], folder: Path) -> list[Path]:
    """What each budget gave, per map an adaptive run made: the ``by_cap`` summaries against the masks."""
    paths = []
    for target in budget_maps(metrics):
        if not (capped := list(caps(metrics, target).values())):
            continue
        masks = [at["masks"]["mean"] for at in capped]
        series = {label: (masks, [at[key] for at in capped]) for key, label in BUDGET_MEASURES.items()
                  if key in capped[0]}
        fig = budget_plot.budget_figure(series, f"What each budget gives: {display_name(target)}")
        paths.append(plots.save(fig, folder / f"budget_{target}.png"))
    return paths


def write_deletion_figures(metrics: Mapping[str, Any], folder: Path, mode: str = "deletion") -> list[Path]:
    """Mean deletion (or insertion) curve of every source, one figure per curve kind."""
    paths = []
    for kind in ("prob", "text"):
        found = {s: c for s in ordered(curve_sources(metrics, mode)) if (c := curve_auc(metrics, s, kind, mode))}
        if not found:
            continue
        metric = next(iter(found.values()))["metric"]
        fig = deletion_plot.deletion_figure(
            {display_name(s): (c["percents"], c["mean_scores"]) for s, c in found.items()},
            SCORE_LABELS.get(metric, metric), f"{mode.capitalize()} ({metric}): {DIRECTIONS[mode]}",
            {display_name(s): as_float(c["mean"]) for s, c in found.items()})
        paths.append(plots.save(fig, folder / f"{mode}_{kind}.png"))
    return paths


def write_per_layer_figure(metrics: Mapping[str, Any], folder: Path) -> Path | None:
    """Bars of each layer's Pearson with CI, one series per comparison."""
    comparisons = [c for c in ca_comparisons(metrics) if per_layer(metrics, c)]
    if not comparisons:
        return None
    layers = sorted({int(l) for c in comparisons for l in per_layer(metrics, c)})

    def series(key: str) -> dict[str, list[float]]:
        return {comparison_label(c): [as_float((per_layer(metrics, c).get(str(l)) or {}).get(key)) for l in layers]
                for c in comparisons}

    fig = bar_plot.bars_figure([f"layer {l}" for l in layers], series("mean"), series("ci_low"), series("ci_high"),
                            "Pearson r", "CA vs saliency per decoder layer")
    return plots.save(bar_plot.legend_below(fig, min(3, len(comparisons))), folder / "per_layer_pearson.png")


def _shorten(text: str, width: int = 90) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def write_examples(maps_h5: Path, records: Sequence[Mapping[str, Any]], out: Path, count: int = 3,
                    word_times: WordTimes | None = None, token_text: TokenText | None = None) -> list[Path]:
    """Spectrogram, CA (all heads), pooled input and encoder saliency of the first ``count`` stored utterances."""
    panels = {"ca": "CA (mean of all layers and heads)", "input": "SPES input saliency (pooled to CA grid)",
              "encoder": "encoder-output saliency"}
    paths = []
    by_id = {r["id"]: r for r in records}
    for k, utt_id in enumerate(stored_ids(maps_h5, records, count), 1):
        stored = read_maps(maps_h5, utt_id, ["features", *panels])
        views = dict(stored.maps)
        if "ca" in views:
            views["ca"] = views["ca"].mean(axis=(0, 1))  # (L, H, I, T') -> (I, T')
        maps = {title: views[name] for name, title in panels.items() if name in views}
        labels = [(token_text or str)(t) for t in stored.tokens]
        fig = utterance_maps_figure(stored.maps["features"], maps, labels, (word_times or {}).get(utt_id),
                                    1 / by_id[utt_id]["frames_per_second"],
                                    _shorten(f"{utt_id}: {stored.hypothesis}"))
        paths.append(plots.save(fig, out / f"example_{k}.png"))
    return paths
