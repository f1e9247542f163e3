"""train.py end to end on the tiny corpus: fit, checkpoint-only evaluation, resume, DDP, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch

from s2t.average import main as average_main
from s2t.cli import main
from s2t.data.manifest import read_manifest
from s2t.module import CheckpointMismatchError, S2TModule
from s2t.predictions import COLUMNS
from s2t.score import main as score_main
from s2t.transcribe import main as transcribe_main

ROOT = Path(__file__).resolve().parents[1]
MAX_FRAMES = "1200"  # a few utterances per batch: the tiny corpus makes epochs of many steps
TINY_MODEL = json.dumps(dict(d_model=64, encoder_layers=2, decoder_layers=1, heads=2, ffn_dim=128, subsampler_channels=64))


def args(corpus: Path, out: Path, *extra: str) -> list[str]:
    """Arguments for a tiny, fast multi-task run logging to CSV under ``out``."""
    return [
        "--config", str(ROOT / "configs/experiment/multi_asr_st.yaml"),
        "--data.data_dir", str(corpus), "--data.num_workers", "0", "--data.max_frames", "2500", "--data.vocab_size", "300",
        "--model.model", TINY_MODEL, "--model.warmup_steps", "5", "--model.test_beam_size", "2",
        "--trainer.default_root_dir", str(out), "--trainer.logger", "lightning.pytorch.loggers.CSVLogger",
        "--trainer.logger.save_dir", str(out), "--trainer.enable_progress_bar", "false", *extra,
    ]


def checkpoints(out: Path) -> list[Path]:
    """Checkpoint files written under a run folder."""
    return sorted(out.rglob("*.ckpt"))


def test_fit_then_a_checkpoint_alone_serves_test_and_transcribe(tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    main(["fit", *args(tiny_corpus, tmp_path, "--trainer.max_steps", "3")])
    (last,) = [c for c in checkpoints(tmp_path) if c.name == "last.ckpt"]
    stored = torch.load(last, weights_only=True)
    assert {"tokenizer", "model_config", "hyper_parameters"} <= set(stored)

    assert stored["hyper_parameters"]["test_beam_size"] == 2
    cli = main(["test", "--ckpt_path", str(last), "--data.data_dir", str(tiny_corpus), "--data.num_workers", "0", "--model.test_beam_size", "3",
                "--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path)])
    assert cli.model.hparams.test_beam_size == 3  # search settings: the command line's, not the checkpoint's
    assert cli.model.model.config.d_model == 64  # the architecture: the checkpoint's
    results = cli.trainer.callback_metrics
    assert "test/wer/en" in results and "test/bleu/en-it" in results and "test/loss" in results

    assert average_main([str(last), str(last), "--out", str(tmp_path / "mean.ckpt")]) == 0  # no training state left
    cli = main(["test", "--ckpt_path", str(tmp_path / "mean.ckpt"), "--data.data_dir", str(tiny_corpus), "--data.num_workers", "0",
                "--model.test_beam_size", "3", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
                "--trainer.default_root_dir", str(tmp_path)])
    assert cli.trainer.callback_metrics["test/loss"] == results["test/loss"]  # the mean of one model twice is that model

    main(["predict", "--ckpt_path", str(last), "--data.data_dir", str(tiny_corpus), "--data.num_workers", "0",
          "--trainer.logger", "false", "--trainer.default_root_dir", str(tmp_path / "pred"), "--model.test_beam_size", "1"])
    predictions = (tmp_path / "pred/predictions.tsv").read_text().splitlines()
    assert predictions[0] == "\t".join(COLUMNS) and len(predictions) == 1 + len(read_manifest(tiny_corpus / "test.tsv"))
    assert score_main([str(tmp_path / "pred/predictions.tsv"), "--resamples", "10"]) == 0
    printed = {tuple(line.split()[:2]) for line in capsys.readouterr().out.splitlines()[1:]}
    assert {("en", "wer"), ("en", "cer"), ("en-it", "bleu"), ("it-en", "bleu")} <= printed

    module = S2TModule.load_from_checkpoint(last, weights_only=True)
    assert module.model.config.d_model == 64 and module.tokenizer.languages == ("en", "it", "es", "fr", "de")
    wav = next((tiny_corpus / "wav/test/it").glob("*.wav"))
    assert transcribe_main(["--ckpt", str(last), str(wav), "--lang", "it", "--translate-to", "en", "--beam", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [l.split("\t")[1:3] for l in lines[-2:]] == [["asr", "it"], ["st", "en"]]


def test_resume_after_a_crash_mid_epoch_equals_an_uninterrupted_run(tiny_corpus: Path, tmp_path: Path) -> None:
    common = ["--trainer.max_epochs", "2", "--data.spec_augment", "false", "--data.max_frames", MAX_FRAMES, "--model.model",
              json.dumps({**json.loads(TINY_MODEL), "dropout": 0.0, "attention_dropout": 0.0}),
              "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
              "--trainer.callbacks.dirpath", "CKPTS", "--trainer.callbacks.save_last", "true",
              "--trainer.callbacks.every_n_train_steps", "1", "--trainer.callbacks.save_top_k", "0"]
    whole = main(["fit", *args(tiny_corpus, tmp_path / "whole", *[c.replace("CKPTS", str(tmp_path / "c1")) for c in common])])
    steps_per_epoch = whole.trainer.num_training_batches
    assert steps_per_epoch >= 4
    crash_at = steps_per_epoch + 2  # the last checkpoint is then one batch into the second epoch

    class Crash(L.Callback):
        def on_train_batch_end(self, trainer: L.Trainer, *rest: object) -> None:
            if trainer.global_step == crash_at:  # runs before ModelCheckpoint, which Lightning puts last
                raise RuntimeError("simulated crash")

    class BarTotals(L.Callback):
        totals: list[int | None] = []

        def on_train_batch_end(self, trainer: L.Trainer, *rest: object) -> None:
            self.totals.append(trainer.progress_bar_callback.train_progress_bar.total)

    crashing = [c.replace("CKPTS", str(tmp_path / "c2")) for c in common]
    cli = main(args(tiny_corpus, tmp_path / "broken", *crashing), run=False)
    cli.trainer.callbacks.insert(0, Crash())
    with pytest.raises(RuntimeError, match="simulated crash"):
        cli.trainer.fit(cli.model, cli.datamodule)
    assert torch.load(tmp_path / "c2/last.ckpt", weights_only=True)["global_step"] == crash_at - 1
    resumed = main(args(tiny_corpus, tmp_path / "broken", *crashing, "--trainer.enable_progress_bar", "true"), run=False)
    resumed.trainer.callbacks.insert(0, BarTotals())
    resumed.trainer.fit(resumed.model, resumed.datamodule, ckpt_path=str(tmp_path / "c2/last.ckpt"))
    # Lightning skips on_train_epoch_start in a resumed epoch; s2t.callbacks.ProgressTotal restores the bar's length
    assert BarTotals.totals and set(BarTotals.totals) == {steps_per_epoch}

    assert resumed.trainer.global_step == whole.trainer.global_step == 2 * steps_per_epoch
    for (name, a), (_, b) in zip(whole.model.state_dict().items(), resumed.model.state_dict().items()):
        torch.testing.assert_close(a, b, msg=f"parameter {name} differs after resume")


class Batches(L.Callback):
    """Records the epoch, row ids and tasks of every training batch."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, tuple[str, ...], tuple[str, ...]]] = []

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: dict, *rest: object) -> None:
        self.seen.append((trainer.current_epoch, tuple(batch["ids"]), tuple(batch["task"])))


def test_resuming_at_an_epoch_end_with_worker_processes_draws_the_next_epoch(tiny_corpus: Path, tmp_path: Path) -> None:
    # Workers start drawing at Lightning's first iter(), before it calls set_epoch; the resumed run
    # used to replay epoch 0 (ASR rows only under the multi-task recipe's asr_epochs: 1)
    common = ["--data.num_workers", "1", "--data.max_frames", MAX_FRAMES, "--data.spec_augment", "false"]
    whole = main(args(tiny_corpus, tmp_path / "whole", *common, "--trainer.max_epochs", "2"), run=False)
    whole.trainer.callbacks.append(recorder := Batches())
    whole.trainer.fit(whole.model, whole.datamodule)
    second_epoch = [seen for seen in recorder.seen if seen[0] == 1]
    assert {task for _, _, tasks in second_epoch for task in tasks} == {"asr", "st"}

    main(["fit", *args(tiny_corpus, tmp_path / "parts", *common, "--trainer.max_epochs", "1")])
    resumed = main(args(tiny_corpus, tmp_path / "parts", *common, "--trainer.max_epochs", "2"), run=False)
    resumed.trainer.callbacks.append(recorder := Batches())
    resumed.trainer.fit(resumed.model, resumed.datamodule, ckpt_path=str(tmp_path / "parts/final.ckpt"))
    assert recorder.seen == second_epoch


def test_resuming_with_another_tokenizer_is_a_clear_error(tiny_corpus: Path, tmp_path: Path) -> None:
    main(["fit", *args(tiny_corpus, tmp_path, "--trainer.max_steps", "2")])
    (last,) = [c for c in checkpoints(tmp_path) if c.name == "last.ckpt"]
    with pytest.raises(CheckpointMismatchError, match="tokenizer"):
        main(["fit", *args(tiny_corpus, tmp_path / "again", "--trainer.max_steps", "4", "--data.vocab_size", "250",
                           "--ckpt_path", str(last))])


def test_not_our_checkpoint_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.save({"state_dict": {}, "hyper_parameters": {}}, tmp_path / "other.ckpt")
    assert transcribe_main(["--ckpt", str(tmp_path / "other.ckpt"), str(tmp_path / "x.wav")]) == 2
    assert "not a Crossprobe S2T checkpoint" in capsys.readouterr().err


def test_print_config_shows_the_experiment() -> None:
    out = subprocess.run([sys.executable, "train.py", "fit", "--config", "configs/experiment/demo_en_asr.yaml", "--print_config"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "preset: xs" in out and "- en" in out and "use_distributed_sampler: false" in out


@pytest.mark.slow
def test_the_gpu_trainer_config_trains_and_validates_on_two_cpu_processes(tiny_corpus: Path, tmp_path: Path) -> None:
    """configs/trainer/gpu.yaml (DDP, bf16 autocast, validation every N steps) with only the accelerator swapped."""
    run = args(tiny_corpus, tmp_path, "--trainer.max_steps", "4", "--trainer.val_check_interval", "2", "--trainer.log_every_n_steps", "1",
               "--trainer.devices", "2", "--trainer.accelerator", "cpu")
    cmd = [sys.executable, "train.py", "fit", *run[:2], "--trainer", str(ROOT / "configs/trainer/gpu.yaml"), *run[2:]]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = next(tmp_path.rglob("metrics.csv")).read_text()
    assert "valid/loss" in metrics and "valid/wer/en" in metrics and "train/loss" in metrics
    config = next(tmp_path.rglob("config.yaml")).read_text()
    assert "strategy: ddp" in config and "precision: bf16-mixed" in config
