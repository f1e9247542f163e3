"""Importing the packages, or the explanation API, leaves the training stack and the optional libraries unloaded."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("lightning", "transformers", "wandb", "captum", "matplotlib")  # loaded only where they are used


def loaded_after(code: str) -> list[str]:
    """The ``HEAVY`` modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_packages_loads_no_heavy_library() -> None:
    assert loaded_after("import s2t, s2t.data, s2t.models, probes, probes.adapters, probes.metrics, probes.report, "
                        "probes.saliency, study") == []


def test_the_explanation_api_loads_no_heavy_library() -> None:
    assert loaded_after("from probes import ExplainConfig, Explanation, ProbeModel, Utterance, explain, forced, "
                        "hypotheses") == []


def test_every_public_name_resolves_and_explain_stays_the_function() -> None:
    import probes
    import probes.adapters

    names = {name: getattr(probes, name) for name in probes.__all__}
    assert not any(isinstance(value, ModuleType) for value in names.values())
    importlib.import_module("probes.explain")  # the submodule, once imported, leaves the package's name to the function
    assert callable(probes.explain) and probes.explain is names["explain"]
    assert probes.adapters.S2TProbe is importlib.import_module("probes.adapters.s2t").S2TProbe
