"""Study report: several trained models, each explained by evaluate.py, compared with each other and the paper.

A study folder holds::

    models/<model>/quality.json                  name, preset, parameters, languages, tasks, steps, train_minutes,
                                                 wer and cer {lang: %}, bleu {"src-tgt": BLEU}
    models/<model>/explain/<group>/metrics.json  one evaluate.py run per group of rows (asr_en, asr_it, st_en-it),
                                                 with its report.md and figures/ when written

``write_study_report`` adds ``report.md``, ``tables/<name>.md|csv`` and ``figures/agreement_per_model.png``:
tables across models and the paper's findings, each with a verdict computed from the numbers (``findings``).
Numbers are formatted as in ``probes.report``. Every number in report.md is a value of some quality.json or
metrics.json, a reference number (``PAPER`` in ``probes.report``, ``PAPER_EXTRA`` and ``TARGETS`` here), or one
of the two values computed here (``derived``: the mean over single heads of their mean Pearson, and CA-vs-encoder
minus CA-vs-input Pearson); ``study_numbers_traceable`` checks it.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from probes import plots
from probes.report import (AUC, CORR, DIRECTIONS, MS, PAPER, SHARE, Stat, Table, _best, _code, _comparison_label,
                           _csv_stat, _get, _is_stat, _label, _num, _paper, _stat_columns, count, fmt,
                           markdown_table, mean_ci, numbers_traceable, write_table)

# Reference numbers not in probes.report.PAPER (see /work/shared/PAPER.md): CA vs encoder-output saliency is
# "up to 0.18 higher" than vs input saliency; the paper's English WER on EuroParl-ST.
PAPER_EXTRA: dict[str, float] = {"encoder_gain_max": 0.18, "wer_en_low": 9.5, "wer_en_high": 11.7}
TARGETS: dict[str, float] = {"wer_max": 15.0, "bleu_min": 40.0}  # the quality targets (%, BLEU)
PRESETS = ("xs", "s", "base", "fama-small", "fama-medium")  # smallest first
KINDS = ("monolingual ASR", "multilingual ASR", "multilingual ASR+ST")
ENGLISH_ASR = "asr_en"
QUALITY = ".1f"  # WER, CER, BLEU, minutes
COMPARISONS = ("ca_vs_input", "ca_vs_encoder")
REPLICATES, PARTLY, NOT, UNTESTABLE = "replicates", "partly", "does not replicate", "not testable here"
FULL, SOME, NONE = "full", "some", "none"  # one item's outcome: claim holds with separated intervals / by means / not
HEATMAPS = ("layer_head_ca_vs_input", "layer_head_ca_vs_encoder")


# ---------------------------------------------------------------- reading a study


@dataclass
class Model:
    """One trained model: its quality.json ({} when absent) and each explained group's metrics.json."""

    name: str
    quality: dict[str, Any]
    groups: dict[str, dict[str, Any]]

    @property
    def multilingual(self) -> bool:
        """Whether the model was trained on more than one language."""
        return len(self.quality.get("languages") or []) > 1

    @property
    def kind(self) -> str:
        """``monolingual ASR``, ``multilingual ASR+ST``...; ``unknown`` without quality.json."""
        if not self.quality:
            return "unknown"
        tasks = "+".join(t.upper() for t in sorted(self.quality.get("tasks") or [])) or "?"
        return f"{'multilingual' if self.multilingual else 'monolingual'} {tasks}"

    @property
    def preset(self) -> str:
        """The model preset, "" when unknown."""
        return str(self.quality.get("preset") or "")


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON file's content, {} when the file is absent."""
    return json.loads(path.read_text()) if path.is_file() else {}


def _group_key(group: str) -> tuple[bool, bool, str]:
    """Group order: English ASR, other ASR, then translation directions."""
    return not group.startswith("asr_"), group != ENGLISH_ASR, group


def _model_key(m: Model) -> tuple[int, int, float, str]:
    """Model order: by kind, then preset (smallest first), parameters and name."""
    rank = lambda x, xs: xs.index(x) if x in xs else len(xs)  # noqa: E731
    return rank(m.kind, KINDS), rank(m.preset, PRESETS), _num(m.quality.get("parameters") or 0), m.name


def load_study(study: Path) -> list[Model]:
    """Every model folder of ``study/models`` with its quality and explain runs, in report order."""
    models = []
    for folder in sorted(p for p in (Path(study) / "models").glob("*") if p.is_dir()):
        runs = {p.parent.name: _read_json(p) for p in folder.glob("explain/*/metrics.json")}
        models.append(Model(folder.name, _read_json(folder / "quality.json"),
                            {g: runs[g] for g in sorted(runs, key=_group_key)}))
    return sorted(models, key=_model_key)


def _cells(models: Sequence[Model]) -> Iterator[tuple[Model, str, dict[str, Any]]]:
    """(model, group, metrics) of every explain run."""
    return ((m, group, metrics) for m in models for group, metrics in m.groups.items())


def _cell(m: Model, group: str) -> str:
    """``model/group`` as a code span."""
    return _code(f"{m.name}/{group}")


def _stat(metrics: Mapping[str, Any] | None, comparison: str, corr: str = "pearson") -> Stat | None:
    """CA (all layers and heads) vs a target, when defined."""
    s = _get(metrics, corr, comparison, "all")
    return s if _is_stat(s) and math.isfinite(_num(s["mean"])) else None


def _mean_of_heads(metrics: Mapping[str, Any], comparison: str) -> float:
    """Mean over single heads of their mean Pearson (nan without heads): a derived value."""
    means = [v for s in (_get(metrics, "pearson", comparison, "per_head") or {}).values()
             if math.isfinite(v := _num(s.get("mean")))]
    return sum(means) / len(means) if means else math.nan


def _gain(metrics: Mapping[str, Any]) -> float:
    """CA-vs-encoder minus CA-vs-input Pearson mean (nan unless both exist): a derived value."""
    enc, inp = _stat(metrics, "ca_vs_encoder"), _stat(metrics, "ca_vs_input")
    return _num(enc["mean"]) - _num(inp["mean"]) if enc and inp else math.nan


def derived(models: Sequence[Model]) -> dict[str, Any]:
    """The only numbers computed here, by ``model/group``: mean of single heads, encoder minus input gain."""
    return {f"{m.name}/{g}": {"mean_of_heads": {c: _mean_of_heads(x, c) for c in COMPARISONS},
                              "encoder_minus_input": _gain(x)} for m, g, x in _cells(models)}


def study_values(models: Sequence[Model]) -> dict[str, Any]:
    """Everything report.md may quote: quality and metrics of every model, derived values, reference numbers."""
    return {"models": {m.name: {"quality": m.quality, "explain": m.groups} for m in models},
            "derived": derived(models), "reference": {**PAPER_EXTRA, **TARGETS}}


def study_numbers_traceable(text: str, study: Path) -> list[str]:
    """Numbers of ``text`` traceable to no quality.json, metrics.json, derived value or reference number."""
    return numbers_traceable(text, study_values(load_study(study)))


# ---------------------------------------------------------------- tables


def _raw(x: Any) -> str:
    """A quality value printed as stored (integers without decimals), "n/a" when absent."""
    if x is None or not math.isfinite(_num(x)):
        return "n/a"
    return str(int(x)) if float(x).is_integer() else f"{float(x):g}"


def models_table(models: Sequence[Model]) -> Table:
    """Name, kind, preset, parameters, languages, tasks, training steps and minutes, explained groups."""
    rows, csv_rows = [], []
    for m in models:
        q = m.quality
        cells = [m.kind, m.preset or "n/a", _raw(q.get("parameters")), ", ".join(q.get("languages") or []) or "n/a",
                 ", ".join(q.get("tasks") or []) or "n/a", _raw(q.get("steps")), fmt(q.get("train_minutes"), QUALITY)]
        rows.append([_code(m.name), *cells, ", ".join(_code(g) for g in m.groups) or "none"])
        csv_rows.append([m.name, *cells, " ".join(m.groups)])
    header = ["model", "kind", "preset", "parameters", "languages", "tasks", "steps", "train minutes", "explained"]
    return Table("models", "Models", header, rows, header, csv_rows,
                 "Parameters as counted by train.py; explained: the groups of rows evaluate.py explained.")


def _quality_rows(m: Model) -> Iterator[tuple[str, Any, str, bool | None]]:
    """(measure, value, target text, target met) of one model: WER and CER per language, BLEU per direction."""
    q = m.quality
    for lang, v in (q.get("wer") or {}).items():
        yield f"WER {lang}", v, f"≤ {_raw(TARGETS['wer_max'])}", _num(v) <= TARGETS["wer_max"]
    for lang, v in (q.get("cer") or {}).items():
        yield f"CER {lang}", v, "", None
    for direction, v in (q.get("bleu") or {}).items():
        yield f"BLEU {direction}", v, f"≥ {_raw(TARGETS['bleu_min'])}", _num(v) >= TARGETS["bleu_min"]


def quality_table(models: Sequence[Model]) -> Table:
    """WER, CER and BLEU of every model, with the issue's targets and whether each is met."""
    rows, csv_rows = [], []
    for m in models:
        found = list(_quality_rows(m))
        if not found:
            rows.append([_code(m.name), "no quality.json" if not m.quality else "no scores", "n/a", "", ""])
            csv_rows.append([m.name, "", "", "", ""])
        for measure, v, target, met in found:
            verdict = "" if met is None or not math.isfinite(_num(v)) else ("yes" if met else "no")
            rows.append([_code(m.name), measure, fmt(v, QUALITY), target, verdict])
            csv_rows.append([m.name, measure, v, target, verdict])
    return Table("quality", "Quality on the test sets", ["model", "measure", "value", "target", "met"], rows,
                 ["model", "measure", "value", "target", "met"], csv_rows,
                 f"Targets: WER ≤ {_raw(TARGETS['wer_max'])} % per language, BLEU ≥ {_raw(TARGETS['bleu_min'])} "
                 f"per direction. The paper (EuroParl-ST): English WER {_paper(PAPER_EXTRA['wer_en_low'])}–"
                 f"{_paper(PAPER_EXTRA['wer_en_high'])}.")


def _best_cell(block: Mapping[str, Any] | None, view: str, prefix: str) -> tuple[str, list[Any]]:
    """Best layer or head of a comparison as "value (layer k)", with its CSV cells."""
    best = _best((block or {}).get(view) or {})
    if not best:
        return "n/a", ["", *_csv_stat(None)]
    return f"{fmt(best[1]['mean'], CORR)} ({prefix} {best[0]})", [best[0], *_csv_stat(best[1])]


def agreement_table(models: Sequence[Model]) -> Table | None:
    """Pearson per model, group and comparison: all heads [CI], best layer, best head, mean of heads, random."""
    rows, csv_rows = [], []
    for m, g, x in _cells(models):
        for c in COMPARISONS:
            block = _get(x, "pearson", c)
            layer, layer_csv = _best_cell(block, "per_layer", "layer")
            head, head_csv = _best_cell(block, "per_head", "head")
            heads, rand = _mean_of_heads(x, c), _get(x, "pearson", "baselines", c.removeprefix("ca_vs_"), "random")
            s = _get(block, "all")
            rows.append([_code(m.name), _code(g), _comparison_label(c), mean_ci(s, CORR) if block else "not computed",
                         layer, head, fmt(heads, CORR), mean_ci(rand, CORR), count(s) if s else "n/a"])
            csv_rows.append([m.name, g, c, *_csv_stat(s), *layer_csv, *head_csv, "" if math.isnan(heads) else heads,
                             *_csv_stat(rand)[:3]])
    if not rows:
        return None
    return Table("agreement_pearson", "Agreement of CA with saliency (Pearson)",
                 ["model", "group", "comparison", "all layers and heads", "best layer", "best head", "mean of heads",
                  "random map", "n"], rows,
                 ["model", "group", "comparison", *_stat_columns("all"), "best_layer", *_stat_columns("best_layer"),
                  "best_head", *_stat_columns("best_head"), "mean_of_heads", *_stat_columns("random")[:3]], csv_rows,
                 "All layers and heads: mean [CI] over utterances; best layer and head: the highest mean (chosen "
                 "after the fact, so optimistic); mean of heads: mean over single heads of their means; random "
                 "map: a random map against the same saliency (chance level).")


Row = tuple[Sequence[str], Sequence[Stat | None]]  # identifiers (model, group...), then one summary per column


def _stats_table(name: str, title: str, ids: Sequence[str], labels: Sequence[str], rows: Sequence[Row], spec: str,
                 note: str = "") -> Table | None:
    """Identifier columns (code spans) then mean [CI] of one summary per label; CSV: mean, CI bounds and n."""
    if not rows:
        return None
    keys = [label.lower().replace(" ", "_").replace("-", "_") for label in labels]
    return Table(name, title, [*ids, *labels], [[*map(_code, i), *(mean_ci(s, spec) for s in st)] for i, st in rows],
                 [*ids, *(c for k in keys for c in _stat_columns(k))],
                 [[*i, *(v for s in st for v in _csv_stat(s))] for i, st in rows], note)


def spearman_table(models: Sequence[Model]) -> Table | None:
    """Spearman of CA (all layers and heads) vs each saliency map, and of the random map vs input saliency."""
    rows = [((m.name, g), [_stat(x, "ca_vs_input", "spearman"), _stat(x, "ca_vs_encoder", "spearman"),
                           _get(x, "spearman", "baselines", "input", "random")]) for m, g, x in _cells(models)]
    return _stats_table("agreement_spearman", "Agreement of CA with saliency (Spearman)", ["model", "group"],
                        ["CA vs input", "CA vs encoder", "random vs input"], rows, CORR)


def per_layer_table(m: Model) -> Table | None:
    """Pearson of each decoder layer's head-averaged CA vs input saliency, one column per group of the model."""
    blocks = {g: _get(x, "pearson", "ca_vs_input", "per_layer") or {} for g, x in m.groups.items()}
    layers = sorted({int(l) for b in blocks.values() for l in b})
    if not layers:
        return None
    stats = [[blocks[g].get(str(l)) for g in blocks] for l in layers]
    return Table(f"per_layer_{m.name}", f"Per layer, {m.name}: CA vs input saliency (Pearson)",
                 ["", *(_code(g) for g in blocks)], [[f"layer {l}", *(mean_ci(s, CORR) for s in row)]
                                                      for l, row in zip(layers, stats)],
                 ["layer", *(c for g in blocks for c in _stat_columns(g))],
                 [[l, *(v for s in row for v in _csv_stat(s))] for l, row in zip(layers, stats)])


def _curve_kind(auc: Mapping[str, Any]) -> str:
    """``text`` (re-decoded WER or BLEU curve) when any source has it, else ``prob``."""
    return "text" if any("text" in v for v in auc.values()) else "prob"


def deletion_table(models: Sequence[Model], mode: str = "deletion") -> Table | None:
    """AUC per model and group of CA, pooled and full saliency and the random map (text curves if any)."""
    sources = ("ca", "saliency_pooled", "saliency_full", "random")
    rows = []
    for m, g, x in _cells(models):
        if auc := x.get(f"{mode}_auc") or {}:
            stats = [_get(auc, s, _curve_kind(auc)) for s in sources]
            rows.append(((m.name, g, next((s["metric"] for s in stats if s), "")), stats))
    paper = ", ".join(f"{_label(s)} {_paper(v)}" for s, v in PAPER["deletion_auc_wer"].items())
    return _stats_table(f"{mode}_auc", f"{mode.capitalize()} AUC", ["model", "group", "curve"],
                        [_label(s) for s in sources], rows, AUC,
                        f"{DIRECTIONS[mode].capitalize()}. Re-decoded (WER- or BLEU-based) curves when the run "
                        "computed them, else the probability curve, not comparable with the paper's WER AUCs."
                        + (f" Paper (WER): {paper}." if mode == "deletion" else ""))


def ground_truth_table(models: Sequence[Model]) -> Table | None:
    """Share of relevance inside the true word span per model and group: CA, best head, saliency, baselines."""
    keys = ("input", "encoder", "uniform", "random")
    rows = []
    for m, g, x in _cells(models):
        if truth := x.get("ground_truth") or {}:
            best = _best(_get(truth, "ca", "per_head") or {}) or ("", None)
            rows.append(((m.name, g, best[0]), [_get(truth, "ca", "all"), best[1], *(truth.get(k) for k in keys)]))
    return _stats_table("ground_truth", "Share of relevance inside the true word span (higher = better localised)",
                        ["model", "group", "best head"], ["CA", "best CA head", *(_label(k) for k in keys)], rows,
                        SHARE, "Uniform map: the chance level.")


def timestamps_table(models: Sequence[Model]) -> Table | None:
    """Mean absolute word-boundary error (ms) per model and group of each timestamp estimator."""
    names = ("ca", "input", "encoder", "ctc")
    return _stats_table("timestamps", "Word timestamps: mean absolute boundary error (ms, lower = better)",
                        ["model", "group"], [_label(n) for n in names],
                        [((m.name, g), [_get(x, "timestamps", n, "mae_ms") for n in names])
                         for m, g, x in _cells(models) if x.get("timestamps")], MS)


# ---------------------------------------------------------------- findings


@dataclass
class Finding:
    """One claim of the paper checked on the study (or one of our extra results, verdict "")."""

    key: str
    title: str
    claim: str
    ours: list[str]
    verdict: str
    reason: str


def _conclude(items: Sequence[str], most: bool = False) -> str:
    """Verdict from per-item outcomes: all (or most) full -> replicates, any full or some -> partly."""
    if not items:
        return UNTESTABLE
    full = sum(i == FULL for i in items)
    if full == len(items) or (most and full > len(items) / 2):
        return REPLICATES
    return PARTLY if any(i != NONE for i in items) else NOT


def _above(a: Stat, b: Stat) -> str:
    """Outcome of "a above b": full when a's interval lies above b's, some when only the mean is higher."""
    if not _num(a["mean"]) > _num(b["mean"]):
        return NONE
    return FULL if _num(a.get("ci_low")) > _num(b.get("ci_high")) else SOME


OUTCOME = {FULL: "higher, intervals separated", SOME: "higher, intervals overlap", NONE: "not higher"}


def _finding(key: str, title: str, claim: str, ours: list[str], items: list[str], holds: str, what: str,
             untestable: str, intervals: bool = True, most: bool = False) -> Finding:
    """A finding with its verdict computed from ``items`` (``untestable`` is the reason when there are none)."""
    verdict = _conclude(items, most)
    every, separated = f"most {what}s" if most else f"every {what}", ", intervals separated" if intervals else ""
    overlap = " (or only with overlapping intervals)" if intervals else ""
    reason = {REPLICATES: f"for {every}: {holds}{separated}", PARTLY: f"for some {what}s only: {holds}{overlap}",
              NOT: f"not so for any {what} ({holds})", UNTESTABLE: untestable}[verdict]
    return Finding(key, title, claim, ours, verdict, reason)


def finding_half(models: Sequence[Model]) -> Finding:
    """a. CA vs input saliency Pearson in the paper's range, per model (English ASR group)."""
    low, high = PAPER["pearson_ca_vs_input"]["range"]
    ours, items = [], []
    for m in models:
        if s := _stat(m.groups.get(ENGLISH_ASR), "ca_vs_input"):
            lo, hi = (_num(s.get(k)) for k in ("ci_low", "ci_high"))
            lo, hi = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else (_num(s["mean"]),) * 2
            where = "above" if lo > high else "below" if hi < low else "overlaps"
            items.append(FULL if where == "overlaps" else NONE)
            ours.append(f"{_code(m.name)}: {mean_ci(s, CORR)}, {where} the paper's range")
    models_ = ", ".join(f"{k} {_paper(v)}" for k, v in PAPER["pearson_ca_vs_input"].items() if k != "range")
    return _finding("a", "CA explains about half of the input relevance",
                    f"CA (all layers and heads) vs SPES input saliency, Pearson about {_paper(low)}–{_paper(high)} "
                    f"({models_}).", ours, items, "the interval overlaps the paper's range", "model",
                    "no model has an English ASR run with input saliency", intervals=False)


def finding_encoder(models: Sequence[Model]) -> Finding:
    """b. CA agrees more with encoder-output saliency than with input saliency."""
    ours, items = [], []
    for m, g, x in _cells(models):
        enc, inp = _stat(x, "ca_vs_encoder"), _stat(x, "ca_vs_input")
        if enc and inp:
            items.append(_above(enc, inp))
            ours.append(f"{_cell(m, g)}: encoder {mean_ci(enc, CORR)} vs input {mean_ci(inp, CORR)}, difference "
                        f"{fmt(_gain(x), CORR)}: {OUTCOME[items[-1]]}")
    low, high = PAPER["pearson_ca_vs_encoder"]["range"]
    return _finding("b", "Encoder-output saliency agrees better",
                    f"CA vs encoder-output saliency reaches {_paper(low)}–{_paper(high)}, up to "
                    f"{_paper(PAPER_EXTRA['encoder_gain_max'])} above CA vs input saliency: part of the gap is the "
                    "encoder's context mixing, part is CA itself.", ours, items, "higher with the encoder",
                    "run", "no run has both input and encoder-output saliency")


def finding_aggregation(models: Sequence[Model]) -> Finding:
    """c. CA over all layers and heads beats single heads and is not clearly beaten by any head or layer."""
    ours, items = [], []
    for m, g, x in _cells(models):
        block, s = _get(x, "pearson", "ca_vs_input") or {}, _stat(x, "ca_vs_input")
        head, layer = _best(block.get("per_head") or {}), _best(block.get("per_layer") or {})
        heads = _mean_of_heads(x, "ca_vs_input")
        if not (s and head and math.isfinite(heads)):
            continue
        beaten = [b for b in (head, layer) if b and _above(b[1], s) == FULL]
        above = _num(s["mean"]) > heads
        items.append(FULL if above and not beaten else SOME if above else NONE)
        best_layer = f", best layer {layer[0]} {mean_ci(layer[1], CORR)}" if layer else ""
        ours.append(f"{_cell(m, g)}: all {mean_ci(s, CORR)}, mean of heads {fmt(heads, CORR)}, best head {head[0]} "
                    f"{mean_ci(head[1], CORR)}{best_layer}" + (": beaten, intervals separated" if beaten else ""))
    return _finding("c", "Aggregating heads and layers beats single heads",
                    "Single heads are weak and noisy; averaging over heads and layers is more consistent; neither "
                    "a single head nor a single layer suffices.", ours, items,
                    "all layers and heads above the mean head and not clearly beaten by the best head or layer",
                    "run", "no run has per-head CA vs input saliency", intervals=False)


def finding_last_layers(models: Sequence[Model]) -> Finding:
    """d. The best decoder layer (CA vs input) lies in the last half of the decoder."""
    ours, items = [], []
    for m, g, x in _cells(models):
        per_layer = _get(x, "pearson", "ca_vs_input", "per_layer") or {}
        layers = max((int(l) for l in per_layer), default=0)
        if layers >= 2 and (best := _best(per_layer)):
            tie = sum(_num(v.get("mean")) == _num(best[1]["mean"]) for v in per_layer.values()) > 1
            half = "last" if int(best[0]) > layers / 2 else "first"
            items.append(FULL if half == "last" and not tie else NONE)
            where = "tied" if tie else "the last" if int(best[0]) == layers else f"{half} half"
            ours.append(f"{_cell(m, g)}: best layer {best[0]} of {layers} ({where}), {mean_ci(best[1], CORR)}")
    return _finding("d", "The last decoder layers agree best", "The last decoder layers agree best with saliency.",
                    ours, items, "the best layer is in the last half", "run",
                    "no run has per-layer CA of two or more decoder layers", intervals=False, most=True)


def _pair_finding(key: str, title: str, claim: str, pairs: Sequence[tuple[Model, Model]], holds: str,
                  none: str) -> Finding:
    """Whether the second model of each pair agrees more (English ASR, CA vs input) than the first."""
    ours, items, missing = [], [], []
    for a, b in pairs:
        sa, sb = _stat(a.groups.get(ENGLISH_ASR), "ca_vs_input"), _stat(b.groups.get(ENGLISH_ASR), "ca_vs_input")
        if sa and sb:
            items.append(_above(sb, sa))
            ours.append(f"{_code(b.name)} {mean_ci(sb, CORR)} vs {_code(a.name)} {mean_ci(sa, CORR)}: "
                        f"{OUTCOME[items[-1]]}")
        missing += [m.name for m, s in ((a, sa), (b, sb)) if not s]
    untestable = none if not pairs else "no English ASR agreement for " + ", ".join(
        _code(n) for n in dict.fromkeys(missing))
    return _finding(key, title, claim, ours, items, holds, "pair", untestable)


def finding_scale(models: Sequence[Model]) -> Finding:
    """e. Larger models of the same kind agree more (English ASR)."""
    pairs = [(a, b) for a, b in zip(models, models[1:]) if a.kind == b.kind and a.preset != b.preset]
    p = PAPER["pearson_ca_vs_input"]
    return _pair_finding("e", "Larger models agree more",
                         f"CA vs input saliency: base {_paper(p['base'])}, small {_paper(p['small'])}, large "
                         f"{_paper(p['large'])}: the larger models agree somewhat more (scale is confounded with "
                         "multilinguality from base to small; large is not above small).", pairs,
                         "the larger model agrees more", "only one scale per kind of model")


def finding_multilingual(models: Sequence[Model]) -> Finding:
    """f. Multilingual (multi-task) models agree more than the monolingual one of the same preset (English ASR)."""
    pairs = [(a, b) for a in models for b in models
             if a.quality and not a.multilingual and b.multilingual and a.preset == b.preset]
    p = PAPER["pearson_ca_vs_input"]
    return _pair_finding("f", "Multilingual, multi-task models agree more",
                         f"The multilingual, multi-task small model ({_paper(p['small'])}) agrees more than the "
                         f"monolingual base model ({_paper(p['base'])}), English ASR (confounded with scale).", pairs,
                         "the multilingual model agrees more",
                         "no monolingual and multilingual model of the same preset")


def finding_english(models: Sequence[Model]) -> Finding:
    """g. Within multilingual models, English ASR agrees best; Italian ASR and ST lower."""
    ours, items = [], []
    for m in models:
        en = _stat(m.groups.get(ENGLISH_ASR), "ca_vs_input")
        for g, x in m.groups.items():
            if m.multilingual and en and g != ENGLISH_ASR and (s := _stat(x, "ca_vs_input")):
                items.append(_above(en, s))
                ours.append(f"{_code(m.name)}: {_code(ENGLISH_ASR)} {mean_ci(en, CORR)} vs {_code(g)} "
                            f"{mean_ci(s, CORR)}: English {OUTCOME[items[-1]]}")
    return _finding("g", "English ASR agrees best; Italian and ST lower",
                    "Over models, tasks and languages CA vs input saliency spans {}–{}; English ASR agrees best, "
                    "Italian ASR and translation less.".format(*map(_paper, PAPER["pearson_ca_vs_input"]["range"])),
                    ours, items, "English higher", "group pair",
                    "no multilingual model has an English ASR run and another group")


def finding_deletion(models: Sequence[Model]) -> Finding:
    """h. Deletion: saliency (pooled and full) is more faithful than CA."""
    ours, items = [], []
    for m, g, x in _cells(models):
        auc = x.get("deletion_auc") or {}
        kind = _curve_kind(auc)
        ca, pooled, full = (_get(auc, s, kind) for s in ("ca", "saliency_pooled", "saliency_full"))
        if ca and pooled and full and all(math.isfinite(_num(s["mean"])) for s in (ca, pooled, full)):
            pair = (_above(pooled, ca), _above(full, ca))
            items.append(FULL if pair == (FULL, FULL) else SOME if SOME in pair or FULL in pair else NONE)
            ours.append(f"{_cell(m, g)} ({_code(ca['metric'])}): CA {mean_ci(ca, AUC)}, pooled "
                        f"{mean_ci(pooled, AUC)}, full {mean_ci(full, AUC)}")
    paper = ", ".join(f"{_label(s)} {_paper(v)}" for s, v in PAPER["deletion_auc_wer"].items())
    return _finding("h", "Saliency is more faithful than CA under deletion",
                    f"Deletion AUC of the WER curve (higher = more faithful): {paper}.", ours, items,
                    "both saliency maps above CA", "run", "no run computed deletion curves")


def _winner(stats: Mapping[str, Stat | None], lowest: bool = False) -> str:
    """Label of the defined summary with the best mean ("n/a" when none)."""
    defined = {k: _num(s["mean"]) for k, s in stats.items() if s and math.isfinite(_num(s.get("mean")))}
    return _label(min(defined, key=defined.get) if lowest else max(defined, key=defined.get)) if defined else "n/a"


def _ranking(models: Sequence[Model], key: str, title: str, claim: str, family: str, names: Sequence[str],
             stat: Callable[[Mapping[str, Any], str], Stat | None], spec: str, lowest: bool, best: str,
             none: str) -> Finding:
    """Our extra result: per run, the ``stat`` of each of ``names`` in ``family`` and the best one (no baselines)."""
    ours, winners = [], []
    for m, g, x in _cells(models):
        if block := x.get(family) or {}:
            stats = {n: stat(block, n) for n in names if n in block}
            winners.append(_winner({n: s for n, s in stats.items() if n not in ("uniform", "random")}, lowest))
            ours.append(f"{_cell(m, g)}: " + ", ".join(f"{_label(n)} {mean_ci(s, spec)}" for n, s in stats.items())
                        + f"; {best}: {winners[-1]}")
    reason = none if not winners else f"{best}: " + (f"{winners[0]} in every run" if len(set(winners)) == 1 else
                                                      "differs between runs (" + ", ".join(sorted(set(winners))) + ")")
    return Finding(key, title, claim, ours, "", reason)


def finding_ground_truth(models: Sequence[Model]) -> Finding:
    """Extra: does CA or saliency put more of its mass inside the true word spans?"""
    return _ranking(models, "i", "Ours: which map puts more mass in the true word spans",
                    "Not measured in the paper (it has no word-level ground truth).", "ground_truth",
                    ("ca", "input", "encoder", "uniform"), lambda b, n: _get(b, "ca", "all") if n == "ca" else b[n],
                    SHARE, False, "most mass in the true spans", "no run has ground-truth word spans")


def finding_timestamps(models: Sequence[Model]) -> Finding:
    """Extra: which timestamp estimator places word boundaries most accurately (MAE, ms)?"""
    return _ranking(models, "j", "Ours: which timestamp estimator is most accurate (MAE, ms)",
                    "The paper motivates the study with CA-based timestamps (Whisper's alignment heads with DTW) "
                    "but does not measure them.", "timestamps", ("ca", "input", "encoder", "ctc"),
                    lambda b, n: _get(b, n, "mae_ms"), MS, True, "most accurate", "no run has word timestamps")


def findings(models: Sequence[Model]) -> list[Finding]:
    """Every paper finding checked on the study, then our extra results."""
    checks = (finding_half, finding_encoder, finding_aggregation, finding_last_layers, finding_scale,
              finding_multilingual, finding_english, finding_deletion, finding_ground_truth, finding_timestamps)
    return [check(models) for check in checks]


def findings_table(found: Sequence[Finding]) -> Table:
    """One row per finding: its title and verdict."""
    rows = [[f.key, f.title, f.verdict or "our result", f.reason] for f in found]
    return Table("findings", "Verdicts", ["", "finding", "verdict", "why"], rows, ["key", "finding", "verdict", "why"],
                 rows)


def _finding_section(f: Finding) -> str:
    """One finding: claim, our numbers, verdict with its reason."""
    ours = "\n".join(f"- {line}" for line in f.ours) or "- no numbers for this check."
    end = f"**Verdict: {f.verdict}**: {f.reason}." if f.verdict else f"**Result**: {f.reason}."
    return f"### {f.key}. {f.title}\n\n**Paper.** {f.claim}\n\n**Here.**\n\n{ours}\n\n{end}\n"


# ---------------------------------------------------------------- report


def agreement_figure(models: Sequence[Model], folder: Path) -> Path | None:
    """Bars with CI of CA vs input and CA vs encoder Pearson per model and group."""
    cells = list(_cells(models))
    if not cells:
        return None

    def series(key: str) -> dict[str, list[float]]:
        return {_comparison_label(c): [_num(_get(x, "pearson", c, "all", key)) for _, _, x in cells]
                for c in COMPARISONS}

    fig = plots.bars_figure([f"{m.name} / {g}" for m, g, _ in cells], series("mean"), series("ci_low"),
                            series("ci_high"), "Pearson r", "CA (all layers and heads) vs saliency, per model/group")
    ax = fig.axes[0]
    if ax.get_legend():  # below the plot, as in probes.report.per_layer_figure: inside, it hides bars
        ax.get_legend().remove()
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, frameon=False)
    return plots.save(fig, folder / "agreement_per_model.png")


def _run_figures(study: Path, models: Sequence[Model]) -> list[str]:
    """Each run's layer x head heatmaps and first example utterance, embedded, with a link to its report."""
    parts = []
    for m, g, _ in _cells(models):
        run = study / "models" / m.name / "explain" / g
        found = [(_comparison_label(n.removeprefix("layer_head_")), run / "figures" / f"{n}.png") for n in HEATMAPS]
        found.append(("example utterance", run / "figures" / "example_1.png"))
        images = [f"![{label}]({p.relative_to(study).as_posix()})" for label, p in found if p.is_file()]
        report = run / "report.md"
        link = f" ([run report]({report.relative_to(study).as_posix()}))" if report.is_file() else ""
        parts.append(f"#### {_cell(m, g)}{link}\n\n" + ("\n\n".join(images) if images else "No figures written by the run."))
    return parts


def _inline(t: Table | None, empty: str = "No explain runs.") -> str:
    """A table's Markdown and note, or ``empty`` when there is no table."""
    if t is None:
        return empty + "\n"
    return f"{markdown_table(t.header, t.rows)}\n" + (f"\n{t.note}\n" if t.note else "")


def _sections(study: Path, models: Sequence[Model], built: Mapping[str, Table | None], figure: Path | None,
              found: Sequence[Finding]) -> list[str]:
    """The report's sections, in order."""
    per_layer = "\n".join(f"### {_code(m.name)}\n\n{_inline(t)}" for m in models
                          if (t := built[f"per_layer_{m.name}"])) or "No per-layer CA.\n"
    figure_link = (f"\n![CA vs saliency per model and group]({figure.relative_to(study).as_posix()})\n"
                   if figure else "")
    insertion = f"\n### Insertion\n\n{_inline(built['insertion'])}" if built["insertion"] else ""
    return [
        "Models trained and explained in this study, compared with each other and with Papi et al. (Cross-"
        "Attention is Half Explanation in Speech-to-Text Models). Numbers are means over utterances with their "
        "confidence interval [low, high] (Student t); n/a marks an undefined or missing value. Each run's own "
        "report holds its full tables and figures.\n",
        f"## Verdicts\n\n{_inline(built['findings'])}",
        f"## Models\n\n{_inline(built['models'])}",
        f"## Quality\n\n{_inline(built['quality'])}",
        f"## Agreement\n\n{_inline(built['agreement_pearson'])}\n"
        f"### Spearman\n\n{_inline(built['agreement_spearman'])}",
        f"## Agreement per layer\n\nCA of each decoder layer (heads averaged) vs input saliency.\n\n{per_layer}\n"
        "### Layer x head heatmaps and an example\n\n" + "\n\n".join(_run_figures(study, models) or ["No explain runs."])
        + "\n" + figure_link,
        f"## Deletion\n\n{_inline(built['deletion'])}{insertion}",
        f"## Ground truth and timestamps\n\n{_inline(built['ground_truth'], 'No ground-truth word spans.')}\n"
        f"### Timestamps\n\n{_inline(built['timestamps'], 'No word timestamps.')}",
        "## Findings of the paper, checked here\n\nVerdicts: replicates (all items, intervals separated where "
        "intervals decide), partly, does not replicate, not testable here (with the reason).\n\n"
        + "\n".join(_finding_section(f) for f in found),
    ]


def write_study_report(study: Path, title: str = "Cross-attention vs saliency: study report") -> Path:
    """Write tables/, figures/ and report.md into ``study`` from its models' quality and metrics; returns report.md."""
    study = Path(study)
    models = load_study(study)
    found = findings(models)
    built: dict[str, Table | None] = {
        "findings": findings_table(found), "models": models_table(models), "quality": quality_table(models),
        "agreement_pearson": agreement_table(models), "agreement_spearman": spearman_table(models),
        **{f"per_layer_{m.name}": per_layer_table(m) for m in models},
        "deletion": deletion_table(models), "insertion": deletion_table(models, "insertion"),
        "ground_truth": ground_truth_table(models), "timestamps": timestamps_table(models)}
    for table in built.values():
        if table is not None:
            write_table(table, study / "tables")
    figure = agreement_figure(models, study / "figures")
    path = study / "report.md"
    path.write_text("\n".join([f"# {title}\n", *_sections(study, models, built, figure, found)]))
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m probes.study_report STUDY [--title T]``: (re)write a study's report."""
    p = argparse.ArgumentParser(prog="python -m probes.study_report", description=main.__doc__)
    p.add_argument("study", type=Path, help="folder with models/<model>/quality.json and explain/<group>/")
    p.add_argument("--title", default="Cross-attention vs saliency: study report")
    a = p.parse_args(argv)
    print(write_study_report(a.study, a.title))


if __name__ == "__main__":
    main()
