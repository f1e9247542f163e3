"""Weights & Biases logging that never hangs or fails a run, and never uploads against the user's word.

The mode: ``WANDB_MODE=offline`` (or ``dryrun``) and ``WANDB_MODE=disabled`` always win, whatever a
config says; otherwise ``offline: true`` or ``false`` when given; otherwise ``WANDB_MODE``, or online for
a logged-in user (``WANDB_API_KEY`` or a wandb entry in ``~/.netrc``) and offline for anyone else.
Online runs get a short start-up timeout, and if W&B cannot be reached the run goes on offline
(``wandb sync`` uploads it later).

The runs of one model share a W&B group: training names it (the run's name, or a new id),
checkpoints record it (``S2TModule.on_save_checkpoint``), and a test or an explanation of a
checkpoint joins it, naming the training run in its config.

With ``S2TModule`` (its ``prepare_data`` and ``on_fit_end`` hooks) a run's job type names its stage
(``train``, ``validate``, ``test``, ``predict``), and a fit that ends well logs its best and final
checkpoints as versions of the ``model-<group>`` artifact (``log_model``; aliases ``best``, and ``final``
with W&B's ``latest``). The run summary keeps the best validation loss, WER, CER (min) and BLEU (max)
beside the last values (``SUMMARIES``).
"""

from __future__ import annotations

import fnmatch
import logging
import netrc
import os
import re
import uuid
from pathlib import Path
from typing import Any, Mapping

import lightning as L
import wandb
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from s2t.callbacks import FinalCheckpoint

log = logging.getLogger(__name__)
INIT_TIMEOUT_S = 30
ENV_MODES = {"dryrun": "offline", "run": "online"}  # WANDB_MODE's aliases
JOB_TYPES = {"fit": "train"}  # Lightning's stage -> W&B job type; the other stages keep their names
STEP_METRIC = "trainer/global_step"  # WandbLogger's x-axis
SUMMARIES = {"valid/loss": "min,last", "valid/wer/*": "min,last", "valid/cer/*": "min,last",
             "valid/bleu/*": "max,last"}  # S2TModule's validation metrics -> what the run summary keeps


def logged_in() -> bool:
    """Whether W&B credentials exist on this machine (no network access)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def wandb_mode(offline: bool | None = None) -> str:
    """The mode a run starts in: ``online``, ``offline`` or ``disabled`` (the rules in the module docstring)."""
    env = os.environ.get("WANDB_MODE", "").strip().lower()
    env = ENV_MODES.get(env, env)
    if env in ("offline", "disabled"):
        return env
    if offline is not None:
        return "offline" if offline else "online"
    return env or ("online" if logged_in() else "offline")


def artifact_name(name: str) -> str:
    """``name`` with the characters W&B refuses in artifact names replaced by dashes."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def fit_checkpoints(trainer: L.Trainer) -> dict[Path, tuple[list[str], dict[str, Any]]]:
    """A finished fit's checkpoint files to log, each with its aliases and metadata: the best file of the first
    monitoring ``ModelCheckpoint`` (``best``), then the ``FinalCheckpoint`` file (``final``; W&B gives every version
    ``latest`` and keeps it on the newest, so logged last it holds ``latest``)."""
    found: dict[Path, tuple[list[str], dict[str, Any]]] = {}
    monitoring = [c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint) and c.monitor]
    best = next((c for c in monitoring if c.best_model_path), None)
    if best is not None and Path(best.best_model_path).is_file():
        path = Path(best.best_model_path)
        found[path] = (["best"], {"file": path.name, "monitor": best.monitor, "score": float(best.best_model_score)})
    for final in (c for c in trainer.callbacks if isinstance(c, FinalCheckpoint)):
        path = Path(trainer.default_root_dir) / final.filename
        if path.is_file():
            aliases, metadata = found.pop(path, ([], {"file": path.name}))
            found[path] = ([*aliases, "final"], {**metadata, "step": trainer.global_step,
                                                 "epoch": trainer.current_epoch})
    return found


class SafeWandbLogger(WandbLogger):
    """Lightning's WandbLogger: the mode of ``wandb_mode``, offline when W&B is unreachable, best-value summaries,
    a job type per stage and checkpoint artifacts (with ``S2TModule``)."""

    def __init__(self, project: str = "crossprobe", save_dir: str = "outputs", group: str | None = None,
                 offline: bool | None = None, log_model: bool | None = None, **kwargs: Any) -> None:
        """Same arguments as ``WandbLogger``, but:

        Args:
            group: the W&B group joining this model's runs; None: the run's name, or a new id.
            offline: True or False: offline or online, unless ``WANDB_MODE`` says offline or disabled;
                None: ``wandb_mode()`` decides.
            log_model: log the final and best checkpoints when a fit ends well (``log_checkpoints``). None: only
                online, where the user asked for an upload; offline, each would be copied into W&B's staging
                folder (``add_file_policy: mutable``) until a ``wandb sync`` that may never come. Turn it off for
                large models (a checkpoint holds the weights and two AdamW moments: ~12 bytes per parameter).
        """
        os.makedirs(save_dir, exist_ok=True)
        self._group_given = group is not None
        group = group or kwargs.get("name") or f"model-{uuid.uuid4().hex[:8]}"
        # Lightning's own offline switch would set WANDB_MODE for the whole process, and its log_model refuses
        # offline runs: this class handles both.
        super().__init__(project=project, save_dir=save_dir, group=group, offline=False, log_model=False, **kwargs)
        if self._wandb_init.get("anonymous") is None:  # wandb warns about the setting, even unset, on every run
            del self._wandb_init["anonymous"]
        self.log_model = log_model
        self._summarized: set[str] = set()
        self._set_mode(wandb_mode(offline))

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

    def name_job(self, stage: str) -> None:
        """Before the run starts: its job type after the trainer's stage (``JOB_TYPES``), unless one was given."""
        if self._experiment is None and not self._wandb_init.get("job_type"):
            self._wandb_init["job_type"] = JOB_TYPES.get(stage, stage)

    def _set_mode(self, mode: str) -> None:
        """Tell wandb.init the mode explicitly (settings win over the environment)."""
        self.mode = mode
        self._wandb_init["settings"] = wandb.Settings(init_timeout=INIT_TIMEOUT_S, mode=mode)

    @property
    def experiment(self) -> Any:
        """The W&B run, started offline if the online start fails."""
        try:
            return super().experiment
        except Exception as err:  # wandb raises many types when the service is unreachable
            if self.mode != "online":
                raise
            log.warning("W&B unreachable (%s); logging offline instead, upload later with `wandb sync`", err)
            self._set_mode("offline")
            return super().experiment

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Lightning's, first defining the summary (``SUMMARIES``) of each metric it has not seen yet."""
        for key in sorted(metrics.keys() - self._summarized):
            summary = next((s for pattern, s in SUMMARIES.items() if fnmatch.fnmatchcase(key, pattern)), None)
            if summary is not None:  # an exact name: W&B keeps no summary for a pattern's metrics
                self.experiment.define_metric(key, step_metric=STEP_METRIC, step_sync=True, summary=summary)
        self._summarized |= metrics.keys()
        super().log_metrics(metrics, step)

    @rank_zero_only
    def log_checkpoints(self, trainer: L.Trainer) -> None:
        """After a fit that ended well, when ``log_model`` asks (``fit_checkpoints``): its final and best checkpoints
        as versions of the ``model-<group>`` artifact, the file named ``model.ckpt`` in it."""
        wanted = self.log_model if self.log_model is not None else self.mode == "online"
        if not wanted or self.mode == "disabled":
            return
        for path, (aliases, metadata) in fit_checkpoints(trainer).items():
            artifact = wandb.Artifact(artifact_name(f"model-{self.group}"), type="model", metadata=metadata)
            artifact.add_file(str(path), name="model.ckpt", policy=self.add_file_policy)
            self.experiment.log_artifact(artifact, aliases=aliases)
