"""Report figures: each writes a readable PNG, and the builders draw what they were given."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from probes.report import bar_plot, budget_plot, deletion_plot, distributions_plot, layer_head_plot, plots
from probes.report.utterance_plot import MAX_TOKEN_LABELS, utterance_maps_figure

RNG = np.random.default_rng(0)
WORDS = [("the", 0.1, 0.3), ("cat", 0.35, 0.8), ("sat", 0.9, 1.4)]


def _png(path: Path) -> np.ndarray:
    """Read back a written PNG after checking it exists and is non-empty; (rows, columns, channels)."""
    assert path.is_file() and path.stat().st_size > 0
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image


def _width_ok(image: np.ndarray) -> None:
    """Figures are sized for a report: 8-10 inches wide at the module's dpi."""
    assert 8 * plots.DPI <= image.shape[1] <= 10 * plots.DPI


def _utterance(tokens: int = 5, frames: int = 150) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """Spectrogram (T, F) and two maps, one at encoder and one at input resolution."""
    spec = RNG.normal(size=(frames, 80))
    maps = {"CA": RNG.random((tokens, math.ceil(frames / 4))), "saliency": RNG.random((tokens, frames))}
    return spec, maps, [f"t{i}" for i in range(tokens)]


def test_layer_head_figure_saves_as_png(tmp_path: Path) -> None:
    fig = layer_head_plot.layer_head_figure(RNG.uniform(-1, 1, (6, 8)), "per head", overall=0.6)
    out = plots.save(fig, tmp_path / "sub" / "heat.png")
    assert out == tmp_path / "sub" / "heat.png"
    image = _png(out)
    _width_ok(image)
    assert image.shape[0] < image.shape[1]


def test_layer_head_cells_show_values_layer_means_and_overall() -> None:
    values = np.array([[0.111, -0.25, 0.5], [0.9, 0.0, -0.333]])
    fig = layer_head_plot.layer_head_figure(values, "t", overall=0.777)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    expected = [f"{v:.2f}" for v in values.ravel()] + [f"{m:.2f}" for m in values.mean(axis=1)] + ["0.78"]
    assert texts == sorted(expected)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["head 1", "head 2", "head 3", "layer mean"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["layer 1", "layer 2", "overall"]
    assert ax.get_title() == "t" and ax.get_xlabel() and ax.get_ylabel()


def test_layer_head_nan_cells_are_blank(tmp_path: Path) -> None:
    values = np.array([[0.2, np.nan], [np.nan, np.nan]])
    fig = layer_head_plot.layer_head_figure(torch.tensor(values), "with NaN")
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["0.20", "0.20"]  # one finite cell; layer 1's mean skips the NaN, layer 2 has none
    mask = np.ma.getmaskarray(fig.axes[0].collections[0].get_array()).reshape(2, 4)
    assert mask[0, 1] and mask[1, :2].all() and mask[1, 3] and not mask[0, 0]
    _png(plots.save(fig, tmp_path / "nan.png"))


def test_utterance_figure_panels_share_the_duration(tmp_path: Path) -> None:
    spec, maps, tokens = _utterance()
    fig = utterance_maps_figure(spec, maps, tokens, WORDS, seconds_per_input_frame=0.01, title="utt")
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_label() for ax in panels] == ["spectrogram", "CA", "saliency"]
    for ax in panels:
        assert ax.get_xlim() == pytest.approx((0.0, 1.5))
        assert ax.get_title()
    for ax in panels[1:]:
        assert [t.get_text() for t in ax.get_yticklabels()] == tokens
        assert ax.get_ylim() == pytest.approx((4.5, -0.5))  # first token on top
    assert panels[-1].get_xlabel() == "time (s)"
    image = _png(plots.save(utterance_maps_figure(spec, maps, tokens, WORDS), tmp_path / "utt.png"))
    _width_ok(image)


def test_utterance_labels_every_kth_token_beyond_forty() -> None:
    spec, maps, tokens = _utterance(tokens=90)
    fig = utterance_maps_figure(spec, maps, tokens)
    labels = [t.get_text() for t in fig.axes[2].get_yticklabels()]
    assert labels == tokens[::3] and len(labels) <= MAX_TOKEN_LABELS


def test_utterance_rejects_maps_with_the_wrong_token_count() -> None:
    spec, maps, tokens = _utterance()
    with pytest.raises(ValueError, match="'CA'"):
        utterance_maps_figure(spec, maps, tokens[:-1])


def test_utterance_map_with_nan_draws(tmp_path: Path) -> None:
    spec, maps, tokens = _utterance()
    maps["CA"][1] = np.nan
    maps["saliency"][:] = np.nan
    _png(plots.save(utterance_maps_figure(spec, maps, tokens), tmp_path / "nan.png"))


def test_correlation_distributions_count_dropped_nans(tmp_path: Path) -> None:
    samples = {
        "CA vs input": [*RNG.normal(0.6, 0.1, 50), math.nan, math.nan],
        "random baseline": torch.tensor(RNG.normal(0, 0.05, 50)),
        "one value": [0.3, math.nan],
        "all NaN": [math.nan],
    }
    fig = distributions_plot.distributions_figure(samples)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0].startswith("CA vs input: mean") and legend[0].endswith("n=50, 2 NaN dropped")
    assert "NaN" not in legend[1]
    assert legend[2] == "one value: mean 0.300, n=1, 1 NaN dropped"
    assert legend[3] == "all NaN: no finite values, 1 NaN dropped"
    _width_ok(_png(plots.save(distributions_plot.distributions_figure(samples), tmp_path / "dist.png")))


def test_legend_shows_the_student_t_interval() -> None:
    half = 4.302653 / math.sqrt(3)  # t(0.975, 2) * sd 1 / sqrt(3)
    assert distributions_plot._summary("CA", np.array([1.0, 2.0, 3.0]), 1) == (
        f"CA: mean 2.000 [{2 - half:.3f}, {2 + half:.3f}], n=3, 1 NaN dropped")


def test_deletion_legend_prefers_given_aucs(tmp_path: Path) -> None:
    p = list(range(0, 101, 10))
    curves = {"CA": (p, [10 + 0.4 * x for x in p]), "random": (p, [50.0] * len(p))}
    fig = deletion_plot.deletion_figure(curves, aucs={"CA": 41.2})
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["CA (AUC 41.2)", "random (AUC 50)"]  # random falls back to the trapezoid rule
    assert fig.axes[0].get_xlim() == (0, 100)
    _width_ok(_png(plots.save(fig, tmp_path / "del.png")))


def test_bars_single_and_grouped(tmp_path: Path) -> None:
    means = np.array([0.4, 0.5, np.nan])
    _width_ok(_png(plots.save(bar_plot.bars_figure(["layer 1", "layer 2", "layer 3"], means, means - 0.05, means + 0.05,
                                                "Pearson r", "per layer"), tmp_path / "bars.png")))
    labels = ["en ASR", "it ASR"]
    grouped = {"small": [0.63, 0.6], "large": [0.62, 0.59]}
    lows = {k: [v - 0.02 for v in vs] for k, vs in grouped.items()}
    highs = {k: [v + 0.02 for v in vs] for k, vs in grouped.items()}
    fig = bar_plot.bars_figure(labels, grouped, lows, highs, "Pearson r", "by model")
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["small", "large"]
    assert sorted(t.get_text() for t in ax.texts) == ["0.59", "0.60", "0.62", "0.63"]


def test_bars_reject_inverted_intervals() -> None:
    with pytest.raises(ValueError, match="low <= mean <= high"):
        bar_plot.bars_figure(["a"], [0.5], [0.6], [0.7], "r", "t")


def test_budget_figure_draws_each_measure_with_its_interval(tmp_path: Path) -> None:
    def stat(mean: float, half: float) -> dict:
        return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}

    series = {"clipped": ([8192, 16384], [stat(0.25, 0.05), stat(0.30, 0.04)]),
              "linear": ([8192, 16384], [stat(0.70, 0.1), {"mean": 0.71, "ci_low": None, "ci_high": None}])}
    fig = budget_plot.budget_figure(series, "What each budget gives")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and [c.lines[0].get_ydata().tolist() for c in ax.containers] == [[0.25, 0.30], [0.70, 0.71]]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["clipped", "linear"]
    _width_ok(_png(plots.save(fig, tmp_path / "budget.png")))


def test_budget_panels_draw_every_series_per_panel_dodged_with_its_dashed_level(tmp_path: Path) -> None:
    def stat(mean: float) -> dict:
        return {"mean": mean, "ci_low": mean - 0.05, "ci_high": mean + 0.05}

    series = {"a": ([8192, 16384], [stat(0.4), stat(0.45)]), "b": ([8192, 16384], [stat(0.3), stat(0.32)])}
    fig = budget_plot.budget_panels({"reliability": (series, {}), "agreement": (series, {"b": 0.29})}, "Budgets")
    assert [ax.get_title() for ax in fig.axes] == ["reliability", "agreement"]
    for ax in fig.axes:
        (a_x, b_x) = (c.lines[0].get_xdata() for c in ax.containers)
        assert ax.get_xscale() == "log" and (a_x < [8192, 16384]).all() and (b_x > [8192, 16384]).all()  # dodged apart
        assert [c.lines[0].get_ydata().tolist() for c in ax.containers] == [[0.4, 0.45], [0.3, 0.32]]
    dashed = [line for line in fig.axes[1].lines if line.get_linestyle() == "--"]
    assert [line.get_ydata()[0] for line in dashed] == [0.29] and dashed[0].get_color() == fig.axes[1].containers[1].lines[0].get_color()
    assert not [line for line in fig.axes[0].lines if line.get_linestyle() == "--"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]  # one legend for all panels
    _width_ok(_png(plots.save(fig, tmp_path / "panels.png")))


def test_convergence_figure_draws_each_utterance_on_a_log2_mask_axis(tmp_path: Path) -> None:
    rounds = {"u1": [(8192, 0.45), (16384, 0.62), (32768, 0.76)], "u2": [(8192, 0.91)]}
    fig = budget_plot.convergence_figure(rounds, "Adaptive budget")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and [line.get_xdata().tolist() for line in ax.lines] == [[8192, 16384, 32768], [8192]]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["u1 (0.760)", "u2 (0.910)"]  # the reliability reached
    _width_ok(_png(plots.save(fig, tmp_path / "convergence.png")))
