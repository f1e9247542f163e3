"""Function words of the five languages: determiners, pronouns, auxiliaries, copulas, negation, elision, contractions.

The tables ``s2t.data.realize`` builds clauses from and ``s2t.data.spelling`` spells them with:
determiners by gender-number (``GN_INDEX``: ms, fs, mp, fp; "" where a form is not used), with
the determiner a negated object takes (``NEGATED_DETERMINER``: pas de pain, non mangia pane);
subject and object pronouns (Italian and Spanish drop subject ones: ``PRO_DROP``), participle
agreement after an object clitic, auxiliaries, English do-support, copulas, negation,
relative pronouns, conjunctions, the goal preposition, elision before a vowel and
preposition + article contractions; and German's articles, ein-words, adjective endings and
pronouns by gender and case (``CASE``: nominative, accusative, dative).
"""

from __future__ import annotations

GN_INDEX = {"ms": 0, "fs": 1, "mp": 2, "fp": 3}


def _agree(ms, fs, mp, fp, kind: str = "D") -> dict[str, tuple]:
    """A one-word determiner by gender-number ("" = not used with that gender-number)."""
    return {gn: ((w, kind),) if w else () for gn, w in zip(GN_INDEX, (ms, fs, mp, fp))}


def _fixed(*tokens: tuple) -> dict[str, tuple]:
    """A determiner that does not agree (possibly empty)."""
    return dict.fromkeys(GN_INDEX, tokens)


def _before(words: dict[str, tuple], article: dict[str, tuple]) -> dict[str, tuple]:
    """Per gender-number word sequences ``words`` + ``article`` (it "di il", "il mio")."""
    return {gn: words[gn] + article[gn] for gn in GN_INDEX}


IT_THE = _agree(("il", "lo", "lo"), "la", ("i", "gli", "gli"), "le")  # lo -> l' by elision
FR_THE = _agree("le", "la", "les", "les")
DETERMINERS = {
    "en": {"the": _fixed(("the", "D")), "a": _fixed((("a", "an"), "D")), "one": _fixed(("one", "X")),
           "my": _fixed(("my", "D")), "our": _fixed(("our", "D")), "some": _fixed()},
    "it": {"the": IT_THE, "a": _agree(("un", "un", "uno"), "una", "", ""),
           "some": _before(_fixed(("di", "P")), IT_THE), "bare": _fixed(),
           "my": _before(IT_THE, _agree("mio", "mia", "miei", "mie")),
           "our": _before(IT_THE, _agree("nostro", "nostra", "nostri", "nostre"))},
    "es": {"the": _agree("el", "la", "los", "las"), "a": _agree("un", "una", "", ""), "some": _fixed(),
           "my": _agree("mi", "mi", "mis", "mis"), "our": _agree("nuestro", "nuestra", "nuestros", "nuestras")},
    "fr": {"the": FR_THE, "a": _agree("un", "une", "", ""), "de": _fixed(("de", "D")),
           "some": {**_before(_fixed(("de", "P")), FR_THE), "mp": (("des", "D"),), "fp": (("des", "D"),)},
           "my": _agree("mon", ("ma", "mon"), "mes", "mes"), "our": _agree("notre", "notre", "nos", "nos")},
}
NEGATED_DETERMINER = {"it": {"some": "bare"}, "fr": {"a": "de", "some": "de"}}  # pas de pain, non mangia pane
SUBJECT_PRONOUN = {"en": {"1s": "I", "1p": "we"}, "fr": {"1s": "je", "1p": "nous"}}  # it, es drop them
OBJECT_PRONOUN = {
    "en": {"1s": "me", "1p": "us", "3sm": "him", "3sf": "her", "3p": "them"},
    "it": {"1s": "mi", "1p": "ci", "3sm": "lo", "3sf": "la", "3p": "li"},
    "es": {"1s": "me", "1p": "nos", "3sm": "lo", "3sf": "la", "3p": "los"},
    "fr": {"1s": "me", "1p": "nous", "3sm": "le", "3sf": "la", "3p": "les"},
}
PARTICIPLE_AGREEMENT = {  # a direct object clitic before the auxiliary makes the participle agree
    "it": {"3sf": "fs", "3p": "mp"},
    "fr": {"1p": "mp", "3sf": "fs", "3p": "mp"},
}
AUXILIARY = {"it": ("ho", "ha", "abbiamo", "hanno"), "fr": ("ai", "a", "avons", "ont"),
             "haben": ("habe", "hat", "haben", "haben"), "sein": ("bin", "ist", "sind", "sind")}
DO = (("do", "does", "do", "do"), ("did",) * 4)  # English do-support, present and past
COPULA = {  # (present, past) x (singular, plural)
    "en": (("is", "are"), ("was", "were")), "it": (("è", "sono"), ("era", "erano")),
    "ser": (("es", "son"), ("era", "eran")), "estar": (("está", "están"), ("estaba", "estaban")),
    "fr": (("est", "sont"), ("était", "étaient")), "de": (("ist", "sind"), ("war", "waren")),
}
NEGATION = {"en": ((), ("not",)), "it": (("non",), ()), "es": (("no",), ()), "fr": (("ne",), ("pas",))}
RELATIVE = {"en": ("that", "that"), "it": ("che", "che"), "es": ("que", "que"), "fr": ("qui", "que")}
CONJUNCTIONS = {
    "because": {"en": ("because",), "it": ("perché",), "es": ("porque",), "fr": ("parce", "que"), "de": ("weil",)},
    "that": {"en": ("that",), "it": ("che",), "es": ("que",), "fr": ("que",), "de": ("dass",)},
}
GOAL = {"en": "to", "it": "a", "es": "a", "fr": "à", "de": "zu"}
PRO_DROP = frozenset({"it", "es"})
ELISION = {  # before a vowel (and French/Italian mute h)
    "fr": {"le": "l'", "la": "l'", "de": "d'", "que": "qu'", "ne": "n'", "je": "j'", "me": "m'"},
    "it": {"lo": "l'", "la": "l'", "una": "un'"},
}
CONTRACTIONS = {  # (preposition, article) -> one word
    "en": {},
    "it": {(p, a): stem + end for p, stem in {"di": "de", "a": "a", "in": "ne", "su": "su"}.items()
           for a, end in {"il": "l", "lo": "llo", "l'": "ll'", "la": "lla", "i": "i", "gli": "gli", "le": "lle"}.items()},
    "es": {("a", "el"): "al", ("de", "el"): "del"},
    "fr": {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"},
    "de": {("in", "dem"): "im", ("an", "dem"): "am", ("zu", "dem"): "zum", ("zu", "der"): "zur", ("bei", "dem"): "beim"},
}

CASE = {"nom": 0, "acc": 1, "dat": 2}
DE_THE = {"m": ("der", "den", "dem"), "f": ("die", "die", "der"), "n": ("das", "das", "dem"), "p": ("die", "die", "den")}
DE_RELATIVE = {**DE_THE, "p": ("die", "die", "denen")}
DE_EIN_WORD = {"a": "ein", "one": "ein", "kein": "kein", "my": "mein", "our": "unser"}
DE_EIN_ENDING = {"m": ("", "en", "em"), "f": ("e", "e", "er"), "n": ("", "", "em"), "p": ("e", "e", "en")}
DE_ADJ_ENDING = {
    "weak": {"m": ("e", "en", "en"), "f": ("e", "e", "en"), "n": ("e", "e", "en"), "p": ("en", "en", "en")},
    "mixed": {"m": ("er", "en", "en"), "f": ("e", "e", "en"), "n": ("es", "es", "en"), "p": ("en", "en", "en")},
    "strong": {"m": ("er", "en", "em"), "f": ("e", "e", "er"), "n": ("es", "es", "em"), "p": ("e", "e", "en")},
}
DE_PRONOUN = {"1s": ("ich", "mich", "mir"), "1p": ("wir", "uns", "uns"), "3sm": ("er", "ihn", "ihm"),
              "3sf": ("sie", "sie", "ihr"), "3p": ("sie", "sie", "ihnen")}
