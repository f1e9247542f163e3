"""Average the weights of several checkpoints of one model, for evaluation.

    python -m s2t.average A.ckpt B.ckpt [...] --out averaged.ckpt

The mean of the last few epochs' weights usually decodes better than any one of them (the
noise of the last steps averages out). The result keeps the newest input's configuration,
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

from s2t.module import REGULARISATION, CheckpointMismatchError, read_checkpoint

TRAINING_STATE = ("optimizer_states", "lr_schedulers", "loops", "callbacks")  # what a resumed fit would need


def _check_same_model(path: Path, checkpoint: dict[str, Any], reference: dict[str, Any], reference_path: Path) -> None:
    """Refuse a checkpoint whose tokenizer, architecture or parameter shapes differ from the first one's."""
    if checkpoint["tokenizer"] != reference["tokenizer"]:
        raise CheckpointMismatchError(f"{path}: its tokenizer differs from {reference_path}'s")
    config, ref_config = checkpoint["model_config"], reference["model_config"]
    diff = sorted(k for k in set(config) | set(ref_config) if config.get(k) != ref_config.get(k) and k not in REGULARISATION)
    if diff:
        raise CheckpointMismatchError(f"{path}: its model differs from {reference_path}'s in {', '.join(diff)}")
    shapes = {k: tuple(v.shape) for k, v in checkpoint["state_dict"].items()}
    ref_shapes = {k: tuple(v.shape) for k, v in reference["state_dict"].items()}
    if shapes != ref_shapes:
        raise CheckpointMismatchError(f"{path}: its parameters differ from {reference_path}'s in name or shape")


def average_checkpoints(paths: list[Path]) -> dict[str, Any]:
    """One checkpoint whose floating-point weights are the mean of ``paths``' (integer buffers: the newest's)."""
    if not paths:
        raise ValueError("no checkpoints to average")
    checkpoints = [read_checkpoint(p) for p in paths]
    for path, checkpoint in zip(paths[1:], checkpoints[1:]):
        _check_same_model(path, checkpoint, checkpoints[0], paths[0])
    newest = max(range(len(paths)), key=lambda i: checkpoints[i].get("global_step", 0))
    averaged = {k: v for k, v in checkpoints[newest].items() if k not in TRAINING_STATE}
    state = {}
    for name, tensor in checkpoints[newest]["state_dict"].items():
        if tensor.is_floating_point():
            total = sum(c["state_dict"][name].double() for c in checkpoints)
            tensor = (total / len(checkpoints)).to(tensor.dtype)
        state[name] = tensor
    averaged["state_dict"] = state
    averaged["averaged_from"] = [{"path": str(p), "global_step": c.get("global_step")} for p, c in zip(paths, checkpoints)]
    return averaged


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m s2t.average``."""
    p = argparse.ArgumentParser(prog="python -m s2t.average", description=__doc__.split("\n\n")[0],
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
