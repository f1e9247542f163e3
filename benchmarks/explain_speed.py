"""evaluate.py's explanation, before and after issue 18, side by side on an idle and on a busy machine.

Each variant is a source tree and the evaluate.py options it runs with: ``before`` is the
project at the commit where issue 18 began (extracted with ``git archive``), ``after`` is this
checkout with its defaults. The variants explain the same utterances of the same checkpoint
at the demo's settings (SPES 256 masks, encoder saliency, beam 5, deletion and insertion
curves), in alternation, ``--repeats`` times, each in its own process; ``busy`` repeats it
while another process keeps one core busy with single-thread matrix products, as a training
run or a second evaluation would.

Per run it reads (and checks every map and curve against the first ``before`` run's):
  wall       seconds per utterance from the run's start of explanation (its settings.json) to
             its last finished utterance (work records), so imports, model loading and the
             report are left out, and worker start-up is counted;
  stages     each stage's seconds per utterance from the records (in worker processes these
             are each worker's own clock, so with two workers they add up to about twice the
             wall time).

    .venv/bin/python -m benchmarks.explain_speed --ckpt CKPT --manifest data/synth/test.tsv \
        [--utterances 4] [--repeats 2] [--before 756810f] [--variant NAME='OPTIONS' ...]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from probes.records import curves, seconds
from probes.store import read_record

ROOT = Path(__file__).resolve().parents[1]
DEMO = ["--masks", "256", "--beam", "5", "--methods", "spes,encoder", "--pairs", "en-en", "--no-report", "--no-wandb"]
STAGES = ("hypothesis", "ca", "spes", "encoder", "deletion", "insertion", "curves", "timestamps")  # curves: both, since 18.2
HOG = "import torch\ntorch.set_num_threads(1)\na = torch.randn(512, 512)\nwhile True:\n    a @ a\n"


def extract(commit: str, into: Path) -> Path:
    """The project's files at ``commit``, unpacked into ``into``."""
    archive = into / "src.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), commit], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "src", filter="data")
    return into / "src"


@contextmanager
def machine(busy: bool) -> Iterator[None]:
    """An idle machine, or one with a single-thread matrix-product loop on one core."""
    hog = subprocess.Popen([sys.executable, "-c", HOG]) if busy else None
    try:
        yield
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


def explain_once(tree: Path, options: list[str], ckpt: Path, manifest: Path, utterances: int,
                 out: Path) -> dict[str, float]:
    """Run evaluate.py from ``tree``; seconds per utterance: wall and each stage's."""
    env = {**os.environ, "PYTHONPATH": str(tree), "WANDB_MODE": "offline"}
    env.pop("OMP_NUM_THREADS", None)  # each variant's own thread policy decides
    command = [sys.executable, "evaluate.py", "--ckpt", str(ckpt), "--manifest", str(manifest), "--out", str(out),
               "--limit", str(utterances), *DEMO, *options]
    subprocess.run(command, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = (out / "settings.json").stat().st_mtime
    records = sorted((out / "work").glob("*.json"))
    end = max(r.stat().st_mtime for r in records)
    out_stages = {"wall": (end - start) / len(records)}
    for path in records:
        spent = seconds(read_record(path))
        for stage in STAGES:
            out_stages[stage] = out_stages.get(stage, 0.0) + spent.get(stage, 0.0) / len(records)
    return out_stages


def differences(a: Path, b: Path) -> dict[str, float]:
    """How far run ``b``'s maps and curves are from run ``a``'s: the largest map difference relative to the map's
    largest value, the largest probability-curve difference, and the share of text-curve scores that differ."""
    out = {"map": 0.0, "prob": 0.0, "text": 0.0}
    texts = 0
    for path in sorted((a / "work").glob("*.json")):
        maps_a, maps_b = np.load(path.with_suffix(".npz")), np.load(b / "work" / path.with_suffix(".npz").name)
        for name in maps_a.files:
            scale = max(float(np.abs(maps_a[name]).max()), 1e-12)
            out["map"] = max(out["map"], float(np.abs(maps_a[name] - maps_b[name]).max()) / scale)
        ra, rb = read_record(path), read_record(b / "work" / path.name)
        for mode in ("deletion", "insertion"):
            for source, found in curves(ra, mode).items():
                other = curves(rb, mode)[source]
                out["prob"] = max(out["prob"], float(np.abs(np.subtract(found["prob"]["scores"],
                                                                        other["prob"]["scores"])).max()))
                pairs = list(zip(found["text"]["scores"], other["text"]["scores"]))
                out["text"] += sum(x != y for x, y in pairs)
                texts += len(pairs)
    out["text"] /= max(texts, 1)
    return out


def table(results: dict[str, dict[str, list[dict[str, float]]]], baseline: str) -> str:
    """Markdown: median seconds per utterance per condition and variant, and the speed-up over ``baseline``."""
    lines = ["| machine | variant | wall s/utt | speed-up | " + " | ".join(STAGES) + " |",
             "|---|---|---:|---:|" + "---:|" * len(STAGES)]
    for condition, variants in results.items():
        base = statistics.median(r["wall"] for r in variants[baseline])
        for name, runs in variants.items():
            wall = statistics.median(r["wall"] for r in runs)
            stages = " | ".join(f"{statistics.median(r[s] for r in runs):.2f}" for s in STAGES)
            lines.append(f"| {condition} | {name} | {wall:.2f} | {base / wall:.2f}x | {stages} |")
    return "\n".join(lines)


def main() -> None:
    """Run every variant on both machines, alternating, and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--utterances", type=int, default=4, help="first English ASR test utterances")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--before", default="756810f", help="commit of the baseline (the start of issue 18)")
    p.add_argument("--variant", action="append", default=[], metavar="NAME=OPTIONS",
                   help="another run of this checkout with extra evaluate.py options, e.g. one-process='--devices 1'")
    p.add_argument("--conditions", default="idle,busy", help="idle, busy or both")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": (extract(a.before, Path(tmp)), []), "after": (ROOT, [])}
        for spec in a.variant:
            name, _, options = spec.partition("=")
            trees[name] = (ROOT, shlex.split(options))
        results: dict[str, dict[str, list[dict[str, float]]]] = {}
        for condition in a.conditions.split(","):
            results[condition] = {name: [] for name in trees}
            with machine(condition == "busy"):
                for repeat in range(a.repeats):
                    order = list(trees) if repeat % 2 == 0 else list(reversed(trees))
                    for name in order:
                        tree, options = trees[name]
                        out = Path(tmp) / f"{condition}-{name}-{repeat}"
                        started = time.perf_counter()
                        run = explain_once(tree, options, a.ckpt.resolve(), a.manifest.resolve(), a.utterances, out)
                        results[condition][name].append(run)
                        reference = Path(tmp) / f"{condition}-before-0"
                        apart = differences(reference, out) if reference.is_dir() and out != reference else None
                        print(f"{condition} {name} #{repeat}: {run['wall']:.2f} s/utt "
                              f"({time.perf_counter() - started:.0f} s with start-up)"
                              + (f"; against before: maps {apart['map']:.1e} (relative), probability curves "
                                 f"{apart['prob']:.1e}, text scores differing {apart['text']:.1%}" if apart else ""),
                              flush=True)
    print(table(results, "before"))


if __name__ == "__main__":
    main()
