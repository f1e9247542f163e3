"""The paper's findings checked on a study, each with a verdict computed from the numbers, and our extra results.

A ``Finding`` holds the paper's claim, our numbers (one line per model, run or pair of models) and a verdict
computed from each item's outcome (``_conclude``): replicates, partly, does not replicate, or not testable here
with the reason. Our extra results (``finding_ground_truth``, ``finding_timestamps``) have no verdict.
Verdicts judge the measured agreements, as the paper's numbers are (its maps' own noise is not published);
agreements corrected for our maps' reliability are quoted beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from probes.metrics_layout import (Metrics, boundary_error, curve_auc, curve_kind, estimators, has_truth, linear_maps,
                                   linear_truth_share, per_head, per_layer, split_half, truth_share)
from probes.records import CA_VS_ENCODER, CA_VS_INPUT
from probes.report.paper import PAPER, PAPER_EXTRA
from probes.report.tables import (AUC, CORR, MS, SHARE, Stat, Table, as_float, best_view, code_span, count,
                                  display_name, fmt, mean_ci, paper_number)
from study.config import group_rows
from study.differences import differences
from study.models import (ENGLISH_ASR, ModelResults, ca_stat, corrected, encoder_gain, explain_runs, mean_of_heads,
                          run_span)

REPLICATES, PARTLY, NOT, UNTESTABLE = "replicates", "partly", "does not replicate", "not testable here"
FULL, SOME, NONE = "full", "some", "none"  # one item's outcome: claim holds with separated intervals / by means / not


@dataclass
class Finding:
    """One claim of the paper checked on the study (or one of our extra results, verdict "")."""

    key: str
    title: str
    claim: str
    ours: list[str]
    verdict: str
    reason: str
    differs: list[str] = field(default_factory=list)  # what differs from the paper's setting, measured


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
    if not as_float(a["mean"]) > as_float(b["mean"]):
        return NONE
    return FULL if as_float(a.get("ci_low")) > as_float(b.get("ci_high")) else SOME


OUTCOME = {FULL: "higher, intervals separated", SOME: "higher, intervals overlap", NONE: "not higher"}


def _finding(key: str, title: str, claim: str, ours: list[str], items: list[str], holds: str, what: str,
             untestable: str, intervals: bool = True, most: bool = False) -> Finding:
    """A finding with its verdict computed from ``items`` (``untestable`` is the reason when there are none)."""
    verdict = _conclude(items, most)
    every, separated = f"most {what}s" if most else f"every {what}", ", intervals separated" if intervals else ""
    overlap = " (or only with overlapping intervals)" if intervals else ""
    reason = {REPLICATES: f"for {every}: {holds}{separated}", PARTLY: f"for some {what}s only: {holds}{overlap}",
              NOT: f"no {what} where {holds}", UNTESTABLE: untestable}[verdict]
    return Finding(key, title, claim, ours, verdict, reason)


def _at_paper_resolution(m: ModelResults) -> str:
    """"; at the paper's resolution ..." for a model whose English ASR group was also explained with the paper's segments."""
    fine = m.paper.get(ENGLISH_ASR)
    if not (s := ca_stat(fine, CA_VS_INPUT)):
        return ""
    noise_free = corrected(fine, CA_VS_INPUT, m.paper_settings.get(ENGLISH_ASR))
    half = (split_half(fine, "input") or {}).get("mean")
    maps = f", maps reproducing at {fmt(half, CORR)} split-half" if half is not None else ""
    return (f"; at the paper's resolution ({count(s)} utterances{maps}): {mean_ci(s, CORR)}"
            + (f", {fmt(noise_free, CORR)} corrected" if math.isfinite(noise_free) else ""))


def finding_half(models: Sequence[ModelResults]) -> Finding:
    """a. CA vs input saliency Pearson in the paper's range, per model (English ASR group)."""
    low, high = PAPER["pearson_ca_vs_input"]["range"]
    ours, items = [], []
    for m in models:
        if s := ca_stat(m.groups.get(ENGLISH_ASR), CA_VS_INPUT):
            lo, hi = (as_float(s.get(k)) for k in ("ci_low", "ci_high"))
            lo, hi = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else (as_float(s["mean"]),) * 2
            where = "above" if lo > high else "below" if hi < low else "overlaps"
            items.append(FULL if where == "overlaps" else NONE)
            noise_free = corrected(m.groups[ENGLISH_ASR], CA_VS_INPUT, m.settings.get(ENGLISH_ASR))
            ceiling = f" ({fmt(noise_free, CORR)} corrected for the saliency map's reliability)" \
                if math.isfinite(noise_free) else ""
            ours.append(f"{code_span(m.name)}: {mean_ci(s, CORR)}{ceiling}, {where} the paper's range"
                        + _at_paper_resolution(m))
    models_ = ", ".join(f"{k} {paper_number(v)}" for k, v in PAPER["pearson_ca_vs_input"].items() if k != "range")
    return _finding("a", "CA explains about half of the input relevance",
                    f"CA (all layers and heads) vs SPES input saliency, Pearson about "
                    f"{paper_number(low)}–{paper_number(high)} ({models_}).", ours, items,
                    "the interval overlaps the paper's range", "model",
                    "no model has an English ASR run with input saliency", intervals=False)


def finding_encoder(models: Sequence[ModelResults]) -> Finding:
    """b. CA agrees more with encoder-output saliency than with input saliency."""
    ours, items = [], []
    for m, g, x in explain_runs(models):
        enc, inp = ca_stat(x, CA_VS_ENCODER), ca_stat(x, CA_VS_INPUT)
        if enc and inp:
            items.append(_above(enc, inp))
            noise_free = [corrected(x, c, m.settings.get(g)) for c in (CA_VS_ENCODER, CA_VS_INPUT)]
            ceiling = f" (corrected for the maps' reliability: encoder {fmt(noise_free[0], CORR)} vs input " \
                f"{fmt(noise_free[1], CORR)})" if all(map(math.isfinite, noise_free)) else ""
            ours.append(f"{run_span(m, g)}: encoder {mean_ci(enc, CORR)} vs input {mean_ci(inp, CORR)}, difference "
                        f"{fmt(encoder_gain(x), CORR)}: {OUTCOME[items[-1]]}{ceiling}")
    low, high = PAPER["pearson_ca_vs_encoder"]["range"]
    return _finding("b", "Encoder-output saliency agrees better",
                    f"CA vs encoder-output saliency reaches {paper_number(low)}–{paper_number(high)}, up to "
                    f"{paper_number(PAPER_EXTRA['encoder_gain_max'])} above CA vs input saliency: part of the gap is "
                    "the encoder's context mixing, part is CA itself.", ours, items, "CA agrees more with the encoder",
                    "run", "no run has both input and encoder-output saliency")


def finding_aggregation(models: Sequence[ModelResults]) -> Finding:
    """c. CA over all layers and heads beats single heads and is not clearly beaten by any head or layer."""
    ours, items = [], []
    for m, g, x in explain_runs(models):
        s = ca_stat(x, CA_VS_INPUT)
        head, layer = best_view(per_head(x, CA_VS_INPUT)), best_view(per_layer(x, CA_VS_INPUT))
        heads = mean_of_heads(x, CA_VS_INPUT)
        if not (s and head and math.isfinite(heads)):
            continue
        beaten = [b for b in (head, layer) if b and _above(b[1], s) == FULL]
        above = as_float(s["mean"]) > heads
        items.append(FULL if above and not beaten else SOME if above else NONE)
        best_layer = f", best layer {layer[0]} {mean_ci(layer[1], CORR)}" if layer else ""
        ours.append(f"{run_span(m, g)}: all {mean_ci(s, CORR)}, mean of heads {fmt(heads, CORR)}, best head {head[0]} "
                    f"{mean_ci(head[1], CORR)}{best_layer}" + (": beaten, intervals separated" if beaten else ""))
    return _finding("c", "Aggregating heads and layers beats single heads",
                    "Single heads are weak and noisy; averaging over heads and layers is more consistent; neither "
                    "a single head nor a single layer suffices.", ours, items,
                    "all layers and heads above the mean head and not clearly beaten by the best head or layer",
                    "run", "no run has per-head CA vs input saliency", intervals=False)


def finding_last_layers(models: Sequence[ModelResults]) -> Finding:
    """d. The best decoder layer (CA vs input) lies in the last half of the decoder."""
    ours, items = [], []
    for m, g, x in explain_runs(models):
        by_layer = per_layer(x, CA_VS_INPUT)
        layers = max((int(l) for l in by_layer), default=0)
        if layers >= 2 and (best := best_view(by_layer)):
            tie = sum(as_float(v.get("mean")) == as_float(best[1]["mean"]) for v in by_layer.values()) > 1
            half = "last" if int(best[0]) > layers / 2 else "first"
            items.append(FULL if half == "last" and not tie else NONE)
            where = "tied" if tie else "the last" if int(best[0]) == layers else f"{half} half"
            ours.append(f"{run_span(m, g)}: best layer {best[0]} of {layers} ({where}), {mean_ci(best[1], CORR)}")
    return _finding("d", "The last decoder layers agree best", "The last decoder layers agree best with saliency.",
                    ours, items, "the best layer is in the last half", "run",
                    "no run has per-layer CA of two or more decoder layers", intervals=False, most=True)


def _pair_finding(key: str, title: str, claim: str, pairs: Sequence[tuple[ModelResults, ModelResults]], holds: str,
                  none: str) -> Finding:
    """Whether the second model of each pair agrees more (English ASR, CA vs input) than the first."""
    ours, items, missing = [], [], []
    for a, b in pairs:
        sa, sb = ca_stat(a.groups.get(ENGLISH_ASR), CA_VS_INPUT), ca_stat(b.groups.get(ENGLISH_ASR), CA_VS_INPUT)
        if sa and sb:
            items.append(_above(sb, sa))
            ours.append(f"{code_span(b.name)} {mean_ci(sb, CORR)} vs {code_span(a.name)} {mean_ci(sa, CORR)}: "
                        f"{OUTCOME[items[-1]]}")
        missing += [m.name for m, s in ((a, sa), (b, sb)) if not s]
    untestable = none if not pairs else "no English ASR agreement for " + ", ".join(
        code_span(n) for n in dict.fromkeys(missing))
    return _finding(key, title, claim, ours, items, holds, "pair", untestable)


def scale_pairs(models: Sequence[ModelResults]) -> list[tuple[ModelResults, ModelResults]]:
    """(smaller, larger) models: trained ones of one kind and two presets; pretrained ones by parameters, whatever else
    differs (Whisper tiny.en and base also differ in being multilingual, as the paper's base and small do)."""
    trained = [m for m in models if not m.quality.get("pretrained")]
    pairs = [(a, b) for a, b in zip(trained, trained[1:]) if a.kind == b.kind and a.preset != b.preset]
    pretrained = sorted((m for m in models if m.quality.get("pretrained")), key=lambda m: m.quality.get("parameters") or 0)
    return pairs + [(a, b) for a, b in zip(pretrained, pretrained[1:])
                    if (a.quality.get("parameters") or 0) < (b.quality.get("parameters") or 0)]


def finding_scale(models: Sequence[ModelResults]) -> Finding:
    """e. Larger models of the same kind agree more (English ASR); pretrained models by size."""
    pairs = scale_pairs(models)
    p = PAPER["pearson_ca_vs_input"]
    return _pair_finding("e", "Larger models agree more",
                         f"CA vs input saliency: base {paper_number(p['base'])}, small {paper_number(p['small'])}, "
                         f"large {paper_number(p['large'])}: the larger models agree somewhat more (scale is "
                         "confounded with multilinguality from base to small; large is not above small).", pairs,
                         "the larger model agrees more", "only one scale per kind of model")


def finding_multilingual(models: Sequence[ModelResults]) -> Finding:
    """f. Multilingual (multi-task) models agree more than the monolingual one of the same preset (English ASR)."""
    pairs = [(a, b) for a in models for b in models
             if a.quality and not a.multilingual and b.multilingual and a.preset and a.preset == b.preset]
    p = PAPER["pearson_ca_vs_input"]
    return _pair_finding("f", "Multilingual, multi-task models agree more",
                         f"The multilingual, multi-task small model ({paper_number(p['small'])}) agrees more than the "
                         f"monolingual base model ({paper_number(p['base'])}), English ASR (confounded with scale).",
                         pairs, "the multilingual model agrees more",
                         "no monolingual and multilingual model of the same preset")


def finding_english(models: Sequence[ModelResults]) -> Finding:
    """g. Within multilingual models, English ASR agrees best; Italian ASR and ST lower."""
    ours, items = [], []
    for m in models:
        en = ca_stat(m.groups.get(ENGLISH_ASR), CA_VS_INPUT)
        for g, x in m.groups.items():
            same_task = group_rows(g) == ENGLISH_ASR  # English ASR of another test set (asr_en@librivox)
            if m.multilingual and en and not same_task and (s := ca_stat(x, CA_VS_INPUT)):
                items.append(_above(en, s))
                ours.append(f"{code_span(m.name)}: {code_span(ENGLISH_ASR)} {mean_ci(en, CORR)} vs {code_span(g)} "
                            f"{mean_ci(s, CORR)}: English {OUTCOME[items[-1]]}")
    return _finding("g", "English ASR agrees best; Italian and ST lower",
                    "Over models, tasks and languages CA vs input saliency spans {}–{}; English ASR agrees best, "
                    "Italian ASR and translation less.".format(
                        *map(paper_number, PAPER["pearson_ca_vs_input"]["range"])),
                    ours, items, "English agrees more", "group pair",
                    "no multilingual model has an English ASR run and another group")


def finding_deletion(models: Sequence[ModelResults]) -> Finding:
    """h. Deletion: saliency (pooled and full) is more faithful than CA."""
    ours, items = [], []
    for m, g, x in explain_runs(models):
        kind = curve_kind(x)
        ca, pooled, full = (curve_auc(x, s, kind) for s in ("ca", "saliency_pooled", "saliency_full"))
        if ca and pooled and full and all(math.isfinite(as_float(s["mean"])) for s in (ca, pooled, full)):
            pair = (_above(pooled, ca), _above(full, ca))
            items.append(FULL if pair == (FULL, FULL) else SOME if SOME in pair or FULL in pair else NONE)
            ours.append(f"{run_span(m, g)} ({code_span(ca['metric'])}): CA {mean_ci(ca, AUC)}, pooled "
                        f"{mean_ci(pooled, AUC)}, full {mean_ci(full, AUC)}")
    paper = ", ".join(f"{display_name(s)} {paper_number(v)}" for s, v in PAPER["deletion_auc_wer"].items())
    return _finding("h", "Saliency is more faithful than CA under deletion",
                    f"Deletion AUC of the WER curve (higher = more faithful): {paper}.", ours, items,
                    "both saliency maps above CA", "run", "no run computed deletion curves")


def _winner(stats: Mapping[str, Stat | None], lowest: bool = False) -> str:
    """Label of the defined summary with the best mean ("n/a" when none)."""
    defined = {k: as_float(s["mean"]) for k, s in stats.items() if s and math.isfinite(as_float(s.get("mean")))}
    return (display_name(min(defined, key=defined.get) if lowest else max(defined, key=defined.get)) if defined
            else "n/a")


def _ranking(models: Sequence[ModelResults], key: str, title: str, claim: str, made: Callable[[Metrics], list[str]],
             names: Sequence[str], stat: Callable[[Metrics, str], Stat | None], spec: str, lowest: bool, best: str,
             none: str) -> Finding:
    """Our extra result: per run, the ``stat`` of each of ``names`` the run ``made`` and the best one (no
    baselines)."""
    ours, winners = [], []
    for m, g, x in explain_runs(models):
        if found := made(x):
            stats = {n: stat(x, n) for n in names if n in found}
            winners.append(_winner({n: s for n, s in stats.items() if n not in ("uniform", "random")}, lowest))
            ours.append(f"{run_span(m, g)}: "
                        + ", ".join(f"{display_name(n)} {mean_ci(s, spec)}" for n, s in stats.items())
                        + f"; {best}: {winners[-1]}")
    reason = none if not winners else f"{best}: " + (f"{winners[0]} in every run" if len(set(winners)) == 1 else
                                                      "differs between runs (" + ", ".join(sorted(set(winners))) + ")")
    return Finding(key, title, claim, ours, "", reason)


LINEAR = ", linear"


def finding_ground_truth(models: Sequence[ModelResults]) -> Finding:
    """Extra: does CA or saliency put more of its mass inside the true word spans?

    Saliency maps are ranked by their linear share (``ground_truth.signed``), which their noise does not bias; a run
    made before it was recorded shows its clipped shares unranked: clipped, a noisy map's noise outside the words
    counts as mass, and CA looks sharper than it is."""
    ours, winners = [], []
    for m, g, x in explain_runs(models):
        if not has_truth(x):
            continue
        ca, uniform = truth_share(x), truth_share(x, "uniform")
        if linear_maps(x):
            stats = {"ca": ca, **{f"{k}{LINEAR}": s for k in ("input", "encoder") if (s := linear_truth_share(x, k))}}
            winners.append(_winner(stats))
            end = f"; most mass in the true spans: {winners[-1]}"
        else:
            stats = {"ca": ca, **{f"{k}, clipped": s for k in ("input", "encoder") if (s := truth_share(x, k))}}
            end = "; not ranked: clipped shares only (made before linear ones were recorded)"
        ours.append(f"{run_span(m, g)}: " + ", ".join(f"{display_name(n)} {mean_ci(s, SHARE)}" for n, s in
                                                      {**stats, "uniform": uniform}.items()) + end)
    if not ours:
        reason = "no run has ground-truth word spans"
    elif not winners:
        reason = "not ranked: no run has linear shares"
    else:
        reason = "most mass in the true spans: " + (f"{winners[0]} in every ranked run" if len(set(winners)) == 1 else
                                                    "differs between runs (" + ", ".join(sorted(set(winners))) + ")")
        reason += "; the other runs predate linear shares, not ranked" if len(winners) < len(ours) else ""
    claim = ("Not measured in the paper (it has no word-level ground truth). Saliency maps are ranked by their linear "
             "share (sums over the unclipped maps, pooled over utterances), which their noise does not bias.")
    return Finding("i", "Ours: which map puts more mass in the true word spans", claim, ours, "", reason)


def finding_timestamps(models: Sequence[ModelResults]) -> Finding:
    """Extra: which timestamp estimator places word boundaries most accurately (MAE, ms)?"""
    return _ranking(models, "j", "Ours: which timestamp estimator is most accurate (MAE, ms)",
                    "The paper motivates the study with CA-based timestamps (Whisper's alignment heads with DTW) "
                    "but does not measure them.", estimators, ("ca", "input", "encoder", "ctc"), boundary_error, MS,
                    True, "most accurate", "no run has word timestamps")


def findings(models: Sequence[ModelResults]) -> list[Finding]:
    """Every paper finding checked on the study, then our extra results."""
    checks = (finding_half, finding_encoder, finding_aggregation, finding_last_layers, finding_scale,
              finding_multilingual, finding_english, finding_deletion, finding_ground_truth, finding_timestamps)
    found = [check(models) for check in checks]
    for f in found:
        if f.verdict in (PARTLY, NOT):
            f.differs = differences(models, f.key)
    return found


def findings_table(found: Sequence[Finding]) -> Table:
    """One row per finding: its title and verdict."""
    rows = [[f.key, f.title, f.verdict or "our result", f.reason] for f in found]
    return Table("findings", "Verdicts", ["", "finding", "verdict", "why"], rows, ["key", "finding", "verdict", "why"],
                 rows)


def finding_section(f: Finding) -> str:
    """One finding: claim, our numbers, verdict with its reason."""
    ours = "\n".join(f"- {line}" for line in f.ours) or "- no numbers for this check."
    end = f"**Verdict: {f.verdict}**: {f.reason}." if f.verdict else f"**Result**: {f.reason}."
    differs = "\n".join(line if line.startswith("  - ") else f"- {line}" for line in f.differs)
    differs = f"\n**What differs from the paper's setting (measured).**\n\n{differs}\n" if differs else ""
    return f"### {f.key}. {f.title}\n\n**Paper.** {f.claim}\n\n**Here.**\n\n{ours}\n\n{end}\n{differs}"
