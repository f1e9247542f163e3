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
reach a stable map (``benchmarks/saliency_convergence.py`` measures it). Its values can
be negative (occluding the cell made the token more certain).

All sums are kept as running totals, so masks can be scored in batches of any size and the
result equals one-at-a-time processing up to float rounding.

Shapes: M masks in a batch, N masks in total, C cells, I explained tokens, V vocabulary.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import Tensor

Progress = Callable[[int], object]  # called with the number of masks just scored (tqdm's ``update``)
ESTIMATORS = ("occluded", "contrast")


def check_estimator(estimator: str) -> None:
    """Reject an unknown estimator name."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; choose one of {ESTIMATORS}")


def keep_masks(count: int, cells: int, keep_prob: float, generator: torch.Generator) -> Tensor:
    """``count`` independent masks keeping each of ``cells`` cells with probability ``keep_prob``.

    Args:
        count: N, number of masks.
        cells: number of maskable units (segments, cells).
        keep_prob: probability that a unit is kept (left untouched).
        generator: CPU generator the draws come from, for reproducibility.

    Returns:
        (N, cells) bool on CPU, True = kept.
    """
    return torch.rand(count, cells, generator=generator) < keep_prob


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


def occlusion_saliency(
    log_probs_of: Callable[[Tensor], Tensor],
    original: Tensor,
    keep_batches: Iterable[Tensor],
    cells: int,
    progress: Progress | None = None,
    estimator: str = "occluded",
) -> Tensor:
    """Score batches of keep-masks by per-token KL and accumulate them into a saliency map.

    Args:
        log_probs_of: maps a batch of keep-masks (M, C) bool to the log-probabilities (M, I, V)
            of the hypothesis on the correspondingly occluded input.
        original: (I, V) log-probabilities on the unperturbed input.
        keep_batches: batches (M, C) of keep-masks, any batch sizes; moved to ``original``'s device.
        cells: C.
        progress: called with M after each batch.
        estimator: "occluded" (SPES) or "contrast" (module docstring).

    Returns:
        (I, C) float32 saliency on ``original``'s device.
    """
    accumulator = OcclusionAccumulator(original.shape[0], cells, original.device)
    for keep in keep_batches:
        keep = keep.to(original.device)
        accumulator.add(keep, kl_per_token(log_probs_of(keep), original))
        if progress is not None:
            progress(keep.shape[0])
    return accumulator.saliency(estimator)

