"""Manifest rows as training examples (normalised fbank features, target tokens) and their batching.

Problems only visible when decoding (NaN samples, truncated data) surface in
``SpeechDataset.__getitem__``: the item becomes ``None`` (skip; ``collate`` drops it and counts
it in ``n_skipped``) or raises ``BadRowError`` naming the row and its audio file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from s2t.data.audio import AudioError, BadRowError, load_audio
from s2t.data.manifest import ManifestRow, resolve_audio
from s2t.features import N_MELS, FeatureError, SpecAugment, fbank
from s2t.tokenizer import PAD_ID, Tokenizer

log = logging.getLogger(__name__)
ON_BAD_ROW = ("skip", "abort")  # what a bad row does: dropped and counted, or an error naming it


def error_reason(err: Exception, path: Path) -> str:
    """Error message without the leading ``path: `` that AudioError puts there."""
    return str(err).removeprefix(f"{path}: ")


def describe_row(manifest: Path, row: ManifestRow, reasons: Sequence[str]) -> str:
    """One line naming a bad row: id, manifest, audio file and reasons."""
    return f"row {row.id!r} of {manifest} (audio {resolve_audio(manifest, row)}): {'; '.join(reasons)}"


class SpeechDataset(Dataset):
    """Manifest rows as training examples: normalised fbank features and decoder target tokens."""

    def __init__(
        self,
        manifest: Path | str,
        rows: Sequence[ManifestRow],
        tokenizer: Tokenizer,
        spec_augment: SpecAugment | None = None,
        on_bad_row: str = "skip",
    ) -> None:
        """Keep the rows (already validated), the tokenizer and the optional augmentation."""
        if on_bad_row not in ON_BAD_ROW:
            raise ValueError(f"on_bad_row must be one of {ON_BAD_ROW}, not {on_bad_row!r}")
        self.manifest = Path(manifest)
        self.rows = list(rows)
        self.tokenizer = tokenizer
        self.spec_augment = spec_augment
        self.on_bad_row = on_bad_row

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        """Features and tokens of one row; None if its audio fails to load in skip mode."""
        row = self.rows[index]
        path = resolve_audio(self.manifest, row)
        try:
            feats = fbank(torch.from_numpy(load_audio(path)))  # (T, 80)
        except (AudioError, FeatureError) as err:
            message = describe_row(self.manifest, row, [error_reason(err, path)])
            if self.on_bad_row == "abort":
                raise BadRowError(message) from err
            log.warning("skipping %s", message)
            return None
        if self.spec_augment is not None:
            feats = self.spec_augment(feats)  # (T, 80)
        target = self.tokenizer.prefix(row.tgt_lang, row.task) + self.tokenizer.encode(row.tgt_text)
        return {
            "id": row.id,
            "features": feats,  # (T, 80)
            "tokens": torch.tensor(target + [self.tokenizer.eos_id], dtype=torch.long),  # (S,)
            "src_tokens": torch.tensor(self.tokenizer.encode(row.src_text), dtype=torch.long),  # (S_src,) CTC target
            "src_lang": row.src_lang,
            "tgt_lang": row.tgt_lang,
            "task": row.task,
            "src_text": row.src_text,
            "tgt_text": row.tgt_text,
        }


def collate(items: Sequence[dict[str, Any] | None], pad_id: int = PAD_ID) -> dict[str, Any]:
    """Batch items (None items dropped and counted in ``n_skipped``); batch-first, padded.

    ``tokens`` are decoder targets with their prefix and eos; ``src_tokens`` the source
    transcript's pieces (the CTC target), each with its ``*_lengths``.
    """
    kept = [item for item in items if item is not None]
    batch: dict[str, Any] = {"n_skipped": len(items) - len(kept)}
    for key in ("id", "src_lang", "tgt_lang", "task", "src_text", "tgt_text"):
        batch["ids" if key == "id" else key] = [item[key] for item in kept]
    if not kept:
        batch.update(
            features=torch.zeros(0, 0, N_MELS),
            feature_lengths=torch.zeros(0, dtype=torch.long),
            tokens=torch.zeros(0, 0, dtype=torch.long),
            token_lengths=torch.zeros(0, dtype=torch.long),
            src_tokens=torch.zeros(0, 0, dtype=torch.long),
            src_token_lengths=torch.zeros(0, dtype=torch.long),
        )
        return batch
    feats = [item["features"] for item in kept]
    batch["features"] = pad_sequence(feats, batch_first=True, padding_value=0.0)  # (B, T_max, 80)
    batch["feature_lengths"] = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)  # (B,)
    for key in ("tokens", "src_tokens"):
        seqs = [item[key] for item in kept]
        batch[key] = pad_sequence(seqs, batch_first=True, padding_value=pad_id)  # (B, S_max)
        batch[key.replace("tokens", "token_lengths")] = torch.tensor([t.shape[0] for t in seqs], dtype=torch.long)  # (B,)
    return batch
