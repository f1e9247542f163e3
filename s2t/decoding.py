"""Greedy and beam-search decoding with the decoder's key/value cache, batched over utterances.

Both run under ``torch.no_grad`` on a model the caller has put in eval mode. Hypotheses are
scored as in fairseq: the sum of token log-probabilities (the final eos included) divided by
``length ** length_penalty``, where length counts the generated tokens and the eos. The pad
token is never generated; eos is forced once a hypothesis reaches the maximum length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from s2t.models import DecoderCache, Encoded, S2TModel
from s2t.tokenizer import EOS_ID, PAD_ID


@dataclass(frozen=True)
class DecodingOptions:
    """Search settings; at most ``max_len_a * T' + max_len_b`` tokens before the eos."""

    beam_size: int = 1
    max_len_a: float = 0.0
    max_len_b: int = 200
    length_penalty: float = 1.0
    eos_id: int = EOS_ID
    pad_id: int = PAD_ID

    def __post_init__(self) -> None:
        """Reject settings no search can honour."""
        if self.beam_size < 1:
            raise ValueError(f"beam_size={self.beam_size} must be >= 1")
        if self.max_len_a < 0 or self.max_len_b < 0:
            raise ValueError(f"max_len_a={self.max_len_a} and max_len_b={self.max_len_b} must be >= 0")
        if self.eos_id == self.pad_id:
            raise ValueError(f"eos_id and pad_id are both {self.eos_id}")

    def max_lengths(self, enc_lengths: Tensor) -> Tensor:
        """Maximum number of generated tokens before the eos, per utterance: (B,) int64."""
        return (self.max_len_a * enc_lengths + self.max_len_b).long()


def _next_log_probs(logits: Tensor, step: int, max_lengths: Tensor, options: DecodingOptions) -> Tensor:
    """Log-probabilities (N, V) of the next token, pad excluded and eos forced at the length limit."""
    logp = logits.log_softmax(dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))  # (N, V)
    logp[:, options.pad_id] = float("-inf")
    at_limit = max_lengths <= step  # (N,)
    eos_logp = logp[:, options.eos_id].clone()
    logp[at_limit] = float("-inf")
    logp[:, options.eos_id] = eos_logp
    return logp


@torch.no_grad()
def greedy_decode(
    model: S2TModel, encoded: Encoded, prefix: Tensor, options: DecodingOptions | None = None
) -> list[list[int]]:
    """Most likely token at each step until eos, for a batch of utterances.

    Args:
        model: the model, in eval mode.
        encoded: ``model.encode`` output for B utterances.
        prefix: (B, P) forced decoder start, e.g. ``[bos, <lang>, <task>]``.
        options: eos/pad ids and length limits (``beam_size`` is ignored).

    Returns:
        B token lists, without the prefix and the eos.
    """
    options = options or DecodingOptions()
    limits = options.max_lengths(encoded.lengths)  # (N,) of the rows still decoding, N <= B
    cache = DecoderCache(model.config.decoder_layers)
    rows = torch.arange(prefix.shape[0], device=prefix.device)  # (N,) their batch rows
    memory, memory_lengths = encoded.out, encoded.lengths  # (N, T', D), (N,)
    generated = torch.full((prefix.shape[0], int(limits.max()) + 1), options.pad_id, device=prefix.device)  # (B, steps)
    inputs = prefix
    for step in range(generated.shape[1]):
        logits, _ = model.decode(inputs, memory, memory_lengths, cache=cache)
        token = _next_log_probs(logits[:, -1], step, limits, options).argmax(dim=-1)  # (N,)
        generated[rows, step] = token
        going = (token != options.eos_id).nonzero().squeeze(1)  # (N',)
        if going.numel() == 0:
            break
        if going.numel() < rows.numel():  # finished rows leave the batch: the longest no longer pays for all
            rows, limits, token = rows[going], limits[going], token[going]
            memory, memory_lengths = memory[going], memory_lengths[going]
            cache.reorder(going, cross=True)
        inputs = token[:, None]  # (N, 1)
    return [_until_eos(row, options) for row in generated.tolist()]


def _until_eos(tokens: list[int], options: DecodingOptions) -> list[int]:
    """``tokens`` up to (without) the first eos or pad."""
    for i, token in enumerate(tokens):
        if token in (options.eos_id, options.pad_id):
            return tokens[:i]
    return tokens


@torch.no_grad()
def beam_search(model: S2TModel, encoded: Encoded, prefix: Tensor, options: DecodingOptions) -> list[list[int]]:
    """Length-normalised beam search, batched over utterances and beams.

    Each step ranks the 2K best extensions of an utterance's K beams; eos extensions among
    the first K become finished hypotheses and the K best others continue (as in fairseq).
    An utterance is done at its length limit, or once it has K finished hypotheses and no
    active beam, normalised by its current length, beats the best of them. fairseq stops at K
    finished hypotheses; under length normalisation that can stop before a longer hypothesis
    with a better average, even the greedy one, is found.

    Args:
        model: the model, in eval mode.
        encoded: ``model.encode`` output for B utterances.
        prefix: (B, P) forced decoder start, e.g. ``[bos, <lang>, <task>]``.
        options: beam size K, length limits and penalty.

    Returns:
        B token lists, the best-scoring hypothesis of each, without the prefix and the eos.
    """
    B, K = prefix.shape[0], options.beam_size
    device = prefix.device
    enc_out = encoded.out.repeat_interleave(K, dim=0)  # (B K, T', D)
    enc_lengths = encoded.lengths.repeat_interleave(K, dim=0)  # (B K,)
    max_lengths = options.max_lengths(encoded.lengths)  # (B,)
    limits = max_lengths.tolist()
    cache = DecoderCache(model.config.decoder_layers)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start equal: keep one so the first step yields K distinct tokens
    history = prefix.new_empty(B * K, 0)  # (B K, step)
    inputs = prefix.repeat_interleave(K, dim=0)  # (B K, P)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    done = [False] * B
    for step in range(max(limits) + 1):
        logits, _ = model.decode(inputs, enc_out, enc_lengths, cache=cache)
        logp = _next_log_probs(logits[:, -1], step, max_lengths.repeat_interleave(K), options)  # (B K, V)
        V = logp.shape[1]
        candidates = (scores.to(logp.dtype)[:, :, None] + logp.view(B, K, V)).view(B, K * V)
        top_scores, top_index = candidates.topk(min(2 * K, K * V), dim=1)  # (B, 2K), best first
        top_beam, top_token = top_index // V, top_index % V  # (B, 2K)
        is_eos = top_token == options.eos_id
        for b, rank in (is_eos[:, :K] & top_scores[:, :K].isfinite()).nonzero().tolist():
            if not done[b]:
                tokens = history[b * K + top_beam[b, rank]].tolist()
                finished[b].append((top_scores[b, rank].item() / (step + 1) ** options.length_penalty, tokens))
        # The K best non-eos candidates continue (eos ones sort last, stably).
        order = (is_eos.long() * is_eos.shape[1] + torch.arange(is_eos.shape[1], device=device)).argsort(dim=1)[:, :K]
        scores = top_scores.gather(1, order)  # (B, K)
        # An active beam judged at its current length, as Hugging Face's default stopping rule
        # does; with K = 1 this stops exactly where greedy search does.
        active_bound = (scores.max(dim=1).values / (step + 1) ** options.length_penalty).tolist()  # (B,)
        for b in range(B):
            best = max((score for score, _ in finished[b]), default=float("-inf"))
            enough = len(finished[b]) >= K and best >= active_bound[b]
            done[b] = done[b] or enough or step >= limits[b]
        if all(done):
            break
        rows = (torch.arange(B, device=device)[:, None] * K + top_beam.gather(1, order)).flatten()  # (B K,)
        inputs = top_token.gather(1, order).reshape(B * K, 1)  # (B K, 1)
        history = torch.cat((history[rows], inputs), dim=1)  # (B K, step + 1)
        cache.reorder(rows)
    return [max(hyps, key=lambda h: h[0])[1] for hyps in finished]
