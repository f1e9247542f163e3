"""Convert the LibriVox recordings of Debian's pocketsphinx-testdata into a Crossprobe manifest.

``apt-get install pocketsphinx-testdata`` puts them in ``/usr/share/pocketsphinx/test/data/librivox``:
16 kHz WAV files (five sentences of *Sense and Sensibility*, 25 s in all), ``fileids`` (one
recording a line, its path without ``.wav``) and ``transcription`` (``<s> text </s> (id)`` a line,
lower case without punctuation). Every recording becomes an English ASR row of ``OUT/test.tsv``
(speaker: the chapter recording it is cut from, one reader); there is no alignment sidecar, as
there are no word times. Every bad entry (a recording without a transcription line, a missing or
unreadable WAV file, a malformed line) is reported, each with its file and line.

Usage: ``python -m s2t.data.librivox --root /usr/share/pocketsphinx/test/data/librivox --out data/librivox``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from s2t.data.audio import AudioError
from s2t.data.convert import Conversion, main as convert_main, parser
from s2t.data.librispeech import asr_row

ROOT = Path("/usr/share/pocketsphinx/test/data/librivox")
LINE = re.compile(r"^\s*(?:<s>)?(?P<text>.*?)(?:</s>)?\s*\((?P<id>[^()\s]+)\)\s*$")  # <s> words </s> (id)


def read_transcription(path: Path, problems: list[str]) -> dict[str, str]:
    """Recording id -> its words (whitespace collapsed), from ``<s> ... </s> (id)`` lines; bad lines go to problems."""
    texts: dict[str, str] = {}
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = LINE.match(line)
        text = " ".join(match.group("text").split()) if match else ""
        if not line.strip():
            continue
        if match is None:
            problems.append(f"{path}:{line_no}: not '<s> words </s> (id)'")
        elif not text:
            problems.append(f"{path}:{line_no}: recording {match.group('id')} has an empty transcription")
        elif match.group("id") in texts:
            problems.append(f"{path}:{line_no}: recording {match.group('id')} is transcribed twice")
        else:
            texts[match.group("id")] = text
    return texts


def conversion(root: Path, out: Path, split: str = "test") -> Conversion:
    """One ASR row of ``out/split.tsv`` per recording of ``root/fileids``, and every bad entry."""
    fileids, transcription = root / "fileids", root / "transcription"
    missing = [str(p) for p in (fileids, transcription) if not p.is_file()]
    if missing:
        raise ValueError(f"{', '.join(missing)} not found: is {root} the librivox folder of pocketsphinx-testdata?")
    found = Conversion(root, out)
    texts = read_transcription(transcription, found.problems)
    listed = set()
    for line_no, fileid in enumerate(fileids.read_text(encoding="utf-8").splitlines(), start=1):
        if not fileid.strip():
            continue
        utt = Path(fileid.strip()).name
        listed.add(utt)
        if utt not in texts:
            found.problems.append(f"{fileids}:{line_no}: recording {utt} has no line in {transcription}")
            continue
        try:
            row = asr_row(utt, root / f"{fileid.strip()}.wav", texts[utt], utt.rpartition("-")[0] or utt, out)
        except AudioError as err:
            found.problems.append(f"{fileids}:{line_no}: {err}")
        else:
            found.add_row(split, row, f"{fileids}:{line_no}")
    found.problems += [f"{transcription}: recording {utt} is not listed in {fileids}" for utt in texts if utt not in listed]
    return found


def convert(root: Path, out: Path, split: str = "test") -> Path:
    """Write ``out/split.tsv`` for the recordings at ``root``; returns its path."""
    return conversion(root, out, split).write()[0][0]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``crossprobe-librivox`` and ``python -m s2t.data.librivox``."""
    p = parser("s2t.data.librivox", __doc__, "the librivox folder", root=ROOT)
    p.add_argument("--split", default="test", help="manifest name: OUT/SPLIT.tsv (default %(default)s)")
    a = p.parse_args(argv)
    return convert_main(lambda: conversion(a.root, a.out, a.split), a.skip_bad)


if __name__ == "__main__":
    sys.exit(main())
