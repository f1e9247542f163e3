"""Bar charts of means with 95% CI error bars, grouped when several series (e.g. models) are given."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from probes.report.plots import as_array, new_figure, series_colours

MAX_VALUE_LABELS = 24  # bar charts print each mean only while that stays legible


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
    for k, (name, colour) in enumerate(zip(names, series_colours(names))):
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
