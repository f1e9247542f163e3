"""The LightningCLI behind ``train.py``: fit, validate, test and predict from YAML configs.

A checkpoint alone serves ``validate``, ``test`` and ``predict``: LightningCLI reads the
model's hyperparameters from it, and this CLI hands the checkpoint's tokenizer to the data
module, so only the data to evaluate on must be given.
"""

from __future__ import annotations

from pathlib import Path

from lightning import Trainer
from lightning.pytorch.callbacks import Callback, ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI

from s2t.data.datamodule import SpeechDataModule
from s2t.loggers import SafeWandbLogger
from s2t.module import S2TModule, read_checkpoint
from s2t.predictions import PredictionWriter
from s2t.tokenizer import Tokenizer


DECODING = ("val_beam_size", "test_beam_size", "length_penalty", "max_len_a", "max_len_b")  # S2TModule's search settings


class S2TCLI(LightningCLI):
    """LightningCLI for ``S2TModule`` and ``SpeechDataModule``."""

    def _parse_ckpt_path(self) -> None:
        """Take the model's arguments from ``--ckpt_path``, except the search settings when evaluating.

        LightningCLI lets a checkpoint's hyperparameters override the command line (a resumed
        run keeps its own). Decoding is not part of a trained model, though: ``validate``,
        ``test`` and ``predict`` search with the command line's (or the config's) settings.
        """
        subcommand = self.config.get("subcommand")
        evaluating = subcommand in ("validate", "test", "predict")
        given = {k: self.config[subcommand]["model"][k] for k in DECODING} if evaluating else {}
        super()._parse_ckpt_path()
        for key, value in given.items():
            self.config[subcommand]["model"][key] = value

    def _evaluate_with_checkpoint_tokenizer(self) -> None:
        """Give the data module the checkpoint's tokenizer when evaluating a checkpoint file, and put the
        W&B run in the group of the run that trained it."""
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        if ckpt_path and Path(ckpt_path).is_file():
            checkpoint = read_checkpoint(ckpt_path)
            self.datamodule.tokenizer = Tokenizer.from_bytes(checkpoint["tokenizer"])
            for logger in self.trainer.loggers:
                if isinstance(logger, SafeWandbLogger):
                    logger.join(checkpoint.get("wandb_run"))

    before_validate = before_test = _evaluate_with_checkpoint_tokenizer

    def _instantiate_trainer(self, config: dict, callbacks: list[Callback]) -> Trainer:
        """Show plain text progress bars unless a config names one: Lightning picks Rich's whenever rich is
        installed (transformers brings it), and its redrawn lines garble background logs."""
        given = [*(config.get("callbacks") or []), *callbacks]
        if config.get("enable_progress_bar", True) is not False and not any(isinstance(c, ProgressBar) for c in given):
            callbacks = [*callbacks, TQDMProgressBar()]
        return super()._instantiate_trainer(config, callbacks)

    def before_predict(self) -> None:
        """Use the checkpoint's tokenizer, and write the predictions to a TSV file."""
        self._evaluate_with_checkpoint_tokenizer()
        if not any(isinstance(c, PredictionWriter) for c in self.trainer.callbacks):
            self.trainer.callbacks.append(PredictionWriter())


def main(args: list[str] | None = None, run: bool = True) -> S2TCLI:
    """Run the CLI (``args`` instead of ``sys.argv`` when given); returns it for inspection."""
    return S2TCLI(
        S2TModule,
        SpeechDataModule,
        args=args,
        run=run,
        # BucketBatchSampler shards batches across ranks itself.
        trainer_defaults={"use_distributed_sampler": False},
        save_config_kwargs={"overwrite": True},
    )
