"""How the study runs its steps: each in a subprocess with its wall time in the model's ledger, one runner per folder.

Every step runs ``python -m MODULE`` (``s2t.train``, ``probes.evaluation``, ...) from ``ROOT``: the checkout's root,
or (installed) the current folder. ``runner_lock`` lets several runners of one study share its models.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from s2t.resources import checkout_root

ROOT = checkout_root()  # where the steps run: the checkout's root, or (installed) the current folder
LEDGER = "ledger.jsonl"  # OUT/models/<name>/ledger.jsonl: wall seconds of every step the study ran
LOCK = ".runner.lock"  # OUT/.runner.lock and OUT/models/<name>/.runner.lock: the runner working there (runner_lock)


def call(module: str, args: Sequence[str], what: str, ledger: Path) -> None:
    """Run ``python -m module args`` from ``ROOT``, streaming its output, and add its wall time to ``ledger``.

    A failure stops the study. The time is recorded however the command ends (an interrupted training
    counts too), so the ledger adds up what the study has cost (``study_cost``).
    """
    print(f"[study] {what}: python -m {module} {' '.join(args)}", flush=True)
    start, code = time.time(), None
    try:
        code = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT).returncode
    finally:
        ledger.parent.mkdir(parents=True, exist_ok=True)
        with ledger.open("a") as f:
            f.write(json.dumps({"step": what, "seconds": round(time.time() - start, 1), "exit": code,
                                "end": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
    if code:
        raise RuntimeError(f"{what} failed (exit {code}); fix it and run the study again to resume")


def study_cost(ledger: Path) -> dict[str, float]:
    """Wall hours a model's steps took so far, by kind (training, testing, explaining), from its ledger."""
    hours: dict[str, float] = {}
    for line in ledger.read_text().splitlines() if ledger.is_file() else []:
        entry = json.loads(line)
        kind = entry["step"].split(": ", 1)[-1].split(" ")[0]
        hours[kind] = hours.get(kind, 0.0) + entry["seconds"] / 3600
    return hours


@contextmanager
def runner_lock(folder: Path, wait: bool = False) -> Iterator[str | None]:
    """Hold ``folder``'s lock for the block: yields None once this process holds it; held by another runner, yields
    who holds it ("pid N") instead, unless ``wait``, which waits for it.

    Several runners of one study (e.g. one per core) then share its models without two working on one, and write
    its report one at a time. The lock is the OS's (``flock``), so it is released however its holder ends, a lost
    machine included.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            yield handle.read().strip() or "a runner that has just started"
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield None
