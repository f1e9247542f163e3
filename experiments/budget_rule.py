"""Masks an adaptive budget spends, doubling to the target against topping up near it (``rounds_to_add``).

Reads the records of finished adaptive runs made by doubling (``budget.input.rounds``: masks and
split-half reliability at each check) and replays them under the top-up rule: while a doubling is
what the rule asks, it follows the run's own checks; at the first check where the rule adds less, the
map's reliability after the top-up is Spearman-Brown's prediction from that check, so the top-up is
taken to reach the target there (a prediction, not a measurement: a map falling short gets one more
round). Prints, per run, each utterance's checks, the masks both rules spend, and how well Spearman-Brown
predicted its last check from the one before (k r / (1 + (k - 1) r) for k times the masks).

    .venv/bin/python -m experiments.budget_rule results/study/models/*/paper_resolution/asr_en
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from probes.saliency.perturbation import rounds_to_add
from probes.records import budget
from probes.store import read_records


def topped_up(checks: Sequence[tuple[int, float]], target: float, cap: int) -> int:
    """Masks the top-up rule would spend on a map whose doubling run made ``checks`` (masks, split-half)."""
    per_round = checks[0][0]
    for masks, reliability in checks:
        rounds = masks // per_round
        more = rounds_to_add(rounds, reliability, target, (cap - masks) // per_round)
        if more < 1:
            return masks
        if more < rounds:  # less than a doubling: Spearman-Brown says this reaches the target
            return (rounds + more) * per_round
    return checks[-1][0]


def main() -> None:
    """Replay every run's records and print the masks spent under both rules."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="evaluate.py OUTDIRs of adaptive runs")
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--cap", type=int, default=131072)
    args = parser.parse_args()
    print("| run | utterance | checks (masks: split-half) | last check predicted | doubling | top-up |")
    print("|---|---|---|---:|---:|---:|")
    for run in args.runs:
        spent = {"doubling": 0, "top-up": 0}
        for record in read_records(run / "utterances.jsonl"):
            checks = [(int(m), float(r)) for m, r in (budget(record, "input") or {}).get("rounds") or []]
            if not checks:
                continue
            top = topped_up(checks, args.target, args.cap)
            spent["doubling"] += checks[-1][0]
            spent["top-up"] += top
            trail = ", ".join(f"{m}: {r:.3f}" for m, r in checks)
            (before, r), (last, _) = checks[-2] if len(checks) > 1 else checks[-1], checks[-1]
            k = last / before
            print(f"| {run} | {record['id']} | {trail} | {k * r / (1 + (k - 1) * r):.3f} | {checks[-1][0]} | {top} |")
        if spent["doubling"]:
            print(f"| {run} | all | | | {spent['doubling']} | {spent['top-up']} "
                  f"({spent['top-up'] / spent['doubling']:.3f}) |")


if __name__ == "__main__":
    main()
