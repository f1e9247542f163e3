"""Plot validation learning curves (WER per language, BLEU per direction) against training steps.

    crossprobe-plot-curves RUN1/metrics.csv [RUN2/metrics.csv ...] --out curves.png [--mark 12126:"dropout off"]
    .venv/bin/python -m s2t.plot_curves ...      # the same, from a checkout

Several ``metrics.csv`` files are read as one run (a run resumed in segments, each its own CSV
logger version); at a step logged twice the later file wins. ``--mark`` draws a labelled
vertical line at a step (a recipe change, say).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from matplotlib.figure import Figure

from s2t.csv_log import logged_values
from s2t.usage import prog

VALIDATION = ("valid/wer", "valid/bleu")  # the metrics plotted: WER per language, BLEU per direction


def merged_curves(files: list[Path]) -> dict[str, list[tuple[int, float]]]:
    """Each validation metric's (step, value) pairs over all files, by step."""
    merged: dict[str, dict[int, float]] = {}
    for path in files:
        if not path.is_file():
            raise SystemExit(f"error: {path}: no such metrics file")
        for key, curve in logged_values(path, VALIDATION).items():
            merged.setdefault(key, {}).update(curve)
    return {key: sorted(points.items()) for key, points in sorted(merged.items())}


def parse_mark(text: str) -> tuple[int, str]:
    """``STEP:LABEL`` as (step, label)."""
    step, _, label = text.partition(":")
    if not step.isdigit():
        raise argparse.ArgumentTypeError(f"--mark {text!r}: expected STEP:LABEL, e.g. 12126:dropout off")
    return int(step), label


def plot(curves: dict[str, list[tuple[int, float]]], marks: list[tuple[int, str]], out: Path) -> None:
    """WER curves on the left, BLEU curves on the right (a panel only where there are curves), marks on each."""
    panels = [(m, label) for m, label in (("wer", "validation WER (%)"), ("bleu", "validation BLEU"))
              if any(key.split("/")[1] == m for key in curves)]  # an ASR-only run has no BLEU panel
    fig = Figure(figsize=(6 * len(panels), 4.5), layout="tight")
    axes = fig.subplots(1, len(panels), sharex=True, squeeze=False)[0]
    for ax, (metric, label) in zip(axes, panels):
        for key, points in curves.items():
            if key.split("/")[1] == metric:
                steps, values = zip(*points)
                ax.plot(steps, values, marker="o", markersize=3, label=key.split("/")[2])
        for step, text in marks:
            ax.axvline(step, color="grey", linestyle="--", linewidth=1)
            ax.annotate(text, (step, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                        textcoords="offset points", fontsize=8, color="grey")
        ax.set(xlabel="training step", ylabel=label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``crossprobe-plot-curves`` (``python -m s2t.plot_curves``)."""
    p = argparse.ArgumentParser(prog=prog("s2t.plot_curves"), description=__doc__.split("\n\n")[0])
    p.add_argument("metrics", nargs="+", type=Path, help="metrics.csv files of a CSVLogger, oldest first")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--mark", type=parse_mark, action="append", default=[], metavar="STEP:LABEL")
    a = p.parse_args(argv)
    curves = merged_curves(a.metrics)
    if not curves:
        raise SystemExit("error: no validation WER or BLEU in " + ", ".join(map(str, a.metrics)))
    plot(curves, a.mark, a.out)
    print(f"{a.out}: {len(curves)} curves, steps {min(s for c in curves.values() for s, _ in c)}"
          f"-{max(s for c in curves.values() for s, _ in c)}")


if __name__ == "__main__":
    main()
