"""Segments of long recordings (``talk.wav:offset:duration``): every reader reads that stretch only, old paths read as before."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from probes.evaluation.utterances import load_utterance
from s2t.data.audio import AudioError, load_audio, probe_audio, resample
from s2t.data.check import main as check_main
from s2t.data.datamodule import SpeechDataModule
from s2t.data.dataset import SpeechDataset
from s2t.data.manifest import ManifestRow, num_frames, segment_audio, split_segment, write_manifest
from s2t.features import fbank
from s2t.tokenizer import Tokenizer
from tests.data.corpora import recording

RATE = 16_000


def test_segment_fields_round_trip_and_whole_paths_are_left_alone() -> None:
    assert segment_audio("talks/ted_1.wav", 16.08, 3.5) == "talks/ted_1.wav:16.08:3.5"
    assert segment_audio("a.flac", 0.0, 1 / 3) == "a.flac:0:0.333333"
    assert split_segment("/c/talks/ted_1.wav:16.08:3.5") == (Path("/c/talks/ted_1.wav"), (16.08, 3.5))
    for whole in ("wav/a.wav", "/x/my talk: part 2.wav", "a:1.wav", "C:/a.wav"):
        assert split_segment(whole) == (Path(whole), None)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".ogg"])
def test_a_segment_reads_the_very_samples_of_its_stretch(suffix: str, tmp_path: Path) -> None:
    """WAV and FLAC seek; MP3 and Ogg (whose libsndfile seeks land off) decode from the start: the same samples."""
    whole = recording(tmp_path / f"talk{suffix}", 4.0, seed=3)
    segment = load_audio(f"{tmp_path / f'talk{suffix}'}:2.5:0.75")  # (12000,)
    np.testing.assert_allclose(segment, whole[40000:52000], atol=1e-6)
    assert probe_audio(Path(f"{tmp_path / f'talk{suffix}'}:2.5:0.75")) == (12000, RATE, 1)


def test_a_segment_keeps_the_loaders_promises(tmp_path: Path) -> None:
    """44.1 kHz stereo: the segment alone averaged to mono and resampled, each with a warning naming it."""
    whole = recording(tmp_path / "sitting.wav", 3.0, 44100, seed=4, channels=2)
    path = f"{tmp_path / 'sitting.wav'}:1:0.5"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wav = load_audio(path)
    assert [str(w.message) for w in caught] == [f"{path}: 2 channels, averaged to mono",
                                                f"{path}: sample rate 44100 Hz, resampled to 16000 Hz"]
    np.testing.assert_allclose(wav, resample(whole[44100:66150], 44100), atol=1e-6)  # (8000,)
    assert wav.shape == (8000,) and probe_audio(Path(path)) == (22050, 44100, 2)


@pytest.mark.parametrize("segment, problem", [
    ("5:1", "segment starts at 5.0 s, not before the recording's end (4.000 s)"),
    ("3.5:0.6", "segment ends at 4.100 s, after the recording's end (4.000 s)"),
    ("1:0", "segment holds no samples"),
])
def test_a_segment_outside_its_recording_is_an_error_naming_it(segment: str, problem: str, tmp_path: Path) -> None:
    recording(tmp_path / "talk.wav", 4.0)
    path = f"{tmp_path / 'talk.wav'}:{segment}"
    for read in (load_audio, lambda p: probe_audio(Path(p))):
        with pytest.raises(AudioError, match="^" + re.escape(f"{path}: {problem}")):
            read(path)


def test_a_segment_ending_a_rounding_past_the_end_is_cut_there(tmp_path: Path) -> None:
    whole = recording(tmp_path / "talk.wav", 4.0, seed=5)
    wav = load_audio(f"{tmp_path / 'talk.wav'}:3.5:0.505")
    np.testing.assert_array_equal(wav, whole[56000:])


@pytest.fixture
def talk_manifest(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """``m.tsv``: two segments of one 4 s talk, one row a segment outside it; returns the manifest and the talk."""
    whole = recording(tmp_path / "talks/ted_1.wav", 4.0, seed=6)
    rows = [ManifestRow("a-asr", "talks/ted_1.wav:0.5:1", num_frames(16000), "ciao a tutti", "ciao a tutti", "it", "it", "asr",
                        "s1"),
            ManifestRow("b-asr", "talks/ted_1.wav:2:1.5", num_frames(24000), "buona sera", "buona sera", "it", "it", "asr", "s1"),
            ManifestRow("c-asr", "talks/ted_1.wav:3.9:1", num_frames(16000), "troppo lungo", "troppo lungo", "it", "it", "asr",
                        "s1")]
    write_manifest(tmp_path / "m.tsv", rows)
    return tmp_path / "m.tsv", whole


def test_the_dataset_computes_features_of_the_segment(talk_manifest: tuple[Path, np.ndarray]) -> None:
    manifest, whole = talk_manifest
    tokenizer = Tokenizer.train(["ciao a tutti", "buona sera"], 40, ["it"], ["asr"])
    dataset = SpeechDataset(manifest, [ManifestRow("b-asr", "talks/ted_1.wav:2:1.5", 148, "buona sera", "buona sera", "it",
                                                   "it", "asr", "s1")], tokenizer)
    expected = fbank(torch.from_numpy(whole[32000:56000]))  # (148, 80)
    assert expected.shape[0] == 148
    torch.testing.assert_close(dataset[0]["features"], expected)


def test_check_and_the_datamodule_judge_each_segment(talk_manifest: tuple[Path, np.ndarray], capsys: pytest.CaptureFixture,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """n_frames is checked against the segment, not the talk; a segment outside the talk is a bad row for both."""
    manifest, _ = talk_manifest
    assert check_main([str(manifest), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert f"bad: {manifest} row c-asr: {manifest.parent / 'talks/ted_1.wav'}:3.9:1: segment ends at 4.900 s" in out
    assert f"{manifest}: 3 rows, 1 bad" in out
    for name in ("train", "valid", "test"):
        (manifest.parent / f"{name}.tsv").write_text(manifest.read_text())
    dm = SpeechDataModule(manifest.parent, languages=["it"], tasks=["asr"], vocab_size=40, num_workers=0)
    dm.prepare_data()
    with caplog.at_level(logging.WARNING, logger="s2t.data.datamodule"):
        dm.setup("fit")
    assert [r.id for r in dm.rows["train"]] == ["a-asr", "b-asr"] and dm.skipped["train"] == 1
    assert "c-asr" in caplog.text and "segment ends at 4.900 s" in caplog.text


class FeatureStub:
    """The two members of a ProbeModel that ``load_utterance`` uses: the waveform as its features, an empty prompt."""

    def features(self, wav: torch.Tensor) -> torch.Tensor:
        """(samples, 1)."""
        return wav[:, None]

    def prefix(self, tgt_lang: str, task: str, src_lang: str | None = None) -> list[int]:
        """No prompt."""
        return []


def test_the_probes_load_the_segment(talk_manifest: tuple[Path, np.ndarray]) -> None:
    manifest, whole = talk_manifest
    row = ManifestRow("a-asr", "talks/ted_1.wav:0.5:1", 98, "ciao a tutti", "ciao a tutti", "it", "it", "asr", "s1")
    utt = load_utterance(FeatureStub(), manifest, row, {})
    torch.testing.assert_close(utt.features[:, 0], torch.from_numpy(whole[8000:24000]))
