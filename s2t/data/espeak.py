"""In-process espeak-ng synthesis through its C library, one word at a time, cached per voice.

Calling the library (ctypes) instead of the ``espeak-ng`` program avoids a process per word:
a word takes about half a millisecond. Each (speaker, word) pair is synthesised once, trimmed
of its silences and resampled to 16 kHz; utterances are then assembled from the cache, so the
word boundaries inside an utterance are known to the sample.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from math import gcd
from typing import Any

import numpy as np
from scipy.signal import firwin, resample_poly

from s2t.data.manifest import SAMPLE_RATE

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE, _ESPEAK_PITCH = 1, 3
_ESPEAK_CHARS_UTF8 = 1
TRIM_DB = 35.0  # frames this far below the word's loudest 10 ms frame count as silence


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: an espeak-ng voice with a variant, a speaking rate and a pitch."""

    id: str
    lang: str
    voice: str  # e.g. "en-gb-scotland+f3"
    rate: int  # words per minute
    pitch: int  # 0-99


class EspeakError(RuntimeError):
    """espeak-ng is missing or refused a voice or a text."""


class Espeak:
    """The espeak-ng library, synthesising words to 16 kHz float32 arrays.

    The library keeps global state (one voice, one callback), so a process has one engine:
    use ``Espeak.shared()``.
    """

    _shared: Espeak | None = None

    @classmethod
    def shared(cls) -> Espeak:
        """The process's engine, created on first use."""
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def __init__(self) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self._lib = ctypes.CDLL(name)
        except OSError as err:
            raise EspeakError(f"cannot load the espeak-ng library ({err}); run `make setup`") from None
        self.native_rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
        if self.native_rate <= 0:
            raise EspeakError("espeak_Initialize failed (is espeak-ng-data installed?)")
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._callback = callback_type(self._collect)  # keep a reference: the library holds a raw pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._voice: tuple[str, int, int] | None = None
        up, down = SAMPLE_RATE // gcd(SAMPLE_RATE, self.native_rate), self.native_rate // gcd(SAMPLE_RATE, self.native_rate)
        self._resampling = (up, down, firwin(20 * max(up, down) + 1, 1.0 / max(up, down), window=("kaiser", 5.0)))
        # scipy's resample_poly would design this same low-pass filter again on every call

    def _collect(self, wav: ctypes.POINTER(ctypes.c_short), n: int, events: ctypes.c_void_p) -> int:
        """Synthesis callback: keep the samples espeak hands over."""
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def _set_voice(self, speaker: Speaker) -> None:
        """Select the speaker's voice, rate and pitch (only when they change)."""
        key = (speaker.voice, speaker.rate, speaker.pitch)
        if key == self._voice:
            return
        if self._lib.espeak_SetVoiceByName(speaker.voice.encode()) != 0:
            raise EspeakError(f"espeak-ng has no voice {speaker.voice!r} (speaker {speaker.id})")
        self._lib.espeak_SetParameter(_ESPEAK_RATE, speaker.rate, 0)
        self._lib.espeak_SetParameter(_ESPEAK_PITCH, speaker.pitch, 0)
        self._voice = key

    def synth(self, text: str, speaker: Speaker) -> np.ndarray:
        """Synthesise ``text`` with the speaker's voice; (samples,) float32 at 16 kHz, untrimmed."""
        self._set_voice(speaker)
        self._chunks.clear()
        data = text.encode("utf-8") + b"\0"
        err = self._lib.espeak_Synth(data, len(data), 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        if err != 0 or not self._chunks:
            raise EspeakError(f"espeak-ng failed on {text!r} with voice {speaker.voice} (error {err})")
        wav = np.concatenate(self._chunks).astype(np.float32) / 32768.0
        up, down, fir = self._resampling
        return resample_poly(wav, up, down, window=fir).astype(np.float32)


def trim(wav: np.ndarray, threshold_db: float = TRIM_DB) -> np.ndarray:
    """Cut leading and trailing silence, judged on 10 ms frames against the loudest frame."""
    hop = SAMPLE_RATE // 100
    n = len(wav) // hop
    if n == 0:
        return wav
    energy = (wav[: n * hop].reshape(n, hop) ** 2).mean(axis=1)  # (frames,)
    loud = np.nonzero(energy > energy.max() * 10 ** (-threshold_db / 10))[0]
    return wav[loud[0] * hop : (loud[-1] + 1) * hop]


class WordCache:
    """Trimmed word recordings per (speaker, word), synthesised on first use by an engine with ``synth(text, speaker)``
    (espeak-ng by default; ``s2t.data.natural``'s Piper engine too), trimmed at ``trim_db``."""

    def __init__(self, engine: Any = None, trim_db: float = TRIM_DB) -> None:
        self.engine = engine or Espeak.shared()
        self.trim_db = trim_db
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def get(self, word: str, speaker: Any) -> np.ndarray:
        """The word as spoken by the speaker (anything with an ``id``); (samples,) float32 at 16 kHz."""
        key = (speaker.id, word)
        wav = self._cache.get(key)
        if wav is None:
            wav = trim(self.engine.synth(word, speaker), self.trim_db)
            self._cache[key] = wav
        return wav
