"""``ProbeModel`` adapters: ``S2TProbe`` (this project's checkpoints), ``whisper.WhisperProbe`` (Hugging Face).

``WhisperProbe`` needs the optional ``hf`` extra (``transformers``): import it from ``probes.adapters.whisper``.
``S2TProbe`` is imported on first use (PEP 562), so ``import probes.adapters`` loads no model code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from probes.adapters.s2t import S2TProbe

__all__ = ["S2TProbe"]


def __getattr__(name: str) -> Any:
    """``S2TProbe``, imported from ``probes.adapters.s2t`` on first use."""
    if name != "S2TProbe":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from probes.adapters.s2t import S2TProbe

    return S2TProbe
