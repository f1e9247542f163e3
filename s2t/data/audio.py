"""Loading audio and validating manifest rows, with errors that name the row and the file.

Policy for a wrong sample rate: the audio is resampled to 16 kHz (torchaudio) with a
warning, never refused; multi-channel audio is averaged to mono, also with a warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from s2t.data.manifest import LANGUAGES, SAMPLE_RATE, TASKS, ManifestRow


class AudioError(ValueError):
    """An audio file is missing, unreadable, corrupt or empty; the message names the file."""


class BadRowError(ValueError):
    """A manifest row cannot be used; the message names the row id and the reason."""


def probe_audio(path: Path) -> tuple[int, int, int]:
    """Header check without decoding: (samples, sample_rate, channels), or AudioError."""
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: unreadable or corrupt audio ({err})") from None
    if info.frames <= 0:
        raise AudioError(f"{path}: audio file holds no samples")
    return info.frames, info.samplerate, info.channels


def load_audio(path: Path | str) -> np.ndarray:
    """Read a file as mono float32 at 16 kHz; shape (samples,). Resamples with a warning."""
    path = Path(path)
    probe_audio(path)
    try:
        wav, rate = sf.read(str(path), dtype="float32", always_2d=True)  # (samples, channels)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: corrupt audio ({err})") from None
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
    row: ManifestRow, languages: tuple[str, ...] = LANGUAGES, tasks: tuple[str, ...] = TASKS
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
