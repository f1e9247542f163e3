"""Speech-to-text: data, tokenizer, features, encoder-decoder models and their Lightning module.

Nothing in ``s2t`` imports ``probes``: the probes reach models through a small interface.
"""
