"""Tiny model configurations and inputs shared by the model tests."""

from __future__ import annotations

from typing import Callable

import pytest
import torch

from s2t.models import ModelConfig, S2TModel


def tiny_config(**overrides) -> ModelConfig:
    """A few-thousand-parameter config without dropout, so outputs are deterministic."""
    sizes = dict(vocab_size=24, d_model=32, encoder_layers=3, decoder_layers=2, heads=4, ffn_dim=48,
                 conv_kernel=5, subsampler_channels=16, dropout=0.0, attention_dropout=0.0)
    return ModelConfig(**{**sizes, **overrides})


@pytest.fixture
def make_model() -> Callable[..., S2TModel]:
    """Factory: a seeded float64 tiny model in eval mode, config fields overridable."""

    def make(**overrides) -> S2TModel:
        torch.manual_seed(0)
        return S2TModel(tiny_config(**overrides)).double().eval()

    return make


@pytest.fixture
def batch() -> dict[str, torch.Tensor]:
    """Three padded utterances of different lengths with right-padded decoder inputs."""
    generator = torch.Generator().manual_seed(1)
    lengths = torch.tensor([53, 37, 29])
    features = torch.randn(3, 53, 80, generator=generator, dtype=torch.float64)
    features[1, 37:] = 0.0
    features[2, 29:] = 0.0
    tokens = torch.randint(4, 24, (3, 7), generator=generator)
    tokens[:, 0] = 1  # bos
    tokens[1, 5:] = 0  # pad
    tokens[2, 4:] = 0
    token_lengths = torch.tensor([7, 5, 4])
    return dict(features=features, lengths=lengths, tokens=tokens, token_lengths=token_lengths)
