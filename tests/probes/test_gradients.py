"""Gradient saliency on the toy model: each token's map lies exactly inside the frames it reads."""

from __future__ import annotations

import pytest
import torch

from probes.interface import Utterance
from probes.saliency.gradients import METHODS, gradient_saliency, token_log_probs
from probes.saliency.pooling import pool_to_frames
from tests.probes.toys import ToyProbe, toy_utterance

READS = [(0, 3), (3, 7), (7, 12), (15, 20)]  # encoder frames; frames 12..14 are read by no token


@pytest.fixture(scope="module")
def toy() -> tuple[ToyProbe, Utterance]:
    """The toy model and an 80-frame utterance (20 encoder frames) with its own hypothesis."""
    model = ToyProbe(reads=READS)
    return model, toy_utterance(model, frames=80)


@pytest.mark.parametrize("method", METHODS)
def test_maps_inside_read_windows(toy: tuple[ToyProbe, Utterance], method: str) -> None:
    """Token i's map is nonzero on every frame of reads[i] and exactly zero elsewhere, in either resolution."""
    model, utt = toy
    maps = gradient_saliency(model, utt, method)
    assert maps.shape == (len(READS), 80, model.n_mels) and maps.dtype == torch.float32
    assert (maps >= 0).all()
    pooled = pool_to_frames(maps, 20)  # (I, T')
    for i, (a, b) in enumerate(READS):
        inside = torch.zeros(80, dtype=torch.bool)
        inside[4 * a : 4 * b] = True
        assert (maps[i, ~inside] == 0).all()
        assert (pooled[i, a:b] > 0).all()
        assert (pooled[i, :a] == 0).all() and (pooled[i, b:] == 0).all()


@pytest.mark.parametrize("method", METHODS)
def test_magnitudes_of_signed(toy: tuple[ToyProbe, Utterance], method: str) -> None:
    """The default maps are the absolute values of the signed attributions, which do take both signs."""
    model, utt = toy
    signed = gradient_saliency(model, utt, method, signed=True)
    assert torch.equal(gradient_saliency(model, utt, method), signed.abs())
    assert (signed < 0).any() and (signed > 0).any()


def test_saliency_is_the_gradient(toy: tuple[ToyProbe, Utterance]) -> None:
    """Saliency is d log p(token_i) / dx, and input x gradient is x times it."""
    model, utt = toy
    x = utt.features[None].clone().requires_grad_()  # (1, T, F)
    (grad,) = torch.autograd.grad(token_log_probs(model, utt)(x)[0, 2], x)
    signed = gradient_saliency(model, utt, "saliency", signed=True)
    assert torch.allclose(signed[2], grad[0])
    assert torch.allclose(gradient_saliency(model, utt, "input_x_gradient", signed=True), utt.features * signed)


def test_integrated_gradients_completeness(toy: tuple[ToyProbe, Utterance]) -> None:
    """Signed IG attributions of each token sum to f_i(x) - f_i(0) (zero baseline)."""
    model, utt = toy
    forward = token_log_probs(model, utt)
    with torch.no_grad():
        gap = forward(utt.features[None])[0] - forward(torch.zeros_like(utt.features)[None])[0]  # (I,)
    sums = gradient_saliency(model, utt, "integrated_gradients", steps=16, signed=True).sum(dim=(1, 2))
    assert torch.allclose(sums, gap, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_batched_equals_one_token_at_a_time(toy: tuple[ToyProbe, Utterance], method: str) -> None:
    """Explaining all tokens in one pass equals explaining them one per pass."""
    model, utt = toy
    batched = gradient_saliency(model, utt, method, steps=8, internal_batch_size=64)
    single = gradient_saliency(model, utt, method, steps=8, internal_batch_size=1)
    assert torch.allclose(batched, single, atol=1e-6)


def test_gradients_under_no_grad(toy: tuple[ToyProbe, Utterance]) -> None:
    """A caller's no_grad does not switch the gradients off."""
    model, utt = toy
    with torch.no_grad():
        maps = gradient_saliency(model, utt)
    assert torch.equal(maps, gradient_saliency(model, utt))


def test_empty_hypothesis(toy: tuple[ToyProbe, Utterance]) -> None:
    """No tokens: an empty (0, T, F) map."""
    model, utt = toy
    empty = Utterance(id="empty", features=utt.features, prefix=utt.prefix, tokens=[])
    assert gradient_saliency(model, empty, "integrated_gradients").shape == (0, 80, model.n_mels)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(method="occlusion"), "unknown gradient method 'occlusion'"),
    (dict(steps=0), "steps=0"),
    (dict(internal_batch_size=0), "internal_batch_size=0"),
])
def test_rejects_bad_options(toy: tuple[ToyProbe, Utterance], kwargs: dict, message: str) -> None:
    """Clear errors for an unknown method and non-positive sizes."""
    model, utt = toy
    with pytest.raises(ValueError, match=message):
        gradient_saliency(model, utt, **kwargs)
