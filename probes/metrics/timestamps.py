"""Word timestamps from cross-attention (Whisper-style DTW) or a CTC head, scored against ground truth.

A token x frame map (I, T') - the CA of chosen heads, or a saliency map pooled to encoder
frames - is turned into word times much as Whisper does: standardise the map, median-filter
it along time, average the heads, and find the cheapest monotonic token -> frame path
through -map. A word spans its tokens' frames without its leading and trailing punctuation
tokens, as Whisper's word times do (its timing.py gives punctuation its own word, then merges
it into the neighbour's text, not its time): a cased, punctuated hypothesis's final "." would
otherwise carry the utterance's trailing silence into the last word (Whisper tiny.en on our
natural voice: last-word end error 367 -> 112 ms). Differences from Whisper, all deliberate:

- Each token's row is standardised over frames; Whisper standardises each frame's column
  over the tokens (its sequence's prompt and end-of-text rows included). On Whisper tiny.en
  the two give word times within 1-4 ms of each other (mean boundary error).

- The path is time-synchronous: every frame belongs to exactly one token (or to silence) and
  every token gets at least one frame, so token spans are disjoint half-open frame ranges and
  a map needs I <= T'. Whisper's DTW may also put several tokens on one frame; at 25 encoder
  frames per second a hypothesis practically never has more tokens than frames.
- ``silence`` (off by default, as in Whisper) adds an optional silence state before, between
  and after tokens, worth ``silence`` in standardised units per frame. Whisper has rows for
  its prompt and end-of-text tokens to absorb edge silence; our maps hold only the
  hypothesis tokens, so without it the first word starts at frame 0, the last ends at T' and
  pauses are given to a neighbouring word.

Times are in seconds: frame f starts at f * subsampling / frames_per_second.
Shapes: L decoder layers, H heads, I tokens, T' encoder frames, V vocabulary.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from typing import Sequence

import numpy as np
import torch
import torchaudio.functional as AF
from scipy.ndimage import median_filter
from torch import Tensor

from probes.interface import ProbeModel, Utterance
from probes.metrics.agreement import match_words

log = logging.getLogger(__name__)

WordTime = tuple[str, float, float]  # (word, start s, end s)
Head = tuple[int, int]  # (layer, head), 1-based


# --- the map -> path -> spans pipeline -------------------------------------------------------


def normalise(weights: Tensor | np.ndarray, filter_width: int = 7) -> np.ndarray:
    """Standardise each token's row over frames, then median-filter it along time: (..., I, T') -> same.

    A constant row becomes zeros. ``filter_width`` 1 leaves the standardised map as it is;
    a peak narrower than (filter_width + 1) / 2 frames is flattened by the filter (Whisper's
    7 was chosen for 50 frames per second; our encoders run at 25, so 3 may suit them better).
    """
    if filter_width < 1:
        raise ValueError(f"filter_width must be at least 1, got {filter_width}")
    w = weights.detach().cpu().double().numpy() if isinstance(weights, Tensor) else np.asarray(weights, float)
    std = w.std(axis=-1, keepdims=True)
    z = (w - w.mean(axis=-1, keepdims=True)) / np.where(std > 0, std, 1.0)  # (..., I, T')
    return median_filter(z, size=(1,) * (z.ndim - 1) + (filter_width,), mode="nearest")


def dtw(cost: np.ndarray, silence: float | None = None) -> np.ndarray:
    """Cheapest monotonic token path through a (..., I, T') cost: the token of every frame (..., T').

    Time advances one frame per step; the token stays or moves to the next, so each token
    owns a non-empty run of frames, token 0 the first and token I-1 the last. With
    ``silence`` (a score, costing -silence per frame) frames may also belong to silence,
    marked -1, before, between and after tokens. This is CTC's forced alignment with token i
    as class i + 1 and silence as the blank, so torchaudio's ``forced_align`` finds the path
    (tests/probes/test_timestamps.py checks it against every path of small maps).
    """
    *lead, n_tokens, t = cost.shape
    if n_tokens == 0 or n_tokens > t:
        raise ValueError(f"need 1 <= tokens <= frames for a monotonic path, got {n_tokens} tokens, {t} frames")
    c = torch.from_numpy(np.ascontiguousarray(cost, dtype=np.float64)).reshape(-1, n_tokens, t)  # (N, I, T')
    scores = torch.empty(c.shape[0], t, n_tokens + 1, dtype=torch.float64)  # (N, T', 1 + I) per-frame log-scores
    scores[..., 0] = -math.inf if silence is None else float(silence)
    scores[..., 1:] = -c.transpose(1, 2)
    targets = torch.arange(1, n_tokens + 1)[None]  # (1, I): every token once, in order
    path = torch.stack([AF.forced_align(s[None], targets, blank=0)[0][0] for s in scores]) - 1  # (N, T'), silence -1
    return path.numpy().reshape(*lead, t)


def spans(path: np.ndarray, n_tokens: int) -> np.ndarray:
    """Half-open frame range [start, end) of every token on a (..., T') path: (..., I, 2)."""
    t = path.shape[-1]
    owns = path[..., None, :] == np.arange(n_tokens)[:, None]  # (..., I, T')
    start = owns.argmax(axis=-1)
    end = t - owns[..., ::-1].argmax(axis=-1)
    return np.stack((start, end), axis=-1)


def seconds_per_frame(model: ProbeModel) -> float:
    """Duration of one encoder frame in seconds."""
    return model.subsampling / model.frames_per_second


def is_punctuation(model: ProbeModel, token: int) -> bool:
    """Whether a token's text is only punctuation (Unicode category P*), spaces aside."""
    text = model.detokenize([token]).strip()
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


def spoken(model: ProbeModel, tokens: Sequence[int], members: Sequence[int]) -> Sequence[int]:
    """A word's token indices without its leading and trailing punctuation (all of them if it is only punctuation)."""
    keep = [k for k, i in enumerate(members) if not is_punctuation(model, tokens[i])]
    return members[keep[0]: keep[-1] + 1] if keep else members


def to_words(model: ProbeModel, tokens: Sequence[int], token_spans: np.ndarray) -> list[WordTime]:
    """Words of ``tokens`` with times from their tokens' (I, 2) frame spans: the first spoken token's start, the last's end."""
    sec = seconds_per_frame(model)
    words = [(word, spoken(model, tokens, idx)) for word, idx in model.word_groups(tokens)]
    return [(word, float(token_spans[idx[0], 0]) * sec, float(token_spans[idx[-1], 1]) * sec) for word, idx in words]


def word_times(model: ProbeModel, tokens: Sequence[int], weights: Tensor | np.ndarray, filter_width: int = 7,
               silence: float | None = None) -> list[WordTime]:
    """Word times from a token x frame map (..., I, T'), leading dims (heads) averaged after normalising.

    The map must cover only the utterance's valid encoder frames (slice off padding).
    """
    if not tokens:
        return []
    z = normalise(weights, filter_width)  # (..., I, T')
    score = z.reshape(-1, *z.shape[-2:]).mean(axis=0)  # (I, T')
    return to_words(model, tokens, spans(dtw(-score, silence), len(tokens)))


def even_word_times(model: ProbeModel, tokens: Sequence[int], frames: int) -> list[WordTime]:
    """The uniform-attention baseline: tokens spread evenly over the ``frames`` encoder frames."""
    edges = np.linspace(0, frames, len(tokens) + 1).round().astype(int)  # (I + 1,)
    return to_words(model, tokens, np.stack([edges[:-1], edges[1:]], axis=1))


def pick_heads(ca: Tensor, heads: Sequence[Head] | None = None) -> Tensor:
    """The maps (K, I, T') of 1-based (layer, head)s of a CA tensor (L, H, I, T'); all heads if None."""
    if heads is None:
        return ca.flatten(0, 1)
    return torch.stack([ca[layer - 1, head - 1] for layer, head in heads])


# --- CTC forced alignment --------------------------------------------------------------------


@torch.no_grad()
def ctc_word_times(model: ProbeModel, utt: Utterance) -> list[WordTime] | None:
    """Word times of ``utt``'s hypothesis by CTC forced alignment, or None if there is no CTC head or no path.

    A token's span is the frames its label occupies on the best CTC path (blanks excluded),
    so CTC's peaky spikes give words that end early: a span is often one frame.
    """
    lengths = torch.tensor([utt.num_frames], device=utt.features.device)
    out = model.ctc_log_probs(utt.features[None], lengths)
    if out is None or model.blank_id is None:
        return None
    log_probs, ctc_lengths = out
    log_probs = log_probs[:, : int(ctc_lengths[0])].float().cpu()  # (1, T', V)
    if not utt.tokens:
        return []
    reason = _unalignable(utt.tokens, log_probs.shape[1], model.blank_id)
    if reason:
        log.warning("utterance %s: no CTC alignment, %s", utt.id, reason)
        return None
    tokens = torch.tensor([utt.tokens], dtype=torch.int32)  # (1, I)
    labels, scores = AF.forced_align(log_probs, tokens, blank=model.blank_id)  # (1, T') each
    token_spans = AF.merge_tokens(labels[0], scores[0].exp(), blank=model.blank_id)
    return to_words(model, utt.tokens, np.array([(span.start, span.end) for span in token_spans]))


def _unalignable(tokens: Sequence[int], frames: int, blank: int) -> str:
    """Why CTC cannot align ``tokens`` to ``frames`` frames, or '' if it can."""
    if blank in tokens:
        return f"the hypothesis contains the blank id {blank}"
    repeats = sum(a == b for a, b in zip(tokens, tokens[1:]))  # each needs a blank between its copies
    if len(tokens) + repeats > frames:
        return f"{len(tokens)} tokens with {repeats} repeats need more than {frames} frames"
    return ""


# --- scoring against ground truth ------------------------------------------------------------


def boundary_errors(predicted: Sequence[WordTime], reference: Sequence[WordTime]) -> np.ndarray:
    """Absolute start and end errors in seconds (M, 2) of the M predicted words matched to reference words.

    Equal counts pair words in order; otherwise words are matched by their text (``probes.metrics.agreement.match_words``).
    """
    if len(predicted) == len(reference):
        pairs = list(zip(predicted, reference))
    else:
        matched = match_words([w[0] for w in predicted], [w[0] for w in reference])
        pairs = [(predicted[h], reference[r]) for h, r in sorted(matched.items())]
    errors = [(abs(p[1] - r[1]), abs(p[2] - r[2])) for p, r in pairs]
    return np.array(errors, dtype=float).reshape(-1, 2)


def score_word_times(predicted: Sequence[WordTime], reference: Sequence[WordTime],
                     tolerance_ms: float = 100.0) -> dict[str, float]:
    """Boundary errors of matched words: MAE in ms (start, end, both), share within tolerance, matched/total.

    Keys: mae_start_ms, mae_end_ms, mae_ms, within (share of start and end boundaries within
    ``tolerance_ms``), tolerance_ms, matched (matched words), total (reference words). Errors are
    NaN when no word matched.
    """
    ms = boundary_errors(predicted, reference) * 1000.0  # (M, 2)
    empty = ms.size == 0
    return {
        "mae_start_ms": float("nan") if empty else float(ms[:, 0].mean()),
        "mae_end_ms": float("nan") if empty else float(ms[:, 1].mean()),
        "mae_ms": float("nan") if empty else float(ms.mean()),
        "within": float("nan") if empty else float((ms <= tolerance_ms + 1e-6).mean()),  # 1e-6: rounding of float seconds
        "tolerance_ms": float(tolerance_ms),
        "matched": float(len(ms)),
        "total": float(len(reference)),
    }
