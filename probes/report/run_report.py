"""Evaluation report: Markdown and CSV tables, figures and ``report.md`` from ``metrics.json`` and the records.

``write_report`` lays out OUTDIR as (tables built by ``run_tables``, figures by ``run_figures``)::

    report.md                    headline numbers next to the paper's, tables inlined, figures linked
    tables/<name>.md, <name>.csv layer_head_<comparison>_<correlation>, aggregated, per_layer,
                                 input_vs_encoder, deletion, ground_truth, timestamps, groups, cost
    figures/*.png                drawn by ``probes.report.plots``

Every number in ``report.md`` comes from ``metrics.json`` (``probes.report.tables.numbers_traceable``
checks it), except the paper's reference numbers, which live in ``PAPER`` (``probes.report.paper``)
and nowhere else. Numbers are formatted as described in ``probes.report.tables``. Sections whose
metrics a run did not compute (no encoder saliency, no ground truth, no re-decoding...) are
left out.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from probes.metrics_layout import (agreement, aligned, baseline, boundary_error, budget_maps, curve_auc, curve_kind,
                                   curve_sources, estimators, explained_count, has_truth, linear_maps,
                                   linear_truth_share, masks_spent, per_head, per_layer, reliability_maps,
                                   saliency_agreement, seconds_per_utterance, seed_reliability, skipped, split_half,
                                   truth_maps, truth_per_head, truth_share, within_tolerance)
from probes.records import CA_VS_ENCODER, CA_VS_INPUT, explained
from probes.report.paper import PAPER
from probes.report.run_figures import (TokenText, WordTimes, write_budget_figures, write_convergence_figures,
                                       write_deletion_figures, write_distributions, write_examples,
                                       write_layer_head_figures, write_per_layer_figure)
from probes.report.run_tables import ordered, tables
from probes.report.tables import (AUC, CORR, MS, SECONDS, SHARE, Table, as_float, best_view, code_span,
                                  comparison_label, count, display_name, fmt, mean_ci, paper_number,
                                  write_table)
from probes.store import read_json, read_records, stored_ids
from s2t.usage import prog

EXAMPLES = 3  # example utterances drawn in a report


def _headline_correlations(metrics: Mapping[str, Any]) -> list[str]:
    """Headline lines of CA vs input and CA vs encoder saliency, next to the paper's range."""
    lines = []
    papers = {CA_VS_INPUT: PAPER["pearson_ca_vs_input"], CA_VS_ENCODER: PAPER["pearson_ca_vs_encoder"]}
    for comparison, paper in papers.items():
        s = agreement(metrics, comparison)
        if s is None:
            continue
        low, high = paper["range"]
        models = ", ".join(f"{m} {paper_number(v)}" for m, v in paper.items() if m != "range")
        lines.append(f"- **{comparison_label(comparison)}** (Pearson, CA averaged over all layers and heads): "
                     f"**{mean_ci(s, CORR)}**, n = {count(s)}. Paper: {paper_number(low)}–{paper_number(high)}"
                     + (f" ({models})." if models else "."))
        layer, head = best_view(per_layer(metrics, comparison)), best_view(per_head(metrics, comparison))
        if layer and head:
            lines.append(f"  - best single layer: layer {layer[0]}, {mean_ci(layer[1], CORR)}; "
                         f"best single head: head {head[0]}, {mean_ci(head[1], CORR)}.")
    if maps := budget_maps(metrics):
        spent = ", ".join(f"{display_name(t)} {mean_ci(split_half(metrics, t), CORR)} at "
                          f"{fmt(masks_spent(metrics, t)['mean'], '.0f')} masks" for t in maps)
        lines.append(f"- Map reliability (split-half, per token, stepped up to the whole map by Spearman-Brown): "
                     f"{spent} (mean masks per utterance).")
    if maps := reliability_maps(metrics):
        twins = ", ".join(f"{display_name(t)} {mean_ci(seed_reliability(metrics, t), CORR)}" for t in maps)
        lines.append(f"- Reliability r of the saliency maps (Pearson of two mask seeds; no agreement with a map "
                     f"can exceed sqrt(r)): {twins}.")
    if s := saliency_agreement(metrics):
        lines.append(f"- SPES input vs encoder-output saliency (Pearson): {mean_ci(s, CORR)}.")
    if s := baseline(metrics, "input", "random"):
        lines.append(f"- Chance level, random map vs SPES input saliency (Pearson): {mean_ci(s, CORR)}.")
    return lines


def _headline_deletion(metrics: Mapping[str, Any]) -> list[str]:
    """Headline line of deletion AUCs, the re-decoded (WER/BLEU) curves next to the paper's WER AUCs."""
    kind = curve_kind(metrics)
    found = {s: c for s in ordered(curve_sources(metrics)) if (c := curve_auc(metrics, s, kind))}
    if not found:
        return []
    metric = next(iter(found.values()))["metric"]
    values = ", ".join(f"{display_name(s)} {mean_ci(c, AUC)}" for s, c in found.items())
    paper = ", ".join(f"{display_name(s)} {paper_number(v)}" for s, v in PAPER["deletion_auc_wer"].items())
    if kind == "text":
        note = f"Paper (WER): {paper}." + ("" if metric == "wer" else f" Ours is `{metric}`-based: compare with care.")
    else:
        note = "Probability curves only (no re-decoding), not comparable with the paper's WER AUCs."
    return [f"- **Deletion AUC** ({code_span(metric)} curve, higher = more faithful): {values}. {note}"]


def _headline_ground_truth(metrics: Mapping[str, Any]) -> list[str]:
    """Headline line of the share of relevance inside the true word spans."""
    if not has_truth(metrics):
        return []
    parts = [f"CA {mean_ci(ca, SHARE)}"] if (ca := truth_share(metrics)) is not None else []
    if best := best_view(truth_per_head(metrics)):
        parts.append(f"best CA head ({best[0]}) {mean_ci(best[1], SHARE)}")
    parts += [f"{display_name(k)} {mean_ci(truth_share(metrics, k), SHARE)}" for k in ordered(truth_maps(metrics))]
    linear = [f"{display_name(k)} {mean_ci(linear_truth_share(metrics, k), SHARE)}" for k in linear_maps(metrics)
              if k != "ca"]
    also = (f"; linear (sums over the unclipped maps pooled over utterances, which noise does not bias): "
            f"{', '.join(linear)}"
            if linear else "")
    return [f"- **Ground truth**, share of relevance inside the true word span: {', '.join(parts)}{also}."]


def _headline_timestamps(metrics: Mapping[str, Any]) -> list[str]:
    """Headline line of the timestamp errors."""
    def part(name: str) -> str:
        error, within = boundary_error(metrics, name), within_tolerance(metrics, name)
        if not math.isfinite(as_float((error or {}).get("mean"))):
            return f"{display_name(name)} n/a (available for {aligned(metrics, name)})"
        return (f"{display_name(name)} {mean_ci(error, MS)} ms (within tolerance "
                f"{fmt((within or {}).get('mean'), SHARE)}, available for {aligned(metrics, name)})")

    parts = [part(n) for n in ordered(estimators(metrics))]
    return [f"- **Word timestamps**, mean absolute boundary error: {'; '.join(parts)}."] if parts else []


def _headline_cost(metrics: Mapping[str, Any]) -> list[str]:
    """Headline line of the seconds per utterance."""
    parts = [f"{stage} {fmt(s, SECONDS)}" for stage, s in seconds_per_utterance(metrics).items()]
    return [f"- **Cost**, seconds per utterance: {', '.join(parts)}."] if parts else []


def headline(metrics: Mapping[str, Any]) -> str:
    """The headline section: the paper's comparisons with our numbers."""
    lines = [*_headline_correlations(metrics), *_headline_deletion(metrics), *_headline_ground_truth(metrics),
             *_headline_timestamps(metrics), *_headline_cost(metrics)]
    return "## Headline\n\n" + ("\n".join(lines) if lines else "No metrics computed.") + "\n"


def _intro(metrics: Mapping[str, Any]) -> str:
    """Utterance count, skipped ids and how to read the numbers."""
    left = skipped(metrics)
    left_out = ("; skipped: " + ", ".join(f"{code_span(k)} ({code_span(v)})" for k, v in left.items())) if left \
        else "; none skipped"
    return (f"{explained_count(metrics)} utterances explained{left_out}. Numbers are means over utterances "
            "with their confidence interval [low, high] (Student t); n/a marks an undefined value, with the reason "
            "in the table notes. The paper's numbers are those of Papi et al. (Cross-Attention is Half Explanation).\n")


def _figure_section(report_dir: Path, heading: str, caption: str, figures: Sequence[Path]) -> str:
    """A figure subsection: heading, one caption, image links relative to the report."""
    links = "\n\n".join(f"![{p.stem.replace('_', ' ')}]({p.relative_to(report_dir).as_posix()})" for p in figures)
    return f"### {heading}\n\n{caption}\n\n{links}\n"


def _example_section(report_dir: Path, examples: Sequence[Path], records: Sequence[Mapping[str, Any]]) -> str:
    """Example figures, each captioned with its utterance id, hypothesis and reference."""
    items = "\n\n".join(f"{example_caption(r)}\n\n![example utterance]({p.relative_to(report_dir).as_posix()})"
                        for p, r in zip(examples, records))
    return ("### Example utterances\n\nSpectrogram, CA averaged over all layers and heads, pooled input saliency "
            f"and encoder-output saliency, one token per row; reference word times when known.\n\n{items}\n")


def _figure_groups(metrics: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
                   folder: Path) -> list[tuple[str, str, list[Path]]]:
    """Draw every summary figure the metrics support; (heading, caption, paths) of each non-empty group."""
    groups = [
        ("Agreement per layer and head", "Pearson of each head's CA with the saliency map. Here the layer mean "
         "averages the heads' correlations; in the tables it correlates the heads' averaged CA, like the overall cell.",
         write_layer_head_figures(metrics, folder)),
        ("Per-utterance agreement", "Pearson per utterance, CA averaged over all layers and heads.",
         [p for p in [write_distributions(records, folder)] if p]),
        ("Agreement per layer", "Pearson of each layer's head-averaged CA, with CI.",
         [p for p in [write_per_layer_figure(metrics, folder)] if p]),
        ("Deletion and insertion curves", "Mean curve over utterances; legend AUCs are the means of the "
         "per-utterance AUCs.", write_deletion_figures(metrics, folder) + write_deletion_figures(metrics, folder, "insertion")),
        ("Map convergence", "Split-half reliability of each utterance's saliency map as the adaptive budget doubled "
         "its masks, until the target or the cap; then what each budget gives, over utterances (the run as if "
         "capped there): a measure that still moves at the last budget has not converged. The clipped share in the "
         "true spans counts a map's noise outside the words as mass, so it rises as the noise falls; the linear one "
         "does not.", write_convergence_figures(records, folder) + write_budget_figures(metrics, folder)),
    ]
    return [g for g in groups if g[2]]


def _tables_section(built: Sequence[Table], folder: Path) -> str:
    """The Pearson tables inlined from their .md files; per-head rank-correlation tables linked."""
    ranks = [t.name for t in built if t.name.startswith("layer_head_") and not t.name.endswith("_pearson")]
    parts = ["## Tables\n", *(f"### {t.title}\n\n{(folder / f'{t.name}.md').read_text()}"
                              for t in built if t.name not in ranks)]
    if ranks:
        parts.append("Per-head rank correlations: " + ", ".join(f"[`{n}`](tables/{n}.md)" for n in ranks) + ".\n")
    return "\n".join(parts)


@dataclass(frozen=True)
class Written:
    """What ``write_report`` wrote: report.md, and every figure with its caption (for loggers)."""

    path: Path
    figures: dict[Path, str]


def example_caption(record: Mapping[str, Any]) -> str:
    """An example figure's caption: the utterance id, hypothesis and reference."""
    return (f"Utterance {code_span(record['id'])}: hypothesis {code_span(record.get('hypothesis', ''))}, reference "
            f"{code_span(record.get('reference', ''))}.")


def write_report(out: Path, metrics: dict, records: list[dict], maps_h5: Path | None, title: str,
                 word_times: WordTimes | None = None, token_text: TokenText | None = None) -> Written:
    """Write tables/, figures/ and report.md into ``out``; returns what it wrote."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    built = tables(metrics)
    for table in built:
        write_table(table, out / "tables")
    done = explained(records)
    groups = _figure_groups(metrics, done, out / "figures")
    shown = stored_ids(Path(maps_h5), done, EXAMPLES) if maps_h5 is not None and Path(maps_h5).is_file() else []
    examples = write_examples(Path(maps_h5), done, out / "figures", EXAMPLES, word_times, token_text) if shown else []
    sections = [f"# {title}\n", _intro(metrics), headline(metrics)]
    if built:
        sections.append(_tables_section(built, out / "tables"))
    if groups or examples:
        sections.append("## Figures\n")
    sections += [_figure_section(out, *group) for group in groups]
    by_id = {r["id"]: r for r in done}
    if examples:
        sections.append(_example_section(out, examples, [by_id[i] for i in shown]))
    path = out / "report.md"
    path.write_text("\n".join(sections))
    figures = {p: f"{heading}. {caption}" for heading, caption, paths in groups for p in paths}
    figures.update({p: example_caption(by_id[i]) for p, i in zip(examples, shown)})
    return Written(path, figures)


# ---------------------------------------------------------------- command line


def report_from_run(run: Path, title: str, out: Path | None = None) -> Path:
    """``write_report`` from a run folder's metrics.json, utterances.jsonl and maps.h5 (if any); report.md's path."""
    return write_report(out or run, read_json(run / "metrics.json"), read_records(run / "utterances.jsonl"),
                        run / "maps.h5", title).path


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m probes.report RUN [--title T] [--out DIR]``: (re)write a run's report."""
    p = argparse.ArgumentParser(prog=prog("probes.report"), description=main.__doc__)
    p.add_argument("run", type=Path, help="folder with metrics.json, utterances.jsonl and maps.h5")
    p.add_argument("--title", default="Cross-attention vs saliency")
    p.add_argument("--out", type=Path, help="where to write (default: the run folder)")
    a = p.parse_args(argv)
    print(report_from_run(a.run, a.title, a.out))
