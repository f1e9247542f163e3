"""A model's identity on disk: the digests a run records, so that a resumed run, a rescore or a study can tell
that the weights it finds at a path are the ones a run explained."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: Path) -> str:
    """SHA-256 of a file: a resumed run must explain the same checkpoint, not a newer one at the same path."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def weights_digest(folder: Path) -> str:
    """SHA-256 of each weights file of a Hugging Face folder, comma-joined ('' for a hub name or an empty folder)."""
    weights = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")) if folder.is_dir() else []
    return ",".join(file_digest(w) for w in weights)
