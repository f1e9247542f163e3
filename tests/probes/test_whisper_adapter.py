"""WhisperProbe on a tiny random Whisper (d=32, 2+2 layers, 2 heads) and a tiny BPE tokenizer, all built here.

Nothing is downloaded: the tokenizer is a real ``WhisperTokenizer`` over the 256 byte symbols,
the merges that spell a few words after a space, and Whisper's prompt tokens; the feature
extractor is Whisper's own (80 mels, 30 s). The encoder keeps Whisper's 30 s input (3000
frames, 1500 encoder frames).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterator

import pytest
import torch
import yaml
from tokenizers import pre_tokenizers
from torch import Tensor
from transformers import (WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperProcessor,
                          WhisperTokenizer)

import evaluate
from probes.adapters.whisper import EXTRA_TOKENS, MAX_TOKENS_PER_SECOND, WhisperProbe
from probes.explain import ExplainConfig, explain
from probes.interface import ProbeModel, Utterance, hypotheses, occlusion_value
from probes.metrics.deletion import curves
from probes.metrics.text import normalizer, wer
from probes.metrics.timestamps import word_times
from probes.saliency.encoder import EncoderSaliencyConfig
from probes.saliency.spes import SpesConfig
from probes.study.run import main as study_main
from s2t.data.manifest import read_manifest

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


@pytest.fixture(scope="module")
def probe() -> WhisperProbe:
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


@pytest.fixture(scope="module")
def wav() -> Tensor:
    """1.99 s of a 16 kHz chirp with noise, (SAMPLES,)."""
    t = torch.arange(SAMPLES) / 16000
    noise = torch.randn(SAMPLES, generator=torch.Generator().manual_seed(1))
    return 0.3 * torch.sin(2 * math.pi * (200 + 400 * t) * t) + 0.05 * noise


def ids(probe: WhisperProbe, *tokens: str) -> list[int]:
    """Ids of byte-level BPE tokens by their surface form ("\u0120cat")."""
    return probe.tokenizer.convert_tokens_to_ids(list(tokens))


def whisper_input(probe: WhisperProbe, wav: Tensor) -> Tensor:
    """Whisper's own encoder input (1, F, 3000) of a waveform: its feature extractor, padding to 30 s included."""
    return probe.feature_extractor(wav.numpy(), sampling_rate=16000, return_tensors="pt").input_features


def attention_implementations(model: WhisperForConditionalGeneration) -> set[str]:
    """The attention implementation of the model's config and of every attention module's config."""
    configs = [model.config] + [m.config for m in model.modules() if hasattr(m, "k_proj")]
    return {config._attn_implementation for config in configs}


@pytest.fixture
def bonus(probe: WhisperProbe) -> Iterator[Tensor]:
    """A (V,) vector added to every output logit while the test runs (planted preferences)."""
    extra = torch.zeros(len(probe.tokenizer))
    handle = probe.model.proj_out.register_forward_hook(lambda module, args, out: out + extra)
    yield extra
    handle.remove()


def test_is_a_probe_model(probe: WhisperProbe) -> None:
    """The adapter satisfies the protocol and reports Whisper's sizes; it has no CTC head."""
    assert isinstance(probe, ProbeModel)
    assert (probe.n_mels, probe.frames_per_second, probe.subsampling, probe.blank_id) == (80, 100, 2, None)
    assert probe.ctc_log_probs(torch.zeros(1, 10, 80), torch.tensor([10])) is None


def test_features_and_padding_reproduce_whispers_input(probe: WhisperProbe, wav: Tensor) -> None:
    """Features are the extractor's real frames; encode pads them to the extractor's 30 s input exactly."""
    features = probe.features(wav)  # (T, F)
    mel = whisper_input(probe, wav)  # (1, F, 3000)
    assert features.shape == (201, 80) and torch.equal(features, mel[0, :, :201].T)
    with torch.no_grad():
        enc, enc_lengths = probe.encode(features[None], torch.tensor([201]))
        full = probe.model.get_encoder()(mel).last_hidden_state  # (1, 1500, D)
    assert enc.shape == (1, 101, 32) and enc_lengths.tolist() == [101]
    assert torch.allclose(enc, full[:, :101], atol=1e-5)
    with pytest.raises(ValueError, match="at most 30 s"):
        probe.features(torch.zeros(16000 * 30 + 1))


def test_encoder_lengths_cover_the_real_frames(probe: WhisperProbe) -> None:
    """200 input frames give 100 encoder frames; a shorter row of the batch ceil(T / 2), H as wide as the longest."""
    features = torch.randn(2, 200, 80, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        enc, enc_lengths = probe.encode(features, torch.tensor([200, 151]))
    assert enc.shape == (2, 100, 32) and enc_lengths.tolist() == [100, 76]
    with pytest.raises(ValueError, match="at most 3000 frames"):
        probe.encode(torch.zeros(1, 3001, 80), torch.tensor([3001]))


def test_force_decode_scores_the_tokens(probe: WhisperProbe, wav: Tensor) -> None:
    """Row i of the log-probabilities is log_softmax of Whisper's own logits (30 s input) at position P + i - 1."""
    features = probe.features(wav)
    prefix = torch.tensor([probe.prefix("en", "asr")])  # (1, P)
    tokens = torch.tensor([ids(probe, "\u0120the", "\u0120cat", "s", "\u0120sat")])  # (1, I)
    p, i = prefix.shape[1], tokens.shape[1]
    with torch.no_grad():
        enc, enc_lengths = probe.encode(features[None], torch.tensor([features.shape[0]]))
        forced = probe.force_decode(enc, enc_lengths, prefix, tokens)
        explicit = probe.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True)
        logits = probe.model(input_features=whisper_input(probe, wav),
                             decoder_input_ids=torch.cat((prefix, tokens), dim=1)).logits  # (1, P + I, V)
    assert forced.attention is None and forced.log_probs.shape == (1, i, len(probe.tokenizer))
    assert torch.allclose(forced.log_probs, logits[:, p - 1 : p + i - 1].log_softmax(-1), atol=1e-5)
    assert torch.allclose(explicit.log_probs, forced.log_probs, atol=1e-5)


def test_cross_attention_is_whispers_own_on_the_real_frames(probe: WhisperProbe, wav: Tensor) -> None:
    """CA is output_attentions' cross_attentions on the real frames, not renormalised: rows lack the padding's mass."""
    features = probe.features(wav)
    prefix = torch.tensor([probe.prefix("en", "asr")] * 2)  # (B, P)
    tokens = torch.tensor([ids(probe, "\u0120the", "\u0120cat", "s")] * 2)  # (B, I)
    p, i = prefix.shape[1], tokens.shape[1]
    lengths = torch.tensor([201, 150])
    with torch.no_grad():
        enc, enc_lengths = probe.encode(features[None].expand(2, -1, -1), lengths)
        ca = probe.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True).attention
        probe.model.set_attn_implementation("eager")
        try:
            out = probe.model(input_features=whisper_input(probe, wav),
                              decoder_input_ids=torch.cat((prefix, tokens), dim=1)[:1], output_attentions=True)
        finally:
            probe.model.set_attn_implementation("sdpa")
    whole = torch.stack(out.cross_attentions, dim=1)[:, :, :, p - 1 : p + i - 1]  # (1, L, H, I, 1500)
    assert ca.shape == (2, 2, 2, i, 101) and enc_lengths.tolist() == [101, 75]
    assert torch.allclose(ca[:1], whole[..., :101], atol=1e-5)
    assert torch.allclose(ca[0].sum(-1) + whole[0, ..., 101:].sum(-1), torch.ones(2, 2, i), atol=1e-5)
    assert (ca[0].sum(-1) < 1.0).all()
    assert (ca[1, ..., 75:] == 0).all() and (ca[1, ..., :75] > 0).all()


def test_attention_switches_to_eager_only_when_asked(probe: WhisperProbe, wav: Tensor) -> None:
    """Forced decoding runs on SDPA; a capture runs on eager and puts SDPA back, even when the forward fails."""
    seen: list[str] = []
    layer = probe.model.model.decoder.layers[0].encoder_attn
    handle = layer.register_forward_hook(lambda module, args, out: seen.append(module.config._attn_implementation))
    features = probe.features(wav)[None]
    prefix, tokens = torch.tensor([probe.prefix("en", "asr")]), torch.tensor([ids(probe, "\u0120the")])
    try:
        with torch.no_grad():
            enc, enc_lengths = probe.encode(features, torch.tensor([features.shape[1]]))
            probe.force_decode(enc, enc_lengths, prefix, tokens)
            assert seen == ["sdpa"] and attention_implementations(probe.model) == {"sdpa"}
            probe.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True)
            assert seen == ["sdpa", "eager"] and attention_implementations(probe.model) == {"sdpa"}
            failing = layer.register_forward_hook(lambda module, args, out: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                probe.force_decode(enc, enc_lengths, prefix, tokens, need_weights=True)
            failing.remove()
    finally:
        handle.remove()
    assert attention_implementations(probe.model) == {"sdpa"}


def test_force_decode_needs_the_padding_of_its_encoding(probe: WhisperProbe) -> None:
    """An encoding whose padding frames the adapter did not keep is refused."""
    with torch.no_grad():
        enc, enc_lengths = probe.encode(torch.randn(1, 200, 80), torch.tensor([200]))
        probe.encode(torch.randn(1, 120, 80), torch.tensor([120]))
        with pytest.raises(RuntimeError, match="encode this batch"):
            probe.force_decode(enc, enc_lengths, torch.tensor([probe.prefix("en", "asr")]), torch.tensor([[5]]))


def test_prefix(probe: WhisperProbe) -> None:
    """Whisper's prompts: transcribe in a language, translate from one into English; English-only models have none."""
    assert probe.prefix("en", "asr") == ids(probe, "<|startoftranscript|>", "<|en|>", "<|transcribe|>",
                                            "<|notimestamps|>")
    assert probe.prefix("it", "transcribe")[1] == ids(probe, "<|it|>")[0]
    assert probe.prefix("en", "st", src_lang="it") == ids(probe, "<|startoftranscript|>", "<|it|>", "<|translate|>",
                                                          "<|notimestamps|>")
    with pytest.raises(ValueError, match="only into English"):
        probe.prefix("it", "st", src_lang="en")
    with pytest.raises(ValueError, match="not in this Whisper's vocabulary"):
        probe.prefix("de", "asr")
    with pytest.raises(ValueError, match="unknown task"):
        probe.prefix("en", "mt")
    probe.model.generation_config.is_multilingual = False
    try:
        assert probe.prefix("en", "asr") == ids(probe, "<|startoftranscript|>", "<|notimestamps|>")
        with pytest.raises(ValueError, match="English-only"):
            probe.prefix("it", "asr")
    finally:
        del probe.model.generation_config.is_multilingual


def test_word_groups_and_detokenize(probe: WhisperProbe) -> None:
    """A token starting with a space opens a word; a lone space joins the next tokens; special tokens drop out."""
    tokens = ids(probe, "a", "t", "\u0120the", "\u0120cat", "s", "\u0120", "o", "n", "<|en|>")
    assert probe.word_groups(tokens) == [("at", [0, 1]), ("the", [2]), ("cats", [3, 4]), ("on", [5, 6, 7, 8])]
    assert probe.word_groups([]) == []
    assert probe.detokenize(tokens) == "at the cats on"


def test_greedy_hypothesis_is_the_forced_argmax(probe: WhisperProbe, wav: Tensor) -> None:
    """Greedy tokens (no prefix, no eos) are each the argmax of the forced distribution, with suppressed tokens out."""
    features = probe.features(wav)
    prefix = probe.prefix("en", "asr")
    tokens = hypotheses(probe, features[None], prefix, beam_size=1)[0]
    assert len(tokens) == NEW_TOKENS and probe.tokenizer.eos_token_id not in tokens
    with torch.no_grad():
        enc, enc_lengths = probe.encode(features[None], torch.tensor([features.shape[0]]))
        log_probs = probe.force_decode(enc, enc_lengths, torch.tensor([prefix]), torch.tensor([tokens])).log_probs[0]
    log_probs[:, probe.model.generation_config.suppress_tokens] = float("-inf")
    log_probs[0, probe.model.generation_config.begin_suppress_tokens] = float("-inf")
    assert log_probs.argmax(-1).tolist() == tokens


@pytest.mark.parametrize("beam_size", [1, 3])
def test_hypothesis_without_prefix_and_eos(probe: WhisperProbe, wav: Tensor, bonus: Tensor, beam_size: int) -> None:
    """Planted outputs: eos after one token ends the hypothesis there; a dominant token repeats up to the limit."""
    features = probe.features(wav)[None]
    prefix = probe.prefix("en", "asr")
    (cat,) = ids(probe, "\u0120cat")
    bonus[probe.tokenizer.eos_token_id] = 100.0  # eos is suppressed at the first step only
    bonus[cat] = 50.0
    assert hypotheses(probe, features, prefix, beam_size)[0] == [cat]
    bonus[probe.tokenizer.eos_token_id] = 0.0
    assert hypotheses(probe, features, prefix, beam_size)[0] == [cat] * NEW_TOKENS


@pytest.mark.parametrize("beam_size", [1, 3])
def test_batched_hypotheses_equal_one_at_a_time(probe: WhisperProbe, beam_size: int) -> None:
    """Searching perturbed copies together gives each the hypothesis it gets alone."""
    scales = torch.linspace(0.2, 3.0, 4)[:, None, None]
    features = torch.randn(4, 120, 80, generator=torch.Generator().manual_seed(3)) * scales  # (4, T, F)
    prefix = probe.prefix("en", "asr")
    together = hypotheses(probe, features, prefix, beam_size)
    alone = [hypotheses(probe, f[None], prefix, beam_size)[0] for f in features]
    assert len({tuple(h) for h in alone}) > 1  # the rows differ, so a mix-up would show
    assert together == alone


def test_explain_runs_every_method(probe: WhisperProbe, wav: Tensor) -> None:
    """The whole per-utterance pipeline (SPES, encoder-output saliency, gradients, deletion) gives finite agreements."""
    utt = Utterance(id="w", features=probe.features(wav), prefix=probe.prefix("en", "asr"))
    config = ExplainConfig(methods=("spes", "encoder", "saliency"), beam_size=1, deletion_steps=2,
                           spes=SpesConfig(masks=8, granularities=(20,), batch_size=8),
                           encoder=EncoderSaliencyConfig(masks=8, batch_size=8))
    found = explain(probe, utt, config)
    record = found.record
    assert len(utt.tokens) == NEW_TOKENS and record["encoder_frames"] == 101
    assert found.maps["ca"].shape == (2, 2, NEW_TOKENS, 101) and (found.maps["ca"].sum(-1) < 1.0).all()
    for target in ("input", "encoder", "saliency"):
        assert found.maps[target].shape == (NEW_TOKENS, 101)
        scores = record["agreement"][f"ca_vs_{target}"]
        assert all(math.isfinite(scores[view]["pearson"]) for view in ("all", "layer:1", "head:2.2"))
    assert math.isfinite(record["deletion"]["ca"]["prob"]["auc"])


def test_curves_over_several_encoding_batches_equal_each_curve_alone(probe: WhisperProbe, wav: Tensor) -> None:
    """Whisper completes an encoding with the padding frames of its latest encode call, so every batch of perturbed
    copies is searched right after it is encoded: more copies than one batch still give each curve its own scores."""
    utt = Utterance(id="w", features=probe.features(wav), prefix=probe.prefix("en", "asr"))
    utt.tokens = hypotheses(probe, utt.features[None], utt.prefix, 1)[0]
    frames = (utt.num_frames + 1) // 2
    maps = {name: torch.rand(len(utt.tokens), frames, generator=torch.Generator().manual_seed(k))
            for k, name in enumerate(("a", "b"))}
    relevance = {"deletion": maps, "insertion": maps}
    together = curves(probe, utt, relevance, probe.detokenize, steps=4, beam_size=1, batch_size=4)  # 14 copies
    for mode, named in relevance.items():
        for name, m in named.items():
            alone = curves(probe, utt, {mode: {name: m}}, probe.detokenize, steps=4, beam_size=1, batch_size=8)
            assert together[mode][name] == alone[mode][name], (mode, name)


def test_from_pretrained_loads_a_saved_checkpoint(probe: WhisperProbe, wav: Tensor, tmp_path: Path) -> None:
    """The real loading code, on a checkpoint and processor saved locally: same model, on SDPA, in eval mode."""
    probe.model.save_pretrained(tmp_path)
    WhisperProcessor(feature_extractor=probe.feature_extractor, tokenizer=probe.tokenizer).save_pretrained(tmp_path)
    loaded = WhisperProbe.from_pretrained(tmp_path)
    assert attention_implementations(loaded.model) == {"sdpa"} and not loaded.model.training
    assert loaded.prefix("en", "asr") == probe.prefix("en", "asr")
    assert torch.equal(loaded.features(wav), probe.features(wav))
    features = probe.features(wav)[None]
    with torch.no_grad():
        a = probe.encode(features, torch.tensor([features.shape[1]]))[0]
        b = loaded.encode(features, torch.tensor([features.shape[1]]))[0]
    assert torch.allclose(a, b, atol=1e-6)


def test_evaluate_explains_a_saved_whisper(probe: WhisperProbe, tiny_corpus: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    """``evaluate.py --hf FOLDER`` writes the same outputs as for our checkpoints; rows Whisper cannot do are skipped."""
    probe.model.save_pretrained(tmp_path / "whisper")
    WhisperProcessor(feature_extractor=probe.feature_extractor, tokenizer=probe.tokenizer).save_pretrained(
        tmp_path / "whisper")
    argv = ["--hf", str(tmp_path / "whisper"), "--manifest", str(tiny_corpus / "test.tsv"), "--out", str(tmp_path / "run"),
            "--pairs", "en-en,en-it", "--limit", "6", "--masks", "8", "--encoder-masks", "8", "--granularities", "20",
            "--beam", "1", "--deletion-steps", "2", "--no-wandb"]
    assert evaluate.main(argv) == 0
    metrics = json.loads((tmp_path / "run/metrics.json").read_text())
    rows = [r for r in read_manifest(tiny_corpus / "test.tsv") if (r.src_lang, r.tgt_lang) in {("en", "en"), ("en", "it")}]
    translations = sum(r.task == "st" for r in rows[:6])
    assert metrics["utterances"] == 6 - translations > 0  # Whisper translates only into English
    assert len(metrics["skipped"]) == translations and all("English" in why for why in metrics["skipped"].values())
    assert math.isfinite(metrics["groups"]["asr en-en"]["pearson"]["ca_vs_input"]["mean"])
    assert (tmp_path / "run/report.md").is_file()
    assert evaluate.main(argv) == 0  # resumed: the same weights, nothing to redo
    with torch.no_grad():
        probe.model.proj_out.weight[0, 0] += 1.0
        probe.model.save_pretrained(tmp_path / "whisper")
        probe.model.proj_out.weight[0, 0] -= 1.0  # the fixture serves other tests
    assert evaluate.main(argv) == 2  # other weights at the same path: refused, the run is not mixed
    (tmp_path / "whisper/model.safetensors").write_bytes(b"not weights")
    assert evaluate.main(argv) == 2
    assert "cannot load a Whisper from" in capsys.readouterr().err


def test_neutral_is_whispers_own_digital_silence(probe: WhisperProbe, wav: Tensor) -> None:
    """Frames of digital silence inside an utterance hold exactly the adapter's neutral value, as its padding does."""
    gap = wav.clone()
    gap[8000:16000] = 0.0  # 0.5 s of digital silence in the middle
    features = probe.features(gap)  # (T, F)
    neutral = float(probe.neutral(features))
    assert neutral == pytest.approx(max(float(features.max()) - 2.0, -1.5))
    inside = features[52:99]  # frames whose 400-sample window (centred on 160 k) lies inside the gap
    assert torch.allclose(inside, torch.full_like(inside, neutral), atol=1e-6)
    assert float(whisper_input(probe, gap)[0, :, -1].max()) == pytest.approx(neutral, abs=1e-6)  # the padding
    assert occlusion_value(probe, features) == pytest.approx(neutral)
    assert occlusion_value(probe, features, "zero") == 0.0


def test_search_is_bounded_by_the_audio_length(probe: WhisperProbe, wav: Tensor) -> None:
    """A model that never ends its sentence stops after MAX_TOKENS_PER_SECOND tokens a second (+ EXTRA_TOKENS)."""
    looping = WhisperProbe(probe.model, probe.feature_extractor, probe.tokenizer)
    eot = probe.tokenizer.convert_tokens_to_ids("<|endoftext|>")
    handle = probe.model.proj_out.register_forward_hook(lambda m, args, out: out.index_fill(-1, torch.tensor([eot]),
                                                                                           -1e9))  # never eos
    previous = probe.model.generation_config.max_length
    probe.model.generation_config.max_length = 448
    try:
        features = looping.features(wav[:8000])  # 0.5 s: 51 frames, 26 encoder frames = 0.52 s
        (found,) = hypotheses(looping, features[None], looping.prefix("en", "asr"), beam_size=1)
    finally:
        probe.model.generation_config.max_length = previous
        handle.remove()
    assert len(found) == math.ceil(MAX_TOKENS_PER_SECOND * 0.52) + EXTRA_TOKENS  # 14, not 448 - 4
    assert looping.max_new_tokens(torch.tensor([1500]), 4) == NEW_TOKENS  # the generation config's bound still holds


def test_text_is_normalised_as_whispers_users_score_it(probe: WhisperProbe) -> None:
    """Case, punctuation and spelled numbers do not count as errors; other languages get the basic normaliser."""
    english = normalizer(probe, "en")
    assert wer("Our teachers are beautiful.", "our teachers are beautiful", english) == 0.0
    assert wer("He has 2 dogs, Mr. Smith!", "he has two dogs mister smith", english) == 0.0
    assert wer("Our teachers are beautiful.", "our teachers are beautiful", normalizer(object(), "en")) == 50.0
    assert normalizer(probe, "it")("Il Gatto, nero!").split() == ["il", "gatto", "nero"]


@pytest.mark.slow
def test_a_study_tests_and_explains_a_pretrained_whisper(probe: WhisperProbe, tiny_corpus: Path, tmp_path: Path) -> None:
    """A study's ``hf:`` model is not trained: it is tested on each group (its own test set included) and explained
    where it meets the targets; a second run finds everything done."""
    probe.model.save_pretrained(tmp_path / "whisper")
    WhisperProcessor(feature_extractor=probe.feature_extractor, tokenizer=probe.tokenizer).save_pretrained(
        tmp_path / "whisper")
    spec = {"out": str(tmp_path / "study"), "data_dir": str(tiny_corpus), "datasets": {"again": str(tiny_corpus)},
            "limit": 1, "targets": {"wer_max": 1e6, "bleu_min": 101},
            "explain": ["--masks", "8", "--encoder-masks", "8", "--granularities", "20", "--beam", "1",
                        "--deletion-steps", "2", "--no-wandb", "--devices", "1"],
            "models": [{"name": "w", "hf": str(tmp_path / "whisper"), "groups": ["asr_en", "asr_en@again"]}]}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(spec))
    assert study_main(["--config", str(tmp_path / "study.yaml")]) == 0
    folder = tmp_path / "study/models/w"
    quality = json.loads((folder / "quality.json").read_text())
    assert set(quality["wer"]) == {"en", "en@again"} and quality["wer"]["en"] == quality["wer"]["en@again"]
    assert quality["parameters"] == probe.model.num_parameters() and not (folder / "train").exists()
    assert quality["pretrained"] and quality["vocab_size"] == len(probe.tokenizer) and quality["model_languages"] == 1
    assert quality["speech"] == {"asr_en": "synthetic (espeak-ng)", "asr_en@again": "synthetic (espeak-ng)"}
    report = (tmp_path / "study/report.md").read_text()
    assert "| `w` | pretrained monolingual, tested on ASR |" in report
    for group in ("asr_en", "asr_en@again"):
        settings = json.loads((folder / "explain" / group / "settings.json").read_text())
        assert settings["hf"] == str((tmp_path / "whisper").resolve())
        assert json.loads((folder / "explain" / group / "metrics.json").read_text())["utterances"] == 1
    steps = (folder / "ledger.jsonl").read_text().count("\n")
    assert study_main(["--config", str(tmp_path / "study.yaml")]) == 0
    assert (folder / "ledger.jsonl").read_text().count("\n") == steps  # resumed: nothing made again


def test_words_are_timed_from_whispers_alignment_heads_too(probe: WhisperProbe, wav: Tensor) -> None:
    """With alignment heads in its generation config, the timestamps add DTW over those heads alone."""
    words = [("the", 0.1, 0.5), ("cat", 0.6, 1.0), ("sat", 1.1, 1.5)]
    config = ExplainConfig(methods=(), beam_size=1, deletion_steps=1, decode_deletion=False)

    def stamps() -> dict:
        utt = Utterance(id="w", features=probe.features(wav), prefix=probe.prefix("en", "asr"), words=words)
        return explain(probe, utt, config).record["timestamps"]

    assert probe.alignment_heads == [] and "ca_alignment_heads" not in stamps()
    probe.model.generation_config.alignment_heads = [[1, 0], [1, 1]]
    try:
        found = stamps()
    finally:
        probe.model.generation_config.alignment_heads = None
    utt = Utterance(id="w", features=probe.features(wav), prefix=probe.prefix("en", "asr"), words=words)
    explained = explain(probe, utt, config)
    expected = word_times(probe, utt.tokens, explained.maps["ca"][1], config.filter_width)  # layer 2, both heads
    assert found["ca_alignment_heads"]["words"] == expected


def test_a_shared_padding_is_projected_once_with_the_same_results(probe: WhisperProbe, wav: Tensor) -> None:
    """Rows sharing one utterance's padding (encoder-output occlusion) decode as with every frame projected anew."""
    utt = Utterance(id="w", features=probe.features(wav), prefix=probe.prefix("en", "asr"), tokens=ids(probe, "\u0120the",
                                                                                                        "\u0120cat"))
    with torch.no_grad():
        enc, enc_lengths = probe.encode(utt.features[None], torch.tensor([utt.num_frames]))  # (1, T', D)
        noisy = enc + 0.3 * torch.randn(4, *enc.shape[1:], generator=torch.Generator().manual_seed(3))  # (4, T', D)
        lengths = enc_lengths.expand(4)
        assert probe._cross_cache(noisy) is not None and probe._padding_kv is not None
        cached = [probe.force_decode(noisy, lengths, torch.tensor([utt.prefix] * 4), torch.tensor([utt.tokens] * 4),
                                     need_weights) for need_weights in (False, True)]
        probe.share_padding = False  # every frame projected on every call, as before
        try:
            plain = [probe.force_decode(noisy, lengths, torch.tensor([utt.prefix] * 4), torch.tensor([utt.tokens] * 4),
                                        need_weights) for need_weights in (False, True)]
        finally:
            probe.share_padding = True
    for a, b in zip(cached, plain):
        assert torch.allclose(a.log_probs, b.log_probs, atol=1e-5)
    assert torch.allclose(cached[1].attention, plain[1].attention, atol=1e-6)
    with torch.no_grad():
        probe.encode(utt.features[None].expand(2, -1, -1), torch.tensor([utt.num_frames] * 2))
        assert probe._cross_cache(noisy[:2]) is None  # each row its own padding: nothing to share
