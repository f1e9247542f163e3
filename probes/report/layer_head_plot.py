"""The layer x head figure: one value per decoder layer and cross-attention head, with layer means and an overall cell.

A heatmap (``layer_head_figure``) of e.g. each head's CA-saliency correlation, the value written
in each cell in black or white, whichever reads better on its colour; a blank strip separates the
heads from the summary column (and the overall row).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from probes.report.plots import as_array, new_figure

SUMMARY_GAP = 0.3  # blank strip between a heatmap's cells and its summaries, in cell widths


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
