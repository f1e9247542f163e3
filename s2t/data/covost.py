"""Convert CoVoST 2 (its TSVs over a Common Voice release's clips) into Crossprobe manifests: ST xx->en and en->xx, and ASR.

Layout followed (as fairseq's ``examples/speech_to_text/prep_covost_data.py`` reads it): CoVoST 2
ships ``covost_v2.<src>_<tgt>.tsv`` per language pair, and its ``get_covost_splits.py`` joins it
with Common Voice 4's ``validated.tsv`` into ``covost_v2.<src>_<tgt>.<split>.tsv`` (split train,
dev, test; train includes the ``train_covost`` rows) with the columns ``path``, ``sentence``,
``translation``, ``client_id``: tab-separated, unquoted, backslash escapes. The clips are Common
Voice's, ``<cv-corpus>/<src>/clips/<path>`` (MP3). Pairs: 21 languages into English, English into
15 (``zh-CN``, ``sv-SE`` and the rest spelled as the file names spell them).

``--root`` is the source language's Common Voice folder (holding ``clips/``), ``--tsv-dir`` the
folder of the split TSVs (default ``--root``). Rows: ``<clip>-st-<tgt>`` and ``<clip>-asr``
(written once for a clip in several en->xx pairs), speaker ``client_id``. A malformed line, an
empty text or a missing clip is reported with its file and line. CoVoST 2's translations are
released under CC0, over Common Voice's CC0 clips.

Usage: ``python -m s2t.data.covost --root cv-corpus-4-2019-12-10/fr --out data/covost-fr-en --pairs fr_en``
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from s2t.data.convert import Conversion, Utterance, known_language, main as convert_main, parser, read_tsv, tasks_option

TSV = re.compile(r"^covost_v2\.(?P<src>[^._]+)_(?P<tgt>[^._]+)\.(?P<split>[^.]+)\.tsv$")  # covost_v2.fr_en.train.tsv
COLUMNS = ("path", "sentence", "translation", "client_id")


def split_tsvs(tsv_dir: Path, pairs: Sequence[str] | None) -> dict[tuple[str, str], dict[str, Path]]:
    """(src, tgt) -> split -> its TSV, for the pairs asked (``fr_en``; default: every pair in tsv_dir)."""
    found: dict[tuple[str, str], dict[str, Path]] = {}
    for path in sorted(tsv_dir.glob("covost_v2.*.tsv")):
        match = TSV.match(path.name)
        if match and (pairs is None or f"{match['src']}_{match['tgt']}" in pairs):
            found.setdefault((match["src"], match["tgt"]), {})[match["split"]] = path
    missing = [p for p in pairs or () if tuple(p.split("_", 1)) not in found]
    if not found or missing:
        raise ValueError(f"{tsv_dir}: no covost_v2.<src>_<tgt>.<split>.tsv for {', '.join(missing) or 'any pair'} "
                         "(covost's get_covost_splits.py writes them)")
    for src, tgt in found:
        for code in (src, tgt):
            known_language(code, str(tsv_dir / f"covost_v2.{src}_{tgt}.*.tsv"))
    return found


def utterances(tsv: Path, clips: Path, src: str, tgt: str, problems: list[str]) -> Iterator[Utterance]:
    """The clips one split TSV lists, with sentence and translation; bad lines go to problems."""
    for line_no, fields in read_tsv(tsv, COLUMNS, problems, escapechar="\\"):
        yield Utterance(Path(fields["path"]).stem, clips / fields["path"], src, fields["sentence"], fields["client_id"],
                        f"{tsv}:{line_no}", translations={tgt: fields["translation"]})


def conversion(root: Path, out: Path, pairs: Sequence[str] | None = None, tasks: Sequence[str] = ("asr", "st"),
               tsv_dir: Path | None = None, splits: Sequence[str] | None = None, progress: bool = True) -> Conversion:
    """The rows of each split of the pairs asked, and every bad entry."""
    found = Conversion(root, out)
    for (src, tgt), tsvs in split_tsvs(tsv_dir or root, pairs).items():
        for split in splits or sorted(tsvs):
            if split not in tsvs:
                raise ValueError(f"{tsv_dir or root}: no covost_v2.{src}_{tgt}.{split}.tsv")
            found.extend(split, utterances(tsvs[split], root / "clips", src, tgt, found.problems), tasks, progress)
    return found


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``crossprobe-covost`` and ``python -m s2t.data.covost``."""
    p = parser("s2t.data.covost", __doc__, "the source language's Common Voice folder (holding clips/)")
    p.add_argument("--tsv-dir", type=Path, help="folder of the covost_v2.<src>_<tgt>.<split>.tsv files (default --root)")
    p.add_argument("--pairs", type=lambda v: v.split(","), help="e.g. fr_en or en_de,en_ja (default: every pair found)")
    p.add_argument("--tasks", type=tasks_option, default=("asr", "st"), help="asr, st or both (default asr,st)")
    p.add_argument("--splits", type=lambda v: v.split(","), help="e.g. train,dev,test (default: every split found)")
    a = p.parse_args(argv)
    return convert_main(lambda: conversion(a.root, a.out, a.pairs, a.tasks, a.tsv_dir, a.splits), a.skip_bad)


if __name__ == "__main__":
    sys.exit(main())
