"""Runs set aside: a folder renamed ``<name>.<time>``, kept but no longer read, so that the study makes it anew."""

from __future__ import annotations

import time
from pathlib import Path

EXPLANATIONS = ("explain", "paper_resolution")  # a model's folders of evaluate.py runs


def stamped(folder: Path) -> Path:
    """``folder``'s name with the time appended, ``<name>.<time>``: where a set-aside folder goes."""
    return folder.with_name(f"{folder.name}.{time.strftime('%Y%m%d-%H%M%S')}")


def set_aside(folder: Path) -> Path | None:
    """Rename an explain folder to ``<name>.<time>`` (kept, but no longer read), so that it is made anew."""
    if not folder.is_dir():
        return None
    return folder.rename(stamped(folder))


def set_aside_run(run: Path) -> Path:
    """Move one group's run ``<stage>/<group>`` to ``<stage>.<time>/<group>`` (kept, but no longer read)."""
    dest = stamped(run.parent) / run.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    return run.rename(dest)
