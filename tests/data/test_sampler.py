"""BucketBatchSampler on synthetic lengths, no audio involved: budgets, determinism, shuffling, curricula, shards."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest

from s2t.data.sampler import BucketBatchSampler

LENGTHS = np.random.default_rng(1).integers(50, 1500, size=300).tolist()


def flat(batches: list[list[int]]) -> list[int]:
    """Indices of all batches, in order."""
    return [i for b in batches for i in b]


def test_sampler_yields_every_row_once_within_budget() -> None:
    sampler = BucketBatchSampler(LENGTHS, max_frames=6000, max_batch_size=8, seed=3)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert sorted(flat(batches)) == list(range(len(LENGTHS))) and len(batches) == len(sampler)
        assert all(len(b) * max(LENGTHS[i] for i in b) <= 6000 and len(b) <= 8 for b in batches)


def test_sampler_is_deterministic_per_seed_and_epoch() -> None:
    def batches(seed: int, epoch: int) -> list[list[int]]:
        sampler = BucketBatchSampler(LENGTHS, max_frames=6000, seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert batches(3, 1) == batches(3, 1)
    assert batches(3, 1) != batches(3, 2) and batches(3, 1) != batches(4, 1)


def test_sampler_shuffles_batch_order_and_ties_but_not_when_told_not_to() -> None:
    def longest(sampler: BucketBatchSampler) -> list[int]:
        return [max(LENGTHS[i] for i in b) for b in sampler]

    assert longest(BucketBatchSampler(LENGTHS, max_frames=6000)) != sorted(longest(BucketBatchSampler(LENGTHS, max_frames=6000)))
    assert longest(BucketBatchSampler(LENGTHS, max_frames=6000, shuffle=False)) == sorted(longest(BucketBatchSampler(LENGTHS, max_frames=6000)))
    ties = BucketBatchSampler([100] * 40, max_frames=1000)
    first = [sorted(b) for b in ties]
    ties.set_epoch(1)
    assert sorted(map(sorted, ties)) != sorted(first)  # equal lengths: different groupings per epoch


def test_sampler_length_curriculum_goes_shortest_first_then_shuffles() -> None:
    sampler = BucketBatchSampler(LENGTHS, max_frames=6000, sorted_epochs=1)
    longest = [max(LENGTHS[i] for i in b) for b in sampler]
    assert longest == sorted(longest)
    sampler.set_epoch(1)
    longest = [max(LENGTHS[i] for i in b) for b in sampler]
    assert longest != sorted(longest)


def test_sampler_puts_an_oversize_row_alone_and_warns_once() -> None:
    lengths = [100] * 20 + [9000]
    with pytest.warns(UserWarning, match="1 row.*longer than max_frames=1000") as caught:
        sampler = BucketBatchSampler(lengths, max_frames=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batches = list(sampler)
        sampler.set_epoch(1)
        list(sampler)
    assert len(caught) == 1 and [20] in batches and sorted(flat(batches)) == list(range(21))


@pytest.mark.parametrize("n_rows", [300, 41, 3])
def test_sampler_shards_two_ranks_disjoint_covering_equal(n_rows: int) -> None:
    for epoch in range(3):
        shards = []
        for rank in (0, 1):
            sampler = BucketBatchSampler(LENGTHS[:n_rows], max_frames=6000, seed=5, num_replicas=2, rank=rank)
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
            assert len(shards[-1]) == len(sampler)
        assert len(shards[0]) == len(shards[1]) > 0
        rows = [flat(shard) for shard in shards]
        assert not set(rows[0]) & set(rows[1]) and sorted(rows[0] + rows[1]) == list(range(n_rows))


def test_sampler_temperature_upsamples_a_small_group() -> None:
    groups = [("it", "asr", "it")] * 270 + [("de", "st", "en")] * 30
    plain = BucketBatchSampler(LENGTHS, max_frames=6000, groups=groups, temperature=1.0, seed=2)
    assert sorted(flat(list(plain))) == list(range(300))
    hot = BucketBatchSampler(LENGTHS, max_frames=6000, groups=groups, temperature=5.0, seed=2)
    counts = Counter(flat(list(hot)))
    small = sum(counts[i] for i in range(270, 300))
    # p_small = 30^0.2 / (30^0.2 + 270^0.2) ≈ 0.39, so about 117 of 300 draws
    assert 110 <= small <= 125 and all(counts[i] >= 3 for i in range(270, 300))
    assert sum(counts.values()) == 300 and flat(list(hot)) == flat(list(hot))


def test_sampler_task_curriculum_draws_only_its_groups_then_all() -> None:
    groups = [("en", "asr", "en")] * 100 + [("en", "st", "it")] * 200
    sampler = BucketBatchSampler(LENGTHS, max_frames=6000, groups=groups, seed=3,
                                 curriculum_groups={("en", "asr", "en")}, curriculum_epochs=1)
    counts = Counter(flat(list(sampler)))
    assert set(counts) == set(range(100))  # ASR rows only, each three times: a full epoch's 300 draws
    assert sum(counts.values()) == 300 and set(counts.values()) == {3}
    sampler.set_epoch(1)
    rows = flat(list(sampler))
    assert len(set(rows)) == len(rows) and {groups[i] for i in rows} == set(groups)
    with pytest.raises(ValueError, match="no rows in the curriculum groups"):
        BucketBatchSampler(LENGTHS, max_frames=6000, groups=groups, curriculum_groups={("it", "asr", "it")}, curriculum_epochs=1)


@pytest.mark.parametrize("num_replicas", [1, 2])
def test_every_epoch_has_the_first_epochs_batch_count(num_replicas: int) -> None:
    """Lightning counts an epoch's batches once: a shorter epoch splits batches (every row kept), a longer one is cut."""
    groups = [("en", "asr", "en")] * 100 + [("en", "st", "it")] * 200
    lengths = [500] * 100 + [2000] * 200  # ASR rows short, ST rows long
    for first, later in (("st", "all rows once"), ("asr", "cut")):
        shards = []
        for rank in range(num_replicas):
            sampler = BucketBatchSampler(lengths, max_frames=6000, groups=groups, seed=3, num_replicas=num_replicas,
                                         rank=rank, curriculum_groups={("en", first, "en" if first == "asr" else "it")},
                                         curriculum_epochs=1)
            count = len(list(sampler))
            sampler.set_epoch(1)
            shards.append(list(sampler))
            assert len(sampler) == len(shards[-1]) == count
        rows = flat([b for shard in shards for b in shard])
        if later == "all rows once":  # 300 long rows in epoch 0: 100 batches; epoch 1 alone would need fewer
            assert sorted(rows) == list(range(300))
        else:  # 300 short rows in epoch 0: 25 batches; epoch 1 leaves its last batches out
            assert len(set(rows)) == len(rows) < 300
