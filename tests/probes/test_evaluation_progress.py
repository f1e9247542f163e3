"""evaluate.py's progress bar counts the utterances every worker has explained, from their record files."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

import probes.evaluation.progress
from probes.evaluation.progress import UtteranceProgress, explained
from probes.evaluation.job import EvaluationJob
from probes.explain import ExplainConfig
from probes.store import write_record


def finish(job: EvaluationJob, index: int) -> None:
    """Write row ``index``'s record, as the worker that explained it does."""
    write_record(job.record_path(index), {"id": f"row{index}"})


def test_the_bar_counts_records_of_every_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes.evaluation.progress, "POLL_S", 0.02)
    shown = io.StringIO()
    monkeypatch.setattr("sys.stdout", shown)  # where Lightning's tqdm bars write
    job = EvaluationJob(tmp_path / "manifest.tsv", tmp_path / "out", ExplainConfig())
    job.work.mkdir(parents=True)
    finish(job, 2)  # done by an earlier, interrupted run
    assert explained(job, 4) == 1
    progress = UtteranceProgress(job, rows=4)
    progress.on_predict_start(None, None)  # the bar uses neither the trainer nor the module
    bar = progress.predict_progress_bar
    assert (bar.n, bar.total, bar.initial, bar.desc) == (1, 4, 1, "Explaining")  # a resumed run starts where it was
    finish(job, 1)  # another worker's utterance: rank zero's thread sees it without a batch of its own ending
    deadline = time.monotonic() + 5
    while bar.n != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bar.n == 2
    finish(job, 0)
    progress.on_predict_batch_end(None, None, None, 0, 0)  # this rank's own utterance
    assert bar.n == 3
    finish(job, 3)
    progress.on_predict_end(None, None)
    assert bar.n == 4 and progress._poller is None
    assert "Explaining: 100%" in shown.getvalue() and "4/4" in shown.getvalue()
