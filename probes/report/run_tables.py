"""The tables of one run's report, built from its ``metrics.json`` (``probes.report.run_report`` writes them)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping

from probes.metrics.agreement import CORRELATIONS
from probes.metrics.summary import per_head_grid
from probes.metrics_layout import (Metrics, agreement, aligned, baseline, baseline_targets, boundary_error, budget_maps,
                                   caps, comparisons, curve_auc, curve_sources, estimators, group_agreement,
                                   group_size, group_truth_share, groups, has_truth, linear_maps, linear_truth_share,
                                   per_head, per_layer, saliency_agreement, seconds_per_utterance, truth_maps,
                                   truth_per_head, truth_per_layer, truth_share, views, within_tolerance)
from probes.records import CA_VS_ENCODER, CA_VS_INPUT
from probes.report.tables import (AUC, CORR, DIRECTIONS, LINEAR_NOTE, MS, SECONDS, SHARE, Stat, Table, best_view,
                                  comparison_label, count, csv_stat, display_name, fmt, mean_ci,
                                  mean_count, mean_pm, na_reason, stat_columns)

CORRELATION_LABELS = {"pearson": "Pearson", "pearson_token": "Pearson per token", "spearman": "Spearman",
                      "kendall": "Kendall"}
SOURCE_ORDER = ("ca", "ca_alignment_heads", "saliency_pooled", "saliency_full", "input", "encoder", "ctc", "random", "uniform")


def ca_comparisons(metrics: Metrics, correlation: str = "pearson") -> list[str]:
    """The ``ca_vs_<target>`` comparisons a run scored with one correlation, input and encoder first."""
    order = {CA_VS_INPUT: 0, CA_VS_ENCODER: 1}
    return sorted(comparisons(metrics, correlation), key=lambda k: (order.get(k, 2), k))


def ordered(names: Iterable[str]) -> list[str]:
    """Names in report order: CA first, then saliency maps and estimators, baselines last."""
    return sorted(names, key=lambda n: (SOURCE_ORDER.index(n) if n in SOURCE_ORDER else SOURCE_ORDER.index("ctc"), n))


def layer_head_table(metrics: Mapping[str, Any], comparison: str, correlation: str = "pearson") -> Table | None:
    """Decoder layers x heads (and the layer mean) of one comparison and correlation."""
    by_head, by_layer = per_head(metrics, comparison, correlation), per_layer(metrics, comparison, correlation)
    if not by_head:
        return None
    layers, heads = per_head_grid(by_head).shape
    rows, csv_rows = [], []
    for l in range(1, layers + 1):
        cells = [by_head.get(f"{l}.{h}") for h in range(1, heads + 1)] + [by_layer.get(str(l))]
        rows.append([f"layer {l}", *(mean_pm(s, CORR) for s in cells)])
        csv_rows.append([l, *(v for s in cells for v in csv_stat(s)[:3])])
    columns = [f"h{h}" for h in range(1, heads + 1)] + ["layer mean"]
    csv_header = ["layer", *(c for h in range(1, heads + 1) for c in stat_columns(f"head{h}")[:3]),
                  *stat_columns("layer_view")[:3]]
    return Table(f"layer_head_{comparison}_{correlation}",
                 f"{correlation.capitalize()}, {comparison_label(comparison)}, per decoder layer and head",
                 ["", *columns], rows, csv_header, csv_rows,
                 "Cells: mean ± CI half-width over utterances; layer mean = the layer's heads averaged first.")


def _aggregated_rows(metrics: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Stat | None]]]:
    """(label, kind, correlation -> summary) of every aggregated comparison."""
    for comparison in ca_comparisons(metrics):
        yield comparison_label(comparison), comparison, {c: agreement(metrics, comparison, c) for c in CORRELATIONS}
    if saliency_agreement(metrics) is not None:
        yield "SPES input vs encoder-output saliency", "input_vs_encoder", {
            c: saliency_agreement(metrics, c) for c in CORRELATIONS}
    for target in ordered(baseline_targets(metrics)):
        for kind in ("uniform", "random"):
            yield (f"{display_name(kind)} vs {display_name(target)}", kind,
                   {c: baseline(metrics, target, kind, c) for c in CORRELATIONS})


def aggregated_table(metrics: Mapping[str, Any]) -> Table | None:
    """One row per comparison (CA over all layers and heads) and baseline: every correlation and n."""
    rows, csv_rows = [], []
    for label, kind, stats in _aggregated_rows(metrics):
        first = stats["pearson"]
        note = "; ".join(dict.fromkeys(r for r in (na_reason(s, kind) for s in stats.values()) if r))
        rows.append([label, *(mean_ci(stats[c], CORR) for c in CORRELATIONS), count(first), note])
        csv_rows.append([label, *(v for c in CORRELATIONS for v in csv_stat(stats[c])[:3]),
                         int(first["n"]) if first else 0, int(first.get("skipped") or 0) if first else 0, note])
    if not rows:
        return None
    return Table("aggregated", "Agreement of CA (all layers and heads) with each saliency map, and the baselines",
                 ["comparison", *(CORRELATION_LABELS[c] for c in CORRELATIONS), "n", "note"], rows,
                 ["comparison", *(c for corr in CORRELATIONS for c in stat_columns(corr)[:3]), "n", "skipped", "note"],
                 csv_rows, "Mean [CI] over utterances; n counts utterances with a defined Pearson value.")


def per_layer_table(metrics: Mapping[str, Any]) -> Table | None:
    """Pearson of each decoder layer (heads averaged) with every target."""
    made = [c for c in ca_comparisons(metrics) if per_layer(metrics, c)]
    if not made:
        return None
    layers = sorted({int(l) for c in made for l in per_layer(metrics, c)})
    stats = [[per_layer(metrics, c).get(str(l)) for c in made] for l in layers]
    return Table("per_layer", "Pearson per decoder layer (the layer's heads averaged)",
                 ["", *(comparison_label(c) for c in made)],
                 [[f"layer {l}", *(mean_ci(s, CORR) for s in row)] for l, row in zip(layers, stats)],
                 ["layer", *(col for c in made for col in stat_columns(c))],
                 [[l, *(v for s in row for v in csv_stat(s))] for l, row in zip(layers, stats)])


def input_vs_encoder_table(metrics: Mapping[str, Any]) -> Table | None:
    """CA vs input and CA vs encoder side by side: all heads, each layer, best layer, best head."""
    comparisons = [CA_VS_INPUT, CA_VS_ENCODER]
    if not all(views(metrics, c) for c in comparisons):
        return None
    layers = sorted({int(l) for c in comparisons for l in per_layer(metrics, c)})
    rows: list[tuple[str, list[tuple[str, Stat | None]]]] = [
        ("all layers and heads", [("", agreement(metrics, c)) for c in comparisons])]
    rows += [(f"layer {l}", [("", per_layer(metrics, c).get(str(l))) for c in comparisons]) for l in layers]
    for by_view, prefix in ((per_layer, "layer"), (per_head, "head")):
        best = [best_view(by_view(metrics, c)) for c in comparisons]
        rows.append((f"best {prefix}", [(f"{prefix} {k[0]}", k[1]) if k else ("", None) for k in best]))
    md = [[label, *(mean_ci(s, CORR) + (f" ({which})" if which else "") for which, s in cells)] for label, cells in rows]
    csv_rows = [[label, *(v for which, s in cells for v in [which, *csv_stat(s)])] for label, cells in rows]
    return Table("input_vs_encoder", "CA vs input saliency and CA vs encoder-output saliency (Pearson)",
                 ["view", *(comparison_label(c) for c in comparisons)], md,
                 ["view", *(col for c in comparisons for col in [f"{c}_view", *stat_columns(c)])], csv_rows,
                 "The paper: agreement with the encoder-output saliency is higher, so part of the gap "
                 "with the input saliency is the encoder's context mixing.")


def deletion_table(metrics: Mapping[str, Any], mode: str = "deletion") -> Table | None:
    """AUC of each relevance source and curve kind, for deletion or insertion curves."""
    sources = ordered(curve_sources(metrics, mode))
    auc = {s: {k: a for k in ("prob", "text") if (a := curve_auc(metrics, s, k, mode))} for s in sources}
    kinds = [k for k in ("prob", "text") if any(k in auc[s] for s in sources)]
    if not kinds:
        return None
    names = {k: next(auc[s][k]["metric"] for s in sources if k in auc[s]) for k in kinds}
    return Table(mode, f"{mode.capitalize()} AUC: {DIRECTIONS[mode]}",
                 ["source", *(f"{k}: {names[k]}" for k in kinds), "n"],
                 [[display_name(s), *(mean_ci(auc[s].get(k), AUC) for k in kinds),
                   count(next((auc[s][k] for k in kinds if k in auc[s]), None))] for s in sources],
                 ["source", *(col for k in kinds for col in stat_columns(f"{k}_{names[k]}"))],
                 [[s, *(v for k in kinds for v in csv_stat(auc[s].get(k)))] for s in sources],
                 "AUC of the damage curve over the share deleted (or restored), in the score's unit.")


def ground_truth_table(metrics: Mapping[str, Any]) -> Table | None:
    """Share of each map's mass inside the true word span: CA views, saliency maps, baselines."""
    if not has_truth(metrics):
        return None
    rows: list[tuple[str, str, Stat | None]] = []
    if (ca := truth_share(metrics)) is not None:
        rows.append(("CA, all layers and heads", "ca:all", ca))
        for by_view, prefix in ((truth_per_layer, "layer"), (truth_per_head, "head")):
            if best := best_view(by_view(metrics)):
                rows.append((f"CA, best {prefix} ({prefix} {best[0]})", f"ca:{prefix}:{best[0]}", best[1]))
    rows += [(display_name(k), k, truth_share(metrics, k)) for k in ordered(truth_maps(metrics))]
    signed = {k: linear_truth_share(metrics, k) for k in linear_maps(metrics) if k != "ca"}  # CA's: its share
    rows += [(f"{display_name(k)}, linear", f"signed:{k}", v) for k, v in signed.items()]
    return Table("ground_truth", "Share of relevance inside the true word span (higher = better localised)",
                 ["map", "share in span", "n"], [[label, mean_ci(s, SHARE), count(s)] for label, _, s in rows],
                 ["map", *stat_columns("share")], [[key, *csv_stat(s)] for _, key, s in rows],
                 "Uniform map: the chance level (a word's share of the utterance)." + (f" {LINEAR_NOTE}" if signed else ""))


def timestamps_table(metrics: Mapping[str, Any]) -> Table | None:
    """Word-boundary error of each timestamp estimator."""
    names = ordered(estimators(metrics))
    if not names:
        return None
    return Table("timestamps", "Word timestamps against the true word times",
                 ["estimator", "MAE (ms)", "within tolerance", "available"],
                 [[display_name(n), mean_ci(boundary_error(metrics, n), MS),
                   mean_ci(within_tolerance(metrics, n), SHARE), str(aligned(metrics, n))] for n in names],
                 ["estimator", *stat_columns("mae_ms"), *stat_columns("within"), "available"],
                 [[n, *csv_stat(boundary_error(metrics, n)), *csv_stat(within_tolerance(metrics, n)),
                   aligned(metrics, n)] for n in names],
                 "MAE: mean absolute error of word starts and ends; within tolerance: share of boundaries "
                 "within the records' `tolerance_ms`; available: utterances the estimator could align.")


def groups_table(metrics: Mapping[str, Any]) -> Table | None:
    """Headline numbers per task and language pair."""
    by_group = groups(metrics)
    if not by_group:
        return None
    columns: dict[str, Callable[[Mapping[str, Any]], Stat | None]] = {  # CSV name -> the group's summary
        CA_VS_INPUT: lambda v: group_agreement(v, CA_VS_INPUT),
        CA_VS_ENCODER: lambda v: group_agreement(v, CA_VS_ENCODER),
        "ground_truth_ca": group_truth_share}
    labels = ["CA vs input (Pearson)", "CA vs encoder (Pearson)", "CA share in span"]
    specs = [CORR, CORR, SHARE]
    return Table("groups", "Per task and language pair", ["group", "n", *labels],
                 [[g, str(group_size(v)), *(mean_ci(c(v), s) for c, s in zip(columns.values(), specs))]
                  for g, v in by_group.items()],
                 ["group", "n", *(col for c in columns for col in stat_columns(c))],
                 [[g, group_size(v), *(x for c in columns.values() for x in csv_stat(c(v)))]
                  for g, v in by_group.items()])


def budget_table(metrics: Mapping[str, Any]) -> Table | None:
    """What an adaptive run's maps said at each budget its doublings passed: reliability, CA agreement, span mass."""
    rows, csv_rows = [], []
    capped = [(target, cap, at) for target in ordered(budget_maps(metrics))
              for cap, at in caps(metrics, target).items()]
    names = ["split_half", "pearson", "pearson_token", "span_mass"]
    labels = ["split-half", "CA Pearson", "per token", "in true spans"]
    if any("span_mass_signed" in at for _, _, at in capped):
        names.append("span_mass_signed")
        labels.append("in true spans, linear")
    for target, cap, at in capped:
        cells = [at.get(name) for name in names]
        rows.append([display_name(target), cap, mean_count(at["masks"]["mean"]),
                     *(mean_ci(c, spec) for c, spec in zip(cells, (CORR, CORR, CORR, SHARE, SHARE))),
                     count(at["pearson"])])
        csv_rows.append([target, int(cap), at["masks"]["mean"], *(v for c in cells for v in csv_stat(c)[:3])])
    if not rows:
        return None
    return Table("budget", "What each budget gives: the adaptive run's maps as if capped there",
                 ["map", "cap", "masks", *labels, "n"], rows,
                 ["map", "cap", "masks", *(c for name in names for c in stat_columns(name)[:3])], csv_rows,
                 "Each utterance's map at its last doubling within the cap (the masks column: their mean); CA: "
                 "all layers and heads. Mean [CI] over utterances.")


def cost_table(metrics: Mapping[str, Any]) -> Table | None:
    """Mean wall-clock seconds per utterance of each stage."""
    seconds = seconds_per_utterance(metrics)
    if not seconds:
        return None
    return Table("cost", "Seconds per utterance, by stage", ["stage", "seconds"],
                 [[stage, fmt(s, SECONDS)] for stage, s in seconds.items()], ["stage", "seconds"],
                 [[stage, "" if s is None else s] for stage, s in seconds.items()])


def tables(metrics: Mapping[str, Any]) -> list[Table]:
    """Every table the metrics support, in report order."""
    layer_head = [layer_head_table(metrics, c, corr) for corr in CORRELATIONS for c in ca_comparisons(metrics)]
    built = [aggregated_table(metrics), input_vs_encoder_table(metrics), per_layer_table(metrics), *layer_head,
             deletion_table(metrics), deletion_table(metrics, "insertion"), ground_truth_table(metrics), timestamps_table(metrics),
             groups_table(metrics), budget_table(metrics), cost_table(metrics)]
    return [t for t in built if t is not None]
