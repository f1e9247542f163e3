"""evaluate.py end to end on a tiny checkpoint: outputs, resume after a crash, settings check, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

import evaluate
import probes.evaluation.job
from probes.adapters.s2t import S2TProbe
from probes.explain import explain as real_explain

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--masks", "12", "--encoder-masks", "12", "--granularities", "300", "--batch-size", "6", "--deletion-steps", "4", "--beam", "1",
        "--tasks", "asr", "--languages", "en", "--limit", "3", "--no-wandb", "--devices", "1"]  # in this process


def run(ckpt: Path, corpus: Path, out: Path, *extra: str) -> int:
    """evaluate.main on the tiny corpus' test manifest."""
    return evaluate.main(["--ckpt", str(ckpt), "--manifest", str(corpus / "test.tsv"), "--out", str(out), *FAST, *extra])


def results(out: Path) -> tuple[dict, list[dict]]:
    """metrics.json and the records, without wall-clock timings (the only thing allowed to differ)."""
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.pop("seconds_per_utterance")
    records = [json.loads(line) for line in (out / "utterances.jsonl").read_text().splitlines()]
    for r in records:
        r.pop("seconds", None)
    return metrics, records


def test_evaluate_writes_every_output(tiny_checkpoint: Path, tiny_corpus: Path, tmp_path: Path,
                                     recwarn: pytest.WarningsRecorder) -> None:
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "out", "--methods", "spes,encoder,saliency", "--no-report") == 0
    assert not [w for w in recwarn if "predict returned None" in str(w.message)]  # Lightning's warning on every row
    metrics, records = results(tmp_path / "out")
    assert len(records) == 3 and metrics["utterances"] == 3
    for name in ("pearson", "spearman", "kendall"):
        for target in ("ca_vs_input", "ca_vs_encoder", "ca_vs_saliency"):
            block = metrics[name][target]
            assert set(block) == {"all", "per_layer", "per_head"}
            assert set(block["per_layer"]) == {"1", "2"} and set(block["per_head"]) == {"1.1", "1.2", "2.1", "2.2"}
            assert -1 <= block["all"]["mean"] <= 1 and block["all"]["n"] == 3
    assert set(metrics["deletion_auc"]) == {"ca", "saliency_pooled", "saliency_full", "uniform", "random"}
    assert metrics["deletion_auc"]["ca"]["text"]["metric"] == "wer"
    assert set(metrics["insertion_auc"]) == set(metrics["deletion_auc"])
    assert {"ca", "input", "encoder", "uniform", "random"} <= set(metrics["ground_truth"])
    assert {"ca", "input", "encoder", "ctc", "uniform", "random"} <= set(metrics["timestamps"])
    assert {"uniform", "random"} <= set(metrics["baselines"]["pearson"]["input"])
    with h5py.File(tmp_path / "out" / "maps.h5") as f:
        assert sorted(f) == sorted(r["id"] for r in records)
        group = f[records[0]["id"]]
        i = len(records[0]["tokens"])
        assert group["ca"].shape[:3] == (2, 2, i) and group["input_full"].shape[0] == i
        assert group["input"].shape == group["encoder"].shape == (i, group["ca"].shape[-1])


def test_a_crashed_run_resumes_to_the_same_results(tiny_checkpoint: Path, tiny_corpus: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "whole", "--no-report") == 0
    calls = []

    def crash_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")  # a crash (Lightning turns KeyboardInterrupt into SystemExit)
        return real_explain(*args, **kwargs)

    monkeypatch.setattr(probes.evaluation.job, "explain", crash_on_third)
    with pytest.raises(RuntimeError, match="killed"):
        run(tiny_checkpoint, tiny_corpus, tmp_path / "resumed", "--no-report")
    assert len(list((tmp_path / "resumed" / "work").glob("*.json"))) == 2  # two finished, nothing half-written
    calls.clear()
    monkeypatch.setattr(probes.evaluation.job, "explain", real_explain)
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "resumed", "--no-report") == 0
    assert results(tmp_path / "resumed") == results(tmp_path / "whole")


def test_other_settings_in_the_same_folder_are_refused(tiny_checkpoint: Path, tiny_corpus: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "out", "--no-report", "--limit", "1") == 0
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "out", "--no-report", "--limit", "1", "--masks", "20") == 2
    assert "(config.spes.masks differ)" in capsys.readouterr().err
    settings = json.loads((tmp_path / "out" / "settings.json").read_text())
    del settings["config"]["spes"]["precision"]  # a run made before the option existed: made with its default
    (tmp_path / "out" / "settings.json").write_text(json.dumps(settings))
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "out", "--no-report", "--limit", "1") == 0
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "out", "--no-report", "--limit", "1", "--precision", "bf16") == 2


def test_rows_the_model_cannot_explain_are_skipped_and_counted(tiny_checkpoint: Path, tiny_corpus: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = evaluate.main(["--ckpt", str(tiny_checkpoint), "--manifest", str(tiny_corpus / "test.tsv"), "--out", str(out),
                          *FAST[:-7], "--limit", "4", "--tasks", "asr", "--no-wandb", "--no-report"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["utterances"] + len(metrics["skipped"]) == 4
    assert metrics["skipped"] and all("it" in why or "es" in why or "fr" in why or "de" in why
                                      for why in metrics["skipped"].values())


def test_bad_options_are_clear_errors(tiny_checkpoint: Path, tiny_corpus: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "a", "--methods", "spes,magic") == 2
    assert "magic" in capsys.readouterr().err
    assert evaluate.main(["--ckpt", str(tmp_path / "missing.ckpt"), "--manifest", str(tiny_corpus / "test.tsv"),
                          "--out", str(tmp_path / "b")]) == 2


def test_options_reach_the_explanation_config() -> None:
    """The earlier flags set the fields they name (the occlusion options both maps'), and the --explain.* options and a
    mapping set any field; later options override earlier ones."""
    model = ["--ckpt", "c", "--manifest", "m", "--out", "o"]
    config = evaluate.options([*model, "--keep-prob", "0.8", "--masks", "64", "--encoder-masks", "32", "--estimator",
                               "occluded", "--pooling", "avg2d"]).explain
    assert config.spes.keep_prob == config.encoder.keep_prob == 0.8
    assert (config.spes.masks, config.encoder.masks) == (64, 32)
    assert config.spes.estimator == "occluded" and config.pooling == "avg2d"
    assert config.spes.target_reliability is None and config.spes.precision == config.encoder.precision == "fp32"
    config = evaluate.options([*model, "--estimator", "ridge", "--antithetic", "--target-reliability", "0.8",
                               "--max-masks", "4096", "--precision", "bf16", "--seed", "3"]).explain
    for c in (config.spes, config.encoder):
        assert (c.estimator, c.antithetic, c.target_reliability, c.max_masks) == ("ridge", True, 0.8, 4096)
        assert c.precision == "bf16" and c.seed == 3
    assert config.seed == 3
    config = evaluate.options([*model, "--methods", "spes, saliency", "--granularities", "20,30",
                               "--no-deletion-decode", "--explain", '{"spes": {"masks": 9}, "reliability": true}',
                               "--explain.encoder.reduce", "max", "--explain.spes.masks", "10"]).explain
    assert (config.methods, config.spes.granularities) == (("spes", "saliency"), (20, 30))
    assert not config.decode_deletion
    assert (config.spes.masks, config.reliability, config.encoder.reduce) == (10, True, "max")


def test_a_printed_config_reruns_to_the_same_settings(tiny_checkpoint: Path, tiny_corpus: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    """``--print_config`` writes a run's options as YAML; ``--config`` that file makes the same run (the same
    settings.json), and a changed field is named when the run it would resume was made otherwise."""
    argv = ["--ckpt", str(tiny_checkpoint), "--manifest", str(tiny_corpus / "test.tsv"), *FAST, "--limit", "1",
            "--no-report"]
    with pytest.raises(SystemExit) as printed:
        evaluate.main([*argv, "--out", str(tmp_path / "a"), "--print_config"])
    assert printed.value.code == 0
    (tmp_path / "run.yaml").write_text(capsys.readouterr().out)
    assert yaml.safe_load((tmp_path / "run.yaml").read_text())["explain"]["spes"]["masks"] == 12
    assert evaluate.main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert evaluate.main(["--config", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b/settings.json").read_bytes() == (tmp_path / "a/settings.json").read_bytes()
    capsys.readouterr()
    assert evaluate.main(["--config", str(tmp_path / "run.yaml"), "--explain.encoder.keep_prob", "0.25"]) == 2
    assert "(config.encoder.keep_prob differ)" in capsys.readouterr().err


def test_a_bad_explanation_setting_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = ["--ckpt", str(tmp_path / "c.ckpt"), "--manifest", "m", "--out", str(tmp_path / "o")]
    assert evaluate.main([*model, "--explain.spes.keep_prob", "1.5"]) == 2
    assert "keep_prob must be in (0, 1), got 1.5" in capsys.readouterr().err
    for bad, says in ((["--explain.spes.masks", "many"], 'key "explain.spes.masks"'),
                      (["--explain", '{"spes": {"maskz": 8}}'], "spes.maskz"),
                      (["--masks", "many"], "argument --masks: invalid value 'many'")):
        with pytest.raises(SystemExit):
            evaluate.main([*model, *bad])
        assert says in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate.main(["--manifest", "m", "--out", "o"])
    assert "--ckpt or --hf" in capsys.readouterr().err


def test_adaptive_budget_is_recorded_per_utterance(tiny_checkpoint: Path, tiny_corpus: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    """--target-reliability: every record says what its maps spent and reached; metrics.json averages them; each
    doubling and each utterance prints a progress line."""
    assert run(tiny_checkpoint, tiny_corpus, tmp_path / "out", "--target-reliability", "0.5", "--max-masks", "64") == 0
    metrics, records = results(tmp_path / "out")
    lines = capsys.readouterr().err
    for r in records:
        assert f"{r['id']} explained in" in lines
        for target in ("input", "encoder"):
            spent = r["budget"][target]
            assert spent["masks"] % 12 == 0 and spent["masks"] <= 64  # whole rounds of --masks 12 within 64
            assert spent["split_half"] >= 0.5 or spent["masks"] == 60
            assert f"{spent['masks']} masks scored, split-half reliability {spent['split_half']:.3f}" in lines
            masks = [m for m, _ in spent["rounds"]]  # every check on the way, the last one the map's
            assert masks[0] == 12 and all(a < b <= 2 * a for a, b in zip(masks, masks[1:]))  # at most doubling
            assert spent["rounds"][-1] == [spent["masks"], spent["split_half"]]
            assert all(half < 0.5 for _, half in spent["rounds"][:-1])  # it went on only while below the target
            by_round = spent["by_round"]  # what each doubling's map gave; the last one is the map's own scores
            assert [b["masks"] for b in by_round] == masks
            assert by_round[-1]["ca"] == pytest.approx(r["agreement"][f"ca_vs_{target}"]["all"], nan_ok=True)
            truth = r["ground_truth"][target] if r["ground_truth"] else None
            assert by_round[-1]["span_mass"] == (truth if truth is None else pytest.approx(truth, nan_ok=True))
            signed = r["ground_truth"]["signed"][target] if r["ground_truth"] else None  # linear share parts
            assert by_round[-1]["span_mass_signed"] == (signed if signed is None else pytest.approx(signed, nan_ok=True))
    doubled = [r["budget"]["input"]["by_round"] for r in records if len(r["budget"]["input"]["rounds"]) > 1]
    assert doubled and all(b[0]["ca"]["pearson"] != b[-1]["ca"]["pearson"] for b in doubled)  # earlier maps differ
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Map convergence" in report and "figures/convergence_input.png" in report
    by_cap = metrics["budget"]["input"]["by_cap"]  # the run as if capped at each budget; the largest is the run
    most = max(r["budget"]["input"]["masks"] for r in records)
    assert list(by_cap) == [str(c) for c in (12, 24, 48) if c < most] + [str(most)]  # doublings, then the most spent
    assert by_cap[max(by_cap, key=int)]["pearson"]["mean"] == pytest.approx(
        metrics["pearson"]["ca_vs_input"]["all"]["mean"])
    assert "What each budget gives" in report
    assert (tmp_path / "out" / "figures" / "convergence_encoder.png").is_file()
    assert "figures/budget_input.png" in report and (tmp_path / "out" / "figures" / "budget_encoder.png").is_file()
    assert metrics["budget"]["input"]["masks"]["n"] == 3
    assert metrics["budget"]["input"]["masks"]["mean"] == pytest.approx(
        sum(r["budget"]["input"]["masks"] for r in records) / 3)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [["--devices", "2", "--strategy", "ddp"], ["--devices", "auto"]])
def test_worker_processes_give_the_same_metrics_as_one(tiny_checkpoint: Path, tiny_corpus: Path, tmp_path: Path,
                                                       workers: list[str]) -> None:
    # one thread per process in every run: float sums then happen in the same order, and results are equal
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for out, devices in (("one", ["--devices", "1"]), ("workers", workers)):
        cmd = [sys.executable, str(ROOT / "evaluate.py"), "--ckpt", str(tiny_checkpoint), "--manifest",
               str(tiny_corpus / "test.tsv"), "--out", str(tmp_path / out), *FAST, "--no-report", *devices]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    assert results(tmp_path / "workers") == results(tmp_path / "one")


def test_cpu_runs_default_to_one_single_thread_worker_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes.evaluation.job, "usable_cores", lambda: 2)
    placement = probes.evaluation.job.placement
    assert placement("cpu", "auto", "auto", rows=30) == (2, "ddp_fork", 1)
    assert placement("cpu", "auto", "auto", rows=1) == (1, "auto", None)  # no worker without a row
    assert placement("cpu", "auto", "ddp", rows=30) == (2, "ddp", 1)
    assert placement("cpu", 3, "auto", rows=30) == (3, "auto", None)  # asked for: Lightning places it
    assert placement("gpu", "auto", "auto", rows=30) == ("auto", "auto", None)


def test_rescoring_a_run_from_its_maps_restores_its_scores(tiny_checkpoint: Path, tiny_corpus: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(tiny_checkpoint, tiny_corpus, out, "--methods", "spes,encoder,saliency", "--no-report") == 0
    before = {name: (out / name).read_bytes() for name in ("metrics.json", "utterances.jsonl", "work/0000001.json")}
    records = [json.loads(line) for line in (out / "utterances.jsonl").read_text().splitlines()]
    for r in records:  # a run made before some agreement scores existed
        r["agreement"]["ca_vs_input"]["all"].pop("pearson_token")
        del r["agreement"]["ca_vs_saliency"]
    (out / "utterances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    probes.evaluation.job.rescore(out)
    assert {name: (out / name).read_bytes() for name in before} == before  # random baselines drawn alike too
    for r in records:  # a run made before the linear shares existed, with a share and a word time gone wrong
        if r.get("ground_truth"):
            del r["ground_truth"]["signed"]
            r["ground_truth"]["input"] = 2.0
        if r.get("timestamps"):
            r["timestamps"]["ca"]["mae_ms"] = 999.0
    assert any(r.get("timestamps") for r in records)
    (out / "utterances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    probes.evaluation.job.rescore(out)  # without the model the ground truth is kept as it is
    assert json.loads((out / "utterances.jsonl").read_text().splitlines()[1])["ground_truth"]["input"] == 2.0
    (out / "report.md").write_text("a report made before the rescoring")
    probes.evaluation.job.rescore(out, S2TProbe.from_checkpoint(tiny_checkpoint))
    assert {name: (out / name).read_bytes() for name in before} == before  # its tokenizer and the word times suffice
    # (word timestamps recomputed too, their random baseline drawn alike)
    report = (out / "report.md").read_text()  # written again from the rescored metrics
    assert report.startswith("# Explanations: ") and "**Ground truth**" in report
    settings = json.loads((out / "settings.json").read_text())
    (out / "settings.json").write_text(json.dumps({**settings, "manifest": str(tmp_path / "gone.tsv")}))
    with pytest.raises(ValueError, match="gone.tsv has no word times here"):
        probes.evaluation.job.rescore(out, S2TProbe.from_checkpoint(tiny_checkpoint))
