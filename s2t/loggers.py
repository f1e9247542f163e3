"""Weights & Biases logging that never hangs or fails a run.

Offline unless the user is logged in (``WANDB_API_KEY`` or a wandb entry in ``~/.netrc``) or
sets ``WANDB_MODE`` explicitly. Online runs get a short start-up timeout, and if W&B cannot be
reached the run goes on offline (``wandb sync`` uploads it later).

The runs of one model share a W&B group: training names it (the run's name, or a new id),
checkpoints record it (``S2TModule.on_save_checkpoint``), and a test or an explanation of a
checkpoint joins it, naming the training run in its config.
"""

from __future__ import annotations

import logging
import netrc
import os
import uuid
from typing import Any

import wandb
from lightning.pytorch.loggers import WandbLogger

log = logging.getLogger(__name__)
INIT_TIMEOUT_S = 30


def logged_in() -> bool:
    """Whether W&B credentials exist on this machine (no network access)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def wandb_mode() -> str:
    """``WANDB_MODE`` when set, else ``online`` for a logged-in user and ``offline`` otherwise."""
    return os.environ.get("WANDB_MODE") or ("online" if logged_in() else "offline")


class SafeWandbLogger(WandbLogger):
    """Lightning's WandbLogger, offline by default, falling back to offline when W&B is unreachable."""

    def __init__(self, project: str = "crossprobe", save_dir: str = "outputs", group: str | None = None,
                 **kwargs: Any) -> None:
        """Same arguments as ``WandbLogger``; ``offline`` defaults from ``wandb_mode()``, ``group`` from the name."""
        kwargs.setdefault("offline", wandb_mode() != "online")
        os.makedirs(save_dir, exist_ok=True)
        self._group_given = group is not None
        group = group or kwargs.get("name") or f"model-{uuid.uuid4().hex[:8]}"
        super().__init__(project=project, save_dir=save_dir, group=group, **kwargs)
        self._set_mode(self._offline)

    @property
    def group(self) -> str:
        """The W&B group joining this model's runs."""
        return self._wandb_init["group"]

    def run_reference(self) -> dict[str, str | None]:
        """Project, id, name and group of this run: what a checkpoint keeps to link later runs to it."""
        return {"project": self.name, "id": self.version, "name": self._wandb_init.get("name"), "group": self.group}

    def join(self, run: dict[str, str | None] | None) -> None:
        """Before the run starts: take the group of ``run`` (a training run's reference), unless one was
        given, and name that run in the config as ``training_run`` (project/id)."""
        if not run or self._experiment is not None:
            return
        if not self._group_given and run.get("group"):
            self._wandb_init["group"] = run["group"]
        self._wandb_init["config"] = {**(self._wandb_init.get("config") or {}), "training_run": f"{run.get('project')}/{run.get('id')}"}

    def _set_mode(self, offline: bool) -> None:
        """Tell wandb.init the mode explicitly (settings win over the environment)."""
        self._offline = offline
        self._wandb_init["settings"] = wandb.Settings(init_timeout=INIT_TIMEOUT_S, mode="offline" if offline else "online")

    @property
    def experiment(self) -> Any:
        """The W&B run, started offline if the online start fails."""
        try:
            return super().experiment
        except Exception as err:  # wandb raises many types when the service is unreachable
            if self._offline:
                raise
            log.warning("W&B unreachable (%s); logging offline instead, upload later with `wandb sync`", err)
            self._set_mode(offline=True)
            return super().experiment
