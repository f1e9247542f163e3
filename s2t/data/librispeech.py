"""Convert a LibriSpeech subset (its directory layout) into a Crossprobe manifest.

LibriSpeech keeps ``SUBSET/SPEAKER/CHAPTER/SPEAKER-CHAPTER-UTT.flac`` with one transcript file
``SPEAKER-CHAPTER.trans.txt`` per chapter, each line ``SPEAKER-CHAPTER-UTT TRANSCRIPT``. Every
utterance becomes an English ASR row; audio paths are written relative to the manifest's
folder. Transcripts are lower-cased by default (LibriSpeech is upper case).

Usage: ``python -m s2t.data.librispeech --root LibriSpeech/dev-clean --out data/libri --split dev``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm import tqdm

from s2t.data.audio import AudioError, probe_audio
from s2t.data.manifest import SAMPLE_RATE, ManifestRow, num_frames, write_manifest


def read_transcripts(root: Path) -> dict[Path, str]:
    """Map each utterance's audio path to its transcript, from every ``*.trans.txt`` under root."""
    out: dict[Path, str] = {}
    for trans in sorted(root.rglob("*.trans.txt")):
        for line_no, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            utt_id, _, text = line.partition(" ")
            if not text.strip():
                raise ValueError(f"{trans}:{line_no}: utterance {utt_id} has an empty transcript")
            out[trans.parent / f"{utt_id}.flac"] = text.strip()
    return out


def asr_row(utt_id: str, audio: Path, text: str, speaker: str, out: Path) -> ManifestRow:
    """An English ASR row of a recording: frames counted from its header (AudioError names a bad file), its path
    relative to the manifest's folder ``out``."""
    samples, rate, _ = probe_audio(audio)  # raises AudioError naming the file
    frames = num_frames(round(samples * SAMPLE_RATE / rate))
    return ManifestRow(utt_id, os.path.relpath(audio.resolve(), out.resolve()), frames, text, text, "en", "en", "asr",
                       speaker)


def convert(root: Path, out: Path, split: str, lowercase: bool = True, progress: bool = True) -> Path:
    """Write ``out/split.tsv`` for the LibriSpeech subset at ``root``; returns its path."""
    transcripts = read_transcripts(root)
    if not transcripts:
        raise ValueError(f"{root}: no *.trans.txt files found; is this a LibriSpeech subset folder?")
    manifest = out / f"{split}.tsv"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for audio, text in tqdm(sorted(transcripts.items()), desc="reading audio headers", unit="utt", disable=not progress):
        rows.append(asr_row(audio.stem, audio, text.lower() if lowercase else text, audio.parent.parent.name, out))
    write_manifest(manifest, rows)
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m s2t.data.librispeech``."""
    p = argparse.ArgumentParser(prog="python -m s2t.data.librispeech", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, required=True, help="a subset folder, e.g. LibriSpeech/dev-clean")
    p.add_argument("--out", type=Path, required=True, help="folder for the manifest")
    p.add_argument("--split", required=True, help="manifest name: OUT/SPLIT.tsv")
    p.add_argument("--keep-case", action="store_true", help="keep LibriSpeech's upper-case transcripts")
    a = p.parse_args(argv)
    try:
        manifest = convert(a.root, a.out, a.split, lowercase=not a.keep_case)
    except (ValueError, AudioError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
