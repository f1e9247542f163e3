"""W&B logging: the mode the user asked for (offline unless logged in, ``WANDB_MODE`` first), job types, and an
unreachable service never fails a run."""

from pathlib import Path

import lightning as L
import pytest
import wandb

from s2t.callbacks import FinalCheckpoint
from s2t.cli import main
from s2t.loggers import SafeWandbLogger, logged_in, wandb_mode

ROOT = Path(__file__).resolve().parents[1]


def test_mode_follows_credentials_and_wandb_mode_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    assert not logged_in() and wandb_mode() == "offline" and wandb_mode(offline=False) == "online"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert logged_in() and wandb_mode() == "online" and wandb_mode(offline=True) == "offline"
    for env, mode in [("offline", "offline"), ("dryrun", "offline"), ("disabled", "disabled")]:
        monkeypatch.setenv("WANDB_MODE", env)
        assert wandb_mode() == wandb_mode(offline=False) == mode  # the user's word beats a config's offline: false


@pytest.mark.parametrize(("env", "mode"), [("offline", "offline"), ("disabled", "disabled"), (None, "online")])
def test_train_py_honours_wandb_mode_for_a_logged_in_user(env: str | None, mode: str, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)  # logged in
    if env is None:
        monkeypatch.delenv("WANDB_MODE", raising=False)
    else:
        monkeypatch.setenv("WANDB_MODE", env)
    monkeypatch.chdir(tmp_path)  # the shipped logger config writes under outputs/runs
    cli = main(["--config", str(ROOT / "configs/experiment/demo_en_asr.yaml")], run=False)  # the shipped loggers
    (logger,) = [lg for lg in cli.trainer.loggers if isinstance(lg, SafeWandbLogger)]
    assert logger.mode == logger._wandb_init["settings"].mode == mode
    assert logger._experiment is None  # nothing started (nor uploaded) yet


def test_disabled_writes_no_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    logger = SafeWandbLogger(save_dir=str(tmp_path), offline=False, log_model=True)
    logger.log_metrics({"valid/wer/en": 12.0}, step=1)
    assert logger.experiment.disabled
    wandb.finish()
    assert list(tmp_path.iterdir()) == []  # no wandb/ folder, no run files


def test_job_type_names_the_stage_unless_given(tmp_path: Path) -> None:
    logger = SafeWandbLogger(save_dir=str(tmp_path))
    logger.name_job("fit")
    assert logger._wandb_init["job_type"] == "train"
    given = SafeWandbLogger(save_dir=str(tmp_path), job_type="sweep")
    given.name_job("test")
    assert given._wandb_init["job_type"] == "sweep"


class Run:
    """A stand-in W&B run that keeps the artifacts logged to it."""

    def __init__(self) -> None:
        """No artifact yet."""
        self.logged: list[tuple[str, list[str]]] = []

    def log_artifact(self, artifact: wandb.Artifact, aliases: list[str]) -> None:
        """Keep the artifact's name and aliases."""
        self.logged.append((artifact.name, aliases))


@pytest.mark.parametrize(("mode", "log_model", "logged"), [
    ("offline", None, False), ("online", None, True), ("offline", True, True), ("online", False, False), ("disabled", True, False)])
def test_checkpoints_are_logged_online_by_default_offline_when_asked(mode: str, log_model: bool | None, logged: bool,
                                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))  # where W&B stages a copy of the file
    (tmp_path / "final.ckpt").write_bytes(b"weights")
    trainer = L.Trainer(default_root_dir=str(tmp_path), callbacks=[FinalCheckpoint()], logger=False)
    logger = SafeWandbLogger(save_dir=str(tmp_path), group="m/1", log_model=log_model)
    logger._set_mode(mode)
    logger._experiment = run = Run()
    logger.log_checkpoints(trainer)
    assert run.logged == ([("model-m-1", ["final"])] if logged else [])


def test_unreachable_wandb_falls_back_to_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    modes = []

    def fake_init(**kwargs: object) -> str:
        modes.append(kwargs["settings"].mode)
        if kwargs["settings"].mode == "online":
            raise wandb.errors.CommError("network unreachable")
        return "offline-run"

    monkeypatch.setattr(wandb, "init", fake_init)
    logger = SafeWandbLogger(save_dir=str(tmp_path), offline=False)
    assert logger.experiment == "offline-run"
    assert modes == ["online", "offline"] and logger.mode == "offline"
