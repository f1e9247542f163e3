"""Architecture sizes (``ModelConfig``) and the named presets of the study.

Parameter counts in the preset comments are measured with ``S2TModel(preset(name))
.num_parameters()`` and include the CTC head and an untied output projection. Untied is
fairseq's default and what lands the paper's sizes: tying saves ``vocab_size * d_model``
and would put fama-small 10.5% under its ~480M.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from s2t.tokenizer import PAD_ID

ENCODERS = ("conformer", "transformer")
CONV_NORMS = ("batch", "layer")
DECODER_POSITIONS = ("sinusoidal", "learned")


@dataclass
class ModelConfig:
    """Sizes and options of a Conformer/Transformer encoder + Transformer decoder model.

    ``ctc_layer`` is 1-based (0 disables the CTC head); ``None`` picks two thirds of the
    encoder depth, the intermediate layer the paper's fairseq recipes attach CTC to.
    """

    vocab_size: int
    d_model: int = 256
    encoder_layers: int = 12
    decoder_layers: int = 6
    heads: int = 4
    ffn_dim: int = 1024  # hidden size of every feed-forward (both Conformer halves, decoder)
    n_mels: int = 80
    encoder: str = "conformer"  # or "transformer" (pre-norm)
    conv_kernel: int = 31  # Conformer depthwise convolution, in subsampled frames
    conv_norm: str = "batch"  # Conformer convolution norm: "batch" (padding-aware) or "layer"
    subsampler_channels: int = 1024  # first convolution's output channels, before GLU (fairseq's conv_channels)
    dropout: float = 0.1
    attention_dropout: float = 0.1
    ctc_layer: int | None = None
    ctc_blank: int = PAD_ID  # the tokenizer's pad id doubles as the CTC blank
    tied_embeddings: bool = False  # share the decoder embedding with the output projection
    decoder_positions: str = "sinusoidal"  # or "learned"
    max_target_positions: int = 1024
    rope_base: float = 10000.0  # encoder rotary position frequencies
    absolute_positions: bool = False  # also add sinusoidal positions to the subsampled frames (Whisper's choice)
    pad_id: int = PAD_ID
    head_dim: int = field(init=False)  # derived: d_model // heads

    def __post_init__(self) -> None:
        """Derive ``head_dim`` and the default ``ctc_layer``; reject inconsistent sizes."""
        problems = []
        for name in ("vocab_size", "d_model", "encoder_layers", "decoder_layers", "heads", "ffn_dim", "n_mels",
                     "conv_kernel", "subsampler_channels", "max_target_positions"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be >= 1")
        if self.d_model % self.heads:
            problems.append(f"d_model={self.d_model} is not divisible by heads={self.heads}")
        elif (self.d_model // self.heads) % 2:
            problems.append(f"head dim d_model/heads={self.d_model // self.heads} must be even for rotary positions")
        if self.encoder not in ENCODERS:
            problems.append(f"unknown encoder {self.encoder!r}; choose one of {ENCODERS}")
        if self.conv_norm not in CONV_NORMS:
            problems.append(f"unknown conv_norm {self.conv_norm!r}; choose one of {CONV_NORMS}")
        if self.decoder_positions not in DECODER_POSITIONS:
            problems.append(f"unknown decoder_positions {self.decoder_positions!r}; choose one of {DECODER_POSITIONS}")
        if self.conv_kernel % 2 == 0:
            problems.append(f"conv_kernel={self.conv_kernel} must be odd (same-length depthwise convolution)")
        if self.subsampler_channels % 2:
            problems.append(f"subsampler_channels={self.subsampler_channels} must be even (GLU halves it)")
        if self.ctc_layer is None:
            self.ctc_layer = max(1, round(2 * self.encoder_layers / 3))
        if not 0 <= self.ctc_layer <= self.encoder_layers:
            problems.append(
                f"ctc_layer={self.ctc_layer} must be in 0..encoder_layers={self.encoder_layers} (0 = no CTC)"
            )
        for name in ("ctc_blank", "pad_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                problems.append(f"{name}={getattr(self, name)} is outside the vocabulary of {self.vocab_size}")
        for name in ("dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                problems.append(f"{name}={getattr(self, name)} must be in [0, 1)")
        if problems:
            raise ValueError("invalid ModelConfig: " + "; ".join(problems))
        self.head_dim = self.d_model // self.heads


PRESETS: dict[str, dict[str, Any]] = {
    # CPU demo for the synthetic corpus (our choice: Conformer-S width, shallow; ~0.6 s per training
    # step of 16 x 4 s utterances on 2 CPU cores). 4,638,360 (4.64M) at vocab 1000. No dropout: in
    # CPU budgets of minutes to hours it underfits, and dropout made its training steps 1.5x slower
    # (demo_en_asr in 20 minutes: 1168 steps and 16.5% greedy test WER with 0.1, 1737 and 8.0% without).
    # The study's second scale at English ASR (our choice: xs at two thirds of the width and depth).
    # No dropout, as xs. 1,628,392 (1.63M) at vocab 1000.
    "xxs": dict(vocab_size=1000, d_model=96, encoder_layers=4, decoder_layers=2, heads=4, ffn_dim=384,
                subsampler_channels=192, dropout=0.0, attention_dropout=0.0),
    "xs": dict(vocab_size=1000, d_model=144, encoder_layers=6, decoder_layers=3, heads=4, ffn_dim=576,
               subsampler_channels=256, dropout=0.0, attention_dropout=0.0),
    # Conformer-M width (Gulati et al. 2020: d 256, ffn 1024, 4 heads) at the paper's 12/6 depth.
    # 30,163,336 (30.16M) at vocab 5000.
    "s": dict(vocab_size=5000, d_model=256, encoder_layers=12, decoder_layers=6, heads=4, ffn_dim=1024),
    # The paper's base (Papi et al. 2025, English ASR; fairseq s2t Conformer): ~125M.
    # 125,576,832 (125.58M) at vocab 16000.
    "base": dict(vocab_size=16000, d_model=512, encoder_layers=12, decoder_layers=6, heads=8, ffn_dim=2048),
    # FAMA small (Papi et al. 2025 "small"): ~480M.
    # 445,762,176 (445.76M, 7% under) at vocab 16000.
    "fama-small": dict(vocab_size=16000, d_model=1024, encoder_layers=12, decoder_layers=6, heads=16, ffn_dim=4096),
    # FAMA medium (Papi et al. 2025 "large"): ~880M.
    # 836,698,752 (836.70M, 5% under) at vocab 16000.
    "fama-medium": dict(vocab_size=16000, d_model=1024, encoder_layers=24, decoder_layers=12, heads=16, ffn_dim=4096),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    """The named preset as a ``ModelConfig``, with ``overrides`` replacing any of its fields."""
    if name not in PRESETS:
        raise KeyError(f"unknown model preset {name!r}; known presets: {', '.join(PRESETS)}")
    known = {f.name for f in dataclasses.fields(ModelConfig) if f.init}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown ModelConfig field(s) {unknown}")
    return ModelConfig(**{**PRESETS[name], **overrides})
