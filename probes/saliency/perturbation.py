"""Occlusion saliency machinery shared by SPES (input filterbank) and encoder-output saliency.

A perturbation method cuts its input into C *cells* (filterbank pixels, or (encoder frame,
dimension group) blocks), draws random keep-masks over them, zeroes the occluded cells, and
force-decodes the hypothesis on each perturbed copy. Every mask m gets one score per token,
KL(p_i || p_i^m), and the saliency of cell c for token i is the mean score of token i over
the masks that occluded c (0 if no mask did):

    S[i, c] = sum_m score[m, i] * occluded[m, c] / sum_m occluded[m, c]

This is SPES's estimator (``estimator="occluded"``). Every cell carries a per-token
baseline (the token's average score, which masks occluding unrelated cells still earn), and
that baseline differs between tokens, which blurs token x frame correlations. The
``"contrast"`` estimator subtracts the mean score of the masks that *kept* the cell:

    S[i, c] = mean_{m occludes c} score[m, i] - mean_{m keeps c} score[m, i]

an unbiased estimate of how much occluding c raises token i's score. Unrelated cells get
0 in expectation, and the shared mask noise cancels (a control variate), so fewer masks
reach a stable map (``experiments/saliency_convergence.py`` measures it). Its values can
be negative (occluding the cell made the token more certain).

Both see one cell at a time: everything the other occluded cells did to the score is noise to
them, so their maps need several masks per cell. The ``"ridge"`` estimator uses every mask for
every cell: it fits each token's scores with one additive model over the masking units,

    score[m, i] = b_i + sum_u w[i, u] * occluded[m, u] + noise,

by ridge regression, the penalty chosen per token by generalised cross-validation (GCV). Each
mask then tells about all units at once, so a unit's estimate no longer carries the others'
effects; with more masks than units and a small penalty it is the least-squares estimate
(unbiased for an additive score), with fewer it shrinks toward the contrast estimator's
direction. It is fitted per *design*: the units one family of masks is drawn over (one SLIC
granularity, or the encoder frames), and a cell takes the mean of its units' estimates over
the designs, as SPES averages its granularities.

The masks of each design (bits) and their scores (N x I floats) are kept until the end, so one
set of scored masks serves every estimator (``estimate``), and batch sizes do not change the
result beyond float rounding.

Shapes: M masks in a batch, N masks in total, U units of a design, C cells, I explained tokens,
V vocabulary.
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import Callable, Iterable, NamedTuple, Sequence

import torch
from torch import Tensor

from probes.metrics.agreement import token_pearson

log = logging.getLogger(__name__)

Progress = Callable[[int], object]  # called with the number of masks just scored (tqdm's ``update``)
ESTIMATORS = ("occluded", "contrast", "ridge")
PRECISIONS = ("fp32", "bf16")  # of the model passes on perturbed inputs (scores and maps stay float32 or wider)
Batch = tuple[int, Tensor]  # (design index, (M, U) bool keep-masks over that design's units)


def check_estimator(estimator: str) -> None:
    """Reject an unknown estimator name."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; choose one of {ESTIMATORS}")


def check_precision(precision: str) -> None:
    """Reject an unknown precision name."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")


def passes_in(precision: str, device: torch.device | str) -> contextlib.AbstractContextManager:
    """Where the model's passes run: bfloat16 autocast for ``bf16`` (matrix products in bfloat16), else as they are."""
    check_precision(precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def keep_masks(count: int, cells: int, keep_prob: float, generator: torch.Generator,
               antithetic: bool = False) -> Tensor:
    """``count`` masks keeping each of ``cells`` cells with probability ``keep_prob``.

    Args:
        count: N, number of masks.
        cells: number of maskable units (segments, cells).
        keep_prob: probability that a unit is kept (left untouched).
        generator: CPU generator the draws come from, for reproducibility.
        antithetic: draw N/2 masks and follow each by its complement (needs ``keep_prob`` 0.5),
            so that every unit is occluded in exactly half of the masks.

    Returns:
        (N, cells) bool on CPU, True = kept.
    """
    if not antithetic:
        return torch.rand(count, cells, generator=generator) < keep_prob
    if keep_prob != 0.5:
        raise ValueError(f"antithetic masks need keep_prob 0.5 (a complement keeps 1 - p), got {keep_prob}")
    half = torch.rand((count + 1) // 2, cells, generator=generator) < keep_prob  # (ceil(N/2), cells)
    return torch.stack([half, ~half], dim=1).flatten(0, 1)[:count]  # mask, complement, mask, ...


def kl_per_token(log_probs: Tensor, original: Tensor) -> Tensor:
    """KL(p_i || p_i^m) of each mask m and token i: (M, I, V) perturbed, (I, V) original -> (M, I)."""
    p = original.exp()  # (I, V)
    terms = p * (original - log_probs)  # (M, I, V)
    return torch.where(p > 0, terms, torch.zeros_like(terms)).sum(dim=-1)  # 0 log 0 = 0


class OcclusionAccumulator:
    """Running per-cell sums of the scores of the masks that occluded each cell, and their count."""

    def __init__(self, tokens: int, cells: int, device: torch.device | str = "cpu") -> None:
        """Empty totals for ``tokens`` tokens over ``cells`` cells (float64, so long runs stay exact)."""
        self.score_sums = torch.zeros(tokens, cells, dtype=torch.float64, device=device)  # (I, C)
        self.occlusions = torch.zeros(cells, dtype=torch.float64, device=device)  # (C,)
        self.total_scores = torch.zeros(tokens, 1, dtype=torch.float64, device=device)  # (I, 1) over all masks
        self.masks = 0

    def add(self, keep: Tensor, scores: Tensor) -> None:
        """Add a batch: ``keep`` (M, C) bool masks (True = kept) and their ``scores`` (M, I)."""
        occluded = (~keep).to(self.score_sums)  # (M, C)
        self.score_sums += scores.to(self.score_sums).T @ occluded  # (I, C)
        self.occlusions += occluded.sum(dim=0)
        self.total_scores += scores.to(self.score_sums).sum(dim=0)[:, None]
        self.masks += keep.shape[0]

    def saliency(self, estimator: str = "occluded") -> Tensor:
        """(I, C) float32 map of an estimator (module docstring); 0 where no mask occluded (or kept) a cell."""
        check_estimator(estimator)
        occluded = self.score_sums / self.occlusions.clamp(min=1.0)  # never-occluded cells have a 0 sum
        if estimator == "occluded":
            return occluded.float()
        kept_count = self.masks - self.occlusions  # (C,)
        kept = (self.total_scores - self.score_sums) / kept_count.clamp(min=1.0)  # (I, C)
        both = (self.occlusions > 0) & (kept_count > 0)
        return torch.where(both, occluded - kept, torch.zeros_like(occluded)).float()


def ridge_fit(occluded: Tensor, scores: Tensor, grid: int = 25) -> Tensor:
    """Ridge regression of each token's scores on the occluded units, the penalty chosen per token by GCV.

    Works in the smaller of the two Gram matrices (masks x masks, or units x units), so its
    cost is that of one symmetric eigendecomposition of size min(N, U).

    Args:
        occluded: (N, U) 0/1, 1 where the mask occluded the unit.
        scores: (N, I) per-token scores of the masks.
        grid: penalties tried, log-spaced from 1e-6 to 1e2 times the mean eigenvalue.

    Returns:
        (I, U) float64 coefficients: the score a token gains when the unit is occluded.
    """
    z = occluded.double() - occluded.double().mean(dim=0)  # (N, U), centred: the intercept is free
    y = scores.double() - scores.double().mean(dim=0)  # (N, I)
    n, u = z.shape
    if n <= u:
        d, left = torch.linalg.eigh(z @ z.T)  # (r,), (N, r)
        keep = d > 1e-9 * d.max().clamp(min=1e-300)
        d, left = d[keep], left[:, keep]
        s = d.sqrt()
        right = (z.T @ left) / s  # (U, r)
        proj = left.T @ y  # (r, I)
    else:
        d, right = torch.linalg.eigh(z.T @ z)  # (r,), (U, r)
        keep = d > 1e-9 * d.max().clamp(min=1e-300)
        d, right = d[keep], right[:, keep]
        s = d.sqrt()
        proj = (right.T @ (z.T @ y)) / s[:, None]  # (r, I): y in the left singular basis
    outside = (y.square().sum(dim=0) - proj.square().sum(dim=0)).clamp(min=0)  # (I,) residual no penalty moves
    penalties = d.mean() * torch.logspace(-6, 2, grid, dtype=torch.float64)  # (L,)
    shrink = penalties[:, None] / (d[None, :] + penalties[:, None])  # (L, r)
    rss = (shrink.square() @ proj.square()) + outside  # (L, I)
    dof = (1 - shrink).sum(dim=1, keepdim=True)  # (L, 1) effective parameters
    gcv = rss / (n - dof).clamp(min=1e-9).square()  # (L, I)
    best = penalties[gcv.argmin(dim=0)]  # (I,)
    coef = s[:, None] / (d[:, None] + best[None, :]) * proj  # (r, I)
    return (right @ coef).T  # (I, U)


def estimate(designs: Sequence[Tensor], keeps: Sequence[Tensor], scores: Sequence[Tensor], estimator: str) -> Tensor:
    """A saliency map from scored masks, by one estimator (module docstring).

    Args:
        designs: per design, the (C,) long unit of every cell.
        keeps: per design, (N_d, U_d) bool keep-masks over its units (N_d may be 0).
        scores: per design, (N_d, I) per-token scores of those masks.
        estimator: "occluded", "contrast" or "ridge".

    Returns:
        (I, C) float32 map on the scores' device. Occluded and contrast pool every design's
        masks cell by cell; ridge fits each design on its units and averages the designs.
    """
    check_estimator(estimator)
    found = [(labels, k, y) for labels, k, y in zip(designs, keeps, scores) if k.shape[0]]
    if estimator == "ridge":
        maps = [ridge_fit(~k, y)[:, labels.to(k.device)] for labels, k, y in found]  # (I, C) each
        return torch.stack(maps).mean(dim=0).float().to(scores[0].device)
    accumulator = OcclusionAccumulator(scores[0].shape[1], designs[0].numel(), scores[0].device)
    for labels, k, y in found:
        for chunk, chunk_scores in zip(k.split(256), y.split(256)):  # (256, C) at a time: cells can be many
            accumulator.add(chunk[:, labels.to(k.device)], chunk_scores)
    return accumulator.saliency(estimator)


def score_masks(log_probs_of: Callable[[Tensor], Tensor], original: Tensor, keep_batches: Iterable[Batch],
                designs: Sequence[Tensor], progress: Progress | None = None) -> tuple[list[Tensor], list[Tensor]]:
    """Force-decode every batch of masks and score each token by KL: per design, (keep-masks, scores).

    Args:
        log_probs_of: maps a batch of cell keep-masks (M, C) bool to the log-probabilities
            (M, I, V) of the hypothesis on the correspondingly occluded input.
        original: (I, V) log-probabilities on the unperturbed input.
        keep_batches: (design, (M, U) keep-masks over that design's units), any batch sizes.
        designs: per design, the (C,) long unit of every cell (SLIC labels; ``arange(C)`` when
            cells are the units).
        progress: called with M after each batch.

    Returns:
        per design, (N_d, U_d) bool keep-masks and (N_d, I) float scores, in draw order.
    """
    keeps: list[list[Tensor]] = [[] for _ in designs]
    scored: list[list[Tensor]] = [[] for _ in designs]
    for design, keep_units in keep_batches:
        keep_units = keep_units.to(original.device)
        keep = keep_units[:, designs[design].to(original.device)]  # (M, C)
        keeps[design].append(keep_units)
        scored[design].append(kl_per_token(log_probs_of(keep), original))  # (M, I)
        if progress is not None:
            progress(keep.shape[0])
    empty = original.new_zeros(0, original.shape[0])
    return ([torch.cat(k) if k else torch.zeros(0, int(d.max()) + 1, dtype=torch.bool) for k, d in zip(keeps, designs)],
            [torch.cat(y) if y else empty for y in scored])


class Estimate(NamedTuple):
    """An occlusion map, the masks it cost and how well it reproduces."""

    map: Tensor  # (I, C) float32
    masks: int  # masks scored
    reliability: float  # split-half reliability (``split_half_reliability``); nan with fewer than 4 masks
    rounds: tuple[tuple[int, float], ...] = ()  # (masks, split-half reliability) at each check of an adaptive budget
    trail: tuple[Tensor, ...] = ()  # the (I, C) map at each of those checks, the last one ``map``


def split_half_reliability(designs: Sequence[Tensor], keeps: Sequence[Tensor], scores: Sequence[Tensor],
                           estimator: str) -> float:
    """How well the map of all these masks would reproduce with new masks, from the masks alone.

    The masks are split in two halves (alternate pairs, so that an antithetic mask stays with its
    complement), each half gives a map, and the two maps' per-token Pearson r (``token_pearson``)
    is stepped up to the full count by Spearman-Brown, 2r / (1 + r): the expected correlation of
    two maps of the full count from independent masks. nan with fewer than 4 masks in a design.
    """
    if min(k.shape[0] for k in keeps if k.shape[0]) < 4:
        return float("nan")
    halves = []
    for half in (0, 1):
        picks = [torch.arange(k.shape[0], device=k.device) // 2 % 2 == half for k in keeps]
        halves.append(estimate(designs, [k[p] for k, p in zip(keeps, picks)], [y[p] for y, p in zip(scores, picks)],
                               estimator))
    r = token_pearson(*halves)
    return 2 * r / (1 + r) if r > 0 else r


def rounds_to_add(rounds: int, reliability: float, target: float, room: int | None = None, margin: float = 1.1) -> int:
    """Rounds of masks to add to ``rounds`` whose map reproduces at ``reliability`` for it to reach ``target``, at most
    ``room`` (what the cap leaves); none once it has reached it.

    Spearman-Brown: a map of k times the masks reproduces at k r / (1 + (k - 1) r), so the target needs
    k = target (1 - r) / (r (1 - target)); ``margin`` more, as the prediction came out up to 0.006 above the
    measured reliability when maps doubled from 65,536 to 131,072 masks (experiments/budget_rule.py). Below the
    target at least one round, at most ``rounds`` (the masks double): far from the target the prediction is
    least sure, and doubling costs at most as much as all the masks so far. Near the target this stops a map
    at 0.89 for 0.9 from doubling its masks.
    """
    if reliability >= target:
        return 0
    wanted = rounds
    if reliability > 0:  # else nan (too few masks) or no signal yet: double
        factor = target * (1 - reliability) / (reliability * (1 - target)) * margin
        wanted = max(1, min(rounds, math.ceil(rounds * factor) - rounds))
    return wanted if room is None else min(wanted, room)


def occlusion_saliency(
    log_probs_of: Callable[[Tensor], Tensor],
    original: Tensor,
    draw: Callable[[], Iterable[Batch]],
    designs: Sequence[Tensor],
    progress: Progress | None = None,
    estimator: str = "occluded",
    target: float | None = None,
    max_masks: int = 0,
) -> Estimate:
    """Score masks (``score_masks``) and estimate a saliency map from them (``estimate``), with its reliability.

    Args:
        log_probs_of, original, designs, progress: as for ``score_masks``.
        draw: draws the next round of masks, as (design, (M, U) keep-masks) batches.
        estimator: "occluded", "contrast" or "ridge" (module docstring).
        target: with a target, rounds of masks are added until the split-half reliability reaches
            it (``rounds_to_add``: the masks double, or grow less when fewer should reach the target).
            None: one round.
        max_masks: with a target, no more masks than this (whole rounds only).

    Returns:
        the (I, C) float32 map on ``original``'s device, the masks spent and the reliability reached (with a target,
        also the masks, reliability and map at each check, so that what a smaller budget gives is known too).
    """
    check_estimator(estimator)
    keeps, scores = score_masks(log_probs_of, original, draw(), designs, progress)
    rounds = 1
    per_round = spent = sum(k.shape[0] for k in keeps)
    checks: list[tuple[int, float]] = []
    trail: list[Tensor] = []
    while True:
        reliability = split_half_reliability(designs, keeps, scores, estimator)
        checks.append((spent, reliability))
        trail.append(estimate(designs, keeps, scores, estimator))  # (I, C)
        if target is not None:
            log.info("%d masks scored, split-half reliability %.3f (target %.2f)", spent, reliability, target)
        room = (max_masks - spent) // max(per_round, 1)  # whole rounds the cap still allows
        more = 0 if target is None else rounds_to_add(rounds, reliability, target, room)
        if more < 1:
            if target is None:
                return Estimate(trail[-1], spent, reliability)
            return Estimate(trail[-1], spent, reliability, tuple(checks), tuple(t.cpu() for t in trail))
        for _ in range(more):
            new_keeps, new_scores = score_masks(log_probs_of, original, draw(), designs, progress)
            keeps = [torch.cat([a, b]) for a, b in zip(keeps, new_keeps)]
            scores = [torch.cat([a, b]) for a, b in zip(scores, new_scores)]
        rounds += more
        spent = sum(k.shape[0] for k in keeps)

