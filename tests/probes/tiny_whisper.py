"""A tiny random Whisper (d=32, 2+2 layers, 2 heads) and a tiny BPE tokenizer, all built here, for the Whisper tests.

Nothing is downloaded: the tokenizer is a real ``WhisperTokenizer`` over the 256 byte symbols,
the merges that spell a few words after a space, and Whisper's prompt tokens; the feature
extractor is Whisper's own (80 mels, 30 s). The encoder keeps Whisper's 30 s input (3000
frames, 1500 encoder frames). Test modules import the fixtures they use.
"""

from __future__ import annotations

import math

import torch
from tokenizers import pre_tokenizers
from torch import Tensor
from transformers import (
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperTokenizer,
)

from probes.adapters.whisper import WhisperProbe

WORDS = ("the", "cat", "dog", "sat", "on", "mat")


SPECIALS = ("<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|it|>", "<|translate|>", "<|transcribe|>",
            "<|notimestamps|>")


SAMPLES = 31_840  # 1.99 s of audio: 201 log-mel frames whose window reaches it


NEW_TOKENS = 6  # the search's length limit


def tiny_tokenizer() -> WhisperTokenizer:
    """Byte-level BPE: 256 byte symbols, merges spelling " the", " cat", ..., and the prompt tokens (280 ids)."""
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        piece = "\u0120"  # the space byte
        for char in word:
            merges.append((piece, char))
            piece += char
    vocab = {char: i for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    for name in SPECIALS:
        vocab[name] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges)
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIALS[1:])})
    return tokenizer


def tiny_whisper() -> WhisperProbe:
    """A seeded tiny Whisper on SDPA, eval mode; the search suppresses the prompt tokens and stops after 6 tokens.

    Weights are drawn with std 0.5 (Whisper's 0.02 makes an untrained decoder ignore the audio).
    """
    tokenizer = tiny_tokenizer()
    eot, sot, *prompt = tokenizer.convert_tokens_to_ids(list(SPECIALS))
    config = WhisperConfig(vocab_size=len(tokenizer), num_mel_bins=80, d_model=32, encoder_layers=2, decoder_layers=2,
                           encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                           decoder_ffn_dim=64, max_target_positions=64, decoder_start_token_id=sot,
                           bos_token_id=eot, eos_token_id=eot, pad_token_id=eot, suppress_tokens=[sot, *prompt],
                           begin_suppress_tokens=[eot], attn_implementation="sdpa", init_std=0.5)
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config.max_length = NEW_TOKENS  # Whisper's generate counts it after the prompt
    return WhisperProbe(model, WhisperFeatureExtractor(feature_size=80), tokenizer)


def chirp() -> Tensor:
    """1.99 s of a 16 kHz chirp with noise, (SAMPLES,)."""
    t = torch.arange(SAMPLES) / 16000
    noise = torch.randn(SAMPLES, generator=torch.Generator().manual_seed(1))
    return 0.3 * torch.sin(2 * math.pi * (200 + 400 * t) * t) + 0.05 * noise


def ids(whisper: WhisperProbe, *tokens: str) -> list[int]:
    """Ids of byte-level BPE tokens by their surface form ("\u0120cat")."""
    return whisper.tokenizer.convert_tokens_to_ids(list(tokens))


def whisper_input(whisper: WhisperProbe, wav: Tensor) -> Tensor:
    """Whisper's own encoder input (1, F, 3000) of a waveform: its feature extractor, padding to 30 s included."""
    return whisper.feature_extractor(wav.numpy(), sampling_rate=16000, return_tensors="pt").input_features


def attention_implementations(model: WhisperForConditionalGeneration) -> set[str]:
    """The attention implementation of the model's config and of every attention module's config."""
    configs = [model.config] + [m.config for m in model.modules() if hasattr(m, "k_proj")]
    return {config._attn_implementation for config in configs}
