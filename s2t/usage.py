"""The program name a command's usage line shows: how the user started it."""

from __future__ import annotations

import sys
from pathlib import Path


def prog(module: str) -> str:
    """The console script's name when started as one (``crossprobe-study``), else ``python -m <module>``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name.startswith("crossprobe-") else f"python -m {module}"
