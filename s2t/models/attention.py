"""Multi-head attention for self- and cross-attention, rotary positions and key/value caches.

One ``MultiHeadAttention`` class serves encoder self-attention, causal decoder
self-attention and decoder cross-attention. It runs the fused
``F.scaled_dot_product_attention`` unless the caller asks for the weights; then the explicit
softmax path runs for that call only and returns them. Both paths go through
``MultiHeadAttention.scaled_dot_product``, the one place tests and probes patch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE, Su et al. 2021) tables for one head size.

    Rotating every query and key pair of channels by an angle proportional to its position
    makes ``q_i . k_j`` a function of the offset ``i - j`` only: a relative-position scheme,
    like the Transformer-XL style relative positions of the paper's fairseq Conformers, that
    leaves attention a plain dot product so the fused SDPA kernel still applies, at the cost
    of a few elementwise operations on q and k.
    """

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        """Frequencies ``base ** (-2i / head_dim)`` for the ``head_dim / 2`` channel pairs."""
        super().__init__()
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, length: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """Cosines and sines for positions 0 .. length - 1.

        Returns:
            (cos, sin), each (length, 1, 1, head_dim) to broadcast over (B, T, 2, H, head_dim).
        """
        positions = torch.arange(length, device=self.inv_freq.device, dtype=torch.float64)
        angles = torch.outer(positions, self.inv_freq).repeat(1, 2)  # (T, d): pair i is channels i and i + d/2
        return angles.cos().to(dtype)[:, None, None], angles.sin().to(dtype)[:, None, None]


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate channel pairs (i, i + d/2) of ``x`` (..., d) by the angles in ``cos``/``sin``."""
    x1, x2 = x.chunk(2, dim=-1)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)  # no-ops unless autocast made q and k lower precision
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


def causal_mask(queries: int, keys: int, device: torch.device) -> Tensor:
    """Bool (queries, keys), True where query i may see key j: the last query sees every key."""
    offset = keys - queries
    return torch.ones(queries, keys, dtype=torch.bool, device=device).tril(offset)


@dataclass
class KVCache:
    """Keys and values a layer has computed so far, each (B, H, T, d); empty until first use."""

    key: Tensor | None = None
    value: Tensor | None = None

    def __len__(self) -> int:
        """Number of cached positions."""
        return 0 if self.key is None else self.key.shape[2]


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention; ``forward`` returns (output, weights or None)."""

    def __init__(self, d_model: int, heads: int, dropout: float = 0.0) -> None:
        """Query, key and value projections in one (3 d_model, d_model) matrix, as in fairseq."""
        super().__init__()
        self.heads = heads
        self.head_dim = d_model // heads
        self.dropout = dropout
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(
        self,
        x: Tensor,
        memory: Tensor | None = None,
        mask: Tensor | None = None,
        is_causal: bool = False,
        rope: tuple[Tensor, Tensor] | None = None,
        cache: KVCache | None = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``x`` to itself (``memory=None``) or to ``memory``.

        Shapes: B batch, S queries, T keys, H heads, d head dim, D model dim.

        Args:
            x: queries (B, S, D).
            memory: keys and values for cross-attention (B, T, D); None for self-attention.
                With a filled ``cache`` it is ignored: cross-attention keys are computed once.
            mask: bool, broadcastable to (B, H, S, T), True where a key may be attended.
            is_causal: self-attention where query i sees keys up to its own position,
                counting positions already in ``cache``.
            rope: (cos, sin) from ``RotaryEmbedding`` for the S positions (self-attention
                without cache).
            cache: keys/values of earlier calls; self-attention appends to it, cross-attention
                fills it once.
            need_weights: also return the attention weights (explicit softmax path).

        Returns:
            output (B, S, D), and weights (B, H, S, T) summing to 1 over T, or None.
        """
        B, S, D = x.shape
        if memory is None:
            qkv = self.in_proj(x).unflatten(-1, (3, self.heads, self.head_dim))  # (B, S, 3, H, d)
            qk = qkv[:, :, :2] if rope is None else apply_rotary(qkv[:, :, :2], *rope)  # (B, S, 2, H, d)
            q, k = qk.permute(2, 0, 3, 1, 4).unbind(0)  # (B, H, S, d) each
            v = qkv[:, :, 2].transpose(1, 2)  # (B, H, S, d)
            if cache is not None:
                if cache.key is not None:
                    k = torch.cat((cache.key, k), dim=2)  # (B, H, T, d)
                    v = torch.cat((cache.value, v), dim=2)  # (B, H, T, d)
                cache.key, cache.value = k, v
        else:
            q = F.linear(x, self.in_proj.weight[:D], self.in_proj.bias[:D])  # (B, S, D)
            q = q.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)  # (B, H, S, d)
            if cache is not None and cache.key is not None:
                k, v = cache.key, cache.value  # (B, H, T, d) each
            else:
                kv = F.linear(memory, self.in_proj.weight[D:], self.in_proj.bias[D:])  # (B, T, 2D)
                k, v = kv.unflatten(-1, (2, self.heads, self.head_dim)).permute(2, 0, 3, 1, 4).unbind(0)  # (B, H, T, d)
                if cache is not None:
                    cache.key, cache.value = k, v
        T = k.shape[2]
        if is_causal and S == 1:
            is_causal = False  # one new query sees every cached key
        elif is_causal and (mask is not None or T != S):
            # SDPA's is_causal aligns the first query with the first key and excludes a mask.
            causal = causal_mask(S, T, x.device)  # (S, T)
            mask = causal if mask is None else mask & causal
            is_causal = False
        out, weights = self.scaled_dot_product(q, k, v, mask, is_causal, need_weights)  # (B, H, S, d)
        return self.out_proj(out.transpose(1, 2).flatten(2)), weights  # (B, S, D)

    def scaled_dot_product(
        self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, is_causal: bool, need_weights: bool
    ) -> tuple[Tensor, Tensor | None]:
        """softmax(q k^T / sqrt(d)) v, fused unless ``need_weights``.

        Shapes: B batch, H heads, S queries, T keys, d head dim.

        Args:
            q: (B, H, S, d); k, v: (B, H, T, d).
            mask: bool broadcastable to (B, H, S, T), True where attending is allowed, or None.
            is_causal: square causal masking (only with ``mask=None``, as in SDPA).
            need_weights: materialise and return the weights.

        Returns:
            (B, H, S, d) and the weights (B, H, S, T), exactly 0 where masked, or None.
        """
        dropout = self.dropout if self.training else 0.0
        if not need_weights:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=is_causal), None
        if is_causal:
            mask = causal_mask(q.shape[2], k.shape[2], q.device)  # (S, T)
        scores = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5  # (B, H, S, T)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = scores.softmax(dim=-1)  # (B, H, S, T)
        return F.dropout(weights, dropout, self.training) @ v, weights  # (B, H, S, d)
