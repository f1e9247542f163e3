"""The SentencePiece tokenizer: exact round trips, tags, serialisation and the CLI."""

from __future__ import annotations

import io
import random
import unicodedata
from pathlib import Path

import pytest
import sentencepiece as spm

from s2t.data.manifest import ManifestRow, write_manifest
from s2t.tokenizer import Tokenizer, TokenizerError, main

LANGS = ("en", "it", "es", "fr", "de")
TASKS = ("asr", "st")

# Subject, verb, object and place words per language, with accents, apostrophes and umlauts.
WORDS = {
    "en": (["the dog", "the man", "the girl's cat"], ["sees", "doesn't see", "follows"], ["the boy", "a bird"], ["in London", "at home"]),
    "it": (["il cane", "l'uomo", "la città"], ["vede", "segue", "è già con"], ["l'amico", "il perché"], ["a Londra", "là giù"]),
    "es": (["el niño", "la señora", "el pingüino"], ["ve", "sigue", "llamó a"], ["la canción", "el árbol"], ["en España", "allí también"]),
    "fr": (["l'homme", "le garçon", "la sœur"], ["voit", "n'aime pas", "suit"], ["l'élève", "un naïf"], ["à Paris", "où ça ?"]),
    "de": (["der Hund", "das Mädchen", "die Straße"], ["hat gesehen", "grüßt", "überholt"], ["die Katze", "den Bär"], ["in München", "heute früh"]),
}
FIXED = ["il cane grande vede l'uomo a Londra", "der Hund hat die Katze gesehen"]


def sentences(n: int = 300, seed: int = 0) -> list[str]:
    """Deterministic multilingual sentences, the fixed examples, an NFD-accented one and angle brackets."""
    rng = random.Random(seed)
    out = list(FIXED) + [unicodedata.normalize("NFD", "perché la città è là"), 'if a < b then b > a']
    while len(out) < n:
        subject, verb, obj, place = (rng.choice(options) for options in WORDS[rng.choice(LANGS)])
        out.append(f"{subject[0].upper()}{subject[1:]} {verb} {obj} {place}")
    return out


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    """The training sentences."""
    return sentences()


@pytest.fixture(scope="module")
def tok(corpus: list[str]) -> Tokenizer:
    """A tokenizer trained on the multilingual corpus."""
    return Tokenizer.train(corpus, vocab_size=250, languages=LANGS, tasks=TASKS)


def test_round_trip_is_exact(tok: Tokenizer, corpus: list[str]) -> None:
    for text in corpus + ["l'uomo  e  la sœur ", " Straße"]:
        ids = tok.encode(text)
        assert tok.unk_id not in ids and tok.decode(ids) == text


def test_nfd_text_keeps_its_form(tok: Tokenizer, corpus: list[str]) -> None:
    nfd = corpus[2]
    assert nfd != unicodedata.normalize("NFC", nfd) and tok.decode(tok.encode(nfd)) == nfd


def test_special_ids_and_tag_layout(tok: Tokenizer) -> None:
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert [tok.lang_id(lang) for lang in LANGS] == [4, 5, 6, 7, 8]
    assert [tok.task_id(task) for task in TASKS] == [9, 10]
    assert tok.languages == LANGS and tok.tasks == TASKS
    assert [tok.piece(i) for i in (4, 9, 10)] == ["<en>", "<asr>", "<st>"]
    assert 100 < tok.vocab_size <= 250


def test_tags_are_single_ids_never_produced_by_text(tok: Tokenizer) -> None:
    tags = {tok.lang_id(lang) for lang in LANGS} | {tok.task_id(task) for task in TASKS}
    assert len(tags) == len(LANGS) + len(TASKS)
    ids = tok.encode("<en> <asr> testo")
    assert not tags & set(ids) and tok.decode(ids) == "<en> <asr> testo"


def test_prefix_and_decode_skips_specials(tok: Tokenizer) -> None:
    assert tok.prefix("de", "st") == [tok.bos_id, tok.lang_id("de"), tok.task_id("st")] == [1, 8, 10]
    ids = tok.prefix("it", "asr") + tok.encode(FIXED[0]) + [tok.eos_id, tok.pad_id, tok.pad_id]
    assert tok.decode(ids) == FIXED[0]


def test_unknown_tags_are_clear_errors(tok: Tokenizer) -> None:
    with pytest.raises(TokenizerError, match=r"no language tag <pt>.*en, it, es, fr, de"):
        tok.lang_id("pt")
    with pytest.raises(TokenizerError, match=r"no task tag <mt>.*asr, st"):
        tok.prefix("en", "mt")


def test_serialisation_round_trips(tok: Tokenizer, tmp_path: Path) -> None:
    again = Tokenizer.from_bytes(tok.to_bytes())
    assert again.to_bytes() == tok.to_bytes()
    assert (again.languages, again.tasks, again.vocab_size) == (tok.languages, tok.tasks, tok.vocab_size)
    tok.save(tmp_path / "sub/spm.model")
    loaded = Tokenizer.load(tmp_path / "sub/spm.model")
    assert loaded.to_bytes() == tok.to_bytes() and loaded.encode(FIXED[1]) == tok.encode(FIXED[1])
    with pytest.raises(TokenizerError, match="not found"):
        Tokenizer.load(tmp_path / "missing.model")


def test_plain_sentencepiece_model_is_refused() -> None:
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(FIXED * 5), model_writer=buffer, vocab_size=30, hard_vocab_limit=False, minloglevel=2)
    with pytest.raises(TokenizerError, match="not a Crossprobe tokenizer"):
        Tokenizer.from_bytes(buffer.getvalue())


def test_training_errors_are_clear() -> None:
    with pytest.raises(TokenizerError, match="vocab_size"):
        Tokenizer.train(FIXED, vocab_size=10, languages=LANGS, tasks=TASKS)
    with pytest.raises(TokenizerError, match="no non-empty text"):
        Tokenizer.train(["", "  "], vocab_size=100, languages=LANGS, tasks=TASKS)
    with pytest.raises(TokenizerError, match="both as language and task"):
        Tokenizer.train(FIXED, vocab_size=100, languages=("en", "st"), tasks=TASKS)
    with pytest.raises(TokenizerError, match="invalid language"):
        Tokenizer.train(FIXED, vocab_size=100, languages=("e n",), tasks=TASKS)


def test_cli_trains_on_source_and_target_text(tmp_path: Path, capsys) -> None:
    def row(i: int, src_text: str, tgt_text: str, src: str, tgt: str, task: str) -> ManifestRow:
        return ManifestRow(f"u{i}", f"u{i}.wav", 100, src_text, tgt_text, src, tgt, task, "s")

    write_manifest(tmp_path / "a.tsv", [row(0, FIXED[1], "the dog has seen the cat", "de", "en", "st")])
    write_manifest(tmp_path / "b.tsv", [row(1, FIXED[0], FIXED[0], "it", "it", "asr")])
    out = tmp_path / "spm.model"
    main(["--manifest", str(tmp_path / "a.tsv"), "--manifest", str(tmp_path / "b.tsv"), "--vocab-size", "60", "--out", str(out)])
    tok = Tokenizer.load(out)
    assert tok.languages == ("en", "it", "de") and tok.tasks == ("asr", "st")
    for text in (FIXED[1], FIXED[0], "the dog has seen the cat"):  # FIXED[1] is only a source transcript
        assert tok.unk_id not in tok.encode(text) and tok.decode(tok.encode(text)) == text
    assert "languages en, it, de" in capsys.readouterr().out
