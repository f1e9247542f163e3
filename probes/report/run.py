"""Evaluation report: Markdown and CSV tables, figures and ``report.md`` from ``metrics.json`` and the records.

``write_report`` lays out OUTDIR as::

    report.md                    headline numbers next to the paper's, tables inlined, figures linked
    tables/<name>.md, <name>.csv layer_head_<comparison>_<correlation>, aggregated, per_layer,
                                 input_vs_encoder, deletion, ground_truth, timestamps, groups, cost
    figures/*.png                drawn by ``probes.report.plots``

Every number in ``report.md`` comes from ``metrics.json`` (``probes.report.tables.numbers_traceable``
checks it), except the paper's reference numbers, which live in ``PAPER`` (``probes.report.paper``)
and nowhere else. Numbers are formatted as described in ``probes.report.tables``. Sections whose
metrics a run did not compute (no encoder saliency, no ground truth, no re-decoding...) are
left out.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from probes.metrics.agreement import CORRELATIONS
from probes.report import plots
from probes.report.paper import PAPER
from probes.report.tables import (AUC, CORR, DIRECTIONS, MS, SECONDS, SHARE, Stat, Table, as_float, best_view,
                                  code_span, comparison_label, count, csv_stat, display_name, fmt, is_stat, lookup,
                                  mean_ci, mean_pm, na_reason, paper_number, stat_columns, write_table)
from probes.store import read_json, read_maps, read_records, stored_ids

SCORE_LABELS = {"wer": "WER (%)", "100-bleu": "100 - BLEU", "100-prob": "100 x (1 - p) (%)"}
SOURCE_ORDER = ("ca", "saliency_pooled", "saliency_full", "input", "encoder", "ctc", "random", "uniform")
SECONDS_PER_INPUT_FRAME = 0.01  # filterbank hop
EXAMPLES = 3  # example utterances drawn in a report
TokenText = Callable[[int], str]
WordTimes = Mapping[str, Sequence[tuple[str, float, float]]]  # utterance id -> (word, start s, end s)


# ---------------------------------------------------------------- reading metrics and maps


def _comparisons(block: Mapping[str, Any]) -> list[str]:
    """The ``ca_vs_<target>`` comparisons of a correlation block, input and encoder first."""
    names = [k for k in block if k.startswith("ca_vs_")]
    order = {"ca_vs_input": 0, "ca_vs_encoder": 1}
    return sorted(names, key=lambda k: (order.get(k, 2), k))


def _ordered(names: Iterable[str]) -> list[str]:
    """Names in report order: CA first, then saliency maps and estimators, baselines last."""
    return sorted(names, key=lambda n: (SOURCE_ORDER.index(n) if n in SOURCE_ORDER else SOURCE_ORDER.index("ctc"), n))


def _grid(per_head: Mapping[str, Any]) -> tuple[int, int]:
    """(layers, heads) spanned by per-head keys ``"l.h"``."""
    pairs = [tuple(int(p) for p in key.split(".")) for key in per_head]
    return max((l for l, _ in pairs), default=0), max((h for _, h in pairs), default=0)


def per_head_grid(per_head: Mapping[str, Any]) -> np.ndarray:
    """(L, H) array of per-head means from ``{"l.h": summary}`` (nan where undefined or missing)."""
    layers, heads = _grid(per_head)
    return np.array([[as_float(lookup(per_head, f"{l}.{h}", "mean")) for h in range(1, heads + 1)]
                     for l in range(1, layers + 1)])


# ---------------------------------------------------------------- tables


def layer_head_table(metrics: Mapping[str, Any], comparison: str, correlation: str = "pearson") -> Table | None:
    """Decoder layers x heads (and the layer mean) of one comparison and correlation."""
    block = lookup(metrics, correlation, comparison)
    if not block or not block.get("per_head"):
        return None
    layers, heads = _grid(block["per_head"])
    rows, csv_rows = [], []
    for l in range(1, layers + 1):
        cells = [block["per_head"].get(f"{l}.{h}") for h in range(1, heads + 1)] + [lookup(block, "per_layer", str(l))]
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
    pearson = metrics.get("pearson") or {}
    for comparison in _comparisons(pearson):
        yield comparison_label(comparison), comparison, {c: lookup(metrics, c, comparison, "all") for c in CORRELATIONS}
    if "input_vs_encoder" in pearson:
        yield "SPES input vs encoder-output saliency", "input_vs_encoder", {
            c: lookup(metrics, c, "input_vs_encoder") for c in CORRELATIONS}
    for target in _ordered(pearson.get("baselines") or {}):
        for baseline in ("uniform", "random"):
            yield (f"{display_name(baseline)} vs {display_name(target)}", baseline,
                   {c: lookup(metrics, c, "baselines", target, baseline) for c in CORRELATIONS})


def aggregated_table(metrics: Mapping[str, Any]) -> Table | None:
    """One row per comparison (CA over all layers and heads) and baseline: three correlations and n."""
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
                 ["comparison", "Pearson", "Spearman", "Kendall", "n", "note"], rows,
                 ["comparison", *(c for corr in CORRELATIONS for c in stat_columns(corr)[:3]), "n", "skipped", "note"],
                 csv_rows, "Mean [CI] over utterances; n counts utterances with a defined Pearson value.")


def per_layer_table(metrics: Mapping[str, Any]) -> Table | None:
    """Pearson of each decoder layer (heads averaged) with every target."""
    pearson = metrics.get("pearson") or {}
    comparisons = [c for c in _comparisons(pearson) if pearson[c].get("per_layer")]
    if not comparisons:
        return None
    layers = sorted({int(l) for c in comparisons for l in pearson[c]["per_layer"]})
    stats = [[pearson[c]["per_layer"].get(str(l)) for c in comparisons] for l in layers]
    return Table("per_layer", "Pearson per decoder layer (the layer's heads averaged)",
                 ["", *(comparison_label(c) for c in comparisons)],
                 [[f"layer {l}", *(mean_ci(s, CORR) for s in row)] for l, row in zip(layers, stats)],
                 ["layer", *(col for c in comparisons for col in stat_columns(c))],
                 [[l, *(v for s in row for v in csv_stat(s))] for l, row in zip(layers, stats)])


def input_vs_encoder_table(metrics: Mapping[str, Any]) -> Table | None:
    """CA vs input and CA vs encoder side by side: all heads, each layer, best layer, best head."""
    pearson = metrics.get("pearson") or {}
    comparisons = ["ca_vs_input", "ca_vs_encoder"]
    if not all(c in pearson for c in comparisons):
        return None
    blocks = [pearson[c] for c in comparisons]
    layers = sorted({int(l) for b in blocks for l in b.get("per_layer") or {}})
    rows: list[tuple[str, list[tuple[str, Stat | None]]]] = [("all layers and heads", [("", b.get("all")) for b in blocks])]
    rows += [(f"layer {l}", [("", lookup(b, "per_layer", str(l))) for b in blocks]) for l in layers]
    for view, prefix in (("per_layer", "layer"), ("per_head", "head")):
        best = [best_view(b.get(view) or {}) for b in blocks]
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
    auc = metrics.get(f"{mode}_auc") or {}
    kinds = [k for k in ("prob", "text") if any(k in auc[s] for s in auc)]
    if not kinds:
        return None
    names = {k: next(auc[s][k]["metric"] for s in auc if k in auc[s]) for k in kinds}
    sources = _ordered(auc)
    return Table(mode, f"{mode.capitalize()} AUC: {DIRECTIONS[mode]}",
                 ["source", *(f"{k}: {names[k]}" for k in kinds), "n"],
                 [[display_name(s), *(mean_ci(auc[s].get(k), AUC) for k in kinds),
                   count(next((auc[s][k] for k in kinds if k in auc[s]), None))] for s in sources],
                 ["source", *(col for k in kinds for col in stat_columns(f"{k}_{names[k]}"))],
                 [[s, *(v for k in kinds for v in csv_stat(auc[s].get(k)))] for s in sources],
                 "AUC of the damage curve over the share deleted (or restored), in the score's unit.")


def ground_truth_table(metrics: Mapping[str, Any]) -> Table | None:
    """Share of each map's mass inside the true word span: CA views, saliency maps, baselines."""
    truth = metrics.get("ground_truth") or {}
    if not truth:
        return None
    rows: list[tuple[str, str, Stat | None]] = []
    if "ca" in truth:
        rows.append(("CA, all layers and heads", "ca:all", truth["ca"].get("all")))
        for view, prefix in (("per_layer", "layer"), ("per_head", "head")):
            if best := best_view(truth["ca"].get(view) or {}):
                rows.append((f"CA, best {prefix} ({prefix} {best[0]})", f"ca:{prefix}:{best[0]}", best[1]))
    others = [k for k in _ordered(truth) if k != "ca" and is_stat(truth[k])]
    rows += [(display_name(k), k, truth[k]) for k in others]
    return Table("ground_truth", "Share of relevance inside the true word span (higher = better localised)",
                 ["map", "share in span", "n"], [[label, mean_ci(s, SHARE), count(s)] for label, _, s in rows],
                 ["map", *stat_columns("share")], [[key, *csv_stat(s)] for _, key, s in rows],
                 "Uniform map: the chance level (a word's share of the utterance).")


def timestamps_table(metrics: Mapping[str, Any]) -> Table | None:
    """Word-boundary error of each timestamp estimator."""
    stamps = metrics.get("timestamps") or {}
    if not stamps:
        return None
    names = _ordered(stamps)
    return Table("timestamps", "Word timestamps against the true word times",
                 ["estimator", "MAE (ms)", "within tolerance", "available"],
                 [[display_name(n), mean_ci(stamps[n].get("mae_ms"), MS), mean_ci(stamps[n].get("within"), SHARE),
                   str(stamps[n].get("available", ""))] for n in names],
                 ["estimator", *stat_columns("mae_ms"), *stat_columns("within"), "available"],
                 [[n, *csv_stat(stamps[n].get("mae_ms")), *csv_stat(stamps[n].get("within")),
                   stamps[n].get("available", "")] for n in names],
                 "MAE: mean absolute error of word starts and ends; within tolerance: share of boundaries "
                 "within the records' `tolerance_ms`; available: utterances the estimator could align.")


def groups_table(metrics: Mapping[str, Any]) -> Table | None:
    """Headline numbers per task and language pair."""
    groups = metrics.get("groups") or {}
    if not groups:
        return None
    columns = [("pearson", "ca_vs_input"), ("pearson", "ca_vs_encoder"), ("ground_truth_ca",)]
    labels = ["CA vs input (Pearson)", "CA vs encoder (Pearson)", "CA share in span"]
    specs = [CORR, CORR, SHARE]
    return Table("groups", "Per task and language pair", ["group", "n", *labels],
                 [[g, str(v.get("n", "")), *(mean_ci(lookup(v, *c), s) for c, s in zip(columns, specs))]
                  for g, v in groups.items()],
                 ["group", "n", *(col for c in columns for col in stat_columns(c[-1]))],
                 [[g, v.get("n", ""), *(x for c in columns for x in csv_stat(lookup(v, *c)))] for g, v in groups.items()])


def cost_table(metrics: Mapping[str, Any]) -> Table | None:
    """Mean wall-clock seconds per utterance of each stage."""
    seconds = metrics.get("seconds_per_utterance") or {}
    if not seconds:
        return None
    return Table("cost", "Seconds per utterance, by stage", ["stage", "seconds"],
                 [[stage, fmt(s, SECONDS)] for stage, s in seconds.items()], ["stage", "seconds"],
                 [[stage, "" if s is None else s] for stage, s in seconds.items()])


def tables(metrics: Mapping[str, Any]) -> list[Table]:
    """Every table the metrics support, in report order."""
    pearson = metrics.get("pearson") or {}
    layer_head = [layer_head_table(metrics, c, corr) for corr in CORRELATIONS for c in _comparisons(pearson)]
    built = [aggregated_table(metrics), input_vs_encoder_table(metrics), per_layer_table(metrics), *layer_head,
             deletion_table(metrics), deletion_table(metrics, "insertion"), ground_truth_table(metrics), timestamps_table(metrics),
             groups_table(metrics), cost_table(metrics)]
    return [t for t in built if t is not None]


# ---------------------------------------------------------------- figures


def layer_head_figures(metrics: Mapping[str, Any], folder: Path) -> list[Path]:
    """Pearson heatmap per comparison: layers x heads, layer means and the all-heads value."""
    paths = []
    for comparison in _comparisons(metrics.get("pearson") or {}):
        block = metrics["pearson"][comparison]
        if not block.get("per_head"):
            continue
        values = per_head_grid(block["per_head"])
        overall = as_float(lookup(block, "all", "mean"))
        paths.append(plots.layer_head_heatmap(
            values, folder / f"layer_head_{comparison}.png", f"Pearson r, {comparison_label(comparison)}",
            overall=overall if math.isfinite(overall) else None))
    return paths


def _per_utterance(records: Sequence[Mapping[str, Any]], *path: str) -> list[float]:
    """One value of every record that has it (nan where undefined)."""
    return [as_float(v) for r in records if (v := lookup(r, *path)) is not None or lookup(r, *path[:-1]) is not None]


def distributions_figure(records: Sequence[Mapping[str, Any]], folder: Path) -> Path | None:
    """Per-utterance Pearson of CA vs input, CA vs encoder and the random baseline."""
    series = {
        comparison_label("ca_vs_input"): ("agreement", "ca_vs_input", "all", "pearson"),
        comparison_label("ca_vs_encoder"): ("agreement", "ca_vs_encoder", "all", "pearson"),
        f"random map vs {display_name('input')}": ("agreement", "baselines", "input", "random", "pearson"),
    }
    samples = {name: values for name, path in series.items() if (values := _per_utterance(records, *path))}
    if not samples:
        return None
    return plots.correlation_distributions(samples, folder / "distributions_pearson.png")


def deletion_figures(metrics: Mapping[str, Any], folder: Path, mode: str = "deletion") -> list[Path]:
    """Mean deletion (or insertion) curve of every source, one figure per curve kind."""
    auc = metrics.get(f"{mode}_auc") or {}
    paths = []
    for kind in ("prob", "text"):
        found = {s: auc[s][kind] for s in _ordered(auc) if kind in auc[s]}
        if not found:
            continue
        metric = next(iter(found.values()))["metric"]
        paths.append(plots.deletion_curves(
            {display_name(s): (c["percents"], c["mean_scores"]) for s, c in found.items()},
            folder / f"{mode}_{kind}.png",
            SCORE_LABELS.get(metric, metric), f"{mode.capitalize()} ({metric}): {DIRECTIONS[mode]}",
            {display_name(s): as_float(c["mean"]) for s, c in found.items()}))
    return paths


def per_layer_figure(metrics: Mapping[str, Any], folder: Path) -> Path | None:
    """Bars of each layer's Pearson with CI, one series per comparison."""
    pearson = metrics.get("pearson") or {}
    comparisons = [c for c in _comparisons(pearson) if pearson[c].get("per_layer")]
    if not comparisons:
        return None
    layers = sorted({int(l) for c in comparisons for l in pearson[c]["per_layer"]})

    def series(key: str) -> dict[str, list[float]]:
        return {comparison_label(c): [as_float(lookup(pearson[c], "per_layer", str(l), key)) for l in layers]
                for c in comparisons}

    fig = plots.bars_figure([f"layer {l}" for l in layers], series("mean"), series("ci_low"), series("ci_high"),
                            "Pearson r", "CA vs saliency per decoder layer")
    ax = fig.axes[0]
    if ax.get_legend():  # below the plot: inside, it hides bars
        ax.get_legend().remove()
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(3, len(comparisons)),
                   frameon=False)
    return plots.save(fig, folder / "per_layer_pearson.png")


def _shorten(text: str, width: int = 90) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def example_figures(maps_h5: Path, records: Sequence[Mapping[str, Any]], out: Path, count: int = 3,
                    word_times: WordTimes | None = None, token_text: TokenText | None = None) -> list[Path]:
    """Spectrogram, CA (all heads), pooled input and encoder saliency of the first ``count`` stored utterances."""
    panels = {"ca": "CA (mean of all layers and heads)", "input": "SPES input saliency (pooled to CA grid)",
              "encoder": "encoder-output saliency"}
    paths = []
    for k, utt_id in enumerate(stored_ids(maps_h5, records, count), 1):
        stored = read_maps(maps_h5, utt_id, ["features", *panels])
        views = dict(stored.maps)
        if "ca" in views:
            views["ca"] = views["ca"].mean(axis=(0, 1))  # (L, H, I, T') -> (I, T')
        maps = {title: views[name] for name, title in panels.items() if name in views}
        labels = [(token_text or str)(t) for t in stored.tokens]
        paths.append(plots.utterance_figure(
            stored.maps["features"], maps, out / f"example_{k}.png", labels,
            (word_times or {}).get(utt_id), SECONDS_PER_INPUT_FRAME, _shorten(f"{utt_id}: {stored.hypothesis}")))
    return paths


# ---------------------------------------------------------------- report


def _headline_correlations(metrics: Mapping[str, Any]) -> list[str]:
    """Headline lines of CA vs input and CA vs encoder saliency, next to the paper's range."""
    lines = []
    papers = {"ca_vs_input": PAPER["pearson_ca_vs_input"], "ca_vs_encoder": PAPER["pearson_ca_vs_encoder"]}
    for comparison, paper in papers.items():
        s = lookup(metrics, "pearson", comparison, "all")
        if s is None:
            continue
        low, high = paper["range"]
        models = ", ".join(f"{m} {paper_number(v)}" for m, v in paper.items() if m != "range")
        lines.append(f"- **{comparison_label(comparison)}** (Pearson, CA averaged over all layers and heads): "
                     f"**{mean_ci(s, CORR)}**, n = {count(s)}. Paper: {paper_number(low)}–{paper_number(high)}"
                     + (f" ({models})." if models else "."))
        layer = best_view(lookup(metrics, "pearson", comparison, "per_layer") or {})
        head = best_view(lookup(metrics, "pearson", comparison, "per_head") or {})
        if layer and head:
            lines.append(f"  - best single layer: layer {layer[0]}, {mean_ci(layer[1], CORR)}; "
                         f"best single head: head {head[0]}, {mean_ci(head[1], CORR)}.")
    if budget := metrics.get("budget"):
        spent = ", ".join(f"{display_name(t)} {mean_ci(b['split_half'], CORR)} at {fmt(b['masks']['mean'], '.0f')} masks"
                          for t, b in budget.items())
        lines.append(f"- Map reliability (split-half, per token, stepped up to the whole map by Spearman-Brown): "
                     f"{spent} (mean masks per utterance).")
    if reliability := metrics.get("reliability"):
        twins = ", ".join(f"{display_name(t)} {mean_ci(r, CORR)}" for t, r in reliability.items())
        lines.append(f"- Reliability r of the saliency maps (Pearson of two mask seeds; no agreement with a map "
                     f"can exceed sqrt(r)): {twins}.")
    if s := lookup(metrics, "pearson", "input_vs_encoder"):
        lines.append(f"- SPES input vs encoder-output saliency (Pearson): {mean_ci(s, CORR)}.")
    if s := lookup(metrics, "pearson", "baselines", "input", "random"):
        lines.append(f"- Chance level, random map vs SPES input saliency (Pearson): {mean_ci(s, CORR)}.")
    return lines


def _headline_deletion(metrics: Mapping[str, Any]) -> list[str]:
    """Headline line of deletion AUCs, the re-decoded (WER/BLEU) curves next to the paper's WER AUCs."""
    auc = metrics.get("deletion_auc") or {}
    kind = "text" if any("text" in v for v in auc.values()) else "prob"
    found = {s: auc[s][kind] for s in _ordered(auc) if kind in auc[s]}
    if not found:
        return []
    metric = next(iter(found.values()))["metric"]
    values = ", ".join(f"{display_name(s)} {mean_ci(c, AUC)}" for s, c in found.items())
    paper = ", ".join(f"{display_name(s)} {paper_number(v)}" for s, v in PAPER["deletion_auc_wer"].items())
    if kind == "text":
        note = f"Paper (WER): {paper}." + ("" if metric == "wer" else f" Ours is `{metric}`-based: compare with care.")
    else:
        note = "Probability curves only (no re-decoding), not comparable with the paper's WER AUCs."
    return [f"- **Deletion AUC** ({code_span(metric)} curve, higher = more faithful): {values}. {note}"]


def _headline_ground_truth(metrics: Mapping[str, Any]) -> list[str]:
    """Headline line of the share of relevance inside the true word spans."""
    truth = metrics.get("ground_truth") or {}
    if not truth:
        return []
    parts = [f"CA {mean_ci(truth['ca'].get('all'), SHARE)}"] if "ca" in truth else []
    if best := best_view(lookup(truth, "ca", "per_head") or {}):
        parts.append(f"best CA head ({best[0]}) {mean_ci(best[1], SHARE)}")
    parts += [f"{display_name(k)} {mean_ci(truth[k], SHARE)}" for k in _ordered(truth)
              if k != "ca" and is_stat(truth[k])]
    return [f"- **Ground truth**, share of relevance inside the true word span: {', '.join(parts)}."]


def _headline_timestamps(metrics: Mapping[str, Any]) -> list[str]:
    """Headline line of the timestamp errors."""
    stamps = metrics.get("timestamps") or {}

    def part(name: str, v: Mapping[str, Any]) -> str:
        if not math.isfinite(as_float(lookup(v, "mae_ms", "mean"))):
            return f"{display_name(name)} n/a (available for {v.get('available', 0)})"
        return (f"{display_name(name)} {mean_ci(v['mae_ms'], MS)} ms (within tolerance "
                f"{fmt(lookup(v, 'within', 'mean'), SHARE)}, available for {v.get('available', 0)})")

    parts = [part(n, stamps[n]) for n in _ordered(stamps)]
    return [f"- **Word timestamps**, mean absolute boundary error: {'; '.join(parts)}."] if parts else []


def _headline_cost(metrics: Mapping[str, Any]) -> list[str]:
    """Headline line of the seconds per utterance."""
    seconds = metrics.get("seconds_per_utterance") or {}
    parts = [f"{stage} {fmt(s, SECONDS)}" for stage, s in seconds.items()]
    return [f"- **Cost**, seconds per utterance: {', '.join(parts)}."] if parts else []


def headline(metrics: Mapping[str, Any]) -> str:
    """The headline section: the paper's comparisons with our numbers."""
    lines = [*_headline_correlations(metrics), *_headline_deletion(metrics), *_headline_ground_truth(metrics),
             *_headline_timestamps(metrics), *_headline_cost(metrics)]
    return "## Headline\n\n" + ("\n".join(lines) if lines else "No metrics computed.") + "\n"


def _intro(metrics: Mapping[str, Any]) -> str:
    """Utterance count, skipped ids and how to read the numbers."""
    skipped = metrics.get("skipped") or {}
    left_out = ("; skipped: " + ", ".join(f"{code_span(k)} ({code_span(v)})" for k, v in skipped.items())) if skipped \
        else "; none skipped"
    return (f"{metrics.get('utterances', 0)} utterances explained{left_out}. Numbers are means over utterances "
            "with their confidence interval [low, high] (Student t); n/a marks an undefined value, with the reason "
            "in the table notes. The paper's numbers are those of Papi et al. (Cross-Attention is Half Explanation).\n")


def _figure_section(report_dir: Path, heading: str, caption: str, figures: Sequence[Path]) -> str:
    """A figure subsection: heading, one caption, image links relative to the report."""
    links = "\n\n".join(f"![{p.stem.replace('_', ' ')}]({p.relative_to(report_dir).as_posix()})" for p in figures)
    return f"### {heading}\n\n{caption}\n\n{links}\n"


def _example_section(report_dir: Path, examples: Sequence[Path], records: Sequence[Mapping[str, Any]]) -> str:
    """Example figures, each captioned with its utterance id, hypothesis and reference."""
    items = "\n\n".join(f"{example_caption(r)}\n\n![example utterance]({p.relative_to(report_dir).as_posix()})"
                        for p, r in zip(examples, records))
    return ("### Example utterances\n\nSpectrogram, CA averaged over all layers and heads, pooled input saliency "
            f"and encoder-output saliency, one token per row; reference word times when known.\n\n{items}\n")


def _figure_groups(metrics: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
                   folder: Path) -> list[tuple[str, str, list[Path]]]:
    """Draw every summary figure the metrics support; (heading, caption, paths) of each non-empty group."""
    groups = [
        ("Agreement per layer and head", "Pearson of each head's CA with the saliency map. Here the layer mean "
         "averages the heads' correlations; in the tables it correlates the heads' averaged CA, like the overall cell.",
         layer_head_figures(metrics, folder)),
        ("Per-utterance agreement", "Pearson per utterance, CA averaged over all layers and heads.",
         [p for p in [distributions_figure(records, folder)] if p]),
        ("Agreement per layer", "Pearson of each layer's head-averaged CA, with CI.",
         [p for p in [per_layer_figure(metrics, folder)] if p]),
        ("Deletion and insertion curves", "Mean curve over utterances; legend AUCs are the means of the "
         "per-utterance AUCs.", deletion_figures(metrics, folder) + deletion_figures(metrics, folder, "insertion")),
    ]
    return [g for g in groups if g[2]]


def _tables_section(built: Sequence[Table], folder: Path) -> str:
    """The Pearson tables inlined from their .md files; per-head rank-correlation tables linked."""
    ranks = [t.name for t in built if t.name.startswith("layer_head_") and not t.name.endswith("_pearson")]
    parts = ["## Tables\n", *(f"### {t.title}\n\n{(folder / f'{t.name}.md').read_text()}"
                              for t in built if t.name not in ranks)]
    if ranks:
        parts.append("Per-head rank correlations: " + ", ".join(f"[`{n}`](tables/{n}.md)" for n in ranks) + ".\n")
    return "\n".join(parts)


@dataclass(frozen=True)
class Written:
    """What ``write_report`` wrote: report.md, and every figure with its caption (for loggers)."""

    path: Path
    figures: dict[Path, str]


def example_caption(record: Mapping[str, Any]) -> str:
    """An example figure's caption: the utterance id, hypothesis and reference."""
    return (f"Utterance {code_span(record['id'])}: hypothesis {code_span(record.get('hypothesis', ''))}, reference "
            f"{code_span(record.get('reference', ''))}.")


def write_report(out: Path, metrics: dict, records: list[dict], maps_h5: Path | None, title: str,
                 word_times: dict | None = None, token_text: Callable | None = None) -> Written:
    """Write tables/, figures/ and report.md into ``out``; returns what it wrote."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    built = tables(metrics)
    for table in built:
        write_table(table, out / "tables")
    done = [r for r in records if not r.get("skipped")]
    groups = _figure_groups(metrics, done, out / "figures")
    shown = stored_ids(Path(maps_h5), done, EXAMPLES) if maps_h5 is not None and Path(maps_h5).is_file() else []
    examples = example_figures(Path(maps_h5), done, out / "figures", EXAMPLES, word_times, token_text) if shown else []
    sections = [f"# {title}\n", _intro(metrics), headline(metrics)]
    if built:
        sections.append(_tables_section(built, out / "tables"))
    if groups or examples:
        sections.append("## Figures\n")
    sections += [_figure_section(out, *group) for group in groups]
    by_id = {r["id"]: r for r in done}
    if examples:
        sections.append(_example_section(out, examples, [by_id[i] for i in shown]))
    path = out / "report.md"
    path.write_text("\n".join(sections))
    figures = {p: f"{heading}. {caption}" for heading, caption, paths in groups for p in paths}
    figures.update({p: example_caption(by_id[i]) for p, i in zip(examples, shown)})
    return Written(path, figures)


# ---------------------------------------------------------------- command line


def report_from_run(run: Path, title: str, out: Path | None = None) -> Path:
    """``write_report`` from a run folder's metrics.json, utterances.jsonl and maps.h5 (if any); report.md's path."""
    return write_report(out or run, read_json(run / "metrics.json"), read_records(run / "utterances.jsonl"),
                        run / "maps.h5", title).path


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m probes.report RUN [--title T] [--out DIR]``: (re)write a run's report."""
    p = argparse.ArgumentParser(prog="python -m probes.report", description=main.__doc__)
    p.add_argument("run", type=Path, help="folder with metrics.json, utterances.jsonl and maps.h5")
    p.add_argument("--title", default="Cross-attention vs saliency")
    p.add_argument("--out", type=Path, help="where to write (default: the run folder)")
    a = p.parse_args(argv)
    print(report_from_run(a.run, a.title, a.out))
