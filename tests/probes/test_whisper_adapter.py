"""WhisperProbe meets the probes' interface: features, encoding, forced decoding, CA, prompts, search, loading, text.

The model is the tiny random Whisper of ``tests.probes.tiny_whisper``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import pytest
import torch
from torch import Tensor
from transformers import WhisperProcessor
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from probes.adapters.whisper import EXTRA_TOKENS, MAX_TOKENS_PER_SECOND, WhisperProbe, beam_attention
from probes.interface import ProbeModel, Utterance, hypotheses, occlusion_value
from probes.metrics.text import normalizer, wer
from tests.probes.tiny_whisper import NEW_TOKENS, attention_implementations, ids, whisper_input


@pytest.fixture
def bonus(whisper: WhisperProbe) -> Iterator[Tensor]:
    """A (V,) vector added to every output logit while the test runs (planted preferences)."""
    extra = torch.zeros(len(whisper.tokenizer))
    handle = whisper.model.proj_out.register_forward_hook(lambda module, args, out: out + extra)
    yield extra
    handle.remove()


def test_is_a_probe_model(whisper: WhisperProbe) -> None:
    """The adapter satisfies the protocol and reports Whisper's sizes; it has no CTC head."""
    assert isinstance(whisper, ProbeModel)
    assert (whisper.n_mels, whisper.frames_per_second, whisper.subsampling, whisper.blank_id) == (80, 100, 2, None)
    assert whisper.ctc_log_probs(torch.zeros(1, 10, 80), torch.tensor([10])) is None


def test_features_and_padding_reproduce_whispers_input(whisper: WhisperProbe, wav: Tensor) -> None:
    """Features are the extractor's real frames; encode pads them to the extractor's 30 s input exactly."""
    features = whisper.features(wav)  # (T, F)
    mel = whisper_input(whisper, wav)  # (1, F, 3000)
    assert features.shape == (201, 80) and torch.equal(features, mel[0, :, :201].T)
    with torch.no_grad():
        enc, enc_lengths = whisper.encode(features[None], torch.tensor([201]))
        full = whisper.model.get_encoder()(mel).last_hidden_state  # (1, 1500, D)
    assert enc.shape == (1, 101, 32) and enc_lengths.tolist() == [101]
    assert torch.allclose(enc, full[:, :101], atol=1e-5)
    with pytest.raises(ValueError, match="at most 30 s"):
        whisper.features(torch.zeros(16000 * 30 + 1))


def test_encoder_lengths_cover_the_real_frames(whisper: WhisperProbe) -> None:
    """200 input frames give 100 encoder frames; a shorter row of the batch ceil(T / 2), H as wide as the longest."""
    features = torch.randn(2, 200, 80, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        enc, enc_lengths = whisper.encode(features, torch.tensor([200, 151]))
    assert enc.shape == (2, 100, 32) and enc_lengths.tolist() == [100, 76]
    with pytest.raises(ValueError, match="at most 3000 frames"):
        whisper.encode(torch.zeros(1, 3001, 80), torch.tensor([3001]))


def test_force_decode_scores_the_tokens(whisper: WhisperProbe, wav: Tensor) -> None:
    """Row i of the log-probabilities is log_softmax of Whisper's own logits (30 s input) at position P + i - 1."""
    features = whisper.features(wav)
    prefix = torch.tensor([whisper.prefix("en", "asr")])  # (1, P)
    tokens = torch.tensor([ids(whisper, "\u0120the", "\u0120cat", "s", "\u0120sat")])  # (1, I)
    p, i = prefix.shape[1], tokens.shape[1]
    with torch.no_grad():
        enc, enc_lengths = whisper.encode(features[None], torch.tensor([features.shape[0]]))
        forced = whisper.force_decode(enc, enc_lengths, prefix, tokens)
        explicit = whisper.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True)
        logits = whisper.model(input_features=whisper_input(whisper, wav),
                             decoder_input_ids=torch.cat((prefix, tokens), dim=1)).logits  # (1, P + I, V)
    assert forced.attention is None and forced.log_probs.shape == (1, i, len(whisper.tokenizer))
    assert torch.allclose(forced.log_probs, logits[:, p - 1 : p + i - 1].log_softmax(-1), atol=1e-5)
    assert torch.allclose(explicit.log_probs, forced.log_probs, atol=1e-5)


def test_cross_attention_is_whispers_own_on_the_real_frames(whisper: WhisperProbe, wav: Tensor) -> None:
    """CA is output_attentions' cross_attentions on the real frames, not renormalised: rows lack the padding's mass."""
    features = whisper.features(wav)
    prefix = torch.tensor([whisper.prefix("en", "asr")] * 2)  # (B, P)
    tokens = torch.tensor([ids(whisper, "\u0120the", "\u0120cat", "s")] * 2)  # (B, I)
    p, i = prefix.shape[1], tokens.shape[1]
    lengths = torch.tensor([201, 150])
    with torch.no_grad():
        enc, enc_lengths = whisper.encode(features[None].expand(2, -1, -1), lengths)
        ca = whisper.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True).attention
        whisper.model.set_attn_implementation("eager")
        try:
            out = whisper.model(input_features=whisper_input(whisper, wav),
                              decoder_input_ids=torch.cat((prefix, tokens), dim=1)[:1], output_attentions=True)
        finally:
            whisper.model.set_attn_implementation("sdpa")
    whole = torch.stack(out.cross_attentions, dim=1)[:, :, :, p - 1 : p + i - 1]  # (1, L, H, I, 1500)
    assert ca.shape == (2, 2, 2, i, 101) and enc_lengths.tolist() == [101, 75]
    assert torch.allclose(ca[:1], whole[..., :101], atol=1e-5)
    assert torch.allclose(ca[0].sum(-1) + whole[0, ..., 101:].sum(-1), torch.ones(2, 2, i), atol=1e-5)
    assert (ca[0].sum(-1) < 1.0).all()
    assert (ca[1, ..., 75:] == 0).all() and (ca[1, ..., :75] > 0).all()


def test_attention_switches_to_eager_only_when_asked(whisper: WhisperProbe, wav: Tensor) -> None:
    """Forced decoding runs on SDPA; a capture runs on eager and puts SDPA back, even when the forward fails."""
    seen: list[str] = []
    layer = whisper.model.model.decoder.layers[0].encoder_attn
    handle = layer.register_forward_hook(lambda module, args, out: seen.append(module.config._attn_implementation))
    features = whisper.features(wav)[None]
    prefix, tokens = torch.tensor([whisper.prefix("en", "asr")]), torch.tensor([ids(whisper, "\u0120the")])
    try:
        with torch.no_grad():
            enc, enc_lengths = whisper.encode(features, torch.tensor([features.shape[1]]))
            whisper.force_decode(enc, enc_lengths, prefix, tokens)
            assert seen == ["sdpa"] and attention_implementations(whisper.model) == {"sdpa"}
            whisper.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True)
            assert seen == ["sdpa", "eager"] and attention_implementations(whisper.model) == {"sdpa"}
            failing = layer.register_forward_hook(lambda module, args, out: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                whisper.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True)
            failing.remove()
    finally:
        handle.remove()
    assert attention_implementations(whisper.model) == {"sdpa"}


def test_force_decode_needs_the_padding_of_its_encoding(whisper: WhisperProbe) -> None:
    """An encoding whose padding frames the adapter did not keep is refused."""
    with torch.no_grad():
        enc, enc_lengths = whisper.encode(torch.randn(1, 200, 80), torch.tensor([200]))
        whisper.encode(torch.randn(1, 120, 80), torch.tensor([120]))
        with pytest.raises(RuntimeError, match="encode this batch"):
            whisper.force_decode(enc, enc_lengths, torch.tensor([whisper.prefix("en", "asr")]), torch.tensor([[5]]))


def test_prefix(whisper: WhisperProbe) -> None:
    """Whisper's prompts: transcribe in a language, translate from one into English; English-only models have none."""
    assert whisper.prefix("en", "asr") == ids(whisper, "<|startoftranscript|>", "<|en|>", "<|transcribe|>",
                                            "<|notimestamps|>")
    assert whisper.prefix("it", "transcribe")[1] == ids(whisper, "<|it|>")[0]
    assert whisper.prefix("en", "st", src_lang="it") == ids(whisper, "<|startoftranscript|>", "<|it|>", "<|translate|>",
                                                          "<|notimestamps|>")
    with pytest.raises(ValueError, match="only into English"):
        whisper.prefix("it", "st", src_lang="en")
    with pytest.raises(ValueError, match="not in this Whisper's vocabulary"):
        whisper.prefix("de", "asr")
    with pytest.raises(ValueError, match="unknown task"):
        whisper.prefix("en", "mt")
    whisper.model.generation_config.is_multilingual = False
    try:
        assert whisper.prefix("en", "asr") == ids(whisper, "<|startoftranscript|>", "<|notimestamps|>")
        with pytest.raises(ValueError, match="English-only"):
            whisper.prefix("it", "asr")
    finally:
        del whisper.model.generation_config.is_multilingual


def test_word_groups_and_detokenize(whisper: WhisperProbe) -> None:
    """A token starting with a space opens a word; a lone space joins the next tokens; special tokens drop out."""
    tokens = ids(whisper, "a", "t", "\u0120the", "\u0120cat", "s", "\u0120", "o", "n", "<|en|>")
    assert whisper.word_groups(tokens) == [("at", [0, 1]), ("the", [2]), ("cats", [3, 4]), ("on", [5, 6, 7, 8])]
    assert whisper.word_groups([]) == []
    assert whisper.detokenize(tokens) == "at the cats on"


def test_greedy_hypothesis_is_the_forced_argmax(whisper: WhisperProbe, wav: Tensor) -> None:
    """Greedy tokens (no prefix, no eos) are each the argmax of the forced distribution, with suppressed tokens out."""
    features = whisper.features(wav)
    prefix = whisper.prefix("en", "asr")
    tokens = hypotheses(whisper, features[None], prefix, beam_size=1)[0]
    assert len(tokens) == NEW_TOKENS and whisper.tokenizer.eos_token_id not in tokens
    with torch.no_grad():
        enc, enc_lengths = whisper.encode(features[None], torch.tensor([features.shape[0]]))
        log_probs = whisper.force_decode(enc, enc_lengths, torch.tensor([prefix]), torch.tensor([tokens])).log_probs[0]
    log_probs[:, whisper.model.generation_config.suppress_tokens] = float("-inf")
    log_probs[0, whisper.model.generation_config.begin_suppress_tokens] = float("-inf")
    assert log_probs.argmax(-1).tolist() == tokens


@pytest.mark.parametrize("beam_size", [1, 3])
def test_hypothesis_without_prefix_and_eos(whisper: WhisperProbe, wav: Tensor, bonus: Tensor, beam_size: int) -> None:
    """Planted outputs: eos after one token ends the hypothesis there; a dominant token repeats up to the limit."""
    features = whisper.features(wav)[None]
    prefix = whisper.prefix("en", "asr")
    (cat,) = ids(whisper, "\u0120cat")
    bonus[whisper.tokenizer.eos_token_id] = 100.0  # eos is suppressed at the first step only
    bonus[cat] = 50.0
    assert hypotheses(whisper, features, prefix, beam_size)[0] == [cat]
    bonus[whisper.tokenizer.eos_token_id] = 0.0
    assert hypotheses(whisper, features, prefix, beam_size)[0] == [cat] * NEW_TOKENS


@pytest.mark.parametrize("beam_size", [1, 3])
def test_batched_hypotheses_equal_one_at_a_time(whisper: WhisperProbe, beam_size: int) -> None:
    """Searching perturbed copies together gives each the hypothesis it gets alone."""
    scales = torch.linspace(0.2, 3.0, 4)[:, None, None]
    features = torch.randn(4, 120, 80, generator=torch.Generator().manual_seed(3)) * scales  # (4, T, F)
    prefix = whisper.prefix("en", "asr")
    together = hypotheses(whisper, features, prefix, beam_size)
    alone = [hypotheses(whisper, f[None], prefix, beam_size)[0] for f in features]
    assert len({tuple(h) for h in alone}) > 1  # the rows differ, so a mix-up would show
    assert together == alone


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("beam_size", [3, 5])
def test_search_projects_each_rows_cross_keys_once_with_the_same_hypotheses(whisper: WhisperProbe, beam_size: int,
                                                                              attention: str) -> None:
    """A row's cross keys and values projected once for its beams and never reordered (with SDPA read once by all its
    beams, with eager once per beam): generate's own hypotheses, and the model's own attention afterwards."""
    scales = torch.linspace(0.2, 3.0, 4)[:, None, None]
    features = torch.randn(4, 120, 80, generator=torch.Generator().manual_seed(5)) * scales  # (4, T, F)
    prefix = whisper.prefix("en", "asr")
    whisper.model.set_attn_implementation(attention)
    try:
        with torch.no_grad():
            enc, enc_lengths = whisper.encode(features, torch.tensor([120] * 4))
            shared = whisper.search(enc, enc_lengths, prefix, beam_size)
            assert attention_implementations(whisper.model) == {attention}
            whisper.share_beams = False  # generate projects every beam's keys and reorders them at every step
            plain = whisper.search(enc, enc_lengths, prefix, beam_size)
    finally:
        whisper.share_beams = True
        whisper.model.set_attn_implementation("sdpa")
    assert len({tuple(h) for h in plain}) > 1  # the rows differ, so a mix-up of rows and beams would show
    assert shared == plain


def test_beam_attention_equals_sdpa_on_keys_repeated_for_every_beam() -> None:
    """Beams folded into query positions attend as if each beam had its own copy of its row's keys and values."""
    g = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(n, 2, 1, 8, generator=g) for n in (6, 2, 2))  # 2 rows x 3 beams, (., H, q, d)
    module = torch.nn.Module()
    folded, _ = beam_attention(module, query, key, value, None, scaling=1.0, dropout=0.0)
    repeated, _ = sdpa_attention_forward(module, query, key.repeat_interleave(3, dim=0),
                                         value.repeat_interleave(3, dim=0), None, scaling=1.0, dropout=0.0,
                                         is_causal=False)
    assert folded.shape == (6, 1, 2, 8) and torch.allclose(folded, repeated, atol=1e-6)
    with pytest.raises(ValueError, match="without an attention mask"):
        beam_attention(module, query, key, value, torch.zeros(6, 1, 1, 1), scaling=1.0)


def test_from_pretrained_loads_a_saved_checkpoint(whisper: WhisperProbe, wav: Tensor, tmp_path: Path) -> None:
    """The real loading code, on a checkpoint and processor saved locally: same model, on SDPA, in eval mode."""
    whisper.model.save_pretrained(tmp_path)
    WhisperProcessor(feature_extractor=whisper.feature_extractor, tokenizer=whisper.tokenizer).save_pretrained(tmp_path)
    loaded = WhisperProbe.from_pretrained(tmp_path)
    assert attention_implementations(loaded.model) == {"sdpa"} and not loaded.model.training
    assert loaded.prefix("en", "asr") == whisper.prefix("en", "asr")
    assert torch.equal(loaded.features(wav), whisper.features(wav))
    features = whisper.features(wav)[None]
    with torch.no_grad():
        a = whisper.encode(features, torch.tensor([features.shape[1]]))[0]
        b = loaded.encode(features, torch.tensor([features.shape[1]]))[0]
    assert torch.allclose(a, b, atol=1e-6)


def test_int8_quantises_every_linear_layer_and_stays_close(whisper: WhisperProbe, wav: Tensor, tmp_path: Path) -> None:
    """The int8 approximation: no float linear layer left, its CA close to the exact model's, not equal to it."""
    whisper.model.save_pretrained(tmp_path)
    WhisperProcessor(feature_extractor=whisper.feature_extractor, tokenizer=whisper.tokenizer).save_pretrained(tmp_path)
    exact, int8 = WhisperProbe.from_pretrained(tmp_path), WhisperProbe.from_pretrained(tmp_path, int8=True)
    assert not any(type(m) is torch.nn.Linear for m in int8.model.modules())
    assert any(type(m) is torch.nn.Linear for m in exact.model.modules())
    features = whisper.features(wav)[None]
    lengths = torch.tensor([features.shape[1]])
    prefix = torch.tensor([exact.prefix("en", "asr")])  # (1, P)
    tokens = torch.tensor([ids(whisper, "\u0120the", "\u0120cat", "\u0120sat")])  # (1, I)
    with torch.no_grad():
        maps = [m.force_decode(*m.encode(features, lengths), prefix, tokens, need_weights=True).attention
                for m in (exact, int8)]  # (B, L, H, I, T') each
    assert not torch.equal(maps[0], maps[1])
    assert (maps[0] - maps[1]).abs().max() < 0.1


def test_neutral_is_whispers_own_digital_silence(whisper: WhisperProbe, wav: Tensor) -> None:
    """Frames of digital silence inside an utterance hold exactly the adapter's neutral value, as its padding does."""
    gap = wav.clone()
    gap[8000:16000] = 0.0  # 0.5 s of digital silence in the middle
    features = whisper.features(gap)  # (T, F)
    neutral = float(whisper.neutral(features))
    assert neutral == pytest.approx(max(float(features.max()) - 2.0, -1.5))
    inside = features[52:99]  # frames whose 400-sample window (centred on 160 k) lies inside the gap
    assert torch.allclose(inside, torch.full_like(inside, neutral), atol=1e-6)
    assert float(whisper_input(whisper, gap)[0, :, -1].max()) == pytest.approx(neutral, abs=1e-6)  # the padding
    assert occlusion_value(whisper, features) == pytest.approx(neutral)
    assert occlusion_value(whisper, features, "zero") == 0.0


def test_search_is_bounded_by_the_audio_length(whisper: WhisperProbe, wav: Tensor) -> None:
    """A model that never ends its sentence stops after MAX_TOKENS_PER_SECOND tokens a second (+ EXTRA_TOKENS)."""
    looping = WhisperProbe(whisper.model, whisper.feature_extractor, whisper.tokenizer)
    eot = whisper.tokenizer.convert_tokens_to_ids("<|endoftext|>")
    handle = whisper.model.proj_out.register_forward_hook(lambda m, args, out: out.index_fill(-1, torch.tensor([eot]),
                                                                                           -1e9))  # never eos
    previous = whisper.model.generation_config.max_length
    whisper.model.generation_config.max_length = 448
    try:
        features = looping.features(wav[:8000])  # 0.5 s: 51 frames, 26 encoder frames = 0.52 s
        (found,) = hypotheses(looping, features[None], looping.prefix("en", "asr"), beam_size=1)
    finally:
        whisper.model.generation_config.max_length = previous
        handle.remove()
    assert len(found) == math.ceil(MAX_TOKENS_PER_SECOND * 0.52) + EXTRA_TOKENS  # 14, not 448 - 4
    assert looping.max_new_tokens(torch.tensor([1500]), 4) == NEW_TOKENS  # the generation config's bound still holds


def test_text_is_normalised_as_whispers_users_score_it(whisper: WhisperProbe) -> None:
    """Case, punctuation and spelled numbers do not count as errors; other languages get the basic normaliser."""
    english = normalizer(whisper, "en")
    assert wer("Our teachers are beautiful.", "our teachers are beautiful", english) == 0.0
    assert wer("He has 2 dogs, Mr. Smith!", "he has two dogs mister smith", english) == 0.0
    assert wer("Our teachers are beautiful.", "our teachers are beautiful", normalizer(object(), "en")) == 50.0
    assert normalizer(whisper, "it")("Il Gatto, nero!").split() == ["il", "gatto", "nero"]


def test_a_shared_padding_is_projected_once_with_the_same_results(whisper: WhisperProbe, wav: Tensor) -> None:
    """Rows sharing one utterance's padding (encoder-output occlusion) decode as with every frame projected anew."""
    utt = Utterance(id="w", features=whisper.features(wav), prefix=whisper.prefix("en", "asr"), tokens=ids(whisper, "\u0120the",
                                                                                                        "\u0120cat"))
    with torch.no_grad():
        enc, enc_lengths = whisper.encode(utt.features[None], torch.tensor([utt.num_frames]))  # (1, T', D)
        noisy = enc + 0.3 * torch.randn(4, *enc.shape[1:], generator=torch.Generator().manual_seed(3))  # (4, T', D)
        lengths = enc_lengths.expand(4)
        assert whisper._cross_cache(noisy) is not None and whisper._padding_kv is not None
        cached = [whisper.force_decode(noisy, lengths, torch.tensor([utt.prefix] * 4), torch.tensor([utt.tokens] * 4),
                                     need_weights) for need_weights in (False, True)]
        whisper.share_padding = False  # every frame projected on every call, as before
        try:
            plain = [whisper.force_decode(noisy, lengths, torch.tensor([utt.prefix] * 4), torch.tensor([utt.tokens] * 4),
                                        need_weights) for need_weights in (False, True)]
        finally:
            whisper.share_padding = True
    for a, b in zip(cached, plain):
        assert torch.allclose(a.log_probs, b.log_probs, atol=1e-5)
    assert torch.allclose(cached[1].attention, plain[1].attention, atol=1e-6)
    with torch.no_grad():
        whisper.encode(utt.features[None].expand(2, -1, -1), torch.tensor([utt.num_frames] * 2))
        assert whisper._cross_cache(noisy[:2]) is None  # each row its own padding: nothing to share
