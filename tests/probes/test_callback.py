"""ExplanationCallback inside a real (tiny) training run, configured from the YAML file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from probes import ExplanationCallback
from probes.metrics.summary import per_head_grid
from s2t.cli import main
from tests.probes.toys import ToyProbe, toy_utterance

ROOT = Path(__file__).resolve().parents[2]
TINY_MODEL = json.dumps(dict(d_model=32, encoder_layers=2, decoder_layers=2, heads=2, ffn_dim=64, subsampler_channels=32))


@pytest.mark.slow
def test_shipped_probe_config_adds_to_the_default_callbacks_and_the_readme_monitor_survives_unprobed_epochs(
        tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    monitor = json.dumps({"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {
        "monitor": "probe/pearson/ca_vs_input/all", "mode": "max", "save_top_k": 3, "dirpath": str(tmp_path / "best")}})
    cli = main(["fit", "--config", str(ROOT / "configs/experiment/demo_en_asr.yaml"),
                "--data.data_dir", str(tiny_corpus), "--data.num_workers", "0", "--data.vocab_size", "48",
                "--data.max_frames", "2000", "--model.model", TINY_MODEL, "--model.max_len_a", "0", "--model.max_len_b", "8",
                "--trainer.max_epochs", "3", "--trainer.default_root_dir", str(tmp_path),
                "--trainer.logger", "lightning.pytorch.loggers.CSVLogger", "--trainer.logger.save_dir", str(tmp_path),
                "--trainer.enable_progress_bar", "false",
                f"--trainer.callbacks+={ROOT / 'configs/callbacks/probes.yaml'}", f"--trainer.callbacks+={monitor}"])
    names = [type(c).__name__ for c in cli.trainer.callbacks]
    assert {"FinalCheckpoint", "LearningRateMonitor", "ExplanationCallback"} <= set(names)  # the defaults stay
    probe = next(c for c in cli.trainer.callbacks if isinstance(c, ExplanationCallback))
    assert names.count("ExplanationCallback") == 1 and probe.every_n_epochs == 2 and probe.config.spes.masks == 64
    rows = list(csv.DictReader(open(Path(cli.trainer.log_dir) / "metrics.csv")))
    logged = [r for r in rows if r.get("probe/seconds")]
    assert [r["epoch"] for r in logged] == ["1"]  # every 2nd epoch of 3, and never in the sanity check
    row = logged[0]
    assert -1 <= float(row["probe/pearson/ca_vs_input/all"]) <= 1
    assert row["probe/pearson/ca_vs_encoder/layer2"] and float(row["probe/seconds"]) > 0
    # epochs 0 and 2 had no probe: the monitor saved only the probed epoch, with its logged value
    best = next(c for c in cli.trainer.checkpoint_callbacks if c.monitor == "probe/pearson/ca_vs_input/all")
    assert [Path(p).name.split("-")[0] for p in best.best_k_models] == ["epoch=1"]
    assert float(best.best_model_score) == pytest.approx(float(row["probe/pearson/ca_vs_input/all"]), abs=1e-6)
    assert cli.trainer.callback_metrics["probe/pearson/ca_vs_input/all"] is None  # the last epoch measured nothing
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[probe]")]
    assert len(printed) == 1 and printed[0].startswith("[probe] epoch 1: 3 utterances, CA vs input ")
    assert printed[0].endswith(" s") and "CA vs encoder" in printed[0]
    pngs = sorted(p.relative_to(cli.trainer.log_dir).as_posix() for p in Path(cli.trainer.log_dir).rglob("probes/step*/*.png"))
    assert f"probes/step{row['step']}/layer_head.png" in pngs and len(pngs) == 3  # at the scalars' step; two examples


def test_per_head_grid_places_heads_and_leaves_undefined_ones_empty() -> None:
    def summary(m: float | None) -> dict:
        return {"mean": m}

    grid = per_head_grid({"1.1": summary(0.1), "1.2": summary(None), "2.1": summary(0.3), "2.2": summary(0.4)})
    assert grid.shape == (2, 2) and grid[0, 0] == 0.1 and grid[1, 1] == 0.4 and grid[0, 1] != grid[0, 1]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        ExplanationCallback(every_n_epochs=0)
    with pytest.raises(ValueError, match="magic"):
        ExplanationCallback(methods=["magic"])


class ToyModule(L.LightningModule):
    """A LightningModule that is not S2TModule: one parameter to train, a hand-built probe model beside it."""

    def __init__(self) -> None:
        """The toy whose token i reads encoder frames READS[i], and a weight that learns 1."""
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.toy = ToyProbe([(0, 4), (6, 9), (11, 15), (16, 20)])

    def training_step(self, batch: torch.Tensor, index: int) -> torch.Tensor:
        """Squared distance of the weight from 1."""
        return (self.weight - 1).pow(2).sum()

    def validation_step(self, batch: torch.Tensor, index: int) -> None:
        """The same, logged."""
        self.log("valid/loss", (self.weight - 1).pow(2).sum())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Plain SGD."""
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_callback_probes_any_lightning_module_and_monitors_pass_over_unprobed_epochs(tmp_path: Path) -> None:
    module = ToyModule()
    utterances = [toy_utterance(module.toy, frames=80, seed=s) for s in (1, 2)]
    probe = ExplanationCallback(every_n_epochs=2, utterances=2, masks=32, methods=["spes", "encoder"], granularities=[300],
                                source=utterances, probe_model=lambda m: m.toy, figures=1)
    key = "probe/pearson/ca_vs_input/all"
    best = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor=key, mode="max", save_top_k=3)
    stop = EarlyStopping(monitor=key, mode="max", patience=2, strict=False)
    data = DataLoader(torch.zeros(4, 1), batch_size=2)
    trainer = L.Trainer(max_epochs=5, callbacks=[probe, best, stop], logger=CSVLogger(tmp_path), enable_progress_bar=False,
                        num_sanity_val_steps=0, enable_model_summary=False)
    trainer.fit(module, data, data)
    rows = [r for r in csv.DictReader(open(Path(trainer.log_dir) / "metrics.csv")) if r.get("probe/seconds")]
    assert [r["epoch"] for r in rows] == ["1", "3"] and all(-1 <= float(r[key]) <= 1 for r in rows)
    assert sorted(Path(p).name for p in best.best_k_models) == ["epoch=1-step=4.ckpt", "epoch=3-step=8.ckpt"]
    assert trainer.current_epoch == 5 and not stop.stopped_epoch  # counting epoch 2 as no better would stop at 3
    assert all(u.tokens == toy_utterance(module.toy, 80, s).tokens for u, s in zip(utterances, (1, 2)))


def test_without_a_source_the_data_module_must_have_a_validation_manifest() -> None:
    probe = ExplanationCallback()
    trainer = L.Trainer(logger=False)
    with pytest.raises(ValueError, match="no source given"):
        probe.subset(trainer, ToyModule().toy)
