"""The figure of one utterance: its spectrogram above one token x time panel per map, word boundaries marked."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from probes.report.plots import as_array, new_figure

WORD_LINE = "#F2F2F2"  # word boundaries: light on the dark ends of magma and viridis
MAX_TOKEN_LABELS = 40
WordTimes = Sequence[tuple[str, float, float]]  # (word, start s, end s)


def _robust_limits(a: np.ndarray) -> tuple[float, float]:
    """Colour limits at the 1st and 99th percentile, so one outlier cell cannot wash out a map."""
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [1, 99])
    return (float(low), float(high)) if high > low else (float(low) - 0.5, float(low) + 0.5)


def _token_ticks(count: int) -> list[int]:
    """Token rows to label: all of them up to ``MAX_TOKEN_LABELS``, else every k-th."""
    return list(range(0, count, max(1, math.ceil(count / MAX_TOKEN_LABELS))))


def _mark_words(axes: Sequence[Axes], word_times: WordTimes) -> None:
    """Word starts (solid) and ends (dashed) on every panel, word text above the first panel."""
    for ax in axes:
        for _, start, end in word_times:
            ax.axvline(start, color=WORD_LINE, lw=0.8, alpha=0.8)
            ax.axvline(end, color=WORD_LINE, lw=0.8, alpha=0.8, ls="--")
    top = axes[0].secondary_xaxis("top")
    top.set_xticks([(start + end) / 2 for _, start, end in word_times], labels=[w for w, _, _ in word_times])
    top.tick_params(length=0, labelsize=8, labelrotation=45 if len(word_times) > 12 else 0)
    top.set_xlabel("reference words", fontsize=9)


def utterance_maps_figure(
    spectrogram: Any,
    maps: Mapping[str, Any],
    token_labels: Sequence[str],
    word_times: WordTimes | None = None,
    seconds_per_input_frame: float = 0.01,
    title: str = "",
) -> Figure:
    """One utterance: its spectrogram on top, then each token x time map on the same time axis.

    Args:
        spectrogram: (T, F) filterbank.
        maps: name -> (I, T') or (I, T) map, e.g. {"CA (mean of all heads)": ..., "SPES": ...};
            each is stretched over the utterance's duration whatever its frame rate.
        token_labels: I token strings, the first at the top of each map.
        word_times: reference (word, start s, end s); drawn as light vertical lines.
        seconds_per_input_frame: hop of the spectrogram frames.
        title: figure title (none when empty).

    Returns:
        The figure; panels are labelled "spectrogram" and each map's name (``Axes.get_label``).
    """
    spec = as_array(spectrogram)
    if spec.ndim != 2:
        raise ValueError(f"spectrogram must be (frames, channels), got shape {spec.shape}")
    panels = {name: as_array(m) for name, m in maps.items()}
    tokens = len(token_labels)
    for name, m in panels.items():
        if m.ndim != 2 or m.shape[0] != tokens:
            raise ValueError(f"map {name!r} has shape {m.shape}; expected ({tokens}, frames) for {tokens} tokens")
    duration = spec.shape[0] * seconds_per_input_frame

    map_height = min(4.5, max(1.6, 0.11 * tokens))
    heights = [1.8, *[map_height] * len(panels)]
    fig = new_figure(10.0, sum(heights) + 1.2)
    axes = fig.subplots(len(heights), 1, sharex=True, height_ratios=heights, squeeze=False)[:, 0]

    image = axes[0].imshow(
        spec.T, origin="lower", aspect="auto", cmap="magma", extent=(0, duration, 0, spec.shape[1])
    )
    axes[0].set(title="log-mel filterbank", ylabel="channel", label="spectrogram")
    fig.colorbar(image, ax=axes[0], pad=0.01, aspect=10)

    ticks = _token_ticks(tokens)
    labelsize = 8 if tokens <= 20 else 6.5
    for ax, (name, m) in zip(axes[1:], panels.items()):
        low, high = _robust_limits(m)
        image = ax.imshow(
            m, aspect="auto", cmap="viridis", vmin=low, vmax=high, interpolation="nearest",
            extent=(0, duration, tokens - 0.5, -0.5),  # row 0 (first token) on top
        )
        ax.set_yticks(ticks, labels=[token_labels[i] for i in ticks], fontsize=labelsize)
        ax.set(title=name, ylabel="output token", label=name)
        fig.colorbar(image, ax=ax, pad=0.01, aspect=10)

    if word_times:
        _mark_words(axes, word_times)
    axes[-1].set(xlabel="time (s)", xlim=(0, duration))
    if title:
        fig.suptitle(title)
    return fig
