"""Silence our dependencies' known noise: lines printed on every run that no user can act on."""

from __future__ import annotations

import logging
import warnings

LOG_NOISE = (  # (logger, the start of a message it prints on every run)
    ("lightning.pytorch.utilities.rank_zero", "💡 Tip: For seamless cloud logging"),
    ("lightning.fabric.utilities.rank_zero", "💡 Tip: For seamless cloud logging"),
    # Whisper's own generate() hands its suppress lists to the generic one beside its config
    ("transformers.generation.utils", "Passing `generation_config` together with generation-related"),
    # a batch of Whisper prompts has one length (nothing padded), and its encoder input no mask to pass
    ("transformers.generation.utils", "The attention mask is not set with a batched input"),
)
WARNING_NOISE = (  # (message regex, category): Lightning 2.6.6's pytree helper on torch 2.14
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
)


class _DropPrefix(logging.Filter):
    """Drop records whose message starts with a given text."""

    def __init__(self, prefix: str) -> None:
        """Records starting with ``prefix`` are dropped."""
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every other record."""
        return not str(record.msg).startswith(self.prefix)


def silence() -> None:
    """Install the filters (idempotent); entry points call it before they build a trainer or a model."""
    for name, prefix in LOG_NOISE:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropPrefix) and f.prefix == prefix for f in logger.filters):
            logger.addFilter(_DropPrefix(prefix))
    for message, category in WARNING_NOISE:
        warnings.filterwarnings("ignore", message=message, category=category)
