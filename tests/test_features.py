"""Log-mel filterbanks (Kaldi-compatible, CMVN) and SpecAugment."""

from __future__ import annotations

import pytest
import torch
import torchaudio.compliance.kaldi as kaldi

from s2t.data.manifest import num_frames
from s2t.features import N_MELS, FeatureError, SpecAugment, fbank, log_mel


def speechlike(samples: int, seed: int = 0) -> torch.Tensor:
    """A chirp plus noise in [-1, 1], shape (samples,)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / 16000
    return 0.4 * torch.sin(2 * torch.pi * (150 + 900 * t) * t) + 0.05 * torch.randn(samples, generator=g)


def test_log_mel_is_kaldi_fbank_and_fbank_normalises_it() -> None:
    wav = speechlike(16000)
    reference = kaldi.fbank(wav[None] * 32768, num_mel_bins=80, dither=0.0)  # Kaldi defaults: 25 ms / 10 ms, snip edges
    assert torch.allclose(log_mel(wav), reference)
    expected = (reference - reference.mean(0)) / reference.std(0, correction=0)
    feats = fbank(wav)
    assert feats.shape == (98, N_MELS) and torch.allclose(feats, expected, atol=1e-4)
    assert feats.mean(0).abs().max() < 1e-4 and (feats.std(0, correction=0) - 1).abs().max() < 1e-3


@pytest.mark.parametrize("samples", [400, 401, 559, 560, 12345, 16000])
def test_frame_count_matches_manifest(samples: int) -> None:
    assert fbank(speechlike(samples)).shape == (num_frames(samples), N_MELS)


def test_constant_dimension_stays_finite() -> None:
    feats = fbank(torch.zeros(4000))  # digital silence: every frame at the log floor
    assert torch.isfinite(feats).all() and feats.abs().max() == 0


@pytest.mark.parametrize("samples", [0, 1, 399])
def test_too_short_audio_is_a_feature_error(samples: int) -> None:
    with pytest.raises(FeatureError, match="zero frames"):
        fbank(speechlike(samples))


def test_non_finite_audio_is_a_feature_error() -> None:
    wav = speechlike(8000)
    wav[1234] = float("nan")
    with pytest.raises(FeatureError, match="NaN"):
        fbank(wav)
    wav[1234] = float("inf")
    with pytest.raises(FeatureError, match="NaN or infinite"):
        fbank(wav)


def test_stereo_input_is_refused() -> None:
    with pytest.raises(FeatureError, match="mono"):
        fbank(torch.zeros(2, 8000))


def test_spec_augment_masks_bands_and_frames() -> None:
    torch.manual_seed(0)
    feats = fbank(speechlike(32000))  # (198, 80), no exact zeros
    assert not feats.eq(0).any()
    out = SpecAugment(freq_masks=2, freq_width=27, time_masks=2, time_width=100, time_ratio=0.2)(feats)
    zero = out.eq(0)
    assert out.shape == feats.shape and zero.any()
    assert zero.all(dim=0).any() and zero.all(dim=1).any()  # a whole band and a whole frame
    assert torch.equal(out[~zero], feats[~zero])  # everything else untouched
    assert zero.all(dim=1).sum() <= 2 * 38  # each time mask is below 20% of 198 frames


def test_spec_augment_at_zero_masks_changes_nothing() -> None:
    feats = fbank(speechlike(16000))
    for augment in (SpecAugment(freq_masks=0, time_masks=0), SpecAugment(freq_width=0, time_width=0), SpecAugment(time_ratio=0.0, freq_width=0)):
        assert torch.equal(augment(feats), feats)


def test_spec_augment_refuses_bad_settings() -> None:
    with pytest.raises(ValueError):
        SpecAugment(time_ratio=1.5)
    with pytest.raises(ValueError):
        SpecAugment(freq_masks=-1)
