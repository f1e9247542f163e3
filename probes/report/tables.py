"""Numbers and tables shared by the run report (``probes.report.run_report``) and the study report (``study.report``).

Reading (``metrics.json`` itself is read through ``probes.metrics_layout``): ``lookup`` walks other nested files
(settings.json, paired comparisons), ``as_float`` reads a value (JSON null is nan), ``is_stat`` tells a
summary ``{"mean", "ci_low", "ci_high", "n", ...}`` (``Stat``) apart, ``best_view`` picks the best layer or head.

Writing: numbers are formatted one way per kind: correlations and span shares ``.3f``, deletion AUCs and
milliseconds ``.1f``, seconds ``.3g``; a mean is followed by its confidence interval
``[low, high]`` (Student t, ``probes.metrics.agreement.summarize``), or in per-head tables by its
half-width ``± h``. Undefined values read "n/a" with the reason. Identifiers (utterance ids,
hypotheses, file names) are written as code spans, which carry no metric numbers. A ``Table``
is written as ``<name>.md`` (Markdown, for reading) and ``<name>.csv`` (raw values).

Checking: ``numbers_traceable`` lists the numbers of a report that are neither a rounding of
a measured value nor one of the paper's (``probes.report.paper``).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from probes.report.paper import PAPER

CORR, AUC, MS, SHARE, SECONDS = ".3f", ".1f", ".1f", ".3f", ".3g"
LABELS = {  # display names of targets, deletion sources and timestamp estimators
    "input": "SPES input saliency", "encoder": "encoder-output saliency", "ca": "CA",
    "saliency_pooled": "SPES pooled to CA grid", "saliency_full": "SPES full resolution",
    "random": "random map", "uniform": "uniform map", "ctc": "CTC", "ca_alignment_heads": "CA, the model's alignment heads",
    "saliency": "gradient saliency", "input_x_gradient": "input x gradient",
    "integrated_gradients": "integrated gradients",
}
LINEAR_NOTE = ("Linear: the share as a ratio of sums over the unclipped maps (input maps avg2d-pooled), each scaled to "
               "unit absolute mass and pooled over the utterances (bootstrap interval), which the maps' noise does not "
               "bias; the clipped share counts a noisy map's noise outside the words as mass.")
DIRECTIONS = {"deletion": "most relevant input removed first (higher = more faithful)",
              "insertion": "most relevant input restored first into silence (lower = more faithful)"}
Stat = Mapping[str, Any]  # {"mean", "ci_low", "ci_high", "n", "std", "skipped"}


# ---------------------------------------------------------------- reading metrics


def as_float(x: Any) -> float:
    """A metric value as a float; None (JSON null) is nan."""
    return math.nan if x is None else float(x)


def lookup(d: Any, *path: str) -> Any:
    """``d[path[0]][path[1]]...``, or None when any level is missing."""
    for key in path:
        if not isinstance(d, Mapping) or key not in d:
            return None
        d = d[key]
    return d


def is_stat(x: Any) -> bool:
    """Whether ``x`` is one summary (mean with interval)."""
    return isinstance(x, Mapping) and "mean" in x and "ci_low" in x


def display_name(name: str) -> str:
    """Display name of a target, source or estimator; a qualifier after ", " is kept ("input, linear")."""
    base, sep, qualifier = name.partition(", ")
    return LABELS.get(base, base.replace("_", " ")) + sep + qualifier


def comparison_label(comparison: str) -> str:
    """``ca_vs_input`` -> "CA vs SPES input saliency"."""
    return f"CA vs {display_name(comparison.removeprefix('ca_vs_'))}"


def best_view(views: Mapping[str, Stat]) -> tuple[str, Stat] | None:
    """Key and summary with the highest finite mean, or None."""
    finite = [(k, s) for k, s in views.items() if math.isfinite(as_float(s.get("mean")))]
    return max(finite, key=lambda kv: as_float(kv[1]["mean"])) if finite else None


# ---------------------------------------------------------------- formatting


def fmt(x: Any, spec: str) -> str:
    """One number in ``spec``, or "n/a" when undefined."""
    v = as_float(x)
    return f"{v:{spec}}" if math.isfinite(v) else "n/a"


def mean_count(x: Any) -> str:
    """A mean of counts (masks spent): whole when it is, else with one decimal, so that it quotes the exact mean."""
    v = as_float(x)
    return fmt(v, ".0f" if math.isfinite(v) and v == round(v) else ".1f")


def mean_ci(s: Stat | None, spec: str) -> str:
    """``mean [low, high]``; the mean alone when the interval is undefined; "n/a" without a mean."""
    if s is None or not math.isfinite(as_float(s.get("mean"))):
        return "n/a"
    if not (math.isfinite(as_float(s.get("ci_low"))) and math.isfinite(as_float(s.get("ci_high")))):
        return fmt(s["mean"], spec)
    return f"{fmt(s['mean'], spec)} [{fmt(s['ci_low'], spec)}, {fmt(s['ci_high'], spec)}]"


def half_width(s: Stat) -> float:
    """Half the confidence interval's width (nan when undefined)."""
    return (as_float(s.get("ci_high")) - as_float(s.get("ci_low"))) / 2


def mean_pm(s: Stat | None, spec: str) -> str:
    """``mean ± half-width`` (the mean alone when the interval is undefined, "n/a" without a mean)."""
    if s is None or not math.isfinite(as_float(s.get("mean"))):
        return "n/a"
    half = half_width(s)
    return f"{fmt(s['mean'], spec)} ± {fmt(half, spec)}" if math.isfinite(half) else fmt(s["mean"], spec)


def count(s: Stat | None) -> str:
    """``n`` and, when some utterances were left out, how many."""
    if s is None:
        return "0"
    skipped = int(s.get("skipped") or 0)
    return f"{int(s['n'])}" + (f" ({skipped} skipped)" if skipped else "")


def na_reason(s: Stat | None, name: str = "") -> str:
    """Why a summary has no mean ("" when it has one)."""
    if s is None:
        return "not computed"
    if math.isfinite(as_float(s.get("mean"))):
        return ""
    if "uniform" in name:
        return "undefined: a uniform map is constant"
    skipped = int(s.get("skipped") or 0)
    return f"undefined for all {skipped} utterances" if skipped else "no utterances"


def code_span(text: Any) -> str:
    """``text`` as a Markdown code span (identifiers and free text: their digits are not metrics)."""
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def paper_number(x: float) -> str:
    """A reference number of the paper, as the paper gives it."""
    return f"{x:g}"


def csv_stat(s: Stat | None) -> list[Any]:
    """mean, ci_low, ci_high, n of a summary for CSV (undefined values empty)."""
    if s is None:
        return ["", "", "", 0]
    return [*(v if math.isfinite(v := as_float(s.get(k))) else "" for k in ("mean", "ci_low", "ci_high")), int(s["n"])]


def stat_columns(prefix: str) -> list[str]:
    """CSV column names of one summary."""
    return [f"{prefix}_mean", f"{prefix}_ci_low", f"{prefix}_ci_high", f"{prefix}_n"]


# ---------------------------------------------------------------- tables


@dataclass
class Table:
    """One table: Markdown cells for reading, raw values for CSV."""

    name: str
    title: str
    header: list[str]
    rows: list[list[str]]
    csv_header: list[str]
    csv_rows: list[list[Any]]
    note: str = ""


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; columns of numbers right-aligned, the others left-aligned.

    Every row must have a cell under every label: a row of another width would put its values under the wrong labels.
    """
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a table row has {len(row)} cells under {len(header)} labels {list(header)}: {list(row)}")
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    def numeric(k: int) -> bool:
        return k > 0 and all(re.match(r"(-?\d|n/a|$)", str(r[k])) for r in rows)

    rule = "|" + "|".join("---:" if numeric(k) else ":---" for k in range(len(header))) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def write_table(table: Table, folder: Path) -> tuple[Path, Path]:
    """Write ``<name>.md`` (table and note) and ``<name>.csv`` into ``folder``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    md, csv_path = folder / f"{table.name}.md", folder / f"{table.name}.csv"
    md.write_text(markdown_table(table.header, table.rows) + (f"\n\n{table.note}" if table.note else "") + "\n")
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(table.csv_header)
        writer.writerows(table.csv_rows)
    return md, csv_path


# ---------------------------------------------------------------- checking the numbers

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\w|\.\d|-[A-Za-z])")
CODE_OR_LINK = re.compile(r"`[^`]*`|\]\([^)]*\)")


def _leaves(x: Any) -> Iterator[float]:
    """Every scalar of the metrics (not the curves' point lists), numeric keys, and each CI half-width."""
    if isinstance(x, Mapping):
        if is_stat(x):
            yield half_width(x)
        for k, v in x.items():
            try:
                yield float(k)
            except ValueError:
                pass
            yield from _leaves(v)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield float(x)


def _paper_numbers(x: Any = PAPER) -> set[float]:
    """Every number in ``PAPER``."""
    if isinstance(x, Mapping):
        return set().union(*(_paper_numbers(v) for v in x.values()))
    if isinstance(x, (tuple, list)):
        return set().union(*(_paper_numbers(v) for v in x))
    return {float(x)}


def _precision(number: str) -> str:
    """Format spec that writes a value with ``number``'s precision (fixed decimals or scientific)."""
    mantissa, _, exponent = number.lower().partition("e")
    return f".{len(mantissa.partition('.')[2])}{'e' if exponent else 'f'}"


def numbers_traceable(report_text: str, metrics: Mapping[str, Any]) -> list[str]:
    """Numbers in ``report_text`` that are neither a rounding of a metrics value nor one of ``PAPER``'s.

    Traceable values: every scalar of ``metrics`` (curve point lists excluded), numeric keys
    (layer and head numbers) and each summary's CI half-width. A number must equal a value
    rounded to the number's own precision; integers must equal a value exactly. Skipped:
    the title line, code spans and link targets (identifiers), numbers glued to words
    (``h1``, ``100-prob``).
    """
    values = [v for v in _leaves(metrics) if math.isfinite(v)]
    paper = _paper_numbers()
    integers = {int(v) for v in values if v == int(v)}
    body = "\n".join(line for line in report_text.splitlines() if not line.startswith("# "))
    cache: dict[str, set[str]] = {}
    missing = []
    for number in NUMBER.findall(CODE_OR_LINK.sub(" ", body)):
        if float(number) in paper:
            continue
        if re.fullmatch(r"-?\d+", number):
            if int(number) in integers:
                continue
        else:
            spec = _precision(number)
            if spec not in cache:
                cache[spec] = {f"{v:{spec}}" for v in values}
            if number.lower() in cache[spec]:
                continue
        missing.append(number)
    return missing
