"""A finished explain run's settings against those the study file now asks for, field by field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Sequence

from probes.evaluation.cli import config_from_args
from probes.evaluation.run import with_defaults
from probes.metrics.summary import json_ready


def _leaves(x: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict's values by dotted path."""
    if not isinstance(x, dict):
        return {prefix: x}
    return {k: v for key, value in x.items() for k, v in _leaves(value, f"{prefix}.{key}" if prefix else key).items()}


def changed_settings(out: Path, options: Sequence[str]) -> list[str]:
    """The explanation settings (``spes.masks``, ...) of the finished run in ``out`` that ``options`` now set otherwise."""
    wanted = json_ready(dataclasses.asdict(config_from_args(options)))
    saved = with_defaults(json.loads((out / "settings.json").read_text()).get("config") or {}, wanted)
    before, now = _leaves(saved), _leaves(wanted)
    return sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
