"""Probes: cross-attention capture, saliency methods, agreement metrics, callback and reports.

Probes talk to a model only through a small interface (encode; force-decode with attention),
so they can explain any encoder-decoder speech-to-text model. (Built in a later issue.)
"""
