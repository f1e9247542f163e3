"""The LibriSpeech converter on a tiny fake directory in LibriSpeech's layout."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2t.data.check import main as check_main
from s2t.data.librispeech import convert, main
from s2t.data.manifest import num_frames, read_manifest, resolve_audio


def fake_subset(root: Path) -> dict[str, tuple[str, int]]:
    """Two speakers, three utterances as FLAC; returns id -> (transcript, samples)."""
    utts = {"19-198-0000": ("NORTHANGER ABBEY", 8000), "19-198-0001": ("CHAPTER ONE", 12000), "26-495-0000": ("NO ONE WHO HAD EVER SEEN", 16400)}
    rng = np.random.default_rng(0)
    for utt, (text, samples) in utts.items():
        speaker, chapter, _ = utt.split("-")
        folder = root / speaker / chapter
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{utt}.flac", 0.1 * rng.standard_normal(samples), 16000, format="FLAC")
        with (folder / f"{speaker}-{chapter}.trans.txt").open("a") as f:
            f.write(f"{utt} {text}\n")
    return utts


def test_convert_writes_one_asr_row_per_utterance(tmp_path: Path) -> None:
    utts = fake_subset(tmp_path / "LibriSpeech" / "dev-clean")
    manifest = convert(tmp_path / "LibriSpeech" / "dev-clean", tmp_path / "out", "dev", progress=False)
    rows = {r.id: r for r in read_manifest(manifest)}
    assert set(rows) == set(utts)
    row = rows["26-495-0000"]
    assert row.src_text == row.tgt_text == "no one who had ever seen"
    assert (row.src_lang, row.tgt_lang, row.task, row.speaker) == ("en", "en", "asr", "26")
    assert row.n_frames == num_frames(16400)
    assert resolve_audio(manifest, row).samefile(tmp_path / "LibriSpeech/dev-clean/26/495/26-495-0000.flac")
    assert check_main([str(manifest), "--quiet"]) == 0


def test_not_a_librispeech_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--root", str(tmp_path), "--out", str(tmp_path / "o"), "--split", "x"]) == 1
    assert "no *.trans.txt" in capsys.readouterr().err


def test_missing_audio_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "sub"
    fake_subset(root)
    (root / "19/198/19-198-0001.flac").unlink()
    assert main(["--root", str(root), "--out", str(tmp_path / "o"), "--split", "x"]) == 1
    assert "19-198-0001.flac: audio file not found" in capsys.readouterr().err
