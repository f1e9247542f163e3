"""A miniature study end to end: two tiny models trained, tested, explained, and one report."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
import yaml

from study.cli import main
from study.config import ModelSpec, PaperResolution, Study, group_dataset, group_filter, speech_of
from study.findings import finding_multilingual, finding_scale, scale_pairs
from study.models import ModelResults
from study.runner import runner_lock
from study.settings import changed_settings

TINY_MODEL = json.dumps(dict(d_model=32, encoder_layers=2, decoder_layers=2, heads=2, ffn_dim=64, subsampler_channels=32))


def study_file(tmp_path: Path, corpus: Path) -> Path:
    """Two tiny models (English ASR; multilingual ASR + ST), a few steps each, two utterances per group."""
    spec = {
        "out": str(tmp_path / "study"), "data_dir": str(corpus), "limit": 2,
        # untrained models: every WER passes, no BLEU can (the gate keeps st_en-it out)
        "targets": {"wer_max": 1e6, "bleu_min": 101},
        "explain": {"spes": {"masks": 8, "granularities": [300], "batch_size": 8},
                    "encoder": {"masks": 8, "batch_size": 8}, "reliability": True, "beam_size": 1, "deletion_steps": 4},
        "evaluate": ["--no-wandb"],
        "train": ["--data.num_workers", "0", "--model.model", TINY_MODEL, "--trainer.max_steps", "2",
                  "--trainer.enable_progress_bar", "false", "--model.max_len_a", "0", "--model.max_len_b", "6",
                  "--model.test_beam_size", "1", "--trainer.num_sanity_val_steps", "0"],
        "paper_resolution": {"limit": 1, "explain": {"spes": {"masks": 8, "granularities": [600], "batch_size": 8},
                                                     "encoder": {"batch_size": 8}, "methods": ["spes"],
                                                     "reliability": True, "beam_size": 1, "deletion_steps": 4}},
        "models": [
            {"name": "tiny_en", "experiment": "configs/experiment/demo_en_asr.yaml",
             "train": ["--data.vocab_size", "48"], "groups": ["asr_en"]},
            {"name": "tiny_multi", "experiment": "configs/experiment/multi_asr_st.yaml",
             "train": ["--data.vocab_size", "300"], "groups": ["asr_en", "st_en-it"]},
        ],
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_groups_select_task_and_direction() -> None:
    assert group_filter("asr_en") == ["--tasks", "asr", "--pairs", "en-en"]
    assert group_filter("st_en-it") == ["--tasks", "st", "--pairs", "en-it"]
    with pytest.raises(ValueError, match="bad group"):
        group_filter("mt_en")
    assert group_filter("asr_en@librivox") == group_filter("asr_en") and group_dataset("asr_en@librivox") == "librivox"
    assert group_dataset("asr_en") == ""


def test_a_pretrained_model_and_other_test_sets(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A model is trained (experiment) or pretrained (hf, ~ expanded); a group reads its dataset's test manifest."""
    path = tmp_path / "study.yaml"
    spec = {"out": "x", "data_dir": "data/natural", "datasets": {"librivox": "data/librivox"},
            "models": [{"name": "w", "hf": "~/whisper", "groups": ["asr_en", "asr_en@librivox"]}]}
    path.write_text(yaml.safe_dump(spec))
    study = Study.load(path)
    assert study.models[0].pretrained == Path.home() / "whisper"
    assert study.test_manifest("asr_en") == Path("data/natural/test.tsv")
    assert study.test_manifest("asr_en@librivox") == Path("data/librivox/test.tsv")
    assert main(["--config", str(path), "--dry-run"]) == 0
    assert "w: pretrained ~/whisper; explain asr_en, asr_en@librivox" in capsys.readouterr().out
    spec["models"][0]["groups"] = ["asr_en@commonvoice"]
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ValueError, match="names a dataset that datasets: lacks"):
        Study.load(path)
    for bad in ({"name": "a"}, {"name": "a", "experiment": "e", "hf": "f"}):
        with pytest.raises(ValueError, match="either experiment"):
            ModelSpec(**bad)
    with pytest.raises(ValueError, match="is not trained"):
        ModelSpec(name="a", hf="f", train=["--trainer.max_epochs", "2"])


def test_a_bad_study_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"out": "x", "data_dir": "y", "models": [
        {"name": "a", "experiment": "e", "groups": ["asr_en"]}, {"name": "a", "experiment": "e"}]}))
    assert main(["--config", str(path), "--dry-run"]) == 2
    assert "unique" in capsys.readouterr().err


def test_a_run_made_with_other_settings_is_named_field_by_field(tmp_path: Path) -> None:
    from probes.evaluation.settings import read_config
    from probes.store import write_json

    fixed = {"spes": {"granularities": [2000, 2500, 3000], "masks": 8192}, "methods": ["spes"], "reliability": True}
    config = json.loads(json.dumps(dataclasses.asdict(read_config(fixed))))
    del config["spes"]["precision"]  # a run made before the option existed was made with its default
    write_json(tmp_path / "settings.json", {"manifest": "m", "config": config})
    assert changed_settings(tmp_path, fixed) == []
    adaptive = {"spes": {"granularities": [2000, 2500, 3000], "masks": 8192, "target_reliability": 0.9,
                         "max_masks": 131072}, "encoder": {"target_reliability": 0.9, "max_masks": 131072},
                "methods": ["spes"]}
    assert changed_settings(tmp_path, adaptive) == ["encoder.max_masks", "encoder.target_reliability", "reliability",
                                                    "spes.max_masks", "spes.target_reliability"]
    config["spes"]["masks"] = "many"  # settings this code cannot read: not the study file's
    write_json(tmp_path / "settings.json", {"manifest": "m", "config": config})
    assert changed_settings(tmp_path, fixed) == ["config"]


@pytest.mark.parametrize("study, committed", [("cpu", "study"), ("demo_paper", "demo_paper"), ("whisper", "whisper")])
def test_the_committed_runs_are_made_with_their_study_files_settings(tmp_path: Path, study: str,
                                                                     committed: str) -> None:
    """Every committed run's settings.json (written from evaluate.py's earlier flag strings) reads back as the
    explanation settings its study file now holds as a mapping: a study restarted on them redoes nothing."""
    root = Path(__file__).resolve().parents[2]
    spec = Study.load(root / "configs" / "study" / f"{study}.yaml")
    runs = sorted((root / "results" / committed).glob("models/*/*/*/settings.json"))
    assert runs
    for saved in runs:
        copy = tmp_path / saved.relative_to(root)
        copy.parent.mkdir(parents=True)
        copy.write_bytes(saved.read_bytes())
        fine = saved.parent.parent.name == "paper_resolution"
        assert changed_settings(copy.parent, spec.paper_resolution.explain if fine else spec.explain) == [], saved


def test_a_study_files_explanation_settings_are_checked() -> None:
    """explain: is a mapping of evaluate.py's settings, checked as evaluate.py checks them, and evaluate: may not
    change them behind the study's back."""
    model = {"name": "a", "experiment": "e", "groups": ["asr_en"]}
    for explain, error in ((None, "must be a mapping"), (["--masks", "8"], "must be a mapping"),
                           ({"spes": {"maskz": 8}}, "spes.maskz"), ({"spes": {"keep_prob": 2}}, "keep_prob must be in"),
                           ({"spes": {"masks": "many"}}, "explain.spes.masks")):
        with pytest.raises(ValueError, match=error):
            Study(Path("x"), Path("y"), [ModelSpec(**model)], explain=explain)
    with pytest.raises(ValueError, match=r"paper_resolution: explain: unknown method\(s\) \[.magic.\]"):
        PaperResolution(explain={"methods": ["magic"]})
    with pytest.raises(ValueError, match="evaluate: --masks would change the explanation settings"):
        Study(Path("x"), Path("y"), [ModelSpec(**model)], evaluate=["--devices", "1", "--masks", "8"])


def test_a_model_another_runner_holds_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = study_file(tmp_path, tmp_path / "no_corpus")
    folder = tmp_path / "study" / "models" / "tiny_en"
    folder.mkdir(parents=True)
    with runner_lock(folder) as mine:
        assert mine is None
        with runner_lock(folder) as other:  # a second open file: to flock, another runner
            assert other == f"pid {os.getpid()}"
        assert main(["--config", str(config), "--only", "tiny_en"]) == 0
    assert "tiny_en: skipped, another runner is on it (pid" in capsys.readouterr().out
    assert not (folder / "train").exists()  # nothing was started beside the holder
    with runner_lock(folder) as again:  # released with the block
        assert again is None


def test_a_retraining_a_stop_interrupted_is_compared_before_its_model_is_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A model taken from the committed results and trained again: if the session ends during that training, the
    next run finishes it and compares its test with the committed one, rather than take it for the committed model."""
    import study.reuse as reuse
    import study.pipeline as run

    study = Study.load(study_file(tmp_path, tmp_path / "no_corpus"))
    spec, folder = study.models[0], tmp_path / "study" / "models" / "tiny_en"
    (folder / "train").mkdir(parents=True)
    committed = {"wer": {"en": 10.0}, "targets": study.targets}
    (folder / "quality.json").write_text(json.dumps(committed))
    (folder / "train" / "train.done").write_text(json.dumps({"recipe": [], "from": "results"}))  # seeded

    def stopped(study: Study, spec: object, train_folder: Path) -> Path:
        (train_folder / "last.ckpt").write_text("")  # a checkpoint, then the session ends
        raise KeyboardInterrupt

    def finished(study: Study, spec: object, train_folder: Path) -> Path:
        (train_folder / "train.done").write_text("{}")
        return train_folder / "final.ckpt"

    def tested(study: Study, spec: object, ckpt: Path, model_folder: Path, name: str = "quality.json") -> dict:
        path = model_folder / name
        if not path.is_file():  # the new model tests otherwise than the committed one
            path.write_text(json.dumps({"wer": {"en": 11.0}}))
        return json.loads(path.read_text())

    monkeypatch.setattr(reuse, "train", stopped)
    with pytest.raises(KeyboardInterrupt):
        reuse.train_again(study, spec, folder, committed)
    monkeypatch.setattr(reuse, "train", finished)
    monkeypatch.setattr(reuse, "quality", tested)
    monkeypatch.setattr(run, "explain_groups", lambda *args, **kwargs: None)
    run.run_model(study, spec, folder, redo_changed=False)
    out = capsys.readouterr().out
    assert "resuming its training again" in out and "wer en: 10.0 committed, 11.0 now" in out
    assert json.loads((folder / "quality.json").read_text())["wer"] == {"en": 11.0}  # the model now used
    assert json.loads((folder / "quality.committed.json").read_text()) == committed
    assert not (folder / "train" / reuse.RETRAIN).exists()


def test_miniature_study_end_to_end(tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from study.report import study_numbers_traceable

    config = study_file(tmp_path, tiny_corpus)
    assert main(["--config", str(config)]) == 0
    study = Study.load(config)
    for name, groups in (("tiny_en", ["asr_en"]), ("tiny_multi", ["asr_en"])):
        folder = study.out / "models" / name
        assert (folder / "train" / "train.done").is_file() and (folder / "train" / "final.ckpt").is_file()
        quality = json.loads((folder / "quality.json").read_text())
        assert quality["steps"] == 2 and "en" in quality["wer"]
        assert quality["targets"] == {"wer_max": 1e6, "bleu_min": 101}
        for group in groups:
            metrics = json.loads((folder / "explain" / group / "metrics.json").read_text())
            assert metrics["utterances"] + len(metrics["skipped"]) == 2
        fine = folder / "paper_resolution" / groups[0]
        assert json.loads((fine / "settings.json").read_text())["config"]["spes"]["granularities"] == [600]
        assert json.loads((fine / "metrics.json").read_text())["utterances"] == 1
    multi = json.loads((study.out / "models/tiny_multi/quality.json").read_text())
    assert "en-it" in multi["bleu"]
    assert not (study.out / "models/tiny_multi/explain/st_en-it").exists()  # its target missed: not explained
    report = (study.out / "report.md").read_text()
    for heading in ("tiny_en", "tiny_multi", "Findings", "At the paper's resolution"):
        assert heading in report
    assert study_numbers_traceable(report, study.out) == []
    ledger = [json.loads(line) for line in (study.out / "models/tiny_en/ledger.jsonl").read_text().splitlines()]
    assert [e["step"].split(": ")[1].split(" ")[0] for e in ledger] == ["training", "testing", "explaining", "explaining"]
    assert json.loads((study.out / "models/tiny_en/quality.json").read_text())["wall_minutes"]["training"] > 0
    # run again: every step is found finished, nothing is retrained
    stamp = (study.out / "models/tiny_en/train/train.done").stat().st_mtime_ns
    assert main(["--config", str(config)]) == 0
    assert (study.out / "models/tiny_en/train/train.done").stat().st_mtime_ns == stamp
    # export: light files only, and a report rebuilt from them alone is the same, byte for byte
    results = tmp_path / "results"
    assert main(["--config", str(config), "--export", str(results)]) == 0
    exported = [p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()]
    assert "models/tiny_en/explain/asr_en/metrics.json" in exported and "models/tiny_en/quality.json" in exported
    assert "models/tiny_en/paper_resolution/asr_en/metrics.json" in exported
    assert not [p for p in exported if p.endswith((".h5", ".ckpt", ".lock")) or "/train/" in p or "/work/" in p]
    text = (results / "report.md").read_bytes()
    assert text == (study.out / "report.md").read_bytes()  # nothing the report needs was left behind
    from study.report import write_study_report
    assert write_study_report(results).read_bytes() == text
    assert main(["--config", str(config), "--export", str(tmp_path / "one"), "--only", "tiny_multi"]) == 0
    assert [p.name for p in (tmp_path / "one" / "models").iterdir()] == ["tiny_multi"]  # one model exported
    # rescoring from the saved maps gives the same scores, so the same report
    assert main(["--config", str(config), "--rescore"]) == 0
    assert (study.out / "report.md").read_bytes() == text
    # a new machine: the committed results stand in for the lost outputs, and nothing is made again
    elsewhere = yaml.safe_load(config.read_text()) | {"out": str(tmp_path / "elsewhere"), "results": str(results)}
    (tmp_path / "elsewhere.yaml").write_text(yaml.safe_dump(elsewhere))
    assert main(["--config", str(tmp_path / "elsewhere.yaml")]) == 0
    assert (tmp_path / "elsewhere" / "report.md").read_bytes() == text
    ledger = tmp_path / "elsewhere" / "models" / "tiny_en" / "ledger.jsonl"
    assert ledger.read_text() == (results / "models" / "tiny_en" / "ledger.jsonl").read_text()  # no step ran
    assert json.loads((results / "models" / "tiny_en" / "quality.json").read_text())["recipe"] == [
        *elsewhere["train"], *elsewhere["models"][0]["train"]]
    # ... and when the study file now explains at the paper's resolution otherwise, that run is kept with a note, or
    # with --redo-changed set aside and made anew: the model is trained again for it (same recipe and seed, so it
    # tests as the committed one did) and the runs whose settings did not change are kept
    fine = elsewhere["paper_resolution"]
    changed = elsewhere | {"paper_resolution": fine | {"explain": fine["explain"] | {"spes": {
        **fine["explain"]["spes"], "masks": 12}}}}
    (tmp_path / "elsewhere.yaml").write_text(yaml.safe_dump(changed))
    capsys.readouterr()
    assert main(["--config", str(tmp_path / "elsewhere.yaml"), "--only", "tiny_en"]) == 0
    assert "spes.masks differ); kept as it is: --redo-changed sets it aside" in capsys.readouterr().out
    assert ledger.read_text() == (results / "models" / "tiny_en" / "ledger.jsonl").read_text()  # still nothing ran
    assert main(["--config", str(tmp_path / "elsewhere.yaml"), "--only", "tiny_en", "--redo-changed"]) == 0
    assert "trained again, and it tests as the committed model did" in capsys.readouterr().out
    steps = [json.loads(line)["step"] for line in ledger.read_text().splitlines()]
    assert steps[-3:] == ["tiny_en: training", "tiny_en: testing", "tiny_en: explaining asr_en at the paper's resolution"]
    redone = tmp_path / "elsewhere" / "models" / "tiny_en"
    assert json.loads((redone / "paper_resolution/asr_en/settings.json").read_text())["config"]["spes"]["masks"] == 12
    assert [p.parent.name.split(".")[0] for p in redone.glob("paper_resolution.*/asr_en")] == ["paper_resolution"]
    assert (redone / "quality.retrained.json").is_file() and not list(redone.glob("explain.*"))
    # a training that does not reproduce (here: committed scores unlike the retrained model's) means runs of two
    # models: the committed ones are set aside, the new model's scores replace the committed ones, all is explained anew
    other = tmp_path / "elsewhere" / "models" / "tiny_multi"
    committed = json.loads((other / "quality.json").read_text())
    (other / "quality.json").write_text(json.dumps(committed | {"wer": {k: v + 1 for k, v in committed["wer"].items()}}))
    assert main(["--config", str(tmp_path / "elsewhere.yaml"), "--only", "tiny_multi", "--redo-changed"]) == 0
    assert "but its test scores differ (wer " in capsys.readouterr().out
    assert json.loads((other / "quality.json").read_text())["wer"] == committed["wer"]  # the new model's, as before
    assert {p.name.split(".")[0] for p in other.glob("*.*") if p.is_dir()} == {"explain", "paper_resolution"}
    steps = [json.loads(line)["step"] for line in (other / "ledger.jsonl").read_text().splitlines()]
    assert steps[-4:] == ["tiny_multi: training", "tiny_multi: testing", "tiny_multi: explaining asr_en",
                          "tiny_multi: explaining asr_en at the paper's resolution"]
    # redo the explanations alone: set aside, explained again, nothing retrained
    assert main(["--config", str(config), "--only", "tiny_en", "--redo-explain"]) == 0
    assert (study.out / "models/tiny_en/train/train.done").stat().st_mtime_ns == stamp
    assert len(list((study.out / "models/tiny_en").glob("explain.*"))) == 1
    assert (study.out / "models/tiny_en/explain/asr_en/metrics.json").is_file()
    assert not list((study.out / "models/tiny_en").glob("paper_resolution.*"))  # kept by --redo-explain
    # a longer budget trains on from the last checkpoint, then tests and explains anew
    spec = yaml.safe_load(config.read_text())
    spec["models"] = [{**spec["models"][0], "train": [*spec["models"][0]["train"], "--trainer.max_steps", "3"]}]
    config.write_text(yaml.safe_dump(spec))
    assert main(["--config", str(config)]) == 0
    assert json.loads((study.out / "models/tiny_en/quality.json").read_text())["steps"] == 3
    assert len(list((study.out / "models/tiny_en").glob("explain.*"))) == 2
    assert len(list((study.out / "models/tiny_en").glob("paper_resolution.*"))) == 1  # the model changed


def test_a_test_sets_speech_is_named_from_its_corpus_json(tmp_path: Path) -> None:
    """Our generators' corpus.json names the voice (Piper's) or none (espeak-ng); a folder without one is real speech."""
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth/corpus.json").write_text(json.dumps({"config": {}}))
    (tmp_path / "natural").mkdir()
    (tmp_path / "natural/corpus.json").write_text(json.dumps({"voice": {"name": "en_US-joe-medium"}}))
    assert speech_of(tmp_path / "synth") == "synthetic (espeak-ng)"
    assert speech_of(tmp_path / "natural") == "synthetic, neural voice (en_US-joe-medium)"
    assert speech_of(tmp_path / "librivox") == "real (librivox)"


def test_pretrained_models_pair_by_size_for_the_scale_finding() -> None:
    """Finding e pairs trained models of one kind by preset and pretrained ones by parameters; f needs a preset."""
    def model(name: str, parameters: int, pearson: float, **quality: object) -> ModelResults:
        stat = {"mean": pearson, "ci_low": pearson - 0.01, "ci_high": pearson + 0.01, "n": 30}
        return ModelResults(name, {"parameters": parameters, "tasks": ["asr"], **quality},
                     {"asr_en": {"pearson": {"ca_vs_input": {"all": stat}}}})

    tiny = model("tiny", 37_760_256, 0.40, pretrained=True, languages=["en"], model_languages=1)
    base = model("base", 72_593_920, 0.45, pretrained=True, languages=["en"], model_languages=99)
    xs = model("xs", 4_300_000, 0.30, preset="xs", languages=["en"])
    xxs = model("xxs", 1_400_000, 0.42, preset="xxs", languages=["en"])
    assert scale_pairs([xxs, xs, base, tiny]) == [(xxs, xs), (tiny, base)]
    found = finding_scale([xxs, xs, base, tiny])
    assert any("`base` 0.450" in line and "intervals separated" in line for line in found.ours)
    assert finding_multilingual([tiny, base]).verdict == "not testable here"  # no preset: not the same model twice
