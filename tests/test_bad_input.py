"""The bad-input promises at every entry point (README, "Bad input"): evaluate.py, python -m s2t.transcribe, the
callback and the study each name the file and row and lose nothing; bad checkpoints get one clear sentence."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import evaluate
from probes.callback import ExplanationCallback
from s2t.data.manifest import COLUMNS, ManifestError, ManifestRow, read_manifest, write_manifest
from s2t.transcribe import main as transcribe_main
from study.cli import main as study_main

FAST = ["--masks", "4", "--encoder-masks", "4", "--granularities", "300", "--deletion-steps", "2", "--beam", "1",
        "--methods", "spes", "--no-wandb", "--no-report"]
ODD_FOLDER = "wav/mit Leerzeichen ü"  # a path with a space and a non-ASCII letter


def audio_cases(folder: Path, good: Path) -> dict[str, Path]:
    """One recording per audio case, made from a good 16 kHz recording; the keys name the cases."""
    wav, rate = sf.read(good, dtype="float32")
    (folder / ODD_FOLDER).mkdir(parents=True)
    cases = {"missing": folder / "wav/nowhere.wav"}
    cases["truncated"] = folder / "wav/truncated.wav"
    cases["truncated"].write_bytes(good.read_bytes()[:30])  # half a header
    for name, data, sr in [("empty", wav[:0], rate), ("stereo", np.stack([wav, wav], axis=1), rate),
                           ("8kHz", wav[::2], 8000), ("44.1kHz", np.repeat(wav, 3)[: int(len(wav) * 44100 / rate)], 44100),
                           ("60s", np.tile(wav, int(60 * rate / len(wav)) + 1)[: 60 * rate], rate)]:
        cases[name] = folder / f"wav/{name}.wav"
        sf.write(cases[name], data, sr)
    cases["NaN"] = folder / "wav/nan.wav"
    sf.write(cases["NaN"], np.where(np.arange(len(wav)) % 100 == 0, np.nan, wav).astype(np.float32), rate, subtype="FLOAT")
    cases["odd path"] = folder / ODD_FOLDER / "ünïcode name.wav"
    shutil.copy(good, cases["odd path"])
    return cases


# what evaluate.py and the callback do with each row: explained, or skipped with a reason naming the file and row
EXPLAINED = ("stereo", "8kHz", "44.1kHz", "60s", "odd path", "empty transcript")
SKIPPED = {"missing": "audio file not found", "truncated": "corrupt audio", "empty": "holds no samples",
           "NaN": "NaN or infinite samples", "unknown language": "language", "unknown task": "task"}


@pytest.fixture(scope="module")
def bad(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A manifest with one good English ASR row and one row per bad case, beside the recordings of the cases."""
    folder = tmp_path_factory.mktemp("bad")
    good_row = next(r for r in read_manifest(tiny_corpus / "test.tsv") if r.task == "asr" and r.src_lang == "en")
    good = tiny_corpus / good_row.audio
    audio = audio_cases(folder, good)
    rows = [ManifestRow(**{**vars(good_row), "id": "good", "audio": str(shutil.copy(good, folder / "wav/good.wav"))})]
    for name, path in audio.items():
        rows.append(ManifestRow(**{**vars(good_row), "id": name, "audio": str(path.relative_to(folder))}))
    rows.append(ManifestRow(**{**vars(good_row), "id": "empty transcript", "audio": "wav/good.wav", "src_text": "",
                               "tgt_text": ""}))
    rows.append(ManifestRow(**{**vars(good_row), "id": "unknown language", "audio": "wav/good.wav", "src_lang": "xx",
                               "tgt_lang": "xx"}))
    rows.append(ManifestRow(**{**vars(good_row), "id": "unknown task", "audio": "wav/good.wav", "task": "summarise"}))
    write_manifest(folder / "bad.tsv", rows)
    return folder, audio


def test_evaluate_explains_what_it_can_and_names_the_rest(bad: tuple[Path, dict[str, Path]], tiny_checkpoint: Path,
                                                          tmp_path: Path) -> None:
    folder, _ = bad
    assert evaluate.main(["--ckpt", str(tiny_checkpoint), "--manifest", str(folder / "bad.tsv"), "--out",
                          str(tmp_path / "out"), *FAST]) == 0
    records = {r["id"]: r for r in map(json.loads, (tmp_path / "out/utterances.jsonl").read_text().splitlines())}
    assert set(records) == {"good", *EXPLAINED, *SKIPPED}  # nothing lost
    for case in ("good", *EXPLAINED):
        assert "skipped" not in records[case], (case, records[case].get("skipped"))
    for case, reason in SKIPPED.items():
        message = records[case]["skipped"]
        assert str(folder / "bad.tsv") in message and f"row {case}" in message and reason in message, message
    assert records["60s"]["frames"] > 5900 and records["8kHz"]["frames"] == records["good"]["frames"]


@pytest.mark.parametrize("name, content", [("duplicate id", None), ("non-UTF-8 text", b"\xff\xfe caf\xe9")])
def test_evaluate_refuses_a_broken_manifest_naming_file_and_line(name: str, content: bytes | None, tiny_checkpoint: Path,
                                                                 bad: tuple[Path, dict[str, Path]], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    folder, _ = bad
    lines = (folder / "bad.tsv").read_bytes().splitlines(keepends=True)
    manifest = folder / f"{name}.tsv"
    if content is None:
        manifest.write_bytes(b"".join([*lines[:3], lines[2]]))  # line 3 again, on line 4
        expected = f"{manifest}:4: id"
    else:
        cells = lines[2].split(b"\t")
        cells[COLUMNS.index("tgt_text")] = content
        manifest.write_bytes(b"".join([*lines[:2], b"\t".join(cells)]))
        expected = f"{manifest}:3: not UTF-8"
    assert evaluate.main(["--ckpt", str(tiny_checkpoint), "--manifest", str(manifest), "--out", str(tmp_path / "o"),
                          *FAST]) == 2
    err = capsys.readouterr().err
    assert str(manifest) in err and expected in err, err
    with pytest.raises(ManifestError, match=re.escape(expected)):
        read_manifest(manifest, unique_ids=True)


def test_transcribe_names_each_bad_file_and_goes_on(bad: tuple[Path, dict[str, Path]], tiny_checkpoint: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    _, audio = bad
    assert transcribe_main(["--ckpt", str(tiny_checkpoint), *map(str, audio.values()), "--beam", "1"]) == 1
    out, err = capsys.readouterr()
    done = {line.split("\t")[0] for line in out.splitlines()}
    assert done == {str(audio[c]) for c in ("stereo", "8kHz", "44.1kHz", "60s", "odd path")}
    for case in ("missing", "truncated", "empty", "NaN"):
        assert any(str(audio[case]) in line and SKIPPED[case] in line for line in err.splitlines()), (case, err)
    assert transcribe_main(["--ckpt", str(tiny_checkpoint), str(audio["odd path"]), "--lang", "xx"]) == 2
    assert "cannot do asr into xx" in capsys.readouterr().err


def test_the_callback_skips_bad_rows_by_name(bad: tuple[Path, dict[str, Path]], tiny_checkpoint: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    from probes.adapters import S2TProbe

    folder, _ = bad
    model = S2TProbe.from_checkpoint(tiny_checkpoint)
    callback = ExplanationCallback(source=folder / "bad.tsv", utterances=100)
    with caplog.at_level("WARNING"):
        loaded = callback.subset(None, model)
    assert {u.id for u in loaded} == {"good", *EXPLAINED}
    for case, reason in SKIPPED.items():
        assert any(f"row {case}" in m and reason in m and str(folder / "bad.tsv") in m for m in caplog.messages), case


@pytest.mark.parametrize("kind", ["not a checkpoint", "truncated", "foreign"])
def test_bad_checkpoints_get_one_sentence(kind: str, tiny_checkpoint: Path, bad: tuple[Path, dict[str, Path]],
                                          tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder, audio = bad
    ckpt = tmp_path / "model.ckpt"
    if kind == "not a checkpoint":
        ckpt.write_text("hello")
    elif kind == "truncated":
        ckpt.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    else:
        torch.save({"state_dict": {}, "epoch": 3}, ckpt)
    assert transcribe_main(["--ckpt", str(ckpt), str(audio["odd path"])]) == 2
    assert evaluate.main(["--ckpt", str(ckpt), "--manifest", str(folder / "bad.tsv"), "--out", str(tmp_path / "o"),
                          *FAST]) == 2
    for line in capsys.readouterr().err.strip().splitlines():
        assert line.startswith(f"error: {ckpt}: ") and line.count("\n") == 0, line


def test_the_study_names_a_broken_manifest(bad: tuple[Path, dict[str, Path]], tiny_corpus: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_corpus, data)
    lines = (data / "test.tsv").read_text().splitlines(keepends=True)
    (data / "test.tsv").write_text("".join([*lines, lines[1]]))  # a duplicate id
    config = tmp_path / "study.yaml"
    config.write_text(json.dumps({"out": str(tmp_path / "study"), "data_dir": str(data), "models": [
        {"name": "m", "experiment": "configs/experiment/demo_en_asr.yaml", "groups": ["asr_en"]}]}))
    assert study_main(["--config", str(config)]) != 0
    err = capsys.readouterr().err
    assert f"{data / 'test.tsv'}:{len(lines) + 1}: id" in err and "appears twice" in err, err
