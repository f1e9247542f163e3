"""A finished explain run's settings against those the study file now asks for, as dataclasses, field by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from probes.evaluation.settings import config_changes, read_config
from probes.store import read_json


def changed_settings(out: Path, explain: Mapping[str, Any]) -> list[str]:
    """The explanation settings (``spes.masks``, ...) of the finished run in ``out`` that the study file's ``explain``
    mapping now sets otherwise."""
    return config_changes(read_json(out / "settings.json").get("config") or {}, read_config(explain))
