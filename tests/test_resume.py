"""Resuming train.py runs: the checkpoint folder, ``--ckpt_path last`` after a kill -9, and a ``max_time`` stop continued."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, Timer

from s2t.cli import main
from tests.test_train import ROOT, TINY_MODEL, args

NO_DROPOUT = json.dumps({**json.loads(TINY_MODEL), "dropout": 0.0, "attention_dropout": 0.0})  # no random draws
LAST_EVERY_STEP = {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",  # no dirpath: the run's folder
                   "init_args": {"save_last": True, "save_top_k": 0, "every_n_train_steps": 1}}
FINAL = {"class_path": "s2t.callbacks.FinalCheckpoint"}
STEPS, KILL_AT = 6, 4  # the killed run's last.ckpt holds step KILL_AT - 1


class PauseAt(L.Callback):
    """Touches a marker file and blocks when training reaches a step, before that step's checkpoint, until killed."""

    def __init__(self, step: int, marker: str) -> None:
        """Block at global step ``step`` once ``marker`` exists."""
        super().__init__()
        self.step, self.marker = step, Path(marker)

    def on_train_batch_end(self, trainer: L.Trainer, *rest: object) -> None:
        """Runs before ModelCheckpoint saves the step: Lightning puts checkpoint callbacks last."""
        if trainer.global_step == self.step:
            self.marker.touch()
            time.sleep(3600)


def fit_args(corpus: Path, out: Path, callbacks: list[dict], *extra: str) -> list[str]:
    """``fit`` arguments of a tiny deterministic run of ``STEPS`` steps under ``out``, resuming with ``--ckpt_path last``."""
    return ["fit", *args(corpus, out, "--model.model", NO_DROPOUT, "--data.spec_augment", "false", "--trainer.max_steps",
                         str(STEPS), "--trainer.callbacks", json.dumps(callbacks), *extra), "--ckpt_path", "last"]


def wait_for(marker: Path, process: subprocess.Popen, log: Path, limit_s: float = 600) -> None:
    """Wait until ``marker`` exists; fail with the process's log if it exits or the limit passes first."""
    deadline = time.monotonic() + limit_s
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def copy_checkpoint(source: Path, target: Path, mtime: float) -> None:
    """Copy a model-only checkpoint as one Lightning can load, with the given modification time."""
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**torch.load(source, weights_only=True), "pytorch-lightning_version": L.__version__}, target)
    os.utime(target, (mtime, mtime))


def test_ckpt_path_last_is_the_newest_last_checkpoint_of_the_run_folder_with_its_arguments(
    tiny_corpus: Path, tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "checkpoints"
    copy_checkpoint(tiny_checkpoint, folder / "last.ckpt", 1_000_000)
    copy_checkpoint(tiny_checkpoint, folder / "last-v1.ckpt", 2_000_000)  # a later run's: Lightning's version counter
    cli = main(["validate", "--ckpt_path", "last", "--data.data_dir", str(tiny_corpus), "--data.num_workers", "0",
                "--data.languages", "[en]", "--data.tasks", "[asr]", "--model.model", TINY_MODEL, "--trainer.logger", "false",
                "--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "1",
                "--trainer.default_root_dir", str(tmp_path)])
    assert cli.config.validate.ckpt_path == str(folder / "last-v1.ckpt") == cli.trainer.ckpt_path
    assert f"--ckpt_path last: resuming from {folder / 'last-v1.ckpt'}" in capsys.readouterr().err
    assert cli.model.model.config.d_model == 32  # the checkpoint's architecture, not the command line's 64
    checkpointing = [c for c in cli.trainer.callbacks if isinstance(c, ModelCheckpoint)]
    assert checkpointing and {c.dirpath for c in checkpointing} == {str(folder)}


def test_evaluating_last_without_a_last_checkpoint_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["test", "--ckpt_path", "last", "--data.data_dir", str(tmp_path), "--trainer.default_root_dir", str(tmp_path)])
    assert exit_.value.code == 2
    assert f"--ckpt_path last: no last checkpoint in {tmp_path / 'checkpoints'}" in capsys.readouterr().err


@pytest.mark.slow
def test_ckpt_path_last_after_a_kill_9_ends_with_the_weights_of_an_uninterrupted_run(tiny_corpus: Path, tmp_path: Path) -> None:
    """The README's command, ``train.py fit ... --ckpt_path last``, starts the run, and after a kill -9 resumes it."""
    whole = main(fit_args(tiny_corpus, tmp_path / "whole", [LAST_EVERY_STEP, FINAL]))
    assert whole.trainer.global_step == STEPS

    run, marker, log = tmp_path / "run", tmp_path / "paused", tmp_path / "killed.log"
    pause = {"class_path": "tests.test_resume.PauseAt", "init_args": {"step": KILL_AT, "marker": str(marker)}}
    command = [sys.executable, "train.py", *fit_args(tiny_corpus, run, [LAST_EVERY_STEP, FINAL, pause])]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(marker, process, log)
        finally:
            process.kill()  # SIGKILL: no exception handler, no on_exception checkpoint, no final.ckpt
    assert process.wait() == -signal.SIGKILL
    assert f"--ckpt_path last: no last checkpoint in {run / 'checkpoints'}; training starts from step 0" in log.read_text()
    last = run / "checkpoints/last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == KILL_AT - 1 and not (run / "final.ckpt").exists()

    command = [sys.executable, "train.py", *fit_args(tiny_corpus, run, [LAST_EVERY_STEP, FINAL])]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"--ckpt_path last: resuming from {last}" in done.stderr
    assert f"Restored all states from the checkpoint at {last}" in done.stderr  # a fresh start would end the same
    resumed = torch.load(run / "final.ckpt", weights_only=True)
    assert resumed["global_step"] == STEPS
    for name, value in whole.model.state_dict().items():
        torch.testing.assert_close(resumed["state_dict"][name], value, msg=f"parameter {name} differs after resume")
    # one checkpoint folder per run, whatever the logger's version (the resumed run logged to version_1)
    assert (run / "lightning_logs/version_1").is_dir()
    assert {p.relative_to(run) for p in run.rglob("*.ckpt")} == {Path("checkpoints/last.ckpt"), Path("final.ckpt")}


def timer(trainer: L.Trainer) -> Timer:
    """The trainer's ``max_time`` callback."""
    (found,) = [c for c in trainer.callbacks if isinstance(c, Timer)]
    return found


def test_a_run_stopped_by_max_time_continues_from_final_ckpt_with_the_next_epoch(tiny_corpus: Path, tmp_path: Path) -> None:
    common = ["--data.max_frames", "6000", "--trainer.max_epochs", "50"]
    stopped = main(["fit", *args(tiny_corpus, tmp_path, *common, "--trainer.max_time", "00:00:00:01")])
    final = torch.load(tmp_path / "final.ckpt", weights_only=True)
    step, epoch, trained_s = final["global_step"], final["epoch"], timer(stopped.trainer).time_elapsed("train")
    assert 0 < step == stopped.trainer.global_step and epoch < 50  # max_time stopped it

    more = ["--trainer.max_time", "00:01:00:00", "--trainer.max_epochs", str(epoch + 1)]
    continued = main(["fit", *args(tiny_corpus, tmp_path, *common, *more), "--ckpt_path", str(tmp_path / "final.ckpt")])
    # the stopped epoch counts as done: exactly one more epoch, the next one
    assert continued.trainer.global_step == step + continued.trainer.num_training_batches
    assert timer(continued.trainer).time_elapsed("train") > trained_s  # the time already trained counts
