"""Length-bucketed batching sharded over ranks, and a DataLoader Lightning can resume mid-epoch.

Under DDP, pass ``Trainer(use_distributed_sampler=False)``: ``BucketBatchSampler`` shards
batches across ranks itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler



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
