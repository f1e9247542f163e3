"""Average the weights of several checkpoints of one model, for evaluation.

    python -m s2t.average A.ckpt B.ckpt [...] --out averaged.ckpt

The mean of the last few epochs' weights can decode better than any one of them (measured in
experiments/RECIPES.md#asr--st-quality-multi_asr_st-preset-xs-without-dropout-the-target-holds-at-357-minutes-2026-12-01
under "Checkpoint averaging"). The result keeps the newest input's configuration,
tokenizer and step, drops the optimizer and scheduler states (it serves ``validate``, ``test``,
``predict``, ``s2t.transcribe`` and the probes, not a resumed ``fit``) and lists its inputs
under ``averaged_from``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from s2t.module import REGULARISATION, CheckpointMismatchError, read_checkpoint
from s2t.usage import prog

TRAINING_STATE = ("optimizer_states", "lr_schedulers", "loops", "callbacks")  # what a resumed fit would need


def _identity(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """What checkpoints must share to be averaged: tokenizer, architecture (not dropout), parameter shapes."""
    return {"tokenizer": checkpoint["tokenizer"],
            "model": {k: v for k, v in checkpoint["model_config"].items() if k not in REGULARISATION},
            "parameters": {k: tuple(v.shape) for k, v in checkpoint["state_dict"].items()}}


def _check_same_model(path: Path, identity: dict[str, Any], reference: dict[str, Any], reference_path: Path) -> None:
    """Refuse a checkpoint whose identity differs from the first one's, saying in what."""
    for what in ("tokenizer", "model", "parameters"):
        if identity[what] != reference[what]:
            detail = ""
            if what == "model":
                fields = sorted(k for k in identity["model"].keys() | reference["model"].keys()
                                if identity["model"].get(k) != reference["model"].get(k))
                detail = f" in {', '.join(fields)}"
            raise CheckpointMismatchError(f"{path}: its {what} differs from {reference_path}'s{detail}")


def average_checkpoints(paths: list[Path]) -> dict[str, Any]:
    """One checkpoint whose floating-point weights are the mean of ``paths``' (integer buffers: the newest's).

    Reads one input at a time: memory holds the running sums and at most two checkpoints
    (the newest so far and the one being read), without their optimizer states.
    """
    if not paths:
        raise ValueError("no checkpoints to average")
    reference = newest = None
    sums: dict[str, Tensor] = {}
    inputs = []
    for path in paths:
        checkpoint = {k: v for k, v in read_checkpoint(path).items() if k not in TRAINING_STATE}
        if reference is None:
            reference = _identity(checkpoint)
        else:
            _check_same_model(path, _identity(checkpoint), reference, paths[0])
        for name, tensor in checkpoint["state_dict"].items():
            if tensor.is_floating_point() and name in sums:
                sums[name] += tensor  # float64 sums
            elif tensor.is_floating_point():
                sums[name] = tensor.double()
        inputs.append({"path": str(path), "global_step": checkpoint.get("global_step")})
        if newest is None or checkpoint.get("global_step", 0) > newest.get("global_step", 0):
            newest = checkpoint
    averaged = dict(newest)
    averaged["state_dict"] = {name: (sums[name] / len(paths)).to(t.dtype) if name in sums else t
                              for name, t in newest["state_dict"].items()}
    averaged["averaged_from"] = inputs
    return averaged


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m s2t.average``."""
    p = argparse.ArgumentParser(prog=prog("s2t.average"), description=__doc__.split("\n\n")[0],
                                epilog="Inputs must share tokenizer and architecture (dropout may differ).")
    p.add_argument("checkpoints", nargs="+", type=Path, help="checkpoints written by train.py, e.g. the last epochs'")
    p.add_argument("--out", type=Path, required=True, help="where to write the averaged checkpoint")
    a = p.parse_args(argv)
    if a.out.resolve() in {c.resolve() for c in a.checkpoints}:
        print(f"error: --out {a.out} is one of the inputs; choose another file", file=sys.stderr)
        return 2
    try:
        averaged = average_checkpoints(a.checkpoints)
    except CheckpointMismatchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(averaged, a.out)
    steps = ", ".join(str(s["global_step"]) for s in averaged["averaged_from"])
    print(f"{a.out}: mean of {len(a.checkpoints)} checkpoints (steps {steps})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
