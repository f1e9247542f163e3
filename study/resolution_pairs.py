"""Explain runs of one model compared on the utterances they share: coarse maps, fixed-budget and converged fine ones.

Each RUN is ``LABEL=DIR``, an evaluate.py output folder (its ``utterances.jsonl``). Runs explain
different numbers of utterances (the study's coarse run 40, the paper-resolution runs 6), so
every number here is over the utterances all the runs explained, and each run after the first
also gets its difference from the first, utterance by utterance (``study.paired``).
``LABEL=DIR@MASKS`` reads an adaptive run as if it had been capped at MASKS: each utterance's
SPES map at that doubling (its record's ``budget.input.by_round``), or its final map when it
stopped sooner. Markdown on stdout:

    crossprobe-resolution-pairs coarse=MODEL/explain/asr_en \\
        8192=MODEL/paper_resolution/asr_en@8192 converged=MODEL/paper_resolution/asr_en
    .venv/bin/python -m study.resolution_pairs ...      # the same, from a checkout
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Mapping, Sequence

from probes.report.tables import fmt, mean_ci
from s2t.usage import prog
from study.paired import PAIRED, capped, compare, records_by_id

COLUMNS = {"masks": "masks", "split_half": "split-half reliability", "ca_vs_input": "CA vs input",
           "per_token": "per token", "input_in_spans": "SPES in true spans", "ca_in_spans": "CA in true spans",
           "encoder_in_spans": "encoder saliency in true spans", "input_signed": "SPES in true spans, linear",
           "ca_signed": "CA in true spans, linear", "encoder_signed": "encoder saliency in true spans, linear",
           "ca_minus_input_signed": "CA - SPES in true spans, linear"}


def cell(s: Mapping[str, Any], digits: str = ".3f") -> str:
    """mean [95% interval] over utterances (a mean count alone), or "n/a"."""
    return fmt(s["mean"], digits) if digits == ".0f" else mean_ci(s, digits)


def table(runs: dict[str, dict[str, Any]]) -> str:
    """The Markdown table: one row per run, then one per run's paired difference from the first."""
    try:
        compared = compare(runs)
    except ValueError as err:
        raise SystemExit(f"error: {err}")
    made = [m for m in COLUMNS if any(measures[m]["n"] for measures in compared["runs"].values())]  # no empty column
    lines = [f"| run | {' | '.join(COLUMNS[m] for m in made)} |", "|---|" + "---:|" * len(made)]
    for label, measures in compared["runs"].items():
        cells = [cell(measures[m], ".0f" if m == "masks" else ".3f") for m in made]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    first = next(iter(runs))
    for label, measures in compared["differences"].items():
        cells = [cell(measures[m]) if m in PAIRED else "" for m in made]
        lines.append(f"| {label} - {first} | {' | '.join(cells)} |")
    shared = compared["utterances"]
    return "\n".join(lines) + f"\n\n{len(shared)} utterances: {', '.join(shared)}"


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table of the runs named on the command line."""
    p = argparse.ArgumentParser(prog=prog("study.resolution_pairs"), description=__doc__.split("\n\n")[0])
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
        try:
            records = records_by_id(Path(folder))
            runs[label] = {u: capped(r, int(masks)) for u, r in records.items()} if at else records
        except ValueError as err:
            raise SystemExit(f"error: {err}")
    print(table(runs))


if __name__ == "__main__":
    main()
