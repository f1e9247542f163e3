"""A Lightning ``CSVLogger``'s ``metrics.csv`` read back: each metric's (step, value) pairs."""

from __future__ import annotations

import csv
from pathlib import Path


def logged_values(metrics_csv: Path, prefixes: tuple[str, ...]) -> dict[str, list[tuple[int, float]]]:
    """(step, value) pairs, in file order, of every logged metric whose name starts with one of ``prefixes``."""
    values: dict[str, list[tuple[int, float]]] = {}
    if not metrics_csv.is_file():  # nothing logged yet (a run of fewer steps than log_every_n_steps)
        return values
    with metrics_csv.open() as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key.startswith(prefixes) and value:
                    values.setdefault(key, []).append((int(row["step"]), float(value)))
    return values
