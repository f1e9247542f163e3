"""Spelling: the last pass that turns a clause's tokens into the words of one language, with their masks.

``spell`` picks sound-dependent forms by the next word (a/an, il/lo, ma/mon, beau/bel), elides
before vowels (le -> l', que -> qu'), contracts preposition + article (nel, du, al, im) and
glues elided words to the next one (l'uomo, j'ai, qu'un, nell'albero), OR-ing their masks;
the tokens are ``s2t.data.realize``'s, the elisions and contractions ``s2t.data.function_words``'s.
"""

from __future__ import annotations

from s2t.data.function_words import CONTRACTIONS, ELISION
from s2t.data.realize import CONTENT_KINDS, Token

VOWELS = {"en": "aeiou", "it": "aeiouàèéìòùh", "fr": "aeiouyàâäéèêëîïôöùûüœh"}
SOUND_SENSITIVE = frozenset(VOWELS)  # languages with a/an-like alternatives or elision
NO_ELISION = {"fr": ("huit", "onze")}  # le huit, que onze: no elision before them


def onset_index(lang: str, word: str) -> int:
    """Index of the alternative a word calls for: 0 consonant, 1 vowel, 2 Italian s+consonant/z/gn/ps."""
    w = word.lower()
    if lang == "en":
        return int(w[0] in VOWELS["en"] and not w.startswith(("uni", "use", "eu", "one")))
    if lang == "it" and (w[0] in "zxy" or w[:2] in ("gn", "ps", "pn") or (w[0] == "s" and w[1:2] not in "aeiouè")):
        return 2
    return int(w[0] in VOWELS.get(lang, "") and not w.startswith(NO_ELISION.get(lang, ())))


def spell(lang: str, tokens: list[Token]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[bool, ...]]:
    """Resolve alternatives, elide, contract preposition + article, glue elided words: (words, masks, content)."""
    forms = [t[0] for t in tokens]
    if lang in SOUND_SENSITIVE:
        following, elision = "", ELISION.get(lang, {})
        for i in range(len(forms) - 1, -1, -1):
            form = forms[i]
            onset = onset_index(lang, following) if following else 0
            if type(form) is tuple:
                form = form[onset]
            if onset == 1 and form in elision:
                form = elision[form]
            forms[i] = following = form
    contractions = CONTRACTIONS[lang]
    words: list[str] = []
    masks: list[int] = []
    content: list[bool] = []
    kinds: list[str] = []
    for form, (_, mask, kind) in zip(forms, tokens):
        if words and words[-1].endswith("'"):
            words[-1] += form
        elif words and kinds[-1] == "P" and kind == "D" and (words[-1], form) in contractions:
            words[-1], kinds[-1] = contractions[words[-1], form], "D"
        else:
            words.append(form)
            masks.append(mask)
            content.append(kind in CONTENT_KINDS)
            kinds.append(kind)
            continue
        masks[-1] |= mask
        content[-1] = content[-1] or kind in CONTENT_KINDS
    return tuple(words), tuple(masks), tuple(content)
