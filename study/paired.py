"""Explain runs of one model compared on the utterances they share, utterance by utterance.

A paper-resolution run explains a model's first few utterances again with fine maps; set beside
the coarse run's means (over all the group's utterances), its means mix a change of maps with a
change of utterances. ``compare`` reads every run on the utterances all of them explained and
gives each run after the first its difference from the first, one per utterance: a paired
interval, much narrower than the difference of two unpaired ones. ``capped`` reads an adaptive
run as if it had stopped at a budget (``at_cap``), so one converged run also says what its first
doubling said. True-span shares come clipped (``span_mass``, averaged over utterances) and linear
(``signed``, unbiased by a map's noise, pooled over utterances: ``linear_share``), with CA minus SPES
paired over utterances. ``study.resolution_pairs`` prints such a comparison for any runs; the
study report makes one per paper-resolution run (coarse, first doubling, converged).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from probes.metrics.agreement import Summary, linear_share, summarize
from probes.metrics.summary import at_cap
from probes.records import Record, budget, dig, explained, score, share, signed_parts
from probes.report.tables import as_float
from probes.store import read_records

MEASURES: dict[str, Callable[[Record], Any]] = {  # name -> the per-utterance value of a record
    "masks": lambda r: dig(budget(r, "input"), "masks"),
    "split_half": lambda r: dig(budget(r, "input"), "split_half"),
    "ca_vs_input": lambda r: score(r, "ca_vs_input"),
    "per_token": lambda r: score(r, "ca_vs_input", correlation="pearson_token"),
    "input_in_spans": lambda r: share(r, "input"),
    "ca_in_spans": lambda r: share(r, "ca"),
    "encoder_in_spans": lambda r: share(r, "encoder"),
}
SHARES: dict[str, str] = {  # the same shares, linear (unbiased by map noise), by map: parts pooled over utterances
    "input_signed": "input",
    "ca_signed": "ca",
    "encoder_signed": "encoder",
}
DERIVED: dict[str, tuple[str, str]] = {  # name -> (a, b): share a - share b, paired over utterances
    "ca_minus_input_signed": ("ca_signed", "input_signed"),
}
PAIRED = ("ca_vs_input", "per_token", "input_in_spans", "input_signed")  # differences from the first run


def records_by_id(folder: Path) -> dict[str, Record]:
    """An evaluate.py folder's explained records by utterance id (skipped rows left out)."""
    path = folder / "utterances.jsonl"
    if not path.is_file():
        raise ValueError(f"{path} does not exist (not an evaluate.py output folder, or not finished)")
    return {r["id"]: r for r in explained(read_records(path))}


def capped(record: Record, masks: int) -> Record:
    """The record as an adaptive run capped at ``masks`` would have made it (``at_cap``: the SPES map of the last
    doubling within the cap, its masks, split-half reliability, agreement with the mean CA and mass in the spans)."""
    spent = budget(record, "input") or {}
    if not spent.get("by_round"):
        raise ValueError(f"{record['id']}: no per-doubling scores (budget.input.by_round) to cap at {masks} masks: "
                         "the run was not adaptive, or was made before they were recorded")
    if (at := at_cap(spent, masks)) is None:
        raise ValueError(f"{record['id']}: its first doubling already spent {spent['by_round'][0]['masks']} masks, "
                         f"more than {masks}")
    out = copy.deepcopy(record)
    out["budget"]["input"].update(masks=at["masks"], split_half=at["split_half"])
    out["agreement"]["ca_vs_input"]["all"].update(pearson=at["pearson"], pearson_token=at["pearson_token"])
    if out.get("ground_truth"):
        out["ground_truth"]["input"] = at["span_mass"]
        if out["ground_truth"].get("signed"):  # a run rescored since has only its final map's
            out["ground_truth"]["signed"]["input"] = at.get("span_mass_signed")
    return out


def first_doubling(records: Mapping[str, Record]) -> int | None:
    """The smallest budget every record of an adaptive run passed (its first doubling), None when not adaptive."""
    firsts = [spent["by_round"][0]["masks"] for r in records.values()
              if (spent := budget(r, "input")) and spent.get("by_round")]
    return max(firsts) if firsts and len(firsts) == len(records) else None


def value(record: Record, measure: str) -> float:
    """One ``MEASURES`` value of one record, nan when the run did not make it."""
    return as_float(MEASURES[measure](record))


def parts(record: Record, share: str) -> Any:
    """One ``SHARES`` share's parts (``linear_span_parts``) in one record as kept (None when the run did not make them;
    ``linear_share`` skips anything but parts)."""
    return signed_parts(record, SHARES[share])


def _summary(records: Sequence[Record], measure: str, minus: Sequence[Record] | None = None) -> dict[str, float]:
    """A measure of ``MEASURES``, ``SHARES`` or ``DERIVED`` over records, as a plain dict; given ``minus`` (the same
    utterances in another run), the paired difference of the two."""
    if measure in DERIVED:
        a, b = DERIVED[measure]
        stat: Summary = linear_share([parts(r, a) for r in records], [parts(r, b) for r in records])
    elif measure in SHARES:
        stat = linear_share([parts(r, measure) for r in records],
                            None if minus is None else [parts(r, measure) for r in minus])
    else:
        base = [0.0] * len(records) if minus is None else [value(r, measure) for r in minus]
        stat = summarize(value(r, measure) - b for r, b in zip(records, base))
    return dataclasses.asdict(stat)


def compare(runs: Mapping[str, Mapping[str, Record]]) -> dict[str, Any]:
    """Every run's measures over the utterances all runs share, and each later run's paired difference from the first.

    Returns {"utterances": [ids], "runs": {label: {measure: summary}}, "differences": {label: {measure: summary}}},
    summaries as in ``metrics.json``; raises ValueError when the runs share no utterance.
    """
    shared = sorted(set.intersection(*(set(r) for r in runs.values())))
    if not shared:
        raise ValueError(f"the runs {', '.join(runs)} share no utterance")
    (_, base), *others = runs.items()
    return {"utterances": shared,
            "runs": {label: {m: _summary([records[u] for u in shared], m) for m in (*MEASURES, *SHARES, *DERIVED)}
                     for label, records in runs.items()},
            "differences": {label: {m: _summary([records[u] for u in shared], m, [base[u] for u in shared])
                                    for m in PAIRED} for label, records in others}}
