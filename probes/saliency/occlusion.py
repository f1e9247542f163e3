"""The options every occlusion map shares, SPES's and encoder-output saliency's: masks, their draws and their budget.

``SpesConfig`` (``probes.saliency.spes``) and ``EncoderSaliencyConfig`` (``probes.saliency.encoder``) extend
``OcclusionConfig`` with what only they have, so these fields are declared and checked once and stay flat in each
config: ``spes.masks``, ``encoder.keep_prob``, as evaluate.py's options, a study file and ``settings.json`` name them.
"""

from __future__ import annotations

from dataclasses import dataclass

from probes.saliency.perturbation import check_estimator, check_precision


@dataclass(frozen=True)
class OcclusionConfig:
    """Masks and budget of an occlusion map, validated on construction.

    Attributes:
        masks: masks per utterance (the first round's, with an adaptive budget); each is one forced decoding.
        keep_prob: probability that a unit (segment, cell) is left untouched by a mask.
        batch_size: masked copies force-decoded per model call.
        seed: seed of the mask draws: the same seed gives the same map.
        estimator: contrast (mean score of the masks occluding a cell minus that of the masks keeping it), occluded
            (SPES's plain mean over the occluding masks) or ridge (a ridge regression of the scores on all units at
            once: every mask informs every cell); ``probes.saliency.perturbation``.
        antithetic: follow each random mask by its complement (keep_prob 0.5 only).
        target_reliability: adaptive budget: keep doubling an utterance's masks (near the target adding only what
            Spearman-Brown predicts it needs, ``rounds_to_add``) until the map's split-half reliability reaches it,
            or ``max_masks`` are spent; None: ``masks``, once.
        max_masks: cap of the adaptive budget, per map and utterance.
        precision: of the perturbed passes: fp32, or bf16 (bfloat16 autocast), faster only where the hardware has
            bfloat16 units (14x slower on a CPU without them) and safe only on a trained model.
    """

    masks: int = 256
    keep_prob: float = 0.5
    batch_size: int = 32
    seed: int = 0
    estimator: str = "contrast"
    antithetic: bool = False
    target_reliability: float | None = None
    max_masks: int = 16384
    precision: str = "fp32"

    def __post_init__(self) -> None:
        """Reject bad values with a clear message."""
        check_estimator(self.estimator)
        check_precision(self.precision)
        if self.masks < 1:
            raise ValueError(f"masks must be >= 1, got {self.masks}")
        if not 0.0 < self.keep_prob < 1.0:
            raise ValueError(f"keep_prob must be in (0, 1), got {self.keep_prob}")
        if self.antithetic and self.keep_prob != 0.5:
            raise ValueError(f"antithetic masks need keep_prob 0.5, got {self.keep_prob}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.target_reliability is not None and not 0.0 < self.target_reliability < 1.0:
            raise ValueError(f"target_reliability must be in (0, 1), got {self.target_reliability}")
        if self.target_reliability is not None and self.max_masks < self.masks:
            raise ValueError(f"max_masks={self.max_masks} is below the first round's masks={self.masks}")
