"""espeak-ng synthesis: real audio, trimming, caching."""

import numpy as np
import pytest

from s2t.data.espeak import Espeak, EspeakError, Speaker, WordCache, trim
from s2t.data.manifest import SAMPLE_RATE

SPEAKER = Speaker(id="t", lang="en", voice="en-us+m3", rate=170, pitch=50)


def test_trim_cuts_exactly_the_silent_frames() -> None:
    hop = SAMPLE_RATE // 100
    tone = np.sin(np.arange(5 * hop) * 0.3).astype(np.float32)
    wav = np.concatenate([np.zeros(3 * hop, np.float32), tone, np.zeros(7 * hop, np.float32)])
    out = trim(wav)
    assert len(out) == len(tone)
    np.testing.assert_array_equal(out, tone)


def test_synth_gives_speech_at_16k() -> None:
    wav = Espeak.shared().synth("hello", SPEAKER)
    assert wav.dtype == np.float32
    assert 0.2 * SAMPLE_RATE < len(wav) < 1.5 * SAMPLE_RATE
    assert np.abs(wav).max() > 0.1


def test_faster_speaker_speaks_shorter() -> None:
    engine = Espeak.shared()
    slow = trim(engine.synth("international", Speaker("a", "en", "en-us", 120, 50)))
    fast = trim(engine.synth("international", Speaker("b", "en", "en-us", 260, 50)))
    assert len(fast) < 0.8 * len(slow)


def test_cache_synthesises_each_word_once_per_speaker() -> None:
    cache = WordCache()
    first = cache.get("water", SPEAKER)
    again = cache.get("water", SPEAKER)
    assert again is first and len(cache) == 1
    other = cache.get("water", Speaker("u", "en", "en+f2", 150, 60))
    assert len(cache) == 2 and not np.array_equal(first[: len(other)], other[: len(first)])


def test_unknown_voice_is_a_clear_error() -> None:
    with pytest.raises(EspeakError, match="no voice 'xx-nope'"):
        Espeak.shared().synth("hello", Speaker("bad", "xx", "xx-nope", 170, 50))
