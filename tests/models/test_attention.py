"""Attention module: fused vs explicit paths, masks, caches, rotary positions."""

from __future__ import annotations

import pytest
import torch

from s2t.models.attention import KVCache, MultiHeadAttention, RotaryEmbedding, apply_rotary, causal_mask

B, S, T, D, H = 2, 5, 9, 16, 4


@pytest.fixture
def attention() -> MultiHeadAttention:
    torch.manual_seed(0)
    return MultiHeadAttention(D, H).double().eval()


def random(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64)


def key_mask() -> torch.Tensor:
    """(B, 1, 1, T): the second row has 6 valid keys."""
    return (torch.arange(T) < torch.tensor([T, 6])[:, None])[:, None, None]


def test_cross_attention_fused_equals_explicit_and_weights_are_exact(attention: MultiHeadAttention) -> None:
    x, memory = random(B, S, D), random(B, T, D)
    fused, none = attention(x, memory, mask=key_mask())
    explicit, weights = attention(x, memory, mask=key_mask(), need_weights=True)
    assert none is None
    torch.testing.assert_close(fused, explicit)
    assert weights.shape == (B, H, S, T)
    assert (weights[1, :, :, 6:] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, H, S, dtype=torch.float64))


def test_self_attention_with_rope_and_causal_mask_fused_equals_explicit(attention: MultiHeadAttention) -> None:
    x = random(B, S, D)
    rope = RotaryEmbedding(D // H)(S, torch.float64)
    query_mask = (torch.arange(S) < torch.tensor([S, 3])[:, None])[:, None, None]  # (B, 1, 1, S)
    for kwargs in (dict(is_causal=True), dict(mask=query_mask, is_causal=True), dict(rope=rope)):
        fused, _ = attention(x, **kwargs)
        explicit, weights = attention(x, need_weights=True, **kwargs)
        torch.testing.assert_close(fused, explicit)
    _, weights = attention(x, is_causal=True, need_weights=True)
    assert (weights.triu(1) == 0).all()


def test_self_attention_cache_matches_full_causal_pass(attention: MultiHeadAttention) -> None:
    x = random(B, S, D)
    full, _ = attention(x, is_causal=True)
    cache = KVCache()
    first, _ = attention(x[:, :2], is_causal=True, cache=cache)  # two tokens at once, then one by one
    steps = [first] + [attention(x[:, i : i + 1], is_causal=True, cache=cache)[0] for i in range(2, S)]
    assert len(cache) == S
    torch.testing.assert_close(torch.cat(steps, dim=1), full)
    tail, _ = attention(x[:, 3:], is_causal=True, cache=KVCache(cache.key[:, :, :3], cache.value[:, :, :3]))
    torch.testing.assert_close(tail, full[:, 3:])  # several new tokens after a filled cache


def test_cross_attention_cache_computes_keys_once(attention: MultiHeadAttention) -> None:
    x, memory = random(B, S, D), random(B, T, D)
    cache = KVCache()
    first, _ = attention(x, memory, mask=key_mask(), cache=cache)
    key = cache.key
    again, _ = attention(x, memory * 0, mask=key_mask(), cache=cache)  # memory ignored once cached
    assert cache.key is key
    torch.testing.assert_close(first, again)


def test_rotary_scores_depend_only_on_relative_offsets() -> None:
    q, k = random(1, 1, 1, 8), random(1, 1, 1, 8)
    rope = RotaryEmbedding(8)

    def score(i: int, j: int) -> torch.Tensor:
        cos, sin = rope(max(i, j) + 1, torch.float64)
        return (apply_rotary(q, cos[i], sin[i]) * apply_rotary(k, cos[j], sin[j])).sum()

    torch.testing.assert_close(score(3, 1), score(10, 8))
    torch.testing.assert_close(score(0, 5), score(7, 12))
    assert not torch.allclose(score(3, 1), score(3, 2))
    cos, sin = rope(4, torch.float64)
    torch.testing.assert_close(apply_rotary(q, cos[0], sin[0]), q)  # position 0 is the identity


def test_causal_mask_is_bottom_right_aligned() -> None:
    assert causal_mask(2, 4, torch.device("cpu")).tolist() == [[True, True, True, False], [True, True, True, True]]
