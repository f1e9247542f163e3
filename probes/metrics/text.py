"""Text scores as a model's own users compute them: WER and BLEU on normalised text.

A model may declare how its outputs are normalised before scoring with an optional
``normalize(text, lang)`` member (``ProbeModel``'s optional extras). Whisper's adapter does:
its outputs are cased and punctuated, and its users score them after Whisper's English text
normaliser (case, punctuation, numbers, contractions and, where the checkpoint ships
``normalizer.json``, British spellings) or, in other languages, its basic normaliser. Our own
models are trained on lower-case unpunctuated text and declare nothing: their text is scored
as it is. Reference and hypothesis always go through the same normaliser.
"""

from __future__ import annotations

from typing import Any, Callable

Normalize = Callable[[str], str]


def as_is(text: str) -> str:
    """The identity normaliser: text scored as it is."""
    return text


def normalizer(model: Any, lang: str) -> Normalize:
    """How ``model``'s users normalise text in language ``lang`` before scoring it: its ``normalize``, or as it is."""
    normalize = getattr(model, "normalize", None)
    if not callable(normalize):
        return as_is
    return lambda text: normalize(text, lang)


def wer(hypothesis: str, reference: str, normalize: Normalize) -> float:
    """Word error rate in percent of one normalised hypothesis (not clipped: insertions can pass 100)."""
    from torchmetrics.functional.text import word_error_rate  # deferred: torchmetrics' text metrics load transformers

    return 100.0 * float(word_error_rate([normalize(hypothesis)], [normalize(reference)]))


def sentence_bleu(hypothesis: str, reference: str, normalize: Normalize) -> float:
    """Sentence BLEU in percent (sacreBLEU's 13a tokens, add-one smoothing) of one normalised hypothesis."""
    from torchmetrics.functional.text import sacre_bleu_score  # deferred: as in wer

    return 100.0 * float(sacre_bleu_score([normalize(hypothesis)], [[normalize(reference)]], smooth=True))

