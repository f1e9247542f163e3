"""The import layers hold (import-linter's contracts in pyproject.toml): s2t imports neither probes nor study, probes
never imports study, and storage and metrics never import report code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"  # the lint-imports command


def test_the_import_contracts_are_kept() -> None:
    pytest.importorskip("importlinter", reason="import-linter (the test extra, pinned in requirements.lock) is not "
                                               "installed in this venv: rebuild it from the lock")
    done = subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert "0 broken" in done.stdout
