"""A synchronous grammar: sample a sentence meaning, say it in five languages, align the words.

Design
------
A *frame* is a language-independent sentence: clauses (subject, verb, object, place,
destination, time, negation, tense), noun phrases (determiner, adjective, noun, relative
clause) and subordinate clauses ("because ...", "says that ..."). The sampler draws frames
with the probabilities in ``Mix``; selection lists in the lexicon keep them sensible. Every
piece of meaning gets its own *concept bit* while the frame is drawn.

A realizer turns a frame into tokens ``(form, concept mask, kind)`` in one language's word
order. English, Italian, Spanish and French share one clause template (subject, negation,
object clitics, finite verb, participle, object, adverbials) whose differences are tables:
clitics before the verb, pro-drop, ne...pas, do-support, articles, contractions. German has
its own template: verb second in main clauses, verb last in subordinate ones, the Perfekt
bracket, nicht/kein and cases. Noun phrases agree in gender, number (and German case).

A last pass per language (``_finish``) picks sound-dependent forms by the next word
(a/an, il/lo, ma/mon, beau/bel), elides before vowels (le -> l', que -> qu'), contracts
preposition + article (nel, du, al, im) and glues elided words to the next one (l'uomo,
j'ai, qu'un, nell'albero), OR-ing their masks. Two words are aligned when their masks share
a bit, so contractions, pro-drop (it "vedo" = en "I see"), compound tenses and ne...pas give
one-to-many links. Only function words can stay unaligned: determiners without a counterpart
(fr "des", it "dei") and the Spanish personal "a", whose mask is empty.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Sequence, Union

from s2t.data.lexicon import (
    CITY,
    LANGS,
    Adjective,
    Lexicon,
    Noun,
    Place,
    Preposition,
    TimeExpr,
    Verb,
    fits,
    load_lexicon,
)

__all__ = ["LANGS", "Sentence", "Grammar", "NP", "Pronoun", "RelPronoun", "PlaceName", "Predicate",
           "Adverbial", "Time", "Clause"]

Token = tuple  # (form, or sound-dependent alternatives indexed by _onset; concept mask; kind)
CONTENT_KINDS = frozenset("NAVXLT")  # noun, adjective, lexical verb, numeral, place name, time word
MIN_WORDS = 4  # below this too few frames fit ("the dog sleeps" already takes 3 words)

# ---------------------------------------------------------------- frames


@dataclass(frozen=True)
class NP:
    """A noun phrase: determiner, optional adjective, noun, optional relative clause."""

    noun: Noun
    plural: bool
    det: str  # the | a | one | my | our | num | some (bare plural / partitive)
    numeral: dict[str, str] | None  # the number's words when det == "num"
    adj: Adjective | None
    det_bit: int
    adj_bit: int
    noun_bit: int
    rel: Clause | None = None


@dataclass(frozen=True)
class Pronoun:
    """A personal pronoun: 1s, 1p (subject or object), 3sm, 3sf, 3p (object)."""

    person: str
    bit: int


@dataclass(frozen=True)
class RelPronoun:
    """The relative pronoun of a relative clause, standing for its antecedent noun."""

    antecedent: Noun
    plural: bool
    bit: int


@dataclass(frozen=True)
class PlaceName:
    """A city or country name."""

    place: Place
    bit: int


@dataclass(frozen=True)
class Predicate:
    """The adjective of a copular clause ("the house is big")."""

    adj: Adjective
    bit: int


@dataclass(frozen=True)
class Adverbial:
    """Where (goal=False) or where to (goal=True): a preposition and a ground."""

    ground: NP | PlaceName
    prep: Preposition | None  # None: the ground's own preposition (noun.at, place.at/to, "to")
    goal: bool
    bit: int


@dataclass(frozen=True)
class Time:
    """A time adverbial; its parts use the concept bits from ``shift`` on."""

    expr: TimeExpr
    shift: int


Subject = Union[NP, Pronoun, RelPronoun]
Object = Union[NP, Pronoun, RelPronoun, PlaceName, Predicate, None]


@dataclass(frozen=True)
class Clause:
    """A clause; ``verb`` None means copula + ``Predicate`` object."""

    subj: Subject
    verb: Verb | None
    obj: Object
    goal: Adverbial | None = None
    loc: Adverbial | None = None
    time: Time | None = None
    front: bool = False  # the time adverbial (else the place) opens the clause
    neg: bool = False
    past: bool = False
    verb_bit: int = 0
    tense_bit: int = 0
    neg_bit: int = 0
    conj: str = ""  # "because" | "that": a subordinate clause opened by this conjunction
    conj_bit: int = 0
    sub: Clause | None = None  # subordinate clause following this one


@dataclass(frozen=True)
class Sentence:
    """One sentence in every language, with what each word means (for the alignments)."""

    words: dict[str, tuple[str, ...]]
    masks: dict[str, tuple[int, ...]] = field(repr=False)  # concept bits realized by each word
    content: dict[str, tuple[bool, ...]] = field(repr=False)  # whether each word is a content word

    def text(self, lang: str) -> str:
        """The sentence in ``lang``, words separated by single spaces."""
        return " ".join(self.words[lang])

    def alignment(self, src: str, tgt: str) -> list[tuple[int, int]]:
        """Sorted (source word, target word) index pairs that realize a common concept."""
        tgt_masks = self.masks[tgt]
        return [(i, j) for i, a in enumerate(self.masks[src]) for j, b in enumerate(tgt_masks) if a & b]


# ---------------------------------------------------------------- function words

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

# ---------------------------------------------------------------- realization, en/it/es/fr


def _person(subj: Subject) -> int:
    """Verb person index: 0 = 1sg, 1 = 3sg, 2 = 1pl, 3 = 3pl."""
    if isinstance(subj, Pronoun):
        return 0 if subj.person == "1s" else 2
    return 3 if subj.plural else 1


def _gn(lang: str, noun: Noun, plural: bool) -> str:
    """Gender-number key of a noun in a language ("ms", "fp", ...)."""
    singular, plural_gender = noun.gender[lang]
    return plural_gender + "p" if plural else singular + "s"


def _adjective(lang: str, adj: Adjective, gn: str, pre: bool):
    """The agreeing adjective form (with the French before-vowel alternative: beau/bel)."""
    form = adj.forms[lang][GN_INDEX[gn]]
    if lang == "fr" and pre and gn == "ms" and adj.fr_before_vowel:
        return (form, adj.fr_before_vowel)
    return form


def _participle(lang: str, participle: str, gn: str) -> str:
    """Italian/French participle agreeing with a preceding direct object (vista, vues)."""
    if not gn or gn == "ms":
        return participle
    if lang == "it":
        return participle[:-1] + {"fs": "a", "mp": "i", "fp": "e"}[gn]
    return participle + {"fs": "e", "mp": "" if participle.endswith("s") else "s", "fp": "es"}[gn]


def _np(lang: str, np: NP, neg: bool = False) -> list[Token]:
    """A noun phrase (with its relative clause) in en/it/es/fr; ``neg``: object of a negated verb."""
    gn = _gn(lang, np.noun, np.plural)
    pre = np.adj is not None and lang in np.adj.pre
    det = "a" if np.det == "one" and lang != "en" else np.det
    if neg:
        det = NEGATED_DETERMINER.get(lang, {}).get(det, det)
    if lang == "fr" and det == "some" and np.plural and pre:
        det = "de"  # de grands chiens
    if det == "num":
        out = [(np.numeral[lang], np.det_bit, "X")]
    else:
        out = [(form, np.det_bit, kind) for form, kind in DETERMINERS[lang][det][gn]]
        if lang == "it" and det in ("my", "our") and np.noun.kin and not np.plural and np.adj is None:
            out = out[1:]  # mia madre
    noun = (np.noun.forms[lang][np.plural], np.noun_bit, "N")
    if np.adj is None:
        out.append(noun)
    else:
        adj = (_adjective(lang, np.adj, gn, pre), np.adj_bit, "A")
        out += [adj, noun] if pre else [noun, adj]
    return out + (_clause(lang, np.rel) if np.rel else [])


def _place_name(lang: str, p: PlaceName) -> list[Token]:
    """A city or country name (maybe several words)."""
    return [(w, p.bit, "L") for w in p.place.name[lang].split()]


def _adverbial(lang: str, a: Adverbial | None) -> list[Token]:
    """A place or destination phrase."""
    if a is None:
        return []
    g = a.ground
    if isinstance(g, PlaceName):
        return [(w, a.bit, "P") for w in (g.place.to if a.goal else g.place.at)[lang]] + _place_name(lang, g)
    preps = (GOAL[lang],) if a.goal else a.prep.words[lang] if a.prep else (g.noun.at[lang],)
    body = _np_de(g, "dat") if lang == "de" else _np(lang, g)
    return [(w, a.bit, "P") for w in preps] + body


def _time(lang: str, t: Time | None) -> list[Token]:
    """A time adverbial's words, each with the concept bits of the parts it expresses."""
    return [(w, m << t.shift, "T") for w, m in t.expr.words[lang]] if t else []


def _intro(lang: str, c: Clause) -> list[Token]:
    """The conjunction or relative pronoun opening a subordinate clause ([] for main clauses)."""
    if c.conj:
        return [(w, c.conj_bit, "J") for w in CONJUNCTIONS[c.conj][lang]]
    rel = c.subj if isinstance(c.subj, RelPronoun) else c.obj if isinstance(c.obj, RelPronoun) else None
    if rel is None:
        return []
    is_subject = rel is c.subj
    if lang == "de":
        gender = "p" if rel.plural else rel.antecedent.gender["de"][0]
        word = DE_RELATIVE[gender][CASE["nom" if is_subject else c.verb.de_case]]
    elif lang == "en" and is_subject and rel.antecedent.cls == "person":
        word = "who"
    else:
        word = RELATIVE[lang][0 if is_subject else 1]
    return [(word, rel.bit, "R")]


def _subject(lang: str, s: Subject) -> list[Token]:
    """Subject tokens; empty for relative pronouns and dropped pronouns."""
    if isinstance(s, RelPronoun):
        return []
    if isinstance(s, Pronoun):
        if lang == "de":
            return [(DE_PRONOUN[s.person][0], s.bit, "S")]
        return [(SUBJECT_PRONOUN[lang][s.person], s.bit, "S")] if lang in SUBJECT_PRONOUN else []
    return _np_de(s, "nom") + (_clause_de(s.rel) if s.rel else []) if lang == "de" else _np(lang, s)


def _object(lang: str, c: Clause) -> tuple[list[Token], list[Token], str]:
    """(clitics before the verb, object after it, participle agreement) in en/it/es/fr."""
    o = c.obj
    if isinstance(o, RelPronoun):
        return [], [], _gn(lang, o.antecedent, o.plural) if lang == "fr" else ""  # la lettre qu'il a écrite
    if o is None:
        return [], [], ""
    if isinstance(o, Predicate):
        return [], [(_adjective(lang, o.adj, _gn(lang, c.subj.noun, c.subj.plural), False), o.bit, "A")], ""
    if isinstance(o, PlaceName):
        return [], _place_name(lang, o), ""
    governed = [(c.verb.en_prep, c.verb_bit, "P")] if lang == "en" and c.verb.en_prep else []
    if isinstance(o, Pronoun):
        pronoun = (OBJECT_PRONOUN[lang][o.person], o.bit, "C")
        if lang == "en":
            return [], governed + [pronoun], ""
        return [pronoun], [], PARTICIPLE_AGREEMENT.get(lang, {}).get(o.person, "")
    specific = o.det != "some" if o.noun.cls == "person" else o.noun.cls == "animal" and o.det in ("the", "my", "our")
    personal_a = [("a", 0, "P")] if lang == "es" and specific and "person" in c.verb.obj else []  # ve al gato
    return [], governed + personal_a + _np(lang, o, c.neg and o.rel is None), ""  # with a relative clause: specific


def _verb_group(lang: str, c: Clause, person: int, agree: str) -> tuple[list[Token], list[Token]]:
    """(finite verb, non-finite rest): "vede" / "ha" + "visto" / "does" + "see" / "hat" + "gesehen"."""
    both = c.verb_bit | c.tense_bit
    if c.verb is None:
        table = COPULA[c.obj.adj.es_copula if lang == "es" else lang]
        return [(table[c.past][person == 3], both, "F")], []
    v = c.verb
    if lang == "en" and c.neg:
        return [(DO[c.past][person], c.tense_bit, "F")], [(v.en_base, c.verb_bit, "V")]
    if c.past and lang in v.participle:
        aux = AUXILIARY[v.de_aux if lang == "de" else lang][person]
        return [(aux, c.tense_bit, "F")], [(_participle(lang, v.participle[lang], agree), c.verb_bit, "V")]
    return [((v.past if c.past else v.present)[lang][person], both, "V")], []


def _front_and_adverbs(lang: str, c: Clause) -> tuple[list[Token], list[Token], list[Token], list[Token]]:
    """(fronted adverbial, time, place, destination); the fronted one is left out of its slot."""
    time, loc = _time(lang, c.time), _adverbial(lang, c.loc)
    front: list[Token] = []
    if c.front:
        front, time, loc = (time, [], loc) if time else (loc, time, [])
    return front, time, loc, _adverbial(lang, c.goal)


def _clause(lang: str, c: Clause) -> list[Token]:
    """A clause and its subordinate clause, in any language."""
    if lang == "de":
        return _clause_de(c)
    clitics, obj, agree = _object(lang, c)
    fin, rest = _verb_group(lang, c, _person(c.subj), agree)
    if isinstance(c.subj, Pronoun) and lang in PRO_DROP:
        fin = [(fin[0][0], fin[0][1] | c.subj.bit, fin[0][2])]  # vedo = I see
    neg_before, neg_after = NEGATION[lang] if c.neg else ((), ())
    front, time, loc, goal = _front_and_adverbs(lang, c)
    out = (front + _intro(lang, c) + _subject(lang, c.subj) + [(w, c.neg_bit, "G") for w in neg_before]
           + clitics + fin + [(w, c.neg_bit, "G") for w in neg_after] + rest + obj + goal + loc + time)
    return out + (_clause(lang, c.sub) if c.sub else [])


# ---------------------------------------------------------------- realization, German


def _np_de(np: NP, case: str, neg_bit: int = 0) -> list[Token]:
    """A German noun phrase in a case, without its relative clause; ``neg_bit`` turns ein into kein."""
    g, c = "p" if np.plural else np.noun.gender["de"][0], CASE[case]
    det = "kein" if neg_bit else np.det
    if det == "the":
        out, declension = [(DE_THE[g][c], np.det_bit, "D")], "weak"
    elif det in DE_EIN_WORD:
        out, declension = [(DE_EIN_WORD[det] + DE_EIN_ENDING[g][c], np.det_bit | neg_bit, "D")], "mixed"
    elif det == "num":
        out, declension = [(np.numeral["de"], np.det_bit, "X")], "strong"
    else:
        out, declension = [], "strong"
    if np.adj is not None:
        out.append((np.adj.de_stem + DE_ADJ_ENDING[declension][g][c], np.adj_bit, "A"))
    if np.plural:
        noun = np.noun.de_dative_plural if case == "dat" else np.noun.forms["de"][1]
    else:
        noun = np.noun.forms["de"][0] if case == "nom" else np.noun.de_oblique
    return out + [(noun, np.noun_bit, "N")]


def _object_de(c: Clause) -> tuple[list[Token], list[Token], list[Token], list[Token], bool]:
    """German (pronoun, object NP, phrase after nicht, extraposed relative clause, nicht absorbed by kein)."""
    o, v = c.obj, c.verb
    if o is None or isinstance(o, RelPronoun):
        return [], [], [], [], False
    if isinstance(o, Predicate):
        return [], [], [(o.adj.forms["de"][0], o.bit, "A")], [], False
    if isinstance(o, PlaceName):
        return [], _place_name("de", o), [], [], False
    rel = _clause_de(o.rel) if isinstance(o, NP) and o.rel else []
    if v.de_prep:  # wartet nicht auf den Bus
        body = [(DE_PRONOUN[o.person][1], o.bit, "C")] if isinstance(o, Pronoun) else _np_de(o, "acc")
        return [], [], [(v.de_prep, c.verb_bit, "P")] + body, rel, False
    if isinstance(o, Pronoun):
        return [(DE_PRONOUN[o.person][CASE[v.de_case]], o.bit, "C")], [], [], [], False
    neg_bit = c.neg_bit if c.neg and o.det in ("a", "some") and o.rel is None else 0
    return [], _np_de(o, v.de_case, neg_bit), [], rel, bool(neg_bit)


def _clause_de(c: Clause) -> list[Token]:
    """A German clause: verb second (main) or last (subordinate), participle at the end.

    The object's relative clause moves to the end of the clause (the subject's stays after it),
    and in the middle field a pronoun object precedes a noun-phrase subject.
    """
    pronoun, obj, after_nicht, extraposed, absorbed = _object_de(c)
    fin, rest = _verb_group("de", c, _person(c.subj), "")
    nicht = [("nicht", c.neg_bit, "G")] if c.neg and not absorbed else []
    front, time, loc, goal = _front_and_adverbs("de", c)
    subj, intro = _subject("de", c.subj), _intro("de", c)
    middle = time + obj + nicht + after_nicht + goal + loc + rest
    if not intro and not front:
        out = subj + fin + pronoun + middle
    else:
        arguments = subj + pronoun if isinstance(c.subj, Pronoun) else pronoun + subj
        out = intro + arguments + middle + fin if intro else front + fin + arguments + middle
    return out + extraposed + (_clause_de(c.sub) if c.sub else [])


# ---------------------------------------------------------------- spelling pass

VOWELS = {"en": "aeiou", "it": "aeiouàèéìòùh", "fr": "aeiouyàâäéèêëîïôöùûüœh"}
SOUND_SENSITIVE = frozenset(VOWELS)  # languages with a/an-like alternatives or elision
NO_ELISION = {"fr": ("huit", "onze")}  # le huit, que onze: no elision before them


def _onset(lang: str, word: str) -> int:
    """Index of the alternative a word calls for: 0 consonant, 1 vowel, 2 Italian s+consonant/z/gn/ps."""
    w = word.lower()
    if lang == "en":
        return int(w[0] in VOWELS["en"] and not w.startswith(("uni", "use", "eu", "one")))
    if lang == "it" and (w[0] in "zxy" or w[:2] in ("gn", "ps", "pn") or (w[0] == "s" and w[1:2] not in "aeiouè")):
        return 2
    return int(w[0] in VOWELS.get(lang, "") and not w.startswith(NO_ELISION.get(lang, ())))


def _finish(lang: str, tokens: list[Token]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[bool, ...]]:
    """Resolve alternatives, elide, contract preposition + article, glue elided words: (words, masks, content)."""
    forms = [t[0] for t in tokens]
    if lang in SOUND_SENSITIVE:
        following, elision = "", ELISION.get(lang, {})
        for i in range(len(forms) - 1, -1, -1):
            form = forms[i]
            onset = _onset(lang, following) if following else 0
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


# ---------------------------------------------------------------- vocabulary

ELISION_FOLLOWERS = {  # word classes that can follow each elided word (default: singular noun or adjective)
    "fr": {"l'": ("noun_sg", "adj_sg", "finite"), "d'": ("noun_sg", "noun_other", "det"), "j'": ("finite_1sg",),
           "m'": ("finite",), "n'": ("finite",), "qu'": ("det",)},
    "it": {"l'": ("noun_sg", "adj_sg", "finite")},
}


def _strings(obj) -> list[str]:
    """Every string inside nested dicts/tuples (alternatives included), multi-word strings split."""
    if isinstance(obj, str):
        return obj.split()
    values = obj.values() if isinstance(obj, dict) else obj
    return [s for v in values for s in _strings(v)]


def _lexical_words(lang: str, lex: Lexicon) -> dict[str, list[str]]:
    """Every form the lexicon can put in a sentence, by word class."""
    words: dict[str, list[str]] = {k: [] for k in ("noun_sg", "noun_other", "adj_sg", "adj_other", "finite",
                                                   "finite_1sg", "other")}
    for n in lex.nouns:
        words["noun_sg"].append(n.forms[lang][0])
        words["noun_other"] += [f for f in n.forms[lang][1:] if f]
        words["noun_other"] += [n.de_oblique, n.de_dative_plural] if lang == "de" else []
        words["other"] += _strings(n.at.get(lang, ""))
    for a in lex.adjectives:
        forms = a.forms[lang]
        words["adj_sg"] += [forms[0], forms[1]] + ([a.fr_before_vowel] if lang == "fr" and a.fr_before_vowel else [])
        words["adj_other"] += [forms[2], forms[3]]
        if lang == "de":
            words["adj_other"] += [a.de_stem + e for table in DE_ADJ_ENDING.values() for e in _strings(table)]
    for v in lex.verbs:
        words["finite"] += [*v.present[lang], *v.past.get(lang, ())]
        words["finite_1sg"].append(v.present[lang][0])
        participle = v.participle.get(lang, "")
        if participle:
            words["other"] += [_participle(lang, participle, gn) for gn in GN_INDEX] if lang != "de" else [participle]
        words["other"] += [v.en_prep] if lang == "en" and v.en_prep else [v.de_prep] if lang == "de" and v.de_prep else []
    words["other"] += [w[lang] for w in lex.numbers.values()] + [w for t in lex.times for w, _ in t.words[lang]]
    words["other"] += _strings([(p.name[lang], p.at[lang], p.to[lang]) for p in lex.places])
    words["other"] += _strings([p.words[lang] for p in lex.prepositions])
    return words


def _function_words(lang: str) -> dict[str, list[str]]:
    """Every word of the function-word tables, by word class."""
    if lang == "de":
        endings = [e for forms in DE_EIN_ENDING.values() for e in forms]
        determiners = _strings((DE_THE, DE_RELATIVE)) + [w + e for w in DE_EIN_WORD.values() for e in endings]
        finite = _strings((AUXILIARY["haben"], AUXILIARY["sein"], COPULA["de"]))
        others = _strings((DE_PRONOUN, "nicht"))
    else:
        determiners = _strings([form for table in DETERMINERS[lang].values() for tokens in table.values()
                                for form, _ in tokens])
        finite = _strings((AUXILIARY.get(lang, ()), DO if lang == "en" else (),
                           (COPULA["ser"], COPULA["estar"]) if lang == "es" else COPULA[lang]))
        others = _strings((SUBJECT_PRONOUN.get(lang, {}), OBJECT_PRONOUN[lang], NEGATION[lang], RELATIVE[lang],
                           "who" if lang == "en" else "", "a" if lang == "es" else ""))
    others += _strings([c[lang] for c in CONJUNCTIONS.values()]) + [GOAL[lang]]
    return {"det": determiners, "finite": finite, "finite_1sg": list(AUXILIARY.get(lang, ())[:1]), "other": others}


@lru_cache(maxsize=None)
def _vocabulary(lang: str) -> frozenset[str]:
    """All surface words of a language: plain forms, contractions and elided combinations."""
    classes = _lexical_words(lang, load_lexicon())
    for name, words in _function_words(lang).items():
        classes[name] = classes.get(name, []) + words
    plain = {w for words in classes.values() for w in words} | set(CONTRACTIONS[lang].values())
    plain |= {ELISION.get(lang, {}).get(w, w) for w in plain}
    followers = ELISION_FOLLOWERS.get(lang, {})
    glued = {
        elided + w
        for elided in sorted(w for w in plain if w.endswith("'"))
        for name in followers.get(elided, ("noun_sg", "adj_sg"))
        for w in classes[name]
        if _onset(lang, w) == 1
    }
    return frozenset({w for w in plain if not w.endswith("'")} | glued)


# ---------------------------------------------------------------- sampling


@dataclass(frozen=True)
class Mix:
    """How often each construction is drawn."""

    because: float = 0.13  # main clause + "because" clause
    saying: float = 0.05  # "X says that" + clause
    relative: float = 0.16  # a relative clause on the subject or the object
    kinds: tuple = (("trans", 0.56), ("intrans", 0.30), ("copula", 0.14))
    time: float = 0.42
    front: float = 0.5  # of clauses with a time adverbial, share that start with it
    front_place: float = 0.15  # of clauses with a place and no time, share that start with the place
    neg: float = 0.28
    neg_sub: float = 0.15  # in subordinate and relative clauses
    past: float = 0.45
    subject_pronoun: float = 0.13
    object_pronoun: float = 0.16
    city_object: float = 0.3  # for verbs that take city names
    adjective: float = 0.3
    plural: float = 0.3  # of definite and possessive noun phrases
    place_intrans: float = 0.7
    place_trans: float = 0.12
    goal: float = 0.6  # for verbs that take a destination
    place_name: float = 0.3  # of places and destinations, share that are cities or countries
    spatial: float = 0.35  # of other places, share with "next to", "behind"... instead of the noun's own "in/at"
    determiners: dict = field(default_factory=lambda: {  # by role of the noun phrase
        "subject": (("the", 0.58), ("a", 0.15), ("my", 0.08), ("our", 0.05), ("num", 0.14)),
        "object": (("the", 0.44), ("a", 0.18), ("my", 0.07), ("our", 0.05), ("num", 0.09), ("one", 0.03), ("some", 0.14)),
        "negated": (("the", 0.5), ("a", 0.25), ("my", 0.07), ("our", 0.04), ("some", 0.14)),  # no numbers
        "mass": (("the", 0.5), ("my", 0.08), ("our", 0.05), ("some", 0.37)),  # objects that are mass nouns
        "ground": (("the", 0.75), ("a", 0.12), ("my", 0.09), ("our", 0.04)),  # of places and destinations
    })


COUNTS = tuple(range(2, 21)) + tuple(range(30, 100, 10))


class _Pools:
    """Lexicon entries grouped for sampling (built once per Grammar, lists in file order)."""

    def __init__(self, lex: Lexicon) -> None:
        self.lex = lex
        self.transitive = [v for v in lex.verbs if "t" in v.use]
        self.intransitive = [v for v in lex.verbs if "i" in v.use]
        self.saying = [v for v in lex.verbs if "c" in v.use]
        self.places = list(lex.places)
        self.cities = [p for p in lex.places if p.kind == "city"]
        self.locations = [n for n in lex.nouns if n.at]
        self.destinations = [n for n in self.locations if n.goal]
        self.adjectives = {n: [a for a in lex.adjectives if fits(a.applies, n)] for n in lex.nouns}
        self.describable = [n for n in lex.nouns if self.adjectives[n]]
        direct = [v for v in self.transitive if not v.en_prep and not v.de_prep]  # no "the bus for which"
        self.relative_verbs = {  # verbs of which a noun can be the subject / direct object in a relative clause
            "subj": {n: [v for v in self.transitive + self.intransitive if fits(v.subj, n)] for n in lex.nouns},
            "obj": {n: [v for v in direct if fits(v.obj, n)] for n in lex.nouns},
        }
        self._nouns: dict[frozenset, list[Noun]] = {}

    def nouns(self, spec: frozenset[str]) -> list[Noun]:
        """Nouns admitted by a selection list."""
        if spec not in self._nouns:
            self._nouns[spec] = [n for n in self.lex.nouns if fits(spec, n)]
        return self._nouns[spec]

    def can_relativize(self, noun: Noun) -> bool:
        """Whether some verb can take the noun as subject or object in a relative clause."""
        return bool(self.relative_verbs["subj"][noun] or self.relative_verbs["obj"][noun])


class _FrameSampler:
    """Draws one frame; all randomness comes from ``rng``, so its state fixes the frame."""

    def __init__(self, pools: _Pools, mix: Mix, rng: random.Random) -> None:
        self.pools, self.mix, self.rng, self.bits = pools, mix, rng, 0

    def allocate(self, n: int) -> int:
        """Reserve n fresh concept bits; returns the index of the first."""
        self.bits += n
        return self.bits - n

    def bit(self) -> int:
        """A fresh concept bit."""
        return 1 << self.allocate(1)

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.rng.random() < p

    def pick(self, seq: Sequence):
        """A uniformly drawn element."""
        return seq[int(self.rng.random() * len(seq))]

    def weighted(self, table: Sequence[tuple[str, float]]) -> str:
        """A key drawn with its weight."""
        r = self.rng.random() * sum(w for _, w in table)
        for key, w in table:
            r -= w
            if r < 0:
                return key
        return table[-1][0]

    def sentence(self) -> Clause:
        """A whole sentence frame."""
        m, r = self.mix, self.rng.random()
        if r < m.because:
            sub = self.clause(main=False, conj="because")
            return replace(self.clause(main=True), sub=sub)
        if r < m.because + m.saying:
            return self.saying()
        if r < m.because + m.saying + m.relative:
            return self.with_relative()
        return self.clause(main=True)

    def clause(self, main: bool, conj: str = "", kind: str = "") -> Clause:
        """A simple clause; main clauses may have a (fronted) time adverbial."""
        m = self.mix
        kind = kind or self.weighted(m.kinds)
        time = None
        if main and self.chance(m.time):
            expr = self.pick(self.pools.lex.times)
            time = Time(expr, self.allocate(expr.parts))
        past = time.expr.tense == "past" if time and time.expr.tense != "any" else self.chance(m.past)
        neg = self.chance(m.neg if main else m.neg_sub)
        if kind == "copula":
            subj = self.np(self.pools.describable, "subject", describe=False)  # not "the short letter is long"
            verb, obj = None, Predicate(self.pick(self.pools.adjectives[subj.noun]), self.bit())
        else:
            verb = self.pick(self.pools.transitive if kind == "trans" else self.pools.intransitive)
            subj = self.subject(verb.subj)
            obj = self.object(verb, subj, neg) if kind == "trans" else None
        goal = self.adverbial(goal=True) if verb and "g" in verb.use and self.chance(m.goal) else None
        place_p = 1.0 if verb and "p" in verb.use else {"trans": m.place_trans, "intrans": m.place_intrans}.get(kind, 0.0)
        loc = self.adverbial(goal=False) if goal is None and self.chance(place_p) else None
        front = main and (self.chance(m.front) if time else loc is not None and self.chance(m.front_place))
        return Clause(subj, verb, obj, goal, loc, time, front, neg, past, self.bit(), self.bit(), self.bit(),
                      conj, self.bit() if conj else 0)

    def saying(self) -> Clause:
        """A "says that" sentence, in the present (a past would call for English backshift)."""
        verb = self.pick(self.pools.saying)
        subj = self.subject(verb.subj)
        return Clause(subj, verb, None, verb_bit=self.bit(), tense_bit=self.bit(),
                      sub=self.clause(main=False, conj="that"))

    def with_relative(self) -> Clause:
        """A main clause whose subject or object noun phrase gets a relative clause."""
        main = self.clause(main=True, kind=self.weighted((("trans", 0.6), ("intrans", 0.4))))
        slots = [s for s in ("subj", "obj") if isinstance(getattr(main, s), NP)
                 and self.pools.can_relativize(getattr(main, s).noun)]
        if not slots:
            return main
        slot = self.pick(slots)
        np = getattr(main, slot)
        return replace(main, **{slot: replace(np, rel=self.relative(np.noun, np.plural))})

    def relative(self, noun: Noun, plural: bool) -> Clause:
        """A relative clause about ``noun``: "who reads the book" or "that the boy reads"."""
        m, rel = self.mix, RelPronoun(noun, plural, self.bit())
        neg, past = self.chance(m.neg_sub), self.chance(m.past)
        as_object, as_subject = self.pools.relative_verbs["obj"][noun], self.pools.relative_verbs["subj"][noun]
        if as_object and (not as_subject or self.chance(0.4)):
            verb = self.pick(as_object)
            subj, obj, loc = self.subject(verb.subj, avoid=noun), rel, None
        else:
            verb = self.pick(as_subject)
            transitive = "t" in verb.use and not ("i" in verb.use and self.chance(0.4))
            subj, obj = rel, self.object(verb, rel, neg, avoid=noun) if transitive else None
            needs_place = "p" in verb.use or self.chance(m.place_intrans)
            loc = self.adverbial(goal=False) if not transitive and needs_place else None
        return Clause(subj, verb, obj, None, loc, None, False, neg, past, self.bit(), self.bit(), self.bit())

    def subject(self, spec: frozenset[str], avoid: Noun | None = None) -> Subject:
        """A subject: "I"/"we" (for verbs of people) or a noun phrase."""
        if "person" in spec and self.chance(self.mix.subject_pronoun):
            return Pronoun(self.pick(("1s", "1p")), self.bit())
        return self.np(self.pools.nouns(spec), "subject", avoid)

    def object(self, verb: Verb, subj: Subject, neg: bool, avoid: Noun | None = None) -> Object:
        """A direct object: a pronoun for people, a city for some verbs, else a noun phrase."""
        m, spec = self.mix, verb.obj
        if "person" in spec and self.chance(m.object_pronoun):
            persons = ("3sm", "3sf", "3p") if isinstance(subj, Pronoun) else ("1s", "1p", "3sm", "3sf", "3p")
            return Pronoun(self.pick(persons), self.bit())  # no "I see me"
        if CITY in spec and self.chance(m.city_object):
            return PlaceName(self.pick(self.pools.cities), self.bit())
        return self.np(self.pools.nouns(spec), "negated" if neg else "object", avoid or getattr(subj, "noun", None))

    def np(self, nouns: Sequence[Noun], role: str, avoid: Noun | None = None, describe: bool = True) -> NP:
        """A noun phrase over one of ``nouns`` (not ``avoid`` if there is a choice) with a determiner for its role."""
        m = self.mix
        noun = self.pick(nouns)
        if noun is avoid and len(nouns) > 1:
            noun = self.pick([n for n in nouns if n is not avoid])
        det = self.weighted(m.determiners["mass" if noun.mass and role in ("object", "negated") else role])
        if noun.mass and det in ("a", "one", "num"):
            det = "the"
        plural = not noun.mass and (det in ("num", "some") or (det in ("the", "my", "our") and role != "ground"
                                                                and self.chance(m.plural)))
        adjectives = self.pools.adjectives[noun]
        adj = self.pick(adjectives) if describe and adjectives and self.chance(m.adjective) else None
        numeral = self.pools.lex.numbers[self.pick(COUNTS)] if det == "num" else None
        return NP(noun, plural, det, numeral, adj, self.bit(), self.bit() if adj else 0, self.bit())

    def adverbial(self, goal: bool) -> Adverbial:
        """A place ("in the park", "next to the tree", "in London") or a destination ("to the station")."""
        m, bit = self.mix, self.bit()
        if self.chance(m.place_name):
            return Adverbial(PlaceName(self.pick(self.pools.places), self.bit()), None, goal, bit)
        if goal:
            return Adverbial(self.np(self.pools.destinations, "ground"), None, True, bit)
        if self.chance(m.spatial):
            prep = self.pick(self.pools.lex.prepositions)
            return Adverbial(self.np(self.pools.nouns(prep.grounds), "ground"), prep, False, bit)
        return Adverbial(self.np(self.pools.locations, "ground"), None, False, bit)


# ---------------------------------------------------------------- the public class


class Grammar:
    """Samples sentence frames and realizes them in the chosen languages with word alignments."""

    def __init__(self, langs: Sequence[str] = LANGS, max_words: int = 16, mix: Mix = Mix()) -> None:
        unknown = sorted(set(langs) - set(LANGS))
        if unknown or not langs:
            raise ValueError(f"languages must be a non-empty subset of {LANGS}, got {tuple(langs)}")
        if max_words < MIN_WORDS:
            raise ValueError(f"max_words must be at least {MIN_WORDS}, got {max_words}")
        self.langs, self.max_words, self.mix = tuple(langs), max_words, mix
        self.lexicon = load_lexicon()
        self._pools = _Pools(self.lexicon)

    def sample(self, rng: random.Random) -> Sentence:
        """A random sentence no longer than ``max_words`` in any language (a function of the rng state)."""
        for _ in range(1000):
            sentence = self.realize(_FrameSampler(self._pools, self.mix, rng).sentence())
            if max(map(len, sentence.words.values())) <= self.max_words:
                return sentence
        raise RuntimeError(f"no sentence of at most {self.max_words} words in 1000 draws")

    def realize(self, frame: Clause) -> Sentence:
        """A frame in every language of the grammar."""
        words, masks, content = {}, {}, {}
        for lang in self.langs:
            words[lang], masks[lang], content[lang] = _finish(lang, _clause(lang, frame))
        return Sentence(words, masks, content)

    def vocabulary(self, lang: str) -> set[str]:
        """Every word a sentence can contain in ``lang`` (a superset: some combinations never occur)."""
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}")
        return set(_vocabulary(lang))
