"""What every corpus converter shares: utterances to manifest rows, bad entries, and one command skeleton.

A converter reads a corpus in the layout its distributors ship and lists its utterances
(``Utterance``: a whole file, or a segment of a long recording, with its transcript and
translations). ``Conversion`` turns each into rows (``<id>-asr``, ``<id>-st-<tgt>``, as the
synthetic corpus names them), counting frames from the audio's header, and collects every bad
entry with its file and line instead of stopping at the first. ``main`` is the command line of
each converter: ``--root``, ``--out``, ``--skip-bad`` and the converter's own options.

Long recordings are not cut: a row's audio is ``recording:offset:duration`` (seconds;
``s2t.data.manifest.split_segment``), read in place by every reader. Cutting MuST-C's train set
would write over 200,000 files per language pair (as much disk again as the talks) in a step that
must resume when interrupted; reading a segment costs one open and one seek (sample-exact in WAV
and FLAC), like opening a small file, and the converter writes manifests only, rerunnable at will.

Texts are kept as the corpus writes them (case and punctuation), in Unicode NFC with runs of
white space made single spaces. Languages must be among ``KNOWN_LANGUAGES``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from s2t.data.audio import AudioError, header, probe_audio, span
from s2t.data.manifest import (KNOWN_LANGUAGES, SAMPLE_RATE, TASKS, ManifestRow, num_frames, segment_audio, split_segment,
                               write_manifest)
from s2t.usage import prog


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech as a corpus lists it: a file or a segment of one, its transcript and translations."""

    id: str
    audio: Path  # the recording
    lang: str
    text: str
    speaker: str
    where: str  # "file:line" that lists it
    offset: float | None = None  # seconds into the recording; None: the whole file
    duration: float | None = None  # seconds
    translations: dict[str, str] = field(default_factory=dict)  # target language -> text


def clean_text(text: str) -> str:
    """A corpus text as the manifest keeps it: Unicode NFC, white space collapsed to single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def known_language(code: str, where: str) -> str:
    """``code`` if it is in KNOWN_LANGUAGES, else ValueError naming where it was found."""
    if code not in KNOWN_LANGUAGES:
        raise ValueError(f"{where}: unknown language {code!r} (known: {', '.join(KNOWN_LANGUAGES)}; "
                         "add a new one to CORPUS_LANGUAGES in s2t/data/manifest.py)")
    return code


def tasks_option(value: str) -> tuple[str, ...]:
    """``--tasks asr,st`` as a tuple, refusing a task the manifest does not know."""
    tasks = tuple(t for t in value.split(",") if t)
    unknown = [t for t in tasks if t not in TASKS]
    if not tasks or unknown:
        raise argparse.ArgumentTypeError(f"tasks must be some of {', '.join(TASKS)}, not {value!r}")
    return tasks


def frames_at_16k(samples: int, rate: int) -> int:
    """n_frames of ``samples`` at ``rate`` once resampled to 16 kHz."""
    return num_frames(round(samples * SAMPLE_RATE / rate))


def audio_frames(audio: Path) -> int:
    """n_frames of a file or segment, from its header; AudioError names it."""
    samples, rate, _ = probe_audio(audio)
    return frames_at_16k(samples, rate)


def read_lines(path: Path) -> list[str]:
    """A text file's lines (one sentence each), or ValueError if it is missing."""
    if not path.is_file():
        raise ValueError(f"{path}: not found")
    return path.read_text(encoding="utf-8").splitlines()


def parallel_lines(listing: Path, texts: Sequence[Path], problems: list[str]) -> list[tuple[str, ...]]:
    """A segment listing's lines zipped with its parallel text files' lines; [] (and a problem) if their counts differ."""
    files = [listing, *texts]
    lines = [read_lines(path) for path in files]
    if len({len(f) for f in lines}) > 1:
        counts = ", ".join(f"{len(f)} in {path.name}" for f, path in zip(lines, files))
        problems.append(f"{listing.parent}: {counts}; they must match line for line")
        return []
    return list(zip(*lines))


def read_tsv(path: Path, columns: Sequence[str], problems: list[str], escapechar: str | None = None
             ) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, fields by column) of each well-formed line of a headed, unquoted TSV; bad lines go to problems."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar=escapechar)
        header = next(reader, [])
        missing = [c for c in columns if c not in header]
        if missing:
            raise ValueError(f"{path}: header lacks column(s) {', '.join(missing)}")
        for values in reader:
            if values and len(values) != len(header):
                problems.append(f"{path}:{reader.line_num}: {len(values)} fields, the header has {len(header)}")
            elif values:
                yield reader.line_num, dict(zip(header, values))


@dataclass
class Conversion:
    """Manifest rows by split, and every bad entry found (``file:line: reason``)."""

    root: Path
    out: Path
    manifests: dict[str, dict[str, ManifestRow]] = field(default_factory=dict)  # split -> row id -> row
    problems: list[str] = field(default_factory=list)
    headers: dict[Path, object] = field(default_factory=dict, repr=False)  # recording -> its header or AudioError
    paths: dict[Path, str] = field(default_factory=dict, repr=False)  # recording -> its path relative to out

    def frames(self, audio: Path) -> int:
        """n_frames of a file or segment, its recording's header read once (many segments share it); AudioError names it."""
        source, _ = split_segment(audio)
        if source not in self.headers:
            try:
                self.headers[source] = header(source)
            except AudioError as err:
                self.headers[source] = err
        info = self.headers[source]
        if isinstance(info, AudioError):
            raise AudioError(f"{audio}: {str(info).removeprefix(f'{source}: ')}")
        return frames_at_16k(span(audio, info)[1], info.samplerate)

    def audio_field(self, utt: Utterance) -> str:
        """The manifest's audio field: the recording's path relative to ``out``, ``:offset:duration`` for a segment."""
        if utt.audio not in self.paths:
            self.paths[utt.audio] = os.path.relpath(utt.audio.resolve(), self.out.resolve())
        path = self.paths[utt.audio]
        return path if utt.offset is None else segment_audio(path, utt.offset, utt.duration)

    def add_row(self, split: str, row: ManifestRow, where: str) -> None:
        """Keep a row; the same row listed again (the same segment in two language pairs) is kept once."""
        rows = self.manifests.setdefault(split, {})
        if row.id in rows and rows[row.id] != row:
            self.problems.append(f"{where}: id {row.id} listed again with other audio or text")
        rows.setdefault(row.id, row)

    def add(self, split: str, utt: Utterance, tasks: Sequence[str]) -> None:
        """The ASR row and the ST rows (one per translation) of an utterance, or its problems."""
        text = clean_text(utt.text)
        if not text:
            self.problems.append(f"{utt.where}: empty {utt.lang} transcript")
            return
        audio = utt.audio if utt.offset is None else Path(segment_audio(str(utt.audio), utt.offset, utt.duration))
        try:
            frames = self.frames(audio)
        except AudioError as err:
            self.problems.append(f"{utt.where}: {err}")
            return
        if frames == 0:
            self.problems.append(f"{utt.where}: {audio} is shorter than one 25 ms window")
            return
        row = ManifestRow(f"{utt.id}-asr", self.audio_field(utt), frames, text, text, utt.lang, utt.lang, "asr",
                          utt.speaker)
        if "asr" in tasks:
            self.add_row(split, row, utt.where)
        translations = {tgt: clean_text(t) for tgt, t in utt.translations.items()} if "st" in tasks else {}
        for tgt, translation in translations.items():
            if not translation:
                self.problems.append(f"{utt.where}: empty {tgt} translation")
            else:
                self.add_row(split, ManifestRow(**{**vars(row), "id": f"{utt.id}-st-{tgt}", "tgt_text": translation,
                                                   "tgt_lang": tgt, "task": "st"}), utt.where)

    def extend(self, split: str, utterances: Iterable[Utterance], tasks: Sequence[str], progress: bool = True) -> None:
        """Add every utterance of a split, with a progress bar."""
        for utt in tqdm(utterances, desc=f"{split}: reading audio headers", unit="utt", disable=not progress):
            self.add(split, utt, tasks)

    def write(self, skip_bad: bool = False) -> list[tuple[Path, int]]:
        """Write ``out/<split>.tsv`` per split: (path, rows) each. ValueError listing every bad entry unless ``skip_bad``."""
        if self.problems and not skip_bad:
            n = len(self.problems)
            raise ValueError(f"{n} bad entr{'y' if n == 1 else 'ies'} in {self.root} (--skip-bad writes the rest):\n  "
                             + "\n  ".join(self.problems))
        if not any(self.manifests.values()):
            raise ValueError(f"{self.root}: no utterances found")
        written = []
        for split, rows in self.manifests.items():
            write_manifest(self.out / f"{split}.tsv", rows.values())
            written.append((self.out / f"{split}.tsv", len(rows)))
        return written


def parser(module: str, doc: str, root_help: str, root: Path | None = None) -> argparse.ArgumentParser:
    """A converter's parser with --root, --out and --skip-bad; the converter adds its own options."""
    p = argparse.ArgumentParser(prog=prog(module), description=doc.split("\n\n")[0])
    p.add_argument("--root", type=Path, required=root is None, default=root,
                   help=root_help + (" (default %(default)s)" if root else ""))
    p.add_argument("--out", type=Path, required=True, help="folder for the manifests")
    p.add_argument("--skip-bad", action="store_true",
                   help="write the good rows and list the bad entries (default: write nothing while any is bad)")
    return p


def main(convert: Callable[[], Conversion], skip_bad: bool) -> int:
    """Run a conversion and write its manifests: 0, or 1 with the error (every bad entry) on stderr."""
    try:
        conversion = convert()
        written = conversion.write(skip_bad)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for problem in conversion.problems:
        print(f"left out: {problem}", file=sys.stderr)
    for path, n in written:
        print(f"wrote {path} ({n} rows)")
    return 0
