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

import argparse
import re
import sys
from pathlib import Path

from s2t.data.audio import AudioError
from s2t.data.librispeech import asr_row
from s2t.data.manifest import ManifestRow, write_manifest

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


def rows(root: Path, out: Path) -> list[ManifestRow]:
    """One ASR row per recording of ``root/fileids``; ValueError listing every bad entry."""
    fileids, transcription = root / "fileids", root / "transcription"
    missing = [str(p) for p in (fileids, transcription) if not p.is_file()]
    if missing:
        raise ValueError(f"{', '.join(missing)} not found: is {root} the librivox folder of pocketsphinx-testdata?")
    problems: list[str] = []
    texts = read_transcription(transcription, problems)
    out_rows, listed = [], set()
    for line_no, fileid in enumerate(fileids.read_text(encoding="utf-8").splitlines(), start=1):
        if not fileid.strip():
            continue
        utt = Path(fileid.strip()).name
        listed.add(utt)
        if utt not in texts:
            problems.append(f"{fileids}:{line_no}: recording {utt} has no line in {transcription}")
            continue
        try:
            out_rows.append(asr_row(utt, root / f"{fileid.strip()}.wav", texts[utt], utt.rpartition("-")[0] or utt, out))
        except AudioError as err:
            problems.append(f"{fileids}:{line_no}: {err}")
    problems += [f"{transcription}: recording {utt} is not listed in {fileids}" for utt in texts if utt not in listed]
    if problems:
        raise ValueError(f"{len(problems)} bad entr{'y' if len(problems) == 1 else 'ies'} in {root}:\n  "
                         + "\n  ".join(problems))
    return out_rows


def convert(root: Path, out: Path, split: str = "test") -> Path:
    """Write ``out/split.tsv`` for the recordings at ``root``; returns its path."""
    found = rows(root, out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / f"{split}.tsv"
    write_manifest(manifest, found)
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``crossprobe-librivox`` and ``python -m s2t.data.librivox``."""
    p = argparse.ArgumentParser(prog="crossprobe-librivox", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=ROOT, help="the librivox folder (default %(default)s)")
    p.add_argument("--out", type=Path, required=True, help="folder for the manifest")
    p.add_argument("--split", default="test", help="manifest name: OUT/SPLIT.tsv (default %(default)s)")
    a = p.parse_args(argv)
    try:
        manifest = convert(a.root, a.out, a.split)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
