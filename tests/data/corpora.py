"""Fixture trees in the layouts MuST-C, EuroParl-ST, CoVoST 2 and Common Voice ship, with what each encodes.

Each builder writes a few seconds of synthetic audio (noise, so that any misplaced sample shows)
and the corpus's text files, with one malformed line, one missing recording and text that is not
NFC, and returns a ``Fixture``: the utterances a converter must find and the bad entries it must
report (``file:line: reason``). ``check_rows`` compares a converter's manifests with a fixture.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from s2t.data.audio import load_audio
from s2t.data.manifest import SAMPLE_RATE, num_frames, read_manifest, resolve_audio, split_segment

NFD = "NFD"  # decomposed: what the converters must normalise to NFC


def nfd(text: str) -> str:
    """``text`` with its accented letters decomposed (not NFC)."""
    decomposed = unicodedata.normalize(NFD, text)
    assert decomposed != text
    return decomposed


@dataclass(frozen=True)
class Utt:
    """One utterance a converter must turn into rows: where its audio is and what its texts are (NFC)."""

    split: str
    id: str
    audio: Path  # the recording
    samples: np.ndarray  # (samples,) its audio as written, mono, at ``rate``
    rate: int
    lang: str
    text: str
    speaker: str
    translations: dict[str, str] = field(default_factory=dict)
    offset: float = 0.0  # seconds
    duration: float | None = None  # seconds; None: the whole file


@dataclass
class Fixture:
    """A corpus tree: its root, the utterances it holds and the bad entries it must be reported for."""

    root: Path
    utts: list[Utt] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)  # one "file:line: reason" per bad entry (a prefix of its message)
    hints: list[str] = field(default_factory=list)  # more text the messages must hold


def noise(seconds: float, rate: int, seed: int, channels: int = 1) -> np.ndarray:
    """Quiet white noise, (samples,) or (samples, channels)."""
    shape = (round(seconds * rate),) if channels == 1 else (round(seconds * rate), channels)
    return (0.1 * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def recording(path: Path, seconds: float, rate: int = SAMPLE_RATE, seed: int = 0, channels: int = 1) -> np.ndarray:
    """Write a recording (WAV, FLAC or MP3 by suffix); returns what a decoder reads back, mono, (samples,)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, noise(seconds, rate, seed, channels), rate)
    data, _ = sf.read(path, dtype="float32", always_2d=True)  # (samples, channels)
    return data.mean(axis=1)


def write_lines(path: Path, lines: list[str]) -> None:
    """A text file, one line each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def mustc(root: Path) -> Fixture:
    """``MUSTC_v1.0/en-de/data/{train,dev,tst-COMMON}``: three 16 kHz talks and segments of them."""
    fx, pair = Fixture(root / "MUSTC_v1.0"), root / "MUSTC_v1.0/en-de/data"
    talks = {"ted_1": ("train", 3.0), "ted_2": ("train", 2.0), "ted_3": ("dev", 2.0), "ted_4": ("tst-COMMON", 2.0)}
    wav = {t: recording(pair / split / "wav" / f"{t}.wav", s, seed=i) for i, (t, (split, s)) in enumerate(talks.items())}
    splits = {  # split -> (talk, offset, duration, English, German); talk None: a malformed YAML line
        "train": [("ted_1", 0.3, 1.2, "Thank you so much.", "Vielen Dank."),
                  ("ted_1", 1.75, 0.9, "Good morning, Zoë.", nfd("Guten Morgen, schöne Grüße.")),
                  (None, 0, 0, "Lost.", "Verloren."),
                  ("ted_2", 0.5, 1.0, "Hello.", "Hallo."),
                  ("ted_9", 0.0, 1.0, "Nobody here.", "Niemand hier.")],
        "dev": [("ted_3", 0.2, 1.5, "It's a great honor.", "Es ist eine große Ehre.")],
        "tst-COMMON": [("ted_4", 0.0, 1.8, "Applause.", "Beifall."), ("ted_4", 1.5, 1.0, "Too long.", "Zu lang.")],
    }
    for split, segments in splits.items():
        yaml_lines = []
        for line_no, (talk, offset, duration, en, de) in enumerate(segments, start=1):
            listing = pair / split / "txt" / f"{split}.yaml"
            if talk is None:
                yaml_lines.append("- {duration: 0.500000, offset: oops, rW: 1, uW: 0, speaker_id: spk.1, wav: ted_1.wav}")
                fx.bad.append(f"{listing}:{line_no}: not a segment")
                continue
            yaml_lines.append(f"- {{duration: {duration:.6f}, offset: {offset:.6f}, rW: 2, uW: 0, speaker_id: spk.{talk[4:]}, "
                              f"wav: {talk}.wav}}")
            if talk == "ted_9":
                fx.bad.append(f"{listing}:{line_no}: {pair / split / 'wav/ted_9.wav'}:0:1: audio file not found")
            elif offset + duration > len(wav[talk]) / SAMPLE_RATE:
                fx.bad.append(f"{listing}:{line_no}: {pair / split / 'wav' / talk}.wav:1.5:1: segment ends at 2.500 s, "
                              "after the recording's end (2.000 s)")
            else:
                fx.utts.append(Utt(split, f"{talk}_{round(offset * 1000)}_{round((offset + duration) * 1000)}",
                                   pair / split / "wav" / f"{talk}.wav", wav[talk], SAMPLE_RATE, "en", en, f"spk.{talk[4:]}",
                                   {"de": unicodedata.normalize("NFC", de)}, offset, duration))
        write_lines(pair / split / "txt" / f"{split}.yaml", yaml_lines)
        write_lines(pair / split / "txt" / f"{split}.en", [s[3] for s in segments])
        write_lines(pair / split / "txt" / f"{split}.de", [s[4] for s in segments])
    return fx


def europarl_st(root: Path, bad: bool = True) -> Fixture:
    """``v1.1`` with en and it speeches (a FLAC, a 44.1 kHz stereo WAV) and the pairs en-it, it-en, en-fr."""
    fx = Fixture(root / "v1.1")
    speeches = {"en": ("en.20080924.3-1", recording(fx.root / "en/audios/en.20080924.3-1.flac", 3.0, seed=1), SAMPLE_RATE),
                "it": ("it.20090311.7-2", recording(fx.root / "it/audios/it.20090311.7-2.wav", 3.0, 44100, 2, channels=2),
                       44100)}
    (fx.root / "en/audios/en.20080924.3-1.m4a").write_bytes(b"AAC")  # as shipped; the converted FLAC beside it is read
    (fx.root / "en/audios/en.20080924.9-9.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(64))  # never converted
    texts = {  # (src, tgt) -> split -> (start, end, transcript, translation)
        ("en", "it"): {"train": [(0.2, 1.4, "Madam President, thank you.", "Signora Presidente, grazie."),
                                 (1.5, 2.8, nfd("Café culture matters."), nfd("La cultura del caffè conta."))],
                       "dev": [(0.5, 1.5, "We agree.", "Siamo d'accordo.")], "test": [(1.0, 2.0, "Next item.", "Punto successivo.")]},
        ("it", "en"): {"train": [(0.1, 1.3, "Grazie, signor Presidente.", "Thank you, Mr President."),
                                 (1.4, 2.9, "Votiamo adesso.", "We vote now.")],
                       "dev": [(0.3, 1.2, "Bene.", "Good.")], "test": [(0.4, 2.2, "La seduta è chiusa.", "The sitting is closed.")]},
        ("en", "fr"): {"train": [(0.2, 1.4, "Madam President, thank you.", "Madame la Présidente, merci.")]},
    }
    for (src, tgt), splits in texts.items():
        speech, samples, rate = speeches[src]
        for split, segments in splits.items():
            folder = fx.root / src / tgt / split
            lines = [f"{speech} {start:.2f} {end:.2f}" for start, end, _, _ in segments]
            src_texts, tgt_texts = [s[2] for s in segments], [s[3] for s in segments]
            if bad and (src, tgt, split) == ("en", "it", "train"):
                lines += ["en.20080924.9-9 0.00 1.00", "en.20080924.3-1 2.90"]
                src_texts += ["Unreadable.", "Malformed."]
                tgt_texts += ["Illeggibile.", "Malformato."]
                fx.bad += [f"{folder / 'segments.lst'}:3: {fx.root / 'en/audios/en.20080924.9-9.m4a'}:0:1: unreadable or "
                           "corrupt audio", f"{folder / 'segments.lst'}:4: not '<speech> <start_s> <end_s>'"]
                fx.hints.append("convert it first, e.g. ffmpeg -i en.20080924.9-9.m4a -ac 1 -ar 16000 en.20080924.9-9.flac")
            if bad and (src, tgt, split) == ("it", "en", "train"):
                lines.append("it.20090311.0-0 0.50 1.50")
                src_texts.append("Nessuno.")
                tgt_texts.append("Nobody.")
                fx.bad.append(f"{folder / 'segments.lst'}:3: {fx.root / 'it/audios/it.20090311.0-0.m4a'}:0.5:1: audio file "
                              "not found")
            write_lines(folder / "segments.lst", lines)
            write_lines(folder / f"segments.{src}", src_texts)
            write_lines(folder / f"segments.{tgt}", tgt_texts)
            audio = fx.root / src / "audios" / (f"{speech}.flac" if src == "en" else f"{speech}.wav")
            fx.utts += [Utt(split, f"{speech}_{round(start * 1000)}_{round(end * 1000)}", audio, samples, rate, src,
                            unicodedata.normalize("NFC", text), speech, {tgt: unicodedata.normalize("NFC", translation)},
                            start, round(end - start, 6)) for start, end, text, translation in segments]
    return fx


def common_voice_clips(folder: Path, clips: dict[str, float], seed: int) -> dict[str, np.ndarray]:
    """48 kHz MP3 clips in ``folder/clips``, as Common Voice ships them: name -> samples read back."""
    return {name: recording(folder / "clips" / name, seconds, 48000, seed + i) for i, (name, seconds) in enumerate(clips.items())}


HEADER = ["client_id", "path", "sentence_id", "sentence", "sentence_domain", "up_votes", "down_votes", "age", "gender",
          "accents", "variant", "locale", "segment"]  # Common Voice 17's


def common_voice(root: Path, lang: str = "it") -> Fixture:
    """``cv-corpus-17.0/<lang>`` with MP3 clips and train/dev/test.tsv as Common Voice 17 writes them."""
    fx = Fixture(root / "cv-corpus-17.0" / lang)
    names = {f"common_voice_{lang}_{i}.mp3": seconds for i, seconds in enumerate((1.2, 0.9, 1.5, 1.1))}
    audio = common_voice_clips(fx.root, names, seed=10)
    clip = list(names)
    tsvs = {"train": [("c1", clip[0], nfd("Perché è così?")), ("c2", clip[1], "Buongiorno a tutti."), ("c3", "MALFORMED", ""),
                      ("c4", f"common_voice_{lang}_99.mp3", "Non c'è."), ("c5", clip[1], " ")],
            "dev": [("c1", clip[2], "Andiamo al mare.")], "test": [("c6", clip[3], "Che \"bella\" giornata!")]}
    for split, lines in tsvs.items():
        tsv = fx.root / f"{split}.tsv"
        rows = ["\t".join(HEADER)]
        for line_no, (client, path, sentence) in enumerate(lines, start=2):
            fields = [client, path, f"s{line_no}", sentence, "", "2", "0", "", "", "", "", lang, ""]
            rows.append("\t".join(fields[:5] if path == "MALFORMED" else fields))
            if path == "MALFORMED":
                fx.bad.append(f"{tsv}:{line_no}: 5 fields, the header has 13")
            elif path not in audio:
                fx.bad.append(f"{tsv}:{line_no}: {fx.root / 'clips' / path}: audio file not found")
            elif not sentence.strip():
                fx.bad.append(f"{tsv}:{line_no}: empty {lang} transcript")
            else:
                fx.utts.append(Utt(split, Path(path).stem, fx.root / "clips" / path, audio[path], 48000, lang,
                                   unicodedata.normalize("NFC", sentence), client))
        write_lines(tsv, rows)
    return fx


def covost(root: Path) -> Fixture:
    """Common Voice 4's ``fr`` and ``en`` clips with CoVoST 2's split TSVs for fr_en, en_de and en_ca."""
    fx = Fixture(root / "cv-corpus-4")
    pairs = {  # (src, tgt) -> split -> (clip, sentence, translation); clip None: a malformed line
        ("fr", "en"): {"train": [("a", nfd("Il a dit \\\"café\\\"."), "He said \\\"coffee\\\"."), (None, "", ""),
                                 ("zz", "Absent.", "Missing.")],
                       "dev": [("b", "Bonjour.", "Hello.")], "test": [("c", "Merci.", "Thank you.")]},
        ("en", "de"): {"train": [("d", "Good night.", "Gute Nacht."), ("g", "Hello there.", "")], "dev": [("e", "Yes.", "Ja.")],
                       "test": [("f", "No.", "Nein.")]},
        ("en", "ca"): {"train": [("d", "Good night.", "Bona nit.")], "dev": [("e", "Yes.", "Sí.")],
                       "test": [("f", "No.", "No.")]},
    }
    clips = {lang: common_voice_clips(fx.root / lang, {f"common_voice_{lang}_{c}.mp3": 1.0 + 0.1 * i for i, c in enumerate(cs)},
                                      seed=20 + j)
             for j, (lang, cs) in enumerate({"fr": "abc", "en": "defg"}.items())}
    for (src, tgt), splits in pairs.items():
        for split, lines in splits.items():
            tsv = fx.root / src / f"covost_v2.{src}_{tgt}.{split}.tsv"
            rows = ["path\tsentence\ttranslation\tclient_id"]
            for line_no, (clip, sentence, translation) in enumerate(lines, start=2):
                name = f"common_voice_{src}_{clip}.mp3"
                rows.append(f"{name}\t{sentence}" if clip is None else f"{name}\t{sentence}\t{translation}\tclient_{clip}")
                unescaped = [unicodedata.normalize("NFC", t.replace("\\", "")) for t in (sentence, translation)]
                if clip is None:
                    fx.bad.append(f"{tsv}:{line_no}: 2 fields, the header has 4")
                elif name not in clips[src]:
                    fx.bad.append(f"{tsv}:{line_no}: {fx.root / src / 'clips' / name}: audio file not found")
                else:  # an empty translation leaves the clip's ASR row
                    fx.bad += [] if translation else [f"{tsv}:{line_no}: empty {tgt} translation"]
                    fx.utts.append(Utt(split, Path(name).stem, fx.root / src / "clips" / name, clips[src][name], 48000, src,
                                       unescaped[0], f"client_{clip}", {tgt: unescaped[1]} if translation else {}))
            write_lines(tsv, rows)
    return fx


def check_rows(out: Path, fx: Fixture, tasks: tuple[str, ...] = ("asr", "st")) -> None:
    """The manifests in ``out`` hold exactly the fixture's rows: ids, audio, frames, texts, languages, speakers."""
    expected = {}
    for utt in fx.utts:
        asr = dict(split=utt.split, utt=utt, src_text=utt.text, tgt_text=utt.text, tgt_lang=utt.lang, task="asr")
        if "asr" in tasks:
            expected[(utt.split, f"{utt.id}-asr")] = asr
        for tgt, translation in utt.translations.items() if "st" in tasks else ():
            expected[(utt.split, f"{utt.id}-st-{tgt}")] = {**asr, "tgt_text": translation, "tgt_lang": tgt, "task": "st"}
    found = {(m.stem, row.id): (m, row) for m in sorted(out.glob("*.tsv")) for row in read_manifest(m)}
    assert sorted(found) == sorted(expected)
    for key, want in expected.items():
        manifest, row = found[key]
        utt = want["utt"]
        start = round(utt.offset * utt.rate)
        count = len(utt.samples) - start if utt.duration is None else round(utt.duration * utt.rate)
        assert (row.src_text, row.tgt_text, row.src_lang, row.tgt_lang, row.task, row.speaker) == (
            want["src_text"], want["tgt_text"], utt.lang, want["tgt_lang"], want["task"], utt.speaker)
        assert row.n_frames == num_frames(round(count * SAMPLE_RATE / utt.rate))
        path = resolve_audio(manifest, row)
        recording, segment = split_segment(path)
        assert recording.resolve() == utt.audio.resolve()
        assert segment == (None if utt.duration is None else (utt.offset, utt.duration))
        if utt.rate == SAMPLE_RATE:  # the very samples of the segment, read in place
            np.testing.assert_array_equal(load_audio(path), utt.samples[start:start + count])
