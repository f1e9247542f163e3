"""Explain a checkpoint's outputs: the command of ``probes.evaluation.cli`` (installed: ``crossprobe-evaluate``).

    python evaluate.py --ckpt CKPT --manifest DIR/test.tsv --out OUTDIR [--methods spes,encoder] [...]
    python evaluate.py --help
"""

import sys

from probes.evaluation.cli import explain_config, main, parser

__all__ = ["explain_config", "main", "parser"]

if __name__ == "__main__":
    sys.exit(main())
