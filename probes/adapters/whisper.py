"""``ProbeModel`` adapter for Hugging Face ``transformers``' Whisper (``WhisperForConditionalGeneration``).

Needs the optional ``hf`` extra (``pip install crossprobe[hf]``). Whisper's encoder reads exactly
30 s: ``max_source_positions`` x 2 log-mel frames (3000). How the adapter meets the probes,
which explain only the real audio:

- ``features`` keeps the log-mel frames whose window reaches the audio, as Whisper's feature
  extractor computes them on the 30 s padded signal.
- ``encode`` pads them back to 30 s as the extractor does (frames of digital silence, which
  Whisper's dynamic-range clamp sets to max(max(features) - 2, -1.5)), runs the encoder on
  the whole, and returns H restricted to the real frames, with lengths ceil(T / 2): occlusion
  probes perturb those frames and CA's T' matches them. It keeps the encodings of the padding
  frames for the ``force_decode`` calls that follow.
- ``force_decode`` decodes on the full 30 s encoding (``enc``, then the kept padding frames),
  which is what Whisper does, and returns the cross-attention on the real frames without
  renormalising it: a row sums to 1 minus the mass Whisper puts on the padding. When a batch's
  rows share one padding (encoder-output occlusion perturbs only the real frames of one
  utterance's encoding), the decoder's cross-attention keys and values of the padding frames
  are projected once per ``encode`` call and reused (``_cross_cache``): the same numbers, where
  projecting all 1500 frames for every mask cost most of the decoder's time.
- A beam search (``search``, beam > 1) projects those keys and values once per row, not once per
  beam, and never reorders them (``_BeamCache``): every beam of a row attends to the same
  encoding, where ``generate`` would project the row's 1500 frames for each beam and copy them
  all at every step. With SDPA (the default) the beams of a row also read one copy of them, as
  extra query positions (``beam_attention``); other implementations read one copy per beam.
- Cross-attention needs ``output_attentions``, which only eager attention returns: the
  model runs with its own implementation (SDPA by default) and switches to eager only for
  a call with ``need_weights=True``.
- ``neutral``: occlusion fills a cell with the level Whisper's feature extractor gives digital
  silence in the utterance, max(max(features) - 2, -1.5), what its padding holds; 0 on this
  normalised log-mel is a loud flat spectrum (10^-4 in power), not silence.
- ``search`` stops after ``MAX_TOKENS_PER_SECOND`` tokens per second of audio (plus
  ``EXTRA_TOKENS``): on occluded or silent copies Whisper can loop on a phrase up to its
  448-token limit, which cost deletion curves half an hour per utterance.
- ``normalize``: Whisper's outputs are cased and punctuated; its users score them after its
  English text normaliser (its basic one in other languages), as ``probes.metrics.text`` does.
"""

from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import Tensor
from transformers import AttentionInterface, WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperProcessor
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.modeling_outputs import BaseModelOutput
from transformers.models.whisper.english_normalizer import BasicTextNormalizer, EnglishTextNormalizer
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from probes.interface import Forced

MAX_TOKENS_PER_SECOND = 10.0  # search bound: fast English speech is 5-6 BPE tokens a second, punctuation included
EXTRA_TOKENS = 8  # ... plus a few, so that a short utterance's sentence still ends
SPACE = "\u0120"  # byte-level BPE's stand-in for the space byte: a token starting with it starts a word
TASKS = {"asr": "transcribe", "transcribe": "transcribe", "st": "translate", "translate": "translate"}


BEAM_ATTENTION = "crossprobe_beams"  # SDPA with a row's beams attending to one copy of its cross keys and values


def beam_attention(module: torch.nn.Module, query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None,
                   **kwargs: Any) -> tuple[Tensor, Tensor | None]:
    """SDPA, where keys and values (B, H, S, d) may hold one row for the ``beams`` query rows (B x beams, H, q, d) of
    each: the beams are then folded into the query positions (B, H, beams x q, d), so the keys are read once.

    Returns (B x beams, q, H, d) as ``transformers``' SDPA does.
    """
    rows, beams = key.shape[0], query.shape[0] // key.shape[0]
    if beams == 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    if attention_mask is not None:
        raise ValueError("beam_attention folds beams into query positions only without an attention mask")
    _, heads, q, d = query.shape
    folded = query.view(rows, beams, heads, q, d).transpose(1, 2).reshape(rows, heads, beams * q, d)
    out, weights = sdpa_attention_forward(module, folded, key, value, None, **{**kwargs, "is_causal": False})
    return out.view(rows, beams, q, heads, d).reshape(rows * beams, q, heads, d), weights  # (B x beams, q, H, d)


AttentionInterface.register(BEAM_ATTENTION, beam_attention)


class _BeamCache(EncoderDecoderCache):
    """A beam search's cache whose cross-attention keys and values are never reordered: a reorder picks among one
    row's beams, which all attend to the same encoding, so it would copy equal rows (the whole cache, every step)."""

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Reorder the self-attention cache only."""
        self.self_attention_cache.reorder_cache(beam_idx)


class WhisperProbe:
    """A ``WhisperForConditionalGeneration`` seen through the probes' interface (eval mode, any device)."""

    frames_per_second = 100
    subsampling = 2
    blank_id = None

    def __init__(self, model: WhisperForConditionalGeneration, feature_extractor: WhisperFeatureExtractor,
                 tokenizer: PreTrainedTokenizerBase) -> None:
        """Wrap a built model with its feature extractor and tokenizer."""
        self.model = model
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.n_mels = model.config.num_mel_bins
        self.encoder_frames = model.config.max_source_positions  # 1500 encoder frames: 30 s
        self.input_frames = self.encoder_frames * self.subsampling  # 3000 log-mel frames
        self._padding: Tensor | None = None  # (B, 1500 - T', D) encodings of the latest encode's padding frames
        self._padding_kv: list[tuple[Tensor, Tensor]] | None = None  # per decoder layer, their cross keys and values
        self.share_padding = True  # project a padding that a batch's rows share once (False: every row, as before)
        self.share_beams = True  # search: project a row's cross keys and values once for its beams (False: generate's)
        spelling = getattr(tokenizer, "english_spelling_normalizer", None) or {}  # normalizer.json, where shipped
        self._normalizers = {"en": EnglishTextNormalizer(spelling), "": BasicTextNormalizer()}

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, attn_implementation: str = "sdpa",
                        int8: bool = False) -> WhisperProbe:
        """Load a checkpoint and its processor from a folder or the Hugging Face cache (a hub name: the network).

        ``int8``: an approximation for CPUs, as faster-whisper runs there: every linear layer's weights quantised to
        int8 per tensor, activations quantised on the fly (``torch.ao.quantization.quantize_dynamic``). Its maps differ
        from the exact model's; experiments/approximations.py measures by how much, beside two mask seeds.
        """
        model = WhisperForConditionalGeneration.from_pretrained(str(name_or_path),
                                                                attn_implementation=attn_implementation).eval()
        if int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        processor = WhisperProcessor.from_pretrained(str(name_or_path))
        return cls(model, processor.feature_extractor, processor.tokenizer)

    @property
    def device(self) -> torch.device:
        """Where the model's parameters live."""
        return next(self.model.parameters()).device

    def features(self, wav: Tensor) -> Tensor:
        """Whisper's log-mel (T, F) of a 16 kHz waveform: the frames whose Hann window reaches the audio."""
        extractor = self.feature_extractor
        samples = wav.shape[-1]
        if samples > extractor.n_samples:
            seconds = samples / extractor.sampling_rate
            raise ValueError(f"Whisper reads at most {extractor.chunk_length} s of audio, got {seconds:.2f} s")
        mel = extractor(wav.detach().cpu().float().numpy(), sampling_rate=extractor.sampling_rate,
                        return_tensors="pt").input_features[0]  # (F, 3000)
        # frame k's window has non-zero weight on samples hop * k - n_fft / 2 + 1 .. hop * k + n_fft / 2 - 1
        frames = min(mel.shape[1], (samples + extractor.n_fft // 2 - 2) // extractor.hop_length + 1)
        return mel[:, :frames].T.contiguous()  # (T, F)

    def prefix(self, tgt_lang: str, task: str, src_lang: str | None = None) -> list[int]:
        """Whisper's prompt <|startoftranscript|><|lang|><|transcribe|> or <|translate|>, then <|notimestamps|>.

        ASR (``asr`` or ``transcribe``) names the language of the audio, ``tgt_lang``. Whisper
        translates (``st`` or ``translate``) only into English and its prompt names the source
        language: ``src_lang``. English-only checkpoints (``*.en``) take <|startoftranscript|><|notimestamps|>.
        """
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose one of {sorted(TASKS)}")
        if TASKS[task] == "translate" and (tgt_lang != "en" or src_lang is None):
            raise ValueError(f"Whisper translates only into English and its prompt names the source language: "
                             f"prefix('en', {task!r}, src_lang=...), got tgt_lang={tgt_lang!r}, src_lang={src_lang!r}")
        lang = src_lang if TASKS[task] == "translate" else tgt_lang
        if getattr(self.model.generation_config, "is_multilingual", True):
            names = ["<|startoftranscript|>", f"<|{lang}|>", f"<|{TASKS[task]}|>", "<|notimestamps|>"]
        elif (lang, TASKS[task]) == ("en", "transcribe"):
            names = ["<|startoftranscript|>", "<|notimestamps|>"]
        else:
            raise ValueError(f"an English-only Whisper only transcribes English, not {lang!r} with {task!r}")
        ids = self.tokenizer.convert_tokens_to_ids(names)
        unknown = [name for name, i in zip(names, ids) if i is None or i == self.tokenizer.unk_token_id]
        if unknown:
            raise ValueError(f"{unknown} not in this Whisper's vocabulary")
        return ids

    @property
    def alignment_heads(self) -> list[tuple[int, int]]:
        """OpenAI's alignment heads, (layer, head) 0-based, the cross-attention Whisper times words with (DTW)."""
        return [(int(layer), int(head)) for layer, head in
                getattr(self.model.generation_config, "alignment_heads", None) or []]

    def neutral(self, features: Tensor) -> Tensor:
        """The log-mel level of digital silence in an utterance (T, F): max(max - 2, -1.5), as Whisper's padding."""
        return (features.max() - 2.0).clamp(min=-1.5)

    def normalize(self, text: str, lang: str) -> str:
        """Text as Whisper's users score it: its English normaliser for ``en``, its basic one otherwise."""
        return self._normalizers.get(lang, self._normalizers[""])(text)

    def max_new_tokens(self, enc_lengths: Tensor, prompt: int) -> int:
        """The search bound of a batch: ``MAX_TOKENS_PER_SECOND`` of its longest audio plus ``EXTRA_TOKENS``,
        within the generation config's ``max_length`` and Whisper's 448 positions after a ``prompt``-token prefix."""
        seconds = float(enc_lengths.max()) * self.subsampling / self.frames_per_second
        room = min(self.model.config.max_target_positions - prompt,
                   self.model.generation_config.max_length or self.model.config.max_target_positions)
        return max(1, min(room, math.ceil(MAX_TOKENS_PER_SECOND * seconds) + EXTRA_TOKENS))

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of output tokens (special tokens dropped, no leading space)."""
        return self.tokenizer.decode(list(tokens), skip_special_tokens=True).strip()

    def _encode_full(self, features: Tensor, lengths: Tensor) -> Tensor:
        """(B, T, F), (B,) -> the encoder states (B, 1500, D) of the features padded to 30 s as Whisper pads them."""
        b, t, _ = features.shape
        if t > self.input_frames:
            raise ValueError(f"Whisper reads at most {self.input_frames} frames, got {t}")
        real = torch.arange(self.input_frames, device=features.device)[None] < lengths[:, None]  # (B, 3000)
        padded = torch.nn.functional.pad(features, (0, 0, 0, self.input_frames - t))  # (B, 3000, F)
        ceiling = padded.masked_fill(~real[..., None], float("-inf")).amax(dim=(1, 2))  # (B,)
        # digital silence after Whisper's clamp to 8 (log10) below the maximum, (x + 4) / 4 scaled: no gradient
        silence = (ceiling - 2.0).clamp(min=-1.5).detach()  # (B,)
        mel = torch.where(real[..., None], padded, silence[:, None, None])  # (B, 3000, F)
        return self.model.get_encoder()(mel.transpose(1, 2).to(self.model.dtype)).last_hidden_state  # (B, 1500, D)

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, F), (B,) -> H (B, T', D) on the real frames, T' = max ceil(T / 2), and (B,) encoder lengths.

        Keeps the encodings of the padding frames for the next ``force_decode`` calls.
        """
        full = self._encode_full(features, lengths)  # (B, 1500, D)
        enc_lengths = (lengths + 1) // 2  # (B,)
        width = int(enc_lengths.max())
        self._padding = full[:, width:]  # (B, 1500 - T', D)
        self._padding_kv = None
        return full[:, :width], enc_lengths

    def _padding_of(self, enc: Tensor) -> Tensor:
        """The kept padding encodings (B, 1500 - T', D) that complete ``enc`` (B, T', D) to 30 s."""
        padding = self._padding
        if (padding is None or padding.shape[1] + enc.shape[1] != self.encoder_frames
                or padding.shape[0] not in (1, enc.shape[0])):
            raise RuntimeError("force_decode completes an encoding with the padding frames of the latest encode call: "
                               "encode this batch (or its single unperturbed utterance) first")
        return padding.expand(enc.shape[0], -1, -1)

    def _shares_padding(self, enc: Tensor) -> bool:
        """Whether the rows of ``enc`` (B, T', D) share one kept padding whose keys and values are projected once."""
        self._padding_of(enc)  # refuses an encoding that the kept padding does not complete
        # with gradients on, the padding's encodings depend on the input: project them anew
        return self.share_padding and self._padding.shape[0] == 1 and not torch.is_grad_enabled()

    def _cross_kv(self, enc: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Per decoder layer, the cross-attention keys and values (B, H, 1500, d) of ``enc`` (B, T', D) completed to
        30 s by the kept padding; a padding the rows share is projected once per ``encode`` (``_shares_padding``)."""
        layers = [layer.encoder_attn for layer in self.model.get_decoder().layers]
        b = enc.shape[0]
        if self._shares_padding(enc):
            if self._padding_kv is None:
                padding = self._padding[:1]  # (1, 1500 - T', D)
                self._padding_kv = [(attn.k_proj(padding), attn.v_proj(padding)) for attn in layers]
            projected = [(torch.cat((attn.k_proj(enc), keys.expand(b, -1, -1)), dim=1),
                          torch.cat((attn.v_proj(enc), values.expand(b, -1, -1)), dim=1))
                         for attn, (keys, values) in zip(layers, self._padding_kv)]  # (B, 1500, D) each
        else:
            full = torch.cat((enc, self._padding_of(enc)), dim=1)  # (B, 1500, D)
            projected = [(attn.k_proj(full), attn.v_proj(full)) for attn in layers]
        heads = [(b, self.encoder_frames, attn.num_heads, attn.head_dim) for attn in layers]
        return [(k.view(shape).transpose(1, 2).contiguous(), v.view(shape).transpose(1, 2).contiguous())
                for (k, v), shape in zip(projected, heads)]  # (B, H, 1500, d) each

    def _cross_cache(self, enc: Tensor) -> EncoderDecoderCache | None:
        """A cache holding the decoder's cross keys and values of ``enc`` (B, T', D) for ``force_decode``, or None
        (the model projects all 1500 frames itself) unless the B > 1 rows share one padding (``_shares_padding``)."""
        if enc.shape[0] == 1 or not self._shares_padding(enc):
            return None
        return EncoderDecoderCache(DynamicCache(), self._cross_filled(enc))

    def _cross_filled(self, enc: Tensor, repeats: int = 1) -> DynamicCache:
        """A cache of ``_cross_kv(enc)``, each row repeated ``repeats`` times next to itself (B x repeats, H, 1500, d)."""
        cross = DynamicCache()
        for index, (k, v) in enumerate(self._cross_kv(enc)):
            if repeats > 1:  # repeat_interleave copies even once
                k, v = k.repeat_interleave(repeats, dim=0), v.repeat_interleave(repeats, dim=0)
            cross.update(k, v, index)
        return cross

    @contextmanager
    def _attention(self, implementation: str) -> Iterator[None]:
        """One attention implementation for one call, then the model's own again."""
        previous = self.model.config._attn_implementation
        self.model.set_attn_implementation(implementation)
        try:
            yield
        finally:
            self.model.set_attn_implementation(previous)

    def force_decode(
        self, enc: Tensor, enc_lengths: Tensor, prefix: Tensor, tokens: Tensor, need_weights: bool = False
    ) -> Forced:
        """Log-probabilities (B, I, V) of the I tokens after the prefix, and CA (B, L, H, I, T') on the real frames.

        Decodes on the full 30 s encoding, as Whisper does; CA is not renormalised: each row sums
        to 1 minus the mass on the padding frames (0 beyond a row's encoder length).
        """
        p, width = prefix.shape[1], enc.shape[1]
        full = torch.cat((enc, self._padding_of(enc)), dim=1)  # (B, 1500, D)
        inputs = torch.cat((prefix, tokens), dim=1)[:, :-1]  # (B, P + I - 1)
        cache = self._cross_cache(enc)
        with self._attention("eager") if need_weights else nullcontext():  # the only one that returns weights
            out = self.model(encoder_outputs=BaseModelOutput(last_hidden_state=full), decoder_input_ids=inputs,
                             output_attentions=need_weights, cache=cache, use_cache=cache is not None)
        log_probs = out.logits[:, p - 1 :].log_softmax(dim=-1)  # (B, I, V): row i predicted token i
        if not need_weights:
            return Forced(log_probs, None)
        ca = torch.stack(out.cross_attentions, dim=1)[:, :, :, p - 1 :, :width]  # (B, L, H, I, T')
        real = torch.arange(width, device=enc.device)[None] < enc_lengths[:, None]  # (B, T')
        return Forced(log_probs, ca * real[:, None, None, None])

    @torch.no_grad()
    def search(self, enc: Tensor, enc_lengths: Tensor, prefix: Sequence[int], beam_size: int = 5) -> list[list[int]]:
        """``hypotheses`` on an encoding (B, T', D) that ``encode`` returned (completed with its padding frames),
        at most ``max_new_tokens`` long."""
        full = torch.cat((enc, self._padding_of(enc)), dim=1)  # (B, 1500, D)
        prompts = torch.tensor([list(prefix)], device=enc.device).expand(enc.shape[0], -1)  # (B, P)
        bound = self.max_new_tokens(enc_lengths, len(prefix))
        shared = self.share_beams and beam_size > 1  # greedy search projects once and reorders nothing already
        folded = shared and self.model.config._attn_implementation == "sdpa"
        cache = {"cache": self._beam_cache(enc, 1 if folded else beam_size)} if shared else {}
        with self._attention(BEAM_ATTENTION) if folded else nullcontext():
            sequences = self.model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=full),
                                            decoder_input_ids=prompts, num_beams=beam_size, max_length=bound,
                                            **cache)  # (B, N): new tokens only (Whisper counts after the prompt)
        eos = self.model.generation_config.eos_token_id
        stops = set(eos) if isinstance(eos, list) else {eos}
        out = []
        for row in sequences.tolist():
            end = next((k for k, token in enumerate(row) if token in stops), len(row))
            out.append(row[:end])
        return out

    def _beam_cache(self, enc: Tensor, beams: int) -> _BeamCache:
        """A search's cache, its cross keys and values (B x beams, H, 1500, d) projected once per row of ``enc``
        (B, T', D) and repeated ``beams`` times (1: read by ``beam_attention``), in ``generate``'s order (a row's
        beams next to each other)."""
        return _BeamCache(DynamicCache(), self._cross_filled(enc, beams))

    def word_groups(self, tokens: Sequence[int]) -> list[tuple[str, list[int]]]:
        """Words of Whisper's byte-level BPE: a token whose text starts with a space opens a word, others continue one.

        A word's text is its tokens decoded together (multi-byte characters split across tokens
        come out whole; special tokens drop out). Languages written without spaces get one word
        per run of tokens between spaces.
        """
        words: list[list[int]] = []
        for i, piece in enumerate(self.tokenizer.convert_ids_to_tokens(list(tokens))):
            if piece.startswith(SPACE) or not words:
                words.append([i])
            else:
                words[-1].append(i)
        texts = [self.tokenizer.decode([tokens[i] for i in members], skip_special_tokens=True).strip()
                 for members in words]
        return [(text, members) for text, members in zip(texts, words) if text or len(members) > 1]

    def describe(self) -> dict[str, Any]:
        """For the logs: the model's name, its config and its parameter count."""
        return {"family": "whisper", "name": self.model.config.name_or_path, "config": self.model.config.to_dict(),
                "parameters": self.model.num_parameters()}

    def ctc_log_probs(self, features: Tensor, lengths: Tensor) -> None:
        """Whisper has no CTC head."""
        return None
