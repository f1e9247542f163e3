"""Convert one language of a Common Voice release (as Mozilla ships it) into Crossprobe manifests: ASR.

Layout followed (the release's, as SpeechBrain's ``commonvoice_prepare.py`` reads it):
``cv-corpus-<version>/<locale>/clips/<clip>.mp3`` and, beside ``clips/``, ``train.tsv``,
``dev.tsv``, ``test.tsv`` (and ``validated.tsv``, ``other.tsv``, ...): tab-separated, unquoted,
with a header naming at least ``client_id``, ``path`` (the clip's file name in ``clips/``) and
``sentence``; the other columns (votes, age, gender, accents, locale, segment, ...) vary by
release and are not used. The clips are MP3 at 48 or 32 kHz, read by libsndfile and resampled to
16 kHz (with a warning) when loaded.

Rows: ``<clip>-asr``, speaker ``client_id``, language ``--lang`` (default: the folder's name, the
release's locale code). A malformed line, an empty sentence or a missing clip is reported with its
file and line. Common Voice is released under CC0 (public domain).

Usage: ``python -m s2t.data.common_voice --root cv-corpus-17.0-2024-03-15/it --out data/cv-it``
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from s2t.data.convert import Conversion, Utterance, known_language, main as convert_main, parser, read_tsv

SPLITS = ("train", "dev", "test")
COLUMNS = ("client_id", "path", "sentence")


def utterances(root: Path, split: str, lang: str, problems: list[str]) -> Iterator[Utterance]:
    """The clips ``root/<split>.tsv`` lists, with their sentences; bad lines go to problems."""
    tsv = root / f"{split}.tsv"
    if not tsv.is_file():
        raise ValueError(f"{tsv}: not found; is {root} one language's folder of a Common Voice release?")
    for line_no, fields in read_tsv(tsv, COLUMNS, problems):
        yield Utterance(Path(fields["path"]).stem, root / "clips" / fields["path"], lang, fields["sentence"],
                        fields["client_id"], f"{tsv}:{line_no}")


def conversion(root: Path, out: Path, lang: str | None = None, splits: Sequence[str] = SPLITS,
               progress: bool = True) -> Conversion:
    """The ASR rows of each split, and every bad entry."""
    lang = known_language(lang or root.name, f"{root} (--lang)")
    found = Conversion(root, out)
    for split in splits:
        found.extend(split, utterances(root, split, lang, found.problems), ("asr",), progress)
    return found


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``crossprobe-common-voice`` and ``python -m s2t.data.common_voice``."""
    p = parser("s2t.data.common_voice", __doc__, "one language's folder of a Common Voice release (holding clips/ "
               "and train.tsv, dev.tsv, test.tsv, validated.tsv)")
    p.add_argument("--lang", help="language code of the rows (default: the folder's name)")
    p.add_argument("--splits", type=lambda v: v.split(","), default=SPLITS,
                   help="TSVs to convert, e.g. train,dev,test or validated (default train,dev,test)")
    a = p.parse_args(argv)
    return convert_main(lambda: conversion(a.root, a.out, a.lang, a.splits), a.skip_bad)


if __name__ == "__main__":
    sys.exit(main())
