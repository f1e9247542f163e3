"""The whole speech-to-text model: subsampler, encoder, CTC head, decoder."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from s2t.models.config import ModelConfig
from s2t.models.decoder import Decoder, DecoderCache
from s2t.models.encoder import Encoder
from s2t.models.layers import Conv1dSubsampler, sinusoidal_table


class Encoded(NamedTuple):
    """Encoder results for a batch of utterances."""

    out: Tensor  # (B, T', D), zero on padded frames
    lengths: Tensor  # (B,) valid frames of ``out``
    ctc_logits: Tensor | None  # (B, T', V) from the CTC layer, or None without a CTC head
    ctc_lengths: Tensor | None  # (B,) valid frames of ``ctc_logits``, or None


class S2TModel(nn.Module):
    """Encoder-decoder speech-to-text model with an auxiliary CTC head on an encoder layer."""

    def __init__(self, config: ModelConfig) -> None:
        """Build every module of ``config``."""
        super().__init__()
        self.config = config
        self.subsampler = Conv1dSubsampler(config.n_mels, config.subsampler_channels, config.d_model)
        self.input_dropout = nn.Dropout(config.dropout)
        self.encoder = Encoder(config)
        self.ctc_head = nn.Linear(config.d_model, config.vocab_size) if config.ctc_layer else None
        self.decoder = Decoder(config)

    def encode(self, features: Tensor, lengths: Tensor) -> Encoded:
        """Encode padded filterbanks.

        Args:
            features: (B, T, n_mels) log-mel filterbanks, 10 ms frames, zero or any padding.
            lengths: (B,) valid frames per utterance.

        Returns:
            ``Encoded`` with (B, T', D) states at 40 ms per frame, their lengths and CTC logits.
        """
        if features.shape[-1] != self.config.n_mels:
            raise ValueError(f"features have {features.shape[-1]} channels, the model expects {self.config.n_mels}")
        x, lengths = self.subsampler(features, lengths)  # (B, T', D)
        if self.config.absolute_positions:
            x = x + sinusoidal_table(x.shape[1], x.shape[2]).to(x)
        out, ctc_hidden = self.encoder(self.input_dropout(x), lengths)
        if self.ctc_head is None:
            return Encoded(out, lengths, None, None)
        return Encoded(out, lengths, self.ctc_head(ctc_hidden), lengths)

    def decode(
        self,
        tokens: Tensor,
        enc_out: Tensor,
        enc_lengths: Tensor,
        need_weights: bool = False,
        cache: DecoderCache | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Decoder logits under teacher forcing, optionally with every cross-attention map.

        Args:
            tokens: (B, S) decoder inputs ``[bos, <lang>, <task>, text...]``, right-padded;
                with ``cache``, only the tokens after those already cached.
            enc_out: (B, T', D) encoder output.
            enc_lengths: (B,) valid encoder frames.
            need_weights: also return the cross-attention weights (explicit softmax
                path for this call; the logits equal the fused path's to float tolerance).
            cache: ``DecoderCache(config.decoder_layers)`` for incremental decoding, filled in place.

        Returns:
            logits (B, S, V), and cross-attention (B, L, H, S, T') of every decoder layer and
            head, each row summing to 1 over valid frames and exactly 0 on padded ones, or None.
        """
        logits, weights = self.decoder(tokens, enc_out, enc_lengths, cache=cache, need_weights=need_weights)
        return logits, None if weights is None else torch.stack(weights, dim=1)

    def forward(self, features: Tensor, lengths: Tensor, tokens: Tensor) -> dict[str, Tensor | None]:
        """Training forward pass.

        Args:
            features: (B, T, n_mels) filterbanks; lengths: (B,) valid frames.
            tokens: (B, S) decoder inputs (target sequence without its last token).

        Returns:
            ``logits`` (B, S, V), ``ctc_logits`` (B, T', V) or None, ``ctc_lengths`` (B,) or
            None, ``enc_lengths`` (B,).
        """
        encoded = self.encode(features, lengths)
        logits, _ = self.decode(tokens, encoded.out, encoded.lengths)
        return dict(logits=logits, ctc_logits=encoded.ctc_logits, ctc_lengths=encoded.ctc_lengths,
                    enc_lengths=encoded.lengths)

    def num_parameters(self) -> int:
        """Number of distinct parameters (a tied embedding counts once)."""
        return sum(p.numel() for p in self.parameters())
