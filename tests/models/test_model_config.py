"""ModelConfig validation, presets and their parameter counts."""

from __future__ import annotations

import pytest
import torch

from s2t.models import PRESETS, ModelConfig, S2TModel, preset
from s2t.tokenizer import PAD_ID

# Sizes the presets must land within 10% of, at the vocabulary in each preset ("xs" has a range).
EXPECTED_PARAMETERS = {
    "s": (30e6, 5000),
    "base": (125e6, 16000),  # Papi et al. 2025, "base"
    "fama-small": (480e6, 16000),  # Papi et al. 2025, "small"
    "fama-medium": (880e6, 16000),  # Papi et al. 2025, "large"
}


@pytest.mark.parametrize("name", list(EXPECTED_PARAMETERS))
def test_preset_parameter_counts(name: str) -> None:
    expected, vocab = EXPECTED_PARAMETERS[name]
    config = preset(name)
    assert config.vocab_size == vocab
    with torch.device("meta"):  # no memory, no initialisation: fast even for 880M
        count = S2TModel(config).num_parameters()
    assert abs(count - expected) <= 0.1 * expected, f"{name}: {count / 1e6:.2f}M"


def test_every_preset_has_an_expected_size() -> None:
    assert set(PRESETS) == {"xxs", "xs", *EXPECTED_PARAMETERS}


def test_xs_is_a_cpu_demo_size() -> None:
    assert preset("xs").vocab_size == 1000
    with torch.device("meta"):
        assert 2e6 <= S2TModel(preset("xs")).num_parameters() <= 5e6


def test_xxs_is_a_smaller_scale_than_xs() -> None:
    with torch.device("meta"):
        xxs, xs = (S2TModel(preset(n)).num_parameters() for n in ("xxs", "xs"))
    assert 2.5 <= xs / xxs <= 3.5  # the study's scale axis: about three times apart
    assert preset("xxs").dropout == preset("xs").dropout == 0.0


def test_tied_embeddings_share_the_matrix_and_count_once() -> None:
    with torch.device("meta"):
        untied, tied = S2TModel(preset("xs")), S2TModel(preset("xs", tied_embeddings=True))
    assert tied.decoder.output.weight is tied.decoder.embed.weight
    assert untied.num_parameters() - tied.num_parameters() == 1000 * 144


def test_preset_overrides_and_derived_fields() -> None:
    config = preset("base", vocab_size=321, encoder="transformer", ctc_layer=0)
    assert (config.vocab_size, config.encoder, config.ctc_layer, config.head_dim) == (321, "transformer", 0, 64)
    assert preset("base").ctc_layer == 8  # two thirds of 12 layers
    assert ModelConfig(vocab_size=10).ctc_blank == PAD_ID


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="xs, s, base, fama-small, fama-medium"):
        preset("huge")
    with pytest.raises(TypeError, match="d_modle"):
        preset("xs", d_modle=8)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(d_model=100, heads=3), "not divisible by heads"),
        (dict(d_model=36, heads=4), "must be even"),
        (dict(ctc_layer=13), "ctc_layer=13 must be in 0..encoder_layers=12"),
        (dict(ctc_layer=-1), "ctc_layer=-1"),
        (dict(encoder="lstm"), "unknown encoder 'lstm'"),
        (dict(conv_norm="group"), "unknown conv_norm"),
        (dict(decoder_positions="alibi"), "unknown decoder_positions"),
        (dict(conv_kernel=30), "must be odd"),
        (dict(ctc_blank=50), "ctc_blank=50 is outside the vocabulary"),
        (dict(dropout=1.0), "dropout=1.0"),
        (dict(decoder_layers=0), "decoder_layers=0"),
    ],
)
def test_bad_configs_are_rejected_with_a_clear_message(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelConfig(**{"vocab_size": 40, **overrides})


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ValueError, match="not divisible.*unknown encoder"):
        ModelConfig(vocab_size=40, heads=3, encoder="rnn")
