"""The synchronous grammar and its lexicon: determinism, limits, alignments, known translations."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from s2t.data.frames import (
    NP,
    Adverbial,
    Clause,
    PlaceName,
    Predicate,
    Pronoun,
    RelPronoun,
    Sentence,
    Time,
)
from s2t.data.grammar import LANGUAGES, Grammar
from s2t.data.lexicon import load_lexicon

LEX = load_lexicon()
WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")  # letters, with inner apostrophes/hyphens only


@pytest.fixture(scope="module")
def grammar() -> Grammar:
    return Grammar()


@pytest.fixture(scope="module")
def sample(grammar: Grammar) -> list[Sentence]:
    rng = random.Random(2024)
    return [grammar.sample(rng) for _ in range(2000)]


# ---------------------------------------------------------------- building frames by hand

_bits = itertools.count()


def bit() -> int:
    return 1 << next(_bits)


def np(noun: str, det: str = "the", plural: bool = False, adj: str | None = None, count: int = 0,
       rel: Clause | None = None) -> NP:
    return NP(LEX.noun(noun), plural, det, LEX.numbers[count] if count else None,
              LEX.adjective(adj) if adj else None, bit(), bit() if adj else 0, bit(), rel)


def clause(subj, verb: str | None, obj=None, **kw) -> Clause:
    return Clause(subj, LEX.verb(verb) if verb else None, obj, verb_bit=bit(), tense_bit=bit(), neg_bit=bit(),
                  conj_bit=bit() if kw.get("conj") else 0, **kw)


def at(noun_or_place: str, prep: str | None = None, goal: bool = False) -> Adverbial:
    ids = {p.id for p in LEX.places}
    ground = PlaceName(LEX.place(noun_or_place), bit()) if noun_or_place in ids else np(noun_or_place)
    return Adverbial(ground, LEX.preposition(prep) if prep else None, goal, bit())


def time(id: str) -> Time:
    expr = LEX.time(id)
    start = next(_bits)
    for _ in range(expr.parts - 1):
        next(_bits)
    return Time(expr, start)


def check(frame: Clause, **expected: str) -> Sentence:
    sentence = Grammar().realize(frame)
    assert {lang: sentence.text(lang) for lang in expected} == expected
    return sentence


# ---------------------------------------------------------------- sampling properties


def test_same_seed_same_sentences(grammar: Grammar) -> None:
    a, b = random.Random(7), random.Random(7)
    first = [grammar.sample(a) for _ in range(50)]
    assert first == [grammar.sample(b) for _ in range(50)]
    assert first != [grammar.sample(random.Random(8)) for _ in range(50)]
    assert first[0] == Grammar().sample(random.Random(7))  # a new grammar object draws the same


def test_every_language_within_max_words(sample: list[Sentence]) -> None:
    for s in sample:
        assert set(s.words) == set(LANGUAGES)
        assert all(1 <= len(s.words[lang]) <= 16 for lang in LANGUAGES)
    mean = sum(len(s.words[lang]) for s in sample for lang in LANGUAGES) / (len(sample) * len(LANGUAGES))
    assert 6.5 <= mean <= 9.5


def test_max_words_and_language_subset() -> None:
    g = Grammar(("de", "fr"), max_words=7)
    rng = random.Random(3)
    for _ in range(300):
        s = g.sample(rng)
        assert set(s.words) == {"de", "fr"} and max(len(w) for w in s.words.values()) <= 7
    with pytest.raises(ValueError):
        Grammar(("en", "xx"))
    with pytest.raises(ValueError):
        Grammar(max_words=2)


def test_alignment_in_range_and_every_content_word_linked(sample: list[Sentence]) -> None:
    for s in sample[:500]:
        for src, tgt in itertools.permutations(LANGUAGES, 2):
            links = s.alignment(src, tgt)
            assert links == sorted(set(links))
            assert all(0 <= i < len(s.words[src]) and 0 <= j < len(s.words[tgt]) for i, j in links)
            linked = {i for i, _ in links}
            assert all(i in linked for i, c in enumerate(s.content[src]) if c), (s.text(src), s.text(tgt))
            assert sorted((j, i) for i, j in links) == s.alignment(tgt, src)


def test_translation_is_not_monotone(sample: list[Sentence]) -> None:
    def crosses(links: list[tuple[int, int]]) -> bool:
        return any(i < k and j > m for (i, j), (k, m) in itertools.combinations(links, 2))

    share = {tgt: sum(crosses(s.alignment("en", tgt)) for s in sample[:500]) / 500 for tgt in ("it", "de")}
    assert share["it"] > 0.3 and share["de"] > 0.4, share


def test_orthography(sample: list[Sentence]) -> None:
    places = {w for p in LEX.places for lang in LANGUAGES for w in p.name[lang].split()}
    german_nouns = {f for n in LEX.nouns for f in (*n.forms["de"], n.de_oblique, n.de_dative_plural) if f}
    time_words = {w for t in LEX.times for lang in ("en", "de") for w, _ in t.words[lang]}
    allowed_capitals = {"en": places | time_words | {"I"}, "de": places | german_nouns | time_words}
    for s in sample:
        for lang in LANGUAGES:
            text = s.text(lang)
            assert "  " not in text and text == text.strip() and not re.search(r"[\d\t\n.,;:!?\"()]", text)
            for w in s.words[lang]:
                assert WORD.fullmatch(w), (lang, w)
                if w != w.lower():
                    assert w in allowed_capitals.get(lang, places), (lang, w, text)


def test_vocabulary_covers_sampled_words(grammar: Grammar, sample: list[Sentence]) -> None:
    for lang in LANGUAGES:
        vocabulary = grammar.vocabulary(lang)
        used = {w for s in sample for w in s.words[lang]}
        assert used <= vocabulary, sorted(used - vocabulary)[:20]
        assert len(vocabulary) < 3 * len(used)  # a superset, but not a wild one


def test_constructions_all_occur(sample: list[Sentence]) -> None:
    texts = [s.text("de") for s in sample]
    for pattern in (r"\bweil\b", r"\bdass\b", r"\bnicht\b", r"\bkein", r"^\w+ (hat|haben|habe|ist|sind|bin) .* ge\w+$",
                    r"\b(im|am|zum|zur|beim)\b"):
        assert sum(bool(re.search(pattern, t)) for t in texts) > 40, pattern
    fr = [s.text("fr") for s in sample]
    assert sum(" pas " in f" {t} " for t in fr) > 200 and sum("'" in t for t in fr) > 300


# ---------------------------------------------------------------- the lexicon


def test_lexicon_size_and_parallel_concepts() -> None:
    lemmas = {lang: LEX.content_lemmas(lang) for lang in LANGUAGES}
    assert all(len(lemmas[lang]) >= 300 for lang in LANGUAGES)
    assert all(lemmas[lang].keys() == lemmas["en"].keys() for lang in LANGUAGES)
    assert len(LEX.nouns) >= 130 and len(LEX.adjectives) >= 50 and len(LEX.verbs) >= 60 and len(LEX.places) >= 30
    assert {1, 2, 13, 20, 30, 90} <= set(LEX.numbers)
    for n in LEX.nouns:
        assert n.forms["de"][0][0].isupper() and all(g in "mfn" for lang in LANGUAGES for g in n.gender[lang])
        assert n.mass or all(n.forms[lang][1] for lang in LANGUAGES)
    assert LEX.noun("egg").gender["it"] == ("m", "f") and LEX.noun("boy").de_oblique == "Jungen"


# ---------------------------------------------------------------- known translations


def test_adjective_agreement_and_noun_adjective_order() -> None:
    check(clause(np("dog"), "see", np("house", plural=True, adj="red")),
          en="the dog sees the red houses", it="il cane vede le case rosse", es="el perro ve las casas rojas",
          fr="le chien voit les maisons rouges", de="der Hund sieht die roten Häuser")


def test_clitic_before_verb_negation_and_participle_agreement() -> None:
    check(clause(np("woman"), "see", Pronoun("3sf", bit()), neg=True, past=True),
          en="the woman did not see her", it="la donna non l'ha vista", es="la mujer no la vio",
          fr="la femme ne l'a pas vue", de="die Frau hat sie nicht gesehen")
    check(clause(np("dog"), "see", Pronoun("3sm", bit())),
          en="the dog sees him", it="il cane lo vede", es="el perro lo ve", fr="le chien le voit", de="der Hund sieht ihn")


def test_german_verb_second_after_a_fronted_time() -> None:
    check(clause(np("dog"), "see", np("cat"), time=time("tomorrow"), front=True),
          en="tomorrow the dog sees the cat", it="domani il cane vede il gatto", es="mañana el perro ve al gato",
          fr="demain le chien voit le chat", de="morgen sieht der Hund die Katze")


def test_german_verb_final_subordinate_clause_and_contractions() -> None:
    sub = clause(np("dog"), "see", np("cat"), conj="because")
    s = check(clause(np("man"), "sleep", loc=at("park"), sub=sub),
              en="the man sleeps in the park because the dog sees the cat",
              it="l'uomo dorme nel parco perché il cane vede il gatto",
              es="el hombre duerme en el parque porque el perro ve al gato",
              fr="l'homme dort dans le parc parce que le chien voit le chat",
              de="der Mann schläft im Park weil der Hund die Katze sieht")
    assert {(3, 2), (4, 2)} <= set(s.alignment("en", "it"))  # in, the -> nel
    assert {(0, 0), (1, 0)} <= set(s.alignment("en", "fr"))  # the, man -> l'homme
    assert (9, 10) in s.alignment("en", "de")  # sees -> sieht, last


def test_perfekt_bracket_and_tenses() -> None:
    check(clause(np("boy"), "read", np("book"), past=True, time=time("yesterday")),
          en="the boy read the book yesterday", it="il ragazzo ha letto il libro ieri",
          es="el chico leyó el libro ayer", fr="le garçon a lu le livre hier", de="der Junge hat gestern das Buch gelesen")
    check(clause(np("girl", plural=True), "swim", loc=at("lake"), past=True),
          en="the girls swam at the lake", it="le ragazze hanno nuotato al lago", fr="les filles ont nagé au lac",
          de="die Mädchen sind am See geschwommen")


def test_destinations_places_and_cities() -> None:
    check(clause(np("woman"), "bring", np("letter"), goal=at("school", goal=True)),
          en="the woman brings the letter to the school", it="la donna porta la lettera alla scuola",
          es="la mujer trae la carta a la escuela", fr="la femme apporte la lettre à l'école",
          de="die Frau bringt den Brief zur Schule")
    check(clause(np("man"), "send", np("gift"), goal=at("switzerland", goal=True), past=True),
          fr="l'homme a envoyé le cadeau en Suisse", de="der Mann hat das Geschenk in die Schweiz geschickt")
    check(clause(np("man"), "work", loc=at("market")),
          it="l'uomo lavora al mercato", fr="l'homme travaille au marché", de="der Mann arbeitet auf dem Markt")
    check(clause(Pronoun("1p", bit()), "live", loc=at("london")),
          en="we live in London", it="viviamo a Londra", es="vivimos en Londres", fr="nous vivons à Londres",
          de="wir leben in London")
    check(clause(np("cat"), "sleep", loc=at("tree", prep="next_to")),
          it="il gatto dorme accanto all'albero", es="el gato duerme junto al árbol",
          fr="le chat dort à côté de l'arbre", de="die Katze schläft neben dem Baum")


def test_partitive_and_negated_indefinites() -> None:
    check(clause(np("boy"), "eat", np("bread", det="some")),
          en="the boy eats bread", it="il ragazzo mangia del pane", es="el chico come pan",
          fr="le garçon mange du pain", de="der Junge isst Brot")
    check(clause(np("boy"), "eat", np("bread", det="some"), neg=True),
          en="the boy does not eat bread", it="il ragazzo non mangia pane", es="el chico no come pan",
          fr="le garçon ne mange pas de pain", de="der Junge isst kein Brot")
    check(clause(np("dog"), "see", np("bird", det="a"), neg=True),
          it="il cane non vede un uccello", fr="le chien ne voit pas d'oiseau", de="der Hund sieht keinen Vogel")


def test_pro_drop_and_elision() -> None:
    s = check(clause(Pronoun("1s", bit()), "eat", np("apple"), past=True),
              en="I ate the apple", it="ho mangiato la mela", es="comí la manzana", fr="j'ai mangé la pomme",
              de="ich habe den Apfel gegessen")
    assert (0, 0) in s.alignment("en", "it") and (1, 0) in s.alignment("en", "es")  # I -> ho, ate -> comí


def test_relative_clauses() -> None:
    rel = clause(RelPronoun(LEX.noun("man"), False, bit()), "read", np("book"))
    check(clause(np("man", rel=rel), "sleep"),
          en="the man who reads the book sleeps", it="l'uomo che legge il libro dorme",
          es="el hombre que lee el libro duerme", fr="l'homme qui lit le livre dort",
          de="der Mann der das Buch liest schläft")
    rel = clause(np("man"), "write", RelPronoun(LEX.noun("letter"), False, bit()), past=True)
    check(clause(np("woman"), "read", np("letter", rel=rel)),
          en="the woman reads the letter that the man wrote", it="la donna legge la lettera che l'uomo ha scritto",
          fr="la femme lit la lettre que l'homme a écrite", de="die Frau liest den Brief den der Mann geschrieben hat")


def test_numbers_cases_and_articles() -> None:
    check(clause(np("woman"), "buy", np("apple", det="num", count=3, plural=True, adj="red")),
          en="the woman buys three red apples", it="la donna compra tre mele rosse",
          es="la mujer compra tres manzanas rojas", fr="la femme achète trois pommes rouges",
          de="die Frau kauft drei rote Äpfel")
    check(clause(np("dog"), "follow", np("boy")),
          it="il cane segue il ragazzo", es="el perro sigue al chico", de="der Hund folgt dem Jungen")
    check(clause(np("student", det="a"), "sleep"), en="a student sleeps", it="uno studente dorme", de="ein Student schläft")
    check(clause(np("student", plural=True), "sleep"), it="gli studenti dormono", fr="les étudiants dorment")
    check(clause(np("man", det="a", adj="beautiful"), "sleep"),
          en="a beautiful man sleeps", it="un uomo bello dorme", fr="un bel homme dort", de="ein schöner Mann schläft")
    check(clause(np("dog", det="one", adj="old"), "sleep"), en="one old dog sleeps", fr="un vieux chien dort")
    check(clause(np("dog", det="a", adj="old"), "sleep"), en="an old dog sleeps", it="un vecchio cane dorme")
    check(clause(np("bee", det="a"), "fly"), it="un'ape vola", es="una abeja vuela", fr="une abeille vole")
    check(clause(np("mother", det="my"), "sleep"), it="mia madre dorme", es="mi madre duerme", fr="ma mère dort")
    check(clause(np("mother", det="my", adj="old"), "sleep"), it="la mia vecchia madre dorme")
    check(clause(np("friend", det="my"), "sleep"), it="il mio amico dorme", fr="mon ami dort", de="mein Freund schläft")
    check(clause(np("uncle", plural=True), "help", np("child", det="our")),
          it="gli zii aiutano il nostro bambino", es="los tíos ayudan a nuestro niño", de="die Onkel helfen unserem Kind")


def test_copula_ser_estar() -> None:
    check(clause(np("soup"), None, Predicate(LEX.adjective("cold"), bit())),
          en="the soup is cold", it="la zuppa è fredda", es="la sopa está fría", fr="la soupe est froide",
          de="die Suppe ist kalt")
    check(clause(np("house", plural=True), None, Predicate(LEX.adjective("big"), bit()), neg=True, past=True),
          en="the houses were not big", it="le case non erano grandi", es="las casas no eran grandes",
          fr="les maisons n'étaient pas grandes", de="die Häuser waren nicht groß")
