"""The multilingual lexicon: typed entries loaded from the TSV files in ``s2t/data/lexicon/``.

Each file holds one word class: one row per concept, one column per language. A language's cell
lists that language's forms separated by ``|`` in a fixed order that the comment at the top of
the file spells out (for instance a verb's Italian cell is ``vedo|vede|vediamo|vedono|visto``).
Semantic classes (``person``, ``animal``, ``fruit``...) and selection lists on verbs,
adjectives and prepositions keep sampled sentences sensible ("the woman reads a letter", not
"the letter reads a woman"). ``load_lexicon()`` parses the files once and checks every cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from s2t.data.manifest import LANGUAGES

DATA = Path(__file__).with_name("lexicon")
NOUN_CLASSES = frozenset(
    "person animal fruit dish food drink text clothes vessel vehicle furniture thing plant location".split()
)
GROUPS = {  # shorthands usable in selection lists
    "edible": frozenset({"fruit", "dish", "food"}),
    "goods": frozenset({"fruit", "dish", "food", "drink", "text", "clothes", "vessel", "vehicle", "thing", "furniture"}),
    "*": NOUN_CLASSES,
}
CITY = "city"  # in a verb's object list: city names can be its object ("visit London")


class LexiconError(ValueError):
    """A lexicon file has a malformed row."""


@dataclass(frozen=True, eq=False)
class Noun:
    """A noun concept: per-language forms and grammatical genders."""

    id: str
    cls: str
    kin: bool  # Italian: no article after a possessive in the singular ("mia madre")
    mass: bool  # singular only; partitive determiner ("du pain", "del pane")
    forms: dict[str, tuple[str, str]]  # lang -> (singular, plural); plural "" for mass nouns
    gender: dict[str, tuple[str, str]]  # lang -> (singular, plural) gender, m/f/n; English "m"
    de_oblique: str  # German accusative/dative singular (weak nouns: "den Jungen")
    at: dict[str, str]  # locations only: the preposition for being there ("in", "nel", "am")
    goal: bool  # locations that can be a destination ("to the station")

    @property
    def de_dative_plural(self) -> str:
        """German dative plural: -n added unless the plural ends in -n or -s (den Hunden, den Autos)."""
        plural = self.forms["de"][1]
        return plural if plural.endswith(("n", "s")) else plural + "n"


@dataclass(frozen=True, eq=False)
class Adjective:
    """An adjective with its agreement forms (m.sg, f.sg, m.pl, f.pl) per language."""

    id: str
    applies: frozenset[str]  # noun classes and noun ids it can describe
    es_copula: str  # "ser" or "estar"
    forms: dict[str, tuple[str, str, str, str]]  # en/de: the same (predicative) form four times
    pre: frozenset[str]  # languages in which it precedes the noun
    fr_before_vowel: str  # French prenominal masculine singular before a vowel ("bel") or ""
    de_stem: str  # German stem that takes the declension endings ("teur" for teuer)


@dataclass(frozen=True, eq=False)
class Verb:
    """A verb with present and past forms for 1sg, 3sg, 1pl, 3pl in every language."""

    id: str
    use: str  # letters: t transitive, i intransitive, p needs a place, g destination, c "that" clause
    subj: frozenset[str]
    obj: frozenset[str]
    present: dict[str, tuple[str, str, str, str]]
    past: dict[str, tuple[str, str, str, str]]  # en simple past, es pretérito indefinido
    participle: dict[str, str]  # it, fr, de (compound past), "" elsewhere
    en_base: str
    en_prep: str  # "for" in "wait for"
    de_aux: str  # "haben" or "sein"
    de_case: str  # case of the German object: "acc" or "dat"
    de_prep: str  # German prepositional object ("warten auf" + accusative) or ""


@dataclass(frozen=True, eq=False)
class Place:
    """A city or a country with its name and its "in X" / "to X" prepositions per language."""

    id: str
    kind: str  # "city" or "country"
    name: dict[str, str]
    at: dict[str, tuple[str, ...]]
    to: dict[str, tuple[str, ...]]


@dataclass(frozen=True, eq=False)
class Preposition:
    """A spatial preposition ("next to") with the ground nouns it combines with."""

    id: str
    grounds: frozenset[str]
    words: dict[str, tuple[str, ...]]


@dataclass(frozen=True, eq=False)
class TimeExpr:
    """A time adverbial; each word carries a bit mask over the expression's parts (tags)."""

    id: str
    tense: str  # "past", "pres" or "any"
    parts: int  # number of distinct tags
    words: dict[str, tuple[tuple[str, int], ...]]  # lang -> ((word, part mask), ...)


@dataclass(frozen=True)
class Lexicon:
    """All entries, in file order."""

    nouns: tuple[Noun, ...]
    adjectives: tuple[Adjective, ...]
    verbs: tuple[Verb, ...]
    places: tuple[Place, ...]
    prepositions: tuple[Preposition, ...]
    times: tuple[TimeExpr, ...]
    numbers: dict[int, dict[str, str]]  # value -> lang -> word

    def noun(self, id: str) -> Noun:
        """The noun with this id."""
        return _find(self.nouns, id)

    def adjective(self, id: str) -> Adjective:
        """The adjective with this id."""
        return _find(self.adjectives, id)

    def verb(self, id: str) -> Verb:
        """The verb with this id."""
        return _find(self.verbs, id)

    def place(self, id: str) -> Place:
        """The city or country with this id."""
        return _find(self.places, id)

    def preposition(self, id: str) -> Preposition:
        """The spatial preposition with this id."""
        return _find(self.prepositions, id)

    def time(self, id: str) -> TimeExpr:
        """The time expression with this id."""
        return _find(self.times, id)

    def content_lemmas(self, lang: str) -> dict[str, str]:
        """Concept id -> citation form of every content word (nouns, adjectives, verbs, places, numbers, times)."""
        out = {f"noun:{n.id}": n.forms[lang][0] for n in self.nouns}
        out |= {f"adj:{a.id}": a.forms[lang][0] for a in self.adjectives}
        out |= {f"verb:{v.id}": v.en_base if lang == "en" else v.present[lang][1] for v in self.verbs}
        out |= {f"place:{p.id}": p.name[lang] for p in self.places}
        out |= {f"num:{k}": w[lang] for k, w in self.numbers.items()}
        out |= {f"time:{t.id}": " ".join(w for w, _ in t.words[lang]) for t in self.times}
        return out


def fits(spec: frozenset[str], noun: Noun) -> bool:
    """Whether a selection list (classes and noun ids) admits the noun."""
    return noun.cls in spec or noun.id in spec


def _find(entries: tuple, id: str):
    """The entry with this id (KeyError if none)."""
    for entry in entries:
        if entry.id == id:
            return entry
    raise KeyError(id)


def _rows(name: str) -> list[dict[str, str]]:
    """The rows of a lexicon file as dicts keyed by the header; '#' lines are comments."""
    lines = [ln for ln in (DATA / name).read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) != len(header):
            raise LexiconError(f"{name}: {len(cells)} columns instead of {len(header)} in {line!r}")
        rows.append(dict(zip(header, cells)))
    return rows


def _forms(row: dict[str, str], lang: str, counts: tuple[int, ...]) -> list[str]:
    """A language cell split on '|', checked to have one of the allowed numbers of forms."""
    forms = row[lang].split("|")
    if len(forms) not in counts or not all(forms):
        raise LexiconError(f"{row[next(iter(row))]}: {lang} cell {row[lang]!r} needs {' or '.join(map(str, counts))} forms")
    return forms


def _spec(text: str) -> frozenset[str]:
    """A selection list with its groups expanded."""
    out: set[str] = set()
    for item in text.split():
        out |= GROUPS.get(item, {item})
    return frozenset(out) - {"-"}


def _noun(row: dict[str, str], at: dict[str, dict[str, str]]) -> Noun:
    """A noun row (and its locative prepositions if it is a location)."""
    mass = row["flags"] == "mass"
    n = 1 if mass else 2
    forms, gender = {"en": tuple(_forms(row, "en", (n,)) + [""] * (2 - n))}, {"en": ("m", "m")}
    for lang in LANGUAGES[1:]:
        cell = _forms(row, lang, (n + 1, n + 2) if lang == "de" else (n + 1,))
        forms[lang] = (cell[1], cell[2] if not mass else "")
        sg, _, pl = cell[0].partition("/")
        gender[lang] = (sg, pl or sg)
    de = row["de"].split("|")
    loc = at.get(row["id"], {})
    if (row["class"] == "location") != bool(loc) or row["class"] not in NOUN_CLASSES:
        raise LexiconError(f"{row['id']}: class {row['class']!r} and locatives.tsv disagree")
    return Noun(
        id=row["id"], cls=row["class"], kin=row["flags"] == "kin", mass=mass, forms=forms, gender=gender,
        de_oblique=de[3] if len(de) == 4 else de[1], at={lang: loc[lang] for lang in LANGUAGES} if loc else {},
        goal=loc.get("goal") == "y",
    )


def _adjective(row: dict[str, str]) -> Adjective:
    """An adjective row; '^' marks prenominal placement."""
    forms, pre = {"en": (row["en"],) * 4}, {"en", "de"}
    for lang in ("it", "es", "fr"):
        cell = _forms(row, lang, (4, 5) if lang == "fr" else (4,))
        if cell[0].startswith("^"):
            pre.add(lang)
            cell[0] = cell[0][1:]
        forms[lang] = tuple(cell[:4])
    fr = row["fr"].split("|")
    de = _forms(row, "de", (1, 2))
    forms["de"] = (de[0],) * 4
    if row["copula"] not in ("ser", "estar"):
        raise LexiconError(f"{row['id']}: copula must be ser or estar")
    return Adjective(
        id=row["id"], applies=_spec(row["applies"]), es_copula=row["copula"], forms=forms, pre=frozenset(pre),
        fr_before_vowel=fr[4] if len(fr) == 5 else "", de_stem=de[-1],
    )


def _verb(row: dict[str, str]) -> Verb:
    """A verb row."""
    en = _forms(row, "en", (3, 4))
    it, fr = _forms(row, "it", (5,)), _forms(row, "fr", (5,))
    es, de = _forms(row, "es", (8,)), _forms(row, "de", (5, 6))
    gov = de[5] if len(de) == 6 else ""
    if de[4] not in ("haben", "sein") or set(row["use"]) - set("tipgc"):
        raise LexiconError(f"{row['id']}: bad auxiliary or use")
    return Verb(
        id=row["id"], use=row["use"], subj=_spec(row["subj"]), obj=_spec(row["obj"]),
        present={"en": (en[0], en[1], en[0], en[0]), "it": tuple(it[:4]), "es": tuple(es[:4]), "fr": tuple(fr[:4]),
                 "de": (de[0], de[1], de[2], de[2])},
        past={"en": (en[2],) * 4, "es": tuple(es[4:])},
        participle={"it": it[4], "fr": fr[4], "de": de[3]},
        en_base=en[0], en_prep=en[3] if len(en) == 4 else "", de_aux=de[4],
        de_case="dat" if gov == "dat" else "acc", de_prep="" if gov in ("", "dat") else gov,
    )


def _place(row: dict[str, str]) -> Place:
    """A city/country row: name|in-preposition|to-preposition."""
    cells = {lang: _forms(row, lang, (3,)) for lang in LANGUAGES}
    return Place(
        id=row["id"], kind=row["kind"], name={lang: c[0] for lang, c in cells.items()},
        at={lang: tuple(c[1].split()) for lang, c in cells.items()},
        to={lang: tuple(c[2].split()) for lang, c in cells.items()},
    )


def _time(row: dict[str, str]) -> TimeExpr:
    """A time row; checks that every language uses the same tags."""
    tagged = {lang: [w.partition("/") for w in row[lang].split()] for lang in LANGUAGES}
    tags = sorted({t for ws in tagged.values() for _, _, tag in ws for t in tag})
    full = (1 << len(tags)) - 1 if tags else 1
    words = {}
    for lang, ws in tagged.items():
        used = {t for _, _, tag in ws for t in tag}
        if tags and used != set(tags):
            raise LexiconError(f"{row['id']}: {lang} uses tags {sorted(used)}, expected {tags}")
        words[lang] = tuple((w, sum(1 << tags.index(t) for t in tag) if tag else full) for w, _, tag in ws)
    return TimeExpr(id=row["id"], tense=row["tense"], parts=max(1, len(tags)), words=words)


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Parse and check every lexicon file (once per process)."""
    at = {r["noun"]: r for r in _rows("locatives.tsv")}
    nouns = tuple(_noun(r, at) for r in _rows("nouns.tsv"))
    missing = sorted(set(at) - {n.id for n in nouns})
    if missing:
        raise LexiconError(f"locatives.tsv names unknown nouns {missing}")
    lexicon = Lexicon(
        nouns=nouns,
        adjectives=tuple(_adjective(r) for r in _rows("adjectives.tsv")),
        verbs=tuple(_verb(r) for r in _rows("verbs.tsv")),
        places=tuple(_place(r) for r in _rows("places.tsv")),
        prepositions=tuple(
            Preposition(r["id"], _spec(r["grounds"]), {lang: tuple(r[lang].split()) for lang in LANGUAGES})
            for r in _rows("prepositions.tsv")
        ),
        times=tuple(_time(r) for r in _rows("time.tsv")),
        numbers={int(r["value"]): {lang: r[lang] for lang in LANGUAGES} for r in _rows("numbers.tsv")},
    )
    _check_selections(lexicon)
    return lexicon


def _check_selections(lexicon: Lexicon) -> None:
    """Every name in a selection list is a noun class, a noun id or ``city`` (catches typos)."""
    known = NOUN_CLASSES | {n.id for n in lexicon.nouns} | {CITY}
    specs = [(v.id, v.subj | v.obj) for v in lexicon.verbs] + [(a.id, a.applies) for a in lexicon.adjectives]
    for id, spec in specs + [(p.id, p.grounds) for p in lexicon.prepositions]:
        if spec - known:
            raise LexiconError(f"{id}: unknown names {sorted(spec - known)} in a selection list")
