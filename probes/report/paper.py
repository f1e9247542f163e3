"""Reference numbers: those of the paper reproduced here (Papi et al. 2025, Cross-Attention is Half
Explanation in Speech-to-Text Models, arXiv 2509.18010) and the study's quality targets.

They are the only numbers of a report that are not measured: ``probes.report.run_report`` and ``study.report`` quote
them next to ours, and their traceability checks accept them.
"""

from __future__ import annotations

from typing import Any

# Pearson of CA (all layers and heads) with input / encoder-output saliency, per model and as the range over
# models, tasks and languages; deletion AUCs of the WER curve.
PAPER: dict[str, Any] = {
    "pearson_ca_vs_input": {"range": (0.55, 0.64), "base": 0.588, "small": 0.633, "large": 0.621},
    "pearson_ca_vs_encoder": {"range": (0.52, 0.75)},
    "deletion_auc_wer": {"ca": 41.2, "saliency_pooled": 52.9, "saliency_full": 91.3},
}

# Reference numbers quoted by the study report only: CA vs encoder-output saliency is "up to 0.18 higher" than vs
# input saliency; the paper's English WER on EuroParl-ST.
PAPER_EXTRA: dict[str, float] = {"encoder_gain_max": 0.18, "wer_en_low": 9.5, "wer_en_high": 11.7}
# The paper's setting, against which the study report sets ours: model sizes (millions of parameters), its shared
# SentencePiece vocabulary, and its SPES segments per 500 frames and masks per utterance.
PAPER_SETTING: dict[str, Any] = {"parameters_m": {"base": 125, "small": 480, "large": 880}, "vocab_size": 16000,
                                 "spes_granularities": (2000, 2500, 3000), "spes_per_frames": 500, "spes_masks": 20000}
QUALITY_TARGETS: dict[str, float] = {"wer_max": 15.0, "bleu_min": 40.0}  # the quality targets (%, BLEU)
