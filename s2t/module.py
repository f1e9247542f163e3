"""The LightningModule: training logic around ``S2TModel`` (loss, optimisation, decoding, metrics).

The network is built once the tokenizer is known: in ``setup`` from the data module's
tokenizer, or in ``on_load_checkpoint`` from the tokenizer the checkpoint embeds. Every
checkpoint carries the tokenizer and the resolved ``ModelConfig``, so a checkpoint file alone
rebuilds the model (``S2TModule.load_from_checkpoint``) for validation, testing, transcription
and the probes.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.text import CharErrorRate, SacreBLEUScore, WordErrorRate

from s2t.decoding import DecodingOptions, beam_search, greedy_decode
from s2t.models import Encoded, S2TModel
from s2t.models.config import ModelConfig, preset
from s2t.predictions import Prediction
from s2t.tokenizer import Tokenizer

IGNORE = -100  # label id that the losses skip
PREFIX_TAGS = 2  # <lang> <task> after bos: given at inference, so never a training target


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the data's tokenizer or the configured model."""


REGULARISATION = ("dropout", "attention_dropout")  # ModelConfig fields that shape training, not the weights


def read_checkpoint(path: Path | str) -> dict[str, Any]:
    """Read a checkpoint file, refusing with a clear message anything but a Crossprobe S2T checkpoint."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load raises many kinds (EOFError, KeyError, UnpicklingError...) for a broken file
        raise CheckpointMismatchError(f"{path}: cannot read as a checkpoint ({type(err).__name__}: {err})".splitlines()[0]) from None
    missing = sorted({"tokenizer", "model_config", "state_dict", "hyper_parameters"} - set(checkpoint))
    if missing:
        raise CheckpointMismatchError(f"{path}: not a Crossprobe S2T checkpoint (it lacks {', '.join(missing)})")
    return checkpoint


def inverse_sqrt(step: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up to 1 at ``warmup`` steps, then 1/sqrt decay."""
    step = max(step, 1)
    return min(step / warmup, math.sqrt(warmup / step)) if warmup > 0 else 1.0 / math.sqrt(step)


def linear(step: int, start: float, end: float, steps: int) -> float:
    """Value moving linearly from ``start`` to ``end`` over ``steps`` steps, then staying at ``end``."""
    return end if steps <= 0 else start + min(step / steps, 1.0) * (end - start)


def metric_key(task: str, src_lang: str, tgt_lang: str) -> str:
    """Metric name suffix: the language for ASR (``en``), the direction for ST (``en-it``)."""
    return tgt_lang if task == "asr" else f"{src_lang}-{tgt_lang}"


def metric_names(task: str) -> tuple[str, ...]:
    """The decoding metrics of a task: WER and CER for ASR, BLEU for ST."""
    return ("wer", "cer") if task == "asr" else ("bleu",)


METRICS = {"wer": WordErrorRate, "cer": CharErrorRate, "bleu": SacreBLEUScore}  # torchmetrics class of each name (BLEU: 13a tokens)


class S2TModule(L.LightningModule):
    """Encoder-decoder S2T training: label-smoothed CE + weighted CTC, AdamW, inverse-sqrt warm-up."""

    def __init__(
        self,
        preset: str = "xs",
        model: dict[str, Any] | None = None,
        lr: float = 2e-3,
        warmup_steps: int = 1000,
        weight_decay: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.98),
        label_smoothing: float = 0.1,
        ctc_weight: float = 0.3,
        ctc_weight_final: float | None = None,
        ctc_decay_steps: int = 0,
        ctc_decay_epochs: float = 0.0,
        val_beam_size: int = 1,
        test_beam_size: int = 5,
        length_penalty: float = 1.0,
        max_len_a: float = 0.5,
        max_len_b: int = 10,
    ) -> None:
        """Args:
            preset: named model size (``s2t.models.config.PRESETS``).
            model: ``ModelConfig`` fields overriding the preset (the vocabulary always comes
                from the tokenizer).
            lr: peak learning rate, reached after ``warmup_steps``, then decayed as 1/sqrt(step).
            ctc_weight: weight of the CTC loss; with ``ctc_weight_final`` it moves linearly to
                that value over ``ctc_decay_steps`` optimiser steps, or, when ``ctc_decay_epochs``
                is positive, over that many epochs of the training data (the schedule then scales
                with the corpus).
            val_beam_size: beam in validation (1 = greedy); test_beam_size: beam in test and predict.
            max_len_a, max_len_b: at most ``a * encoder_frames + b`` output tokens.
        """
        super().__init__()
        self.save_hyperparameters()
        self.tokenizer: Tokenizer | None = None
        self.model: S2TModel | None = None
        self.resolved_decay_steps = 0  # ctc_decay_epochs in steps, once a training loader has been seen
        self.training_run: dict[str, Any] | None = None  # a loaded checkpoint's W&B training run (s2t.loggers)
        self.metrics = nn.ModuleDict()

    @classmethod
    def from_checkpoint(cls, path: Path | str) -> S2TModule:
        """The module of a checkpoint file alone, in eval mode on the CPU.

        Unlike ``load_from_checkpoint`` it needs none of Lightning's bookkeeping (a checkpoint written
        by hand or by another tool loads if it has our four keys) and refuses anything else in one
        sentence (``read_checkpoint``).
        """
        checkpoint = read_checkpoint(path)
        module = cls(**{k: v for k, v in checkpoint["hyper_parameters"].items() if not k.startswith("_")})
        module.on_load_checkpoint(checkpoint)
        module.load_state_dict(checkpoint["state_dict"])
        return module.eval()

    # --- building --------------------------------------------------------------------------

    def model_config(self, tokenizer: Tokenizer) -> ModelConfig:
        """The preset with the configured overrides and the tokenizer's vocabulary."""
        return preset(self.hparams.preset, **{**(self.hparams.model or {}), "vocab_size": tokenizer.vocab_size})

    def build(self, tokenizer: Tokenizer, config: ModelConfig | None = None) -> None:
        """Create the network for ``tokenizer`` (once)."""
        self.tokenizer = tokenizer
        self.model = S2TModel(config or self.model_config(tokenizer))

    def setup(self, stage: str) -> None:
        """Build the network from the data module's tokenizer and the metrics for its splits."""
        datamodule = self.trainer.datamodule
        if self.model is None:
            self.build(datamodule.tokenizer)
        elif datamodule.tokenizer.to_bytes() != self.tokenizer.to_bytes():
            raise CheckpointMismatchError(
                f"the model's tokenizer ({self.tokenizer.vocab_size} pieces) differs from the data's "
                f"({datamodule.tokenizer_path}, {datamodule.tokenizer.vocab_size} pieces)"
            )
        for split, rows in datamodule.rows.items():
            if split == "train":
                continue
            for key in sorted({(r.task, metric_key(r.task, r.src_lang, r.tgt_lang)) for r in rows}):
                self._add_metrics(split, *key)

    def _add_metrics(self, split: str, task: str, key: str) -> None:
        """Register WER and CER (ASR) or BLEU (ST) for one split and language/direction."""
        for name in metric_names(task):
            full = f"{split}_{name}_{key}"
            if full not in self.metrics:
                self.metrics[full] = METRICS[name]()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Embed the tokenizer, the resolved model config, the CTC decay in steps and the W&B run that trained it."""
        checkpoint["tokenizer"] = self.tokenizer.to_bytes()
        runs = [lg.run_reference() for lg in self.loggers if hasattr(lg, "run_reference")]  # s2t.loggers.SafeWandbLogger
        if runs:
            checkpoint["wandb_run"] = runs[0]
        checkpoint["ctc_decay_steps"] = self.resolved_decay_steps
        checkpoint["model_config"] = {f.name: getattr(self.model.config, f.name) for f in dataclasses.fields(ModelConfig) if f.init}

    def prepare_data(self) -> None:
        """Before Lightning starts the W&B run: name its job after the stage (``SafeWandbLogger.name_job``)."""
        for logger in self.loggers:
            if hasattr(logger, "name_job"):
                logger.name_job(self.trainer.state.fn.value)

    def on_fit_end(self) -> None:
        """Log the final and best checkpoints to W&B (``SafeWandbLogger.log_checkpoints``)."""
        for logger in self.loggers:
            if hasattr(logger, "log_checkpoints"):
                logger.log_checkpoints(self.trainer)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Rebuild the network from the checkpoint, or check that it fits the one already built."""
        if "tokenizer" not in checkpoint or "model_config" not in checkpoint:
            raise CheckpointMismatchError("this checkpoint has no embedded tokenizer or model config: not a Crossprobe S2T checkpoint")
        tokenizer = Tokenizer.from_bytes(checkpoint["tokenizer"])
        config = ModelConfig(**checkpoint["model_config"])
        self.resolved_decay_steps = checkpoint.get("ctc_decay_steps", 0)
        self.training_run = checkpoint.get("wandb_run")  # the W&B run that wrote the checkpoint, if any
        if self.model is None:
            self.build(tokenizer, config)
            return
        if tokenizer.to_bytes() != self.tokenizer.to_bytes():
            raise CheckpointMismatchError(
                f"the checkpoint's tokenizer ({tokenizer.vocab_size} pieces) differs from the data's "
                f"({self.tokenizer.vocab_size} pieces); train a new model or use the tokenizer it was trained with"
            )
        diff = {f: (getattr(config, f), getattr(self.model.config, f)) for f in checkpoint["model_config"] if getattr(config, f) != getattr(self.model.config, f)}
        mismatch = {f: pair for f, pair in diff.items() if f not in REGULARISATION}
        if mismatch:
            raise CheckpointMismatchError(f"the checkpoint's model differs from the configured one (checkpoint, configured): {mismatch}")
        if diff:  # e.g. a preset whose dropout changed since the checkpoint was trained: same weights, other training
            warnings.warn(f"the checkpoint was trained with other regularisation (checkpoint, now): {diff}; the configured values apply")

    # --- training --------------------------------------------------------------------------

    def ctc_weight(self) -> float:
        """CTC weight at the current optimiser step."""
        hp = self.hparams
        if hp.ctc_weight_final is None:
            return hp.ctc_weight
        return linear(self.global_step, hp.ctc_weight, hp.ctc_weight_final, self.ctc_decay_steps())

    def ctc_decay_steps(self) -> int:
        """Steps of the CTC weight's decay: ``ctc_decay_steps``, or ``ctc_decay_epochs`` of the training loader.

        Outside training (validate or test alone) the loader's length is unknown: the value resolved
        while training, kept in the checkpoint, serves; without one the schedule counts as ended.
        """
        hp = self.hparams
        if hp.ctc_decay_epochs <= 0:
            return hp.ctc_decay_steps
        batches = self.trainer.num_training_batches if self._trainer is not None else math.inf
        if math.isfinite(batches) and batches > 0:
            self.resolved_decay_steps = round(hp.ctc_decay_epochs * batches / self.trainer.accumulate_grad_batches)
        return self.resolved_decay_steps

    def model_step(self, batch: dict[str, Any]) -> tuple[dict[str, Tensor], Encoded]:
        """Losses of a batch (label-smoothed CE on the text tokens, CTC on the source transcript) and its encoding."""
        tokens = batch["tokens"]  # (B, S) [bos, <lang>, <task>, text..., eos], padded
        inputs, labels = tokens[:, :-1], tokens[:, 1:].clone()  # (B, S-1)
        labels[labels == self.tokenizer.pad_id] = IGNORE
        labels[:, :PREFIX_TAGS] = IGNORE
        encoded = self.model.encode(batch["features"], batch["feature_lengths"])
        logits, _ = self.model.decode(inputs, encoded.out, encoded.lengths)  # (B, S-1, V)
        ce = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE,
                             label_smoothing=self.hparams.label_smoothing)
        losses = {"ce": ce}
        if encoded.ctc_logits is not None:
            log_probs = encoded.ctc_logits.float().log_softmax(-1).transpose(0, 1)  # (T', B, V)
            losses["ctc"] = F.ctc_loss(log_probs, batch["src_tokens"], encoded.ctc_lengths, batch["src_token_lengths"],
                                       blank=self.model.config.ctc_blank, zero_infinity=True)
        weight = self.ctc_weight() if "ctc" in losses else 0.0
        losses["loss"] = (1 - weight) * ce + weight * losses.get("ctc", 0.0)
        return losses, encoded

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor | None:
        """One optimiser step's loss; a batch whose rows were all skipped is passed over."""
        if batch["n_skipped"]:
            self.log("train/skipped_rows", float(batch["n_skipped"]), reduce_fx="sum", on_step=False, on_epoch=True)
        if batch["features"].shape[0] == 0:
            return None
        losses, _ = self.model_step(batch)
        n = batch["features"].shape[0]
        for name, value in losses.items():
            self.log(f"train/{name}", value, prog_bar=name == "loss", batch_size=n)
        self.log("train/ctc_weight", self.ctc_weight(), batch_size=n)
        return losses["loss"]

    def configure_optimizers(self) -> dict[str, Any]:
        """AdamW (no decay on norms and biases) with inverse-square-root warm-up, stepped per batch."""
        hp = self.hparams
        decay = [p for n, p in self.model.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in self.model.named_parameters() if p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=hp.lr, betas=tuple(hp.betas),
        )
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: inverse_sqrt(step + 1, hp.warmup_steps))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    # --- decoding and evaluation -----------------------------------------------------------

    def decoding_options(self, beam_size: int) -> DecodingOptions:
        """Search settings from the hyperparameters."""
        hp = self.hparams
        return DecodingOptions(beam_size=beam_size, max_len_a=hp.max_len_a, max_len_b=hp.max_len_b,
                               length_penalty=hp.length_penalty, eos_id=self.tokenizer.eos_id, pad_id=self.tokenizer.pad_id)

    @torch.no_grad()
    def generate(self, features: Tensor, lengths: Tensor, tgt_langs: list[str], tasks: list[str], beam_size: int = 1) -> list[str]:
        """Decode a batch of filterbanks into texts, each with its target language and task prefix."""
        return self.search(self.model.encode(features, lengths), tgt_langs, tasks, beam_size)

    @torch.no_grad()
    def search(self, encoded: Encoded, tgt_langs: list[str], tasks: list[str], beam_size: int = 1) -> list[str]:
        """Decode an encoded batch into texts (greedy for beam size 1, else beam search)."""
        prefix = torch.tensor([self.tokenizer.prefix(l, t) for l, t in zip(tgt_langs, tasks)], device=encoded.out.device)
        return [self.tokenizer.decode(ids) for ids in self.search_tokens(encoded, prefix, beam_size)]

    @torch.no_grad()
    def search_tokens(self, encoded: Encoded, prefix: Tensor, beam_size: int = 1) -> list[list[int]]:
        """Output token ids (no prefix, no eos) of an encoded batch after its (B, P) prefix."""
        search = greedy_decode if beam_size == 1 else beam_search
        return search(self.model, encoded, prefix, self.decoding_options(beam_size))

    def _evaluate(self, batch: dict[str, Any], split: str, beam_size: int) -> None:
        """Loss and decoding metrics of a validation or test batch."""
        if batch["features"].shape[0] == 0:
            return
        n = batch["features"].shape[0]
        losses, encoded = self.model_step(batch)  # eval mode: the encoding the search needs too
        for name, value in losses.items():
            self.log(f"{split}/{name}", value, batch_size=n, sync_dist=True)
        hyps = self.search(encoded, batch["tgt_lang"], batch["task"], beam_size)
        for hyp, ref, task, src, tgt in zip(hyps, batch["tgt_text"], batch["task"], batch["src_lang"], batch["tgt_lang"]):
            key = metric_key(task, src, tgt)
            for name in metric_names(task):
                metric = self.metrics[f"{split}_{name}_{key}"]
                metric.update([hyp], [ref] if task == "asr" else [[ref]])

    def _log_metrics(self, split: str) -> None:
        """Compute, log (WER/CER/BLEU in percent) and reset the split's decoding metrics.

        Every rank computes every metric of the split (compute synchronises across ranks, so
        all must call it, including a rank whose shard held no row of that language).
        """
        for full, metric in self.metrics.items():
            if full.startswith(f"{split}_"):
                _, name, key = full.split("_", 2)
                updates = self.all_gather(torch.tensor(metric.update_count, device=self.device)).sum()
                with warnings.catch_warnings():  # a rank may have no row of this language: its state is empty
                    warnings.simplefilter("ignore", UserWarning)
                    value = metric.compute()
                metric.reset()
                if updates > 0:  # no row of this language on any rank (e.g. in the sanity check): nothing to log
                    self.log(f"{split}/{name}/{key}", 100 * value, sync_dist=False)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Loss and greedy (or ``val_beam_size``) decoding metrics."""
        self._evaluate(batch, "valid", self.hparams.val_beam_size)

    def on_validation_epoch_end(self) -> None:
        """Log the validation metrics."""
        self._log_metrics("valid")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Loss and beam-search decoding metrics."""
        self._evaluate(batch, "test", self.hparams.test_beam_size)

    def on_test_epoch_end(self) -> None:
        """Log the test metrics."""
        self._log_metrics("test")

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> list[dict[str, str]]:
        """Beam-search hypotheses with their row ids, tasks and languages (what ``s2t.score`` reads)."""
        hyps = self.generate(batch["features"], batch["feature_lengths"], batch["tgt_lang"], batch["task"], self.hparams.test_beam_size)
        return [dataclasses.asdict(Prediction(*row))
                for row in zip(batch["ids"], batch["task"], batch["src_lang"], batch["tgt_lang"], hyps, batch["tgt_text"])]
