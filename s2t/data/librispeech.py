"""Convert a LibriSpeech subset (its directory layout) into a Crossprobe manifest.

LibriSpeech keeps ``SUBSET/SPEAKER/CHAPTER/SPEAKER-CHAPTER-UTT.flac`` with one transcript file
``SPEAKER-CHAPTER.trans.txt`` per chapter, each line ``SPEAKER-CHAPTER-UTT TRANSCRIPT``. Every
utterance becomes an English ASR row; audio paths are written relative to the manifest's
folder. Transcripts are lower-cased by default (LibriSpeech is upper case).

Usage: ``python -m s2t.data.librispeech --root LibriSpeech/dev-clean --out data/libri --split dev``
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tqdm import tqdm

from s2t.data.audio import AudioError
from s2t.data.convert import Conversion, audio_frames, main as convert_main, parser
from s2t.data.manifest import ManifestRow


def read_transcripts(root: Path, problems: list[str]) -> dict[Path, tuple[str, str]]:
    """Map each utterance's audio path to (its transcript, ``file:line``), from every ``*.trans.txt`` under root;
    bad lines go to problems."""
    out: dict[Path, tuple[str, str]] = {}
    for trans in sorted(root.rglob("*.trans.txt")):
        for line_no, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            utt_id, _, text = line.partition(" ")
            if not text.strip():
                problems.append(f"{trans}:{line_no}: utterance {utt_id} has an empty transcript")
            else:
                out[trans.parent / f"{utt_id}.flac"] = text.strip(), f"{trans}:{line_no}"
    return out


def asr_row(utt_id: str, audio: Path, text: str, speaker: str, out: Path) -> ManifestRow:
    """An English ASR row of a recording: frames counted from its header (AudioError names a bad file), its path
    relative to the manifest's folder ``out``."""
    return ManifestRow(utt_id, os.path.relpath(audio.resolve(), out.resolve()), audio_frames(audio), text, text, "en", "en",
                       "asr", speaker)


def conversion(root: Path, out: Path, split: str, lowercase: bool = True, progress: bool = True) -> Conversion:
    """The rows of ``out/split.tsv`` for the LibriSpeech subset at ``root``, and its bad entries."""
    found = Conversion(root, out)
    transcripts = read_transcripts(root, found.problems)
    if not transcripts and not found.problems:
        raise ValueError(f"{root}: no *.trans.txt files found; is this a LibriSpeech subset folder?")
    for audio, (text, where) in tqdm(sorted(transcripts.items()), desc="reading audio headers", unit="utt",
                                     disable=not progress):
        try:
            row = asr_row(audio.stem, audio, text.lower() if lowercase else text, audio.parent.parent.name, out)
        except AudioError as err:
            found.problems.append(f"{where}: {err}")
        else:
            found.add_row(split, row, where)
    return found


def convert(root: Path, out: Path, split: str, lowercase: bool = True, progress: bool = True) -> Path:
    """Write ``out/split.tsv`` for the LibriSpeech subset at ``root``; returns its path."""
    return conversion(root, out, split, lowercase, progress).write()[0][0]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``crossprobe-librispeech`` and ``python -m s2t.data.librispeech``."""
    p = parser("s2t.data.librispeech", __doc__, "a subset folder, e.g. LibriSpeech/dev-clean")
    p.add_argument("--split", required=True, help="manifest name: OUT/SPLIT.tsv")
    p.add_argument("--keep-case", action="store_true", help="keep LibriSpeech's upper-case transcripts")
    a = p.parse_args(argv)
    return convert_main(lambda: conversion(a.root, a.out, a.split, lowercase=not a.keep_case), a.skip_bad)


if __name__ == "__main__":
    sys.exit(main())
