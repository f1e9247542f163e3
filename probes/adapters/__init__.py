"""``ProbeModel`` adapters: ``S2TProbe`` (this project's checkpoints), ``whisper.WhisperProbe`` (Hugging Face).

``WhisperProbe`` needs the optional ``hf`` extra (``transformers``): import it from ``probes.adapters.whisper``.
"""

from probes.adapters.s2t import S2TProbe

__all__ = ["S2TProbe"]
