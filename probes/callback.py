"""``ExplanationCallback``: cross-attention against saliency on a fixed probe subset while a model trains.

Add it to ``trainer.callbacks`` (``configs/callbacks/probes.yaml``) of any LightningModule: give it a way to
see the module as a ``ProbeModel`` (``probe_model``; default: this project's ``S2TModule``) and the utterances
to probe (``source``: a manifest path or a list of ``Utterance``s; default: the validation manifest of this
project's data module). Every ``every_n_epochs`` validation epochs, rank zero explains the first
``utterances`` of them with a small mask budget; the agreement scalars (``probe/pearson/ca_vs_input/all``,
per layer, ground-truth span mass, map reliability, its own cost ``probe/seconds``) are broadcast to every
rank and logged with ``pl_module.log``, so ``ModelCheckpoint(monitor="probe/...")`` and
``EarlyStopping(monitor="probe/...", strict=False)`` can watch them; after a validation epoch without a probe
their value is None (``unmeasured``), which these monitors pass over. W&B also gets the layer x head Pearson
heatmap, a per-head table and CA/saliency heatmaps of a few utterances with their word boundaries, at the step
of the scalars; PNGs also go to ``<log_dir>/probes/step<N>/`` for loggers without images. Each probe prints a
line: ``[probe] epoch 3: 8 utterances, CA vs input 0.41, 27.3 s``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger

from probes.adapters import S2TProbe
from probes.evaluation.utterances import ground_truth, load_utterance, manifest_rows
from probes.explain import ExplainConfig, Explanation, explain
from probes.interface import ProbeModel, Utterance
from probes.metrics.summary import PER_HEAD_COLUMNS, per_head_grid, per_head_rows, scalars, summarize_records
from probes.metrics_layout import agreement, per_head, views
from probes.records import CA_VS_ENCODER, CA_VS_INPUT
from probes.report import layer_head_plot, plots
from probes.report.utterance_plot import utterance_maps_figure
from probes.saliency.encoder import EncoderSaliencyConfig
from probes.saliency.spes import SpesConfig

log = logging.getLogger(__name__)
HEADLINES = {"probe/pearson/ca_vs_input/all": "CA vs input", "probe/pearson/ca_vs_encoder/all": "CA vs encoder"}


def logging_step(trainer: L.Trainer) -> int:
    """The step Lightning logs a validation epoch's metrics at: the batches that stepped, in a fit one less than
    ``trainer.global_step`` (the optimizer has already counted the epoch's last batch)."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped


def probe_line(epoch: int, utterances: int, values: dict[str, float], seconds: float) -> str:
    """The line printed after a probe, e.g. ``[probe] epoch 3: 8 utterances, CA vs input 0.41, 27.3 s``."""
    shown = [f"{label} {values[key]:.2f}" for key, label in HEADLINES.items() if key in values]
    return f"[probe] epoch {epoch}: {utterances} utterances, " + ", ".join([*shown, f"{seconds:.1f} s"])


class ExplanationCallback(L.Callback):
    """Periodic CA-vs-saliency agreement on a fixed validation subset, logged from rank zero."""

    def __init__(
        self,
        every_n_epochs: int = 1,
        utterances: int = 8,
        masks: int = 64,
        methods: Sequence[str] = ("spes", "encoder"),
        estimator: str = "contrast",
        granularities: Sequence[int] = SpesConfig.granularities,
        beam_size: int = 1,
        figures: int = 2,
        seed: int = 0,
        target_reliability: float | None = None,
        max_masks: int = SpesConfig.max_masks,
        source: str | Path | Sequence[Utterance] | None = None,
        probe_model: Callable[[L.LightningModule], Any] | None = None,
    ) -> None:
        """Args:
            every_n_epochs: probe after every N-th validation epoch (never in the sanity check).
            utterances: size of the probe subset, the first utterances of ``source``.
            masks: SPES and encoder-saliency masks per utterance (a training-time budget).
            methods: saliency methods (``probes.explain.METHODS``).
            beam_size: search of the explained hypothesis (1 = greedy, cheap).
            figures: utterances drawn as CA/saliency heatmaps.
            target_reliability: adaptive budget: double an utterance's masks (from ``masks``; near the target
                only what it needs, ``rounds_to_add``) until its map's split-half reliability reaches it, or
                ``max_masks`` are spent (logged as ``probe/budget/...``).
            source: the utterances to probe: a manifest (TSV, with its ``.align.jsonl`` ground truth when
                there is one) or ``Utterance``s with their features; None: the validation manifest of the
                trainer's data module (this project's ``S2TDataModule``).
            probe_model: the ``ProbeModel`` view of the module being trained (called with the module);
                None: this project's ``S2TProbe``.
        """
        super().__init__()
        if every_n_epochs < 1 or utterances < 1:
            raise ValueError("every_n_epochs and utterances must be >= 1")
        common = dict(masks=masks, seed=seed, estimator=estimator, target_reliability=target_reliability,
                      max_masks=max_masks)
        self.config = ExplainConfig(
            methods=tuple(methods), spes=SpesConfig(granularities=tuple(granularities), **common),
            encoder=EncoderSaliencyConfig(**common), beam_size=beam_size, decode_deletion=False, seed=seed,
        )
        self.every_n_epochs = every_n_epochs
        self.utterances = utterances
        self.figures = figures
        self.source = source
        self.probe_model: Callable[[L.LightningModule], ProbeModel] = probe_model or S2TProbe
        self.keys: set[str] = set()  # the scalars probes have logged

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Probe on rank zero after every ``every_n_epochs``-th validation epoch and log the scalars on every rank;
        until then (and after other epochs) they are ``unmeasured``."""
        if trainer.sanity_checking:
            return
        self.unmeasured(trainer)
        if (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        values = self.probe(trainer, pl_module) if trainer.is_global_zero else None
        values = trainer.strategy.broadcast(values, src=0)
        self.keys |= values.keys()
        pl_module.log_dict(values, on_epoch=True, sync_dist=False)

    def unmeasured(self, trainer: L.Trainer) -> None:
        """Give the probe's scalars, and any ``probe/`` key a callback monitors, the value None in
        ``trainer.callback_metrics`` (not logged) until this epoch logs them.

        A monitor then passes over an epoch whose model was not probed: ``ModelCheckpoint`` saves nothing for it
        (a missing key raises, the last probe's value would score a model it never saw), ``EarlyStopping`` and
        ``ReduceLROnPlateau`` with ``strict=False`` skip it (nan or -inf would stop training or count as worse).
        """
        watched = {getattr(c, "monitor", None) for c in trainer.callbacks}
        for key in self.keys | {k for k in watched if isinstance(k, str) and k.startswith("probe/")}:
            trainer.callback_metrics[key] = None

    def probe(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, float]:
        """Explain the probe subset; log figures; return the scalars."""
        start = time.perf_counter()
        with torch.inference_mode(False), torch.enable_grad():
            explained = self.explain_subset(trainer, pl_module)
        metrics = summarize_records([e.record for _, e in explained])
        seconds = time.perf_counter() - start
        values = {**scalars(metrics), "probe/seconds": seconds}
        self.log_figures(trainer, metrics, explained)
        pl_module.print(probe_line(trainer.current_epoch, len(explained), values, seconds))
        return values

    def subset(self, trainer: L.Trainer, model: ProbeModel) -> list[Utterance]:
        """The first ``utterances`` of the source, loaded (features, prompt, ground truth) for ``model``."""
        source = self.source
        if source is None:  # this project's data module: its validation rows (languages and tasks selected)
            manifests, rows = (getattr(trainer.datamodule, name, None) for name in ("manifests", "rows"))
            if not manifests or "valid" not in manifests:
                raise ValueError("ExplanationCallback: no source given and the trainer's data module has no validation "
                                 "manifest; pass source=<manifest path or list of Utterances>")
            source, selected = manifests["valid"], rows["valid"][: self.utterances]
        elif isinstance(source, (str, Path)):
            selected = manifest_rows(source, self.utterances)
        else:
            return [Utterance(**vars(u)) for u in list(source)[: self.utterances]]  # copies: explain() fills tokens
        truth = ground_truth(source)
        loaded = []
        for row in selected:
            try:
                loaded.append(load_utterance(model, source, row, truth))
            except ValueError as err:  # bad audio or features, a language or task the model lacks: never stop training
                log.warning("explanation probe: skipping %s row %s: %s", source, row.id, err)
        return loaded

    def explain_subset(self, trainer: L.Trainer, pl_module: L.LightningModule) -> list[tuple[Utterance, Explanation]]:
        """The probe subset's utterances and explanations (the module in eval mode meanwhile)."""
        model = self.probe_model(pl_module)
        was_training = pl_module.training
        pl_module.eval()
        try:
            out = []
            for utt in self.subset(trainer, model):
                utt.features = utt.features.to(pl_module.device)
                out.append((utt, explain(model, utt, self.config)))
            return out
        finally:
            pl_module.train(was_training)

    def log_figures(self, trainer: L.Trainer, metrics: dict[str, Any],
                    explained: list[tuple[Utterance, Explanation]]) -> None:
        """Layer x head heatmap and example maps: PNGs in the log folder, images and a table in W&B."""
        comparison = next((c for c in (CA_VS_INPUT, CA_VS_ENCODER) if views(metrics, c)), None)
        if comparison is None:
            return
        step = logging_step(trainer)  # where the scalars land: one step in W&B holds all of a probe
        folder = Path(trainer.log_dir or trainer.default_root_dir) / "probes" / f"step{step}"
        by_head = per_head(metrics, comparison)
        images = {"probe/layer_head": plots.save(layer_head_plot.layer_head_figure(
            per_head_grid(by_head), "CA vs saliency, Pearson per head", overall=agreement(metrics, comparison)["mean"]),
            folder / "layer_head.png")}
        model = self.probe_model(trainer.lightning_module)
        for utt, e in [(u, e) for u, e in explained if "ca" in e.maps][: self.figures]:
            maps = {"CA (all heads)": e.maps["ca"].mean(dim=(0, 1))}
            maps.update({f"saliency: {k}": e.maps[k] for k in ("input", "encoder") if k in e.maps})
            images[f"probe/example/{utt.id}"] = plots.save(utterance_maps_figure(
                utt.features.cpu(), maps, [model.detokenize([t]) for t in utt.tokens], utt.words, 1 / model.frames_per_second),
                folder / f"{utt.id}.png")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                for key, path in images.items():
                    logger.log_image(key=key, images=[str(path)], step=step)
                logger.log_table(key="probe/per_head", columns=PER_HEAD_COLUMNS, data=per_head_rows(by_head),
                                 step=step)

