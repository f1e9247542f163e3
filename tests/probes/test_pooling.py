"""Pooling of input-resolution maps to encoder frames: known answers and the poolers' order."""

from __future__ import annotations

import pytest
import torch

from probes.saliency.pooling import POOLERS, pool_to_frames

# One token, 4 input frames x 2 channels; encoder frames cover input frames [0, 2) and [2, 4).
BLOCKS = torch.tensor([[[1.0, 2.0], [3.0, 0.0], [0.0, 5.0], [4.0, 4.0]]])  # (1, 4, 2)
BLOCKS_POOLED = {
    "max2d": [[3.0, 5.0]],  # max of {1, 2, 3, 0}, max of {0, 5, 4, 4}
    "avg2d": [[1.5, 3.25]],  # 6 / 4, 13 / 4
    "max_avg1d": [[2.5, 4.5]],  # frame maxima 2, 3 | 5, 4, averaged
}


@pytest.mark.parametrize("method", POOLERS)
def test_blocks_known_answer(method: str) -> None:
    """T a multiple of T': disjoint windows of T / T' frames."""
    assert torch.equal(pool_to_frames(BLOCKS, 2, method), torch.tensor(BLOCKS_POOLED[method]))


def test_default_is_max2d() -> None:
    """The paper's pooler is the default."""
    assert torch.equal(pool_to_frames(BLOCKS, 2), pool_to_frames(BLOCKS, 2, "max2d"))


@pytest.mark.parametrize(
    ("method", "expected"),
    [("max2d", [[2.0, 4.0, 6.0]]), ("avg2d", [[1.0, 3.0, 5.0]]), ("max_avg1d", [[1.0, 3.0, 5.0]])],
)
def test_uneven_windows_share_boundary_frames(method: str, expected: list[list[float]]) -> None:
    """T = 7, T' = 3: windows [0, 3), [2, 5), [4, 7) (floor start, ceil end)."""
    maps = torch.arange(7.0).view(1, 7, 1).expand(1, 7, 3)  # (1, T, F), equal across channels
    assert torch.equal(pool_to_frames(maps, 3, method), torch.tensor(expected))


@pytest.mark.parametrize("method", POOLERS)
def test_one_frame_per_window_collapses_frequency_only(method: str) -> None:
    """T' = T: each window is one input frame, so only the frequency axis is reduced."""
    maps = torch.rand(3, 5, 4, generator=torch.Generator().manual_seed(0))  # (I, T, F)
    expected = maps.mean(dim=-1) if method == "avg2d" else maps.amax(dim=-1)
    assert torch.allclose(pool_to_frames(maps, 5, method), expected)


@pytest.mark.parametrize("method", POOLERS)
def test_tokens_pooled_independently(method: str) -> None:
    """Pooling a batch of token maps equals pooling each token alone."""
    maps = torch.rand(4, 37, 6, generator=torch.Generator().manual_seed(1))  # (I, T, F)
    alone = torch.cat([pool_to_frames(m[None], 9, method) for m in maps])
    assert torch.allclose(pool_to_frames(maps, 9, method), alone)


def test_poolers_ordered() -> None:
    """avg2d <= max_avg1d <= max2d elementwise on non-negative maps, uneven windows included."""
    maps = torch.rand(5, 37, 8, generator=torch.Generator().manual_seed(2))  # (I, T, F)
    avg2d, max_avg1d, max2d = (pool_to_frames(maps, 9, m) for m in ("avg2d", "max_avg1d", "max2d"))
    assert avg2d.shape == (5, 9)
    assert (avg2d <= max_avg1d + 1e-6).all() and (max_avg1d <= max2d + 1e-6).all()
    assert (avg2d < max2d).any()


def test_empty_hypothesis() -> None:
    """No tokens, no rows."""
    assert pool_to_frames(torch.zeros(0, 8, 3), 2).shape == (0, 2)


@pytest.mark.parametrize(
    ("maps", "frames", "method", "message"),
    [
        (BLOCKS, 2, "mean", "unknown pooling method 'mean'"),
        (BLOCKS[0], 2, "max2d", r"must be \(I, T, F\)"),
        (BLOCKS, 0, "max2d", "frames=0"),
    ],
)
def test_rejects_bad_input(maps: torch.Tensor, frames: int, method: str, message: str) -> None:
    """Clear errors for an unknown pooler, a wrong rank and no frames."""
    with pytest.raises(ValueError, match=message):
        pool_to_frames(maps, frames, method)
