"""The synthetic corpus: determinism, exact word times, ground truth, task layout."""

import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2t.data.espeak import WordCache
from s2t.data.grammar import Grammar
from s2t.data.manifest import SAMPLE_RATE, num_frames, read_alignments, read_manifest, resolve_audio
from s2t.data.synth import SynthConfig, already_generated, generate, main, make_speakers, render

from tests.conftest import TINY


def test_same_seed_same_corpus(tiny_corpus: Path, tmp_path: Path) -> None:
    generate(SynthConfig(out=tmp_path, **TINY), progress=False)
    for name in ("train.tsv", "test.align.jsonl", "wav/test/de/de-test-000002.wav"):
        assert (tmp_path / name).read_bytes() == (tiny_corpus / name).read_bytes(), name


def test_growing_train_keeps_test_and_splits_share_no_sentence(tiny_corpus: Path, tmp_path: Path) -> None:
    generate(SynthConfig(out=tmp_path, **{**TINY, "counts": {"train": 12, "valid": 3, "test": 3}}), progress=False)
    assert (tmp_path / "test.tsv").read_bytes() == (tiny_corpus / "test.tsv").read_bytes()
    texts = {s: {(r.src_lang, r.src_text) for r in read_manifest(tiny_corpus / f"{s}.tsv")} for s in ("train", "valid", "test")}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["valid"] and not texts["valid"] & texts["test"]


def test_rows_cover_asr_and_st_to_and_from_english(tiny_corpus: Path) -> None:
    rows = read_manifest(tiny_corpus / "valid.tsv")
    directions = {(r.task, r.src_lang, r.tgt_lang) for r in rows}
    assert {("asr", l, l) for l in ("en", "it", "es", "fr", "de")} <= directions
    assert {("st", "en", t) for t in ("it", "es", "fr", "de")} <= directions
    assert {("st", s, "en") for s in ("it", "es", "fr", "de")} <= directions
    assert not any(r.task == "st" and "en" not in (r.src_lang, r.tgt_lang) for r in rows)
    assert len(rows) == 3 * (5 + 4 + 4)  # per language 3 utterances: 5 ASR rows, en->4, 4->en


def test_word_times_and_frames_match_the_audio(tiny_corpus: Path) -> None:
    manifest = tiny_corpus / "train.tsv"
    truth = read_alignments(manifest)
    for row in read_manifest(manifest):
        audio, rate = sf.read(resolve_audio(manifest, row))
        assert rate == SAMPLE_RATE and row.n_frames == num_frames(len(audio))
        words = truth[row.id].words
        assert [w for w, _, _ in words] == row.src_text.split()
        ends = [0.0] + [e for _, _, e in words]
        starts = [s for _, s, _ in words] + [len(audio) / SAMPLE_RATE]
        assert all(a <= b for a, b in zip(ends, starts)), "words overlap or are out of order"
        for _, start, end in words:
            segment = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            assert len(segment) > 0.05 * SAMPLE_RATE and np.abs(segment).max() > 0.05


def test_render_without_noise_is_silent_exactly_between_words() -> None:
    config = SynthConfig(out=Path("."), noise_prob=0.0, seed=5)
    speaker = make_speakers("fr", 2, config)[1]
    sentence = Grammar(("en", "fr")).sample(random.Random(0))
    audio, times = render(sentence.words["fr"], speaker, WordCache(), random.Random(1), config)
    inside = np.zeros(len(audio), bool)
    for _, start, end in times:
        inside[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)] = True
    assert np.all(audio[~inside] == 0.0)
    first, last = round(times[0][1] * SAMPLE_RATE), round(times[-1][2] * SAMPLE_RATE)
    assert audio[first : first + 160].any() and audio[last - 160 : last].any()


def test_alignments_are_ground_truth(tiny_corpus: Path) -> None:
    manifest = tiny_corpus / "test.tsv"
    truth = read_alignments(manifest)
    for row in read_manifest(manifest):
        t = truth[row.id]
        assert t.tgt_words == row.tgt_text.split()
        if row.task == "asr":
            assert t.alignment == [(i, i) for i in range(len(t.tgt_words))]
        else:
            assert {j for _, j in t.alignment} <= set(range(len(t.tgt_words)))
            assert {i for i, _ in t.alignment} <= set(range(len(t.words)))


def test_speakers_vary(tiny_corpus: Path) -> None:
    rows = read_manifest(tiny_corpus / "train.tsv")
    assert len({r.speaker for r in rows if r.src_lang == "en"}) >= 2
    config = SynthConfig(out=Path("."))
    voices = make_speakers("en", 8, config)
    assert len({s.voice.split("+")[0] for s in voices}) >= 4 and len({s.rate for s in voices}) >= 4


def test_cli_rejects_unknown_language(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--langs", "en,tlh"])
    assert "unknown language(s) ['tlh']" in capsys.readouterr().err


def test_tokenizer_round_trip_is_exact_on_the_corpus(tiny_corpus: Path) -> None:
    from s2t.tokenizer import Tokenizer

    rows = {s: read_manifest(tiny_corpus / f"{s}.tsv") for s in ("train", "valid", "test")}
    texts = [t for split_rows in rows.values() for r in split_rows for t in (r.src_text, r.tgt_text)]
    tok = Tokenizer.train(texts, 300, ("en", "it", "es", "fr", "de"), ("asr", "st"))
    for split_rows in rows.values():
        for r in split_rows:
            for text in (r.src_text, r.tgt_text):
                assert tok.decode(tok.encode(text)) == text


def test_an_existing_corpus_with_the_same_settings_is_not_regenerated(tiny_corpus: Path, capsys) -> None:
    assert already_generated(SynthConfig(out=tiny_corpus, **TINY))
    assert not already_generated(SynthConfig(out=tiny_corpus, **{**TINY, "seed": 4}))
    before = (tiny_corpus / "corpus.json").stat().st_mtime_ns
    main(["--out", str(tiny_corpus), "--train", "8", "--valid", "3", "--test", "3", "--seed", "3", "--speakers", "3"])
    assert "already holds this corpus" in capsys.readouterr().err
    assert (tiny_corpus / "corpus.json").stat().st_mtime_ns == before
