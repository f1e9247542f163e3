"""Encoder-output saliency (the paper's SM_H): occlusion saliency of the encoder states H.

The same estimator as SPES (``probes.saliency.perturbation``), applied to what the decoder reads: H
(T', D) is computed once, perturbed copies are force-decoded, and each token is scored by
KL(p_i || p_i^masked). Because the encoder is not re-run, the map shows which encoder
frames the decoder draws on, without the encoder's context mixing.

The paper does not publish its masking scheme for H. Ours: a cell is one encoder frame
times one of ``dim_groups`` contiguous groups of the D model dimensions (the last groups
one dimension shorter when D is not a multiple); every cell is kept independently with
probability ``keep_prob`` and masked cells are set to 0, as SPES zeroes its segments.
Saliency is accumulated per (T', G) cell and collapsed over the groups (mean, or max) to
CA's (I, T') grid. By default a cell is a whole frame (G = 1): fewer cells per mask make
steadier maps, and on the demo model whole frames agree more with CA and with the true word
spans than 8 groups per frame at the same budget
(``experiments/FINDINGS.md#saliency-budget-masks-per-cell-spes-and-encoder-output-saliency``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from probes.interface import ProbeModel, Utterance, force_on_encoding
from probes.saliency.occlusion import OcclusionConfig
from probes.saliency.perturbation import Batch, Estimate, Progress, keep_masks, occlusion_saliency, passes_in

REDUCTIONS = ("mean", "max")


@dataclass(frozen=True)
class EncoderSaliencyConfig(OcclusionConfig):
    """Encoder-output saliency options, validated on construction: the occlusion map's (``OcclusionConfig``) and the
    cells'.

    Attributes:
        masks: number of masks. The decoder alone runs per mask, so masks are cheap here:
            1024 whole-frame masks give maps whose two seeds agree at 0.83 (256: 0.56; 4096:
            0.95) on the demo model, for about 2 s per utterance on one CPU core.
        dim_groups: G, contiguous groups the D dimensions of each frame are cut into (at
            most D are used: with G >= D every dimension is its own group).
        reduce: how the G groups of a frame collapse into one value, "mean" or "max".
    """

    masks: int = 1024
    dim_groups: int = 1
    reduce: str = "mean"

    def __post_init__(self) -> None:
        """Reject bad values with a clear message."""
        super().__post_init__()
        if self.dim_groups < 1:
            raise ValueError(f"dim_groups must be >= 1, got {self.dim_groups}")
        if self.reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be one of {REDUCTIONS}, got {self.reduce!r}")


def dim_group_index(dims: int, groups: int, device: torch.device | str = "cpu") -> Tensor:
    """(D,) long: the contiguous group of each dimension, group sizes differing by at most one."""
    return torch.arange(dims, device=device) * groups // dims


@torch.no_grad()
def encoder_estimate(model: ProbeModel, utt: Utterance, config: EncoderSaliencyConfig = EncoderSaliencyConfig(),
                     progress: Progress | None = None) -> Estimate:
    """Occlusion saliency of every encoder frame for every hypothesis token, with its cost and reliability.

    Args:
        model: the model to explain, in eval mode, on ``utt.features``' device.
        utt: utterance with its hypothesis ``tokens`` (I of them).
        config: masks, grouping, batching, seed and group reduction.
        progress: called with the number of masks scored after each batch.

    Returns:
        the map, (I, T') float32 on CPU: by default (contrast) how much occluding a cell of the
        frame raises each token's KL (nats), reduced over the frame's groups, (0, T') when there
        are no tokens; the masks spent; the split-half reliability of the (T', G) cell map.
    """
    lengths = torch.tensor([utt.num_frames], device=utt.features.device)
    enc, enc_lengths = model.encode(utt.features[None], lengths)  # (1, T', D), (1,)
    t_enc, d = enc.shape[1:]
    if not utt.tokens:
        return Estimate(torch.zeros(0, t_enc), 0, float("nan"))
    groups = min(config.dim_groups, d)
    group_of_dim = dim_group_index(d, groups, enc.device)  # (D,)
    with passes_in(config.precision, enc.device):
        original = force_on_encoding(model, utt, enc, enc_lengths).log_probs[0].float()  # (I, V)

    def log_probs_of(keep: Tensor) -> Tensor:
        keep_dims = keep.view(-1, t_enc, groups)[:, :, group_of_dim]  # (M, T', D)
        masked = torch.where(keep_dims, enc, 0.0)  # (M, T', D)
        with passes_in(config.precision, enc.device):
            return force_on_encoding(model, utt, masked, enc_lengths.expand(keep.shape[0])).log_probs.float()  # (M, I, V)

    generator = torch.Generator().manual_seed(config.seed)

    def draw() -> Iterator[Batch]:
        """One round of masks over the (frame, group) cells: one design, the cells are the units."""
        masks = keep_masks(config.masks, t_enc * groups, config.keep_prob, generator, config.antithetic)  # (N, T' * G)
        return ((0, batch) for batch in masks.split(config.batch_size))

    found = occlusion_saliency(log_probs_of, original, draw, [torch.arange(t_enc * groups, device=enc.device)],
                               progress, config.estimator, config.target_reliability, config.max_masks)
    def reduced(cell_map: Tensor) -> Tensor:
        """The (I, T') frame map of an (I, T' * G) cell map."""
        cells = cell_map.view(-1, t_enc, groups)  # (I, T', G)
        return (cells.mean(dim=-1) if config.reduce == "mean" else cells.amax(dim=-1)).cpu()  # (I, T')

    return Estimate(reduced(found.map), found.masks, found.reliability, found.rounds, tuple(map(reduced, found.trail)))


def encoder_saliency(model: ProbeModel, utt: Utterance, config: EncoderSaliencyConfig = EncoderSaliencyConfig(),
                     progress: Progress | None = None) -> Tensor:
    """The (I, T') map of ``encoder_estimate``, alone."""
    return encoder_estimate(model, utt, config, progress).map
