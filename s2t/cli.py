"""The LightningCLI behind ``train.py``: fit, validate, test and predict from YAML configs.

A checkpoint alone serves ``validate``, ``test`` and ``predict``: LightningCLI reads the
model's hyperparameters from it, and this CLI hands the checkpoint's tokenizer to the data
module, so only the data to evaluate on must be given.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch.cli import LightningCLI

from s2t.data.datamodule import SpeechDataModule
from s2t.module import CheckpointMismatchError, S2TModule
from s2t.tokenizer import Tokenizer


def checkpoint_tokenizer(path: Path | str) -> Tokenizer:
    """The tokenizer embedded in a Crossprobe checkpoint (clear error for other checkpoints)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if "tokenizer" not in checkpoint:
        raise CheckpointMismatchError(f"{path}: no embedded tokenizer; not a Crossprobe S2T checkpoint")
    return Tokenizer.from_bytes(checkpoint["tokenizer"])


class S2TCLI(LightningCLI):
    """LightningCLI for ``S2TModule`` and ``SpeechDataModule``."""

    def _evaluate_with_checkpoint_tokenizer(self) -> None:
        """Give the data module the checkpoint's tokenizer when evaluating a checkpoint file."""
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        if ckpt_path and Path(ckpt_path).is_file():
            self.datamodule.tokenizer = checkpoint_tokenizer(ckpt_path)

    before_validate = before_test = before_predict = _evaluate_with_checkpoint_tokenizer


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
