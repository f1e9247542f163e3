"""Encoder over subsampled frames: a stack of Conformer or pre-norm Transformer blocks."""

from __future__ import annotations

from torch import Tensor, nn

from s2t.models.attention import MultiHeadAttention, RotaryEmbedding
from s2t.models.config import ModelConfig
from s2t.models.conformer import ConformerBlock
from s2t.models.layers import FeedForward, padding_mask


class TransformerEncoderBlock(nn.Module):
    """Pre-norm Transformer block: RoPE self-attention, then a ReLU feed-forward."""

    def __init__(self, config: ModelConfig) -> None:
        """Sizes from ``config``: d_model, heads, ffn_dim, dropouts."""
        super().__init__()
        d = config.d_model
        self.attn_norm = nn.LayerNorm(d)
        self.attn = MultiHeadAttention(d, config.heads, config.attention_dropout)
        self.ffn_norm = nn.LayerNorm(d)
        self.ffn = FeedForward(d, config.ffn_dim, config.dropout, nn.ReLU)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, mask: Tensor, rope: tuple[Tensor, Tensor]) -> Tensor:
        """One block; same interface as ``ConformerBlock.forward``: (B, T, D) -> (B, T, D)."""
        x = x + self.dropout(self.attn(self.attn_norm(x), mask=mask[:, None, None], rope=rope)[0])
        return x + self.dropout(self.ffn(self.ffn_norm(x)))


class Encoder(nn.Module):
    """``config.encoder_layers`` blocks of ``config.encoder`` kind over subsampled frames.

    Both kinds use rotary relative positions in self-attention (see ``RotaryEmbedding``);
    absolute positions, when configured, are added to the input by ``S2TModel.encode``. Conformer blocks end in a LayerNorm; the
    pre-norm Transformer stack gets a final one, also applied to the CTC layer's output (as
    ESPnet's intermediate CTC does).
    """

    def __init__(self, config: ModelConfig) -> None:
        """Blocks, rotary tables and the final norm for ``config``."""
        super().__init__()
        block = ConformerBlock if config.encoder == "conformer" else TransformerEncoderBlock
        self.layers = nn.ModuleList(block(config) for _ in range(config.encoder_layers))
        self.norm = nn.Identity() if config.encoder == "conformer" else nn.LayerNorm(config.d_model)
        self.rope = RotaryEmbedding(config.head_dim, config.rope_base)
        self.ctc_layer = config.ctc_layer

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor | None]:
        """Encode subsampled frames.

        Args:
            x: (B, T, D) subsampled frames (40 ms each after the 4x subsampler).
            lengths: (B,) valid frames per utterance.

        Returns:
            output (B, T, D), zero on padded frames, and the (normalised) output of layer
            ``ctc_layer`` (B, T, D), or None when ``ctc_layer`` is 0.
        """
        mask = padding_mask(lengths, x.shape[1])  # (B, T)
        rope = self.rope(x.shape[1], x.dtype)
        ctc_hidden = None
        for i, layer in enumerate(self.layers, start=1):
            x = layer(x, mask, rope)  # (B, T, D)
            if i == self.ctc_layer:
                ctc_hidden = self.norm(x)
        return self.norm(x) * mask[:, :, None], ctc_hidden
