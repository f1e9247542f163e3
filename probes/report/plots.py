"""Report figures' shared conventions: style, colours, array input and ``save``.

Every builder (``layer_head_plot.layer_head_figure``, ``utterance_plot.utterance_maps_figure``,
``distributions_plot.distributions_figure``, ``budget_plot.convergence_figure``, ``budget_plot.budget_figure``,
``budget_plot.budget_panels``, ``deletion_plot.deletion_figure``, ``bar_plot.bars_figure``) returns a
``matplotlib.figure.Figure`` (loggers such as W&B take figures); ``save`` writes one as a PNG and returns its path.

Figures are built on ``Figure`` directly, never through pyplot, so no backend or global
figure registry is touched and nothing needs closing: a figure is freed with its last
reference. Inputs are numpy arrays, lists or torch tensors. Continuous values use
perceptually uniform colour maps; categories use the colour-blind-safe Okabe-Ito palette,
with baselines (names containing "random" or "uniform") in grey so the eye goes to the
real relevance sources first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

DPI = 120
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")  # Okabe-Ito
BASELINE_GREYS = ("#666666", "#A0A0A0")
BASELINE_WORDS = ("random", "uniform")


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


def is_baseline(name: str) -> bool:
    """Whether a series is a reference baseline rather than a relevance source."""
    return any(word in name.lower() for word in BASELINE_WORDS)


def series_colours(names: Sequence[str]) -> list[str]:
    """One colour per name: palette colours in order for sources, greys for baselines."""
    colours, sources, baselines = [], 0, 0
    for name in names:
        if is_baseline(name):
            colours.append(BASELINE_GREYS[baselines % len(BASELINE_GREYS)])
            baselines += 1
        else:
            colours.append(PALETTE[sources % len(PALETTE)])
            sources += 1
    return colours
