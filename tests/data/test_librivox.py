"""The LibriVox (pocketsphinx-testdata) converter on a fixture tree in its layout, built here."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2t.data.check import main as check_main
from s2t.data.librivox import convert, main
from s2t.data.manifest import num_frames, read_manifest, resolve_audio, sidecar_path

RECORDINGS = {"book_01_reader_64kb-0010": ("he was not an ill disposed young man", 8000),
              "book_01_reader_64kb-0020": ("he might even have been made amiable himself", 12400)}


def fake_librivox(root: Path) -> Path:
    """Two short synthetic 16 kHz WAV recordings, ``fileids`` and ``transcription`` as the Debian package has them."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for utt, (_, samples) in RECORDINGS.items():
        sf.write(root / f"{utt}.wav", 0.1 * rng.standard_normal(samples), 16000, subtype="PCM_16")
    (root / "fileids").write_text("".join(f"{utt}\n" for utt in RECORDINGS))
    (root / "transcription").write_text("".join(f"<s> {text} </s> ({utt})\n" for utt, (text, _) in RECORDINGS.items()))
    return root


def test_each_recording_becomes_an_english_asr_row(tmp_path: Path) -> None:
    root = fake_librivox(tmp_path / "librivox")
    manifest = convert(root, tmp_path / "out")
    assert manifest == tmp_path / "out/test.tsv" and not sidecar_path(manifest).exists()
    rows = {row.id: row for row in read_manifest(manifest)}
    assert rows.keys() == RECORDINGS.keys()
    row = rows["book_01_reader_64kb-0020"]
    assert row.src_text == row.tgt_text == "he might even have been made amiable himself"
    assert (row.src_lang, row.tgt_lang, row.task, row.speaker) == ("en", "en", "asr", "book_01_reader_64kb")
    assert row.n_frames == num_frames(12400)
    assert resolve_audio(manifest, row).samefile(root / "book_01_reader_64kb-0020.wav")
    assert check_main([str(manifest), "--quiet"]) == 0


def test_bad_entries_are_each_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A recording without a transcription line, a missing WAV file and a malformed line: all three named, exit 1."""
    root = fake_librivox(tmp_path / "librivox")
    with (root / "fileids").open("a") as f:
        f.write("book_01_reader_64kb-0030\n")
    (root / "book_01_reader_64kb-0010.wav").unlink()
    with (root / "transcription").open("a") as f:
        f.write("<s> no id here </s>\n")
    assert main(["--root", str(root), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "3 bad entries" in err
    assert f"{root / 'fileids'}:3: recording book_01_reader_64kb-0030 has no line in {root / 'transcription'}" in err
    assert f"{root / 'fileids'}:1: {root / 'book_01_reader_64kb-0010.wav'}: audio file not found" in err
    assert f"{root / 'transcription'}:3: not '<s> words </s> (id)'" in err
    assert not (tmp_path / "out").exists()


def test_not_a_librivox_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--root", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert "is " + str(tmp_path) + " the librivox folder of pocketsphinx-testdata?" in capsys.readouterr().err
