"""Train and evaluate speech-to-text models with LightningCLI (``crossprobe-train``, ``python train.py``).

    crossprobe-train fit --config configs/experiment/demo_en_asr.yaml [--model.preset s] [...]
    crossprobe-train test --config configs/experiment/demo_en_asr.yaml --ckpt_path CKPT
    crossprobe-train fit --help

A YAML path that does not exist here (``--config``, ``--trainer``, ``--trainer.callbacks``, ...) is
taken from the configs the package ships (``s2t.resources``), so an installed package trains from
any folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from s2t.cli import main as cli
from s2t.resources import find_config

YAML = (".yaml", ".yml")


def shipped(arg: str) -> str:
    """A command-line argument with its YAML path, if missing here, replaced by the shipped config's path."""
    option, equals, value = arg.rpartition("=") if arg.startswith("--") else ("", "", arg)
    if not value.endswith(YAML) or Path(value).exists():
        return arg
    return f"{option}{equals}{find_config(value)}"


def main() -> None:
    """Entry point of ``crossprobe-train``, ``python -m s2t.train`` and ``python train.py``."""
    sys.argv[1:] = [shipped(a) for a in sys.argv[1:]]  # in place: LightningCLI parses sys.argv, DDP relaunches it
    cli()


if __name__ == "__main__":
    main()
