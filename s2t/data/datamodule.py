"""The LightningDataModule for speech-to-text manifests: checked rows, tokenizer, bucketed loaders.

Bad rows are handled in two places. ``SpeechDataModule.setup`` checks every row cheaply (text
fields, languages, task, audio header) and, with ``on_bad_row="skip"``, drops and counts the
bad ones; with ``"abort"`` it raises ``BadRowError`` listing them. Problems only visible when
decoding surface in ``SpeechDataset`` (``s2t.data.dataset``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from torch.utils.data import DataLoader

from s2t.data.audio import AudioError, BadRowError, probe_audio, row_problems
from s2t.data.dataset import ON_BAD_ROW, SpeechDataset, collate, describe_row, error_reason
from s2t.data.manifest import KNOWN_LANGUAGES, LANGUAGES, SAMPLE_RATE, TASKS, ManifestError, ManifestRow, num_frames, read_manifest, resolve_audio
from s2t.data.sampler import BucketBatchSampler, ResumableLoader
from s2t.features import SpecAugment
from s2t.tokenizer import Tokenizer

log = logging.getLogger(__name__)

MAX_LISTED_BAD_ROWS = 20  # bad rows named one by one in a warning or error; the rest are counted
SPLITS_OF_STAGE = {"fit": ("train", "valid"), "validate": ("valid",), "test": ("test",), "predict": ("test",)}


@rank_zero_only
def _warn_bad_rows(split: str, manifest: Path, bad: Sequence[str], total: int) -> None:
    """Log the first bad rows one by one, then the count."""
    for line in bad[:MAX_LISTED_BAD_ROWS]:
        log.warning("skipping bad %s", line)
    if len(bad) > MAX_LISTED_BAD_ROWS:
        log.warning("... and %d more bad rows", len(bad) - MAX_LISTED_BAD_ROWS)
    log.warning("%s: skipped %d of %d rows in %s", split, len(bad), total, manifest)


def _audio_problem(path: Path) -> str | None:
    """Header-level problem of an audio file (missing, corrupt, empty, too short), or None."""
    try:
        samples, rate, _ = probe_audio(path)
    except AudioError as err:
        return error_reason(err, path)
    if num_frames(samples * SAMPLE_RATE // rate) == 0:
        return f"audio of {samples} samples at {rate} Hz is shorter than one 25 ms window"
    return None


class SpeechDataModule(L.LightningDataModule):
    """Train/valid/test manifests of one folder, a SentencePiece tokenizer and bucketed loaders."""

    def __init__(
        self,
        data_dir: Path | str,
        train: str = "train.tsv",
        valid: str = "valid.tsv",
        test: str = "test.tsv",
        tokenizer: str | None = None,
        vocab_size: int = 1000,
        max_frames: int = 20000,
        max_batch_size: int | None = None,
        num_workers: int = 2,
        seed: int = 1234,
        temperature: float = 1.0,
        sorted_epochs: int = 0,
        asr_epochs: int = 0,
        spec_augment: bool = True,
        freq_masks: int = 2,
        freq_width: int = 27,
        time_masks: int = 2,
        time_width: int = 100,
        time_ratio: float = 0.2,
        on_bad_row: str = "skip",
        languages: Sequence[str] = LANGUAGES,
        tasks: Sequence[str] = TASKS,
    ) -> None:
        """Manifest names are relative to ``data_dir``.

        ``sorted_epochs``: the first epochs present training batches shortest first (a length
        curriculum); later epochs shuffle them.
        ``asr_epochs``: the first epochs draw ASR rows only, as many as a full epoch (a task
        curriculum: the decoder learns to align with the audio before it learns to translate).
        ``languages`` and ``tasks`` select rows: rows of other known languages or tasks are
        left out quietly (one corpus serves monolingual and multilingual experiments), while a
        language (``s2t.data.manifest.KNOWN_LANGUAGES``) or task nobody knows is a bad row.
        The tokenizer defaults to ``data_dir/spm_<languages>_<tasks>_<vocab_size>.model``,
        trained on the selected training rows when missing.
        """
        super().__init__()
        if on_bad_row not in ON_BAD_ROW:
            raise ValueError(f"on_bad_row must be one of {ON_BAD_ROW}, not {on_bad_row!r}")
        self.save_hyperparameters()
        self.data_dir = Path(data_dir)
        self.manifests = {"train": self.data_dir / train, "valid": self.data_dir / valid, "test": self.data_dir / test}
        self.languages = tuple(languages)
        self.tasks = tuple(tasks)
        default_name = f"spm_{'-'.join(self.languages)}_{'-'.join(self.tasks)}_{vocab_size}.model"
        self.tokenizer_path = Path(tokenizer) if tokenizer is not None else self.data_dir / default_name
        self.tokenizer: Tokenizer | None = None
        self.rows: dict[str, list[ManifestRow]] = {}
        self.skipped: dict[str, int] = {}

    def prepare_data(self) -> None:
        """Train the tokenizer on the selected training rows' texts and save it, unless one is given or exists."""
        if self.tokenizer is not None or self.tokenizer_path.is_file():
            return
        rows = [row for row in read_manifest(self.manifests["train"]) if self.selected(row)]
        if not rows:
            raise ManifestError(f"{self.manifests['train']}: no row of languages {self.languages} and tasks {self.tasks}")
        texts = [text for row in rows for text in (row.src_text, row.tgt_text) if text.strip()]
        tokenizer = Tokenizer.train(texts, self.hparams.vocab_size, self.languages, self.tasks)
        tokenizer.save(self.tokenizer_path)
        log.info("trained tokenizer %s (%d pieces)", self.tokenizer_path, tokenizer.vocab_size)

    def setup(self, stage: str | None = None) -> None:
        """Load the tokenizer and read and validate the manifests that ``stage`` needs."""
        if self.tokenizer is None:
            if not self.tokenizer_path.is_file():
                raise FileNotFoundError(
                    f"{self.tokenizer_path}: tokenizer not found; call prepare_data() or run python -m s2t.tokenizer"
                )
            self.tokenizer = Tokenizer.load(self.tokenizer_path)
        for split in SPLITS_OF_STAGE.get(stage or "", ("train", "valid", "test")):
            if split not in self.rows:
                self.rows[split] = self._checked_rows(split)

    def selected(self, row: ManifestRow) -> bool:
        """Whether a row belongs to the configured languages and tasks (rows of unknown ones do, as bad rows)."""
        langs = (row.src_lang, row.tgt_lang)
        if row.task not in TASKS or not set(langs) <= set(KNOWN_LANGUAGES) | set(self.languages):
            return True  # unknown language or task: kept so that validation reports it
        return row.task in self.tasks and set(langs) <= set(self.languages)

    def _checked_rows(self, split: str) -> list[ManifestRow]:
        """Rows of a split that pass the cheap checks; bad ones are skipped or abort the run."""
        manifest = self.manifests[split]
        rows = [row for row in read_manifest(manifest) if self.selected(row)]
        languages = tuple(lang for lang in self.languages if lang in self.tokenizer.languages)
        tasks = tuple(task for task in self.tasks if task in self.tokenizer.tasks)
        audio_problems: dict[Path, str | None] = {}
        kept, bad = [], []
        for row in rows:
            path = resolve_audio(manifest, row)
            if path not in audio_problems:
                audio_problems[path] = _audio_problem(path)
            reasons = row_problems(row, languages, tasks) + [p for p in [audio_problems[path]] if p]
            if reasons:
                bad.append(describe_row(manifest, row, reasons))
            else:
                kept.append(row)
        if bad and self.hparams.on_bad_row == "abort":
            listed = "\n  ".join(bad[:MAX_LISTED_BAD_ROWS])
            more = f"\n  ... and {len(bad) - MAX_LISTED_BAD_ROWS} more" if len(bad) > MAX_LISTED_BAD_ROWS else ""
            raise BadRowError(f"{len(bad)} bad row(s) in {manifest}:\n  {listed}{more}")
        if bad:
            _warn_bad_rows(split, manifest, bad, len(rows))
        self.skipped[split] = len(bad)
        if not kept:
            raise ManifestError(f"{manifest}: no usable rows ({len(rows)} read, {len(bad)} bad)")
        return kept

    def _loader(self, split: str, train: bool) -> DataLoader:
        """Bucketed DataLoader of a split; training shuffles, upsamples by temperature and augments."""
        if split not in self.rows:
            raise RuntimeError(f"split {split!r} is not set up; call setup() with the matching stage first")
        hp = self.hparams
        rows = self.rows[split]
        augment = SpecAugment(hp.freq_masks, hp.freq_width, hp.time_masks, hp.time_width, hp.time_ratio)
        dataset = SpeechDataset(
            self.manifests[split], rows, self.tokenizer, augment if train and hp.spec_augment else None, hp.on_bad_row
        )
        sampler = BucketBatchSampler(
            [row.n_frames for row in rows],
            hp.max_frames,
            hp.max_batch_size,
            groups=[(row.src_lang, row.task, row.tgt_lang) for row in rows],
            temperature=hp.temperature if train else 1.0,
            shuffle=train,
            sorted_epochs=hp.sorted_epochs,
            curriculum_groups={(r.src_lang, r.task, r.tgt_lang) for r in rows if r.task == "asr"},
            curriculum_epochs=hp.asr_epochs if train else 0,
            seed=hp.seed,
        )
        loader_cls = (
            functools.partial(ResumableLoader, consumed=self._consumed_batches, epoch=self._current_epoch) if train else DataLoader
        )
        return loader_cls(
            dataset,
            batch_sampler=sampler,
            collate_fn=functools.partial(collate, pad_id=self.tokenizer.pad_id),
            num_workers=hp.num_workers,
            persistent_workers=hp.num_workers > 0,
            generator=torch.Generator().manual_seed(hp.seed + sampler.rank),  # seeds the workers' torch RNG
        )

    def _current_epoch(self) -> int:
        """The training loop's current epoch (the number of epochs it has finished)."""
        return self.trainer.fit_loop.epoch_progress.current.processed if self.trainer else 0

    def _consumed_batches(self) -> int:
        """Training batches the trainer has processed in the current epoch."""
        return self.trainer.fit_loop.epoch_loop.batch_progress.current.processed if self.trainer else 0

    def train_dataloader(self) -> DataLoader:
        """Training batches: shuffled per epoch, temperature-sampled, with SpecAugment."""
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        """Validation batches in length order, without augmentation."""
        return self._loader("valid", train=False)

    def test_dataloader(self) -> DataLoader:
        """Test batches in length order, without augmentation."""
        return self._loader("test", train=False)

    def predict_dataloader(self) -> DataLoader:
        """The test manifest's batches, for ``train.py predict``."""
        return self._loader("test", train=False)
