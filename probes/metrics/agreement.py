"""Agreement between relevance maps: correlations, ground-truth word spans, baselines, summaries.

Maps are (I, T') token x encoder-frame matrices (cross-attention, pooled saliency), as torch
tensors or numpy arrays; every metric is computed in float64 numpy.

NaN policy: an undefined per-utterance metric is nan, never an exception or a made-up
number. Correlations are nan when either map is constant (mean-variance normalisation
turns it into zeros and Pearson's denominator vanishes; ranks are all tied), which is always
the case for the uniform baseline. Span mass is nan when no hypothesis token can be tied to
a ground-truth word (an unmatched utterance). ``summarize`` drops nan values and reports how
many it dropped (``Summary.skipped``), so a table can say "n = 180, 20 skipped" rather than
silently averaging fewer utterances.

Baselines: every metric also has a uniform and a random row (``baselines``). The random map
is the chance level of the correlations (about 0); the uniform map's correlations are
undefined by construction (all skipped: report them as such), but it is the chance level of
span mass (a token's share equals its span's length over T').
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from probes.interface import ProbeModel, Utterance

MapLike = Tensor | np.ndarray
Window = tuple[int, int]  # half-open range of encoder frames [start, end)

CORRELATIONS = ("pearson", "pearson_token", "spearman", "kendall")  # pearson_token: rows z-scored per token
CONSTANT_ULPS = 4  # a map whose spread is within this many ulps of its largest value is constant
SNAP_FRAMES = 1e-6  # word times this close to a frame boundary snap to it (3 * 0.04 / 0.04 != 3.0)


def _as_array(x: MapLike) -> np.ndarray:
    """float64 numpy copy of a map."""
    if isinstance(x, Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _eps(x: MapLike) -> float:
    """Machine epsilon of the map's own dtype (float64's for integers): the resolution of 'constant'."""
    if isinstance(x, Tensor):
        return torch.finfo(x.dtype).eps if x.is_floating_point() else float(np.finfo(np.float64).eps)
    dtype = np.asarray(x).dtype
    return float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else float(np.finfo(np.float64).eps)


def _centred(x: MapLike) -> tuple[np.ndarray, np.ndarray, float]:
    """The map in float64, its deviations from its mean, and their RMS (0 for a constant or empty map)."""
    a = _as_array(x)
    if a.size == 0:
        return a, a, 0.0
    centred = a - a.mean()
    scale = float(np.sqrt(np.mean(centred**2)))
    constant = scale <= CONSTANT_ULPS * _eps(x) * float(np.abs(a).max())
    return a, centred, 0.0 if constant else scale


def correlations(a: MapLike, b: MapLike) -> dict[str, float]:
    """Pearson (of the mean-variance normalised maps), Spearman and Kendall tau-b of two same-shape maps, flattened token x frame.

    All three are nan when either map is constant or has fewer than two cells (see module docstring).
    """
    x, ca, sa = _centred(a)
    y, cb, sb = _centred(b)
    if x.shape != y.shape:
        raise ValueError(f"maps differ in shape: {x.shape} vs {y.shape}")
    if x.size < 2 or sa == 0 or sb == 0:
        return dict.fromkeys(CORRELATIONS, math.nan)
    pearson = float(np.clip(np.mean((ca / sa) * (cb / sb)), -1.0, 1.0))
    return {
        "pearson": pearson,
        "pearson_token": token_pearson(x, y),
        "spearman": float(stats.spearmanr(x.ravel(), y.ravel()).statistic),
        "kendall": float(stats.kendalltau(x.ravel(), y.ravel()).statistic),
    }


def _token_z(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Each token's row z-scored over its frames (constant rows become zeros), and the count of other rows."""
    rows = x.reshape(x.shape[0], -1) if x.ndim > 1 else x[None]
    centred = rows - rows.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.mean(centred**2, axis=1, keepdims=True))  # (I, 1)
    live = scale[:, 0] > CONSTANT_ULPS * np.finfo(np.float64).eps * np.abs(rows).max(axis=1)
    return np.where(live[:, None], centred / np.where(live[:, None], scale, 1.0), 0.0), int(live.sum())


def token_pearson(a: MapLike, b: MapLike) -> float:
    """Pearson of two maps after z-scoring each token's row on its own, as the released SPES evaluation normalises.

    Every token then weighs the same, whatever its map's offset or spread (max pooling gives each
    token an offset of its own); with no constant row it is the mean over tokens of their rows'
    Pearson. Constant rows are left out; nan when either map has no non-constant row.
    """
    za, na = _token_z(_as_array(a))
    zb, nb = _token_z(_as_array(b))
    if za.shape != zb.shape:
        raise ValueError(f"maps differ in shape: {za.shape} vs {zb.shape}")
    if na == 0 or nb == 0:
        return math.nan
    return float(np.clip((za * zb).sum() / (za.shape[1] * math.sqrt(na * nb)), -1.0, 1.0))


@dataclass(frozen=True)
class Summary:
    """Mean over utterances with a t-distribution confidence interval; nan values skipped and counted."""

    mean: float
    ci_low: float
    ci_high: float
    n: int  # values averaged
    std: float  # sample standard deviation (ddof = 1)
    skipped: int = 0  # nan values left out


def summarize(values: Iterable[float], confidence: float = 0.95) -> Summary:
    """Mean, ``confidence`` interval from Student's t (nan bounds and std when n < 2), skipping nan values."""
    a = np.asarray(list(values), dtype=np.float64)
    kept = a[~np.isnan(a)]
    n, skipped = int(kept.size), int(a.size - kept.size)
    mean = float(kept.mean()) if n else math.nan
    if n < 2:
        return Summary(mean, math.nan, math.nan, n, math.nan, skipped)
    std = float(kept.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return Summary(mean, mean - half, mean + half, n, std, skipped)


def word_spans_to_frames(
    words: Sequence[tuple[str, float, float]], frames: int, seconds_per_frame: float
) -> list[Window]:
    """Encoder-frame window of each (word, start s, end s): the frames it overlaps, at least one, within [0, frames)."""
    if frames < 1:
        raise ValueError("an utterance needs at least one encoder frame")
    spans = []
    for _, start, end in words:
        first = min(max(math.floor(start / seconds_per_frame + SNAP_FRAMES), 0), frames - 1)
        stop = min(max(math.ceil(end / seconds_per_frame - SNAP_FRAMES), first + 1), frames)
        spans.append((first, stop))
    return spans


def _normal(word: str) -> str:
    """Case- and punctuation-insensitive form under which words match."""
    return "".join(c for c in word.casefold() if c.isalnum())


def match_words(hypothesis: Sequence[str], reference: Sequence[str]) -> dict[int, int]:
    """Hypothesis word index -> reference word index, for the words a sequence alignment pairs as equal.

    ``difflib.SequenceMatcher`` (no autojunk) on case- and punctuation-folded words: monotone
    matching blocks of equal words. Substituted, inserted and deleted words stay unmatched, as
    do words that are pure punctuation.
    """
    hyp, ref = [_normal(w) for w in hypothesis], [_normal(w) for w in reference]
    matcher = difflib.SequenceMatcher(None, hyp, ref, autojunk=False)
    pairs = {block.a + k: block.b + k for block in matcher.get_matching_blocks() for k in range(block.size)}
    return {h: r for h, r in pairs.items() if hyp[h]}


def token_spans(model: ProbeModel, utt: Utterance, frames: int) -> list[list[Window]]:
    """Ground-truth encoder-frame windows of each of the I hypothesis tokens (empty: token not scored).

    Hypothesis words (``model.word_groups``) are matched to reference words (``match_words``);
    every token of a matched word gets that word's windows, tokens of unmatched words none.
    ASR: the reference words are ``utt.words`` and a word's window is its own time span. ST:
    the reference words are ``utt.tgt_words`` and a target word's windows are the spans of the
    source words ``utt.alignment`` pairs with it (none if it has no aligned source word).
    """
    if utt.words is None:
        raise ValueError(f"{utt.id}: no ground-truth word times")
    source = word_spans_to_frames(utt.words, frames, model.subsampling / model.frames_per_second)
    if utt.task == "st":
        if utt.alignment is None or utt.tgt_words is None:
            raise ValueError(f"{utt.id}: an ST utterance needs alignment and tgt_words")
        reference = list(utt.tgt_words)
        windows = [sorted({source[s] for s, t in utt.alignment if t == k}) for k in range(len(reference))]
    else:
        reference = [word for word, _, _ in utt.words]
        windows = [[span] for span in source]
    groups = model.word_groups(utt.tokens)
    spans: list[list[Window]] = [[] for _ in utt.tokens]
    for h, r in match_words([word for word, _ in groups], reference).items():
        for i in groups[h][1]:
            spans[i] = windows[r]
    return spans


def _inside(windows: Sequence[Window], frames: int) -> np.ndarray:
    """(T',) bool mask of the frames inside any of ``windows`` (overlaps count once)."""
    cells = np.zeros(frames, dtype=bool)
    for start, stop in windows:
        cells[start:stop] = True
    return cells


def mass_in_span(relevance: MapLike, spans: Sequence[Sequence[Window]]) -> np.ndarray:
    """Share of each token's relevance mass inside its windows: (I, T') map, I window lists -> (I,).

    Negative relevance is clipped to 0 first: mass is where the map points, and a negative
    cell (evidence against the token, in signed attributions) must not inflate a share
    beyond 1. Overlapping windows count once. A token with no windows or no positive mass is nan.
    """
    a = np.clip(_as_array(relevance), 0.0, None)
    if a.ndim != 2 or a.shape[0] != len(spans):
        raise ValueError(f"expected an (I, T') map with I = {len(spans)} tokens, got shape {a.shape}")
    shares = np.full(a.shape[0], math.nan)
    for i, windows in enumerate(spans):
        total = a[i].sum()
        if windows and total > 0:
            shares[i] = a[i, _inside(windows, a.shape[1])].sum() / total
    return shares


def span_mass(relevance: MapLike, spans: Sequence[Sequence[Window]]) -> float:
    """Mean ``mass_in_span`` over the scored tokens of one utterance; nan when none is scored."""
    shares = mass_in_span(relevance, spans)
    scored = shares[~np.isnan(shares)]
    return float(scored.mean()) if scored.size else math.nan


def linear_span_parts(relevance: MapLike, spans: Sequence[Sequence[Window]]) -> dict[str, float] | None:
    """The two linear sums behind the linear true-span share of one map, in units of its absolute mass.

    ``inside``: the sum of each scored token's cells inside its own windows; ``net``: the sum of all
    the scored tokens' cells; both divided by the sum of those cells' absolute values, so that every
    utterance weighs alike whatever the scale of its relevance. Nothing is clipped: a noisy estimate of
    a map (SPES with few masks) whose noise has mean zero adds noise of mean zero to both sums, where
    clipping turns noise outside the words into mass; give it a linearly pooled map (``avg2d``), not a
    max-pooled one. ``inside / net`` is the utterance's own share, but ``net`` can be near 0 (a map whose
    positive and negative relevance cancel), so shares are pooled over utterances (``linear_share``),
    never averaged. For maps whose rows are non-negative (CA) ``net`` is 1. None when no token is scored
    or the map is 0 on the scored tokens.
    """
    a = _as_array(relevance)
    if a.ndim != 2 or a.shape[0] != len(spans):
        raise ValueError(f"expected an (I, T') map with I = {len(spans)} tokens, got shape {a.shape}")
    scored = [i for i, windows in enumerate(spans) if windows]
    if not scored or (mass := float(np.abs(a[scored]).sum())) == 0:
        return None
    inside = sum(float(a[i, _inside(spans[i], a.shape[1])].sum()) for i in scored)
    return {"inside": inside / mass, "net": float(a[scored].sum()) / mass}


def _pooled(*parts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Sum of ``inside`` over sum of ``net`` (``parts``: inside, net), minus the same of a second pair when given."""
    share = parts[0].sum(axis) / parts[1].sum(axis)
    return share - parts[2].sum(axis) / parts[3].sum(axis) if len(parts) == 4 else share


def _residuals(*parts: np.ndarray) -> np.ndarray:
    """Each utterance's linearised contribution to ``_pooled``: (inside - share * net) / mean net, pairs subtracted."""
    pairs = [(parts[k], parts[k + 1]) for k in range(0, len(parts), 2)]
    (first, *rest) = [(inside - _pooled(inside, net) * net) / net.mean() for inside, net in pairs]
    return first - rest[0] if rest else first


def linear_share(parts: Sequence[Any], minus: Sequence[Any] | None = None, confidence: float = 0.95,
                 resamples: int = 9999) -> Summary:
    """The linear true-span share of utterances (their ``linear_span_parts``), pooled: sum of ``inside`` over sum of
    ``net``, with a percentile bootstrap interval over utterances (fixed seed: the same parts give the same summary).

    With ``minus``, the same utterances' parts of another map (or run), the paired difference of the two pooled shares.
    Utterances lacking parts (None, as ``probes.records.upgrade`` reads the bare ratios of older records) are skipped
    and counted. ``std`` is the standard deviation of the utterances' linearised contributions (the ratio estimator's),
    so that std / sqrt(n) is the standard error, as for a mean; the interval is the bootstrap's, which follows a ratio's
    skew. The share is nan when the pooled ``net`` is not positive.
    """
    others = minus if minus is not None else [{}] * len(parts)
    kept = [(p, q) for p, q in zip(parts, others, strict=True) if isinstance(p, Mapping) and isinstance(q, Mapping)]
    n, skipped = len(kept), len(parts) - len(kept)
    columns = [np.array([p[k] for p, _ in kept], dtype=np.float64) for k in ("inside", "net")]
    if minus is not None:
        columns += [np.array([q[k] for _, q in kept], dtype=np.float64) for k in ("inside", "net")]
    if not n or any(c.sum() <= 0 for c in columns[1::2]):
        return Summary(math.nan, math.nan, math.nan, n, math.nan, skipped)
    estimate = float(_pooled(*columns))
    if n < 2:
        return Summary(estimate, math.nan, math.nan, n, math.nan, skipped)
    boot = stats.bootstrap(columns, _pooled, paired=True, vectorized=True, confidence_level=confidence,
                           n_resamples=resamples, method="percentile", random_state=np.random.default_rng(0))
    low, high = boot.confidence_interval
    return Summary(estimate, float(low), float(high), n, float(_residuals(*columns).std(ddof=1)), skipped)


def agreement(relevance: MapLike, target: MapLike, spans: Sequence[Sequence[Window]] | None = None) -> dict[str, float]:
    """Every per-utterance metric of one map: correlations with ``target`` and, given token spans, ``span_mass``."""
    scores = correlations(relevance, target)
    if spans is not None:
        scores["span_mass"] = span_mass(relevance, spans)
    return scores


def uniform_map(tokens: int, frames: int) -> Tensor:
    """(I, T') map whose every row is uniform over the frames (sums to 1, like a CA row)."""
    return torch.full((tokens, frames), 1.0 / frames)


def random_map(tokens: int, frames: int, generator: torch.Generator) -> Tensor:
    """(I, T') map of uniform random values, each row normalised to sum to 1."""
    values = torch.rand(tokens, frames, generator=generator)  # (I, T')
    return values / values.sum(dim=1, keepdim=True)


def baselines(
    target: MapLike, generator: torch.Generator, spans: Sequence[Sequence[Window]] | None = None
) -> dict[str, dict[str, float]]:
    """``agreement`` of a uniform and a random map of ``target``'s shape: {"uniform": {...}, "random": {...}}."""
    tokens, frames = target.shape
    return {
        "uniform": agreement(uniform_map(tokens, frames), target, spans),
        "random": agreement(random_map(tokens, frames, generator), target, spans),
    }
