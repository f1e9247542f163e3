"""Corpora: the manifest format, the synthetic corpus generator, converters, checks and batching."""
