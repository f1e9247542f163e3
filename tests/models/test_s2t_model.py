"""Whole model: cross-attention capture, decoder padding and causality, incremental decoding."""

from __future__ import annotations

from typing import Callable

import pytest
import torch

from s2t.models import DecoderCache, S2TModel


def test_forward_returns_the_training_outputs(make_model: Callable[..., S2TModel], batch: dict) -> None:
    out = make_model()(batch["features"], batch["lengths"], batch["tokens"])
    assert out["logits"].shape == (3, 7, 24)
    assert out["ctc_logits"].shape == (3, 14, 24)
    assert out["ctc_lengths"].tolist() == out["enc_lengths"].tolist() == [14, 10, 8]


@pytest.mark.parametrize("overrides", [dict(), dict(decoder_positions="learned", tied_embeddings=True)])
def test_capture_gives_the_fused_logits_and_exact_attention(
    make_model: Callable[..., S2TModel], batch: dict, overrides: dict
) -> None:
    model = make_model(**overrides)
    encoded = model.encode(batch["features"], batch["lengths"])
    fused, none = model.decode(batch["tokens"], encoded.out, encoded.lengths)
    captured, attention = model.decode(batch["tokens"], encoded.out, encoded.lengths, need_weights=True)
    assert none is None
    torch.testing.assert_close(captured, fused)
    assert attention.shape == (3, 2, 4, 7, 14)  # (B, L, H, S, T')
    for b, frames in enumerate(encoded.lengths.tolist()):
        assert (attention[b, ..., frames:] == 0).all()
        assert (attention[b, ..., :frames] > 0).all()
    torch.testing.assert_close(attention.sum(-1), torch.ones(3, 2, 4, 7, dtype=torch.float64))


def test_capture_is_scoped_to_the_call(make_model: Callable[..., S2TModel], batch: dict) -> None:
    model = make_model()
    calls = []
    attention = model.decoder.layers[0].cross_attn
    original = attention.scaled_dot_product
    attention.scaled_dot_product = lambda *args: calls.append(args[-1]) or original(*args)  # records need_weights
    encoded = model.encode(batch["features"], batch["lengths"])
    model.decode(batch["tokens"], encoded.out, encoded.lengths, need_weights=True)
    model.decode(batch["tokens"], encoded.out, encoded.lengths)
    assert calls == [True, False]


def test_decoder_batch_equals_one_at_a_time(make_model: Callable[..., S2TModel], batch: dict) -> None:
    model = make_model()
    encoded = model.encode(batch["features"], batch["lengths"])
    logits, attention = model.decode(batch["tokens"], encoded.out, encoded.lengths, need_weights=True)
    for b, (frames, tokens) in enumerate(zip(encoded.lengths.tolist(), batch["token_lengths"].tolist())):
        alone, alone_attention = model.decode(
            batch["tokens"][b : b + 1, :tokens], encoded.out[b : b + 1, :frames], encoded.lengths[b : b + 1],
            need_weights=True,
        )
        torch.testing.assert_close(logits[b, :tokens], alone[0])
        torch.testing.assert_close(attention[b, :, :, :tokens, :frames], alone_attention[0])


def test_future_tokens_do_not_change_earlier_logits(make_model: Callable[..., S2TModel], batch: dict) -> None:
    model = make_model()
    encoded = model.encode(batch["features"], batch["lengths"])
    tokens = batch["tokens"].clone()
    before, _ = model.decode(tokens, encoded.out, encoded.lengths)
    tokens[:, 4] = (tokens[:, 4] + 1) % 20 + 4
    after, _ = model.decode(tokens, encoded.out, encoded.lengths)
    torch.testing.assert_close(after[:, :4], before[:, :4])
    assert not torch.allclose(after[:, 4:], before[:, 4:])


def test_incremental_decoding_equals_teacher_forcing(make_model: Callable[..., S2TModel], batch: dict) -> None:
    model = make_model()
    encoded = model.encode(batch["features"], batch["lengths"])
    tokens = batch["tokens"]
    full, full_attention = model.decode(tokens, encoded.out, encoded.lengths, need_weights=True)
    cache = DecoderCache(model.config.decoder_layers)
    prefix, prefix_attention = model.decode(tokens[:, :3], encoded.out, encoded.lengths, True, cache)
    steps = [model.decode(tokens[:, i : i + 1], encoded.out, encoded.lengths, True, cache) for i in range(3, 7)]
    assert len(cache) == 7
    torch.testing.assert_close(torch.cat([prefix] + [s[0] for s in steps], dim=1), full)
    torch.testing.assert_close(torch.cat([prefix_attention] + [s[1] for s in steps], dim=3), full_attention)


def test_decoder_positions_are_bounded(make_model: Callable[..., S2TModel], batch: dict) -> None:
    model = make_model(max_target_positions=5)
    encoded = model.encode(batch["features"], batch["lengths"])
    with pytest.raises(ValueError, match="exceed max_target_positions=5"):
        model.decode(batch["tokens"], encoded.out, encoded.lengths)


def test_features_with_the_wrong_width_are_refused(make_model: Callable[..., S2TModel]) -> None:
    with pytest.raises(ValueError, match="expects 80"):
        make_model().encode(torch.zeros(1, 20, 40, dtype=torch.float64), torch.tensor([20]))
