"""What differs between the paper's setting and ours, measured, beside each finding that does not fully replicate.

Each line quotes numbers of the study's own files (quality.json, metrics.json, settings.json, the paper-resolution
runs) against the paper's setting (``probes.report.paper.PAPER_SETTING``): model size, output vocabulary and tokens per
word, saliency resolution, budget and noise, the normalisation of the comparison, and where relevance falls
against the true word spans. What cannot be measured here (real against synthetic speech) is said as such.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from probes.metrics_layout import has_truth, linear_truth_share, masks_spent, tokens_per_word, truth_share
from probes.records import CA_VS_ENCODER, CA_VS_INPUT
from probes.report.paper import PAPER_SETTING
from probes.report.tables import CORR, SHARE, code_span, fmt, lookup, mean_ci
from study.models import ENGLISH_ASR, ModelResults, ca_stat, corrected, explain_runs, map_reliability, pooling, run_span

Line = str  # one Markdown bullet's text; a sub-bullet starts with "  - "
Run = tuple[ModelResults, str, dict[str, Any]]  # (model, group, metrics)


def _english(models: Sequence[ModelResults]) -> list[Run]:
    """Every English ASR run that met its target."""
    return [(m, g, x) for m, g, x in explain_runs(models) if g == ENGLISH_ASR]


def _spes(m: ModelResults, group: str, paper: bool = False) -> str:
    """"S segments per F frames, M masks" of a run's SPES settings; an adaptive run's budget rule and mean spent."""
    spes = lookup((m.paper_settings if paper else m.settings).get(group), "config", "spes") or {}
    segments = "/".join(str(g) for g in spes.get("granularities") or []) or "n/a"
    masks = f"{spes.get('masks', 'n/a')} masks"
    if target := spes.get("target_reliability"):
        spent = (masks_spent((m.paper if paper else m.groups).get(group), "input") or {}).get("mean")
        masks = (f"{masks} doubled until split-half {target:g}, at most {spes.get('max_masks', 'n/a')}"
                 + (f", {spent:.1f} spent on average" if spent is not None else ""))
    return f"{segments} segments per {PAPER_SETTING['spes_per_frames']} frames, {masks}"


def _per_token(x: dict[str, Any]) -> str:
    """", each token's row z-scored first: P [CI]" when the run has it."""
    token = ca_stat(x, CA_VS_INPUT, "pearson_token")
    return f", each token's row z-scored first {mean_ci(token, CORR)}" if token else ""


def resolution(models: Sequence[ModelResults]) -> list[Line]:
    """Saliency resolution, budget and noise, and the per-token normalisation, per English ASR run."""
    paper = "/".join(map(str, PAPER_SETTING["spes_granularities"]))
    lines = [f"Saliency and comparison: the paper's maps have {paper} segments per "
             f"{PAPER_SETTING['spes_per_frames']} frames and {PAPER_SETTING['spes_masks']} masks, and the released "
             "SPES evaluation z-scores each token's row before comparing; ours are coarser, their noise measured "
             "(r: two mask seeds' Pearson; corrected: the agreement divided by sqrt(r)), both normalisations "
             "reported. CA vs input saliency, English ASR:"]
    for m, g, x in _english(models):
        line = f"{code_span(m.name)}: {_spes(m, g)}, {_noise(x, m.settings.get(g))}{_per_token(x)}"
        fine = m.paper.get(g)
        if s := ca_stat(fine, CA_VS_INPUT):
            line += (f"; at {_spes(m, g, paper=True)} ({s['n']} utterances): {mean_ci(s, CORR)}, "
                     f"{_noise(fine, m.paper_settings.get(g))}{_per_token(fine)}")
        lines.append(f"  - {line}")
    return lines


def _noise(x: dict[str, Any], settings: dict[str, Any] | None) -> str:
    """The input map's two-seed reliability and the agreement corrected for it, or why it is not corrected."""
    rel = map_reliability(x, "input")
    if not rel:
        return "r not measured"
    if pooling(settings) != "avg2d":
        return f"r {mean_ci(rel, CORR)} (avg2d-pooled twins; CA is compared with the {pooling(settings)}-pooled map, " \
               "whose agreement this r cannot correct)"
    return f"r {mean_ci(rel, CORR)}, {fmt(corrected(x, CA_VS_INPUT, settings), CORR)} corrected"


def _vocabulary(runs: Sequence[Run]) -> list[Line]:
    """Output vocabulary and tokens per word of the explained hypotheses of ``runs``."""
    ours = "; ".join(f"{run_span(m, g)} {m.quality.get('vocab_size', 'n/a')} pieces, "
                     f"{mean_ci(tokens_per_word(x), '.2f')} tokens per word" for m, g, x in runs)
    return [f"Vocabulary: near-character pieces, several tokens per word, each attending to part of its word "
            f"({ours}); the paper's {PAPER_SETTING['vocab_size']} word pieces make far fewer (its count is not "
            "published)."] if ours else []


def vocabulary(models: Sequence[ModelResults]) -> list[Line]:
    """Vocabulary and tokens per word of the English ASR runs."""
    return _vocabulary(_english(models))


def size(models: Sequence[ModelResults]) -> list[Line]:
    """Parameters of our models against the paper's."""
    paper = ", ".join(f"{k} {v}" for k, v in PAPER_SETTING["parameters_m"].items())
    ours = ", ".join(f"{code_span(m.name)} {m.quality['parameters']}" for m in models if m.quality.get("parameters"))
    return [f"Size: parameters {ours}, all far below the paper's smallest ({paper} million)."]


def scale(models: Sequence[ModelResults]) -> list[Line]:
    """Size, and each English ASR run's agreement corrected for noise and per token (the scale pairs' measures)."""
    runs = "; ".join(f"{code_span(m.name)}{_per_token(x)}" for m, g, x in _english(models) if not m.multilingual)
    return [*size(models), f"CA vs input saliency per token: {runs}."] if runs else size(models)


def multilingual(models: Sequence[ModelResults]) -> list[Line]:
    """The paper's confound, and CA vs encoder-output saliency of multilingual against monolingual models."""
    lines = []
    for a in models:
        for b in models:
            if a.quality and not a.multilingual and b.multilingual and a.preset == b.preset:
                sa = ca_stat(a.groups.get(ENGLISH_ASR), CA_VS_ENCODER)
                sb = ca_stat(b.groups.get(ENGLISH_ASR), CA_VS_ENCODER)
                if sa and sb:
                    lines.append(f"  - {code_span(b.name)} {mean_ci(sb, CORR)} vs {code_span(a.name)} "
                                 f"{mean_ci(sa, CORR)}")
    head = ("Design: one preset here, while the paper's multilingual model is also about four times larger than its "
            "monolingual one. CA vs encoder-output saliency (the encoder's context mixing taken out), English ASR:")
    return [head, *lines, *vocabulary(models)] if lines else vocabulary(models)


def languages(models: Sequence[ModelResults]) -> list[Line]:
    """Tokens per word and per-token agreement of each group of the multilingual models."""
    runs = [(m, g, x) for m, g, x in explain_runs(models) if m.multilingual]
    tokens = [(m, g, s) for m, g, x in runs if (s := ca_stat(x, CA_VS_INPUT, "pearson_token"))]
    per_token = "; ".join(f"{run_span(m, g)} {mean_ci(s, CORR)}" for m, g, s in tokens)
    return [*_vocabulary(runs), *([f"CA vs input saliency with each token's row z-scored first: {per_token}."]
                                  if per_token else []), SPEECH]


def truth(models: Sequence[ModelResults]) -> list[Line]:
    """Share of CA's and SPES's relevance inside the true word spans, per run: what deletion removes first."""
    def spes(x: Mapping[str, Any]) -> str:
        linear = linear_truth_share(x, "input")
        return (f"SPES {mean_ci(truth_share(x, 'input'), SHARE)}"
                + (f" (linear, its noise discounted: {mean_ci(linear, SHARE)})" if linear else ""))

    runs = "; ".join(f"{run_span(m, g)} CA {mean_ci(truth_share(x), SHARE)}, {spes(x)}, "
                     f"uniform map {mean_ci(truth_share(x, 'uniform'), SHARE)}"
                     for m, g, x in explain_runs(models) if has_truth(x))
    return [f"Our small models' CA lies on the words: much of its relevance is inside the true word spans ({runs}), "
            "so deleting CA's top frames removes the words too (the paper has no ground truth to tell)."] if runs else []


SPEECH = ("Speech: synthetic (espeak-ng voices, sentences of a few seconds) against EuroParl-ST's real speeches; "
          "its effect is not measured here.")
WHAT: dict[str, Callable[[Sequence[ModelResults]], list[Line]]] = {
    "a": lambda models: [*resolution(models), *vocabulary(models), *size(models), SPEECH],
    "e": scale, "f": multilingual, "g": languages, "h": truth,
}


def differences(models: Sequence[ModelResults], key: str) -> list[Line]:
    """Measured differences that could explain finding ``key`` (empty for a finding with none listed)."""
    return WHAT[key](models) if key in WHAT else []
