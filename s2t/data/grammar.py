"""A synchronous grammar: sample a sentence meaning, say it in five languages, align the words.

The sampler draws sentence frames (``s2t.data.frames``) with the probabilities in ``Mix``;
selection lists in the lexicon keep them sensible. Every piece of meaning gets its own
*concept bit* while the frame is drawn. ``Grammar`` realizes each frame in the chosen
languages (``s2t.data.realize``), so words that share a concept bit are aligned, and lists
every word a language's sentences can contain (``Grammar.vocabulary``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Sequence

from s2t.data.frames import (
    NP,
    Adverbial,
    Clause,
    Object,
    PlaceName,
    Predicate,
    Pronoun,
    RelPronoun,
    Sentence,
    Subject,
    Time,
)
from s2t.data.function_words import (
    AUXILIARY,
    CONJUNCTIONS,
    CONTRACTIONS,
    COPULA,
    DE_ADJ_ENDING,
    DE_EIN_ENDING,
    DE_EIN_WORD,
    DE_PRONOUN,
    DE_RELATIVE,
    DE_THE,
    DETERMINERS,
    DO,
    ELISION,
    GN_INDEX,
    GOAL,
    NEGATION,
    OBJECT_PRONOUN,
    RELATIVE,
    SUBJECT_PRONOUN,
)
from s2t.data.lexicon import CITY, LANGUAGES, Lexicon, Noun, Verb, fits, load_lexicon
from s2t.data.realize import agreeing_participle, clause_tokens
from s2t.data.spelling import onset_index, spell

__all__ = ["LANGUAGES", "Grammar"]

MIN_WORDS = 4  # below this too few frames fit ("the dog sleeps" already takes 3 words)

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
            words["other"] += ([agreeing_participle(lang, participle, gn) for gn in GN_INDEX]
                               if lang != "de" else [participle])
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
        if onset_index(lang, w) == 1
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

    def __init__(self, langs: Sequence[str] = LANGUAGES, max_words: int = 16, mix: Mix = Mix()) -> None:
        unknown = sorted(set(langs) - set(LANGUAGES))
        if unknown or not langs:
            raise ValueError(f"languages must be a non-empty subset of {LANGUAGES}, got {tuple(langs)}")
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
            words[lang], masks[lang], content[lang] = spell(lang, clause_tokens(lang, frame))
        return Sentence(words, masks, content)

    def vocabulary(self, lang: str) -> set[str]:
        """Every word a sentence can contain in ``lang`` (a superset: some combinations never occur)."""
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        return set(_vocabulary(lang))
