"""The distributions figure: per-utterance values of several comparisons as violins, each with its mean and 95% CI."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from probes.metrics.agreement import summarize
from probes.report.plots import as_array, new_figure, series_colours
from probes.report.tables import mean_ci


def _summary(name: str, finite: np.ndarray, dropped: int) -> str:
    """Legend text: name, mean with 95% CI, count and NaNs dropped."""
    if finite.size == 0:
        text = f"{name}: no finite values"
    else:
        text = f"{name}: mean {mean_ci(dataclasses.asdict(summarize(finite)), '.3f')}, n={finite.size}"
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
    for row, (name, colour) in enumerate(zip(names, series_colours(names))):
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
