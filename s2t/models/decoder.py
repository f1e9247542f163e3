"""Pre-norm Transformer decoder with cross-attention, incremental key/value cache and capture."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from s2t.models.attention import KVCache, MultiHeadAttention
from s2t.models.config import ModelConfig
from s2t.models.layers import FeedForward, padding_mask, sinusoidal_table


class DecoderCache:
    """Per-layer self- and cross-attention key/value caches for incremental decoding."""

    def __init__(self, layers: int) -> None:
        """Empty caches for ``layers`` decoder layers."""
        self.self_attn = [KVCache() for _ in range(layers)]
        self.cross_attn = [KVCache() for _ in range(layers)]

    def __len__(self) -> int:
        """Number of tokens decoded so far."""
        return len(self.self_attn[0])

    def reorder(self, index: Tensor, cross: bool = False) -> None:
        """Keep rows ``index`` (B',) of the self-attention caches, e.g. surviving beams, and with ``cross`` of the
        cross-attention caches too, e.g. the utterances still decoding.

        Beam search reorders beams within an utterance only, whose encoder rows (and so
        cross-attention keys and values) are identical: it leaves the cross-attention caches.
        """
        for cache in self.self_attn + (self.cross_attn if cross else []):
            cache.key, cache.value = cache.key.index_select(0, index), cache.value.index_select(0, index)


class DecoderLayer(nn.Module):
    """Pre-norm causal self-attention, cross-attention over the encoder, ReLU feed-forward."""

    def __init__(self, config: ModelConfig) -> None:
        """Sizes from ``config``: d_model, heads, ffn_dim, dropouts."""
        super().__init__()
        d = config.d_model
        self.self_attn_norm = nn.LayerNorm(d)
        self.self_attn = MultiHeadAttention(d, config.heads, config.attention_dropout)
        self.cross_attn_norm = nn.LayerNorm(d)
        self.cross_attn = MultiHeadAttention(d, config.heads, config.attention_dropout)
        self.ffn_norm = nn.LayerNorm(d)
        self.ffn = FeedForward(d, config.ffn_dim, config.dropout, nn.ReLU)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        memory_mask: Tensor,
        self_cache: KVCache | None = None,
        cross_cache: KVCache | None = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """One decoder layer.

        Args:
            x: (B, S, D) token states (only the new tokens when caching).
            memory: (B, T, D) encoder output.
            memory_mask: (B, 1, 1, T) bool, True on valid encoder frames.
            self_cache, cross_cache: key/value caches for incremental decoding, or None.
            need_weights: return the cross-attention weights.

        Returns:
            (B, S, D) and the cross-attention weights (B, H, S, T) or None.
        """
        x = x + self.dropout(self.self_attn(self.self_attn_norm(x), is_causal=True, cache=self_cache)[0])
        attended, weights = self.cross_attn(
            self.cross_attn_norm(x), memory, mask=memory_mask, cache=cross_cache, need_weights=need_weights
        )
        x = x + self.dropout(attended)
        return x + self.dropout(self.ffn(self.ffn_norm(x))), weights


class Decoder(nn.Module):
    """Token embedding (scaled by sqrt(d)) + positions, decoder layers, LayerNorm, output projection."""

    def __init__(self, config: ModelConfig) -> None:
        """Layers, embeddings and output projection (tied to the embedding if ``tied_embeddings``)."""
        super().__init__()
        d = config.d_model
        self.embed = nn.Embedding(config.vocab_size, d, padding_idx=config.pad_id)
        nn.init.normal_(self.embed.weight, std=d**-0.5)  # unit-variance rows after the sqrt(d) scale
        with torch.no_grad():
            self.embed.weight[config.pad_id].zero_()
        self.embed_scale = math.sqrt(d)
        if config.decoder_positions == "learned":
            self.positions = nn.Parameter(torch.zeros(config.max_target_positions, d))
        else:
            self.register_buffer("positions", sinusoidal_table(config.max_target_positions, d), persistent=False)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.decoder_layers))
        self.norm = nn.LayerNorm(d)
        self.output = nn.Linear(d, config.vocab_size, bias=False)
        if config.tied_embeddings:
            self.output.weight = self.embed.weight

    def forward(
        self,
        tokens: Tensor,
        memory: Tensor,
        memory_lengths: Tensor,
        cache: DecoderCache | None = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, list[Tensor] | None]:
        """Next-token logits for every input position (teacher forcing, or new tokens with a cache).

        Args:
            tokens: (B, S) decoder input ids, right-padded; with ``cache``, only the new tokens.
            memory: (B, T, D) encoder output.
            memory_lengths: (B,) valid encoder frames.
            cache: filled in place; positions continue after the tokens it holds.
            need_weights: also return each layer's cross-attention weights.

        Returns:
            logits (B, S, V), and a list over layers of cross-attention weights (B, H, S, T), or None.
        """
        start = 0 if cache is None else len(cache)
        end = start + tokens.shape[1]
        if end > self.positions.shape[0]:
            limit = self.positions.shape[0]
            raise ValueError(f"decoder positions {start}..{end - 1} exceed max_target_positions={limit}")
        x = self.embed(tokens) * self.embed_scale + self.positions[start:end]  # (B, S, D)
        x = self.dropout(x)
        memory_mask = padding_mask(memory_lengths, memory.shape[1])[:, None, None]  # (B, 1, 1, T)
        all_weights = []
        for i, layer in enumerate(self.layers):
            x, weights = layer(
                x,
                memory,
                memory_mask,
                self_cache=None if cache is None else cache.self_attn[i],
                cross_cache=None if cache is None else cache.cross_attn[i],
                need_weights=need_weights,
            )
            all_weights.append(weights)
        return self.output(self.norm(x)), all_weights if need_weights else None
