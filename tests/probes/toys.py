"""Hand-built encoder-decoder models with known answers, implementing ``probes.ProbeModel``.

The encoder averages every 4 input frames (no mixing across encoder frames), so encoder
frame t is exactly input frames 4t..4t+3. Output token i reads only the encoder frames
``reads[i]`` (a half-open range): its logits are a fixed random projection of their mean.
Its cross-attention is uniform over ``attends[i]`` in every layer and head, except the
last head of each layer, which is uniform over all frames (a useless head). With
``attends == reads`` the attention tells the truth; with other windows it lies.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from probes.interface import Forced, Utterance, hypotheses

Window = tuple[int, int]


class ToyProbe:
    """Token i = argmax(W · mean of encoder frames reads[i]); CA uniform over attends[i]."""

    frames_per_second = 100
    subsampling = 4
    blank_id = None

    def __init__(self, reads: Sequence[Window], attends: Sequence[Window] | None = None, n_mels: int = 6,
                 vocab: int = 12, layers: int = 2, heads: int = 3, seed: int = 0) -> None:
        """Windows in encoder frames; ``attends`` defaults to ``reads`` (faithful attention)."""
        self.reads = list(reads)
        self.attends = list(attends if attends is not None else reads)
        self.n_mels, self.vocab, self.layers, self.heads = n_mels, vocab, layers, heads
        g = torch.Generator().manual_seed(seed)
        self.proj = torch.randn(vocab, n_mels, generator=g) * 3.0  # (V, F)

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Mean of each 4 input frames: (B, T, F) -> (B, T // 4, F)."""
        b, t, f = features.shape
        t4 = t // self.subsampling
        enc = features[:, : t4 * self.subsampling].reshape(b, t4, self.subsampling, f).mean(dim=2)
        return enc, lengths // self.subsampling

    def force_decode(self, enc: Tensor, enc_lengths: Tensor, prefix: Tensor, tokens: Tensor,
                     need_weights: bool = False) -> Forced:
        """Log-probabilities depend on reads[i] only; tokens and prefix are ignored (no LM)."""
        n = tokens.shape[1]
        read = torch.stack([enc[:, a:b].mean(dim=1) for a, b in self.reads[:n]], dim=1)  # (B, I, F)
        log_probs = (read @ self.proj.T).log_softmax(dim=-1)  # (B, I, V)
        if not need_weights:
            return Forced(log_probs, None)
        t = enc.shape[1]
        ca = torch.zeros(enc.shape[0], self.layers, self.heads, n, t)  # (B, L, H, I, T')
        for i, (a, b) in enumerate(self.attends[:n]):
            ca[:, :, :-1, i, a:b] = 1.0 / (b - a)
        ca[:, :, -1] = 1.0 / t
        return Forced(log_probs, ca)

    def search(self, enc: Tensor, lengths: Tensor, prefix: Sequence[int], beam_size: int = 5) -> list[list[int]]:
        """Argmax token of every window, for each row of the (B, T', D) encoding."""
        b = enc.shape[0]
        tokens = torch.zeros(b, len(self.reads), dtype=torch.long)
        return self.force_decode(enc, lengths, torch.zeros(b, 1, dtype=torch.long), tokens).log_probs.argmax(-1).tolist()

    def features(self, wav: Tensor) -> Tensor:
        """Not an audio model: 10 ms frames of the waveform's samples, n_mels per frame."""
        return wav[: wav.numel() // self.n_mels * self.n_mels].reshape(-1, self.n_mels)

    def prefix(self, tgt_lang: str, task: str) -> list[int]:
        """A single start token."""
        return [0]

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Token ids as words."""
        return " ".join(map(str, tokens))

    def word_groups(self, tokens: Sequence[int]) -> list[tuple[str, list[int]]]:
        """Every token is a word."""
        return [(str(t), [i]) for i, t in enumerate(tokens)]

    def ctc_log_probs(self, features: Tensor, lengths: Tensor) -> None:
        """No CTC head."""
        return None


class EnergyToy(ToyProbe):
    """Token i is always id i + 1, its logit ``gain`` x the mean of encoder frames reads[i] (all others 0).

    With positive features every cell of the window matters about equally, so saliency is
    near-uniform over the window, like the attention, and their correlation is near 1.
    """

    gain = 4.0

    def force_decode(self, enc: Tensor, enc_lengths: Tensor, prefix: Tensor, tokens: Tensor,
                     need_weights: bool = False) -> Forced:
        """Logit of token i's id grows with the energy of reads[i]; CA as in ``ToyProbe``."""
        b, n = enc.shape[0], tokens.shape[1]
        energy = torch.stack([enc[:, a:e].mean(dim=(1, 2)) for a, e in self.reads[:n]], dim=1)  # (B, I)
        logits = torch.zeros(b, n, self.vocab)  # (B, I, V)
        logits[:, torch.arange(n), torch.arange(n) % (self.vocab - 1) + 1] = self.gain * energy
        ca = super().force_decode(enc, enc_lengths, prefix, tokens, need_weights).attention
        return Forced(logits.log_softmax(dim=-1), ca)


def toy_utterance(model: ToyProbe, frames: int = 80, seed: int = 1) -> Utterance:
    """Random features (frames, F) with the model's own hypothesis; ground-truth words = read windows.

    ``EnergyToy`` gets positive features (uniform in [0.5, 1.5]), the others standard normal ones.
    """
    g = torch.Generator().manual_seed(seed)
    if isinstance(model, EnergyToy):
        feats = torch.rand(frames, model.n_mels, generator=g) + 0.5
    else:
        feats = torch.randn(frames, model.n_mels, generator=g)
    tokens = hypotheses(model, feats[None], [0])[0]
    sec = model.subsampling / model.frames_per_second  # seconds per encoder frame
    words = [(str(t), a * sec, b * sec) for t, (a, b) in zip(tokens, model.reads)]
    return Utterance(id=f"toy{seed}", features=feats, prefix=[0], tokens=tokens, words=words)
