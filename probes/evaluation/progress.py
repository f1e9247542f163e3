"""The progress bar of an explanation run: training's tqdm bar, counting the utterances every worker has explained."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

if TYPE_CHECKING:
    from probes.evaluation.job import EvaluationJob

POLL_S = 1.0  # how often rank zero counts the record files


def explained(job: EvaluationJob, rows: int) -> int:
    """How many of the job's first ``rows`` (selected) manifest rows have a record, written by any worker."""
    return sum(job.record_path(index).is_file() for index in range(rows))


class UtteranceProgress(TQDMProgressBar):
    """Lightning's tqdm bar (training's style) over the run's utterances, not over one rank's batches.

    Each worker writes one record file per utterance (``run.explain_row``); rank zero (the only rank whose bar
    shows) counts them every ``POLL_S`` seconds in a thread and after each of its own utterances, so the bar
    counts every worker's utterances, and a resumed run starts at those already done.
    """

    def __init__(self, job: EvaluationJob, rows: int) -> None:
        """Count the records of the job's first ``rows`` rows."""
        super().__init__()
        self.job, self.rows = job, rows
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def update(self) -> None:
        """Show the current count when it has changed (a bar written to a log file adds a line per refresh)."""
        bar = self.predict_progress_bar
        if not bar.disable and (done := explained(self.job, self.rows)) != bar.n:
            bar.n = done
            bar.refresh()

    def _poll(self) -> None:
        """Update the bar every ``POLL_S`` seconds until stopped."""
        while not self._stop.wait(POLL_S):
            self.update()

    def _halt(self) -> None:
        """Stop the polling thread, if running."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
            self._poller = None

    def init_predict_tqdm(self) -> Tqdm:
        """Training's bar style, over the run's utterances, opened at those already explained (tqdm's rate counts
        from there)."""
        return Tqdm(desc="Explaining", total=self.rows, initial=explained(self.job, self.rows),
                    position=2 * self.process_position, disable=self.is_disabled, leave=True, dynamic_ncols=True,
                    file=sys.stdout, smoothing=0, bar_format=self.BAR_FORMAT)

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Open the bar and start counting."""
        super().on_predict_start(trainer, pl_module)
        if not self.predict_progress_bar.disable:
            self._stop.clear()
            self._poller = threading.Thread(target=self._poll, name="utterance-progress", daemon=True)
            self._poller.start()

    def on_predict_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int,
                               dataloader_idx: int = 0) -> None:
        """Nothing: the bar counts utterances, not this rank's batches."""

    def on_predict_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                             batch_idx: int, dataloader_idx: int = 0) -> None:
        """Count at once when this rank finishes an utterance."""
        self.update()

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stop counting, show the final count and close the bar."""
        self._halt()
        self.update()
        super().on_predict_end(trainer, pl_module)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        """Stop counting when the run fails."""
        self._halt()
