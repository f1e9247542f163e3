"""Audio features: Kaldi-compatible log-mel filterbanks with utterance CMVN, and SpecAugment.

``fbank`` matches Kaldi's ``compute-fbank-feats`` (and fairseq's speech-to-text recipes):
80 mel bins, 25 ms Povey window, 10 ms hop, no dither, ``snip_edges`` so the frame count is
``manifest.num_frames(samples)``. Samples are scaled to the int16 range first, as Kaldi reads
16-bit PCM; the scale shifts the log energies (except at the log floor), which the
utterance mean normalisation then removes.
"""

from __future__ import annotations

import torch
import torchaudio.compliance.kaldi as kaldi
import torchaudio.transforms as AT

from s2t.data.manifest import HOP_SAMPLES, SAMPLE_RATE, WINDOW_SAMPLES

N_MELS = 80
INT16_SCALE = 2.0**15
CMVN_EPS = 1e-5  # floor on the per-dimension standard deviation


class FeatureError(ValueError):
    """Features cannot be computed: audio shorter than one window, or non-finite values."""


def log_mel(wav: torch.Tensor) -> torch.Tensor:
    """Raw Kaldi log-mel filterbank of a 16 kHz mono signal: (samples,) -> (frames, 80)."""
    if wav.dim() != 1:
        raise FeatureError(f"expected a mono signal of shape (samples,), got shape {tuple(wav.shape)}")
    if wav.numel() < WINDOW_SAMPLES:
        raise FeatureError(f"audio has {wav.numel()} samples, fewer than one {WINDOW_SAMPLES}-sample window: zero frames")
    return kaldi.fbank(
        wav.float().unsqueeze(0) * INT16_SCALE,  # (1, samples)
        num_mel_bins=N_MELS,
        frame_length=1000.0 * WINDOW_SAMPLES / SAMPLE_RATE,
        frame_shift=1000.0 * HOP_SAMPLES / SAMPLE_RATE,
        dither=0.0,
        snip_edges=True,
        sample_frequency=SAMPLE_RATE,
    )  # (frames, 80)


def utterance_cmvn(feats: torch.Tensor) -> torch.Tensor:
    """Per-dimension mean-variance normalisation over one utterance: (frames, D) -> (frames, D)."""
    x = feats.double()  # float64 statistics: a constant dimension normalises to exactly 0
    mean = x.mean(dim=0, keepdim=True)  # (1, D)
    std = x.std(dim=0, correction=0, keepdim=True).clamp_min(CMVN_EPS)  # (1, D)
    return ((x - mean) / std).to(feats.dtype)


def fbank(wav: torch.Tensor) -> torch.Tensor:
    """Normalised log-mel features of a 16 kHz mono signal: (samples,) -> (frames, 80)."""
    feats = log_mel(wav)  # (frames, 80), at least one frame
    if not torch.isfinite(feats).all():
        raise FeatureError("features hold NaN or infinite values (non-finite audio samples?)")
    return utterance_cmvn(feats)


class SpecAugment(torch.nn.Module):
    """Frequency and time masking of one utterance's features, (frames, 80) -> (frames, 80).

    Defaults follow the LD policy of Park et al. (2019) without time warping: two frequency
    masks of width up to F=27 bins and two time masks of width up to T=100 frames, each time
    mask also capped at ``time_ratio`` = 20% of the utterance, so short utterances keep most
    frames. Masked cells are set to 0, the utterance mean after CMVN. Randomness comes from
    torch's global generator (seeded per DataLoader worker).
    """

    def __init__(
        self,
        freq_masks: int = 2,
        freq_width: int = 27,
        time_masks: int = 2,
        time_width: int = 100,
        time_ratio: float = 0.2,
    ) -> None:
        """Set the number and maximum width of the frequency and time masks."""
        super().__init__()
        if min(freq_masks, freq_width, time_masks, time_width) < 0 or not 0.0 <= time_ratio <= 1.0:
            raise ValueError("SpecAugment counts and widths must be >= 0 and time_ratio in [0, 1]")
        self.freq_masks = freq_masks
        self.time_masks = time_masks
        self.freq_mask = AT.FrequencyMasking(freq_mask_param=freq_width)
        self.time_mask = AT.TimeMasking(time_mask_param=time_width, p=time_ratio)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Apply the masks to (frames, 80) features and return a new (frames, 80) tensor."""
        spec = feats.transpose(0, 1)  # (80, frames): torchaudio masks (..., freq, time)
        for _ in range(self.freq_masks):
            spec = self.freq_mask(spec)
        for _ in range(self.time_masks):
            spec = self.time_mask(spec)
        return spec.transpose(0, 1).contiguous()  # (frames, 80)
