"""Loading audio and validating manifest rows, with errors that name the row and the file.

Policy for a wrong sample rate: the audio is resampled to 16 kHz (torchaudio) with a
warning, never refused; multi-channel audio is averaged to mono, also with a warning.

A path may name a segment of a recording, ``talk.wav:12.34:5.67`` (offset and duration in seconds,
``s2t.data.manifest.split_segment``): only that stretch is read, and the promises above hold for it.
libsndfile reads WAV, FLAC, Ogg and MP3 among others (``soundfile.available_formats()``), not AAC
(``.m4a``). Its seeks are sample-exact in PCM and FLAC files but may land about a thousand samples off
in MP3 and Ogg Vorbis ones (measured), so a segment of those is decoded from the file's start.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from s2t.data.manifest import KNOWN_LANGUAGES, SAMPLE_RATE, TASKS, ManifestRow, split_segment


class AudioError(ValueError):
    """An audio file is missing, unreadable, corrupt or empty; the message names the file."""


class BadRowError(ValueError):
    """A manifest row cannot be used; the message names the row id and the reason."""


INEXACT_SEEK = ("MP3", "OGG")  # libsndfile formats whose seeks may land off the asked sample
NO_DECODER = (".m4a", ".mp4", ".aac")  # AAC: libsndfile has no decoder for it
TAIL_TOLERANCE_S = 0.01  # a segment may end up to one 10 ms hop past its recording (rounding), and is cut there


def header(path: Path) -> sf._SoundFileInfo:
    """libsndfile's header of the file an audio path names, or AudioError naming the path."""
    source, _ = split_segment(path)
    if not source.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        return sf.info(str(source))
    except (sf.LibsndfileError, RuntimeError) as err:
        hint = (f"; libsndfile reads no AAC: convert it first, e.g. ffmpeg -i {source.name} -ac 1 -ar 16000 "
                f"{source.with_suffix('.flac').name}") if source.suffix.lower() in NO_DECODER else ""
        raise AudioError(f"{path}: unreadable or corrupt audio ({err}){hint}") from None


def span(path: Path, info: sf._SoundFileInfo) -> tuple[int, int]:
    """(first sample, samples) that an audio path covers in its file, at the file's rate; AudioError if outside it."""
    _, segment = split_segment(path)
    if info.frames <= 0:
        raise AudioError(f"{path}: audio file holds no samples")
    if segment is None:
        return 0, info.frames
    offset, duration = segment
    start, count = round(offset * info.samplerate), round(duration * info.samplerate)
    length_s = info.frames / info.samplerate
    if start >= info.frames:
        raise AudioError(f"{path}: segment starts at {offset} s, not before the recording's end ({length_s:.3f} s)")
    if offset + duration > length_s + TAIL_TOLERANCE_S:
        raise AudioError(f"{path}: segment ends at {offset + duration:.3f} s, after the recording's end ({length_s:.3f} s)")
    if count <= 0:
        raise AudioError(f"{path}: segment holds no samples")
    return start, min(count, info.frames - start)


def probe_audio(path: Path) -> tuple[int, int, int]:
    """Header check without decoding: (samples, sample_rate, channels) of the file or segment, or AudioError."""
    info = header(path)
    return span(path, info)[1], info.samplerate, info.channels


def load_audio(path: Path | str) -> np.ndarray:
    """Read a file or segment as mono float32 at 16 kHz; shape (samples,). Resamples with a warning."""
    path = Path(path)
    source, segment = split_segment(path)
    info = header(path)
    start, count = span(path, info)
    seek = 0 if info.format in INEXACT_SEEK else start
    try:  # (samples, channels); a whole file is read to its end, however long its header says it is
        wav, rate = sf.read(str(source), start=seek, frames=-1 if segment is None else start - seek + count,
                            dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: corrupt audio ({err})") from None
    wav = wav[start - seek:]
    if wav.shape[0] == 0:
        raise AudioError(f"{path}: audio file holds no samples")
    if wav.shape[1] > 1:
        warnings.warn(f"{path}: {wav.shape[1]} channels, averaged to mono", stacklevel=2)
    wav = wav.mean(axis=1)
    if not np.isfinite(wav).all():
        raise AudioError(f"{path}: audio holds NaN or infinite samples")
    if rate != SAMPLE_RATE:
        warnings.warn(f"{path}: sample rate {rate} Hz, resampled to {SAMPLE_RATE} Hz", stacklevel=2)
        wav = resample(wav, rate)
    return wav


def resample(wav: np.ndarray, rate: int) -> np.ndarray:
    """Resample a mono signal from ``rate`` to 16 kHz with torchaudio's windowed sinc."""
    import torch
    import torchaudio.functional as AF

    return AF.resample(torch.from_numpy(wav), rate, SAMPLE_RATE).numpy()


def row_problems(
    row: ManifestRow, languages: tuple[str, ...] = KNOWN_LANGUAGES, tasks: tuple[str, ...] = TASKS
) -> list[str]:
    """Text-level problems of a row (no audio opened): empty text, unknown language or task."""
    problems = []
    if not row.id.strip():
        problems.append("empty id")
    if not row.src_text.strip():
        problems.append("empty src_text")
    if not row.tgt_text.strip():
        problems.append("empty tgt_text")
    for field in ("src_lang", "tgt_lang"):
        lang = getattr(row, field)
        if lang not in languages:
            problems.append(f"unknown language {field}={lang!r} (known: {', '.join(languages)})")
    if row.task not in tasks:
        problems.append(f"unknown task {row.task!r} (known: {', '.join(tasks)})")
    elif row.task == "asr" and row.src_lang != row.tgt_lang:
        problems.append(f"asr row with src_lang {row.src_lang} != tgt_lang {row.tgt_lang}")
    elif row.task == "st" and row.src_lang == row.tgt_lang:
        problems.append(f"st row with src_lang == tgt_lang == {row.src_lang}")
    if row.n_frames <= 0:
        problems.append(f"n_frames {row.n_frames} is not positive")
    return problems
