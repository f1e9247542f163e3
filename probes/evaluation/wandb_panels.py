"""What an explanation's W&B run shows: the per-utterance table, layer x head charts, figures and summary numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import wandb

from probes.metrics.summary import PER_HEAD_COLUMNS, per_head_grid, per_head_rows, scalars
from probes.metrics.text import normalizer, sentence_bleu, wer
from probes.metrics_layout import comparisons, explained_count, per_head, skipped
from probes.records import CA_VS_ENCODER, CA_VS_INPUT, score, share
from probes.report.run_report import example_caption
from probes.report.tables import comparison_label

UTTERANCE_COLUMNS = ["id", "task", "pair", "reference", "hypothesis", "wer", "bleu", CA_VS_INPUT, CA_VS_ENCODER,
                     "span_ca", "span_input", "span_encoder", "skipped", "example"]
INTERVAL_FIELDS = ("ci_low", "ci_high", "n")  # logged beside each headline mean, as ``<key>/<field>``


def finite(x: Any) -> float | None:
    """``x`` as a float, or None where undefined (missing, null or nan)."""
    return float(x) if x is not None and math.isfinite(float(x)) else None


def text_scores(record: Mapping[str, Any], model: Any) -> tuple[float | None, float | None]:
    """(WER, BLEU) in percent of a record's hypothesis as the model's users score it: WER for ASR, sentence BLEU for ST,
    None for the other and where nothing can be scored (a skipped row, an empty reference)."""
    reference, hypothesis = record.get("reference") or "", record.get("hypothesis")
    normalize = normalizer(model, record["tgt_lang"])
    if hypothesis is None or not normalize(reference).strip():
        return None, None
    if record["task"] == "st":
        return None, sentence_bleu(hypothesis, reference, normalize)
    return wer(hypothesis, reference, normalize), None


def utterance_row(record: Mapping[str, Any], model: Any, example: Path | None) -> list[Any]:
    """One utterance's row of ``UTTERANCE_COLUMNS``."""
    agreement = [finite(score(record, c)) for c in (CA_VS_INPUT, CA_VS_ENCODER)]
    spans = [finite(share(record, source)) for source in ("ca", "input", "encoder")]
    image = wandb.Image(str(example), caption=example_caption(record)) if example is not None else None
    return [record["id"], record["task"], f"{record['src_lang']}-{record['tgt_lang']}", record.get("reference"),
            record.get("hypothesis"), *text_scores(record, model), *agreement, *spans, record.get("skipped"), image]


def utterance_table(records: Sequence[Mapping[str, Any]], figures: Mapping[Path, str], model: Any) -> wandb.Table:
    """Every utterance, skipped ones included: its texts and score, CA agreement with both saliency maps (Pearson),
    the true-span shares where the manifest has word times, and its example figure where the report drew one."""
    examples = {caption: path for path, caption in figures.items()}  # an example figure's caption names its utterance
    rows = [utterance_row(r, model, None if r.get("skipped") else examples.get(example_caption(r))) for r in records]
    return wandb.Table(columns=UTTERANCE_COLUMNS, data=rows)


def layer_head_panels(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Per CA comparison: its per-head Pearson table (``probe/per_head/...``) and an interactive chart of it
    (``probe/layer_head/...``): one line per layer across its heads."""
    panels: dict[str, Any] = {}
    for target in comparisons(metrics):
        if not (by_head := per_head(metrics, target)):
            continue
        panels[f"probe/per_head/{target}"] = wandb.Table(columns=PER_HEAD_COLUMNS, data=per_head_rows(by_head))
        grid = per_head_grid(by_head)  # (L, H), 1-based in labels
        panels[f"probe/layer_head/{target}"] = wandb.plot.line_series(
            list(range(1, grid.shape[1] + 1)), [[finite(v) for v in layer] for layer in grid],
            keys=[f"layer {layer}" for layer in range(1, grid.shape[0] + 1)],
            title=f"Pearson r per head, {comparison_label(target)}", xname="head")
    return panels


def figure_images(figures: Mapping[Path, str]) -> dict[str, wandb.Image]:
    """The report's figures with their captions, keyed ``probe/<file stem>``."""
    return {f"probe/{path.stem}": wandb.Image(str(path), caption=caption) for path, caption in figures.items()}


def field_as_mean(x: Any, field: str) -> Any:
    """``x`` with every summary (a dict with a mean and ``field``) replaced by ``{"mean": its field}``."""
    if not isinstance(x, dict):
        return x
    if "mean" in x and field in x:
        return {"mean": x[field]}
    return {key: field_as_mean(value, field) for key, value in x.items()}


def summary_numbers(metrics: Mapping[str, Any]) -> dict[str, float | int]:
    """The run summary: utterances explained and skipped, each headline mean (``scalars``) and beside it its
    interval and n (``<key>/ci_low``, ``<key>/ci_high``, ``<key>/n``) where defined."""
    out: dict[str, float | int] = {"probe/utterances": explained_count(metrics), "probe/skipped": len(skipped(metrics)),
                                   **scalars(dict(metrics))}
    for field in INTERVAL_FIELDS:
        out.update({f"{key}/{field}": int(value) if field == "n" else value
                    for key, value in scalars(field_as_mean(dict(metrics), field)).items()})
    return out
