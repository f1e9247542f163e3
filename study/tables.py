"""The tables of the study report across models (``study.report`` writes them)."""

from __future__ import annotations

import math
import re
from typing import Any, Iterator, Mapping, Sequence

from probes.metrics_layout import (agreement, baseline, boundary_error, curve_auc, curve_kind, curve_sources,
                                   estimators, has_truth, linear_truth_share, masks_spent, per_head, per_layer,
                                   seed_reliability, split_half, tokens_per_word, truth_per_head, truth_share, views)
from probes.records import CA_VS_ENCODER, CA_VS_INPUT
from probes.report.paper import PAPER, PAPER_EXTRA, PAPER_SETTING, QUALITY_TARGETS
from probes.report.tables import (AUC, CORR, DIRECTIONS, LINEAR_NOTE, MS, SHARE, Stat, Table, as_float, best_view,
                                  code_span, comparison_label, count, csv_stat, display_name, fmt, is_stat, lookup, mean_ci,
                                  mean_count, paper_number, stat_columns)
from study.models import ModelResults, ca_stat, explain_runs, map_reliability, mean_of_heads, paper_runs, targets

QUALITY = ".1f"  # WER, CER, BLEU, minutes
COMPARISONS = (CA_VS_INPUT, CA_VS_ENCODER)


def _raw(x: Any) -> str:
    """A quality value printed as stored (integers without decimals), "n/a" when absent."""
    if x is None or not math.isfinite(as_float(x)):
        return "n/a"
    return str(int(x)) if float(x).is_integer() else f"{float(x):g}"


def models_table(models: Sequence[ModelResults]) -> Table:
    """Name, kind, preset, parameters, languages, tasks, training steps and minutes, explained groups."""
    rows, csv_rows = [], []
    for m in models:
        q = m.quality
        cells = [m.kind, m.preset or "n/a", _raw(q.get("parameters")), ", ".join(q.get("languages") or []) or "n/a",
                 ", ".join(q.get("tasks") or []) or "n/a", _raw(q.get("steps")), fmt(q.get("train_minutes"), QUALITY)]
        rows.append([code_span(m.name), *cells, ", ".join(code_span(g) for g in m.groups) or "none"])
        csv_rows.append([m.name, *cells, " ".join(m.groups)])
    header = ["model", "kind", "preset", "parameters", "languages", "tasks", "steps", "train minutes", "explained"]
    return Table("models", "Models", header, rows, header, csv_rows,
                 "Parameters as counted by train.py (a pretrained model: by transformers); explained: the groups of "
                 "rows evaluate.py explained.")


def _quality_rows(m: ModelResults) -> Iterator[tuple[str, Any, str, bool | None]]:
    """(measure, value, target text, target met) of one model: WER and CER per language, BLEU per direction."""
    q, goal = m.quality, targets(m.quality)
    for lang, v in (q.get("wer") or {}).items():
        yield f"WER {lang}", v, f"≤ {_raw(goal['wer_max'])}", as_float(v) <= goal["wer_max"]
    for lang, v in (q.get("cer") or {}).items():
        yield f"CER {lang}", v, "", None
    for direction, v in (q.get("bleu") or {}).items():
        yield f"BLEU {direction}", v, f"≥ {_raw(goal['bleu_min'])}", as_float(v) >= goal["bleu_min"]


def quality_table(models: Sequence[ModelResults]) -> Table:
    """WER, CER and BLEU of every model, with the issue's targets and whether each is met."""
    rows, csv_rows = [], []
    for m in models:
        found = list(_quality_rows(m))
        if not found:
            rows.append([code_span(m.name), "no quality.json" if not m.quality else "no scores", "n/a", "", ""])
            csv_rows.append([m.name, "", "", "", ""])
        for measure, v, target, met in found:
            verdict = "" if met is None or not math.isfinite(as_float(v)) else ("yes" if met else "no")
            rows.append([code_span(m.name), measure, fmt(v, QUALITY), target, verdict])
            csv_rows.append([m.name, measure, v, target, verdict])
    return Table("quality", "Quality on the test sets", ["model", "measure", "value", "target", "met"], rows,
                 ["model", "measure", "value", "target", "met"], csv_rows,
                 f"Targets (each model's quality.json records its own; the default): WER ≤ {_raw(QUALITY_TARGETS['wer_max'])} % "
                 f"per language, BLEU ≥ {_raw(QUALITY_TARGETS['bleu_min'])} per direction, beam search. A model is explained only "
                 f"on the groups where it meets its target. The paper (EuroParl-ST): English WER {paper_number(PAPER_EXTRA['wer_en_low'])}–"
                 f"{paper_number(PAPER_EXTRA['wer_en_high'])}.")


def _spes_setting(m: ModelResults, group: str, paper: bool = False) -> tuple[str, str]:
    """SPES segments per 500 frames and masks per utterance (mean spent) of one explain run (or its paper-resolution
    twin), "n/a" when unknown."""
    settings, metrics = (m.paper_settings, m.paper) if paper else (m.settings, m.groups)
    spes = lookup(settings.get(group), "config", "spes") or {}
    segments = "/".join(str(g) for g in spes.get("granularities") or []) or "n/a"
    spent = (masks_spent(metrics[group], "input") or {}).get("mean")
    masks = mean_count(spent) if spent is not None else _raw(spes.get("masks"))
    return segments, masks


def differences_table(models: Sequence[ModelResults]) -> Table | None:
    """Our setting against the paper's, measured per explain run: what could explain a finding that differs."""
    runs = list(explain_runs(models))
    if not runs:
        return None
    paper = PAPER_SETTING
    rows: list[list[str]] = [
        ["parameters", ", ".join(f"{k} {v} million" for k, v in paper["parameters_m"].items()),
         *(_raw(m.quality.get("parameters")) for m, _, _ in runs)],
        ["output vocabulary", _raw(paper["vocab_size"]), *(_raw(m.quality.get("vocab_size")) for m, _, _ in runs)],
        ["hypothesis tokens per word", "not published",
         *(mean_ci(tokens_per_word(x), ".2f") for _, _, x in runs)],
        ["speech", "EuroParl-ST (real)", *((m.quality.get("speech") or {}).get(g, "synthetic (espeak-ng)")
                                           for m, g, _ in runs)],
        ["SPES segments per 500 frames", "/".join(map(str, paper["spes_granularities"])),
         *(_spes_setting(m, g)[0] for m, g, _ in runs)],
        ["SPES masks per utterance", _raw(paper["spes_masks"]), *(_spes_setting(m, g)[1] for m, g, _ in runs)],
        ["input map reliability", "not published",
         *(mean_ci(r, CORR) if (r := map_reliability(x, "input")) else "not measured" for _, _, x in runs)],
    ]
    header = ["", "paper", *(f"{code_span(m.name)} {code_span(g)}" for m, g, _ in runs)]
    return Table("differences", "Our setting against the paper's", header, rows,
                 ["aspect", "paper", *(f"{m.name}/{g}" for m, g, _ in runs)], rows,
                 "Measured per explain run where it can be: parameters and vocabulary from quality.json, tokens per "
                 "word of the explained hypotheses (near-character pieces make many tokens per word, the paper's 16k "
                 "word pieces few), SPES settings from the run's settings.json, masks actually spent and the input "
                 "map's reliability from its metrics.json.")


def resolution_table(models: Sequence[ModelResults]) -> Table | None:
    """CA vs input saliency at the paper's resolution (few utterances) beside the study's coarse maps: whole-map and
    per-token Pearson, the maps' noise (split-half, and across two seeds when measured) and their share in the true
    word spans."""
    rows, csv_rows = [], []
    for m, g, fine in paper_runs(models):
        coarse = m.groups.get(g) or {}
        for label, x, paper in (("paper's", fine, True), ("study's", coarse, False)):
            s, token = ca_stat(x, CA_VS_INPUT), ca_stat(x, CA_VS_INPUT, "pearson_token")
            half, twins = split_half(x, "input"), seed_reliability(x, "input")
            truth = truth_share(x, "input")
            segments, masks = _spes_setting(m, g, paper) if x else ("n/a", "n/a")
            rows.append([code_span(m.name), code_span(g), label, segments, masks,
                         *(mean_ci(v, CORR) if v else "n/a" for v in (s, token)),
                         *(mean_ci(v, CORR) if is_stat(v) else "not measured" for v in (half, twins)),
                         mean_ci(truth, SHARE) if truth else "n/a", count(s) if s else "n/a"])
            csv_rows.append([m.name, g, label, segments, masks, *csv_stat(s), *csv_stat(token)[:3],
                             *csv_stat(half if is_stat(half) else None)[:3],
                             *csv_stat(twins if is_stat(twins) else None)[:3],
                             *csv_stat(truth)[:3]])
    if not rows:
        return None
    return Table("paper_resolution", "CA vs input saliency at the paper's resolution",
                 ["model", "group", "resolution", "segments per 500 frames", "masks", "CA vs input", "per token",
                  "split-half reliability", "two seeds' r", "input map in true spans", "n"], rows,
                 ["model", "group", "resolution", "segments", "masks", *stat_columns("ca_vs_input"),
                  *stat_columns("per_token")[:3], *stat_columns("split_half")[:3], *stat_columns("reliability")[:3],
                  *stat_columns("truth_share")[:3]],
                 csv_rows,
                 "The first utterances of each model's first group explained again with the paper's SPES segments and "
                 "thousands of masks (the study file's paper_resolution; masks: the mean spent per utterance, which "
                 "an adaptive budget sets), beside the study's coarse maps of all the group's utterances. Per token: "
                 "each token's row z-scored first. Split-half reliability: how well the full-resolution map would "
                 "reproduce with new masks, from its own masks' two halves (Spearman-Brown). Two seeds' r: Pearson of "
                 "the avg2d-pooled maps of two mask seeds, when the run made both. Input map in true spans: share of "
                 "the SPES map's relevance inside each token's true word span.")


PAIRED_LABELS = {"coarse": "study's (coarse)", "first_doubling": "paper's, first doubling", "paper": "paper's"}


def paired_table(models: Sequence[ModelResults]) -> Table | None:
    """Each paper-resolution run beside its group's coarse run on the utterances both explained (the adaptive run also
    as its first doubling left it), with the differences paired utterance by utterance."""
    rows, csv_rows = [], []
    measures = [("ca_vs_input", CORR), ("per_token", CORR), ("input_in_spans", SHARE), ("ca_in_spans", SHARE),
                ("encoder_in_spans", SHARE)]
    names = ["CA vs input", "per token", "input map in true spans", "CA in true spans", "encoder map in true spans"]
    columns = ["ca_vs_input", "per_token", "truth_share", "ca_truth_share", "encoder_truth_share"]
    if linear := any(lookup(m.paired.get(g), "runs", "paper", "input_signed", "n") for m, g, _ in paper_runs(models)):
        measures += [("input_signed", SHARE), ("ca_minus_input_signed", SHARE)]
        names += ["input map in true spans, linear", "CA − input map, linear"]
        columns += ["truth_share_linear", "ca_minus_input_linear"]
    for m, g, _ in paper_runs(models):
        if not (paired := m.paired.get(g)):
            continue
        lines = [(PAIRED_LABELS[label], label, x) for label, x in paired["runs"].items()]
        lines += [(f"{PAIRED_LABELS[label]} − study's", f"{label}-coarse", x) for label, x in paired["differences"].items()]
        if gain := paired.get("paper_minus_first_doubling"):  # what doubling on to convergence changed, paired
            lines.append((f"{PAIRED_LABELS['paper']} − first doubling", "paper-first_doubling", gain))
        for label, key, x in lines:
            masks = lookup(x, "masks", "mean")
            rows.append([code_span(m.name), code_span(g), label, mean_count(masks) if masks is not None else "",
                         *(mean_ci(x[k], spec) if k in x else "" for k, spec in measures), count(x["ca_vs_input"])])
            csv_rows.append([m.name, g, key, "" if masks is None else masks,
                             *(v for k, _ in measures for v in csv_stat(x.get(k))[:3]), x["ca_vs_input"]["n"]])
    if not rows:
        return None
    return Table("paired_resolution", "The paper's resolution against the coarse maps, on the same utterances",
                 ["model", "group", "maps", "masks", *names, "n"], rows,
                 ["model", "group", "maps", "masks", *(c for name in columns for c in stat_columns(name)[:3]), "n"],
                 csv_rows,
                 "The paper-resolution utterances only, in both runs: the study's coarse maps and the paper-resolution "
                 "maps (an adaptive run's also as its first doubling left them); then the differences, one per "
                 "utterance (a paired interval, narrower than two unpaired ones). CA: all layers and heads. True spans: "
                 "share of each map's relevance inside each token's true word span, the three maps on the same "
                 "utterances (n/a: a map the run did not make)."
                 + (f" {LINEAR_NOTE} CA − input map: CA's share minus it, per utterance." if linear else ""))


def _best_cell(views: Mapping[str, Stat], prefix: str) -> tuple[str, list[Any]]:
    """Best layer or head of a comparison (its ``per_layer`` or ``per_head``) as "value (layer k)", with its CSV
    cells."""
    best = best_view(views)
    if not best:
        return "n/a", ["", *csv_stat(None)]
    return f"{fmt(best[1]['mean'], CORR)} ({prefix} {best[0]})", [best[0], *csv_stat(best[1])]


def agreement_table(models: Sequence[ModelResults]) -> Table | None:
    """Pearson per model, group and comparison: all heads [CI], best layer, best head, mean of heads, random."""
    rows, csv_rows = [], []
    for m, g, x in explain_runs(models):
        for c in COMPARISONS:
            layer, layer_csv = _best_cell(per_layer(x, c), "layer")
            head, head_csv = _best_cell(per_head(x, c), "head")
            heads, rand = mean_of_heads(x, c), baseline(x, c.removeprefix("ca_vs_"), "random")
            s, rel = agreement(x, c), map_reliability(x, c.removeprefix("ca_vs_"))
            token = agreement(x, c, "pearson_token")
            rows.append([code_span(m.name), code_span(g), comparison_label(c),
                         mean_ci(s, CORR) if views(x, c) else "not computed", mean_ci(token, CORR) if token else "n/a",
                         layer, head, fmt(heads, CORR), mean_ci(rand, CORR),
                         mean_ci(rel, CORR) if rel else "not measured", count(s) if s else "n/a"])
            csv_rows.append([m.name, g, c, *csv_stat(s), *csv_stat(token)[:3], *layer_csv, *head_csv,
                             "" if math.isnan(heads) else heads, *csv_stat(rand)[:3], *csv_stat(rel)[:3]])
    if not rows:
        return None
    return Table("agreement_pearson", "Agreement of CA with saliency (Pearson)",
                 ["model", "group", "comparison", "all layers and heads", "per token", "best layer", "best head",
                  "mean of heads", "random map", "map reliability r", "n"], rows,
                 ["model", "group", "comparison", *stat_columns("all"), *stat_columns("per_token")[:3], "best_layer",
                  *stat_columns("best_layer"),
                  "best_head", *stat_columns("best_head"), "mean_of_heads", *stat_columns("random")[:3],
                  *stat_columns("reliability")[:3]], csv_rows,
                 "All layers and heads: mean [CI] over utterances of the Pearson of the whole token x frame maps; "
                 "per token: the same maps with each token's row z-scored on its own first (as the released SPES "
                 "evaluation normalises), so that every token weighs the same; best layer and head: the highest mean (chosen "
                 "after the fact, so optimistic); mean of heads: mean over single heads of their means; random "
                 "map: a random map against the same saliency (chance level); map reliability r: Pearson of the "
                 "saliency map with its twin from another mask seed (evaluate.py --reliability), else the map's "
                 "split-half reliability; its noise level: no agreement with it can exceed sqrt(r). Input maps' r is "
                 "that of avg2d-pooled twins: max pooling's bias repeats across seeds, so it would look reliable even "
                 "when noisy, and an agreement with a max2d-pooled map is not corrected.")


Row = tuple[Sequence[str], Sequence[Stat | None]]  # identifiers (model, group...), then one summary per column


def _stats_table(name: str, title: str, ids: Sequence[str], labels: Sequence[str], rows: Sequence[Row], spec: str,
                 note: str = "") -> Table | None:
    """Identifier columns (code spans) then mean [CI] of one summary per label; CSV: mean, CI bounds and n."""
    if not rows:
        return None
    keys = [re.sub(r"\W+", "_", label.lower()).strip("_") for label in labels]
    return Table(name, title, [*ids, *labels],
                 [[*map(code_span, i), *(mean_ci(s, spec) for s in st)] for i, st in rows],
                 [*ids, *(c for k in keys for c in stat_columns(k))],
                 [[*i, *(v for s in st for v in csv_stat(s))] for i, st in rows], note)


def spearman_table(models: Sequence[ModelResults]) -> Table | None:
    """Spearman of CA (all layers and heads) vs each saliency map, and of the random map vs input saliency."""
    rows = [((m.name, g), [ca_stat(x, CA_VS_INPUT, "spearman"), ca_stat(x, CA_VS_ENCODER, "spearman"),
                           baseline(x, "input", "random", "spearman")]) for m, g, x in explain_runs(models)]
    return _stats_table("agreement_spearman", "Agreement of CA with saliency (Spearman)", ["model", "group"],
                        ["CA vs input", "CA vs encoder", "random vs input"], rows, CORR)


def per_layer_table(m: ModelResults) -> Table | None:
    """Pearson of each decoder layer's head-averaged CA vs input saliency, one column per group of the model."""
    blocks = {g: per_layer(x, CA_VS_INPUT) for g, x in m.groups.items()}
    layers = sorted({int(l) for b in blocks.values() for l in b})
    if not layers:
        return None
    stats = [[blocks[g].get(str(l)) for g in blocks] for l in layers]
    return Table(f"per_layer_{m.name}", f"Per layer, {m.name}: CA vs input saliency (Pearson)",
                 ["", *(code_span(g) for g in blocks)], [[f"layer {l}", *(mean_ci(s, CORR) for s in row)]
                                                      for l, row in zip(layers, stats)],
                 ["layer", *(c for g in blocks for c in stat_columns(g))],
                 [[l, *(v for s in row for v in csv_stat(s))] for l, row in zip(layers, stats)])


def deletion_table(models: Sequence[ModelResults], mode: str = "deletion") -> Table | None:
    """AUC per model and group of CA, pooled and full saliency and the random map (text curves if any)."""
    sources = ("ca", "saliency_pooled", "saliency_full", "random")
    rows = []
    for m, g, x in explain_runs(models):
        if curve_sources(x, mode):
            stats = [curve_auc(x, s, curve_kind(x, mode), mode) for s in sources]
            rows.append(((m.name, g, next((s["metric"] for s in stats if s), "")), stats))
    paper = ", ".join(f"{display_name(s)} {paper_number(v)}" for s, v in PAPER["deletion_auc_wer"].items())
    return _stats_table(f"{mode}_auc", f"{mode.capitalize()} AUC", ["model", "group", "curve"],
                        [display_name(s) for s in sources], rows, AUC,
                        f"{DIRECTIONS[mode].capitalize()}. Re-decoded (WER- or BLEU-based) curves when the run "
                        "computed them, else the probability curve, not comparable with the paper's WER AUCs."
                        + (f" Paper (WER): {paper}." if mode == "deletion" else ""))


def ground_truth_table(models: Sequence[ModelResults]) -> Table | None:
    """Share of relevance inside the true word span per model and group: CA, best head, saliency, baselines, and the
    saliency maps' linear shares when the runs made them."""
    keys = ("input", "encoder", "uniform", "random")
    runs = [(m, g, x) for m, g, x in explain_runs(models) if has_truth(x)]
    linear = [k for k in ("input", "encoder") if any(linear_truth_share(x, k) for _, _, x in runs)]
    rows = []
    for m, g, x in runs:
        best = best_view(truth_per_head(x)) or ("", None)
        rows.append(((m.name, g, best[0]), [truth_share(x), best[1], *(truth_share(x, k) for k in keys),
                                            *(linear_truth_share(x, k) for k in linear)]))
    return _stats_table("ground_truth", "Share of relevance inside the true word span (higher = better localised)",
                        ["model", "group", "best head"], ["CA", "best CA head", *(display_name(k) for k in keys),
                                                          *(f"{display_name(k)}, linear" for k in linear)], rows,
                        SHARE, "Uniform map: the chance level." + (f" {LINEAR_NOTE}" if linear else ""))


ALIGNMENT_ANCHORS_MS = {"WhisperX": 92, "NeMo forced aligner": 108}  # published mean word-boundary shifts
ALIGNMENT_NOTE = ("The model's alignment heads: the heads its makers chose for word times (Whisper's, with DTW). "
                  "Published anchors, on other speech and models (mean boundary shift against human word times): "
                  + ", ".join(f"{name} {ms} ms" for name, ms in ALIGNMENT_ANCHORS_MS.items()) + ".")


def timestamps_table(models: Sequence[ModelResults]) -> Table | None:
    """Mean absolute word-boundary error (ms) per model and group of each timestamp estimator; the alignment heads'
    column (and the published anchors) where a model names alignment heads."""
    runs = [(m, g, x) for m, g, x in explain_runs(models) if estimators(x)]
    aligned = any(boundary_error(x, "ca_alignment_heads") for _, _, x in runs)
    names = ("ca", *(("ca_alignment_heads",) if aligned else ()), "input", "encoder", "ctc")
    return _stats_table("timestamps", "Word timestamps: mean absolute boundary error (ms, lower = better)",
                        ["model", "group"], [display_name(n) for n in names],
                        [((m.name, g), [boundary_error(x, n) for n in names]) for m, g, x in runs], MS,
                        ALIGNMENT_NOTE if aligned else "")
