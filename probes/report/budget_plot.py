"""Budget figures of adaptive runs: reliability as the masks doubled, and what each budget of masks gives.

``convergence_figure`` draws each utterance's split-half reliability at each check;
``budget_figure`` and ``budget_panels`` draw measures (mean and 95% interval over utterances)
as if a run had stopped at each budget, one panel per measure in ``budget_panels``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from probes.report.plots import as_array, new_figure, series_colours

Series = Mapping[str, tuple[Sequence[float], Sequence[Mapping[str, Any] | None]]]  # name -> (masks, summaries)


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
    for (name, points), colour in zip(rounds.items(), series_colours(list(rounds))):
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
    for i, ((name, (masks, stats)), colour) in enumerate(zip(series.items(), series_colours(list(series)))):
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
