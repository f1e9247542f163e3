"""Realization: turn a sentence frame into the words of one language, with their concept masks.

A realizer turns a frame (``s2t.data.frames``) into tokens ``(form, concept mask, kind)`` in
one language's word order. English, Italian, Spanish and French share one clause template
(subject, negation, object clitics, finite verb, participle, object, adverbials) whose
differences are tables (``s2t.data.function_words``): clitics before the verb, pro-drop,
ne...pas, do-support, articles, contractions. German has its own template: verb second in main
clauses, verb last in subordinate ones, the Perfekt bracket, nicht/kein and cases. Noun phrases
agree in gender, number (and German case). ``clause_tokens`` realizes a clause in any language;
``s2t.data.spelling.spell`` turns its tokens into words.

Two words are aligned when their masks share a bit, so contractions, pro-drop (it "vedo" = en
"I see"), compound tenses and ne...pas give one-to-many links. Only function words can stay
unaligned: determiners without a counterpart (fr "des", it "dei") and the Spanish personal
"a", whose mask is empty.
"""

from __future__ import annotations

from s2t.data.frames import (
    NP,
    Adverbial,
    Clause,
    PlaceName,
    Predicate,
    Pronoun,
    RelPronoun,
    Subject,
    Time,
)
from s2t.data.function_words import (
    AUXILIARY,
    CASE,
    CONJUNCTIONS,
    COPULA,
    DE_ADJ_ENDING,
    DE_EIN_ENDING,
    DE_EIN_WORD,
    DE_PRONOUN,
    DE_RELATIVE,
    DE_THE,
    DETERMINERS,
    DO,
    GN_INDEX,
    GOAL,
    NEGATED_DETERMINER,
    NEGATION,
    OBJECT_PRONOUN,
    PARTICIPLE_AGREEMENT,
    PRO_DROP,
    RELATIVE,
    SUBJECT_PRONOUN,
)
from s2t.data.lexicon import Adjective, Noun

Token = tuple  # (form, or sound-dependent alternatives indexed by onset_index; concept mask; kind)
CONTENT_KINDS = frozenset("NAVXLT")  # noun, adjective, lexical verb, numeral, place name, time word


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


def agreeing_participle(lang: str, participle: str, gn: str) -> str:
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
    return out + (clause_tokens(lang, np.rel) if np.rel else [])


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
        return [(aux, c.tense_bit, "F")], [(agreeing_participle(lang, v.participle[lang], agree), c.verb_bit, "V")]
    return [((v.past if c.past else v.present)[lang][person], both, "V")], []


def _front_and_adverbs(lang: str, c: Clause) -> tuple[list[Token], list[Token], list[Token], list[Token]]:
    """(fronted adverbial, time, place, destination); the fronted one is left out of its slot."""
    time, loc = _time(lang, c.time), _adverbial(lang, c.loc)
    front: list[Token] = []
    if c.front:
        front, time, loc = (time, [], loc) if time else (loc, time, [])
    return front, time, loc, _adverbial(lang, c.goal)


def clause_tokens(lang: str, c: Clause) -> list[Token]:
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
    return out + (clause_tokens(lang, c.sub) if c.sub else [])


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
