"""Report figures: layer x head agreement, one utterance's maps, distributions, deletion, bars, budgets.

Every builder (``layer_head_figure``, ``utterance_plot.utterance_maps_figure``, ``distributions_figure``,
``convergence_figure``, ``budget_figure``, ``budget_panels``, ``deletion_figure``, ``bars_figure``) returns a
``matplotlib.figure.Figure`` (loggers such as W&B take figures); ``save`` writes one as a PNG and returns its path.

Figures are built on ``Figure`` directly, never through pyplot, so no backend or global
figure registry is touched and nothing needs closing: a figure is freed with its last
reference. Inputs are numpy arrays, lists or torch tensors. Continuous values use
perceptually uniform colour maps; categories use the colour-blind-safe Okabe-Ito palette,
with baselines (names containing "random" or "uniform") in grey so the eye goes to the
real relevance sources first.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from probes.metrics.agreement import summarize

DPI = 120
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")  # Okabe-Ito
BASELINE_GREYS = ("#666666", "#A0A0A0")
BASELINE_WORDS = ("random", "uniform")
SUMMARY_GAP = 0.3  # blank strip between a heatmap's cells and its summaries, in cell widths
MAX_VALUE_LABELS = 24  # bar charts print each mean only while that stays legible
Series = Mapping[str, tuple[Sequence[float], Sequence[Mapping[str, Any] | None]]]  # name -> (masks, summaries)


def save(fig: Figure, path: Path | str, dpi: int = DPI) -> Path:
    """Write ``fig`` as a PNG at ``path`` (creating its folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    return path


def as_array(x: Any) -> np.ndarray:
    """Float numpy copy of an array-like or torch tensor (detached and moved to the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    return np.asarray(x, dtype=float)


def new_figure(width: float, height: float) -> Figure:
    """Empty figure of ``width`` x ``height`` inches with constrained layout."""
    return Figure(figsize=(width, height), layout="constrained")


def _is_baseline(name: str) -> bool:
    """Whether a series is a reference baseline rather than a relevance source."""
    return any(word in name.lower() for word in BASELINE_WORDS)


def _colours(names: Sequence[str]) -> list[str]:
    """One colour per name: palette colours in order for sources, greys for baselines."""
    colours, sources, baselines = [], 0, 0
    for name in names:
        if _is_baseline(name):
            colours.append(BASELINE_GREYS[baselines % len(BASELINE_GREYS)])
            baselines += 1
        else:
            colours.append(PALETTE[sources % len(PALETTE)])
            sources += 1
    return colours


def _ink(rgba: Sequence[float]) -> str:
    """Black or white, whichever reads better on a background colour."""
    luminance = 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2]
    return "black" if luminance > 0.5 else "white"


def _row_means(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its finite entries; NaN for a row with none."""
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, values, 0.0).sum(axis=1) / finite.sum(axis=1)


def _edges(cells: int, summary: bool) -> np.ndarray:
    """Cell edges along a heatmap axis: unit cells, then a narrow gap and one summary cell if asked."""
    sizes = [1.0] * cells + ([SUMMARY_GAP, 1.0] if summary else [])
    return np.concatenate([[0.0], np.cumsum(sizes)])


def layer_head_figure(
    values: Any,
    title: str,
    vmin: float = -1.0,
    vmax: float = 1.0,
    cmap: str = "viridis",
    overall: float | None = None,
    label: str = "Pearson r",
) -> Figure:
    """Heatmap of one value per decoder layer and head, written in each cell.

    Args:
        values: (L, H) values, e.g. CA-saliency correlation of each head; NaN cells stay blank.
        title: figure title.
        vmin, vmax: colour limits (values outside are clipped in colour, printed in full).
        cmap: perceptually uniform colour map name.
        overall: aggregated value shown in its own cell, e.g. the correlation of the CA
            averaged over all layers and heads (not the mean of the cells).
        label: colour bar label.

    Returns:
        The figure: heads, a blank gap, then a "layer mean" column (mean over the layer's
        finite heads); an "overall" row below when ``overall`` is given.
    """
    v = as_array(values)
    if v.ndim != 2:
        raise ValueError(f"values must be (layers, heads), got shape {v.shape}")
    layers, heads = v.shape
    grid = np.full((layers + (2 if overall is not None else 0), heads + 2), np.nan)  # NaN = blank
    grid[:layers, :heads] = v
    grid[:layers, heads + 1] = _row_means(v)
    if overall is not None:
        grid[layers + 1, heads + 1] = overall
    xs, ys = _edges(heads, True), _edges(layers, overall is not None)
    cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2

    fig = new_figure(min(10.0, max(8.0, 2.5 + 0.5 * xs[-1])), max(3.0, 1.6 + 0.42 * ys[-1]))
    ax = fig.add_subplot()
    norm = Normalize(vmin, vmax)
    colour_map = colormaps[cmap].with_extremes(bad="none")
    mesh = ax.pcolormesh(xs, ys, np.ma.masked_invalid(grid), cmap=colour_map, norm=norm)
    ax.invert_yaxis()  # layer 1 on top
    size = 9 if heads <= 10 else 7.5
    for (r, c), x in np.ndenumerate(grid):
        if np.isfinite(x):
            ink = _ink(colour_map(norm(x)))
            ax.text(cx[c], cy[r], f"{x:.2f}", ha="center", va="center", fontsize=size, color=ink)

    ax.set_xticks(
        [*cx[:heads], cx[-1]],
        labels=[*(f"head {h + 1}" for h in range(heads)), "layer mean"],
        rotation=45 if heads > 8 else 0,
        ha="right" if heads > 8 else "center",
        rotation_mode="anchor",
    )
    ax.set_yticks(
        [*cy[:layers], *([cy[-1]] if overall is not None else [])],
        labels=[*(f"layer {i + 1}" for i in range(layers)), *(["overall"] if overall is not None else [])],
    )
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    ax.set(title=title, xlabel="cross-attention head", ylabel="decoder layer")
    fig.colorbar(mesh, ax=ax, shrink=0.85, label=label)
    return fig


def _summary(name: str, finite: np.ndarray, dropped: int) -> str:
    """Legend text: name, mean with 95% CI, count and NaNs dropped."""
    s = summarize(finite)
    mean, low, high = s.mean, s.ci_low, s.ci_high
    if finite.size == 0:
        text = f"{name}: no finite values"
    elif math.isnan(low):
        text = f"{name}: mean {mean:.3f}, n={finite.size}"
    else:
        text = f"{name}: mean {mean:.3f} [{low:.3f}, {high:.3f}], n={finite.size}"
    return text + (f", {dropped} NaN dropped" if dropped else "")


def distributions_figure(
    samples: Mapping[str, Any], xlabel: str = "Pearson r", title: str = "Per-utterance agreement"
) -> Figure:
    """Violins of per-utterance values for several comparisons, each with its mean and 95% CI.

    Args:
        samples: comparison name -> per-utterance values (NaN and inf are dropped and counted).
        xlabel: what the values are.
        title: figure title.

    Returns:
        The figure: one row per comparison (first on top), utterances as dots, the mean as a
        black diamond with its Student-t 95% CI; the legend gives the numbers.
    """
    names = list(samples)
    fig = new_figure(9.0, 2.2 + 0.95 * len(names))  # a row and a legend line per comparison
    ax = fig.add_subplot()
    jitter = np.random.default_rng(0)  # fixed so a figure redraws identically
    handles = []
    for row, (name, colour) in enumerate(zip(names, _colours(names))):
        raw = as_array(samples[name]).ravel()
        x = raw[np.isfinite(raw)]
        y = len(names) - 1 - row
        if np.unique(x).size > 1:  # a KDE needs spread
            body = ax.violinplot(x, positions=[y], orientation="horizontal", widths=0.8, showextrema=False)
            body["bodies"][0].set(facecolor=colour, edgecolor=colour, alpha=0.3)
        ax.scatter(x, y + jitter.uniform(-0.12, 0.12, x.size), s=7, color=colour, alpha=0.6, lw=0)
        s = summarize(x)
        mean, low, high = s.mean, s.ci_low, s.ci_high
        if x.size:
            ax.errorbar(mean, y, xerr=[[mean - low], [high - mean]], fmt="D", ms=5, color="black", capsize=4, zorder=3)
        handles.append(Patch(facecolor=colour, alpha=0.6, label=_summary(name, x, raw.size - x.size)))
    handles.append(ax.errorbar([], [], xerr=[], fmt="D", ms=5, color="black", capsize=4, label="mean, 95% CI"))
    ax.axvline(0, color="0.6", lw=0.8, zorder=0)
    ax.set_yticks(range(len(names)), labels=names[::-1])
    ax.set(xlabel=xlabel, title=title)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(handles=handles, loc="outside lower center", fontsize=8, frameon=False)
    return fig


def convergence_figure(rounds: Mapping[str, Sequence[tuple[float, float]]], title: str) -> Figure:
    """Split-half reliability of each utterance's map as an adaptive budget doubled its masks.

    Args:
        rounds: utterance id -> (masks scored, split-half reliability) at each check, in order.
        title: figure title.

    Returns:
        The figure: masks on a log-2 axis, one line per utterance (legend: its id and final value).
    """
    fig = new_figure(9.0, 5.5)
    ax = fig.add_subplot()
    for (name, points), colour in zip(rounds.items(), _colours(list(rounds))):
        masks, reliability = (as_array([p[k] for p in points]) for k in (0, 1))
        ax.plot(masks, reliability, marker="o", ms=4, color=colour, label=f"{name} ({reliability[-1]:.3f})")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="masks scored", ylabel="split-half reliability", title=title, ylim=(min(0.0, ax.get_ylim()[0]), 1.0))
    ax.grid(alpha=0.3)
    fig.legend(title="utterance (reliability reached)", loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def _budget_lines(ax: Axes, series: Series, references: Mapping[str, float], dodge: float = 0.0) -> None:
    """One line with 95% intervals per series against the masks (log 2), each series shifted by ``dodge`` doublings
    from the last so that intervals do not hide each other, and its reference value, if any, dashed in its colour."""
    for i, ((name, (masks, stats)), colour) in enumerate(zip(series.items(), _colours(list(series)))):
        mean, low, high = (as_array([(s or {}).get(k) for s in stats]) for k in ("mean", "ci_low", "ci_high"))
        spread = np.nan_to_num(np.stack([mean - low, high - mean]))  # (2, caps); no bar where undefined
        shift = 2.0 ** (dodge * (i - (len(series) - 1) / 2))
        ax.errorbar(as_array(masks) * shift, mean, yerr=spread, marker="o", ms=4, capsize=3, color=colour, label=name)
        if name in references:
            ax.axhline(references[name], color=colour, linestyle="--", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.grid(alpha=0.3)


def budget_figure(series: Series, title: str) -> Figure:
    """Each measure's mean [95% interval] over utterances as if an adaptive run had stopped at each budget.

    Args:
        series: measure name -> (masks at each cap, the measure's summary at each cap: mean, ci_low, ci_high).
        title: figure title.

    Returns:
        The figure: masks on a log-2 axis, one line with error bars per measure.
    """
    fig = new_figure(9.0, 5.5)
    ax = fig.add_subplot()
    _budget_lines(ax, series, {})
    ax.set(xlabel="masks scored per utterance (mean)", ylabel="mean over utterances [95% interval]", title=title)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def budget_panels(panels: Mapping[str, tuple[Series, Mapping[str, float]]], title: str) -> Figure:
    """Several measures side by side, each against the masks, with the same series (e.g. models) in every panel.

    Args:
        panels: panel title -> (series name -> (masks, summaries), series name -> reference level drawn dashed).
        title: figure title.

    Returns:
        The figure: one panel per measure, masks on log-2 axes, one legend of the series below.
    """
    fig = new_figure(5.0 * len(panels), 5.0)
    for i, (name, (series, references)) in enumerate(panels.items()):
        ax = fig.add_subplot(1, len(panels), i + 1, sharex=fig.axes[0] if i else None)  # the same budgets in all
        _budget_lines(ax, series, references, dodge=0.06)
        ax.set(xlabel="masks scored per utterance (mean)", title=name)
    fig.axes[0].set_ylabel("mean over utterances [95% interval]")
    fig.suptitle(title)
    fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=8,
               frameon=False)
    return fig


def deletion_figure(
    curves: Mapping[str, tuple[Any, Any]],
    ylabel: str = "WER (%)",
    title: str = "Deletion: most relevant input removed first",
    aucs: Mapping[str, float] | None = None,
) -> Figure:
    """Score against the percentage of input deleted, one line per relevance source.

    Args:
        curves: source name -> (percent deleted 0..100, score at each percentage).
        ylabel: the score.
        title: figure title.
        aucs: area under each curve as computed by the metric code; a source missing here
            gets the trapezoid rule over percent / 100 (so WER in % gives AUC in %).

    Returns:
        The figure, with each source's AUC in the legend; baselines dashed and grey.
    """
    fig = new_figure(9.0, 5.5)
    ax = fig.add_subplot()
    for (name, (percent, score)), colour in zip(curves.items(), _colours(list(curves))):
        p, s = as_array(percent), as_array(score)
        order = np.argsort(p)
        p, s = p[order], s[order]
        auc = aucs[name] if aucs is not None and name in aucs else float(np.trapezoid(s, p / 100))
        ax.plot(
            p, s, marker="o", ms=3.5, color=colour, ls="--" if _is_baseline(name) else "-",
            label=f"{name} (AUC {auc:.4g})",
        )
    ax.set(xlabel="input deleted, most relevant first (%)", ylabel=ylabel, title=title, xlim=(0, 100))
    ax.grid(alpha=0.3)
    fig.legend(title="relevance source", loc="outside lower center", ncols=2, frameon=False)
    return fig


def _series(values: Any, groups: int, what: str) -> dict[str, np.ndarray]:
    """Bar values as name -> (groups,) array; a plain sequence is one unnamed series."""
    series = dict(values) if isinstance(values, Mapping) else {"": values}
    series = {name: as_array(v) for name, v in series.items()}
    for name, v in series.items():
        if v.shape != (groups,):
            raise ValueError(f"{what}{f' of {name!r}' if name else ''} has shape {v.shape}; expected ({groups},)")
    return series


def _print_value(ax: Axes, x: float, mean: float, end: float) -> None:
    """Write ``mean`` just beyond the bar's error bar end (below it for negative bars)."""
    if not np.isfinite(mean):
        return
    y = end if np.isfinite(end) else mean
    up = mean >= 0
    ax.annotate(
        f"{mean:.2f}", (x, y), xytext=(0, 2 if up else -2), textcoords="offset points",
        ha="center", va="bottom" if up else "top", fontsize=7,
    )


def legend_below(fig: Figure, ncols: int) -> Figure:
    """Move the first axes' legend below the plot (inside, it hides bars); the figure, for chaining."""
    ax = fig.axes[0]
    if ax.get_legend():
        ax.get_legend().remove()
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=ncols, frameon=False)
    return fig


def bars_figure(
    labels: Sequence[str], means: Any, lows: Any, highs: Any, ylabel: str, title: str
) -> Figure:
    """Bar chart of means with 95% CI error bars, grouped when several series are given.

    Args:
        labels: one label per group (e.g. "layer 1".."layer 6", or model names).
        means: (G,) values, or series name -> (G,) values for grouped bars (e.g. per model).
        lows, highs: CI bounds with the same structure as ``means``.
        ylabel: what the bars measure.
        title: figure title.

    Returns:
        The figure; each mean is printed beyond its error bar while there are at most
        ``MAX_VALUE_LABELS`` bars.
    """
    groups = len(labels)
    m, lo, hi = (_series(v, groups, what) for v, what in ((means, "means"), (lows, "lows"), (highs, "highs")))
    if not m.keys() == lo.keys() == hi.keys():
        raise ValueError(f"means, lows and highs name different series: {list(m)}, {list(lo)}, {list(hi)}")
    for name in m:
        with np.errstate(invalid="ignore"):
            if np.any(lo[name] > m[name]) or np.any(m[name] > hi[name]):
                raise ValueError(f"series {name!r}: every CI must satisfy low <= mean <= high")

    names = list(m)
    width = 0.8 / len(names)
    fig = new_figure(min(10.0, max(8.0, 2.0 + 0.35 * groups * len(names))), 4.8)
    ax = fig.add_subplot()
    x = np.arange(groups)
    print_values = groups * len(names) <= MAX_VALUE_LABELS
    for k, (name, colour) in enumerate(zip(names, _colours(names))):
        at = x + (k - (len(names) - 1) / 2) * width
        ax.bar(
            at, m[name], width * 0.95, yerr=[m[name] - lo[name], hi[name] - m[name]], color=colour,
            capsize=3, error_kw={"lw": 1}, label=name or None,
        )
        if print_values:
            for xi, mean, low, high in zip(at, m[name], lo[name], hi[name]):
                _print_value(ax, xi, mean, high if mean >= 0 else low)
    long_labels = groups > 8 or max((len(label) for label in labels), default=0) > 12
    ax.set_xticks(x, labels=labels, rotation=30 if long_labels else 0, ha="right" if long_labels else "center",
                  rotation_mode="anchor")
    ax.axhline(0, color="black", lw=0.8)
    ax.margins(y=0.12)
    ax.grid(axis="y", alpha=0.3)
    ax.set(ylabel=ylabel, title=title)
    if len(names) > 1:
        ax.legend()
    return fig
