"""The manifest format: one TSV per split, plus a JSONL sidecar with word times and alignments.

A manifest row is one training example: an audio file, its transcript (``src_text``), the
target text the decoder must produce (``tgt_text``: the transcript again for ASR, a
translation for ST), the languages, the task and the speaker. Several rows may share one
audio file (the ASR row and the ST rows of the same utterance).

``audio`` is a path relative to the manifest's folder (absolute paths are allowed).
``n_frames`` is the number of 10 ms filterbank frames of the audio (25 ms window,
``1 + (samples - 400) // 160`` at 16 kHz); batching uses it without opening the audio.

The sidecar ``NAME.align.jsonl`` next to ``NAME.tsv`` has one JSON object per row id::

    {"id": ..., "words": [[word, start_s, end_s], ...],   # source words in the audio
     "tgt_words": [word, ...],                            # tgt_text.split()
     "alignment": [[src_index, tgt_index], ...]}          # which source word each target word renders

``words`` follows ``src_text.split()`` one to one. Real corpora may have no sidecar.

A segment of a long recording (a talk, a parliament sitting) is ``audio`` with its offset and
duration in seconds appended, ``talks/ted_767.wav:16.08:3.5`` (``split_segment``): every reader
opens the recording and reads that stretch only, so a corpus of talks needs no million small files.
Only a path ending in ``:<number>:<number>`` is a segment, so manifests without segments read as before.

Languages: ``LANGUAGES`` are the synthetic grammar's five; the real corpora's converters write
``CORPUS_LANGUAGES`` too (codes as their distributors spell them); a code outside
``KNOWN_LANGUAGES`` is refused by the converters and reported by ``s2t.data.check``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, Iterator

SAMPLE_RATE = 16_000
WINDOW_SAMPLES = 400  # 25 ms at 16 kHz
HOP_SAMPLES = 160  # 10 ms at 16 kHz
LANGUAGES = ("en", "it", "es", "fr", "de")  # the synthetic grammar's
CORPUS_LANGUAGES = (  # the real corpora's: MuST-C's targets, EuroParl-ST's nine, CoVoST 2's 21 sources and 15 targets
    "ar", "ca", "cs", "cy", "de", "en", "es", "et", "fa", "fr", "id", "it", "ja", "lv", "mn", "nl", "pl", "pt", "ro",
    "ru", "sl", "sv-SE", "ta", "tr", "vi", "zh", "zh-CN",
)
KNOWN_LANGUAGES = LANGUAGES + tuple(code for code in CORPUS_LANGUAGES if code not in LANGUAGES)
SEGMENT = re.compile(r"^(?P<path>.+):(?P<offset>\d+(?:\.\d+)?):(?P<duration>\d+(?:\.\d+)?)$")  # path:offset_s:duration_s
TASKS = ("asr", "st")


def num_frames(num_samples: int) -> int:
    """Number of Kaldi-style filterbank frames (snip edges) for ``num_samples`` at 16 kHz."""
    if num_samples < WINDOW_SAMPLES:
        return 0
    return 1 + (num_samples - WINDOW_SAMPLES) // HOP_SAMPLES


@dataclass(frozen=True)
class ManifestRow:
    """One example: audio, source transcript, decoder target, languages, task and speaker."""

    id: str
    audio: str
    n_frames: int
    src_text: str
    tgt_text: str
    src_lang: str
    tgt_lang: str
    task: str
    speaker: str


COLUMNS = tuple(f.name for f in fields(ManifestRow))


@dataclass(frozen=True)
class WordAlignment:
    """Ground truth for one row: source word times (seconds) and source-target word links."""

    id: str
    words: list[tuple[str, float, float]]
    tgt_words: list[str]
    alignment: list[tuple[int, int]]


class ManifestError(ValueError):
    """A manifest (or one of its rows) is malformed; the message names the file and row."""


def seconds(value: float) -> str:
    """Seconds as an audio field writes them: at most 6 decimals (microseconds), no trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def segment_audio(path: str, offset: float, duration: float) -> str:
    """The audio field of a segment: ``path:offset:duration``, both in seconds."""
    return f"{path}:{seconds(offset)}:{seconds(duration)}"


def split_segment(audio: Path | str) -> tuple[Path, tuple[float, float] | None]:
    """An audio field (or its resolved path) as (file, (offset_s, duration_s)); the segment is None for a whole file."""
    match = SEGMENT.match(str(audio))
    if match is None:
        return Path(audio), None
    return Path(match["path"]), (float(match["offset"]), float(match["duration"]))


def sidecar_path(manifest: Path | str) -> Path:
    """The alignment sidecar that belongs to ``manifest`` (``train.tsv`` -> ``train.align.jsonl``)."""
    manifest = Path(manifest)
    return manifest.with_name(manifest.stem + ".align.jsonl")


def resolve_audio(manifest: Path | str, row: ManifestRow) -> Path:
    """Absolute path of a row's audio, relative paths being taken from the manifest's folder (a segment keeps its
    ``:offset:duration``)."""
    path = Path(row.audio)
    return path if path.is_absolute() else Path(manifest).resolve().parent / path


def read_manifest(path: Path | str, unique_ids: bool = False) -> list[ManifestRow]:
    """Read a manifest TSV; structural problems (and, with ``unique_ids``, a repeated id) raise ManifestError
    naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ManifestError(f"{path}:{line}: not UTF-8 text (byte {raw[err.start]:#04x}); save the manifest as UTF-8") from None
    rows: list[ManifestRow] = []
    first_line: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None:
        raise ManifestError(f"{path}: empty file, expected a header with columns {', '.join(COLUMNS)}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"{path}: header lacks column(s) {', '.join(missing)}")
    index = {c: header.index(c) for c in COLUMNS}
    for line_no, values in enumerate(reader, start=2):
        if not values:
            continue
        if len(values) != len(header):
            raise ManifestError(f"{path}:{line_no}: {len(values)} fields, header has {len(header)}")
        cell = {c: values[i] for c, i in index.items()}
        try:
            n_frames = int(cell["n_frames"])
        except ValueError:
            raise ManifestError(f"{path}:{line_no} (id {cell['id']}): n_frames {cell['n_frames']!r} is not an integer") from None
        if unique_ids and cell["id"] in first_line:
            raise ManifestError(f"{path}:{line_no}: id {cell['id']!r} appears twice (first on line {first_line[cell['id']]})")
        first_line.setdefault(cell["id"], line_no)
        rows.append(ManifestRow(**{**cell, "n_frames": n_frames}))
    return rows


def write_manifest(path: Path | str, rows: Iterable[ManifestRow]) -> None:
    """Write rows as a manifest TSV (tabs and newlines inside fields are refused)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            values = [str(getattr(row, c)) for c in COLUMNS]
            if any("\t" in v or "\n" in v for v in values):
                raise ManifestError(f"{path}: row {row.id} has a tab or newline inside a field")
            f.write("\t".join(values) + "\n")


def write_alignments(path: Path | str, items: Iterable[WordAlignment]) -> None:
    """Write the JSONL sidecar, one object per row."""
    with Path(path).open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")


def iter_alignments(path: Path | str) -> Iterator[WordAlignment]:
    """Read the JSONL sidecar lazily."""
    path = Path(path)
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                yield WordAlignment(
                    id=obj["id"],
                    words=[(w, float(s), float(e)) for w, s, e in obj["words"]],
                    tgt_words=list(obj["tgt_words"]),
                    alignment=[(int(i), int(j)) for i, j in obj["alignment"]],
                )
            except (ValueError, KeyError, TypeError) as err:
                raise ManifestError(f"{path}:{line_no}: malformed alignment record ({err})") from None


def read_alignments(manifest: Path | str) -> dict[str, WordAlignment]:
    """Alignment records of a manifest by row id; empty when the manifest has no sidecar."""
    path = sidecar_path(manifest)
    return {a.id: a for a in iter_alignments(path)} if path.is_file() else {}
