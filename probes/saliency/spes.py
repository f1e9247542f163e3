"""SPES: occlusion saliency of every filterbank cell for every output token (Fucci et al. 2024).

The filterbank is cut into SLIC superpixels at several granularities; each random mask keeps
every superpixel with probability ``keep_prob`` and sets the cells of the others to the model's
neutral value (``probes.interface.occlusion_value``: 0 after our CMVN, as in SPES); the hypothesis is force-decoded on each masked copy and every token scored by
KL(p_i || p_i^masked). A cell's saliency for token i is the mean score of token i over the
masks that zeroed it (``probes.saliency.perturbation``). Result: an (I, T, F) map per utterance.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from skimage.segmentation import slic
from torch import Tensor

from probes.interface import FILLS, ProbeModel, Utterance, forced, occlusion_value
from probes.saliency.occlusion import OcclusionConfig
from probes.saliency.perturbation import Batch, Estimate, Progress, keep_masks, occlusion_saliency, passes_in

REFERENCE_FRAMES = 500  # granularities count segments per 500 input frames (5 s at 10 ms hops)
CACHE_SIZE = 48  # segmentations kept (3 granularities x 16 utterances); ~0.6 MB each for 10 s


@dataclass(frozen=True)
class SpesConfig(OcclusionConfig):
    """SPES options, validated on construction: the occlusion map's (``OcclusionConfig``) and the segments'.

    Attributes:
        masks: total number of masks, split evenly over the granularities. The paper uses
            20,000; every mask is one forced decoding, which is what made SPES cost GPU-days.
        granularities: SLIC segments per 500 input frames, one segmentation each; scaled by
            the utterance's duration T / 500. The paper's are (2000, 2500, 3000). A map is
            only as stable as the masks per segment allow (each mask is one noisy equation
            over all segments): with the paper's segments, 4096 masks give maps whose two
            seeds agree at 0.56 (Pearson), 256 masks at 0.10, noise. The default
            (50, 75, 100) gives about 1.5 masks per segment at 256 masks: seeds agree at
            0.77, and the maps agree more with CA and with the true word spans than the
            paper's segments at 16 times the masks
            (``experiments/FINDINGS.md#saliency-budget-masks-per-cell-spes-and-encoder-output-saliency``). Raise both
            together: the paper's budget gave about 3 masks per segment (6,667 masks per
            granularity over 2,500 segments of a 5 s utterance).
        compactness: SLIC's weight of spatial proximity against intensity on the [0, 1]
            normalised filterbank; low values let segments follow spectro-temporal shapes.
            0.1 as in the SPES reference implementation.
        sigma: width of the Gaussian smoothing SLIC applies first (reference implementation: 1).
        fill: what an occluded cell becomes (SPES masks, deletion and insertion curves): the model's neutral value
            (``model``: 0 after our CMVN, digital silence on Whisper's log-mel) or 0 (``zero``, the SPES release's
            choice, whatever the features' scale); ``probes.interface.occlusion_value``.
    """

    granularities: tuple[int, ...] = (50, 75, 100)
    compactness: float = 0.1
    sigma: float = 1.0
    fill: str = "model"

    def __post_init__(self) -> None:
        """Store granularities as a tuple (configs may give lists) and reject bad values."""
        super().__post_init__()
        if self.fill not in FILLS:
            raise ValueError(f"unknown fill {self.fill!r}; choose one of {FILLS}")
        object.__setattr__(self, "granularities", tuple(int(g) for g in self.granularities))
        if not self.granularities or min(self.granularities) < 1:
            raise ValueError(f"granularities must be positive segment counts, got {self.granularities}")
        if self.masks < len(self.granularities):
            raise ValueError(
                f"masks={self.masks}: need at least one mask per granularity ({len(self.granularities)})"
            )
        if self.compactness <= 0:
            raise ValueError(f"compactness must be > 0, got {self.compactness}")
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")

    def masks_per_granularity(self) -> list[int]:
        """``masks`` split over the granularities, the first ones taking the remainder: 256 -> [86, 85, 85]."""
        base, extra = divmod(self.masks, len(self.granularities))
        return [base + (k < extra) for k in range(len(self.granularities))]


def segment_count(granularity: int, frames: int) -> int:
    """SLIC's requested number of segments for ``frames`` input frames (at least 1)."""
    return max(1, round(granularity * frames / REFERENCE_FRAMES))


def superpixels(features: Tensor, n_segments: int, compactness: float, sigma: float) -> Tensor:
    """SLIC superpixels of a min-max normalised (T, F) filterbank: (T, F) long labels 0..S-1, no gaps."""
    x = features.detach().cpu().double().numpy()
    lo, hi = x.min(), x.max()
    image = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    labels = slic(image, n_segments=n_segments, compactness=compactness, sigma=sigma,
                  channel_axis=None, start_label=0)
    _, dense = np.unique(labels, return_inverse=True)  # SLIC may leave label numbers unused
    return torch.from_numpy(dense.reshape(labels.shape)).long()


_cache: OrderedDict[tuple, Tensor] = OrderedDict()


def segmentations(features: Tensor, config: SpesConfig) -> list[Tensor]:
    """One (T, F) label map per granularity, cached by feature content so repeated runs skip SLIC."""
    digest = hashlib.sha1(features.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    maps = []
    for granularity in config.granularities:
        n = segment_count(granularity, features.shape[0])
        key = (digest, tuple(features.shape), n, config.compactness, config.sigma)
        if key not in _cache:
            _cache[key] = superpixels(features, n, config.compactness, config.sigma)
        _cache.move_to_end(key)
        maps.append(_cache[key])
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return maps


def segment_keep_batches(labels: list[Tensor], config: SpesConfig, generator: torch.Generator) -> Iterator[Batch]:
    """(granularity, (M, S) keep-masks over its segments) batches, each granularity's masks drawn over its segments.

    All masks of a granularity are drawn at once, so the masks (hence the map) do not depend
    on ``batch_size``.
    """
    for g, (segments, count) in enumerate(zip(labels, config.masks_per_granularity())):
        keep = keep_masks(count, int(segments.max()) + 1, config.keep_prob, generator, config.antithetic)  # (N_g, S)
        for batch in keep.split(config.batch_size):
            yield g, batch


@torch.no_grad()
def spes_estimate(model: ProbeModel, utt: Utterance, config: SpesConfig = SpesConfig(),
                  progress: Progress | None = None) -> Estimate:
    """SPES saliency of every input cell for every hypothesis token, with its cost and reliability.

    Args:
        model: the model to explain, in eval mode, on ``utt.features``' device.
        utt: utterance with its hypothesis ``tokens`` (I of them).
        config: masks, granularities, batching and seed.
        progress: called with the number of masks scored after each batch.

    Returns:
        the map, (I, T, F) float32 on CPU: by default (contrast) how much occluding the cell raises
        each token's KL (nats), (0, T, F) when there are no tokens; the masks spent; the map's
        split-half reliability.
    """
    features = utt.features  # (T, F)
    t, f = features.shape
    if not utt.tokens:
        return Estimate(torch.zeros(0, t, f), 0, float("nan"))
    with passes_in(config.precision, features.device):
        original = forced(model, utt).log_probs[0].float()  # (I, V)
    fill = occlusion_value(model, features, config.fill)

    def log_probs_of(keep: Tensor) -> Tensor:
        masked = torch.where(keep.view(-1, t, f), features, fill)  # (M, T, F)
        with passes_in(config.precision, features.device):
            return forced(model, utt, masked).log_probs.float()  # (M, I, V)

    generator = torch.Generator().manual_seed(config.seed)
    labels = segmentations(features, config)
    designs = [segments.flatten() for segments in labels]  # (T * F,) segment of each cell, per granularity
    found = occlusion_saliency(log_probs_of, original, lambda: segment_keep_batches(labels, config, generator), designs,
                               progress, config.estimator, config.target_reliability, config.max_masks)
    return Estimate(found.map.view(-1, t, f).cpu(), found.masks, found.reliability, found.rounds,  # map (I, T, F)
                    tuple(m.view(-1, t, f) for m in found.trail))


def spes(model: ProbeModel, utt: Utterance, config: SpesConfig = SpesConfig(),
         progress: Progress | None = None) -> Tensor:
    """The (I, T, F) map of ``spes_estimate``, alone."""
    return spes_estimate(model, utt, config, progress).map
