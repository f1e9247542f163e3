"""Validate manifests and their audio: every bad row is listed with its reason.

Usage: ``python -m s2t.data.check DIR/train.tsv [DIR/valid.tsv ...]``. Exit status 0 when
every row is clean, 1 when some row is bad, 2 when a manifest cannot be read at all.
Each row is checked for: empty id or text, unknown language or task, duplicate id, missing,
corrupt, empty or non-finite audio, features that are not finite, ``n_frames`` disagreeing
with the audio (each row's, rows sharing a recording included), and (where the sidecar
exists) ground truth that does not match the texts.
A sample rate other than 16 kHz is reported as a note, not an error: loading resamples it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch
from tqdm import tqdm

from s2t.data.audio import AudioError, load_audio, row_problems
from s2t.data.manifest import (KNOWN_LANGUAGES, TASKS, ManifestError, ManifestRow, WordAlignment, read_alignments,
                               read_manifest, resolve_audio)
from s2t.features import FeatureError, fbank
from s2t.usage import prog


def decode(path: Path) -> tuple[int | None, list[str], list[str]]:
    """Decode a recording and compute its features: (frame count or None, problems, notes)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frames = fbank(torch.from_numpy(load_audio(path))).shape[0]
        except (AudioError, FeatureError) as err:
            return None, [str(err)], []
    return frames, [], [str(w.message) for w in caught]


def frame_problems(row: ManifestRow, path: Path, frames: int | None) -> list[str]:
    """A row's ``n_frames`` disagreeing (by more than one) with its decoded audio's frame count."""
    if frames is None or abs(frames - row.n_frames) <= 1:
        return []
    return [f"n_frames is {row.n_frames} but {path} has {frames} frames"]


def alignment_problems(row: ManifestRow, truth: WordAlignment) -> list[str]:
    """Mismatches between a row's texts and its ground-truth record."""
    problems = []
    src, tgt = row.src_text.split(), row.tgt_text.split()
    if [w for w, _, _ in truth.words] != src:
        problems.append("sidecar words differ from src_text")
    if any(not (0 <= s < e) for _, s, e in truth.words):
        problems.append("sidecar has a word with start >= end or a negative time")
    if truth.tgt_words != tgt:
        problems.append("sidecar tgt_words differ from tgt_text")
    if any(not (0 <= i < len(src) and 0 <= j < len(tgt)) for i, j in truth.alignment):
        problems.append("sidecar alignment has an index out of range")
    return problems


def check_manifest(
    manifest: Path, languages: tuple[str, ...] = KNOWN_LANGUAGES, tasks: tuple[str, ...] = TASKS, progress: bool = True
) -> tuple[dict[str, list[str]], dict[str, list[str]], int]:
    """Check every row; returns (problems by row id, notes by row id, number of rows)."""
    rows = read_manifest(manifest)
    truth = read_alignments(manifest)
    problems: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    seen: set[str] = set()
    decoded: dict[Path, tuple[int | None, list[str], list[str]]] = {}
    for row in tqdm(rows, desc=f"checking {manifest.name}", unit="row", disable=not progress):
        found = row_problems(row, languages, tasks)
        if row.id in seen:
            found.append("duplicate id")
        seen.add(row.id)
        path = resolve_audio(manifest, row)
        if path not in decoded:  # rows of one utterance share its audio: decode it once, check each row against it
            decoded[path] = decode(path)
        frames, bad_audio, row_notes = decoded[path]
        found += bad_audio + frame_problems(row, path, frames)
        if row.id in truth:
            found += alignment_problems(row, truth[row.id])
        if found:
            problems[row.id] = found
        if row_notes:
            notes[row.id] = row_notes
    return problems, notes, len(rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m s2t.data.check``; returns the exit status."""
    p = argparse.ArgumentParser(prog=prog("s2t.data.check"), description=__doc__.split("\n\n")[0])
    p.add_argument("manifests", nargs="+", type=Path, help="manifest TSV files")
    p.add_argument("--languages", default=",".join(KNOWN_LANGUAGES), help="accepted language codes (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    a = p.parse_args(argv)
    languages = tuple(a.languages.split(","))
    status = 0
    for manifest in a.manifests:
        try:
            problems, notes, n = check_manifest(manifest, languages, progress=not a.quiet)
        except ManifestError as err:
            print(f"error: {err}")
            status = 2
            continue
        for row_id, row_notes in notes.items():
            for note in row_notes:
                print(f"note: {manifest} row {row_id}: {note}")
        for row_id, row_problems_ in problems.items():
            print(f"bad: {manifest} row {row_id}: {'; '.join(row_problems_)}")
        print(f"{manifest}: {n} rows, {len(problems)} bad")
        if problems and status == 0:
            status = 1
        if n == 0:
            print(f"error: {manifest} has no rows")
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
