"""Whisper explained end to end: every method, curves, evaluate.py --hf, a pretrained study, alignment-head times.

The model is the tiny random Whisper of ``tests.probes.tiny_whisper``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import yaml
from torch import Tensor
from transformers import WhisperProcessor

import evaluate
from probes.adapters.whisper import WhisperProbe
from probes.explain import ExplainConfig, explain
from probes.interface import Utterance, hypotheses
from probes.metrics.deletion import curves
from probes.metrics.timestamps import word_times
from probes.saliency.encoder import EncoderSaliencyConfig
from probes.saliency.spes import SpesConfig
from s2t.data.manifest import read_manifest
from study.cli import main as study_main
from tests.probes.tiny_whisper import NEW_TOKENS


def test_explain_runs_every_method(whisper: WhisperProbe, wav: Tensor) -> None:
    """The whole per-utterance pipeline (SPES, encoder-output saliency, gradients, deletion) gives finite agreements."""
    utt = Utterance(id="w", features=whisper.features(wav), prefix=whisper.prefix("en", "asr"))
    config = ExplainConfig(methods=("spes", "encoder", "saliency"), beam_size=1, deletion_steps=2,
                           spes=SpesConfig(masks=8, granularities=(20,), batch_size=8),
                           encoder=EncoderSaliencyConfig(masks=8, batch_size=8))
    found = explain(whisper, utt, config)
    record = found.record
    assert len(utt.tokens) == NEW_TOKENS and record["encoder_frames"] == 101
    assert found.maps["ca"].shape == (2, 2, NEW_TOKENS, 101) and (found.maps["ca"].sum(-1) < 1.0).all()
    for target in ("input", "encoder", "saliency"):
        assert found.maps[target].shape == (NEW_TOKENS, 101)
        scores = record["agreement"][f"ca_vs_{target}"]
        assert all(math.isfinite(scores[view]["pearson"]) for view in ("all", "layer:1", "head:2.2"))
    assert math.isfinite(record["deletion"]["ca"]["prob"]["auc"])


def test_curves_over_several_encoding_batches_equal_each_curve_alone(whisper: WhisperProbe, wav: Tensor) -> None:
    """Whisper completes an encoding with the padding frames of its latest encode call, so every batch of perturbed
    copies is searched right after it is encoded: more copies than one batch still give each curve its own scores."""
    utt = Utterance(id="w", features=whisper.features(wav), prefix=whisper.prefix("en", "asr"))
    utt.tokens = hypotheses(whisper, utt.features[None], utt.prefix, 1)[0]
    frames = (utt.num_frames + 1) // 2
    maps = {name: torch.rand(len(utt.tokens), frames, generator=torch.Generator().manual_seed(k))
            for k, name in enumerate(("a", "b"))}
    relevance = {"deletion": maps, "insertion": maps}
    together = curves(whisper, utt, relevance, whisper.detokenize, steps=4, beam_size=1, batch_size=4)  # 14 copies
    for mode, named in relevance.items():
        for name, m in named.items():
            alone = curves(whisper, utt, {mode: {name: m}}, whisper.detokenize, steps=4, beam_size=1, batch_size=8)
            assert together[mode][name] == alone[mode][name], (mode, name)


def test_evaluate_explains_a_saved_whisper(whisper: WhisperProbe, tiny_corpus: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    """``evaluate.py --hf FOLDER`` writes the same outputs as for our checkpoints; rows Whisper cannot do are skipped."""
    whisper.model.save_pretrained(tmp_path / "whisper")
    WhisperProcessor(feature_extractor=whisper.feature_extractor, tokenizer=whisper.tokenizer).save_pretrained(
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
        whisper.model.proj_out.weight[0, 0] += 1.0
        whisper.model.save_pretrained(tmp_path / "whisper")
        whisper.model.proj_out.weight[0, 0] -= 1.0  # the fixture serves other tests
    assert evaluate.main(argv) == 2  # other weights at the same path: refused, the run is not mixed
    (tmp_path / "whisper/model.safetensors").write_bytes(b"not weights")
    assert evaluate.main(argv) == 2
    assert "cannot load a Whisper from" in capsys.readouterr().err


@pytest.mark.slow
def test_a_study_tests_and_explains_a_pretrained_whisper(whisper: WhisperProbe, tiny_corpus: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    """A study's ``hf:`` model is not trained: it is tested on each group (its own test set included) and explained
    where it meets the targets; a second run finds everything done, and a rescore from its maps gives the same records."""
    whisper.model.save_pretrained(tmp_path / "whisper")
    WhisperProcessor(feature_extractor=whisper.feature_extractor, tokenizer=whisper.tokenizer).save_pretrained(
        tmp_path / "whisper")
    spec = {"out": str(tmp_path / "study"), "data_dir": str(tiny_corpus), "datasets": {"again": str(tiny_corpus)},
            "limit": 1, "targets": {"wer_max": 1e6, "bleu_min": 101},
            "explain": {"spes": {"masks": 8, "granularities": [20]}, "encoder": {"masks": 8}, "beam_size": 1,
                        "deletion_steps": 2},
            "evaluate": ["--no-wandb", "--devices", "1"],
            "models": [{"name": "w", "hf": str(tmp_path / "whisper"), "groups": ["asr_en", "asr_en@again"]}]}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(spec))
    assert study_main(["--config", str(tmp_path / "study.yaml")]) == 0
    folder = tmp_path / "study/models/w"
    quality = json.loads((folder / "quality.json").read_text())
    assert set(quality["wer"]) == {"en", "en@again"} and quality["wer"]["en"] == quality["wer"]["en@again"]
    assert quality["parameters"] == whisper.model.num_parameters() and not (folder / "train").exists()
    assert quality["pretrained"] and quality["vocab_size"] == len(whisper.tokenizer) and quality["model_languages"] == 1
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
    records = (folder / "explain/asr_en/utterances.jsonl").read_bytes()
    assert study_main(["--config", str(tmp_path / "study.yaml"), "--rescore"]) == 0
    assert "(not its ground truth" not in capsys.readouterr().out  # the Whisper folder serves the rescore
    assert (folder / "explain/asr_en/utterances.jsonl").read_bytes() == records


def test_words_are_timed_from_whispers_alignment_heads_too(whisper: WhisperProbe, wav: Tensor) -> None:
    """With alignment heads in its generation config, the timestamps add DTW over those heads alone."""
    words = [("the", 0.1, 0.5), ("cat", 0.6, 1.0), ("sat", 1.1, 1.5)]
    config = ExplainConfig(methods=(), beam_size=1, deletion_steps=1, decode_deletion=False)

    def stamps() -> dict:
        utt = Utterance(id="w", features=whisper.features(wav), prefix=whisper.prefix("en", "asr"), words=words)
        return explain(whisper, utt, config).record["timestamps"]

    assert whisper.alignment_heads == [] and "ca_alignment_heads" not in stamps()
    whisper.model.generation_config.alignment_heads = [[1, 0], [1, 1]]
    try:
        found = stamps()
    finally:
        whisper.model.generation_config.alignment_heads = None
    utt = Utterance(id="w", features=whisper.features(wav), prefix=whisper.prefix("en", "asr"), words=words)
    explained = explain(whisper, utt, config)
    expected = word_times(whisper, utt.tokens, explained.maps["ca"][1], config.filter_width)  # layer 2, both heads
    assert found["ca_alignment_heads"]["words"] == expected
