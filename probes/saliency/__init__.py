"""Saliency methods: which input (filterbank cells, encoder states) each output token depends on.

``perturbation`` is the occlusion machinery; ``spes`` applies it to the filterbank (SPES) and
``encoder`` to the encoder output; ``gradients`` gives Captum's gradient methods; ``pooling``
brings input-resolution maps to cross-attention's grid.
"""
