"""Probes: cross-attention capture, saliency methods, agreement metrics, callback and reports.

Probes talk to a model only through ``probes.interface.ProbeModel`` (encode; force-decode
with attention; search; word groups), so they can explain any encoder-decoder
speech-to-text model; ``probes.adapters.S2TProbe`` adapts this project's checkpoints.

The public names below are imported from their modules on first use (PEP 562), so
``import probes`` loads neither torch nor the training stack (Lightning, W&B, Captum, ...).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from probes.callback import ExplanationCallback
    from probes.explain import ExplainConfig, Explanation, explain
    from probes.interface import Forced, ProbeModel, Utterance, force_on_encoding, forced, hypotheses

_HOMES = {  # public name -> the module defining it
    "ExplanationCallback": "probes.callback",
    "ExplainConfig": "probes.explain", "Explanation": "probes.explain", "explain": "probes.explain",
    "Forced": "probes.interface", "ProbeModel": "probes.interface", "Utterance": "probes.interface",
    "force_on_encoding": "probes.interface", "forced": "probes.interface", "hypotheses": "probes.interface",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use and kept."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the public ones not yet imported included."""
    return sorted({*globals(), *__all__})


class _Package(ModuleType):
    """This package's module: the submodule ``probes.explain``, once imported, does not hide the function ``explain``."""

    def __setattr__(self, name: str, value: Any) -> None:
        """Bind ``name``, unless the import system binds a submodule over a public name (the function stays public)."""
        if name in _HOMES and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
