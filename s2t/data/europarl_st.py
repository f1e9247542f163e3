"""Convert EuroParl-ST (v1.1, as the MLLP ships it) into Crossprobe manifests: ASR and ST in every direction it has.

Layout followed (the release's, as fairseq-derived ``prep_europarlst_data.py`` scripts read it):
``<root>/<src>/audios/<speech>.m4a``, one recording per parliament speech, and
``<root>/<src>/<tgt>/<split>/`` holding ``segments.lst``, one segment a line,
``<speech> <start_s> <end_s>``, with ``segments.<src>`` (transcripts) and ``segments.<tgt>``
(translations), one sentence a line: line k of each file is segment k (``speeches.*`` are not
used). Languages: en fr de it es pt pl ro nl; splits: train, dev, test (all found, by default).

The audio ships as AAC in ``.m4a``, which libsndfile cannot decode: convert each recording once,
beside it, to FLAC or WAV (``ffmpeg -i X.m4a -ac 1 -ar 16000 X.flac``); the converter takes
``<speech>.flac``, else ``<speech>.wav``, else the ``.m4a`` (reported as unreadable, with that
command). Segments are read in place (``audios/X.flac:12.3:4.56``; why: ``s2t.data.convert``).
Rows: ``<speech>_<start ms>_<end ms>-asr`` and ``...-st-<tgt>``, speaker: the speech; an ASR row
that two pairs share (en-it and en-fr list the same English segment) is written once. A malformed
line or a missing recording is reported with its file and line. EuroParl-ST is licensed
CC BY-NC 4.0: non-commercial use only.

Usage: ``python -m s2t.data.europarl_st --root europarl-st/v1.1 --out data/europarl-st --pairs en-it,it-en``
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from s2t.data.convert import Conversion, Utterance, known_language, main as convert_main, parallel_lines, parser, tasks_option

AUDIO_SUFFIXES = (".flac", ".wav", ".m4a")  # converted copies first: libsndfile reads no AAC


def recording(audios: Path, speech: str) -> Path:
    """A speech's recording: its FLAC or WAV copy where there is one, else the shipped ``.m4a``."""
    return next((p for p in (audios / f"{speech}{s}" for s in AUDIO_SUFFIXES) if p.is_file()), audios / f"{speech}.m4a")


def span(line: str) -> tuple[str, float, float] | None:
    """A ``segments.lst`` line as (speech, start_s, end_s), or None if malformed."""
    parts = line.split()
    if len(parts) != 3:
        return None
    try:
        start, end = float(parts[1]), float(parts[2])
    except ValueError:
        return None
    return (parts[0], start, end) if 0 <= start < end else None


def pairs_of(root: Path) -> list[str]:
    """Every ``src-tgt`` pair with a split folder under root, sorted."""
    return sorted({f"{p.parts[-4]}-{p.parts[-3]}" for p in root.glob("*/*/*/segments.lst")})


def utterances(root: Path, src: str, tgt: str, split: str, problems: list[str]) -> Iterator[Utterance]:
    """The segments of one split of one pair, with transcript and translation; bad lines go to problems."""
    folder = root / src / tgt / split
    listing = folder / "segments.lst"
    rows = parallel_lines(listing, [folder / f"segments.{src}", folder / f"segments.{tgt}"], problems)
    for line_no, (line, text, translation) in enumerate(rows, start=1):
        found = span(line)
        if found is None:
            problems.append(f"{listing}:{line_no}: not '<speech> <start_s> <end_s>' with 0 <= start < end")
            continue
        speech, start, end = found
        yield Utterance(f"{speech}_{round(start * 1000)}_{round(end * 1000)}", recording(root / src / "audios", speech),
                        src, text, speech, f"{listing}:{line_no}", start, round(end - start, 6), {tgt: translation})


def conversion(root: Path, out: Path, pairs: Sequence[str] | None = None, tasks: Sequence[str] = ("asr", "st"),
               splits: Sequence[str] | None = None, progress: bool = True) -> Conversion:
    """The rows of every split of the pairs asked (default: all under root), and every bad entry."""
    pairs = pairs or pairs_of(root)
    if not pairs:
        raise ValueError(f"{root}: no <src>/<tgt>/<split>/segments.lst; is this the EuroParl-ST v1.1 folder?")
    found = Conversion(root, out)
    for pair in pairs:
        src, _, tgt = pair.partition("-")
        for code in (src, tgt):
            known_language(code, f"pair {pair}")
        if not (root / src / tgt).is_dir():
            raise ValueError(f"{root / src / tgt}: no such folder; pairs under {root}: {', '.join(pairs_of(root))}")
        for split in splits or sorted(p.parent.name for p in (root / src / tgt).glob("*/segments.lst")):
            found.extend(split, utterances(root, src, tgt, split, found.problems), tasks, progress)
    return found


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``crossprobe-europarl-st`` and ``python -m s2t.data.europarl_st``."""
    p = parser("s2t.data.europarl_st", __doc__, "the EuroParl-ST v1.1 folder (holding <src>/audios and "
               "<src>/<tgt>/<split>/segments.lst)")
    p.add_argument("--pairs", type=lambda v: v.split(","), help="e.g. en-it,it-en (default: every pair under --root)")
    p.add_argument("--tasks", type=tasks_option, default=("asr", "st"), help="asr, st or both (default asr,st)")
    p.add_argument("--splits", type=lambda v: v.split(","), help="e.g. train,dev,test (default: every split found)")
    a = p.parse_args(argv)
    return convert_main(lambda: conversion(a.root, a.out, a.pairs, a.tasks, a.splits), a.skip_bad)


if __name__ == "__main__":
    sys.exit(main())
