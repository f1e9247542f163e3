"""Study report: several trained models, each explained by evaluate.py, compared with each other and the paper.

A study folder holds::

    models/<model>/quality.json                  name, preset, parameters, languages, tasks, steps, train_minutes,
                                                 wer and cer {lang: %}, bleu {"src-tgt": BLEU}
    models/<model>/explain/<group>/metrics.json  one evaluate.py run per group of rows (asr_en, asr_it, st_en-it),
                                                 with its report.md and figures/ when written

``write_study_report`` adds ``report.md``, ``tables/<name>.md|csv`` and ``figures/agreement_per_model.png``:
tables across models and the paper's findings, each with a verdict computed from the numbers (``probes.study.findings``).
Numbers are formatted as in ``probes.report.tables``. Every number in report.md is a value of some quality.json or
metrics.json, a reference number (``PAPER``, ``PAPER_EXTRA`` and ``TARGETS`` in ``probes.report.paper``), or one
of the two values computed here (``derived``: the mean over single heads of their mean Pearson, and CA-vs-encoder
minus CA-vs-input Pearson); ``study_numbers_traceable`` checks it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from probes.report import plots
from probes.report.paper import PAPER, PAPER_EXTRA, PAPER_SETTING, TARGETS
from probes.report.tables import (AUC, CORR, DIRECTIONS, MS, SHARE, Stat, Table, as_float, best_view, code_span,
                                  comparison_label, count, csv_stat, display_name, fmt, lookup, markdown_table,
                                  mean_ci, numbers_traceable, paper_number, stat_columns, write_table)
from probes.study.findings import Finding, finding_section, findings, findings_table
from probes.study.models import (Model, ca_stat, corrected, curve_kind, encoder_gain, explain_runs, load_study,
                                 map_reliability, mean_of_heads, missed_targets, paper_runs, run_span, targets)

QUALITY = ".1f"  # WER, CER, BLEU, minutes
COMPARISONS = ("ca_vs_input", "ca_vs_encoder")
HEATMAPS = ("layer_head_ca_vs_input", "layer_head_ca_vs_encoder")


# ---------------------------------------------------------------- traceable values


def derived(models: Sequence[Model]) -> dict[str, Any]:
    """The only numbers computed here, by ``model/group``: mean of single heads, encoder minus input gain,
    agreement corrected for the saliency map's reliability."""
    runs = {f"{m.name}/{g}": {"mean_of_heads": {c: mean_of_heads(x, c) for c in COMPARISONS},
                              "encoder_minus_input": encoder_gain(x),
                              "corrected": {c: corrected(x, c, m.settings.get(g)) for c in COMPARISONS}}
            for m, g, x in explain_runs(models)}
    fine = {f"{m.name}/{g}/paper_resolution": {"corrected": corrected(x, "ca_vs_input", m.paper_settings.get(g))}
            for m, g, x in paper_runs(models)}
    return {**runs, **fine}


def study_values(models: Sequence[Model]) -> dict[str, Any]:
    """Everything report.md may quote: quality and metrics of every model, derived values, reference numbers."""
    return {"models": {m.name: {"quality": m.quality, "explain": m.groups, "settings": _listed(m.settings),
                                "paper_resolution": m.paper, "paper_settings": _listed(m.paper_settings)}
                       for m in models},
            "derived": derived(models), "reference": {**PAPER_EXTRA, **TARGETS, **_listed(PAPER_SETTING)}}


def _listed(x: Any) -> Any:
    """Lists and tuples as index-keyed mappings, so that settings such as granularities count as quotable values."""
    if isinstance(x, Mapping):
        return {k: _listed(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return {f"[{i}]": _listed(v) for i, v in enumerate(x)}
    return x


def study_numbers_traceable(text: str, study: Path) -> list[str]:
    """Numbers of ``text`` traceable to no quality.json, metrics.json, derived value or reference number."""
    return numbers_traceable(text, study_values(load_study(study)))


# ---------------------------------------------------------------- tables


def _raw(x: Any) -> str:
    """A quality value printed as stored (integers without decimals), "n/a" when absent."""
    if x is None or not math.isfinite(as_float(x)):
        return "n/a"
    return str(int(x)) if float(x).is_integer() else f"{float(x):g}"


def models_table(models: Sequence[Model]) -> Table:
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
                 "Parameters as counted by train.py; explained: the groups of rows evaluate.py explained.")


def _quality_rows(m: Model) -> Iterator[tuple[str, Any, str, bool | None]]:
    """(measure, value, target text, target met) of one model: WER and CER per language, BLEU per direction."""
    q, goal = m.quality, targets(m.quality)
    for lang, v in (q.get("wer") or {}).items():
        yield f"WER {lang}", v, f"≤ {_raw(goal['wer_max'])}", as_float(v) <= goal["wer_max"]
    for lang, v in (q.get("cer") or {}).items():
        yield f"CER {lang}", v, "", None
    for direction, v in (q.get("bleu") or {}).items():
        yield f"BLEU {direction}", v, f"≥ {_raw(goal['bleu_min'])}", as_float(v) >= goal["bleu_min"]


def quality_table(models: Sequence[Model]) -> Table:
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
                 f"Targets (each model's quality.json records its own; the default): WER ≤ {_raw(TARGETS['wer_max'])} % "
                 f"per language, BLEU ≥ {_raw(TARGETS['bleu_min'])} per direction, beam search. A model is explained only "
                 f"on the groups where it meets its target. The paper (EuroParl-ST): English WER {paper_number(PAPER_EXTRA['wer_en_low'])}–"
                 f"{paper_number(PAPER_EXTRA['wer_en_high'])}.")


def _spes_setting(m: Model, group: str, paper: bool = False) -> tuple[str, str]:
    """SPES segments per 500 frames and masks per utterance (mean spent) of one explain run (or its paper-resolution
    twin), "n/a" when unknown."""
    settings, metrics = (m.paper_settings, m.paper) if paper else (m.settings, m.groups)
    spes = lookup(settings.get(group), "config", "spes") or {}
    segments = "/".join(str(g) for g in spes.get("granularities") or []) or "n/a"
    spent = lookup(metrics[group], "budget", "input", "masks", "mean")
    masks = fmt(spent, ".0f") if spent is not None else _raw(spes.get("masks"))
    return segments, masks


def differences_table(models: Sequence[Model]) -> Table | None:
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
         *(mean_ci(lookup(x, "hypothesis", "tokens_per_word"), ".2f") for _, _, x in runs)],
        ["speech", "EuroParl-ST (real)", *("synthetic (espeak-ng)" for _ in runs)],
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


def resolution_table(models: Sequence[Model]) -> Table | None:
    """CA vs input saliency at the paper's resolution (few utterances) beside the study's coarse maps: whole-map and
    per-token Pearson, the maps' noise and their share in the true word spans."""
    rows, csv_rows = [], []
    for m, g, fine in paper_runs(models):
        coarse = m.groups.get(g) or {}
        for label, x, paper in (("paper's", fine, True), ("study's", coarse, False)):
            s, token = ca_stat(x, "ca_vs_input"), ca_stat(x, "ca_vs_input", "pearson_token")
            rel, truth = map_reliability(x, "input"), lookup(x, "ground_truth", "input")
            segments, masks = _spes_setting(m, g, paper) if x else ("n/a", "n/a")
            rows.append([code_span(m.name), code_span(g), label, segments, masks,
                         *(mean_ci(v, CORR) if v else "n/a" for v in (s, token)),
                         mean_ci(rel, CORR) if rel else "not measured", mean_ci(truth, SHARE) if truth else "n/a",
                         count(s) if s else "n/a"])
            csv_rows.append([m.name, g, label, segments, masks, *csv_stat(s), *csv_stat(token)[:3],
                             *csv_stat(rel)[:3], *csv_stat(truth)[:3]])
    if not rows:
        return None
    return Table("paper_resolution", "CA vs input saliency at the paper's resolution",
                 ["model", "group", "resolution", "segments per 500 frames", "masks", "CA vs input", "per token",
                  "map reliability r", "input map in true spans", "n"], rows,
                 ["model", "group", "resolution", "segments", "masks", *stat_columns("ca_vs_input"),
                  *stat_columns("per_token")[:3], *stat_columns("reliability")[:3], *stat_columns("truth_share")[:3]],
                 csv_rows,
                 "The first utterances of each model's first group explained again with the paper's SPES segments and "
                 "thousands of masks (the study file's paper_resolution), beside the study's coarse maps of all "
                 "the group's utterances. Per token: each token's row z-scored first. Map reliability r: two mask "
                 "seeds' Pearson of the avg2d-pooled maps. Input map in true spans: share of the SPES map's relevance "
                 "inside each token's true word span.")


def _best_cell(block: Mapping[str, Any] | None, view: str, prefix: str) -> tuple[str, list[Any]]:
    """Best layer or head of a comparison as "value (layer k)", with its CSV cells."""
    best = best_view((block or {}).get(view) or {})
    if not best:
        return "n/a", ["", *csv_stat(None)]
    return f"{fmt(best[1]['mean'], CORR)} ({prefix} {best[0]})", [best[0], *csv_stat(best[1])]


def agreement_table(models: Sequence[Model]) -> Table | None:
    """Pearson per model, group and comparison: all heads [CI], best layer, best head, mean of heads, random."""
    rows, csv_rows = [], []
    for m, g, x in explain_runs(models):
        for c in COMPARISONS:
            block = lookup(x, "pearson", c)
            layer, layer_csv = _best_cell(block, "per_layer", "layer")
            head, head_csv = _best_cell(block, "per_head", "head")
            heads, rand = mean_of_heads(x, c), lookup(x, "pearson", "baselines", c.removeprefix("ca_vs_"), "random")
            s, rel = lookup(block, "all"), map_reliability(x, c.removeprefix("ca_vs_"))
            token = lookup(x, "pearson_token", c, "all")
            rows.append([code_span(m.name), code_span(g), comparison_label(c),
                         mean_ci(s, CORR) if block else "not computed", mean_ci(token, CORR) if token else "n/a",
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
    keys = [label.lower().replace(" ", "_").replace("-", "_") for label in labels]
    return Table(name, title, [*ids, *labels],
                 [[*map(code_span, i), *(mean_ci(s, spec) for s in st)] for i, st in rows],
                 [*ids, *(c for k in keys for c in stat_columns(k))],
                 [[*i, *(v for s in st for v in csv_stat(s))] for i, st in rows], note)


def spearman_table(models: Sequence[Model]) -> Table | None:
    """Spearman of CA (all layers and heads) vs each saliency map, and of the random map vs input saliency."""
    rows = [((m.name, g), [ca_stat(x, "ca_vs_input", "spearman"), ca_stat(x, "ca_vs_encoder", "spearman"),
                           lookup(x, "spearman", "baselines", "input", "random")]) for m, g, x in explain_runs(models)]
    return _stats_table("agreement_spearman", "Agreement of CA with saliency (Spearman)", ["model", "group"],
                        ["CA vs input", "CA vs encoder", "random vs input"], rows, CORR)


def per_layer_table(m: Model) -> Table | None:
    """Pearson of each decoder layer's head-averaged CA vs input saliency, one column per group of the model."""
    blocks = {g: lookup(x, "pearson", "ca_vs_input", "per_layer") or {} for g, x in m.groups.items()}
    layers = sorted({int(l) for b in blocks.values() for l in b})
    if not layers:
        return None
    stats = [[blocks[g].get(str(l)) for g in blocks] for l in layers]
    return Table(f"per_layer_{m.name}", f"Per layer, {m.name}: CA vs input saliency (Pearson)",
                 ["", *(code_span(g) for g in blocks)], [[f"layer {l}", *(mean_ci(s, CORR) for s in row)]
                                                      for l, row in zip(layers, stats)],
                 ["layer", *(c for g in blocks for c in stat_columns(g))],
                 [[l, *(v for s in row for v in csv_stat(s))] for l, row in zip(layers, stats)])


def deletion_table(models: Sequence[Model], mode: str = "deletion") -> Table | None:
    """AUC per model and group of CA, pooled and full saliency and the random map (text curves if any)."""
    sources = ("ca", "saliency_pooled", "saliency_full", "random")
    rows = []
    for m, g, x in explain_runs(models):
        if auc := x.get(f"{mode}_auc") or {}:
            stats = [lookup(auc, s, curve_kind(auc)) for s in sources]
            rows.append(((m.name, g, next((s["metric"] for s in stats if s), "")), stats))
    paper = ", ".join(f"{display_name(s)} {paper_number(v)}" for s, v in PAPER["deletion_auc_wer"].items())
    return _stats_table(f"{mode}_auc", f"{mode.capitalize()} AUC", ["model", "group", "curve"],
                        [display_name(s) for s in sources], rows, AUC,
                        f"{DIRECTIONS[mode].capitalize()}. Re-decoded (WER- or BLEU-based) curves when the run "
                        "computed them, else the probability curve, not comparable with the paper's WER AUCs."
                        + (f" Paper (WER): {paper}." if mode == "deletion" else ""))


def ground_truth_table(models: Sequence[Model]) -> Table | None:
    """Share of relevance inside the true word span per model and group: CA, best head, saliency, baselines."""
    keys = ("input", "encoder", "uniform", "random")
    rows = []
    for m, g, x in explain_runs(models):
        if truth := x.get("ground_truth") or {}:
            best = best_view(lookup(truth, "ca", "per_head") or {}) or ("", None)
            rows.append(((m.name, g, best[0]), [lookup(truth, "ca", "all"), best[1], *(truth.get(k) for k in keys)]))
    return _stats_table("ground_truth", "Share of relevance inside the true word span (higher = better localised)",
                        ["model", "group", "best head"], ["CA", "best CA head", *(display_name(k) for k in keys)], rows,
                        SHARE, "Uniform map: the chance level.")


def timestamps_table(models: Sequence[Model]) -> Table | None:
    """Mean absolute word-boundary error (ms) per model and group of each timestamp estimator."""
    names = ("ca", "input", "encoder", "ctc")
    return _stats_table("timestamps", "Word timestamps: mean absolute boundary error (ms, lower = better)",
                        ["model", "group"], [display_name(n) for n in names],
                        [((m.name, g), [lookup(x, "timestamps", n, "mae_ms") for n in names])
                         for m, g, x in explain_runs(models) if x.get("timestamps")], MS)


# ---------------------------------------------------------------- report


def agreement_figure(models: Sequence[Model], folder: Path) -> Path | None:
    """Bars with CI of CA vs input and CA vs encoder Pearson per model and group."""
    cells = list(explain_runs(models))
    if not cells:
        return None

    def series(key: str) -> dict[str, list[float]]:
        return {comparison_label(c): [as_float(lookup(x, "pearson", c, "all", key)) for _, _, x in cells]
                for c in COMPARISONS}

    fig = plots.bars_figure([f"{m.name} / {g}" for m, g, _ in cells], series("mean"), series("ci_low"),
                            series("ci_high"), "Pearson r", "CA (all layers and heads) vs saliency, per model/group")
    ax = fig.axes[0]
    if ax.get_legend():  # below the plot, as in probes.report.run.per_layer_figure: inside, it hides bars
        ax.get_legend().remove()
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, frameon=False)
    return plots.save(fig, folder / "agreement_per_model.png")


def _run_figures(study: Path, models: Sequence[Model]) -> list[str]:
    """Each run's layer x head heatmaps and first example utterance, embedded, with a link to its report."""
    parts = []
    for m, g, _ in explain_runs(models):
        run = study / "models" / m.name / "explain" / g
        found = [(comparison_label(n.removeprefix("layer_head_")), run / "figures" / f"{n}.png") for n in HEATMAPS]
        found.append(("example utterance", run / "figures" / "example_1.png"))
        images = [f"![{label}]({p.relative_to(study).as_posix()})" for label, p in found if p.is_file()]
        report = run / "report.md"
        link = f" ([run report]({report.relative_to(study).as_posix()}))" if report.is_file() else ""
        parts.append(f"#### {run_span(m, g)}{link}\n\n" + ("\n\n".join(images) if images else "No figures written by the run."))
    return parts


def _missed(models: Sequence[Model]) -> str:
    """A paragraph naming the explain runs left out because their model missed its target, "" when none."""
    missed = [f"{run_span(m, g)} ({measure} {fmt(v, QUALITY)})" for m, g, measure, v in missed_targets(models)]
    return f"\nLeft out of every table and finding (target missed): {', '.join(missed)}.\n" if missed else ""


def _inline(t: Table | None, empty: str = "No explain runs.") -> str:
    """A table's Markdown and note, or ``empty`` when there is no table."""
    if t is None:
        return empty + "\n"
    return f"{markdown_table(t.header, t.rows)}\n" + (f"\n{t.note}\n" if t.note else "")


def _sections(study: Path, models: Sequence[Model], built: Mapping[str, Table | None], figure: Path | None,
              found: Sequence[Finding]) -> list[str]:
    """The report's sections, in order."""
    per_layer = "\n".join(f"### {code_span(m.name)}\n\n{_inline(t)}" for m in models
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
        f"## Quality\n\n{_inline(built['quality'])}{_missed(models)}",
        f"## Our setting against the paper's\n\n{_inline(built['differences'])}",
        f"## Agreement\n\n{_inline(built['agreement_pearson'])}\n"
        f"### Spearman\n\n{_inline(built['agreement_spearman'])}"
        + (f"\n### At the paper's resolution\n\n{_inline(built['paper_resolution'])}" if built["paper_resolution"] else ""),
        f"## Agreement per layer\n\nCA of each decoder layer (heads averaged) vs input saliency.\n\n{per_layer}\n"
        "### Layer x head heatmaps and an example\n\n" + "\n\n".join(_run_figures(study, models) or ["No explain runs."])
        + "\n" + figure_link,
        f"## Deletion\n\n{_inline(built['deletion'])}{insertion}",
        f"## Ground truth and timestamps\n\n{_inline(built['ground_truth'], 'No ground-truth word spans.')}\n"
        f"### Timestamps\n\n{_inline(built['timestamps'], 'No word timestamps.')}",
        "## Findings of the paper, checked here\n\nVerdicts: replicates (all items, intervals separated where "
        "intervals decide), partly, does not replicate, not testable here (with the reason).\n\n"
        + "\n".join(finding_section(f) for f in found),
    ]


def write_study_report(study: Path, title: str = "Cross-attention vs saliency: study report") -> Path:
    """Write tables/, figures/ and report.md into ``study`` from its models' quality and metrics; returns report.md."""
    study = Path(study)
    models = load_study(study)
    found = findings(models)
    built: dict[str, Table | None] = {
        "findings": findings_table(found), "models": models_table(models), "quality": quality_table(models),
        "differences": differences_table(models), "paper_resolution": resolution_table(models),
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
    """``python -m probes.study.report STUDY [--title T]``: (re)write a study's report."""
    p = argparse.ArgumentParser(prog="python -m probes.study.report", description=main.__doc__)
    p.add_argument("study", type=Path, help="folder with models/<model>/quality.json and explain/<group>/")
    p.add_argument("--title", default="Cross-attention vs saliency: study report")
    a = p.parse_args(argv)
    print(write_study_report(a.study, a.title))


if __name__ == "__main__":
    main()
