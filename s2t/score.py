"""Score prediction files per language and direction, with bootstrap confidence intervals.

    python -m s2t.score outputs/run/predictions.tsv [more.tsv ...] [--resamples 1000] [--confidence 0.95]

Reads the TSV files that ``train.py predict`` writes (one per rank under DDP), computes WER and
CER (ASR) or BLEU (ST) per language or direction, the same corpus-level numbers ``train.py
test`` logs, and a percentile bootstrap interval over utterances, so that two splits or two
checkpoints can be compared with their sampling noise in view.

Each utterance's sufficient statistics (edit errors and reference length; clipped n-gram
matches, n-gram counts and lengths) are computed once with torchmetrics' own update functions,
so a resample only sums them: a thousand resamples take about half a second per metric.
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
from torchmetrics.functional.text.bleu import _bleu_score_compute, _bleu_score_update
from torchmetrics.functional.text.cer import _cer_update
from torchmetrics.functional.text.wer import _wer_update

from s2t.data.manifest import TASKS
from s2t.module import metric_key, metric_names
from s2t.predictions import COLUMNS, Prediction

N_GRAM = 4


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
    """One utterance's sufficient statistics: (errors, reference length) or BLEU's 2 * N_GRAM + 2 counts."""
    if metric in ("wer", "cer"):
        update = _wer_update if metric == "wer" else _cer_update
        return np.array([float(x) for x in update([hypothesis], [reference])])
    matches, counts = torch.zeros(N_GRAM), torch.zeros(N_GRAM)
    hyp_len, ref_len = _bleu_score_update([hypothesis], [[reference]], matches, counts, torch.tensor(0.0), torch.tensor(0.0), N_GRAM)
    return np.concatenate([matches.numpy(), counts.numpy(), [float(hyp_len), float(ref_len)]])


def corpus_value(metric: str, total: np.ndarray) -> float:
    """The metric in percent from summed statistics (as torchmetrics computes it on the whole corpus)."""
    if metric in ("wer", "cer"):
        return 100 * total[0] / total[1] if total[1] > 0 else float("nan")
    matches, counts, (hyp_len, ref_len) = (torch.from_numpy(total[:N_GRAM]), torch.from_numpy(total[N_GRAM:2 * N_GRAM]),
                                           torch.from_numpy(total[2 * N_GRAM:]))
    if hyp_len == 0:
        return 0.0
    return 100 * float(_bleu_score_compute(hyp_len, ref_len, matches, counts, N_GRAM, [1 / N_GRAM] * N_GRAM, False))


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
    p = argparse.ArgumentParser(prog="python -m s2t.score", description=__doc__.split("\n\n")[0])
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
