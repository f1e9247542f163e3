"""Bring input-resolution maps (I, T, F) to cross-attention's grid (I, T').

Frequency is collapsed and time pooled to encoder frames. Encoder frame t covers the input
frames [floor(t * T / T'), ceil((t + 1) * T / T')), the windows of PyTorch's adaptive
pooling: when T is a multiple of T' (T = 4 T' for our models) they are the disjoint blocks
of T / T' frames; otherwise neighbouring windows share their boundary frame, so every input
frame counts and the windows stay as even as possible. (A model's last encoder frame may
really see fewer input frames than T / T'; the windows ignore that, as the paper's pooling
does.)

Poolers, each over a frame's time window:
    "max2d"      max over time and frequency (the paper's choice)
    "avg2d"      mean over time and frequency
    "max_avg1d"  max over frequency in each input frame, then mean over the window
For any map, avg2d <= max_avg1d <= max2d elementwise.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

POOLERS = ("max2d", "avg2d", "max_avg1d")


def pool_to_frames(maps: Tensor, frames: int, method: str = "max2d") -> Tensor:
    """Pool maps (I, T, F) to (I, T') with T' = ``frames`` encoder frames, by ``method`` (see ``POOLERS``).

    Args:
        maps: (I, T, F) token x input-frame x frequency maps (e.g. saliency).
        frames: T', the number of encoder frames (CA's last dimension).
        method: one of ``POOLERS``.

    Returns:
        (I, T') maps, in ``maps``' dtype and device.
    """
    if maps.dim() != 3:
        raise ValueError(f"maps must be (I, T, F), got shape {tuple(maps.shape)}")
    if frames < 1:
        raise ValueError(f"frames={frames} must be >= 1")
    if method == "max2d":
        return F.adaptive_max_pool2d(maps, (frames, 1))[..., 0]  # (I, T', 1) -> (I, T')
    if method == "avg2d":
        return F.adaptive_avg_pool2d(maps, (frames, 1))[..., 0]
    if method == "max_avg1d":
        return F.adaptive_avg_pool1d(maps.amax(dim=-1), frames)  # (I, T) -> (I, T')
    raise ValueError(f"unknown pooling method {method!r}; choose one of {POOLERS}")
