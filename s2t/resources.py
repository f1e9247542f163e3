"""Where the YAML configs are: the checkout's ``configs/``, or the copy an installed package ships.

The repository keeps its configs at its root; ``pip install .`` ships them inside the package
(``s2t/configs/``, pyproject's package-dir mapping). Commands take a config path as given when it
exists, else the shipped config at that path, so ``configs/study/demo.yaml`` works from anywhere.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The repository root when running from a checkout (or an editable install), else None."""
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "configs").is_dir() else None


def config_dir() -> Path:
    """The folder holding ``study/``, ``experiment/``, ``data/``, ... configs."""
    root = checkout_root()
    return root / "configs" if root else PACKAGE / "configs"


def find_config(path: str | Path) -> Path:
    """``path`` if it exists, else the shipped config at that path (the ``configs/`` prefix is optional), else ``path``."""
    path = Path(path)
    if path.exists() or path.is_absolute():
        return path
    inside = Path(*path.parts[1:]) if path.parts[:1] == ("configs",) else path
    shipped = config_dir() / inside
    return shipped if shipped.is_file() else path
