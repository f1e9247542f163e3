"""Training recipe check: train an experiment for a fixed wall-clock budget, then test it greedily.

Trains ``configs/experiment/EXPERIMENT.yaml`` with ``--trainer.max_time``, tests the last
checkpoint with greedy attention decoding (no CTC rescoring), and prints the learning curve
(validation WER and BLEU at each validation run, also plotted to OUT/curves.png) and the test
metrics.

    .venv/bin/python -m experiments.asr_quality --experiment demo_en_asr --minutes 20 [-- extra train.py args]

``-- --ckpt_path CKPT`` continues a run; the budget then counts the time CKPT has trained.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from s2t.cli import main as cli
from s2t.csv_log import logged_values
from s2t.plot_curves import VALIDATION, plot
from study.train import logger_override


def main() -> None:
    """Train for the budget, test greedily, print the curves and the results."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", default="demo_en_asr")
    p.add_argument("--minutes", type=float, default=20.0,
                   help="training wall-clock budget; with --ckpt_path among the extra arguments it includes the "
                        "checkpoint's training time (Lightning's Timer resumes)")
    p.add_argument("--out", type=Path, default=Path("outputs/experiments/asr_quality"))
    p.add_argument("extra", nargs="*", help="further train.py arguments (after --)")
    a = p.parse_args()
    seconds = int(a.minutes * 60)
    budget = f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    start = time.perf_counter()
    fit = cli(["fit", "--config", f"configs/experiment/{a.experiment}.yaml", "--trainer.default_root_dir", str(a.out),
               "--trainer.max_time", budget, *logger_override(a.out, a.experiment), *a.extra])
    trained_min = (time.perf_counter() - start) / 60
    last = Path(a.out) / "final.ckpt"  # written by s2t.callbacks.FinalCheckpoint
    dm = fit.datamodule
    test = cli(["test", "--ckpt_path", str(last), "--data.data_dir", str(dm.data_dir),
                "--data.languages", "[" + ",".join(dm.languages) + "]", "--data.tasks", "[" + ",".join(dm.tasks) + "]",
                "--model.test_beam_size", "1", "--trainer.logger", "false", "--trainer.default_root_dir", str(a.out)])
    print(f"\n{a.experiment}: trained {trained_min:.1f} min, {fit.trainer.global_step} steps, "
          f"{fit.model.model.num_parameters() / 1e6:.2f}M parameters")
    metrics_csv = Path(fit.trainer.loggers[0].log_dir) / "metrics.csv"
    curves = logged_values(metrics_csv, VALIDATION)
    for key, curve in curves.items():
        print(f"learning curve {key}: " + ", ".join(f"step {s}: {v:.1f}" for s, v in curve))
    if curves:
        plot(curves, [], Path(a.out) / "curves.png")
        print(f"learning curves plotted: {Path(a.out) / 'curves.png'}")
    for key, value in sorted(test.trainer.callback_metrics.items()):
        print(f"{key}: {float(value):.2f}")


if __name__ == "__main__":
    main()
