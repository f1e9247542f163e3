"""The study report: tables across models, every number traceable, verdicts computed as designed."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from probes.metrics.summary import summarize_records
from probes.store import write_json
from study import findings as fd
from study import report as sr
from study.differences import resolution
from study.models import load_study

LAYERS, HEADS, UTTERANCES = 3, 2, 4
RELIABILITY = 0.64  # every saliency map's seed-to-seed Pearson: agreements divide by 0.8 when corrected
CORRELATIONS = ("pearson", "spearman", "kendall")


def _corr(value: float) -> dict[str, float]:
    """Pearson ``value``; Spearman and Kendall a little lower."""
    return {"pearson": value, "spearman": value - 0.05, "kendall": value - 0.1}


def _views(r: float, noise: float) -> dict[str, dict[str, float]]:
    """CA views around ``r``: later layers better (the last one as good as all heads), single heads lower."""
    views = {"all": _corr(r + noise)}
    views.update({f"layer:{l}": _corr(r - 0.05 * (LAYERS - l) + noise) for l in range(1, LAYERS + 1)})
    views.update({f"head:{l}.{h}": _corr(r - 0.1 - 0.05 * (h - 1) - 0.05 * (LAYERS - l) + noise)
                  for l in range(1, LAYERS + 1) for h in range(1, HEADS + 1)})
    return views


def _curve(auc: float, metric: str) -> dict[str, Any]:
    """A flat deletion curve with area ``auc``."""
    return {"auc": auc, "metric": metric, "percents": [0.0, 50.0, 100.0], "scores": [auc] * 3}


def record(uid: str, group: str, r_in: float, r_enc: float | None, seed: int) -> dict[str, Any]:
    """An utterances.jsonl record of ``group`` (``asr_en``, ``st_en-it``); no encoder saliency if ``r_enc`` is None."""
    task, langs = group.split("_")
    src, tgt = (langs.split("-") * 2)[:2]
    noise = np.random.default_rng(seed).normal(0, 0.01, 4)
    targets = {"input": r_in} if r_enc is None else {"input": r_in, "encoder": r_enc}
    agreement: dict[str, Any] = {f"ca_vs_{t}": _views(r, noise[0]) for t, r in targets.items()}
    agreement["baselines"] = {t: {"uniform": dict.fromkeys(CORRELATIONS), "random": _corr(noise[1])} for t in targets}
    metric = "wer" if task == "asr" else "100-bleu"
    return {
        "id": uid, "task": task, "src_lang": src, "tgt_lang": tgt, "agreement": agreement,
        "ground_truth": {"ca": {"all": 0.6 + noise[2], **{f"head:{l}.{h}": 0.5 + 0.1 * h for l in range(1, LAYERS + 1)
                                                          for h in range(1, HEADS + 1)}},
                         "input": 0.4 + noise[3], "encoder": 0.45, "uniform": 0.25, "random": 0.27},
        "deletion": {s: {"text": _curve(a + 10 * noise[2], metric)}
                     for s, a in (("ca", 40.0), ("saliency_pooled", 50.0), ("saliency_full", 90.0), ("random", 20.0))},
        "timestamps": {"ca": {"mae_ms": 80.0 + noise[3], "within": 0.5}, "input": {"mae_ms": 60.0, "within": 0.6},
                       "encoder": {"mae_ms": 70.0, "within": 0.6}, "ctc": {"mae_ms": 40.0 + noise[1], "within": 0.9}},
        "reliability": {t: RELIABILITY for t in targets},
    }


def add_model(study: Path, name: str, preset: str, languages: list[str], tasks: list[str],
              groups: dict[str, tuple[float, float | None]], signed: dict[str, dict[str, float]] | None = None) -> None:
    """quality.json and one metrics.json per group (group -> (CA vs input, CA vs encoder Pearson)); ``signed``: the
    records' linear true-span share parts (none without)."""
    folder = study / "models" / name
    folder.mkdir(parents=True)
    quality = {"name": name, "experiment": f"configs/experiment/{name}.yaml", "preset": preset,
               "parameters": 4260000 if preset == "xs" else 31500000, "languages": languages, "tasks": tasks,
               "steps": 1400, "train_minutes": 20.1, "wer": {lang: 12.4 + k for k, lang in enumerate(languages)},
               "cer": {lang: 5.1 for lang in languages},
               "bleu": {"en-it": 41.0, "it-en": 38.5} if "st" in tasks else {}}
    write_json(folder / "quality.json", quality)
    for k, (group, (r_in, r_enc)) in enumerate(groups.items()):
        run = folder / "explain" / group
        run.mkdir(parents=True)
        records = [record(f"{group}{u}", group, r_in, r_enc, seed=100 * k + u) for u in range(UTTERANCES)]
        for r in records if signed else ():
            r["ground_truth"]["signed"] = signed
        write_json(run / "metrics.json", summarize_records(records))
        write_json(run / "settings.json", {"config": {"pooling": "avg2d"}})  # averaged maps: their agreement corrects


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mono and multilingual xs models explained; an s model trained but not explained (scale not testable)."""
    root = tmp_path_factory.mktemp("study")
    add_model(root, "en_asr_xs", "xs", ["en"], ["asr"], {"asr_en": (0.58, 0.72)})
    add_model(root, "multi_asr_st_xs", "xs", ["en", "it"], ["asr", "st"],
              {"asr_en": (0.63, 0.78), "asr_it": (0.45, 0.60), "st_en-it": (0.40, None)})
    add_model(root, "en_asr_s", "s", ["en"], ["asr"], {})
    figure = root / "models" / "en_asr_xs" / "explain" / "asr_en" / "figures" / "layer_head_ca_vs_input.png"
    figure.parent.mkdir()
    figure.write_bytes(b"png")  # as if evaluate.py had written the run's report
    sr.write_study_report(root, "Toy study")
    return root


def test_sections_tables_and_figure_are_written(study: Path) -> None:
    text = (study / "report.md").read_text()
    for heading in ("## Verdicts", "## Models", "## Quality", "## Agreement", "## Agreement per layer", "## Deletion",
                    "## Ground truth and timestamps", "## Findings of the paper, checked here"):
        assert f"\n{heading}\n" in text, heading
    for name in ("findings", "models", "quality", "agreement_pearson", "agreement_spearman", "per_layer_en_asr_xs",
                 "per_layer_multi_asr_st_xs", "deletion_auc", "ground_truth", "timestamps"):
        rows = list(csv.reader((study / "tables" / f"{name}.csv").open()))
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows), name
        assert (study / "tables" / f"{name}.md").read_text().startswith("| "), name
    assert not (study / "tables" / "insertion_auc.csv").exists()  # no insertion curves in the records
    assert (study / "figures" / "agreement_per_model.png").stat().st_size > 0
    assert "](figures/agreement_per_model.png)" in text
    assert "](models/en_asr_xs/explain/asr_en/figures/layer_head_ca_vs_input.png)" in text


def test_every_number_is_traceable(study: Path) -> None:
    text = (study / "report.md").read_text()
    assert sr.study_numbers_traceable(text, study) == []
    assert sr.study_numbers_traceable(text + "\ninvented 0.987654 and 1717.", study) == ["0.987654", "1717"]


def test_verdicts_are_as_designed(study: Path) -> None:
    verdicts = {f.key: f.verdict for f in fd.findings(load_study(study))}
    assert verdicts == {"a": fd.REPLICATES, "b": fd.REPLICATES, "c": fd.REPLICATES, "d": fd.REPLICATES,
                        "e": fd.UNTESTABLE, "f": fd.REPLICATES, "g": fd.REPLICATES, "h": fd.REPLICATES,
                        "i": "", "j": ""}
    text = (study / "report.md").read_text()
    assert "**Verdict: not testable here**: no English ASR agreement for `en_asr_s`" in text
    assert "best layer 3 of 3 (the last)" in text and "most accurate: CTC" in text


def test_maps_are_ranked_on_the_true_words_by_their_linear_shares_only(tmp_path: Path) -> None:
    add_model(tmp_path, "en_asr_xs", "xs", ["en"], ["asr"], {"asr_en": (0.58, 0.72)},
              signed={"ca": {"inside": 0.6, "net": 1.0}, "input": {"inside": 0.35, "net": 0.5},
                      "encoder": {"inside": 0.65, "net": 1.0}})  # linear 0.7 for input; clipped: CA 0.6 ahead of 0.4
    add_model(tmp_path, "en_asr_s", "s", ["en"], ["asr"], {"asr_en": (0.6, 0.7)})  # clipped shares only
    found = next(f for f in fd.findings(load_study(tmp_path)) if f.key == "i")
    ranked, unranked = found.ours
    assert ranked.startswith("`en_asr_xs/asr_en`") and "SPES input saliency, linear 0.700" in ranked
    assert ranked.endswith("most mass in the true spans: SPES input saliency, linear")
    assert "SPES input saliency, clipped 0." in unranked and ", linear" not in unranked and "not ranked" in unranked
    assert found.reason == ("most mass in the true spans: SPES input saliency, linear in every ranked run; the other "
                            "runs predate linear shares, not ranked")


def test_finding_a_quotes_the_agreement_corrected_for_the_maps_reliability(study: Path) -> None:
    models = load_study(study)
    (a,) = [f for f in fd.findings(models) if f.key == "a"]
    line = next(line for line in a.ours if "en_asr_xs" in line)
    mean = next(m for m in models if m.name == "en_asr_xs").groups["asr_en"]["pearson"]["ca_vs_input"]["all"]["mean"]
    assert f"({mean / 0.8:.3f} corrected for the saliency map's reliability)" in line


def test_model_without_explain_runs_is_listed_in_quality_only(study: Path) -> None:
    quality = (study / "tables" / "quality.md").read_text()
    agreement = (study / "tables" / "agreement_pearson.md").read_text()
    assert "`en_asr_s`" in quality and "`en_asr_s`" not in agreement
    models = {row["model"]: row for row in csv.DictReader((study / "tables" / "models.csv").open())}
    assert models["en_asr_s"]["explained"] == "" and models["en_asr_s"]["parameters"] == "31500000"
    assert "`st_en-it`" in agreement and "not computed" in agreement  # no encoder saliency for ST


def test_one_model_study_says_not_testable_and_still_traceable(tmp_path: Path) -> None:
    add_model(tmp_path, "en_asr_xs", "xs", ["en"], ["asr"], {"asr_en": (0.90, 0.70)})
    text = sr.write_study_report(tmp_path).read_text()
    verdicts = {f.key: f.verdict for f in fd.findings(load_study(tmp_path))}
    assert verdicts["a"] == verdicts["b"] == fd.NOT  # 0.90 is above the paper's range; encoder lower
    assert verdicts["e"] == verdicts["f"] == verdicts["g"] == fd.UNTESTABLE
    assert "above the paper's range" in text and sr.study_numbers_traceable(text, tmp_path) == []


def test_empty_or_unexplained_study_does_not_crash(tmp_path: Path) -> None:
    (tmp_path / "models" / "bare").mkdir(parents=True)  # no quality.json, no explain runs
    text = sr.write_study_report(tmp_path).read_text()
    assert "no quality.json" in text and "No explain runs." in text
    assert all(f.verdict in ("", fd.UNTESTABLE) for f in fd.findings(load_study(tmp_path)))
    assert sr.study_numbers_traceable(text, tmp_path) == []


def test_verdict_rules() -> None:
    assert fd._conclude([]) == fd.UNTESTABLE
    assert fd._conclude([fd.FULL, fd.FULL]) == fd.REPLICATES
    assert fd._conclude([fd.FULL, fd.SOME]) == fd._conclude([fd.NONE, fd.SOME]) == fd.PARTLY
    assert fd._conclude([fd.FULL, fd.FULL, fd.NONE], most=True) == fd.REPLICATES
    assert fd._conclude([fd.NONE, fd.NONE]) == fd.NOT


def test_finding_b_quotes_both_agreements_corrected_for_the_maps_reliability(study: Path) -> None:
    models = load_study(study)
    (b,) = [f for f in fd.findings(models) if f.key == "b"]
    line = next(line for line in b.ours if "en_asr_xs" in line)
    pearson = next(m for m in models if m.name == "en_asr_xs").groups["asr_en"]["pearson"]
    enc, inp = (pearson[f"ca_vs_{t}"]["all"]["mean"] / 0.8 for t in ("encoder", "input"))
    assert f"(corrected for the maps' reliability: encoder {enc:.3f} vs input {inp:.3f})" in line


def test_a_group_whose_target_was_missed_draws_no_finding(tmp_path: Path) -> None:
    add_model(tmp_path, "multi_asr_st_xs", "xs", ["en", "it"], ["asr", "st"],
              {"asr_en": (0.63, 0.78), "st_it-en": (0.40, None)})  # it-en BLEU 38.5 misses 40
    text = sr.write_study_report(tmp_path).read_text()
    agreement = (tmp_path / "tables" / "agreement_pearson.md").read_text()
    assert "`asr_en`" in agreement and "`st_it-en`" not in agreement
    assert "Left out of every table and finding (target missed): `multi_asr_st_xs/st_it-en` (BLEU it-en 38.5)." in text
    assert sr.study_numbers_traceable(text, tmp_path) == []


RESULTS = Path(__file__).resolve().parents[2] / "results"


@pytest.mark.parametrize("name", ["study", "demo_paper", "whisper"])
def test_committed_study_report_rebuilds_identically_and_every_number_traces(tmp_path: Path, name: str) -> None:
    import shutil

    committed = RESULTS / name
    if not (committed / "report.md").is_file():
        pytest.skip(f"no committed results in {committed} (make study-results)")
    copy = tmp_path / name
    shutil.copytree(committed, copy)
    (copy / "report.md").unlink()
    rebuilt = sr.write_study_report(copy).read_text()
    assert rebuilt == (committed / "report.md").read_text()
    assert sr.study_numbers_traceable(rebuilt, committed) == []


def test_paper_resolution_runs_are_tabled_and_quoted(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "study"
    add_model(root, "en_asr_xs", "xs", ["en"], ["asr"], {"asr_en": (0.58, 0.72)})
    fine = root / "models" / "en_asr_xs" / "paper_resolution" / "asr_en"
    fine.mkdir(parents=True)
    records = [record(f"fine{u}", "asr_en", 0.32, None, seed=7 + u) for u in range(UTTERANCES)]
    for u, r in enumerate(records):  # an adaptive budget: masks doubled from 8,192 until the map reproduced; one seed
        r["budget"] = {"input": {"masks": 8192 * 2 ** (u % 2 + 3), "split_half": 0.9 + 0.01 * u}}
        del r["reliability"]
    write_json(fine / "metrics.json", summarize_records(records))
    write_json(fine / "settings.json", {"config": {"spes": {"granularities": [2000, 2500, 3000], "masks": 8192,
                                                            "target_reliability": 0.9, "max_masks": 131072},
                                             "pooling": "avg2d"}})
    text = sr.write_study_report(root).read_text()
    mean = load_study(root)[0].paper["asr_en"]["pearson"]["ca_vs_input"]["all"]["mean"]
    assert "### At the paper's resolution" in text
    row = next(line for line in text.splitlines() if line.startswith("| `en_asr_xs` | `asr_en` | paper's |"))
    masks, half = np.mean([r["budget"]["input"]["masks"] for r in records]), 0.9 + 0.01 * np.mean(range(UTTERANCES))
    assert f"| 2000/2500/3000 | {masks:.0f} |" in row and f"| {mean:.3f} [" in row
    assert f"| {half:.3f} [" in row and "| not measured |" in row  # split-half measured, no second seed
    coarse = next(line for line in text.splitlines() if line.startswith("| `en_asr_xs` | `asr_en` | study's |"))
    assert f"| {RELIABILITY:.3f} [" in coarse  # the study's runs measured two seeds
    assert f"at the paper's resolution ({UTTERANCES} utterances, maps reproducing at {half:.3f} split-half): {mean:.3f}" in text
    # what differs, had the finding not replicated: the budget rule
    assert f"8192 masks doubled until split-half 0.9, at most 131072, {masks:.1f} spent on average ({UTTERANCES} utt" \
        in resolution(load_study(root))[1]
    assert sr.study_numbers_traceable(text, root) == []
    shutil.rmtree(fine)  # without the run, no table and no quote
    text = sr.write_study_report(root).read_text()
    assert "At the paper's resolution" not in text and "at the paper's resolution" not in text


def test_paper_resolution_runs_are_paired_with_the_coarse_maps_utterance_by_utterance(tmp_path: Path) -> None:
    """The paper-resolution utterances are read in both runs (the coarse run explained more), the adaptive run also
    at its first doubling, and every difference is a mean of per-utterance differences."""
    import json

    from probes.metrics.agreement import summarize

    root = tmp_path / "study"
    add_model(root, "en_asr_xs", "xs", ["en"], ["asr"], {"asr_en": (0.58, 0.72)})
    model = root / "models" / "en_asr_xs"
    coarse = {f"u{u}": 0.3 + 0.1 * u for u in range(4)}  # CA vs input of each utterance's coarse map
    first, final = {"u0": 0.2, "u1": 0.5, "u2": 0.3}, {"u0": 0.4, "u1": 0.5, "u2": 0.6}  # fine maps: 3 utterances

    def write(folder: Path, records: list[dict[str, Any]]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "utterances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        write_json(folder / "metrics.json", summarize_records(records))
        write_json(folder / "settings.json", {"config": {"pooling": "avg2d"}})

    def with_ca(u: str, r: float) -> dict[str, Any]:
        out = record(u, "asr_en", r, None, seed=3)
        out["agreement"]["ca_vs_input"]["all"]["pearson"] = r
        return out

    write(model / "explain" / "asr_en", [with_ca(u, r) for u, r in coarse.items()])
    fine = []
    for u, r in final.items():
        rec = with_ca(u, r)  # u1 reached its target at once: one doubling
        checks = [(8192, 0.95, r)] if u == "u1" else [(8192, 0.6, first[u]), (16384, 0.92, r)]
        rec["budget"] = {"input": {"masks": checks[-1][0], "split_half": checks[-1][1],
                                   "rounds": [[m, h] for m, h, _ in checks],
                                   "by_round": [{"masks": m, "ca": {"pearson": c, "pearson_token": c}, "span_mass": 0.4}
                                                for m, _, c in checks]}}
        fine.append(rec)
    write(model / "paper_resolution" / "asr_en", fine)
    text = sr.write_study_report(root).read_text()
    assert "#### The same utterances, paired" in text
    rows = {line.split(" | ")[2]: line for line in text.splitlines() if line.startswith("| `en_asr_xs` | `asr_en` |")}

    def cell(values: list[float]) -> str:
        s = summarize(values)
        return f"| {s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}] |"

    shared = ["u0", "u1", "u2"]  # u3 only in the coarse run
    assert cell([coarse[u] for u in shared]) in rows["study's (coarse)"]
    assert cell([first[u] for u in shared]) in rows["paper's, first doubling"] and "| 8192 |" in rows["paper's, first doubling"]
    assert cell([final[u] - coarse[u] for u in shared]) in rows["paper's − study's"]
    assert cell([final[u] - first[u] for u in shared]) in rows["paper's − first doubling"]
    assert sr.study_numbers_traceable(text, root) == []

    # the figure: each budget the run passed, the coarse maps on the same utterances as the dashed level
    series, levels = sr.budget_panels(load_study(root))["CA vs SPES, Pearson (dashed: coarse maps)"]
    masks, stats = series["en_asr_xs / asr_en"]
    assert masks == pytest.approx([8192, (16384 + 8192 + 16384) / 3])  # the mean spent: u1 stopped at 8,192
    assert [s["mean"] for s in stats] == pytest.approx([1 / 3, 0.5])
    assert levels == {"en_asr_xs / asr_en": pytest.approx(np.mean([coarse[u] for u in shared]))}
    assert "](figures/paper_resolution_budget.png)" in text and (root / "figures" / "paper_resolution_budget.png").is_file()


def test_findings_that_do_not_replicate_say_what_differs_measured() -> None:
    models = load_study(RESULTS / "study")
    found = {f.key: f for f in fd.findings(models)}
    for f in found.values():
        assert bool(f.differs) == (f.verdict in (fd.PARTLY, fd.NOT) and f.key in "aefgh"), f.key
    english = [m for m in models if "asr_en" in m.groups]
    text = "\n".join(found["a"].differs)
    for m in english:  # each English ASR run's tokens per word, from its metrics
        tokens = m.groups["asr_en"]["hypothesis"]["tokens_per_word"]["mean"]
        assert f"`{m.name}/asr_en` {m.quality['vocab_size']} pieces, {tokens:.2f}" in text
    assert "z-scored first" in text and "corrected" in text


def test_agreement_with_max_pooled_input_maps_is_not_corrected(tmp_path: Path) -> None:
    root = tmp_path / "study"
    add_model(root, "en_asr_xs", "xs", ["en"], ["asr"], {"asr_en": (0.58, 0.72)})
    write_json(root / "models/en_asr_xs/explain/asr_en/settings.json", {"config": {"pooling": "max2d"}})
    (a,) = [f for f in fd.findings(load_study(root)) if f.key == "a"]
    assert "corrected" not in a.ours[0]  # max pooling's bias repeats across seeds: r says nothing of its noise
    text = sr.write_study_report(root).read_text()
    assert "corrected for the maps' reliability: encoder" not in text  # b quotes both or neither
