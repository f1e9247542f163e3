"""probes.evaluation.quality: decode a manifest through the probes' interface and score it normalised, known answers."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
import soundfile as sf
from torch import Tensor

from probes.evaluation import quality
from s2t.data.manifest import ManifestRow, num_frames, read_manifest, write_manifest
from s2t.score import read_predictions, score

SAY = {0: "The cat, sat!", 1: "A dog... ran."}  # what the echo model says: long audio -> 1, short -> 0


class EchoProbe:
    """Says SAY[1] for audio longer than 1 s, SAY[0] otherwise; knows only English; its users lower-case and drop
    punctuation before scoring (``normalize``)."""

    n_mels, frames_per_second, subsampling, blank_id = 1, 100, 1, None

    def features(self, wav: Tensor) -> Tensor:
        """One value per 10 ms: (T, 1)."""
        return wav[: wav.numel() // 160 * 160].reshape(-1, 160).mean(dim=1, keepdim=True)

    def prefix(self, tgt_lang: str, task: str, src_lang: str | None = None) -> list[int]:
        """English only."""
        if tgt_lang != "en":
            raise ValueError(f"the model knows languages ['en'], not {tgt_lang!r}")
        return [7]

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """The features as they are."""
        return features, lengths

    def search(self, enc: Tensor, enc_lengths: Tensor, prefix: Sequence[int], beam_size: int = 5) -> list[list[int]]:
        """Token 1 for more than 100 frames, else 0."""
        return [[int(n > 100)] for n in enc_lengths.tolist()]

    def detokenize(self, tokens: Sequence[int]) -> str:
        """The sentence of the token."""
        return SAY[tokens[0]]

    def normalize(self, text: str, lang: str) -> str:
        """Lower case, no punctuation."""
        return " ".join(text.lower().translate(str.maketrans("", "", string.punctuation)).split())


def manifest(folder: Path) -> Path:
    """Three English rows (2 s, 0.5 s, a missing file) and an Italian one: references 'the cat sat' etc."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for utt, samples, text, lang in (("long", 32000, "a dog ran far", "en"), ("short", 8000, "the cat sat", "en"),
                                     ("gone", 8000, "the cat sat", "en"), ("italian", 8000, "il gatto", "it")):
        if utt != "gone":
            sf.write(folder / f"{utt}.wav", 0.1 * rng.standard_normal(samples), 16000, subtype="PCM_16")
        rows.append(ManifestRow(utt, f"{utt}.wav", num_frames(samples), text, text, lang, lang, "asr", "s"))
    write_manifest(folder / "test.tsv", rows)
    return folder / "test.tsv"


def test_scores_normalised_text_with_a_known_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    """'A dog... ran.' against 'a dog ran far' is 1 deletion, 'The cat, sat!' against 'the cat sat' none: WER 1/7;
    raw.tsv keeps the text as decoded; a missing file and a language the model lacks are skipped with the reason."""
    path = manifest(tmp_path / "data")
    monkeypatch.setattr(quality, "load_model", lambda a: (EchoProbe(), {"echo": "1"}))
    assert quality.main(["--hf", "echo", "--manifest", str(path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr()
    assert "wer en: 14.29" in out.out and "1 edits in 7 words" in out.out
    assert "row gone:" in out.err and "row italian:" in out.err and "knows languages ['en']" in out.err
    result = json.loads((tmp_path / "out/quality.json").read_text())
    assert result["wer"] == {"en": 14.29} and result["edits"]["wer"] == {"en": [1, 7]} and result["rows"] == {"en": 2}
    assert result["tasks"] == ["asr"] and result["languages"] == ["en"] and result["normalizer"] is True
    assert result["model"] == {"echo": "1"} and result["beam"] == 5 and len(result["skipped"]) == 2
    low, high = result["intervals"]["wer"]["en"]
    assert low <= 14.29 <= high
    normalised = {r.id: r for r in read_predictions([tmp_path / "out/predictions.tsv"])}
    raw = {r.id: r for r in read_predictions([tmp_path / "out/raw.tsv"])}
    assert (normalised["long"].hypothesis, normalised["long"].reference) == ("a dog ran", "a dog ran far")
    assert (raw["long"].hypothesis, raw["short"].hypothesis) == ("A dog... ran.", "The cat, sat!")
    assert score(list(normalised.values()), resamples=0)[0].value == pytest.approx(100 / 7)


def test_selection_and_an_empty_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    """--pairs and --limit select rows as evaluate.py does; nothing decodable is an error, exit 1."""
    path = manifest(tmp_path / "data")
    monkeypatch.setattr(quality, "load_model", lambda a: (EchoProbe(), {}))
    assert quality.main(["--hf", "echo", "--manifest", str(path), "--out", str(tmp_path / "a"), "--limit", "1"]) == 0
    assert [r.id for r in read_predictions([tmp_path / "a/predictions.tsv"])] == ["long"]
    assert quality.main(["--hf", "echo", "--manifest", str(path), "--out", str(tmp_path / "b"), "--pairs", "it-it"]) == 1
    assert "no row decoded (1 selected, 1 skipped)" in capsys.readouterr().err


def test_a_checkpoint_is_decoded_as_is(tiny_corpus: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """--ckpt loads as evaluate.py does; our models declare no normaliser, so both files hold the same text, and
    quality.json's WER is s2t.score's on predictions.tsv."""
    out = tmp_path / "out"
    assert quality.main(["--ckpt", str(tiny_checkpoint), "--manifest", str(tiny_corpus / "test.tsv"), "--pairs", "en-en",
                         "--beam", "2", "--out", str(out)]) == 0
    rows = read_predictions([out / "predictions.tsv"])
    assert [r.id for r in rows] == [r.id for r in read_manifest(tiny_corpus / "test.tsv") if r.task == "asr"
                                    and r.src_lang == "en"]
    assert (out / "predictions.tsv").read_text() == (out / "raw.tsv").read_text()
    result = json.loads((out / "quality.json").read_text())
    assert result["normalizer"] is False and result["model"]["ckpt"] == str(tiny_checkpoint.resolve())
    assert result["wer"]["en"] == round(next(s.value for s in score(rows) if s.metric == "wer"), 2)
    assert result["parameters"] > 0
