"""Study report: several trained models, each explained by evaluate.py, compared with each other and the paper.

A study folder holds::

    models/<model>/quality.json                  name, preset, parameters, languages, tasks, steps, train_minutes,
                                                 wer and cer {lang: %}, bleu {"src-tgt": BLEU}
    models/<model>/explain/<group>/metrics.json  one evaluate.py run per group of rows (asr_en, asr_it, st_en-it),
                                                 with its report.md and figures/ when written

``write_study_report`` adds ``report.md``, ``tables/<name>.md|csv``, ``figures/agreement_per_model.png`` and, with
adaptive paper-resolution runs, ``figures/paper_resolution_budget.png``:
tables across models and the paper's findings, each with a verdict computed from the numbers (``study.findings``).
Numbers are formatted as in ``probes.report.tables``. Every number in report.md is a value of some quality.json or
metrics.json, a reference number (``PAPER``, ``PAPER_EXTRA`` and ``QUALITY_TARGETS`` in ``probes.report.paper``), or one
of the two values computed here (``derived``: the mean over single heads of their mean Pearson, and CA-vs-encoder
minus CA-vs-input Pearson); ``study_numbers_traceable`` checks it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from probes.metrics_layout import Metrics, Stat, agreement, by_cap, caps, linear_truth_share
from probes.records import CA_VS_INPUT
from probes.report import bar_plot, budget_plot, plots
from probes.report.paper import PAPER_EXTRA, PAPER_SETTING, QUALITY_TARGETS
from probes.report.tables import (Table, as_float, code_span, comparison_label, fmt, lookup, markdown_table,
                                  numbers_traceable, write_table)
from s2t.usage import prog
from study.findings import Finding, finding_section, findings, findings_table
from study.models import (ModelResults, corrected, encoder_gain, explain_runs, load_study, mean_of_heads,
                          missed_targets, paper_runs, run_span)
from study.tables import (ALIGNMENT_ANCHORS_MS, COMPARISONS, QUALITY, agreement_table, deletion_table,
                          differences_table, ground_truth_table, models_table, per_layer_table, quality_table,
                          paired_table, resolution_table, spearman_table, timestamps_table)

HEATMAPS = ("layer_head_ca_vs_input", "layer_head_ca_vs_encoder")


# ---------------------------------------------------------------- traceable values


def derived(models: Sequence[ModelResults]) -> dict[str, Any]:
    """The only numbers computed here, by ``model/group``: mean of single heads, encoder minus input gain,
    agreement corrected for the saliency map's reliability."""
    runs = {f"{m.name}/{g}": {"mean_of_heads": {c: mean_of_heads(x, c) for c in COMPARISONS},
                              "encoder_minus_input": encoder_gain(x),
                              "corrected": {c: corrected(x, c, m.settings.get(g)) for c in COMPARISONS}}
            for m, g, x in explain_runs(models)}
    fine = {f"{m.name}/{g}/paper_resolution": {"corrected": corrected(x, CA_VS_INPUT, m.paper_settings.get(g)),
                                                "paired": m.paired.get(g)}
            for m, g, x in paper_runs(models)}
    return {**runs, **fine}


def study_values(models: Sequence[ModelResults]) -> dict[str, Any]:
    """Everything report.md may quote: quality and metrics of every model, derived values, reference numbers."""
    return {"models": {m.name: {"quality": m.quality, "explain": m.groups, "settings": _listed(m.settings),
                                "paper_resolution": m.paper, "paper_settings": _listed(m.paper_settings)}
                       for m in models},
            "derived": derived(models), "reference": {**PAPER_EXTRA, **QUALITY_TARGETS, **_listed(PAPER_SETTING), **ALIGNMENT_ANCHORS_MS}}


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


# ---------------------------------------------------------------- report


def agreement_figure(models: Sequence[ModelResults], folder: Path) -> Path | None:
    """Bars with CI of CA vs input and CA vs encoder Pearson per model and group."""
    cells = list(explain_runs(models))
    if not cells:
        return None

    def series(key: str) -> dict[str, list[float]]:
        return {comparison_label(c): [as_float((agreement(x, c) or {}).get(key)) for _, _, x in cells]
                for c in COMPARISONS}

    fig = bar_plot.bars_figure([f"{m.name} / {g}" for m, g, _ in cells], series("mean"), series("ci_low"),
                            series("ci_high"), "Pearson r", "CA (all layers and heads) vs saliency, per model/group")
    return plots.save(bar_plot.legend_below(fig, 2), folder / "agreement_per_model.png")


Level = Callable[[Metrics, Mapping[str, Any] | None], Stat | None]  # a run's dashed level: of its metrics and pairing
BUDGET_PANELS: tuple[tuple[str, str, Level | None], ...] = (  # panel title, the measure by_cap summarises, its level
    ("split-half reliability of SPES", "split_half", None),
    ("CA vs SPES, Pearson (dashed: coarse maps)", "pearson",
     lambda x, paired: lookup(paired, "runs", "coarse", "ca_vs_input")),
    ("SPES in true spans, linear (dashed: CA)", "span_mass_signed", lambda x, paired: linear_truth_share(x, "ca")),
)


def budget_panels(models: Sequence[ModelResults]) -> dict[str, tuple[dict[str, Any], dict[str, float]]]:
    """What doubling the masks bought in each adaptive paper-resolution run, as ``budget_plot.budget_panels`` draws
    it: per panel of ``BUDGET_PANELS``, each run's summaries at every budget and its dashed level; {} without such
    runs."""
    runs = {f"{m.name} / {g}": (x, m.paired.get(g)) for m, g, x in paper_runs(models) if caps(x, "input")}
    return {title: ({name: by_cap(x, "input", key) for name, (x, _) in runs.items()},
                    {name: level for name, (x, paired) in runs.items()
                     if where and math.isfinite(level := as_float((where(x, paired) or {}).get("mean")))})
            for title, key, where in BUDGET_PANELS} if runs else {}


def budget_figure(models: Sequence[ModelResults], folder: Path) -> Path | None:
    """``budget_panels`` drawn as ``paper_resolution_budget.png`` in ``folder``, None without adaptive runs."""
    if not (panels := budget_panels(models)):
        return None
    return plots.save(budget_plot.budget_panels(panels, "Paper-resolution maps as their masks doubled"),
                      folder / "paper_resolution_budget.png")


def _run_figures(study: Path, models: Sequence[ModelResults]) -> list[str]:
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


def _budget_link(study: Path, budget: Path | None) -> str:
    """The budget figure embedded with what it shows, "" without one."""
    if budget is None:
        return ""
    return (f"\n![Paper-resolution maps as their masks doubled]({budget.relative_to(study).as_posix()})\n\n"
            "Each adaptive paper-resolution run read at every budget it passed: how well its maps reproduce, how "
            "they agree with CA (dashed: the coarse maps on the same utterances), and their linear share in the true "
            "word spans (dashed: CA's). A run rescored after it was made has its linear share at its final maps only.\n")


def _missed(models: Sequence[ModelResults]) -> str:
    """A paragraph naming the explain runs left out because their model missed its target, "" when none."""
    missed = [f"{run_span(m, g)} ({measure} {fmt(v, QUALITY)})" for m, g, measure, v in missed_targets(models)]
    return f"\nLeft out of every table and finding (target missed): {', '.join(missed)}.\n" if missed else ""


def _inline(t: Table | None, empty: str = "No explain runs.") -> str:
    """A table's Markdown and note, or ``empty`` when there is no table."""
    if t is None:
        return empty + "\n"
    return f"{markdown_table(t.header, t.rows)}\n" + (f"\n{t.note}\n" if t.note else "")


def _sections(study: Path, models: Sequence[ModelResults], built: Mapping[str, Table | None], figure: Path | None,
              budget: Path | None, found: Sequence[Finding]) -> list[str]:
    """The report's sections, in order."""
    per_layer = "\n".join(f"### {code_span(m.name)}\n\n{_inline(t)}" for m in models
                          if (t := built[f"per_layer_{m.name}"])) or "No per-layer CA.\n"
    figure_link = (f"\n![CA vs saliency per model and group]({figure.relative_to(study).as_posix()})\n"
                   if figure else "")
    insertion = f"\n### Insertion\n\n{_inline(built['insertion'])}" if built["insertion"] else ""
    return [
        "Models trained (or taken pretrained) and explained in this study, compared with each other and with Papi et al. (Cross-"
        "Attention is Half Explanation in Speech-to-Text Models). Numbers are means over utterances with their "
        "confidence interval [low, high] (Student t); n/a marks an undefined or missing value. Each run's own "
        "report holds its full tables and figures.\n",
        f"## Verdicts\n\n{_inline(built['findings'])}",
        f"## Models\n\n{_inline(built['models'])}",
        f"## Quality\n\n{_inline(built['quality'])}{_missed(models)}",
        f"## Our setting against the paper's\n\n{_inline(built['differences'])}",
        f"## Agreement\n\n{_inline(built['agreement_pearson'])}\n"
        f"### Spearman\n\n{_inline(built['agreement_spearman'])}"
        + (f"\n### At the paper's resolution\n\n{_inline(built['paper_resolution'])}" if built["paper_resolution"] else "")
        + (f"\n#### The same utterances, paired\n\n{_inline(built['paired_resolution'])}"
           if built["paired_resolution"] else "") + _budget_link(study, budget),
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
        "paired_resolution": paired_table(models),
        "agreement_pearson": agreement_table(models), "agreement_spearman": spearman_table(models),
        **{f"per_layer_{m.name}": per_layer_table(m) for m in models},
        "deletion": deletion_table(models), "insertion": deletion_table(models, "insertion"),
        "ground_truth": ground_truth_table(models), "timestamps": timestamps_table(models)}
    for table in built.values():
        if table is not None:
            write_table(table, study / "tables")
    figure, budget = agreement_figure(models, study / "figures"), budget_figure(models, study / "figures")
    path = study / "report.md"
    path.write_text("\n".join([f"# {title}\n", *_sections(study, models, built, figure, budget, found)]))
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m study.report STUDY [--title T]``: (re)write a study's report."""
    p = argparse.ArgumentParser(prog=prog("study.report"), description=main.__doc__)
    p.add_argument("study", type=Path, help="folder with models/<model>/quality.json and explain/<group>/")
    p.add_argument("--title", default="Cross-attention vs saliency: study report")
    a = p.parse_args(argv)
    print(write_study_report(a.study, a.title))


if __name__ == "__main__":
    main()
