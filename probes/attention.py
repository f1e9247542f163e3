"""Cross-attention of a model's own hypothesis, and the views the study compares with saliency.

A view reduces CA (L, H, I, T') to one token x frame map (I, T') by averaging a set of
heads. Views are named by spec strings, with 1-based layers and heads as in the paper's
tables:

    "all"                mean over every layer and head
    "layer:3"            mean over layer 3's heads
    "head:3.2"           layer 3, head 2
    "layers:4-6"         mean over layers 4 to 6 (inclusive) and all their heads
    "heads:6.1,6.3,5.2"  mean over the listed heads (e.g. Whisper-style alignment heads)
"""

from __future__ import annotations

import torch
from torch import Tensor

from probes.interface import ProbeModel, Utterance, forced

Head = tuple[int, int]  # (layer, head), 0-based


def cross_attention(model: ProbeModel, utt: Utterance) -> Tensor:
    """CA (L, H, I, T') of every decoder layer and head while force-decoding ``utt.tokens``, float32 on the CPU."""
    with torch.no_grad():
        ca = forced(model, utt, need_weights=True).attention  # (1, L, H, I, T')
    if ca is None:
        raise ValueError(f"{type(model).__name__}.force_decode returned no cross-attention for need_weights=True")
    return ca[0].float().cpu()


def _index(spec: str, text: str, count: int, what: str) -> int:
    """0-based index of a 1-based ``text`` that must lie in 1..count."""
    if not text.strip().isdecimal() or not 1 <= int(text) <= count:
        raise ValueError(f"view {spec!r}: {what} {text!r} is not in 1..{count}")
    return int(text) - 1


def _head(spec: str, text: str, layers: int, heads: int) -> Head:
    """``"3.2"`` -> (2, 1)."""
    parts = text.split(".")
    if len(parts) != 2:
        raise ValueError(f"view {spec!r}: {text!r} is not LAYER.HEAD (1-based, e.g. 3.2)")
    return _index(spec, parts[0], layers, "layer"), _index(spec, parts[1], heads, "head")


def view_heads(spec: str, layers: int, heads: int) -> list[Head]:
    """The (layer, head) pairs, 0-based, that ``spec`` averages for a model of ``layers`` x ``heads``."""
    kind, _, arg = spec.partition(":")
    if kind == "all" and not arg:
        return [(l, h) for l in range(layers) for h in range(heads)]
    if kind == "layer":
        return [(_index(spec, arg, layers, "layer"), h) for h in range(heads)]
    if kind == "head":
        return [_head(spec, arg, layers, heads)]
    if kind == "layers":
        first, sep, last = arg.partition("-")
        if not sep:
            raise ValueError(f"view {spec!r}: {arg!r} is not a layer range A-B (1-based, inclusive)")
        lo, hi = _index(spec, first, layers, "layer"), _index(spec, last, layers, "layer")
        if lo > hi:
            raise ValueError(f"view {spec!r}: empty layer range")
        return [(l, h) for l in range(lo, hi + 1) for h in range(heads)]
    if kind == "heads":
        return [_head(spec, part, layers, heads) for part in arg.split(",")]
    raise ValueError(f"unknown view {spec!r}: use all, layer:L, head:L.H, layers:A-B or heads:L.H,L.H,... (1-based)")


def view(ca: Tensor, spec: str) -> Tensor:
    """The (I, T') map of ``spec`` (see the module docstring) from CA (L, H, I, T')."""
    pairs = view_heads(spec, ca.shape[0], ca.shape[1])
    layers, heads = zip(*pairs)
    return ca[list(layers), list(heads)].mean(dim=0)  # (I, T')


def standard_views(ca: Tensor) -> dict[str, Tensor]:
    """Every view a report tabulates: ``"all"``, each ``"layer:l"`` and each ``"head:l.h"``, keyed by spec."""
    layers, heads = ca.shape[:2]
    specs = ["all", *(f"layer:{l}" for l in range(1, layers + 1)),
             *(f"head:{l}.{h}" for l in range(1, layers + 1) for h in range(1, heads + 1))]
    return {spec: view(ca, spec) for spec in specs}
