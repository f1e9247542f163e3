"""Cross-attention capture and views: a hand-built CA tensor and the toy model's known attention."""

from __future__ import annotations

import re

import pytest
import torch

from probes.attention import cross_attention, standard_views, view, view_heads
from tests.probes.toys import ToyProbe, toy_utterance

LAYERS, HEADS = 3, 2
PATTERN = torch.rand(2, 4, generator=torch.Generator().manual_seed(0))  # (I, T') shared token x frame map


def head_value(layer: int, head: int) -> float:
    """Scale of head (layer, head), 1-based, in the hand-built CA: 10 * layer + head."""
    return 10.0 * layer + head


def hand_built_ca() -> torch.Tensor:
    """CA (L, H, I, T') whose head (l, h) is ``head_value(l, h) * PATTERN``."""
    scale = torch.tensor([[head_value(l, h) for h in range(1, HEADS + 1)] for l in range(1, LAYERS + 1)])  # (L, H)
    return scale[:, :, None, None] * PATTERN  # (L, H, I, T')


@pytest.mark.parametrize(
    ("spec", "scale"),
    [
        ("all", (11 + 12 + 21 + 22 + 31 + 32) / 6),
        ("layer:2", (21 + 22) / 2),
        ("head:3.2", 32.0),
        ("head:1.1", 11.0),
        ("layers:2-3", (21 + 22 + 31 + 32) / 4),
        ("layers:1-1", (11 + 12) / 2),
        ("heads:3.1,1.2", (31 + 12) / 2),
        ("heads:2.2", 22.0),
    ],
)
def test_view_known_answers(spec: str, scale: float) -> None:
    """Each spec averages exactly its heads (1-based layer and head numbers)."""
    out = view(hand_built_ca(), spec)
    assert out.shape == PATTERN.shape
    assert torch.allclose(out, scale * PATTERN)


def test_view_heads_zero_based() -> None:
    """The pairs behind a spec are 0-based (layer, head)."""
    assert view_heads("heads:3.1,1.2", LAYERS, HEADS) == [(2, 0), (0, 1)]
    assert view_heads("layers:2-3", LAYERS, HEADS) == [(1, 0), (1, 1), (2, 0), (2, 1)]


@pytest.mark.parametrize(
    "spec",
    ["layer:0", "layer:4", "head:1.3", "head:4.1", "head:1", "head:1.2.1", "layers:3-2", "layers:2", "layers:1-4",
     "heads:", "heads:1.1,,2.1", "heads:1.1,2.3", "layer:x", "layer:-1", "all:1", "mean", ""],
)
def test_view_rejects_bad_spec(spec: str) -> None:
    """Malformed specs and out-of-range layers or heads raise a ValueError naming the spec."""
    with pytest.raises(ValueError, match=re.escape(repr(spec))):
        view(hand_built_ca(), spec)


def test_standard_views() -> None:
    """Every head, every layer mean and "all", keyed by spec and equal to ``view``."""
    ca = hand_built_ca()
    views = standard_views(ca)
    heads = [f"head:{l}.{h}" for l in range(1, LAYERS + 1) for h in range(1, HEADS + 1)]
    assert list(views) == ["all", "layer:1", "layer:2", "layer:3", *heads]
    for spec, out in views.items():
        assert torch.equal(out, view(ca, spec))


def test_cross_attention_on_toy() -> None:
    """Toy CA: head 1.1 uniform on attends[i] (not reads[i]), the last head uniform, "all" their mean."""
    attends = [(1, 4), (4, 6), (10, 16)]
    model = ToyProbe(reads=[(0, 3), (3, 7), (7, 12)], attends=attends)
    utt = toy_utterance(model, frames=80)
    ca = cross_attention(model, utt)
    assert ca.shape == (model.layers, model.heads, 3, 20) and ca.dtype == torch.float32
    assert not ca.requires_grad
    expected = torch.zeros(3, 20)  # (I, T')
    for i, (a, b) in enumerate(attends):
        expected[i, a:b] = 1.0 / (b - a)
    assert torch.allclose(view(ca, "head:1.1"), expected)
    assert torch.allclose(view(ca, "head:2.3"), torch.full((3, 20), 1 / 20))
    assert torch.allclose(view(ca, "all"), (2 * expected + 1 / 20) / 3)
    assert torch.allclose(view(ca, "all").sum(-1), torch.ones(3))
