"""S2TProbe on a tiny untrained s2t model: forced decoding, attention, search and word groups."""

from __future__ import annotations

from typing import Iterator

import pytest
import torch
from torch import Tensor

from probes.adapters import S2TProbe
from probes.attention import cross_attention
from probes.interface import ProbeModel, Utterance, hypotheses
from probes.saliency.gradients import gradient_saliency
from s2t.module import S2TModule
from s2t.tokenizer import Tokenizer

SENTENCES = [f"the {a} {b} sat on the {c}" for a in ("cat", "dog", "bird", "cow")
             for b in ("quickly", "slowly", "there") for c in ("mat", "hat", "rug")]
LENGTHS = (57, 41)  # input frames of the two test utterances


@pytest.fixture(scope="module")
def probe() -> S2TProbe:
    """A seeded 2+2-layer, 2-head, d=32 model in eval mode on a tokenizer of ~30 pieces."""
    tokenizer = Tokenizer.train(SENTENCES, vocab_size=40, languages=("en",), tasks=("asr",))
    torch.manual_seed(0)
    module = S2TModule(preset="xs", model=dict(d_model=32, encoder_layers=2, decoder_layers=2, heads=2, ffn_dim=64,
                                               subsampler_channels=32))
    module.build(tokenizer)
    return S2TProbe(module.eval())


@pytest.fixture(scope="module")
def batch() -> tuple[Tensor, Tensor]:
    """Two padded utterances of different lengths: features (2, T, 80) and lengths (2,)."""
    features = torch.randn(2, max(LENGTHS), 80, generator=torch.Generator().manual_seed(1))
    features[1, LENGTHS[1]:] = 0.0
    return features, torch.tensor(LENGTHS)


def encoder_frames(probe: S2TProbe, features: Tensor) -> int:
    """T' of one utterance (T, F)."""
    return int(probe.encode(features[None], torch.tensor([features.shape[0]]))[1][0])


def max_tokens(probe: S2TProbe, features: Tensor) -> int:
    """The search's length limit (tokens before eos) for one utterance (T, F)."""
    return int(probe.module.decoding_options(1).max_lengths(torch.tensor(encoder_frames(probe, features))))


def pieces(probe: S2TProbe, *names: str) -> list[int]:
    """Ids of SentencePiece pieces by their surface form."""
    ids = {probe.tokenizer.piece(i): i for i in range(probe.tokenizer.vocab_size)}
    return [ids[name] for name in names]


@pytest.fixture
def bonus(probe: S2TProbe) -> Iterator[Tensor]:
    """A (V,) vector added to every output logit while the test runs (planted preferences)."""
    extra = torch.zeros(probe.tokenizer.vocab_size)
    handle = probe.model.decoder.output.register_forward_hook(lambda module, args, out: out + extra)
    yield extra
    handle.remove()


def test_is_a_probe_model(probe: S2TProbe) -> None:
    """The adapter satisfies the protocol and reports the model's sizes."""
    assert isinstance(probe, ProbeModel)
    assert (probe.n_mels, probe.subsampling, probe.blank_id) == (80, 4, probe.tokenizer.pad_id)


def test_force_decode_scores_the_tokens(probe: S2TProbe, batch: tuple[Tensor, Tensor]) -> None:
    """Row i of the log-probabilities is log_softmax of the decoder logits at position P + i - 1."""
    features, lengths = batch
    prefix = torch.tensor([probe.prefix("en", "asr")] * 2)  # (B, P)
    tokens = torch.tensor([pieces(probe, "\u2581the", "\u2581c", "at", "\u2581s")] * 2)  # (B, I)
    enc, enc_lengths = probe.encode(features, lengths)
    with torch.no_grad():
        forced = probe.force_decode(enc, enc_lengths, prefix, tokens)
        logits, _ = probe.model.decode(torch.cat((prefix, tokens), dim=1), enc, enc_lengths)  # (B, P + I, V)
        explicit = probe.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True)
    p, i = prefix.shape[1], tokens.shape[1]
    assert forced.attention is None
    assert torch.allclose(forced.log_probs, logits[:, p - 1 : p + i - 1].log_softmax(-1), atol=1e-5)
    assert torch.allclose(explicit.log_probs, forced.log_probs, atol=1e-5)


def test_cross_attention_shape_rows_and_padding(probe: S2TProbe, batch: tuple[Tensor, Tensor]) -> None:
    """CA (B, L, H, I, T'): rows sum to 1 over valid frames, 0 on padding; padding changes nothing."""
    features, lengths = batch
    prefix = torch.tensor([probe.prefix("en", "asr")] * 2)
    tokens = torch.tensor([pieces(probe, "\u2581the", "\u2581c", "at")] * 2)
    enc, enc_lengths = probe.encode(features, lengths)
    with torch.no_grad():
        ca = probe.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True).attention
        short = probe.encode(features[1:, : LENGTHS[1]], lengths[1:])
        alone = probe.force_decode(*short, prefix[1:], tokens[1:], need_weights=True).attention
    valid = int(enc_lengths[1])
    assert ca.shape == (2, 2, 2, 3, enc.shape[1])
    assert torch.allclose(ca.sum(-1), torch.ones(2, 2, 2, 3), atol=1e-5)
    assert (ca[1, ..., valid:] == 0).all()
    assert torch.allclose(ca[1, ..., :valid], alone[0], atol=1e-5)


def test_greedy_hypothesis_is_the_forced_argmax(probe: S2TProbe, batch: tuple[Tensor, Tensor]) -> None:
    """Greedy tokens (no prefix, no eos) are each the argmax of the forced distribution before them."""
    features = batch[0][0]  # (T, F)
    prefix = probe.prefix("en", "asr")
    tokens = hypotheses(probe, features[None], prefix, beam_size=1)[0]
    utt = Utterance(id="u", features=features, prefix=prefix, tokens=tokens + [probe.tokenizer.eos_id])
    with torch.no_grad():
        log_probs = probe.force_decode(*probe.encode(features[None], torch.tensor([features.shape[0]])),
                                       torch.tensor([prefix]), torch.tensor([utt.tokens])).log_probs[0]  # (I + 1, V)
    log_probs[:, probe.tokenizer.pad_id] = float("-inf")  # search never emits pad
    max_len = max_tokens(probe, features)
    assert tokens and probe.tokenizer.eos_id not in tokens and len(tokens) <= max_len
    assert log_probs[:-1].argmax(-1).tolist() == tokens
    assert len(tokens) == max_len or log_probs[-1].argmax() == probe.tokenizer.eos_id


@pytest.mark.parametrize("beam_size", [1, 5])
def test_hypothesis_without_prefix_and_eos(probe: S2TProbe, batch: tuple[Tensor, Tensor], bonus: Tensor,
                                           beam_size: int) -> None:
    """Planted outputs: eos first gives no tokens; a dominant piece repeats up to the length limit."""
    features = batch[0][0]
    prefix = probe.prefix("en", "asr")
    bonus[probe.tokenizer.eos_id] = 100.0
    assert hypotheses(probe, features[None], prefix, beam_size)[0] == []
    bonus.zero_()
    (cat,) = pieces(probe, "\u2581c")
    bonus[cat] = 100.0
    assert hypotheses(probe, features[None], prefix, beam_size)[0] == [cat] * max_tokens(probe, features)


def test_word_groups_on_known_pieces(probe: S2TProbe) -> None:
    """A piece starting with the boundary mark opens a word; a lone mark joins the next pieces."""
    tokens = pieces(probe, "a", "t", "\u2581the", "\u2581c", "at", "\u2581", "o", "n")
    assert probe.word_groups(tokens) == [("at", [0, 1]), ("the", [2]), ("cat", [3, 4]), ("on", [5, 6, 7])]
    assert probe.word_groups([]) == []


def test_probes_run_on_the_adapter(probe: S2TProbe, batch: tuple[Tensor, Tensor]) -> None:
    """CA and gradient saliency work on a real model; batched gradients equal one-token-at-a-time ones."""
    features = batch[0][0, : LENGTHS[1]]  # (T, F)
    utt = Utterance(id="u", features=features, prefix=probe.prefix("en", "asr"),
                    tokens=pieces(probe, "\u2581the", "\u2581c", "at"))
    ca = cross_attention(probe, utt)
    assert ca.shape == (2, 2, 3, encoder_frames(probe, features))
    assert torch.allclose(ca.sum(-1), torch.ones(2, 2, 3), atol=1e-5)
    batched = gradient_saliency(probe, utt, internal_batch_size=8)
    single = gradient_saliency(probe, utt, internal_batch_size=1)
    assert batched.shape == (3, LENGTHS[1], 80) and (batched > 0).any()
    assert torch.allclose(batched, single, atol=1e-6)


def test_gradients_refuse_training_mode(probe: S2TProbe, batch: tuple[Tensor, Tensor]) -> None:
    """Dropout would make the token copies differ: training mode is an error."""
    utt = Utterance(id="u", features=batch[0][0], prefix=probe.prefix("en", "asr"), tokens=pieces(probe, "\u2581c"))
    probe.module.train()
    try:
        with pytest.raises(ValueError, match="eval mode"):
            gradient_saliency(probe, utt)
    finally:
        probe.module.eval()


@pytest.mark.parametrize("beam_size", [1, 3])
def test_batched_hypotheses_equal_one_at_a_time(probe: S2TProbe, beam_size: int) -> None:
    """Searching perturbed copies together gives each the hypothesis it gets alone."""
    features = torch.randn(6, 48, 80, generator=torch.Generator().manual_seed(2)) * torch.linspace(0.2, 3.0, 6)[:, None, None]
    prefix = probe.prefix("en", "asr")
    together = hypotheses(probe, features, prefix, beam_size)
    alone = [hypotheses(probe, f[None], prefix, beam_size)[0] for f in features]
    assert len({tuple(h) for h in alone}) > 1  # the rows differ, so a mix-up would show
    assert together == alone
