"""Plain PyTorch speech-to-text models (no Lightning): configs, presets, encoder, decoder."""

from s2t.models.config import PRESETS, ModelConfig, preset
from s2t.models.decoder import DecoderCache
from s2t.models.model import Encoded, S2TModel

__all__ = ["PRESETS", "DecoderCache", "Encoded", "ModelConfig", "S2TModel", "preset"]
