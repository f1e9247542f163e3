"""Aggregate per-utterance explanation records into ``metrics.json``: means with 95% intervals.

Every number is ``{"mean", "ci_low", "ci_high", "n", "std", "skipped"}`` over utterances
(``probes.metrics.agreement.summarize``: Student-t interval, undefined values skipped and counted); the
layout of the records read is written down in ``probes.records``, whose accessors read every record value here,
and that of ``metrics.json``, written here, in ``probes.metrics_layout``, whose accessors its readers use.

Layers and heads are numbered from 1 in metrics, tables and figures ("2.3": layer 2, head 3), as in
the paper; tensors index them from 0 (``Forced.attention[:, layer - 1, head - 1]``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from probes.metrics.agreement import CORRELATIONS, linear_share, summarize
from probes.records import (Record, baseline_score, baselines, budget, budgets, comparisons, curve, curves, dig,
                            explained, ground_truth, group_name, reliabilities, reliability, saliency_scores, score,
                            seconds, share, share_views, signed, signed_parts, timestamps, views, word_times)


def _number(x: Any) -> float:
    """A record value as a float; None (an undefined value stored as JSON null) is nan."""
    return math.nan if x is None else float(x)


def _summary(values: Iterable[Any]) -> dict[str, float]:
    """``summarize`` as a plain dict."""
    return dataclasses.asdict(summarize(_number(v) for v in values))


def _over(records: Sequence[Record], value: Callable[[Record], Any]) -> dict[str, float]:
    """Summary of one value across records (records lacking it count as skipped)."""
    return _summary(value(r) for r in records)


def _linear_share(parts: Iterable[Any]) -> dict[str, float]:
    """``linear_share`` of utterances' linear share parts as a plain dict."""
    return dataclasses.asdict(linear_share(list(parts)))


def _views(records: Sequence[Record], by_view: Callable[[Record], Any],
           value: Callable[[Record, str], Any]) -> dict[str, Any]:
    """{all, per_layer, per_head} summaries of ``value(record, view)`` over the CA views (those of the first record
    whose ``by_view`` holds them)."""
    specs = list(next((v for r in records if isinstance(v := by_view(r), dict)), {}))

    def over(spec: str) -> dict[str, float]:
        return _over(records, lambda r: value(r, spec))

    return {
        "all": over("all"),
        "per_layer": {s.split(":")[1]: over(s) for s in specs if s.startswith("layer:")},
        "per_head": {s.split(":")[1]: over(s) for s in specs if s.startswith("head:")},
    }


def _correlation(records: Sequence[Record], name: str) -> dict[str, Any]:
    """One correlation's block: every ca_vs_<target> by view, input_vs_encoder, baselines."""
    targets = sorted({k for r in records for k in comparisons(r)})
    block: dict[str, Any] = {}
    for target in targets:
        block[target] = _views(records, lambda r: views(r, target), lambda r, view: score(r, target, view, name))
    if any(saliency_scores(r) for r in records):
        block["input_vs_encoder"] = _over(records, lambda r: dig(saliency_scores(r), name))
    names = sorted({k for r in records for k in baselines(r)})
    block["baselines"] = {t: {b: _over(records, lambda r: baseline_score(r, t, b, name)) for b in ("uniform", "random")}
                          for t in names}
    return block


def _deletion(records: Sequence[Record], mode: str = "deletion") -> dict[str, Any]:
    """AUC summaries per relevance source and curve kind (of deletion or insertion), with the mean curve."""
    out: dict[str, Any] = {}
    sources = sorted({s for r in records for s in curves(r, mode)})
    for source in sources:
        out[source] = {}
        for kind in ("prob", "text"):
            found = [c for r in records if (c := curve(r, mode, source, kind))]
            if found:
                mean_curve = [sum(c["scores"][k] for c in found) / len(found) for k in range(len(found[0]["scores"]))]
                out[source][kind] = {**_summary(c["auc"] for c in found), "metric": found[0]["metric"],
                                     "percents": found[0]["percents"], "mean_scores": mean_curve}
    return out


def _ground_truth(records: Sequence[Record]) -> dict[str, Any]:
    """Span-mass summaries: CA by view, each saliency map, the baselines."""
    scored = [r for r in records if ground_truth(r)]
    if not scored:
        return {}
    out: dict[str, Any] = {"ca": _views(scored, share_views, lambda r, view: share(r, "ca", view))}
    keys = sorted({k for r in scored for k in ground_truth(r) if k not in ("ca", "scored_tokens", "signed")})
    out.update({k: _over(scored, lambda r: share(r, k)) for k in keys})
    if maps := sorted({k for r in scored for k in signed(r)}):
        out["signed"] = {k: _linear_share(signed_parts(r, k) for r in scored) for k in maps}
    return out


def alignment_heads(ground_truth: dict[str, Any]) -> list[list[Any]]:
    """CA heads ranked by their mass inside the true word spans, best first: pick alignment heads from it."""
    per_head = (ground_truth.get("ca") or {}).get("per_head", {})
    ranked = [[head, s["mean"]] for head, s in per_head.items() if s["n"]]
    return sorted(ranked, key=lambda item: -item[1])


PER_HEAD_COLUMNS = ["layer", "head", "mean", "ci_low", "ci_high"]


def per_head_grid(per_head: Mapping[str, Any]) -> np.ndarray:
    """(L, H) array of per-head means from ``{"l.h": summary}`` (nan where undefined or missing)."""
    pairs = [tuple(int(p) for p in key.split(".")) for key in per_head]  # 1-based (layer, head)
    grid = np.full((max((l for l, _ in pairs), default=0), max((h for _, h in pairs), default=0)), np.nan)  # (L, H)
    for (layer, head), key in zip(pairs, per_head):
        if (mean := (per_head[key] or {}).get("mean")) is not None:
            grid[layer - 1, head - 1] = mean
    return grid


def per_head_rows(per_head: dict[str, Any]) -> list[list[Any]]:
    """Rows ``[layer, head, mean, ci_low, ci_high]`` of a ``per_head`` block, for W&B tables."""
    return [[*map(int, key.split(".")), v["mean"], v["ci_low"], v["ci_high"]] for key, v in per_head.items()]


def _timestamps(records: Sequence[Record]) -> dict[str, Any]:
    """Boundary error summaries of each estimator (ms, and share within tolerance)."""
    scored = [r for r in records if timestamps(r)]
    names = sorted({k for r in scored for k in timestamps(r)})
    return {n: {"mae_ms": _over(scored, lambda r: dig(word_times(r, n), "mae_ms")),
                "within": _over(scored, lambda r: dig(word_times(r, n), "within")),
                "available": sum(1 for r in scored if word_times(r, n) is not None)} for n in names}


def _baselines(metrics: dict[str, Any]) -> dict[str, Any]:
    """The uniform and random rows of every family in one place."""
    out = {name: metrics[name]["baselines"] for name in CORRELATIONS}
    for family in ("deletion_auc", "insertion_auc", "timestamps"):
        out[family] = {k: metrics[family][k] for k in ("uniform", "random") if k in metrics[family]}
    out["ground_truth"] = {k: metrics["ground_truth"][k] for k in ("uniform", "random") if k in metrics["ground_truth"]}
    return out


def _headline(records: Sequence[Record]) -> dict[str, Any]:
    """The main numbers of a subset of records."""
    return {
        "n": len(records),
        "pearson": {k: _over(records, lambda r: score(r, k)) for k in ("ca_vs_input", "ca_vs_encoder")},
        "ground_truth_ca": _over(records, lambda r: share(r, "ca")),
    }


def _hypothesis_lengths(records: Sequence[Record]) -> dict[str, Any]:
    """Summaries of the explained hypotheses' length in tokens and in tokens per word (records lacking them skipped)."""
    tokens = [len(r["tokens"]) if "tokens" in r else None for r in records]
    words = [len(r["hypothesis"].split()) if r.get("hypothesis") else None for r in records]
    return {"tokens": _summary(tokens),
            "tokens_per_word": _summary(t / w if t is not None and w else None for t, w in zip(tokens, words))}


CAPPED = ("masks", "split_half", "pearson", "pearson_token", "span_mass", "span_mass_signed")  # what ``at_cap`` gives
# (span_mass_signed: the linear share's parts, only in records made since they are recorded)


def at_cap(spent: Mapping[str, Any], cap: int) -> dict[str, Any] | None:
    """One occlusion map's budget record (``budget.<map>``) as if its adaptive run had been capped at ``cap`` masks:
    the masks, split-half reliability, Pearson with the mean CA and span masses of its last doubling within the cap.

    None when the first doubling already spent more, or the record has no per-doubling scores.
    """
    checks = [(check, scores) for check, scores in zip(spent.get("rounds") or [], spent.get("by_round") or [])
              if scores["masks"] <= cap]
    if not checks:
        return None
    (masks, half), scores = checks[-1]
    return {"masks": masks, "split_half": half, "pearson": scores["ca"]["pearson"],
            "pearson_token": scores["ca"].get("pearson_token"), "span_mass": scores["span_mass"],
            **({"span_mass_signed": parts} if isinstance(parts := scores.get("span_mass_signed"), dict) else {})}


def _by_cap(records: Sequence[Record], target: str) -> dict[str, Any]:
    """``at_cap`` summarised over utterances, at the doublings of the first round below the most any utterance spent,
    and at that most (a run's top-ups near its target add no budgets of their own)."""
    spent = [found for r in records if (found := budget(r, target)) and found.get("by_round")]
    caps = []
    if spent:
        cap, most = min(s["by_round"][0]["masks"] for s in spent), max(s["by_round"][-1]["masks"] for s in spent)
        while cap < most:
            caps.append(cap)
            cap *= 2
        caps.append(most)
    return {str(cap): {k: (_linear_share if k == "span_mass_signed" else _summary)(c and c.get(k) for c in capped)
                       for k in CAPPED if any(c and k in c for c in capped)}
            for cap in caps for capped in [[at_cap(s, cap) for s in spent]]}


def summarize_records(records: Sequence[Record]) -> dict[str, Any]:
    """``metrics.json`` content of a set of per-utterance records (skipped ones counted, not averaged)."""
    done = explained(records)
    metrics: dict[str, Any] = {
        "utterances": len(done),
        "skipped": {r["id"]: r["skipped"] for r in records if r.get("skipped")},
    }
    metrics.update({name: _correlation(done, name) for name in CORRELATIONS})
    metrics["deletion_auc"] = _deletion(done)
    metrics["insertion_auc"] = _deletion(done, "insertion")
    metrics["ground_truth"] = _ground_truth(done)
    metrics["alignment_heads"] = alignment_heads(metrics["ground_truth"])
    metrics["timestamps"] = _timestamps(done)
    targets = sorted({t for r in done for t in reliabilities(r)})
    metrics["reliability"] = {t: _over(done, lambda r: reliability(r, t)) for t in targets}
    metrics["hypothesis"] = _hypothesis_lengths(done)
    spent = sorted({t for r in done for t in budgets(r)})
    metrics["budget"] = {t: {k: _over(done, lambda r: dig(budget(r, t), k)) for k in ("masks", "split_half")}
                         for t in spent}
    for t in spent:
        if by_cap := _by_cap(done, t):
            metrics["budget"][t]["by_cap"] = by_cap
    metrics["baselines"] = _baselines(metrics)
    stages = sorted({s for r in done for s in seconds(r)})
    metrics["seconds_per_utterance"] = {s: _over(done, lambda r: seconds(r).get(s))["mean"] for s in stages}
    groups: dict[str, list[Record]] = {}
    for r in done:
        groups.setdefault(group_name(r), []).append(r)
    metrics["groups"] = {g: _headline(rs) for g, rs in sorted(groups.items())}
    return metrics


def json_ready(x: Any) -> Any:
    """``x`` with nan and infinities replaced by None (strict JSON)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    return x


def scalars(metrics: dict[str, Any], prefix: str = "probe") -> dict[str, float]:
    """The headline means of ``metrics`` as flat ``prefix/...`` scalars for loggers (undefined ones left out)."""
    out: dict[str, float] = {}

    def put(key: str, summary: Any) -> None:
        if isinstance(summary, dict) and summary.get("mean") is not None and math.isfinite(summary["mean"]):
            out[f"{prefix}/{key}"] = float(summary["mean"])

    for name in CORRELATIONS:
        for target, block in metrics.get(name, {}).items():
            if target.startswith("ca_vs_"):
                put(f"{name}/{target}/all", block["all"])
                for layer, summary in block["per_layer"].items():
                    put(f"{name}/{target}/layer{layer}", summary)
            elif target == "input_vs_encoder":
                put(f"{name}/{target}", block)
    for mode in ("deletion_auc", "insertion_auc"):
        for source, kinds in metrics.get(mode, {}).items():
            for kind, summary in kinds.items():
                put(f"{mode}/{source}/{kind}", summary)
    for name, value in metrics.get("ground_truth", {}).items():
        if name == "signed":
            for source, summary in value.items():
                put(f"ground_truth/signed/{source}", summary)
        else:
            put(f"ground_truth/{name}", value.get("all") if name == "ca" else value)
    for name, value in metrics.get("timestamps", {}).items():
        put(f"timestamps/{name}/mae_ms", value["mae_ms"])
    for name, value in metrics.get("reliability", {}).items():
        put(f"reliability/{name}", value)
    for name, value in metrics.get("budget", {}).items():
        put(f"budget/{name}/masks", value["masks"])
        put(f"budget/{name}/split_half", value["split_half"])
    return out
