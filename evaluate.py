"""Explain a checkpoint's outputs: the command of ``probes.evaluation.cli`` (installed: ``crossprobe-evaluate``).

    python evaluate.py --ckpt CKPT --manifest DIR/test.tsv --out OUTDIR [--explain.spes.masks N] [...]
    python evaluate.py --config run.yaml   # a run's options as --print_config writes them
    python evaluate.py --help
"""

import sys

from probes.evaluation.cli import main, options, parser

__all__ = ["main", "options", "parser"]

if __name__ == "__main__":
    sys.exit(main())
