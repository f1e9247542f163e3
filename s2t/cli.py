"""The LightningCLI behind ``train.py``: fit, validate, test and predict from YAML configs.

A checkpoint alone serves ``validate``, ``test`` and ``predict``: LightningCLI reads the
model's hyperparameters from it, and this CLI hands the checkpoint's tokenizer to the data
module, so only the data to evaluate on must be given.

A run's checkpoints live in ``<default_root_dir>/checkpoints/`` (any ``ModelCheckpoint`` that
names no ``dirpath``), beside ``final.ckpt``; ``--ckpt_path last`` resumes from the newest
``last*.ckpt`` there (or in a ``dirpath`` a checkpoint callback names).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from lightning import Trainer
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities import rank_zero_only

from s2t.data.datamodule import SpeechDataModule
from s2t.loggers import SafeWandbLogger
from s2t.module import S2TModule, read_checkpoint
from s2t.predictions import PredictionWriter
from s2t.quiet import silence
from s2t.tokenizer import Tokenizer


DECODING = ("val_beam_size", "test_beam_size", "length_penalty", "max_len_a", "max_len_b")  # S2TModule's search settings


def checkpoint_dir(default_root_dir: str | Path) -> Path:
    """A run's checkpoint folder: ``<default_root_dir>/checkpoints``, absolute."""
    return Path(default_root_dir).resolve() / "checkpoints"


def is_model_checkpoint(class_path: str) -> bool:
    """Whether a callback's ``class_path`` names ``ModelCheckpoint`` or a subclass."""
    module, _, name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module), name, None) if module else None
    return isinstance(cls, type) and issubclass(cls, ModelCheckpoint)


def newest_last_checkpoint(folders: list[Path]) -> Path | None:
    """The newest ``last*.ckpt`` in the folders (``last-v1.ckpt`` included), as Lightning picks for ``"last"``."""
    found = [p for folder in folders if folder.is_dir() for p in folder.glob("last*.ckpt")]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


@rank_zero_only
def say(line: str) -> None:
    """Print a line on stderr, once per job (rank zero)."""
    print(line, file=sys.stderr, flush=True)


class S2TCLI(LightningCLI):
    """LightningCLI for ``S2TModule`` and ``SpeechDataModule``."""

    def _parse_ckpt_path(self) -> None:
        """Take the model's arguments from ``--ckpt_path`` (``last`` resolved first), except the search settings
        when evaluating.

        LightningCLI lets a checkpoint's hyperparameters override the command line (a resumed
        run keeps its own). Decoding is not part of a trained model, though: ``validate``,
        ``test`` and ``predict`` search with the command line's (or the config's) settings.
        """
        subcommand = self.config.get("subcommand")
        if subcommand and self.config[subcommand].get("ckpt_path") == "last":
            self._resolve_last(subcommand)
        evaluating = subcommand in ("validate", "test", "predict")
        given = {k: self.config[subcommand]["model"][k] for k in DECODING} if evaluating else {}
        super()._parse_ckpt_path()
        for key, value in given.items():
            self.config[subcommand]["model"][key] = value

    def _resolve_last(self, subcommand: str) -> None:
        """Replace ``--ckpt_path last`` by the run's newest last checkpoint, so that it resumes like an explicit path.

        Without one, ``fit`` starts from step 0 and says so; evaluating nothing is an error.
        """
        trainer = self.config[subcommand]["trainer"]
        folders = [checkpoint_dir(trainer.get("default_root_dir") or Path.cwd())]
        for callback in trainer.get("callbacks") or []:
            dirpath = (callback.get("init_args") or {}).get("dirpath")
            if dirpath and is_model_checkpoint(callback.get("class_path", "")):
                folders.append(Path(dirpath).resolve())
        last = newest_last_checkpoint(folders)
        where = ", ".join(map(str, folders))
        if last is None and subcommand != "fit":
            self.parser.error(f"--ckpt_path last: no last checkpoint in {where}")
        say(f"--ckpt_path last: resuming from {last}" if last else
            f"--ckpt_path last: no last checkpoint in {where}; training starts from step 0")
        self.config[subcommand]["ckpt_path"] = str(last) if last else None

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
        installed (transformers brings it), and its redrawn lines garble background logs. Checkpoint
        callbacks that name no ``dirpath`` write to the run's stable ``<default_root_dir>/checkpoints``."""
        given = [*(config.get("callbacks") or []), *callbacks]
        if config.get("enable_progress_bar", True) is not False and not any(isinstance(c, ProgressBar) for c in given):
            callbacks = [*callbacks, TQDMProgressBar()]
        trainer = super()._instantiate_trainer(config, callbacks)
        for callback in trainer.checkpoint_callbacks:  # Lightning's default: the first logger's version_N folder
            if isinstance(callback, ModelCheckpoint) and callback.dirpath is None:
                callback.dirpath = str(checkpoint_dir(trainer.default_root_dir))
        return trainer

    def before_predict(self) -> None:
        """Use the checkpoint's tokenizer, and write the predictions to a TSV file."""
        self._evaluate_with_checkpoint_tokenizer()
        if not any(isinstance(c, PredictionWriter) for c in self.trainer.callbacks):
            self.trainer.callbacks.append(PredictionWriter())


def main(args: list[str] | None = None, run: bool = True) -> S2TCLI:
    """Run the CLI (``args`` instead of ``sys.argv`` when given); returns it for inspection."""
    silence()
    return S2TCLI(
        S2TModule,
        SpeechDataModule,
        args=args,
        run=run,
        # BucketBatchSampler shards batches across ranks itself.
        trainer_defaults={"use_distributed_sampler": False},
        save_config_kwargs={"overwrite": True},
    )
