"""The deletion figure: a score against the percentage of input deleted, most relevant first, one line per source."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from probes.report.plots import as_array, is_baseline, new_figure, series_colours


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
    for (name, (percent, score)), colour in zip(curves.items(), series_colours(list(curves))):
        p, s = as_array(percent), as_array(score)
        order = np.argsort(p)
        p, s = p[order], s[order]
        auc = aucs[name] if aucs is not None and name in aucs else float(np.trapezoid(s, p / 100))
        ax.plot(
            p, s, marker="o", ms=3.5, color=colour, ls="--" if is_baseline(name) else "-",
            label=f"{name} (AUC {auc:.4g})",
        )
    ax.set(xlabel="input deleted, most relevant first (%)", ylabel=ylabel, title=title, xlim=(0, 100))
    ax.grid(alpha=0.3)
    fig.legend(title="relevance source", loc="outside lower center", ncols=2, frameon=False)
    return fig
