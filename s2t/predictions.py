"""Write ``train.py predict`` hypotheses to a TSV file (one per rank under DDP)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter


@dataclass(frozen=True)
class Prediction:
    """One decoded utterance with what it should have been: a row of ``predictions.tsv``."""

    id: str
    task: str
    src_lang: str
    tgt_lang: str
    hypothesis: str
    reference: str


COLUMNS = tuple(f.name for f in fields(Prediction))  # predictions.tsv's header, what s2t.score reads


def write_predictions(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """A predictions TSV of ``COLUMNS`` rows (``Prediction`` as a dict), what ``s2t.score`` reads."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writeheader()
        writer.writerows(rows)


class PredictionWriter(BasePredictionWriter):
    """Writes ``COLUMNS`` rows to ``OUT/predictions.tsv`` after prediction."""

    def __init__(self, out_dir: str | None = None) -> None:
        """``out_dir`` defaults to the trainer's ``default_root_dir``."""
        super().__init__(write_interval="epoch")
        self.out_dir = out_dir

    def write_on_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, predictions: Sequence[Any],
                           batch_indices: Sequence[Any] | None) -> None:
        """Flatten the batches' rows and write them, printing where they went."""
        folder = Path(self.out_dir or trainer.default_root_dir)
        folder.mkdir(parents=True, exist_ok=True)
        name = "predictions.tsv" if trainer.world_size == 1 else f"predictions-rank{trainer.global_rank}.tsv"
        rows = [row for batch in predictions for row in batch]
        write_predictions(folder / name, rows)
        print(f"wrote {len(rows)} predictions to {folder / name}")
