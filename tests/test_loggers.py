"""W&B logging: offline unless logged in, and an unreachable service never fails a run."""

from pathlib import Path

import pytest
import wandb

from s2t.loggers import SafeWandbLogger, logged_in, wandb_mode


def test_mode_follows_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    assert not logged_in() and wandb_mode() == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert logged_in() and wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode() == "disabled"


def test_unreachable_wandb_falls_back_to_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    modes = []

    def fake_init(**kwargs: object) -> str:
        modes.append(kwargs["settings"].mode)
        if kwargs["settings"].mode == "online":
            raise wandb.errors.CommError("network unreachable")
        return "offline-run"

    monkeypatch.setattr(wandb, "init", fake_init)
    logger = SafeWandbLogger(save_dir=str(tmp_path), offline=False)
    assert logger.experiment == "offline-run"
    assert modes == ["online", "offline"]
