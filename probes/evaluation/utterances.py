"""Utterances to explain, read from a manifest and its ground-truth sidecar."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import torch

from probes.interface import ProbeModel, Utterance
from s2t.data.audio import load_audio
from s2t.data.manifest import ManifestRow, iter_alignments, read_manifest, resolve_audio, sidecar_path

log = logging.getLogger(__name__)


def manifest_rows(manifest: Path | str, limit: int | None = None, tasks: Sequence[str] | None = None,
                  languages: Sequence[str] | None = None, pairs: Sequence[str] | None = None) -> list[ManifestRow]:
    """The manifest's rows in file order, optionally only some tasks, languages and ``src-tgt`` pairs, at most ``limit``.

    A repeated id is a ManifestError: results and maps are stored by id.
    """
    rows = [row for row in read_manifest(manifest, unique_ids=True)
            if (tasks is None or row.task in tasks)
            and (languages is None or {row.src_lang, row.tgt_lang} <= set(languages))
            and (pairs is None or f"{row.src_lang}-{row.tgt_lang}" in pairs)]
    return rows if limit is None else rows[:limit]


def ground_truth(manifest: Path | str) -> dict[str, tuple[list, list, list]]:
    """Row id -> (words with times, target words, alignment) from the sidecar; empty without one."""
    path = sidecar_path(manifest)
    if not path.is_file():
        log.info("%s: no alignment sidecar, ground-truth metrics are skipped", path)
        return {}
    return {a.id: ([tuple(w) for w in a.words], list(a.tgt_words), [tuple(p) for p in a.alignment])
            for a in iter_alignments(path)}


def stored_utterance(record: dict[str, Any], truth: dict[str, tuple[list, list, list]]) -> Utterance:
    """An explained record as the Utterance its ground truth needs (hypothesis tokens, task, the manifest's word times);
    the features are left empty (its frames only), as no model pass follows."""
    words, tgt_words, alignment = truth.get(record["id"], (None, None, None))
    return Utterance(id=record["id"], features=torch.zeros(record["frames"], 0), prefix=[], tokens=list(record["tokens"]),
                     task=record["task"], src_lang=record["src_lang"], tgt_lang=record["tgt_lang"], words=words,
                     tgt_words=tgt_words, alignment=alignment)


def load_utterance(model: ProbeModel, manifest: Path | str, row: ManifestRow,
                   truth: dict[str, tuple[list, list, list]]) -> Utterance:
    """Features, prompt and ground truth of one row (the hypothesis comes later, from the model).

    Raises ``ValueError`` (``AudioError``, ``FeatureError``, an unknown language or task for
    the model) naming the problem when the row cannot be explained.
    """
    wav = torch.from_numpy(load_audio(resolve_audio(manifest, row)))
    words, tgt_words, alignment = truth.get(row.id, (None, None, None))
    return Utterance(id=row.id, features=model.features(wav), prefix=model.prefix(row.tgt_lang, row.task, row.src_lang),
                     reference=row.tgt_text, task=row.task, src_lang=row.src_lang, tgt_lang=row.tgt_lang,
                     words=words, tgt_words=tgt_words, alignment=alignment)


