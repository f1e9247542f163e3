"""Conformer block (Gulati et al. 2020): macaron feed-forward, RoPE self-attention, convolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from s2t.models.attention import MultiHeadAttention
from s2t.models.config import ModelConfig
from s2t.models.layers import FeedForward


class MaskedBatchNorm(nn.Module):
    """BatchNorm over the channels of (B, T, C) frames whose statistics skip padded frames.

    ``nn.BatchNorm1d`` would average padded frames into the batch statistics and the running
    estimates; here only valid frames count, in training and in the running averages.
    ``weight``, ``bias``, ``running_mean`` and ``running_var`` are named as in ``nn.BatchNorm1d``.
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        """Affine BatchNorm over ``channels`` with exponential running averages."""
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Normalise ``x`` (B, T, C) with statistics of the frames where ``mask`` (B, T, 1) is True."""
        if self.training:
            x = x.to(torch.promote_types(x.dtype, torch.float32))  # statistics in >= single precision under autocast
            valid = mask.to(x.dtype)  # (B, T, 1)
            count = valid.sum()
            mean = (x * valid).sum((0, 1)) / count  # (C,)
            var = ((x - mean).square() * valid).sum((0, 1)) / count  # (C,)
            with torch.no_grad():
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) * (self.weight * torch.rsqrt(var + self.eps)) + self.bias  # (B, T, C)


def depthwise_conv(x: Tensor, conv: nn.Conv1d) -> Tensor:
    """``conv`` (depthwise, odd kernel, same length) over (B, T, D) frames.

    Without autograd on a CPU it is computed as the kernel's sum of shifted, channel-scaled frames, which
    measured 2.6-5x faster than oneDNN's depthwise kernel at the presets' widths (benchmarks/depthwise_conv.py);
    with gradients oneDNN's is the faster one at larger widths, and on GPUs cuDNN's, so they keep ``conv``.
    """
    if x.device.type != "cpu" or torch.is_grad_enabled():
        return conv(x.transpose(1, 2)).transpose(1, 2)  # (B, T, D)
    kernel, frames = conv.kernel_size[0], x.shape[1]
    padded = F.pad(x, (0, 0, kernel // 2, kernel // 2))  # (B, T + kernel - 1, D)
    taps = conv.weight[:, 0].t().contiguous().to(x.dtype)  # (kernel, D), each tap contiguous over channels
    out = conv.bias.to(x.dtype).expand_as(x).clone()  # (B, T, D)
    for k in range(kernel):
        out.addcmul_(padded[:, k:k + frames], taps[k])
    return out


class ConvolutionModule(nn.Module):
    """LayerNorm, pointwise + GLU, depthwise convolution, norm, Swish, pointwise, dropout."""

    def __init__(self, d_model: int, kernel: int, norm: str, dropout: float) -> None:
        """Depthwise ``kernel`` (odd, same length); ``norm`` is "batch" or "layer"."""
        super().__init__()
        self.layer_norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Linear(d_model, 2 * d_model)  # a 1x1 convolution on (B, T, C)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2, groups=d_model)
        self.norm = MaskedBatchNorm(d_model) if norm == "batch" else nn.LayerNorm(d_model)
        self.activation = nn.SiLU()
        self.pointwise_out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Convolve valid frames only.

        Args:
            x: (B, T, D) frames.
            mask: (B, T, 1) bool, True on valid frames.

        Returns:
            (B, T, D), the module's contribution to the residual stream.
        """
        x = F.glu(self.pointwise_in(self.layer_norm(x)), dim=-1)  # (B, T, D)
        # Zero padded frames so that the depthwise kernel sees the same zeros at an utterance's
        # end whether it is padded in a batch or alone.
        x = depthwise_conv(x * mask, self.depthwise)  # (B, T, D)
        x = self.norm(x, mask) if isinstance(self.norm, MaskedBatchNorm) else self.norm(x)
        return self.dropout(self.pointwise_out(self.activation(x)))


class ConformerBlock(nn.Module):
    """Half-step FFN, RoPE self-attention, convolution, half-step FFN, LayerNorm; each pre-normed."""

    def __init__(self, config: ModelConfig) -> None:
        """Sizes from ``config``: d_model, heads, ffn_dim, conv_kernel, conv_norm, dropouts."""
        super().__init__()
        d = config.d_model
        self.ffn1_norm = nn.LayerNorm(d)
        self.ffn1 = FeedForward(d, config.ffn_dim, config.dropout, nn.SiLU)
        self.attn_norm = nn.LayerNorm(d)
        self.attn = MultiHeadAttention(d, config.heads, config.attention_dropout)
        self.conv = ConvolutionModule(d, config.conv_kernel, config.conv_norm, config.dropout)
        self.ffn2_norm = nn.LayerNorm(d)
        self.ffn2 = FeedForward(d, config.ffn_dim, config.dropout, nn.SiLU)
        self.final_norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, mask: Tensor, rope: tuple[Tensor, Tensor]) -> Tensor:
        """One Conformer block.

        Args:
            x: (B, T, D) frames.
            mask: (B, T) bool, True on valid frames.
            rope: (cos, sin) of ``RotaryEmbedding`` for the T positions.

        Returns:
            (B, T, D).
        """
        x = x + 0.5 * self.dropout(self.ffn1(self.ffn1_norm(x)))
        x = x + self.dropout(self.attn(self.attn_norm(x), mask=mask[:, None, None], rope=rope)[0])
        x = x + self.conv(x, mask[:, :, None])
        x = x + 0.5 * self.dropout(self.ffn2(self.ffn2_norm(x)))
        return self.final_norm(x)
