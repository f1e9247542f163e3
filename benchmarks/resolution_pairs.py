"""Explain runs of one model compared on the utterances they share: coarse maps, fixed-budget and converged fine ones.

Each RUN is ``LABEL=DIR``, an evaluate.py output folder (its ``utterances.jsonl``). Runs explain
different numbers of utterances (the study's coarse run 40, the paper-resolution runs 6), so
every number here is over the utterances all the runs explained, and each run after the first
also gets its difference from the first, utterance by utterance (a paired interval, much
narrower than the difference of two unpaired ones). ``LABEL=DIR@MASKS`` reads an adaptive run as
if it had been capped at MASKS: each utterance's SPES map at that doubling (its record's
``budget.input.by_round``), or its final map when it stopped sooner. Markdown on stdout:

    .venv/bin/python -m benchmarks.resolution_pairs coarse=MODEL/explain/asr_en \\
        8192=MODEL/paper_resolution/asr_en@8192 converged=MODEL/paper_resolution/asr_en
"""

from __future__ import annotations

import argparse
import copy
import json
import math
from pathlib import Path
from typing import Any, Sequence

from probes.metrics.agreement import summarize
from probes.metrics.summary import at_cap
from probes.report.tables import lookup

Record = dict[str, Any]
MEASURES: dict[str, tuple[str, ...]] = {  # column -> where a record keeps the per-utterance value
    "masks": ("budget", "input", "masks"),
    "split-half reliability": ("budget", "input", "split_half"),
    "CA vs input": ("agreement", "ca_vs_input", "all", "pearson"),
    "per token": ("agreement", "ca_vs_input", "all", "pearson_token"),
    "SPES in true spans": ("ground_truth", "input"),
    "CA in true spans": ("ground_truth", "ca", "all"),
    "encoder saliency in true spans": ("ground_truth", "encoder"),
}
PAIRED = ("CA vs input", "per token", "SPES in true spans")  # differences from the first run, utterance by utterance


def read_run(folder: Path) -> dict[str, Record]:
    """An evaluate.py folder's explained records by utterance id (skipped rows left out)."""
    path = folder / "utterances.jsonl"
    if not path.is_file():
        raise SystemExit(f"error: {path} does not exist (not an evaluate.py output folder, or not finished)")
    records = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {r["id"]: r for r in records if not r.get("skipped")}


def capped(record: Record, masks: int) -> Record:
    """The record as an adaptive run capped at ``masks`` would have made it (``at_cap``: the SPES map of the last
    doubling within the cap, its masks, split-half reliability, agreement with the mean CA and mass in the spans)."""
    spent = lookup(record, "budget", "input") or {}
    if not spent.get("by_round"):
        raise SystemExit(f"error: {record['id']}: no per-doubling scores (budget.input.by_round) to cap at {masks} "
                         "masks: the run was not adaptive, or was made before they were recorded")
    if (at := at_cap(spent, masks)) is None:
        raise SystemExit(f"error: {record['id']}: its first doubling already spent {spent['by_round'][0]['masks']} "
                         f"masks, more than {masks}")
    out = copy.deepcopy(record)
    out["budget"]["input"].update(masks=at["masks"], split_half=at["split_half"])
    out["agreement"]["ca_vs_input"]["all"].update(pearson=at["pearson"], pearson_token=at["pearson_token"])
    if out.get("ground_truth"):
        out["ground_truth"]["input"] = at["span_mass"]
    return out


def value(record: Record, measure: str) -> float:
    """One measure of one record, nan when the run did not make it."""
    v = lookup(record, *MEASURES[measure])
    return math.nan if v is None else float(v)


def cell(values: Sequence[float], digits: str = ".3f") -> str:
    """mean [95% interval] over utterances, or "n/a"."""
    s = summarize(values)
    if math.isnan(s.mean):
        return "n/a"
    if digits == ".0f" or math.isnan(s.ci_low):
        return format(s.mean, digits)
    return f"{s.mean:{digits}} [{s.ci_low:{digits}}, {s.ci_high:{digits}}]"


def table(runs: dict[str, dict[str, Record]]) -> str:
    """The Markdown table: one row per run, then one per run's paired difference from the first."""
    shared = sorted(set.intersection(*(set(r) for r in runs.values())))
    if not shared:
        raise SystemExit("error: the runs share no utterance")
    lines = [f"| run | {' | '.join(MEASURES)} |", "|---|" + "---:|" * len(MEASURES)]
    for label, records in runs.items():
        cells = [cell([value(records[u], m) for u in shared], ".0f" if m == "masks" else ".3f") for m in MEASURES]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    (first, base), *others = runs.items()
    for label, records in others:
        cells = [cell([value(records[u], m) - value(base[u], m) for u in shared]) if m in PAIRED else ""
                 for m in MEASURES]
        lines.append(f"| {label} - {first} | {' | '.join(cells)} |")
    return "\n".join(lines) + f"\n\n{len(shared)} utterances: {', '.join(shared)}"


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table of the runs named on the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", metavar="LABEL=DIR[@MASKS]",
                   help="evaluate.py output folders, the first the reference; @MASKS: an adaptive run capped there")
    a = p.parse_args(argv)
    runs = {}
    for spec in a.runs:
        label, sep, folder = spec.partition("=")
        if not sep:
            p.error(f"{spec!r}: expected LABEL=DIR[@MASKS]")
        folder, at, masks = folder.rpartition("@") if "@" in folder else (folder, "", "")
        if at and not masks.isdigit():
            p.error(f"{spec!r}: @{masks} is not a number of masks")
        records = read_run(Path(folder))
        runs[label] = {u: capped(r, int(masks)) for u, r in records.items()} if at else records
    print(table(runs))


if __name__ == "__main__":
    main()
