"""Score prediction files per language and direction, with bootstrap confidence intervals.

    python -m s2t.score outputs/run/predictions.tsv [more.tsv ...] [--resamples 1000] [--confidence 0.95]

Reads the TSV files that ``train.py predict`` writes (one per rank under DDP), computes WER and
CER (ASR) or BLEU (ST) per language or direction, the same corpus-level numbers ``train.py
test`` logs, and a percentile bootstrap interval over utterances, so that two splits or two
checkpoints can be compared with their sampling noise in view.

Each utterance's sufficient statistics (edit errors and reference length; clipped n-gram
matches, n-gram counts and lengths) are the state of the very torchmetrics metric that
training logs (``s2t.module.METRICS``; BLEU is sacreBLEU's, 13a tokens) after that one
utterance, so a resample only sums them and lets the metric compute from the sum.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import bootstrap

from s2t.data.manifest import TASKS
from s2t.module import METRICS, metric_key, metric_names
from s2t.predictions import COLUMNS, Prediction
from s2t.usage import prog


class ScoreError(ValueError):
    """A prediction file that cannot be scored; the message names the file and row."""


@dataclass(frozen=True)
class Score:
    """A corpus-level metric of one language or direction, in percent, with its bootstrap interval."""

    key: str
    metric: str
    value: float
    low: float
    high: float
    rows: int


def read_predictions(paths: list[Path]) -> list[Prediction]:
    """Rows of ``train.py predict`` files; an unreadable file, a missing column or a repeated id is an error."""
    rows: dict[str, Prediction] = {}
    for path in paths:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ScoreError(f"{path}: missing column(s) {missing}; expected {list(COLUMNS)} (written by train.py predict)")
            for line, row in enumerate(reader, start=2):
                if row["task"] not in TASKS:
                    raise ScoreError(f"{path} line {line}: task {row['task']!r} is none of {TASKS}")
                if row["id"] in rows:
                    raise ScoreError(f"{path} line {line}: id {row['id']!r} appears twice")
                rows[row["id"]] = Prediction(**{c: row[c] or "" for c in COLUMNS})
    if not rows:
        raise ScoreError(f"{', '.join(map(str, paths))}: no prediction to score")
    return list(rows.values())


def statistics(metric: str, hypothesis: str, reference: str) -> np.ndarray:
    """One utterance's sufficient statistics: the metric's state after this pair alone, flattened."""
    m = METRICS[metric]()
    m.update([hypothesis], [[reference]] if metric == "bleu" else [reference])
    return np.concatenate([state.double().numpy().ravel() for state in m.metric_state.values()])


def corpus_value(metric: str, total: np.ndarray) -> float:
    """The metric in percent from summed statistics, computed by the metric itself as on a whole corpus."""
    m = METRICS[metric]()
    offset = 0
    for name, state in m.metric_state.items():
        setattr(m, name, torch.from_numpy(total[offset:offset + state.numel()]).reshape(state.shape).to(state.dtype))
        offset += state.numel()
    return 100 * float(type(m).compute(m))  # the class's compute: no "compute before update" warning, no cache


def score_group(key: str, metric: str, rows: list[Prediction], resamples: int, confidence: float, seed: int) -> Score:
    """Value and percentile bootstrap interval of one metric over one language's or direction's rows."""
    stats = np.stack([statistics(metric, r.hypothesis, r.reference) for r in rows])  # (rows, statistics)
    value = corpus_value(metric, stats.sum(axis=0))
    low = high = float("nan")
    if resamples > 0 and len(rows) > 1:
        ci = bootstrap((np.arange(len(rows)),), lambda idx: corpus_value(metric, stats[idx].sum(axis=0)), n_resamples=resamples,
                       vectorized=False, method="percentile", confidence_level=confidence, rng=np.random.default_rng(seed))
        low, high = float(ci.confidence_interval.low), float(ci.confidence_interval.high)
    return Score(key, metric, value, low, high, len(rows))


def score(rows: list[Prediction], resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> list[Score]:
    """WER and CER of every ASR language, BLEU of every ST direction, sorted by task then key."""
    groups: dict[tuple[str, str], list[Prediction]] = {}
    for row in rows:
        groups.setdefault((row.task, metric_key(row.task, row.src_lang, row.tgt_lang)), []).append(row)
    return [score_group(key, metric, group, resamples, confidence, seed)
            for (task, key), group in sorted(groups.items())
            for metric in metric_names(task)]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m s2t.score``: print one line per language or direction and metric."""
    p = argparse.ArgumentParser(prog=prog("s2t.score"), description=__doc__.split("\n\n")[0])
    p.add_argument("predictions", nargs="+", type=Path, help="predictions.tsv file(s) written by train.py predict")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples; 0 skips the interval (default %(default)s)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the interval (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default %(default)s)")
    a = p.parse_args(argv)
    try:
        scores = score(read_predictions(a.predictions), a.resamples, a.confidence, a.seed)
    except (OSError, ScoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{'key':<8}{'metric':<8}{'value':>8}  {f'{a.confidence:.0%} interval':<18}{'rows':>6}")
    for s in scores:
        print(f"{s.key:<8}{s.metric:<8}{s.value:>8.2f}  [{s.low:6.2f}, {s.high:6.2f}]   {s.rows:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
