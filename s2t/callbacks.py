"""Training callbacks of our own (Lightning's cover the rest)."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar


class FinalCheckpoint(L.Callback):
    """Save ``<default_root_dir>/final.ckpt`` when fit ends, however it ends normally (epochs, steps, max_time).

    Lightning's rolling ``last.ckpt`` may be up to ``every_n_train_steps`` behind when
    ``max_time`` stops a run; this one holds the weights training ended with.
    """

    def __init__(self, filename: str = "final.ckpt") -> None:
        """File name inside the trainer's ``default_root_dir``."""
        super().__init__()
        self.filename = filename

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write the checkpoint (every rank calls ``save_checkpoint``; rank zero writes)."""
        trainer.save_checkpoint(Path(trainer.default_root_dir) / self.filename)


class ProgressTotal(L.Callback):
    """Give the progress bar its epoch length back after a mid-epoch resume.

    Lightning skips ``on_train_epoch_start`` when it resumes inside an epoch, which is where
    its TQDM bar learns the epoch's length, so a resumed run showed ``559/?``.
    """

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        """Set a missing total from the trainer's batch count."""
        callback = trainer.progress_bar_callback
        if not isinstance(callback, TQDMProgressBar):  # Rich's bar keeps its own task ids
            return
        bar = callback.train_progress_bar
        batches = trainer.num_training_batches
        if bar.total is None and batches != float("inf"):
            bar.total = int(batches)
            bar.set_description(f"Epoch {trainer.current_epoch}")
