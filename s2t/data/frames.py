"""Sentence frames (what a sentence means, in no particular language) and the realized ``Sentence``.

A *frame* is a language-independent sentence: clauses (subject, verb, object, place,
destination, time, negation, tense), noun phrases (determiner, adjective, noun, relative
clause) and subordinate clauses ("because ...", "says that ..."). Every piece of meaning
carries its own *concept bit*; ``s2t.data.grammar`` draws frames and ``s2t.data.realize``
says them in a language. A ``Sentence`` holds one frame's words in every language, each
word with the concept bits it realizes, from which the word alignments follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from s2t.data.lexicon import Adjective, Noun, Place, Preposition, TimeExpr, Verb


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

