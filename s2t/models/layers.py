"""Pieces shared by the encoders and the decoder: padding masks, positions, feed-forward, subsampler."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def padding_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Bool (B, max_len), True on the first ``lengths[b]`` (valid) positions of row b."""
    return torch.arange(max_len, device=lengths.device) < lengths[:, None]


def sinusoidal_table(positions: int, dim: int) -> Tensor:
    """Fixed positional encodings (positions, dim): sines in the first half, cosines in the second."""
    half = dim // 2
    inv_freq = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / max(half - 1, 1))
    angles = torch.arange(positions, dtype=torch.float64)[:, None] * inv_freq  # (P, dim / 2)
    return torch.cat((angles.sin(), angles.cos()), dim=1).float()  # (P, dim); dim is even (even head dim)


def _conv_lengths(conv: nn.Conv1d, lengths: Tensor) -> Tensor:
    """Output lengths of one convolution: floor((L + 2 padding - kernel) / stride) + 1."""
    return (lengths + 2 * conv.padding[0] - conv.kernel_size[0]) // conv.stride[0] + 1


class FeedForward(nn.Sequential):
    """Position-wise Linear, activation, dropout, Linear."""

    def __init__(self, d_model: int, ffn_dim: int, dropout: float, activation: type[nn.Module]) -> None:
        """Hidden size ``ffn_dim``; ``activation`` is a module class such as ``nn.SiLU``."""
        super().__init__(nn.Linear(d_model, ffn_dim), activation(), nn.Dropout(dropout), nn.Linear(ffn_dim, d_model))


class Conv1dSubsampler(nn.Module):
    """Strided 1-D convolutions with GLU over time, each halving the frame rate.

    The idea of fairseq's ``Conv1dSubsampler``; unlike it, frames past each utterance's
    length are zeroed before every convolution, so padding never reaches valid outputs and a
    padded utterance gives the same result as the utterance alone.
    """

    def __init__(self, in_dim: int, channels: int, d_model: int, kernel: int = 5, layers: int = 2) -> None:
        """Convolutions in_dim -> channels -> ... -> 2 d_model, each followed by GLU."""
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(in_dim if i == 0 else channels // 2, channels if i < layers - 1 else 2 * d_model,
                      kernel, stride=2, padding=kernel // 2)
            for i in range(layers)
        )

    @property
    def factor(self) -> int:
        """Input frames per output frame: the product of the strides."""
        return math.prod(conv.stride[0] for conv in self.convs)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Frames each utterance keeps after all convolutions."""
        for conv in self.convs:
            lengths = _conv_lengths(conv, lengths)
        return lengths

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Subsample padded features.

        Args:
            features: (B, T, in_dim) filterbanks, 10 ms frames.
            lengths: (B,) valid frames per utterance.

        Returns:
            (B, T', d_model) frames (4x longer each with two layers) and their (B,) lengths.
        """
        x = features.transpose(1, 2)  # (B, C, T)
        for conv in self.convs:
            x = x * padding_mask(lengths, x.shape[2])[:, None]  # (B, C, T)
            x = F.glu(conv(x), dim=1)  # (B, C', T / 2)
            lengths = _conv_lengths(conv, lengths)
        return x.transpose(1, 2), lengths  # (B, T', d_model)
