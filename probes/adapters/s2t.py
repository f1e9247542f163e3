"""``ProbeModel`` adapter for this project's ``s2t`` models (checkpoints written by ``train.py``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from probes.interface import Forced
from s2t.data.manifest import HOP_SAMPLES, SAMPLE_RATE
from s2t.features import fbank
from s2t.models import Encoded
from s2t.module import S2TModule

WORD_START = "\u2581"  # SentencePiece's word-boundary mark


class S2TProbe:
    """An ``S2TModule`` seen through the probes' interface (eval mode, any device)."""

    frames_per_second = SAMPLE_RATE // HOP_SAMPLES  # filterbank frames per second (100: a 10 ms hop)

    def __init__(self, module: S2TModule) -> None:
        """Wrap a built module (``S2TModule.from_checkpoint`` or a training module)."""
        if module.model is None or module.tokenizer is None:
            raise ValueError("the S2TModule has no model yet: build it (setup or from_checkpoint) first")
        self.module = module
        self.model = module.model
        self.tokenizer = module.tokenizer
        self.n_mels = self.model.config.n_mels
        self.subsampling = self.model.subsampler.factor  # filterbank frames per encoder frame
        self.blank_id = self.model.config.ctc_blank if self.model.ctc_head is not None else None

    @classmethod
    def from_checkpoint(cls, path: Path | str) -> S2TProbe:
        """The adapter of a checkpoint file alone."""
        return cls(S2TModule.from_checkpoint(path))

    @property
    def device(self) -> torch.device:
        """Where the model's parameters live."""
        return next(self.model.parameters()).device

    def features(self, wav: Tensor) -> Tensor:
        """(T, F) model input of a 16 kHz waveform."""
        return fbank(wav)

    def prefix(self, tgt_lang: str, task: str, src_lang: str | None = None) -> list[int]:
        """Decoder prompt for a target language and task (our prompt does not name the source language)."""
        return self.tokenizer.prefix(tgt_lang, task)

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of output tokens."""
        return self.tokenizer.decode(tokens)

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, F), (B,) -> H (B, T', D), (B,)."""
        encoded = self.model.encode(features, lengths)
        return encoded.out, encoded.lengths

    def force_decode(
        self, enc: Tensor, enc_lengths: Tensor, prefix: Tensor, tokens: Tensor, need_weights: bool = False
    ) -> Forced:
        """Log-probabilities (B, I, V) of the I tokens after the prefix, and CA (B, L, H, I, T')."""
        p = prefix.shape[1]
        inputs = torch.cat((prefix, tokens[:, :-1]), dim=1) if tokens.shape[1] else prefix[:, :0]  # (B, P + I - 1)
        logits, weights = self.model.decode(inputs, enc, enc_lengths, need_weights=need_weights)
        log_probs = logits[:, p - 1 :].log_softmax(dim=-1)  # (B, I, V): row i predicted token i
        return Forced(log_probs, None if weights is None else weights[:, :, :, p - 1 :])

    @torch.no_grad()
    def search(self, enc: Tensor, enc_lengths: Tensor, prefix: Sequence[int], beam_size: int = 5) -> list[list[int]]:
        """``hypotheses`` on an encoding (B, T', D) that ``encode`` returned."""
        prompts = torch.tensor([list(prefix)], device=enc.device).expand(enc.shape[0], -1)  # (B, P)
        return self.module.search_tokens(Encoded(enc, enc_lengths, None, None), prompts, beam_size)

    def word_groups(self, tokens: Sequence[int]) -> list[tuple[str, list[int]]]:
        """Words by SentencePiece's boundary mark: a piece starting with it opens a word, others continue one."""
        words: list[tuple[str, list[int]]] = []
        for i, token in enumerate(tokens):
            piece = self.tokenizer.piece(token)
            if piece.startswith(WORD_START) or not words:
                words.append((piece.lstrip(WORD_START), [i]))
            else:
                text, members = words[-1]
                words[-1] = (text + piece, members + [i])
        return [(text, members) for text, members in words if text or len(members) > 1]

    def describe(self) -> dict[str, Any]:
        """For the logs: the resolved model config, its parameter count and the W&B run that trained it."""
        return {"family": "s2t", "config": dataclasses.asdict(self.model.config),
                "parameters": self.model.num_parameters(), "training_run": self.module.training_run}

    def ctc_log_probs(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor] | None:
        """CTC log-probabilities (B, T', V) of the intermediate CTC head, or None."""
        encoded = self.model.encode(features, lengths)
        if encoded.ctc_logits is None:
            return None
        return encoded.ctc_logits.log_softmax(dim=-1), encoded.ctc_lengths
