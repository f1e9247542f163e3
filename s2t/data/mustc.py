"""Convert MuST-C (releases v1.0 to v3.0, as FBK ships them) into Crossprobe manifests: English ASR and English->xx ST.

Layout followed (the one fairseq's ``examples/speech_to_text/prep_mustc_data.py`` and lhotse's
MuST-C recipe read): ``<release>/en-<xx>/data/<split>/wav/<talk>.wav``, one 16 kHz WAV per TED
talk, and ``<release>/en-<xx>/data/<split>/txt/`` holding ``<split>.yaml``, one segment a line,
``- {duration: 3.500000, offset: 16.080000, rW: 9, uW: 0, speaker_id: spk.767, wav: ted_767.wav}``
(seconds), with ``<split>.en`` and ``<split>.<xx>``, one sentence a line: line k of each file is
segment k. Splits: train, dev, tst-COMMON, tst-HE (all found, by default). ``--root`` is the
release folder (every ``en-<xx>`` in it, or those ``--pairs`` names) or one ``en-<xx>`` folder.

Segments are read in place (``talks/ted_767.wav:16.08:3.5``; why: ``s2t.data.convert``). Rows:
``<talk>_<start ms>_<end ms>-asr`` and ``...-st-<xx>``, speaker ``speaker_id``; one manifest per
split, ``OUT/<split>.tsv``, holding every pair. A malformed YAML line, a missing talk or a segment
outside its talk is reported with its file and line. MuST-C is licensed CC BY-NC-ND 4.0:
non-commercial use only.

Usage: ``python -m s2t.data.mustc --root MUSTC_v1.0 --out data/mustc --pairs en-de,en-it``
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from s2t.data.convert import Conversion, Utterance, known_language, main as convert_main, parallel_lines, parser, tasks_option

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML was built with it
KEYS = ("duration", "offset", "speaker_id", "wav")


def segment(line: str) -> dict[str, Any] | None:
    """One YAML line's segment (``- {duration: ..., offset: ..., speaker_id: ..., wav: ...}``), or None if malformed."""
    try:
        parsed = yaml.load(line, Loader=YAML_LOADER)
    except yaml.YAMLError:
        return None
    if not (isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], dict) and set(KEYS) <= parsed[0].keys()):
        return None
    seg = parsed[0]
    ok = all(isinstance(seg[k], (int, float)) and not isinstance(seg[k], bool) for k in ("duration", "offset"))
    return seg if ok and seg["offset"] >= 0 and seg["duration"] > 0 else None


def pair_folders(root: Path, pairs: Sequence[str] | None) -> dict[str, Path]:
    """Target language -> its ``en-<xx>`` folder, for the pairs asked (default: every one under root)."""
    if (root / "data").is_dir() and root.name.startswith("en-"):
        root, pairs = root.parent, pairs or [root.name]
    found = {p.name: p for p in sorted(root.glob("en-*")) if (p / "data").is_dir()}
    names = pairs or list(found)
    if not names:
        raise ValueError(f"{root}: no en-<xx>/data folder; is this a MuST-C release folder?")
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"{root}: no {', '.join(m + '/data' for m in missing)} folder")
    return {known_language(n.removeprefix("en-"), str(found[n])): found[n] for n in names}


def utterances(folder: Path, split: str, tgt: str, problems: list[str]) -> Iterator[Utterance]:
    """The segments of one split of one pair, with their English text and translation; bad lines go to problems."""
    txt = folder / "data" / split / "txt"
    listing = txt / f"{split}.yaml"
    rows = parallel_lines(listing, [txt / f"{split}.en", txt / f"{split}.{tgt}"], problems)
    for line_no, (line, en, xx) in enumerate(rows, start=1):
        seg = segment(line)
        if seg is None:
            problems.append(f"{listing}:{line_no}: not a segment "
                            "'- {duration: <s>, offset: <s>, speaker_id: <id>, wav: <file>}' with duration > 0")
            continue
        talk = Path(str(seg["wav"]))
        start_ms, end_ms = round(seg["offset"] * 1000), round((seg["offset"] + seg["duration"]) * 1000)
        yield Utterance(f"{talk.stem}_{start_ms}_{end_ms}", folder / "data" / split / "wav" / talk, "en", en,
                        str(seg["speaker_id"]), f"{listing}:{line_no}", float(seg["offset"]), float(seg["duration"]),
                        {tgt: xx})


def splits_of(folder: Path) -> list[str]:
    """The splits a pair folder holds (``data/<split>/txt/<split>.yaml``), sorted."""
    return sorted(p.stem for p in folder.glob("data/*/txt/*.yaml") if p.stem == p.parent.parent.name)


def conversion(root: Path, out: Path, pairs: Sequence[str] | None = None, tasks: Sequence[str] = ("asr", "st"),
               splits: Sequence[str] | None = None, progress: bool = True) -> Conversion:
    """The rows of every split of the pairs asked, and every bad entry."""
    folders = pair_folders(root, pairs)
    found = Conversion(root, out)
    for tgt, folder in folders.items():
        for split in splits or splits_of(folder):
            found.extend(split, utterances(folder, split, tgt, found.problems), tasks, progress)
    return found


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``crossprobe-mustc`` and ``python -m s2t.data.mustc``."""
    p = parser("s2t.data.mustc", __doc__, "the MuST-C release folder (holding en-<xx>/), or one en-<xx> folder")
    p.add_argument("--pairs", type=lambda v: v.split(","), help="e.g. en-de,en-it (default: every en-<xx> under --root)")
    p.add_argument("--tasks", type=tasks_option, default=("asr", "st"), help="asr, st or both (default asr,st)")
    p.add_argument("--splits", type=lambda v: v.split(","),
                   help="e.g. train,dev,tst-COMMON (default: every split found; tst-HE too)")
    a = p.parse_args(argv)
    return convert_main(lambda: conversion(a.root, a.out, a.pairs, a.tasks, a.splits), a.skip_bad)


if __name__ == "__main__":
    sys.exit(main())
