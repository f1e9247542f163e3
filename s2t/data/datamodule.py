"""Datasets, length-bucketed batching and the LightningDataModule for speech-to-text manifests.

Bad rows are handled in two places. ``SpeechDataModule.setup`` checks every row cheaply (text
fields, languages, task, audio header) and, with ``on_bad_row="skip"``, drops and counts the
bad ones; with ``"abort"`` it raises ``BadRowError`` listing them. Problems only visible when
decoding (NaN samples, truncated data) surface in ``SpeechDataset.__getitem__``: the item
becomes ``None`` (skip; ``collate`` drops it and counts it in ``n_skipped``) or raises.

Under DDP, pass ``Trainer(use_distributed_sampler=False)``: ``BucketBatchSampler`` shards
batches across ranks itself.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable, Collection, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, Sampler

from s2t.data.audio import AudioError, BadRowError, load_audio, probe_audio, row_problems
from s2t.data.manifest import LANGUAGES, SAMPLE_RATE, TASKS, ManifestError, ManifestRow, num_frames, read_manifest, resolve_audio
from s2t.features import N_MELS, FeatureError, SpecAugment, fbank
from s2t.tokenizer import PAD_ID, Tokenizer

log = logging.getLogger(__name__)

ON_BAD_ROW = ("skip", "abort")
MAX_LISTED_BAD_ROWS = 20  # bad rows named one by one in a warning or error; the rest are counted
SPLITS_OF_STAGE = {"fit": ("train", "valid"), "validate": ("valid",), "test": ("test",), "predict": ("test",)}


def _reason(err: Exception, path: Path) -> str:
    """Error message without the leading ``path: `` that AudioError puts there."""
    return str(err).removeprefix(f"{path}: ")


def _describe(manifest: Path, row: ManifestRow, reasons: Sequence[str]) -> str:
    """One line naming a bad row: id, manifest, audio file and reasons."""
    return f"row {row.id!r} of {manifest} (audio {resolve_audio(manifest, row)}): {'; '.join(reasons)}"


class SpeechDataset(Dataset):
    """Manifest rows as training examples: normalised fbank features and decoder target tokens."""

    def __init__(
        self,
        manifest: Path | str,
        rows: Sequence[ManifestRow],
        tokenizer: Tokenizer,
        spec_augment: SpecAugment | None = None,
        on_bad_row: str = "skip",
    ) -> None:
        """Keep the rows (already validated), the tokenizer and the optional augmentation."""
        if on_bad_row not in ON_BAD_ROW:
            raise ValueError(f"on_bad_row must be one of {ON_BAD_ROW}, not {on_bad_row!r}")
        self.manifest = Path(manifest)
        self.rows = list(rows)
        self.tokenizer = tokenizer
        self.spec_augment = spec_augment
        self.on_bad_row = on_bad_row

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        """Features and tokens of one row; None if its audio fails to load in skip mode."""
        row = self.rows[index]
        path = resolve_audio(self.manifest, row)
        try:
            feats = fbank(torch.from_numpy(load_audio(path)))  # (T, 80)
        except (AudioError, FeatureError) as err:
            message = _describe(self.manifest, row, [_reason(err, path)])
            if self.on_bad_row == "abort":
                raise BadRowError(message) from err
            log.warning("skipping %s", message)
            return None
        if self.spec_augment is not None:
            feats = self.spec_augment(feats)  # (T, 80)
        target = self.tokenizer.prefix(row.tgt_lang, row.task) + self.tokenizer.encode(row.tgt_text)
        return {
            "id": row.id,
            "features": feats,  # (T, 80)
            "tokens": torch.tensor(target + [self.tokenizer.eos_id], dtype=torch.long),  # (S,)
            "src_tokens": torch.tensor(self.tokenizer.encode(row.src_text), dtype=torch.long),  # (S_src,) CTC target
            "src_lang": row.src_lang,
            "tgt_lang": row.tgt_lang,
            "task": row.task,
            "src_text": row.src_text,
            "tgt_text": row.tgt_text,
        }


def collate(items: Sequence[dict[str, Any] | None], pad_id: int = PAD_ID) -> dict[str, Any]:
    """Batch items (None items dropped and counted in ``n_skipped``); batch-first, padded.

    ``tokens`` are decoder targets with their prefix and eos; ``src_tokens`` the source
    transcript's pieces (the CTC target), each with its ``*_lengths``.
    """
    kept = [item for item in items if item is not None]
    batch: dict[str, Any] = {"n_skipped": len(items) - len(kept)}
    for key in ("id", "src_lang", "tgt_lang", "task", "src_text", "tgt_text"):
        batch["ids" if key == "id" else key] = [item[key] for item in kept]
    if not kept:
        batch.update(
            features=torch.zeros(0, 0, N_MELS),
            feature_lengths=torch.zeros(0, dtype=torch.long),
            tokens=torch.zeros(0, 0, dtype=torch.long),
            token_lengths=torch.zeros(0, dtype=torch.long),
            src_tokens=torch.zeros(0, 0, dtype=torch.long),
            src_token_lengths=torch.zeros(0, dtype=torch.long),
        )
        return batch
    feats = [item["features"] for item in kept]
    batch["features"] = pad_sequence(feats, batch_first=True, padding_value=0.0)  # (B, T_max, 80)
    batch["feature_lengths"] = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)  # (B,)
    for key in ("tokens", "src_tokens"):
        seqs = [item[key] for item in kept]
        batch[key] = pad_sequence(seqs, batch_first=True, padding_value=pad_id)  # (B, S_max)
        batch[key.replace("tokens", "token_lengths")] = torch.tensor([t.shape[0] for t in seqs], dtype=torch.long)  # (B,)
    return batch


def _distributed_defaults(num_replicas: int | None, rank: int | None) -> tuple[int, int]:
    """World size and rank: given values, else torch.distributed's when initialised, else (1, 0)."""
    initialised = torch.distributed.is_available() and torch.distributed.is_initialized()
    if num_replicas is None:
        num_replicas = torch.distributed.get_world_size() if initialised else 1
    if rank is None:
        rank = torch.distributed.get_rank() if initialised else 0
    if not 0 <= rank < num_replicas:
        raise ValueError(f"rank {rank} is outside [0, {num_replicas})")
    return num_replicas, rank


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length rows under a padded-frames budget, shuffled per epoch, sharded per rank.

    Each epoch draws the row multiset (every row once at ``temperature=1``; with T > 1 each
    group g of ``groups`` gets round(N * p_g) draws, p_g ∝ n_g^(1/T): whole copies of the group
    plus a random subset), sorts it by length with random tie-breaks, cuts it greedily so that
    ``len(batch) * longest <= max_frames`` (and ``len(batch) <= max_batch_size``), and shuffles
    the batch order (except in the first ``sorted_epochs`` epochs, which go shortest batch first: a
    length curriculum, SortaGrad in Amodei et al. 2016). Randomness derives from (seed, epoch) only. The batch list is split
    ``batches[rank::num_replicas]``; when its length is not a multiple of ``num_replicas`` the
    largest batches are halved until it is, so shards are disjoint, cover the epoch and have
    equal lengths (batches are repeated only if there are fewer rows than ranks). In the first
    ``curriculum_epochs`` epochs only the ``curriculum_groups`` are drawn, scaled up to as many
    rows as a full epoch (a task curriculum). Every epoch has the first epoch's number of
    batches (see ``_epoch_batches``): Lightning counts them once.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_frames: int,
        max_batch_size: int | None = None,
        *,
        groups: Sequence[Hashable] | None = None,
        temperature: float = 1.0,
        shuffle: bool = True,
        sorted_epochs: int = 0,
        curriculum_groups: Collection[Hashable] = (),
        curriculum_epochs: int = 0,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        """Lengths are the rows' ``n_frames``; ``groups`` their (src_lang, task, tgt_lang) keys."""
        super().__init__()
        if len(lengths) == 0:
            raise ValueError("BucketBatchSampler needs at least one row")
        if max_frames <= 0 or (max_batch_size is not None and max_batch_size <= 0) or temperature <= 0:
            raise ValueError("max_frames, max_batch_size and temperature must be positive")
        if groups is not None and len(groups) != len(lengths):
            raise ValueError(f"{len(groups)} group keys for {len(lengths)} rows")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.max_frames = max_frames
        self.max_batch_size = max_batch_size
        self.shuffle = shuffle
        self.sorted_epochs = sorted_epochs
        self.seed = seed
        self.num_replicas, self.rank = _distributed_defaults(num_replicas, rank)
        self.epoch = 0
        self._resume = (-1, 0)  # (epoch, batches to skip) set by resume_at
        keys = groups if groups is not None else [0] * len(lengths)
        self._members, self._draws = self._group_draws(keys, temperature)
        self.curriculum_epochs = curriculum_epochs
        self._curriculum_draws = self._draws
        if curriculum_epochs > 0:
            self._curriculum_draws = self._group_draws(keys, temperature, set(curriculum_groups))[1]
        self._cache: tuple[int, list[list[int]]] | None = None
        self._first_count: int | None = None  # batches of epoch 0, which every epoch keeps
        oversize = int((self.lengths > max_frames).sum())
        if oversize:
            warnings.warn(
                f"{oversize} row(s) longer than max_frames={max_frames} (longest {self.lengths.max()}) form batches of their own",
                stacklevel=2,
            )

    @staticmethod
    def _group_draws(
        groups: Sequence[Hashable], temperature: float, only: Collection[Hashable] | None = None
    ) -> tuple[list[np.ndarray], list[int]]:
        """Row indices of each group and its number of draws per epoch, round(N * p_g).

        With ``only``, the other groups get no draws and these share all N.
        """
        index: dict[Hashable, list[int]] = {}
        for i, key in enumerate(groups):
            index.setdefault(key, []).append(i)
        members = [np.asarray(rows, dtype=np.int64) for rows in index.values()]
        sizes = np.array([len(m) for m in members], dtype=np.float64)
        weights = sizes ** (1.0 / temperature)
        if only is not None:
            weights *= np.array([key in only for key in index], dtype=np.float64)
            if not weights.any():
                raise ValueError(f"no rows in the curriculum groups {sorted(map(str, only))}")
        draws = np.rint(sizes.sum() * weights / weights.sum()).astype(int)
        draws = np.where(weights > 0, np.maximum(draws, 1), 0)
        return members, draws.tolist()

    @property
    def sampler(self) -> BucketBatchSampler:
        """Itself: Lightning calls ``set_epoch`` on ``dataloader.batch_sampler.sampler``."""
        return self

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose (seed, epoch)-determined batches are yielded next."""
        self.epoch = epoch

    def resume_at(self, epoch: int, consumed: int) -> None:
        """Make the iteration over ``epoch`` continue after this rank's first ``consumed`` batches."""
        self.epoch = epoch
        self._resume = (epoch, consumed)

    def _draw_rows(self, rng: np.random.Generator, epoch: int) -> np.ndarray:
        """An epoch's row multiset: per group, whole copies plus a random subset."""
        drawn = []
        group_draws = self._curriculum_draws if epoch < self.curriculum_epochs else self._draws
        for members, draws in zip(self._members, group_draws):
            copies, rest = divmod(draws, len(members))
            drawn += [np.tile(members, copies), rng.choice(members, size=rest, replace=False)]
        return np.concatenate(drawn)

    def _cut(self, order: np.ndarray) -> list[list[int]]:
        """Greedy batches over rows sorted by length, within max_frames and max_batch_size."""
        batches: list[list[int]] = []
        current: list[int] = []
        longest = 0
        for i in order.tolist():
            longest_with = max(longest, int(self.lengths[i]))
            full = len(current) == self.max_batch_size or longest_with * (len(current) + 1) > self.max_frames
            if current and full:
                batches.append(current)
                current, longest_with = [], int(self.lengths[i])
            current.append(i)
            longest = longest_with
        batches.append(current)
        return batches

    @staticmethod
    def _resize(batches: list[list[int]], count: int) -> list[list[int]]:
        """Exactly ``count`` batches: halve the largest (every row kept, each within budget), repeat
        batches if every one is a single row, or leave the last ones out if there are too many."""
        while len(batches) < count and max(map(len, batches)) > 1:
            largest = max(range(len(batches)), key=lambda b: len(batches[b]))
            half = len(batches[largest]) // 2
            batches[largest : largest + 1] = [batches[largest][:half], batches[largest][half:]]
        return (batches + [batches[k % len(batches)] for k in range(count - len(batches))])[:count]

    def _balance(self, batches: list[list[int]]) -> list[list[int]]:
        """Halve the largest batches (or, failing that, repeat batches) until ranks get equal shares."""
        return self._resize(batches, -(-len(batches) // self.num_replicas) * self.num_replicas)

    def _cut_epoch(self, epoch: int) -> list[list[int]]:
        """All ranks' batches of ``epoch`` in yield order, before fitting them to the first epoch's count."""
        rng = np.random.default_rng([self.seed, epoch])
        rows = self._draw_rows(rng, epoch)
        if self.shuffle:
            rows = rng.permutation(rows)  # random tie-breaks among equal lengths
        order = rows[np.argsort(self.lengths[rows], kind="stable")]
        batches = self._balance(self._cut(order))
        if self.shuffle and epoch >= self.sorted_epochs:
            batches = [batches[b] for b in rng.permutation(len(batches))]
        return batches

    def _epoch_batches(self) -> list[list[int]]:
        """All ranks' batches of the current epoch, in yield order (cached per epoch).

        Every epoch has the first epoch's number of batches, because Lightning counts an epoch's
        batches once, at the first: a longer epoch would be cut short and a shorter one would
        end before its validation. A shorter epoch halves its largest batches (every row stays);
        a longer one leaves its last batches (random ones, the order being shuffled) out.
        """
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        batches = self._cut_epoch(self.epoch)
        if self._first_count is None:
            self._first_count = len(batches) if self.epoch == 0 else len(self._cut_epoch(0))
        if len(batches) != self._first_count:
            batches = self._resize(batches, self._first_count)
        self._cache = (self.epoch, batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        """Yield this rank's batches of the current epoch (after those skipped by ``resume_at``)."""
        resume_epoch, skip = self._resume
        self._resume = (-1, 0)
        if resume_epoch != self.epoch:  # the interrupted epoch had ended: start the next one whole
            skip = 0
        yield from self._epoch_batches()[self.rank :: self.num_replicas][skip:]

    def __len__(self) -> int:
        """Number of batches this rank yields in the current epoch."""
        return len(self._epoch_batches()) // self.num_replicas


class ResumableLoader(DataLoader):
    """A DataLoader over a ``BucketBatchSampler`` that Lightning can fast-forward mid-epoch.

    Lightning saves ``state_dict()`` in checkpoints and calls ``load_state_dict`` before
    iterating when it resumes, so an interrupted epoch continues where it stopped instead of
    starting over. ``consumed`` reports how many batches the training loop has finished (the
    loader itself runs ahead of the loop by its prefetching). ``epoch`` gives the training loop's
    epoch, which each iteration takes: Lightning calls ``set_epoch`` only after its first ``iter``
    of a run, and worker processes start drawing batches at ``iter``, so a run resumed at an
    epoch's end would otherwise replay epoch 0.
    """

    def __init__(self, *args: Any, consumed: Callable[[], int], epoch: Callable[[], int], **kwargs: Any) -> None:
        """DataLoader arguments plus functions giving the current epoch and the batches consumed in it."""
        super().__init__(*args, **kwargs)
        self._consumed = consumed
        self._epoch = epoch

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the training loop's current epoch."""
        self.batch_sampler.set_epoch(self._epoch())
        return super().__iter__()

    def state_dict(self) -> dict[str, int]:
        """Epoch and position of the training loop in it."""
        return {"epoch": self.batch_sampler.epoch, "consumed": self._consumed()}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue the saved epoch after its consumed batches."""
        self.batch_sampler.resume_at(state["epoch"], state["consumed"])


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
        return _reason(err, path)
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
        language or task nobody knows is a bad row. The tokenizer defaults to
        ``data_dir/spm_<languages>_<tasks>_<vocab_size>.model``, trained on the selected
        training rows when missing.
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
        if row.task not in TASKS or not set(langs) <= set(LANGUAGES) | set(self.languages):
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
                bad.append(_describe(manifest, row, reasons))
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
