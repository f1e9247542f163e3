"""Greedy and beam search: agreement, scores, length limits, and a planted bigram model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from s2t.decoding import DecodingOptions, beam_search, greedy_decode
from s2t.models import Encoded, ModelConfig, S2TModel
from s2t.tokenizer import BOS_ID, EOS_ID, PAD_ID

V = 12


@torch.no_grad()
def sequence_scores(
    model: S2TModel, encoded: Encoded, prefix: Tensor, hypotheses: list[list[int]], options: DecodingOptions
) -> Tensor:
    """Length-normalised score (as in ``beam_search``) of each hypothesis followed by eos: the oracle beam search
    is checked against.

    Args:
        model: the model, in eval mode.
        encoded: ``model.encode`` output for B utterances.
        prefix: (B, P) forced decoder start.
        hypotheses: B token lists without prefix and eos.
        options: eos/pad ids and ``length_penalty``.

    Returns:
        (B,) scores.
    """
    targets = [hyp + [options.eos_id] for hyp in hypotheses]
    S = max(map(len, targets))
    labels = torch.full((len(targets), S), options.pad_id, dtype=torch.long, device=prefix.device)
    for b, target in enumerate(targets):
        labels[b, : len(target)] = torch.tensor(target)
    tokens = torch.cat((prefix, labels[:, :-1]), dim=1)  # (B, P + S - 1)
    logits, _ = model.decode(tokens, encoded.out, encoded.lengths)
    logp = logits[:, prefix.shape[1] - 1 :].log_softmax(dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32))
    token_logp = logp.gather(2, labels[:, :, None]).squeeze(2).masked_fill(labels == options.pad_id, 0.0)  # (B, S)
    lengths = torch.tensor([len(t) for t in targets], device=prefix.device, dtype=token_logp.dtype)
    return token_logp.sum(dim=1) / lengths**options.length_penalty


def tiny_model(seed: int = 0, **overrides) -> S2TModel:
    torch.manual_seed(seed)
    config = ModelConfig(**{**dict(vocab_size=V, d_model=16, encoder_layers=2, decoder_layers=2, heads=2, ffn_dim=32,
                                   conv_kernel=3, subsampler_channels=8, dropout=0.0, attention_dropout=0.0),
                            **overrides})
    return S2TModel(config).double().eval()


def encode(model: S2TModel, lengths: list[int], seed: int = 1) -> Encoded:
    features = torch.randn(len(lengths), max(lengths), 80, generator=torch.Generator().manual_seed(seed),
                           dtype=torch.float64)
    return model.encode(features, torch.tensor(lengths))


def prefix(batch: int, task: int = 5) -> torch.Tensor:
    return torch.tensor([[BOS_ID, 4, task]] * batch)


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="beam_size=0"):
        DecodingOptions(beam_size=0)
    with pytest.raises(ValueError, match="max_len_a=-1"):
        DecodingOptions(max_len_a=-1)
    assert DecodingOptions(max_len_a=0.5, max_len_b=3).max_lengths(torch.tensor([10, 3])).tolist() == [8, 4]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_size_one_equals_greedy(seed: int) -> None:
    model = tiny_model(seed)
    encoded = encode(model, [40, 31, 23, 40])
    options = DecodingOptions(max_len_b=12)
    greedy = greedy_decode(model, encoded, prefix(4), options)
    assert beam_search(model, encoded, prefix(4), options) == greedy


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_search_scores_at_least_greedy(seed: int) -> None:
    model = tiny_model(seed)
    encoded = encode(model, [40, 31, 23, 40])
    options = DecodingOptions(beam_size=4, max_len_b=12)
    greedy = greedy_decode(model, encoded, prefix(4), options)
    beam = beam_search(model, encoded, prefix(4), options)
    greedy_scores = sequence_scores(model, encoded, prefix(4), greedy, options)
    beam_scores = sequence_scores(model, encoded, prefix(4), beam, options)
    assert (beam_scores >= greedy_scores - 1e-9).all()


def test_batched_beam_search_equals_one_at_a_time() -> None:
    model = tiny_model()
    lengths = [40, 23, 31]
    encoded = encode(model, lengths)
    options = DecodingOptions(beam_size=3, max_len_b=10)
    batched = beam_search(model, encoded, prefix(3), options)
    greedy = greedy_decode(model, encoded, prefix(3), options)
    for b, length in enumerate(lengths):
        alone = Encoded(encoded.out[b : b + 1, : encoded.lengths[b]], encoded.lengths[b : b + 1], None, None)
        assert beam_search(model, alone, prefix(1), options) == batched[b : b + 1]
        assert greedy_decode(model, alone, prefix(1), options) == greedy[b : b + 1]


@pytest.mark.parametrize("seed", [1, 3])  # models whose outputs depend on their context enough to show a mixed-up cache
def test_batched_greedy_equals_one_at_a_time_when_rows_end_apart(seed: int) -> None:
    model = tiny_model(seed)
    lengths = [40, 12, 31, 23, 36]
    encoded = encode(model, lengths)
    options = DecodingOptions(max_len_a=0.5, max_len_b=1)  # limits of 2 to 6 tokens: finished rows leave the batch
    batched = greedy_decode(model, encoded, prefix(5), options)
    assert [len(h) for h in batched] == [6, 2, 5, 4, 5] == options.max_lengths(encoded.lengths).tolist()
    for b, length in enumerate(lengths):
        alone = Encoded(encoded.out[b : b + 1, : encoded.lengths[b]], encoded.lengths[b : b + 1], None, None)
        assert greedy_decode(model, alone, prefix(1), options) == batched[b : b + 1]


@pytest.mark.parametrize("beam_size", [1, 3])
def test_length_limit_depends_on_the_input_length(beam_size: int) -> None:
    model = tiny_model()
    model.decoder.output.weight.data[EOS_ID] = -10.0  # make eos unlikely: hypotheses run to the limit
    encoded = encode(model, [40, 24])  # 10 and 6 subsampled frames
    options = DecodingOptions(beam_size=beam_size, max_len_a=0.5, max_len_b=1)
    hyps = beam_search(model, encoded, prefix(2), options)
    assert [len(h) for h in hyps] == [6, 4]
    assert all(PAD_ID not in h and EOS_ID not in h for h in hyps)


def plant_bigram(model: S2TModel, log_probs: torch.Tensor) -> None:
    """Make the decoder output ``log_probs[previous token]`` whatever the audio and position.

    Decoder layers add nothing to the residual stream (zero output projections), positions are
    zero, so the final LayerNorm sees only the token embedding; the output projection then
    maps each token's normalised embedding to its planted row by least squares.
    """
    decoder = model.decoder
    with torch.no_grad():
        decoder.positions.zero_()
        for layer in decoder.layers:
            for linear in (layer.self_attn.out_proj, layer.cross_attn.out_proj, layer.ffn[-1]):
                linear.weight.zero_()
                linear.bias.zero_()
        hidden = decoder.norm(decoder.embed.weight * decoder.embed_scale)  # (V, D)
        decoder.output.weight.copy_(torch.linalg.lstsq(hidden, log_probs).solution.T)


def bigram_table(rows: dict[int, dict[int, float]]) -> torch.Tensor:
    """(V, V) log-probabilities: the given next-token probabilities, the rest spread evenly."""
    table = torch.empty(V, V, dtype=torch.float64)
    for token in range(V):
        planted = rows.get(token, {})
        rest = (1.0 - sum(planted.values())) / (V - len(planted))
        table[token] = torch.tensor([planted.get(j, rest) for j in range(V)]).log()
    return table


# From task tag 5, token 6 is likelier than 7, but 6 leads nowhere good while 7 ends at once;
# from task tag 11, a chain 8 -> 9 -> 10 -> eos; token 3 repeats itself up to the length limit.
PLANTED = {5: {6: 0.5, 7: 0.4}, 6: {EOS_ID: 0.3}, 7: {EOS_ID: 0.99}, 11: {8: 0.9}, 8: {9: 0.9}, 9: {10: 0.9},
           10: {EOS_ID: 0.9}, 3: {3: 0.5}}


@pytest.fixture
def planted() -> S2TModel:
    model = tiny_model(decoder_positions="learned")
    plant_bigram(model, bigram_table(PLANTED))
    return model


def test_planted_model_beam_size_one_equals_greedy_with_mixed_endings(planted: S2TModel) -> None:
    encoded = encode(planted, [40, 31, 23])
    start = torch.tensor([[BOS_ID, 4, 5], [BOS_ID, 4, 11], [BOS_ID, 4, 3]])
    options = DecodingOptions(max_len_b=6)
    expected = [[6], [8, 9, 10], [3] * 6]
    assert greedy_decode(planted, encoded, start, options) == expected
    assert beam_search(planted, encoded, start, options) == expected


def test_planted_bigram_model_is_recovered(planted: S2TModel) -> None:
    model = planted
    encoded = encode(model, [40, 31])
    start = torch.tensor([[BOS_ID, 4, 5], [BOS_ID, 4, 11]])
    logits, _ = model.decode(torch.tensor([[5, 6, 7, 11]]), encoded.out[:1], encoded.lengths[:1])
    torch.testing.assert_close(logits[0].log_softmax(-1), bigram_table(PLANTED)[[5, 6, 7, 11]])
    options = DecodingOptions(beam_size=3, max_len_b=10)
    assert greedy_decode(model, encoded, start, options) == [[6], [8, 9, 10]]
    assert beam_search(model, encoded, start, options) == [[7], [8, 9, 10]]  # beam escapes the greedy trap
    scores = sequence_scores(model, encoded, start, [[7], [8, 9, 10]], options)
    expected = [(math.log(0.4) + math.log(0.99)) / 2, (3 * math.log(0.9) + math.log(0.9)) / 4]
    torch.testing.assert_close(scores, torch.tensor(expected, dtype=torch.float64))
    unnormalised = DecodingOptions(beam_size=3, max_len_b=10, length_penalty=0.0)
    torch.testing.assert_close(sequence_scores(model, encoded, start, [[7], [8, 9, 10]], unnormalised),
                               torch.tensor(expected, dtype=torch.float64) * torch.tensor([2, 4]))
