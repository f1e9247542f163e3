"""Speed of the synthetic corpus generator: the default corpus, timed end to end.

Generates the default corpus (all five languages, ASR and ST, the default split sizes) into
a temporary folder and prints utterances per second, the wall time (each as a ratio to its target)
and the corpus size.
Targets (issue 2): at least 50 utterances/s, the default corpus in under 5 minutes.

    .venv/bin/python -m benchmarks.synth_speed [--train N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from s2t.data.synth import SynthConfig, generate

TARGET_SECONDS = 300  # issue 2: the default corpus in under 5 minutes
TARGET_RATE = 50  # utterances per second, at least


def main() -> None:
    """Generate, time, print."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = SynthConfig(out=Path("."))
    p.add_argument("--train", type=int, default=defaults.counts["train"], help="training utterances per language")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = SynthConfig(out=Path(tmp), counts={**defaults.counts, "train": a.train})
        start = time.perf_counter()
        generate(config, progress=False)
        seconds = time.perf_counter() - start
        info = json.loads((Path(tmp) / "corpus.json").read_text())
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    n = info["utterances"]
    print(f"utterances: {n} ({len(config.langs)} languages, counts per language {config.counts})")
    print(f"wall time: {seconds:.1f} s ({seconds / 60:.2f} min): {seconds / TARGET_SECONDS:.2f} of the target's 5 min")
    print(f"throughput: {n / seconds:.0f} utterances/s: {n / seconds / TARGET_RATE:.1f}x the target's 50")
    print(f"words synthesised (cache entries): {info['words_synthesised']}")
    print(f"corpus size: {size / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
