"""The manifest checker: clean corpora pass, every kind of bad row is listed with its reason."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2t.data.check import main
from s2t.data.manifest import ManifestRow, num_frames, write_manifest


def wav(path: Path, samples: int = 16000, rate: int = 16000, value: float | None = None) -> None:
    """Write a noise wav (or a constant-valued float wav)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(1).standard_normal(samples) * 0.1 if value is None else np.full(samples, value)
    sf.write(path, data, rate, subtype="FLOAT" if value is not None else "PCM_16")


def good_row(i: int) -> ManifestRow:
    return ManifestRow(f"u{i}", f"a/u{i}.wav", num_frames(16000), "ciao mondo", "ciao mondo", "it", "it", "asr", "s1")


@pytest.fixture
def bad_manifest(tmp_path: Path) -> Path:
    """A manifest with one clean row and one row for each kind of problem."""
    for i in range(3):
        wav(tmp_path / f"a/u{i}.wav")
    (tmp_path / "a/corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    wav(tmp_path / "a/empty.wav", samples=0)
    wav(tmp_path / "a/nan.wav", value=float("nan"))
    wav(tmp_path / "a/r8k.wav", samples=8000, rate=8000)
    rows = [
        good_row(0),
        replace(good_row(1), id="missing", audio="a/nope.wav"),
        replace(good_row(1), id="corrupt", audio="a/corrupt.wav"),
        replace(good_row(1), id="empty-audio", audio="a/empty.wav"),
        replace(good_row(1), id="nan", audio="a/nan.wav"),
        replace(good_row(1), id="resampled", audio="a/r8k.wav"),
        replace(good_row(1), id="empty-text", tgt_text=" "),
        replace(good_row(1), id="klingon", src_lang="tlh", tgt_lang="tlh"),
        replace(good_row(1), id="task", task="summarise"),
        replace(good_row(2), id="frames", n_frames=5),
        good_row(0),  # duplicate id
    ]
    write_manifest(tmp_path / "m.tsv", rows)
    return tmp_path / "m.tsv"


def test_clean_corpus_passes(tiny_corpus: Path, capsys: pytest.CaptureFixture) -> None:
    manifests = [str(tiny_corpus / f"{s}.tsv") for s in ("train", "valid", "test")]
    assert main(manifests + ["--quiet"]) == 0
    assert "0 bad" in capsys.readouterr().out


def test_every_bad_row_is_listed_with_its_reason(bad_manifest: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(bad_manifest), "--quiet"]) == 1
    out = capsys.readouterr().out
    expected = {
        "missing": "nope.wav: audio file not found",
        "corrupt": "corrupt.wav: unreadable or corrupt",
        "empty-audio": "empty.wav: audio file holds no samples",
        "nan": "nan.wav: audio holds NaN",
        "empty-text": "empty tgt_text",
        "klingon": "unknown language src_lang='tlh'",
        "task": "unknown task 'summarise'",
        "frames": "n_frames is 5",
        "u0": "duplicate id",
    }
    for row_id, reason in expected.items():
        lines = [l for l in out.splitlines() if l.startswith(f"bad: {bad_manifest} row {row_id}:")]
        assert lines and reason in lines[0], (row_id, out)
    assert "note:" in out and "row resampled: " in out and "resampled to 16000" in out
    assert not any(l.startswith(f"bad: {bad_manifest} row resampled") for l in out.splitlines())
    assert f"{bad_manifest}: 11 rows, 9 bad" in out


def test_unreadable_manifest_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "m.tsv").write_text("id\taudio\n")
    assert main([str(tmp_path / "m.tsv"), "--quiet"]) == 2
    assert "lacks column(s) n_frames" in capsys.readouterr().out


def test_a_wrong_n_frames_is_flagged_on_every_row_sharing_the_audio(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    wav(tmp_path / "a/u0.wav")
    rows = [good_row(0), replace(good_row(0), id="st", task="st", tgt_lang="en", n_frames=7), replace(good_row(0), id="asr2")]
    write_manifest(tmp_path / "m.tsv", rows)
    assert main([str(tmp_path / "m.tsv"), "--quiet"]) == 1
    out = capsys.readouterr().out
    bad = [l for l in out.splitlines() if l.startswith("bad:")]
    assert bad == [f"bad: {tmp_path / 'm.tsv'} row st: n_frames is 7 but {tmp_path / 'a/u0.wav'} has {num_frames(16000)} frames"], out
    assert f"{tmp_path / 'm.tsv'}: 3 rows, 1 bad" in out
