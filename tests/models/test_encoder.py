"""Subsampler, Conformer and Transformer encoders: lengths, padding invariance, CTC layer."""

from __future__ import annotations

from typing import Callable

import pytest
import torch

from s2t.models import S2TModel
from s2t.models.conformer import MaskedBatchNorm, depthwise_conv
from s2t.models.encoder import TransformerEncoderBlock
from s2t.models.layers import Conv1dSubsampler


@pytest.mark.parametrize("frames", [1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 101, 102, 103])
def test_subsampler_lengths_follow_the_conv_arithmetic(frames: int) -> None:
    sub = Conv1dSubsampler(80, 16, 8)
    out, lengths = sub(torch.randn(1, frames, 80), torch.tensor([frames]))
    expected = ((frames - 1) // 2) // 2 + 1  # floor((L + 2*2 - 5) / 2) + 1, twice
    assert out.shape == (1, expected, 8)
    assert lengths.tolist() == [expected] == sub.output_lengths(torch.tensor([frames])).tolist()


def test_subsampler_padding_never_reaches_valid_frames() -> None:
    torch.manual_seed(0)
    sub = Conv1dSubsampler(80, 16, 8).double()
    features = torch.randn(2, 41, 80, dtype=torch.float64)
    features[1, 30:] = 1e3  # garbage padding
    out, lengths = sub(features, torch.tensor([41, 30]))
    alone, alone_lengths = sub(features[1:, :30], torch.tensor([30]))
    assert lengths[1] == alone_lengths[0] == alone.shape[1]
    torch.testing.assert_close(out[1, : lengths[1]], alone[0])


@pytest.mark.parametrize(
    "overrides", [dict(), dict(conv_norm="layer"), dict(encoder="transformer"), dict(absolute_positions=True)]
)
def test_encoder_batch_equals_one_at_a_time(make_model: Callable[..., S2TModel], batch: dict, overrides: dict) -> None:
    model = make_model(**overrides)
    features, lengths = batch["features"].clone(), batch["lengths"]
    features[2, 29:] = 7.0  # padding values must not matter
    encoded = model.encode(features, lengths)
    for b, length in enumerate(lengths.tolist()):
        alone = model.encode(features[b : b + 1, :length], lengths[b : b + 1])
        valid = alone.lengths.item()
        assert encoded.lengths[b] == valid
        torch.testing.assert_close(encoded.out[b, :valid], alone.out[0])
        torch.testing.assert_close(encoded.ctc_logits[b, :valid], alone.ctc_logits[0])
        assert (encoded.out[b, valid:] == 0).all()


def test_masked_batch_norm_statistics_ignore_padded_frames() -> None:
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    mask = (torch.arange(6) < torch.tensor([6, 4])[:, None])[:, :, None]
    norm, reference = MaskedBatchNorm(3).double(), torch.nn.BatchNorm1d(3).double()
    y = norm(x.masked_fill(~mask, 1e4), mask)
    valid = x[mask.squeeze(-1)]  # (10, 3)
    torch.testing.assert_close(y[mask.squeeze(-1)], reference(valid))
    torch.testing.assert_close(norm.running_mean, reference.running_mean)
    torch.testing.assert_close(norm.running_var, reference.running_var)
    norm.eval(), reference.eval()
    torch.testing.assert_close(norm(x, mask).flatten(0, 1), reference(x.flatten(0, 1)))


@pytest.mark.parametrize("encoder", ["conformer", "transformer"])
def test_ctc_head_reads_the_chosen_layer(make_model: Callable[..., S2TModel], batch: dict, encoder: str) -> None:
    model = make_model(encoder=encoder, ctc_layer=2)
    outputs = {}
    model.encoder.layers[1].register_forward_hook(lambda module, args, out: outputs.setdefault("layer2", out))
    encoded = model.encode(batch["features"], batch["lengths"])
    expected = model.ctc_head(model.encoder.norm(outputs["layer2"]))
    torch.testing.assert_close(encoded.ctc_logits, expected)
    assert encoded.ctc_logits.shape == (3, encoded.out.shape[1], 24)
    assert encoded.ctc_lengths.tolist() == encoded.lengths.tolist()


def test_no_ctc_head_when_ctc_layer_is_zero(make_model: Callable[..., S2TModel], batch: dict) -> None:
    model = make_model(ctc_layer=0)
    assert model.ctc_head is None
    encoded = model.encode(batch["features"], batch["lengths"])
    assert encoded.ctc_logits is None and encoded.ctc_lengths is None


def test_transformer_encoder_alternative(make_model: Callable[..., S2TModel], batch: dict) -> None:
    model = make_model(encoder="transformer")
    assert isinstance(model.encoder.layers[0], TransformerEncoderBlock)
    out = model(batch["features"], batch["lengths"], batch["tokens"])
    assert out["logits"].shape == (3, 7, 24)
    assert out["enc_lengths"].tolist() == [14, 10, 8]


def test_training_step_backpropagates_everywhere(make_model: Callable[..., S2TModel], batch: dict) -> None:
    model = make_model(dropout=0.1, attention_dropout=0.1).train()
    out = model(batch["features"], batch["lengths"], batch["tokens"])
    (out["logits"].square().mean() + out["ctc_logits"].square().mean()).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert missing == []


@pytest.mark.parametrize("kernel", [1, 5, 31])
def test_depthwise_conv_without_autograd_equals_the_convolution(kernel: int) -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(6, 6, kernel, padding=kernel // 2, groups=6).double()
    x = torch.randn(3, 17, 6, dtype=torch.float64)  # (B, T, D), shorter than the kernel at 31
    with torch.no_grad():
        fast = depthwise_conv(x, conv)
    torch.testing.assert_close(fast, conv(x.transpose(1, 2)).transpose(1, 2))
    assert depthwise_conv(x, conv).requires_grad  # with autograd, the convolution itself
