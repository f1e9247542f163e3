"""The one interface probes use to talk to a model, and what they explain.

A probe needs a few things from an encoder-decoder model: encode filterbanks into encoder
states H, force-decode a token sequence on H (log-probabilities and, when asked, the
cross-attention of every layer and head), search hypotheses, group tokens into words,
and turn audio into features and texts into prompts.
``ProbeModel`` names them; ``probes.adapters`` implements it for ``s2t`` checkpoints. To
probe another model (a Hugging Face Whisper, say), write a class with these members:

    class WhisperProbe:
        n_mels = 80; frames_per_second = 100; subsampling = 2; blank_id = None
        def features(self, wav): ...                     # log-mel of 16 kHz audio, (T, F)
        def prefix(self, tgt_lang, task, src_lang=None): ...  # <|startoftranscript|><|en|><|transcribe|>...
        def detokenize(self, tokens): ...
        def encode(self, features, lengths): ...        # model.encoder(...) -> (H, lengths)
        def force_decode(self, enc, enc_lengths, prefix, tokens, need_weights=False): ...
        def search(self, enc, enc_lengths, prefix, beam_size=5): ...  # batched generate, one list per row
        def word_groups(self, tokens): ...
        def ctc_log_probs(self, features, lengths): return None
        def describe(self): ...  # optional: {"config": ..., "parameters": ...} for the logs
        def neutral(self, features): ...  # optional: what an occluded input cell becomes (default 0)
        def normalize(self, text, lang): ...  # optional: text as the model's users score it (default as it is)
        alignment_heads = [(2, 0), ...]  # optional: the (layer, head)s, 0-based, its makers time words with

Occlusion (SPES masks, deletion and insertion curves) replaces input cells with the model's
*neutral* value, ``occlusion_value``: the value of a cell that carries no signal. For our models
it is 0, the utterance mean after CMVN, which is also what the released SPES code masks with.
On Whisper's normalised log-mel, 0 is a loud, flat spectrum, not silence: Whisper's adapter
declares the level its own feature extractor gives digital silence in that utterance,
max(max(features) - 2, -1.5) (8 log10 units under the loudest cell, at least -1.5), i.e. what
its 30 s padding holds.

Shapes: B batch, T input frames (10 ms), F filterbank channels, T' encoder frames,
D model width, P prefix tokens, I explained tokens, V vocabulary, L decoder layers,
H heads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, Sequence, runtime_checkable

import torch
from torch import Tensor


class Forced(NamedTuple):
    """Forced-decoding results for a batch."""

    log_probs: Tensor  # (B, I, V): distribution from which each explained token was predicted
    attention: Tensor | None  # (B, L, H, I, T') cross-attention, 0 on padded frames; rows sum to 1, or less
    # when the model also attends to frames it does not expose (Whisper's 30 s padding)


@runtime_checkable
class ProbeModel(Protocol):
    """What probes need from an encoder-decoder speech-to-text model (in eval mode)."""

    n_mels: int  # F, filterbank channels the model reads
    frames_per_second: int  # input frames per second (100 for 10 ms hops)
    subsampling: int  # input frames per encoder frame (T / T', 4 for our models)
    blank_id: int | None  # CTC blank id when ``ctc_log_probs`` is available

    def features(self, wav: Tensor) -> Tensor:
        """Model input (T, F) of a 16 kHz mono waveform (num_samples,)."""
        ...

    def prefix(self, tgt_lang: str, task: str, src_lang: str | None = None) -> list[int]:
        """Decoder prompt for a target language and task (and the audio's language, for models whose prompt names it)."""
        ...

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of output tokens."""
        ...

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, F) padded filterbanks and (B,) lengths -> H (B, T', D), (B,) encoder lengths."""
        ...

    def force_decode(
        self, enc: Tensor, enc_lengths: Tensor, prefix: Tensor, tokens: Tensor, need_weights: bool = False
    ) -> Forced:
        """Teacher-force ``prefix`` (B, P) then ``tokens`` (B, I) on H; scores and CA for the I tokens.

        Every row has the same P and I (one utterance's hypothesis, repeated for its
        perturbations, or utterances of equal length). Gradients flow when enabled.
        """
        ...

    def search(self, enc: Tensor, enc_lengths: Tensor, prefix: Sequence[int], beam_size: int = 5) -> list[list[int]]:
        """The model's own output tokens for each row of an encoding (B, T', D) from ``encode``, without prefix and eos.

        The encoding is that of the latest ``encode`` call: an adapter may complete it with state
        kept from that call (Whisper keeps its padding frames, for ``force_decode`` too).

        One utterance's perturbed copies are searched together (deletion curves); each row's
        result is the one it would get alone.
        """
        ...

    def word_groups(self, tokens: Sequence[int]) -> list[tuple[str, list[int]]]:
        """Words of a token sequence, each with the indices of its tokens: [("cat", [3, 4]), ...]."""
        ...

    def ctc_log_probs(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor] | None:
        """CTC log-probabilities (B, T', V) and lengths, or None if the model has no CTC head."""
        ...


FILLS = ("model", "zero")  # what occlusion puts in a cell: the model's neutral value, or 0 as the SPES release does


def occlusion_value(model: ProbeModel, features: Tensor, fill: str = "model") -> float:
    """The value occluded cells of ``features`` (T, F) take: the model's ``neutral`` (default 0), or 0 for ``zero``."""
    if fill not in FILLS:
        raise ValueError(f"unknown occlusion fill {fill!r}; choose one of {FILLS}")
    neutral = getattr(model, "neutral", None)
    return float(neutral(features)) if fill == "model" and callable(neutral) else 0.0


@dataclass
class Utterance:
    """One utterance to explain: its input, the prompt and the hypothesis tokens."""

    id: str
    features: Tensor  # (T, F) filterbank
    prefix: list[int]  # decoder prompt (our models: bos, target-language tag, task tag)
    tokens: list[int] = field(default_factory=list)  # hypothesis tokens explained (no prefix, no eos)
    reference: str = ""  # reference text, when known
    hypothesis: str = ""  # detokenised hypothesis
    task: str = "asr"
    src_lang: str = ""
    tgt_lang: str = ""
    words: list[tuple[str, float, float]] | None = None  # ground truth (word, start s, end s) in the audio
    alignment: list[tuple[int, int]] | None = None  # ST ground truth: (source word, target word) pairs
    tgt_words: list[str] | None = None  # reference target words, for ST alignment

    @property
    def num_frames(self) -> int:
        """T, input frames."""
        return int(self.features.shape[0])


def describe(model: ProbeModel) -> dict[str, Any]:
    """What the logs say about a model: its optional ``describe()`` (config, parameters, training run), or nothing."""
    return model.describe() if callable(getattr(model, "describe", None)) else {}


@torch.no_grad()
def hypotheses(model: ProbeModel, features: Tensor, prefix: Sequence[int], beam_size: int = 5) -> list[list[int]]:
    """The model's output tokens for each of B equal-length inputs (B, T, F): ``search`` on their encoding."""
    b, t = features.shape[:2]
    return model.search(*model.encode(features, torch.full((b,), t, dtype=torch.long, device=features.device)), prefix,
                        beam_size)


def forced(model: ProbeModel, utt: Utterance, features: Tensor | None = None, need_weights: bool = False) -> Forced:
    """Force-decode ``utt``'s hypothesis on a batch of (possibly perturbed) copies of its features.

    ``features`` (M, T, F) defaults to the utterance itself (M = 1).
    """
    feats = utt.features[None] if features is None else features  # (M, T, F)
    m = feats.shape[0]
    lengths = torch.full((m,), feats.shape[1], dtype=torch.long, device=feats.device)
    enc, enc_lengths = model.encode(feats, lengths)
    return force_on_encoding(model, utt, enc, enc_lengths, need_weights)


def force_on_encoding(
    model: ProbeModel, utt: Utterance, enc: Tensor, enc_lengths: Tensor, need_weights: bool = False
) -> Forced:
    """Force-decode ``utt``'s hypothesis on a batch (M, T', D) of (possibly perturbed) encoder states."""
    m = enc.shape[0]
    prefix = torch.tensor(utt.prefix, device=enc.device).expand(m, -1)  # (M, P)
    tokens = torch.tensor(utt.tokens, device=enc.device, dtype=torch.long).expand(m, -1)  # (M, I)
    return model.force_decode(enc, enc_lengths, prefix, tokens, need_weights)
