"""The per-utterance record of an evaluation run: its layout, its version, and how to read it.

Every reader of ``utterances.jsonl`` and the work records goes through this module (of ``metrics.json``, through
``probes.metrics_layout``): the layout is written down once here, older records are brought to it in one place
(``upgrade``), and values are read with the named accessors below rather than with string paths.

Versions: ``settings.json`` names the layout its run wrote, ``schema_version`` (``SCHEMA_VERSION``). A settings file
without it was written before versions existed and is version 1; a version newer than this code's is refused
(``SchemaError``) rather than misread. Within version 1 a record made before a field existed lacks it; ``upgrade``
fills what readers rely on. Records are written back as they were read (``to_json``): the same content gives the
same bytes, keys in the order ``probes.explain`` made them.

A record (one line of ``utterances.jsonl``; ``work/NNNNNNN.json`` while the run is under way)::

    id, task, src_lang, tgt_lang        the manifest row
    skipped                             why the row was not explained (a skipped record has nothing else below)
    reference, hypothesis, tokens       the texts and the explained hypothesis's token ids
    frames, frames_per_second, encoder_frames   input feature frames (and their rate), encoder frames T'
    budget.<map>.{masks, split_half, rounds, by_round}    what each occlusion map spent (map: input, encoder)
    agreement.ca_vs_<target>.<view>.<correlation>          CA against a saliency map (target: input, encoder,
                                                           a gradient method), view: all, layer:L, head:L.H
    agreement.input_vs_encoder.<correlation>; agreement.baselines.<target>.{uniform,random}.<correlation>
    ground_truth.{ca.<view>, <map>, uniform, random}       share of each token's relevance in its true word spans
    ground_truth.scored_tokens; ground_truth.signed.<map>.{inside, net}   the linear share's parts
    deletion|insertion.<source>.{prob, text}.{auc, metric, percents, scores}   curves (source: ca, saliency_pooled,
                                                           saliency_full, uniform, random)
    timestamps.<estimator>.{mae_start_ms, mae_end_ms, mae_ms, within, tolerance_ms, matched, total, words}, or null
    reliability.<map>                   Pearson of an occlusion map with its twin from another mask seed (when asked)
    seconds.<stage>                     wall time of each stage

Undefined numbers are null. Layers and heads count from 1. ``metrics.json``, the summary of a run's records
(``probes.metrics.summary``), has its layout and accessors in ``probes.metrics_layout``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, TypedDict

SCHEMA_VERSION = 1  # bump when a field changes meaning or place, and teach ``upgrade`` the step from the last one
FRAMES_PER_SECOND = 100  # of the records made before the rate was recorded: s2t's 10 ms feature frames
CA_VS_INPUT, CA_VS_ENCODER = "ca_vs_input", "ca_vs_encoder"  # CA against the input and encoder-output saliency


class SchemaError(ValueError):
    """A run written in a layout this code does not know."""


class Curve(TypedDict):
    """One deletion or insertion curve of one utterance."""

    auc: float | None
    metric: str
    percents: list[float]
    scores: list[float | None]


class SignedParts(TypedDict):
    """The linear true-span share's two sums (``probes.metrics.agreement.linear_span_parts``)."""

    inside: float
    net: float


class Budget(TypedDict, total=False):
    """What one occlusion map spent: masks, split-half reliability and, when adaptive, every doubling's."""

    masks: int
    split_half: float | None
    rounds: list[list[float]]  # [masks, split-half] at each check
    by_round: list[dict[str, Any]]  # {masks, ca: correlations, span_mass, span_mass_signed} at each doubling


class Record(TypedDict, total=False):
    """One utterance's record (the layout above); a field a run did not make is absent."""

    id: str
    task: str
    src_lang: str
    tgt_lang: str
    skipped: str
    reference: str
    hypothesis: str
    tokens: list[int]
    frames: int
    frames_per_second: float
    encoder_frames: int
    budget: dict[str, Budget]
    agreement: dict[str, Any]
    ground_truth: dict[str, Any]
    deletion: dict[str, dict[str, Curve]]
    insertion: dict[str, dict[str, Curve]]
    timestamps: dict[str, dict[str, Any] | None]
    reliability: dict[str, float | None]
    seconds: dict[str, float]


# ---------------------------------------------------------------- versions and upgrades


def schema_version(settings: Mapping[str, Any]) -> int:
    """The layout version a run's settings name (1 when they predate versions); SchemaError for an unknown one."""
    version = settings.get("schema_version", 1)
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise SchemaError(f"schema_version {version!r}: this code reads versions 1 to {SCHEMA_VERSION} "
                          "(a newer Crossprobe wrote the run; read it with that version)")
    return version


def upgrade_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with their ``schema_version`` stated (1 when they predate versions), so that a resumed run compares."""
    return {**settings, "schema_version": schema_version(settings)}


def upgrade(record: Mapping[str, Any]) -> Record:
    """``record`` in the current layout: a current record comes back equal, its keys in their order.

    Records made before the frame rate was recorded get ``FRAMES_PER_SECOND`` after ``frames``; a linear share that
    older records kept as a bare ratio (no parts to pool) becomes null, as the share of a map with no parts is.
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[key] = value
        if key == "frames" and "frames_per_second" not in record:
            out["frames_per_second"] = FRAMES_PER_SECOND
    signed = (out.get("ground_truth") or {}).get("signed")
    if isinstance(signed, Mapping) and any(not isinstance(v, Mapping) and v is not None for v in signed.values()):
        parts = {name: v if isinstance(v, Mapping) else None for name, v in signed.items()}
        out["ground_truth"] = {**out["ground_truth"], "signed": parts}
    return out  # type: ignore[return-value]


def from_json(line: str) -> Record:
    """One record from its JSON text, upgraded."""
    return upgrade(json.loads(line))


def to_json(record: Mapping[str, Any]) -> str:
    """One record as one line of JSON, keys in their order (``from_json`` reads it back equal)."""
    return json.dumps(record, ensure_ascii=False)


# ---------------------------------------------------------------- reading values


def dig(tree: Any, *path: str) -> Any:
    """``tree[path[0]][path[1]]...``, or None when a level is missing or null."""
    for key in path:
        if not isinstance(tree, Mapping) or tree.get(key) is None:
            return None
        tree = tree[key]
    return tree


def explained(records: list[Record]) -> list[Record]:
    """The records of the utterances that were explained (skipped rows left out)."""
    return [r for r in records if not r.get("skipped")]


def group_name(record: Mapping[str, Any]) -> str:
    """Task and language pair of a record, e.g. ``asr en-en``."""
    return f"{record['task']} {record['src_lang']}-{record['tgt_lang']}"


def agreement(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's agreement scores, by comparison ({} when not made)."""
    return record.get("agreement") or {}


def comparisons(record: Mapping[str, Any]) -> list[str]:
    """The ``ca_vs_<target>`` comparisons a record scored, in its order."""
    return [k for k in agreement(record) if k.startswith("ca_vs_")]


def views(record: Mapping[str, Any], comparison: str) -> dict[str, Any] | None:
    """A comparison's scores by view (all, layer:L, head:L.H); None when the record lacks it."""
    found = dig(record, "agreement", comparison)
    return found if isinstance(found, dict) else None


def score(record: Mapping[str, Any], comparison: str, view: str = "all", correlation: str = "pearson") -> Any:
    """One correlation of CA (one view) with a saliency map, e.g. ``score(r, "ca_vs_input")``; None when not made."""
    return dig(record, "agreement", comparison, view, correlation)


def correlations(record: Mapping[str, Any], comparison: str, view: str = "all") -> dict[str, Any] | None:
    """Every correlation of CA (one view) with a saliency map; None when not made."""
    return dig(record, "agreement", comparison, view)


def saliency_scores(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The correlations of the input saliency map with the encoder-output one; None when not made."""
    return dig(record, "agreement", "input_vs_encoder")


def baselines(record: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline scores by target ({} when not made)."""
    return dig(record, "agreement", "baselines") or {}


def baseline_score(record: Mapping[str, Any], target: str, baseline: str, correlation: str = "pearson") -> Any:
    """One correlation of a uniform or random map with a saliency map; None when not made."""
    return dig(record, "agreement", "baselines", target, baseline, correlation)


def baseline_correlations(record: Mapping[str, Any], target: str, baseline: str) -> dict[str, Any] | None:
    """Every correlation of a uniform or random map with a saliency map; None when not made."""
    return dig(record, "agreement", "baselines", target, baseline)


def ground_truth(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's true-span shares ({} when the run had no word times)."""
    return record.get("ground_truth") or {}


def share(record: Mapping[str, Any], source: str, view: str = "all") -> Any:
    """The share of a map's relevance in the true word spans (clipped; CA by view); None when not made."""
    return dig(record, "ground_truth", "ca", view) if source == "ca" else dig(record, "ground_truth", source)


def share_views(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """CA's true-span shares by view; None when not made."""
    return dig(record, "ground_truth", "ca")


def signed(record: Mapping[str, Any]) -> dict[str, SignedParts | None]:
    """The linear true-span share's parts by map ({} when not made)."""
    return dig(record, "ground_truth", "signed") or {}


def signed_parts(record: Mapping[str, Any], source: str) -> SignedParts | None:
    """The linear true-span share's parts of one map; None when not made (or the map had none)."""
    return dig(record, "ground_truth", "signed", source)


def budgets(record: Mapping[str, Any]) -> dict[str, Budget]:
    """What each occlusion map spent, by map ({} when the run made none)."""
    return record.get("budget") or {}


def budget(record: Mapping[str, Any], occlusion_map: str) -> Budget | None:
    """What an occlusion map (input, encoder) spent; None when the run made no such map."""
    return dig(record, "budget", occlusion_map)


def curves(record: Mapping[str, Any], mode: str) -> dict[str, dict[str, Curve]]:
    """The deletion or insertion (mode) curves by relevance source ({} when not made)."""
    return record.get(mode) or {}


def curve(record: Mapping[str, Any], mode: str, source: str, kind: str) -> Curve | None:
    """One deletion or insertion curve (mode), of a relevance source, of the probability or text kind."""
    return dig(record, mode, source, kind)


def timestamps(record: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Word-timestamp scores by estimator ({} when not made)."""
    return record.get("timestamps") or {}


def word_times(record: Mapping[str, Any], estimator: str) -> dict[str, Any] | None:
    """One estimator's word-timestamp scores; None when it could not align the utterance or was not run."""
    return dig(record, "timestamps", estimator)


def reliabilities(record: Mapping[str, Any]) -> dict[str, float | None]:
    """Each occlusion map's Pearson with its twin from another mask seed ({} when not measured)."""
    return record.get("reliability") or {}


def reliability(record: Mapping[str, Any], occlusion_map: str) -> float | None:
    """An occlusion map's Pearson with its twin from another mask seed; None when not measured."""
    return dig(record, "reliability", occlusion_map)


def seconds(record: Mapping[str, Any]) -> dict[str, float]:
    """Wall time of each stage of the record's explanation."""
    return record.get("seconds", {})

