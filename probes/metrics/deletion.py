"""Deletion and insertion curves: how fast the output breaks when the most relevant input goes first.

A relevance map ranks the input cells (T, F) (``input_relevance``, ``ranking``). Deletion
sets the top p% cells to the model's neutral value, p = 0, 5, ..., 100; insertion starts from
features that hold only that value and restores the top p%. The neutral value is what SPES
masks with (``probes.interface.occlusion_value``): 0, the utterance mean of our CMVN-normalised
filterbanks; digital silence on Whisper's log-mel.

Every score is damage in percent, higher = further from the unperturbed behaviour:
  "wer"       WER of the re-decoded hypothesis against the reference (ASR); not clipped,
              insertions can push it past 100.
  "100-bleu"  100 - sentence BLEU of the re-decoded translation (ST; torchmetrics
              sacreBLEU with add-one smoothing, 13a tokens; 0 BLEU when some n-gram order
              has no match at all, so short sentences are coarse).
              Both on text normalised as the model's users score it (``probes.metrics.text``:
              Whisper's text normaliser for Whisper, as it is for ours); the re-decoding is
              bounded by the audio's length where the model's search is (Whisper's adapter), so
              a model that loops on a damaged input stops early.
  "100-prob"  100 x (1 - mean probability of the original hypothesis tokens),
              force-decoded on the perturbed features (no search). It and the search of the
              two text scores share one encoding of each perturbed copy (``curves``), and
              all curves share their two end levels: the utterance and silence.
The AUC (trapezoid over p in [0, 1]) is in the score's unit. Deletion: a faithful map does
damage sooner, so higher AUC = more faithful (paper, WER: CA 41.2, pooled saliency 52.9,
full-resolution SPES 91.3). Insertion: a faithful map repairs sooner, so lower AUC = more
faithful.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from probes.interface import ProbeModel, Utterance, force_on_encoding, occlusion_value
from probes.metrics.text import Normalize, as_is, sentence_bleu, wer

Detokenize = Callable[[Sequence[int]], str]  # token ids -> text (S2TProbe: model.tokenizer.decode)


@dataclass(frozen=True)
class Curve:
    """Damage scores at each perturbation level and their area; see the module docstring for units."""

    percents: tuple[float, ...]  # p, share of input cells deleted (or restored), 0..100
    scores: tuple[float, ...]  # damage at each p, in percent
    auc: float  # trapezoid area over p in [0, 1], in the score's unit
    metric: str  # "wer", "100-bleu" or "100-prob"
    mode: str  # "deletion" or "insertion"


def auc(percents: Sequence[float], scores: Sequence[float]) -> float:
    """Trapezoid area under ``scores`` over p = percents / 100 (strictly increasing), in the scores' unit."""
    p = np.asarray(percents, dtype=np.float64) / 100.0
    if p.ndim != 1 or p.size < 2 or p.size != len(scores) or np.any(np.diff(p) <= 0):
        raise ValueError("auc needs at least two strictly increasing percents, one score each")
    return float(np.trapezoid(np.asarray(scores, dtype=np.float64), p))


def levels(steps: int) -> list[float]:
    """Perturbation percents 0, 100 / steps, ..., 100."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    return [100.0 * k / steps for k in range(steps + 1)]


def input_relevance(relevance: Tensor, num_frames: int, n_mels: int, subsampling: int) -> Tensor:
    """One relevance per input cell, (T, F), of a full-resolution (I, T, F) or encoder-frame (I, T') map.

    Both are summed over tokens. An encoder frame t's value goes to input frames
    t*s .. t*s+s-1 (s = ``subsampling``) and all F channels; input frames past T'*s (the
    subsampler's remainder) take the last encoder frame's value, and a T'*s beyond T is cut.
    """
    if relevance.dim() == 3:
        if tuple(relevance.shape[1:]) != (num_frames, n_mels):
            raise ValueError(f"expected an (I, {num_frames}, {n_mels}) map, got {tuple(relevance.shape)}")
        return relevance.sum(dim=0)  # (T, F)
    if relevance.dim() != 2 or relevance.shape[1] == 0:
        raise ValueError(f"expected an (I, T, F) or (I, T') map, got shape {tuple(relevance.shape)}")
    frames = relevance.sum(dim=0).repeat_interleave(subsampling)[:num_frames]  # (min(T, T's),)
    frames = torch.cat((frames, frames[-1:].expand(num_frames - frames.numel())))  # (T,)
    return frames[:, None].expand(num_frames, n_mels)  # (T, F)


def ranking(cells: Tensor) -> Tensor:
    """Flat indices of the (T, F) cells, most relevant first; ties keep time-then-channel order (stable sort)."""
    flat = cells.reshape(-1)  # (T * F,)
    if torch.isnan(flat).any():
        raise ValueError("relevance contains nan: the cells cannot be ranked")
    return torch.sort(flat, descending=True, stable=True).indices


def perturbed(features: Tensor, order: Tensor, percents: Sequence[float], insertion: bool, fill: float = 0.0) -> Tensor:
    """(P, T, F) copies of (T, F) features with the top p% cells of ``order`` set to ``fill`` (deletion) or the
    others set to it (insertion).

    The top p% is the first floor(p / 100 * T * F + 0.5) cells of ``order``.
    """
    n = order.numel()
    counts = torch.tensor([math.floor(p / 100.0 * n + 0.5) for p in percents], device=features.device)  # (P,)
    rank = torch.empty(n, dtype=torch.long, device=features.device)
    rank[order.to(features.device)] = torch.arange(n, device=features.device)  # (T * F,) position in the ranking
    top = rank[None] < counts[:, None]  # (P, T * F) cells among the top p%
    flat = features.reshape(1, n)  # (1, T * F)
    empty = torch.full((), fill, dtype=features.dtype, device=features.device)
    out = torch.where(top, flat, empty) if insertion else torch.where(top, empty, flat)  # (P, T * F)
    return out.reshape(len(percents), *features.shape)


def perturbed_copies(model: ProbeModel, utt: Utterance, relevance: Tensor, percents: Sequence[float],
                     insertion: bool, fill: float = 0.0) -> Tensor:
    """(P, T, F) perturbed copies of the utterance's features, ranked by ``relevance``, removed cells at ``fill``."""
    cells = input_relevance(relevance.to(utt.features.device), utt.num_frames, utt.features.shape[1], model.subsampling)
    return perturbed(utt.features, ranking(cells), percents, insertion, fill)


def text_scorer(utt: Utterance, detokenize: Detokenize,
                normalize: Normalize = as_is) -> tuple[str, Callable[[str], float]]:
    """Metric name and damage score of a hypothesis text: WER (ASR) or 100 - BLEU (ST), in percent, on ``normalize``d
    text.

    The reference is ``utt.reference`` when given, else the unperturbed hypothesis.
    """
    reference = utt.reference or detokenize(utt.tokens)
    if not normalize(reference).strip():
        raise ValueError(f"{utt.id}: no reference text and an empty hypothesis: nothing to score against")
    if utt.task == "st":
        return "100-bleu", lambda text: 100.0 - sentence_bleu(text, reference, normalize)
    return "wer", lambda text: wer(text, reference, normalize)


def _curve(percents: Sequence[float], scores: Sequence[float], metric: str, insertion: bool) -> Curve:
    """Assemble a curve and its area."""
    mode = "insertion" if insertion else "deletion"
    return Curve(tuple(percents), tuple(float(s) for s in scores), auc(percents, scores), metric, mode)


MODES = ("deletion", "insertion")


def _copies(model: ProbeModel, utt: Utterance, relevance: Mapping[str, Mapping[str, Tensor]],
            percents: Sequence[float], fill: float = 0.0) -> tuple[Tensor, dict[str, dict[str, list[int]]]]:
    """The distinct perturbed copies (N, T, F) of every curve, and each curve's copy per level (mode -> name -> rows).

    Every curve starts and ends on the same two inputs, the utterance and silence (every cell at
    ``fill``; deletion 0% and 100%, insertion 100% and 0%), so those are made once, as copies 0 and 1.
    """
    blocks = [torch.stack((utt.features, torch.full_like(utt.features, fill)))]  # [(2, T, F), (P - 2, T, F), ...]
    rows: dict[str, dict[str, list[int]]] = {}
    count, inner = 2, len(percents) - 2
    for mode, maps in relevance.items():
        if mode not in MODES:
            raise ValueError(f"unknown curve mode {mode!r}; choose from {MODES}")
        first, last = (1, 0) if mode == "insertion" else (0, 1)
        rows[mode] = {}
        for name, rel in maps.items():
            blocks.append(perturbed_copies(model, utt, rel, percents[1:-1], mode == "insertion", fill))
            rows[mode][name] = [first, *range(count, count + inner), last]
            count += inner
    return torch.cat(blocks), rows


@torch.no_grad()
def curves(
    model: ProbeModel,
    utt: Utterance,
    relevance: Mapping[str, Mapping[str, Tensor]],
    detokenize: Detokenize,
    steps: int = 20,
    beam_size: int = 5,
    decode: bool = True,
    batch_size: int = 32,
    normalize: Normalize = as_is,
    fill: str = "model",
) -> dict[str, dict[str, tuple[Curve, Curve | None]]]:
    """The probability curve and (with ``decode``) the re-decoded text curve of each map, deleting or inserting.

    Each distinct perturbed copy is encoded once, and force-decoding the hypothesis and
    searching a new one share that encoding; the two inputs every curve shares (the utterance
    and silence) are made once for all.

    Args:
        relevance: mode -> name -> map. Modes: "deletion" zeroes the top p% cells, "insertion" restores them
            into all-zero features. Maps: (I, T, F) input-resolution or (I, T') encoder-frame; larger = more relevant.
        detokenize: text of a token list, to compare hypotheses with the reference.
        steps: levels are p = 0, 100 / steps, ..., 100 percent.
        decode: also search every copy (``model.search``) and score its text (WER or 100 - BLEU).
        batch_size: perturbed copies encoded, force-decoded and searched together; each gets the result it would
            alone.
        normalize: text normalisation of hypotheses and reference before scoring (``probes.metrics.text.normalizer``).
        fill: what removed cells become: the model's neutral value (``model``) or 0 (``zero``).
    Returns:
        mode -> name -> (100 x (1 - mean token probability), the text damage or None); deletion AUC
        higher = more faithful, insertion AUC lower = more faithful.
    """
    if not utt.tokens:
        raise ValueError(f"{utt.id}: no hypothesis tokens to score")
    percents = levels(steps)
    metric, score = text_scorer(utt, detokenize, normalize) if decode else ("", None)
    feats, rows = _copies(model, utt, relevance, percents, occlusion_value(model, utt.features, fill))  # (N, T, F)
    tokens = torch.tensor(utt.tokens, device=feats.device)  # (I,)
    probs, texts = [], []
    for chunk in feats.split(batch_size):  # (B, T, F)
        lengths = torch.full((chunk.shape[0],), chunk.shape[1], dtype=torch.long, device=chunk.device)
        enc, enc_lengths = model.encode(chunk, lengths)  # (B, T', D)
        log_probs = force_on_encoding(model, utt, enc, enc_lengths).log_probs  # (B, I, V)
        probs.append(log_probs.gather(-1, tokens.expand(chunk.shape[0], -1)[..., None]).squeeze(-1).exp())  # (B, I)
        if decode:  # right after its encode: an adapter may complete an encoding with state from that call (Whisper)
            texts += [score(detokenize(h)) for h in model.search(enc, enc_lengths, utt.prefix, beam_size)]
    damage = (100.0 * (1.0 - torch.cat(probs).mean(dim=1))).tolist()  # (N,)
    return {mode: {name: (_curve(percents, [damage[r] for r in index], "100-prob", mode == "insertion"),
                          _curve(percents, [texts[r] for r in index], metric, mode == "insertion") if decode else None)
                   for name, index in names.items()}
            for mode, names in rows.items()}
