"""Checkpoint averaging: the mean of the weights, the newest's metadata, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from s2t.average import average_checkpoints, main
from s2t.module import CheckpointMismatchError, S2TModule
from s2t.tokenizer import Tokenizer


def variant(source: Path, out: Path, scale: float, step: int, **changes: object) -> Path:
    """A copy of ``source`` with every float weight times ``scale``, at ``step``, with training state."""
    checkpoint = torch.load(source, weights_only=True)
    checkpoint["state_dict"] = {k: v * scale if v.is_floating_point() else v for k, v in checkpoint["state_dict"].items()}
    checkpoint.update(global_step=step, optimizer_states=[{"state": {}}], lr_schedulers=[{}], **changes)
    torch.save(checkpoint, out)
    return out


def test_the_average_is_the_mean_of_the_weights_with_the_newest_metadata(tiny_checkpoint: Path, tmp_path: Path) -> None:
    paths = [variant(tiny_checkpoint, tmp_path / f"{s}.ckpt", scale, s) for s, scale in ((300, 1.0), (100, 2.0), (200, 6.0))]
    averaged = average_checkpoints(paths)
    original = torch.load(tiny_checkpoint, weights_only=True)
    for name, tensor in original["state_dict"].items():
        torch.testing.assert_close(averaged["state_dict"][name], tensor * 3.0)  # (1 + 2 + 6) / 3
    assert averaged["global_step"] == 300 and averaged["tokenizer"] == original["tokenizer"]
    assert "optimizer_states" not in averaged and "lr_schedulers" not in averaged
    assert [a["global_step"] for a in averaged["averaged_from"]] == [300, 100, 200]


def test_the_written_average_serves_as_a_checkpoint(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a, b = variant(tiny_checkpoint, tmp_path / "a.ckpt", 1.0, 1), variant(tiny_checkpoint, tmp_path / "b.ckpt", 1.0, 2)
    assert main([str(a), str(b), "--out", str(tmp_path / "avg/mean.ckpt")]) == 0
    assert "mean of 2 checkpoints (steps 1, 2)" in capsys.readouterr().out
    averaged, single = S2TModule.from_checkpoint(tmp_path / "avg/mean.ckpt"), S2TModule.from_checkpoint(a)
    feats = torch.randn(1, 120, 80)
    with torch.no_grad():
        torch.testing.assert_close(averaged.model.encode(feats, torch.tensor([120])).out, single.model.encode(feats, torch.tensor([120])).out)


def test_another_tokenizer_or_architecture_is_refused_naming_the_file(tiny_checkpoint: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    stored = torch.load(tiny_checkpoint, weights_only=True)
    other_tokenizer = Tokenizer.train(["completely other words here"] * 20, 30, ["en"], ["asr"]).to_bytes()
    odd = variant(tiny_checkpoint, tmp_path / "odd.ckpt", 1.0, 1, tokenizer=other_tokenizer)
    with pytest.raises(CheckpointMismatchError, match="odd.ckpt: its tokenizer differs"):
        average_checkpoints([tiny_checkpoint, odd])
    deeper = variant(tiny_checkpoint, tmp_path / "deeper.ckpt", 1.0, 1, model_config={**stored["model_config"], "decoder_layers": 3})
    assert main([str(tiny_checkpoint), str(deeper), "--out", str(tmp_path / "x.ckpt")]) == 2
    assert "deeper.ckpt: its model differs" in capsys.readouterr().err and not (tmp_path / "x.ckpt").exists()
    # dropout is training, not architecture: checkpoints of one run trained with and without it average
    other_dropout = variant(tiny_checkpoint, tmp_path / "nodrop.ckpt", 1.0, 1, model_config={**stored["model_config"], "dropout": 0.3})
    assert len(average_checkpoints([tiny_checkpoint, other_dropout])["averaged_from"]) == 2


def test_writing_over_an_input_is_refused(tiny_checkpoint: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tiny_checkpoint), "--out", str(tiny_checkpoint)]) == 2
    assert "is one of the inputs" in capsys.readouterr().err
