"""Probes: cross-attention capture, saliency methods, agreement metrics, callback and reports.

Probes talk to a model only through ``probes.interface.ProbeModel`` (encode; force-decode
with attention; search; word groups), so they can explain any encoder-decoder
speech-to-text model; ``probes.adapters.S2TProbe`` adapts this project's checkpoints.
"""

from probes.callback import ExplanationCallback
from probes.explain import ExplainConfig, Explanation, explain
from probes.interface import Forced, ProbeModel, Utterance, force_on_encoding, forced, hypotheses

__all__ = ["ExplainConfig", "Explanation", "ExplanationCallback", "Forced", "ProbeModel", "Utterance", "explain",
           "force_on_encoding", "forced", "hypotheses"]
