"""Run a study: train a matrix of models, measure their quality, explain them, write one report.

    python -m probes.study --config configs/study/cpu.yaml [--only NAME ...] [--redo-explain] [--dry-run]
    python -m probes.study --config configs/study/cpu.yaml --out STUDY --export results/study

The study file (YAML) lists models, each an experiment config with overrides and the groups
of test rows to explain (``asr_en``: English ASR rows; ``st_en-it``: English-to-Italian
ST rows). Every step runs ``python -m s2t.train`` (``train.py``) or ``python -m probes.evaluation``
(``evaluate.py``) in a subprocess, from the project root in a checkout and from the current
folder once installed (``crossprobe-study``), and leaves a marker when it completes, so an
interrupted study, started again, resumes where it stopped: training from its last checkpoint,
explanation from its last finished utterance. Layout::

    OUT/models/<name>/train/            Lightning run (checkpoints/last.ckpt), train.done when finished
    OUT/models/<name>/quality.json      test WER per language, BLEU per direction, size, steps
    OUT/models/<name>/quality/<group>/  a pretrained model's (``hf:``) test on a group: probes.evaluation.quality
    OUT/models/<name>/explain/<group>/  an evaluate.py OUTDIR
    OUT/models/<name>/paper_resolution/<group>/  the same at the paper's SPES resolution, on a few utterances
    OUT/report.md, tables/, figures/    probes.study.report
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch

from probes.adapters.s2t import S2TProbe
from probes.evaluation.cli import explain_config, file_digest, parser
from probes.evaluation.quality import languages_and_tasks
from probes.evaluation.run import rescore, with_defaults
from probes.metrics.summary import json_ready
from probes.store import read_json, write_json
from probes.study.config import ModelSpec, Study, group_dataset, group_filter, speech_of
from probes.study.models import group_quality, meets_target, targets
from probes.study.report import write_study_report
from s2t.data.manifest import ManifestError, read_manifest
from s2t.models import ModelConfig, S2TModel
from s2t.module import read_checkpoint
from s2t.resources import checkout_root, find_config

log = logging.getLogger(__name__)
ROOT = checkout_root()  # where the steps run: the checkout's root, or (installed) the current folder
TRAIN, EVALUATE, QUALITY = "s2t.train", "probes.evaluation", "probes.evaluation.quality"  # the steps' modules
EXPLANATIONS = ("explain", "paper_resolution")  # a model's folders of evaluate.py runs
LEDGER = "ledger.jsonl"  # OUT/models/<name>/ledger.jsonl: wall seconds of every step the study ran
RETRAIN = "retrain.json"  # OUT/models/<name>/train/retrain.json: train_again under way, until its test is compared
LOCK = ".runner.lock"  # OUT/.runner.lock and OUT/models/<name>/.runner.lock: the runner working there (runner_lock)


def call(module: str, args: Sequence[str], what: str, ledger: Path) -> None:
    """Run ``python -m module args`` from ``ROOT``, streaming its output, and add its wall time to ``ledger``.

    A failure stops the study. The time is recorded however the command ends (an interrupted training
    counts too), so the ledger adds up what the study has cost (``study_cost``).
    """
    print(f"[study] {what}: python -m {module} {' '.join(args)}", flush=True)
    start, code = time.time(), None
    try:
        code = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT).returncode
    finally:
        ledger.parent.mkdir(parents=True, exist_ok=True)
        with ledger.open("a") as f:
            f.write(json.dumps({"step": what, "seconds": round(time.time() - start, 1), "exit": code,
                                "end": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
    if code:
        raise RuntimeError(f"{what} failed (exit {code}); fix it and run the study again to resume")


def study_cost(ledger: Path) -> dict[str, float]:
    """Wall hours a model's steps took so far, by kind (training, testing, explaining), from its ledger."""
    hours: dict[str, float] = {}
    for line in ledger.read_text().splitlines() if ledger.is_file() else []:
        entry = json.loads(line)
        kind = entry["step"].split(": ", 1)[-1].split(" ")[0]
        hours[kind] = hours.get(kind, 0.0) + entry["seconds"] / 3600
    return hours


def logger_override(folder: Path, name: str, group: str | None = None) -> list[str]:
    """CSV and W&B loggers writing under ``folder``; the W&B run in ``group`` (default: the checkpoint's, or the name)."""
    wandb_args = {"save_dir": str(folder), "name": name, **({"group": group} if group else {})}
    loggers = [{"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(folder), "name": "csv"}},
               {"class_path": "s2t.loggers.SafeWandbLogger", "init_args": wandb_args}]
    return ["--trainer.logger", json.dumps(loggers)]


def last_checkpoint(folder: Path) -> Path | None:
    """The newest ``last.ckpt`` under a training folder."""
    found = sorted(folder.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def recipe_changed(marker: Path, recipe: list[str]) -> bool:
    """Whether a finished training's marker records another recipe (markers without one are taken as they are)."""
    try:
        return json.loads(marker.read_text())["recipe"] != recipe
    except (ValueError, KeyError, TypeError):
        return False


def train(study: Study, spec: ModelSpec, folder: Path) -> Path:
    """Train a model (resuming from its last checkpoint) unless it finished; returns its final checkpoint.

    A finished model whose recipe changed since (e.g. more epochs) trains on from its last checkpoint under the new
    recipe; its test scores and explanations are then made anew.
    """
    marker = folder / "train.done"
    recipe = [*study.train, *spec.train]
    if marker.is_file() and recipe_changed(marker, recipe):
        print(f"[study] {spec.name}: its recipe changed since it was trained; training on from its last checkpoint",
              flush=True)
        marker.unlink()
        (folder / "final.ckpt").unlink(missing_ok=True)
        (folder.parent / "quality.json").unlink(missing_ok=True)
        for runs in EXPLANATIONS:
            set_aside(folder.parent / runs)
    if not marker.is_file():
        resume = last_checkpoint(folder)
        args = ["fit", "--config", spec.experiment, "--data.data_dir", str(study.data_dir),
                "--trainer.default_root_dir", str(folder),
                *logger_override(folder, spec.name, group=f"{study.out.name}-{spec.name}"),
                *study.train, *spec.train, *(["--ckpt_path", str(resume)] if resume else [])]
        call(TRAIN, args, f"{spec.name}: training" + (f" (resuming {resume.name})" if resume else ""), folder.parent / LEDGER)
        if not (folder / "final.ckpt").is_file():
            raise RuntimeError(f"{spec.name}: training ended without {folder / 'final.ckpt'} (FinalCheckpoint callback missing?)")
        marker.write_text(json.dumps({"finished": time.strftime("%Y-%m-%d %H:%M:%S"), "recipe": recipe}) + "\n")
    return folder / "final.ckpt"


def test_metrics(metrics_csv: Path) -> dict[str, float]:
    """The ``test/...`` values of a CSV logger's metrics file."""
    values: dict[str, float] = {}
    with metrics_csv.open() as f:
        for row in csv.DictReader(f):
            values.update({k: float(v) for k, v in row.items() if k.startswith("test/") and v})
    return values


def quality(study: Study, spec: ModelSpec, ckpt: Path, folder: Path, name: str = "quality.json") -> dict[str, Any]:
    """Test the final checkpoint (beam search) once; WER/CER per language, BLEU per direction, size and steps."""
    path = folder / name
    if path.is_file():
        return json.loads(path.read_text())
    test_dir = folder / "test"
    call(TRAIN, ["test", "--config", spec.experiment, "--data.data_dir", str(study.data_dir),
          *study.train, *spec.train, "--ckpt_path", str(ckpt), "--trainer.default_root_dir", str(test_dir),
          *logger_override(test_dir, f"{spec.name}-test")],
         f"{spec.name}: testing", folder / LEDGER)
    values = test_metrics(max(test_dir.rglob("metrics.csv"), key=lambda p: p.stat().st_mtime))  # the newest test
    checkpoint = read_checkpoint(ckpt)
    hp, config = checkpoint["hyper_parameters"], checkpoint["model_config"]
    with torch.device("meta"):  # parameters only (no BatchNorm statistics), no memory
        parameters = S2TModel(ModelConfig(**config)).num_parameters()
    elapsed = (checkpoint.get("callbacks") or {}).get("Timer", {}).get("time_elapsed", {}).get("train")
    result = {
        "name": spec.name, "experiment": spec.experiment, "recipe": [*study.train, *spec.train], "preset": hp["preset"],
        "parameters": parameters,
        "d_model": config["d_model"], "layers": [config["encoder_layers"], config["decoder_layers"]],
        "vocab_size": config["vocab_size"],
        "steps": checkpoint["global_step"],
        # Lightning's Timer when the run had max_time, else the ledger's wall time of the training calls
        "train_minutes": round((elapsed or 3600 * study_cost(folder / LEDGER).get("training", 0.0)) / 60, 1),
        **{name: {k.split("/")[2]: round(v, 2) for k, v in values.items() if k.startswith(f"test/{name}/")}
           for name in ("wer", "cer", "bleu")},
    }
    result |= languages_and_tasks(result["wer"], result["bleu"])
    write_json(path, result)
    return result


def pretrained_quality(study: Study, spec: ModelSpec, folder: Path) -> dict[str, Any]:
    """Test a pretrained model (``hf:``) once on every group's test rows (beam 5, text normalised as its users score
    it): WER per language, BLEU per direction, a group of another dataset keyed ``en@librivox``; its size, vocabulary
    and the languages it knows (its folder's config.json and generation_config.json), and each group's speech."""
    path = folder / "quality.json"
    if path.is_file():
        return json.loads(path.read_text())
    measures = ("wer", "cer", "bleu")
    config = json.loads((spec.pretrained / "config.json").read_text())
    generation = read_json(spec.pretrained / "generation_config.json")
    result: dict[str, Any] = {"name": spec.name, "hf": spec.hf, "recipe": [], "pretrained": True,
                              "vocab_size": config.get("vocab_size"), "d_model": config.get("d_model"),
                              "layers": [config.get("encoder_layers"), config.get("decoder_layers")],
                              "model_languages": len(generation.get("lang_to_id") or {}) or 1,
                              **{m: {} for m in measures}, "intervals": {m: {} for m in measures},
                              "speech": {group: speech_of(study.test_dir(group)) for group in spec.groups}}
    for group in spec.groups:
        out = folder / "quality" / group
        if not (out / "quality.json").is_file():
            call(QUALITY, ["--hf", str(spec.pretrained), "--manifest", str(study.test_manifest(group)), "--out", str(out),
                           "--beam", "5", *group_filter(group)], f"{spec.name}: testing {group}", folder / LEDGER)
        tested = json.loads((out / "quality.json").read_text())
        suffix = f"@{group_dataset(group)}" if group_dataset(group) else ""
        for measure in measures:
            result[measure].update({key + suffix: value for key, value in tested[measure].items()})
            result["intervals"][measure].update({key + suffix: value
                                                 for key, value in tested["intervals"].get(measure, {}).items()})
        result["parameters"] = tested["parameters"]
    result |= languages_and_tasks(result["wer"], result["bleu"])
    write_json(path, result)
    return result


class CheckpointMissing(RuntimeError):
    """A run needs the model, whose checkpoint is not on this machine."""


def explain(study: Study, spec: ModelSpec, ckpt: Path, folder: Path, scores: dict[str, Any],
            redo_changed: bool = False) -> None:
    """Explain every group on which the model meets its quality target (evaluate.py resumes unfinished groups),
    then its first such group at the paper's resolution when the study asks for it. ``redo_changed``: a finished run
    made with other settings than the study file's is set aside and made anew (else it is kept, with a note)."""
    explained = []
    for group in spec.groups:
        if not meets_target(scores, group):
            measure, value = group_quality(scores, group)
            goal = targets(scores)
            print(f"[study] {spec.name}: not explaining {group}: test {measure} {value:g} misses the target "
                  f"(WER <= {goal['wer_max']:g}, BLEU >= {goal['bleu_min']:g})", flush=True)
            continue
        explained.append(group)
        _evaluate(study, spec, ckpt, folder, folder / "explain" / group, group, study.limit, study.explain,
                  redo_changed=redo_changed)
    if study.paper_resolution and explained:
        fine, group = study.paper_resolution, explained[0]
        _evaluate(study, spec, ckpt, folder, folder / "paper_resolution" / group, group, fine.limit, fine.explain,
                  " at the paper's resolution", redo_changed)


def _evaluate(study: Study, spec: ModelSpec, ckpt: Path, folder: Path, out: Path, group: str, limit: int,
              options: Sequence[str], what: str = "", redo_changed: bool = False) -> None:
    """One evaluate.py run of a group into ``out``, unless its report exists (an unfinished run resumes)."""
    if (out / "report.md").is_file():
        if not (changed := changed_settings(out, options)):
            return
        if not redo_changed:
            print(f"[study] {spec.name}: note: {out} was explained with other settings than the study file's "
                  f"({', '.join(changed)} differ); kept as it is: --redo-changed sets it aside and explains "
                  f"{group}{what} anew", flush=True)
            return
        print(f"[study] {spec.name}: {out} was explained with other settings ({', '.join(changed)} differ); set aside "
              f"as {set_aside_run(out)}, explaining {group}{what} anew", flush=True)
    if spec.pretrained is not None and not spec.pretrained.is_dir():
        raise RuntimeError(f"{spec.name}: {group} needs explaining, but its pretrained model {spec.pretrained} is not "
                           f"on this machine (make whisper converts the Whisper models)")
    if spec.pretrained is None and not ckpt.is_file():
        raise CheckpointMissing(f"{spec.name}: {group} needs explaining, but the model's checkpoint {ckpt} is not on "
                                f"this machine")
    model = ["--hf", str(spec.pretrained)] if spec.pretrained is not None else ["--ckpt", str(ckpt)]
    call(EVALUATE, [*model, "--manifest", str(study.test_manifest(group)), "--out", str(out),
          "--limit", str(limit), *group_filter(group), *options], f"{spec.name}: explaining {group}{what}",
         folder / LEDGER)


def _leaves(x: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict's values by dotted path."""
    if not isinstance(x, dict):
        return {prefix: x}
    return {k: v for key, value in x.items() for k, v in _leaves(value, f"{prefix}.{key}" if prefix else key).items()}


def changed_settings(out: Path, options: Sequence[str]) -> list[str]:
    """The explanation settings (``spes.masks``, ...) of the finished run in ``out`` that ``options`` now set otherwise."""
    wanted = json_ready(dataclasses.asdict(
        explain_config(parser().parse_args(["--ckpt", "-", "--manifest", "-", "--out", "-", *options]))))
    saved = with_defaults(json.loads((out / "settings.json").read_text()).get("config") or {}, wanted)
    before, now = _leaves(saved), _leaves(wanted)
    return sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))


def check_data(study: Study) -> None:
    """Read the test manifest, whose rows the study explains, before any step: a broken one (not UTF-8, an id twice,
    which evaluate.py refuses) is named now, not hours into the study."""
    for folder in (study.data_dir, *study.datasets.values()):
        if (manifest := folder / "test.tsv").is_file():
            read_manifest(manifest, unique_ids=True)


def run(study: Study, only: Sequence[str] = (), redo_changed: bool = False, redo_explain: bool = False) -> Path:
    """Train, test and explain every (selected) model that no other runner holds, then write the study report.

    ``redo_changed``: finished explain runs made with other settings than the study file's are set aside and made
    anew; a model taken from the committed results is then trained again for them (``train_again``).
    ``redo_explain``: every explain run of the model is set aside first and made anew, without retraining.
    """
    check_data(study)
    for spec in study.models:
        if only and spec.name not in only:
            continue
        folder = study.out / "models" / spec.name
        with runner_lock(folder) as holder:
            if holder:
                print(f"[study] {spec.name}: skipped, another runner is on it ({holder})", flush=True)
                continue
            if redo_explain and (moved := set_aside(folder / "explain")):
                print(f"[study] {spec.name}: set aside {moved}; explaining anew", flush=True)
            run_model(study, spec, folder, redo_changed)
    with runner_lock(study.out, wait=True):
        report = write_study_report(study.out)
    print(f"[study] report: {report}", flush=True)
    return report


@contextmanager
def runner_lock(folder: Path, wait: bool = False) -> Iterator[str | None]:
    """Hold ``folder``'s lock for the block: yields None once this process holds it; held by another runner, yields
    who holds it ("pid N") instead, unless ``wait``, which waits for it.

    Several runners of one study (e.g. one per core) then share its models without two working on one, and write
    its report one at a time. The lock is the OS's (``flock``), so it is released however its holder ends, a lost
    machine included.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            yield handle.read().strip() or "a runner that has just started"
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield None


def run_model(study: Study, spec: ModelSpec, folder: Path, redo_changed: bool) -> None:
    """Train, test and explain one model in ``folder`` (each step resumes or is skipped when finished)."""
    if spec.pretrained is not None:
        scores = {**pretrained_quality(study, spec, folder), "targets": study.targets}
        explain(study, spec, spec.pretrained, folder, scores, redo_changed)
        scores["wall_minutes"] = {k: round(60 * v, 1) for k, v in study_cost(folder / LEDGER).items()}
        write_json(folder / "quality.json", scores)
        return
    if seed_from_results(study, spec, folder):
        print(f"[study] {spec.name}: finished in {study.results}; its light results copied, not made again",
              flush=True)
    if (folder / "train" / RETRAIN).is_file():  # a stop interrupted train_again: finish it before using the model
        ckpt, scores = train_again(study, spec, folder, json.loads((folder / "quality.json").read_text()))
    else:
        ckpt = train(study, spec, folder / "train")
        scores = quality(study, spec, ckpt, folder)
    if scores.get("targets") != study.targets:  # the study's targets, recorded with the scores they judge
        scores["targets"] = study.targets
        write_json(folder / "quality.json", scores)
    try:
        explain(study, spec, ckpt, folder, scores, redo_changed)
    except CheckpointMissing:
        if not seeded(folder / "train"):
            raise
        ckpt, scores = train_again(study, spec, folder, scores)
        explain(study, spec, ckpt, folder, scores, redo_changed)
    scores["wall_minutes"] = {k: round(60 * v, 1) for k, v in study_cost(folder / LEDGER).items()}
    write_json(folder / "quality.json", scores)


def seed_from_results(study: Study, spec: ModelSpec, folder: Path) -> bool:
    """On a machine without this model's training, take it from the committed results when they hold it under the
    same recipe: quality, ledger and explain runs are copied and training is marked done (without its checkpoint).

    A group that still needs explaining then needs the checkpoint: ``_evaluate`` says so.
    """
    committed = study.results / "models" / spec.name if study.results else None
    recipe = [*study.train, *spec.train]
    if (committed is None or not (committed / "quality.json").is_file() or (folder / "train" / "train.done").is_file()
            or last_checkpoint(folder / "train")):
        return False
    if json.loads((committed / "quality.json").read_text()).get("recipe") != recipe:
        return False
    shutil.copytree(committed, folder, dirs_exist_ok=True)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    (folder / "train" / "train.done").write_text(json.dumps({"recipe": recipe, "from": str(committed)}) + "\n")
    return True


def seeded(train_folder: Path) -> bool:
    """Whether a model's training was taken from the committed results (``seed_from_results``), not made here."""
    marker = train_folder / "train.done"
    return marker.is_file() and "from" in json.loads(marker.read_text())


def train_again(study: Study, spec: ModelSpec, folder: Path, scores: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Train a model taken from the committed results again, with the same recipe and seed, for a run that needs it;
    returns its checkpoint and the scores the study now holds for it.

    Its test is run again (``quality.retrained.json``). When it scores as the committed model did, the committed runs
    stand. Otherwise the training did not reproduce (the committed one made on another machine, with other code or
    resumed, say), so every run must come from the new model: the committed ones are set aside
    (``explain.<time>/``, ``paper_resolution.<time>/``, made anew) and its scores replace the committed ones (kept as
    ``quality.committed.json``). ``train/retrain.json`` marks it under way until then, so that a run stopped
    midway resumes it (``run_model``) rather than take the new model for the committed one.
    """
    marker = folder / "train" / RETRAIN
    if marker.is_file():
        print(f"[study] {spec.name}: resuming its training again, stopped before its test was compared with the "
              "committed one", flush=True)
    else:
        print(f"[study] {spec.name}: a run needs the model, which came from {study.results} without its checkpoint; "
              "training it again with the same recipe and seed", flush=True)
        write_json(marker, {"from": str(study.results)})
    if seeded(folder / "train"):  # the committed model's marker: from now on the model is trained here
        (folder / "train" / "train.done").unlink()
    ckpt = train(study, spec, folder / "train")
    again = quality(study, spec, ckpt, folder, "quality.retrained.json")
    differ = [f"{m} {k}: {scores.get(m, {}).get(k)} committed, {v} now" for m in ("wer", "cer", "bleu")
              for k, v in again.get(m, {}).items() if scores.get(m, {}).get(k) != v]
    if differ:
        print(f"[study] {spec.name}: trained again, but its test scores differ ({'; '.join(differ)}): the committed "
              "runs came from another training, so they are set aside and the model is explained anew", flush=True)
        for runs in EXPLANATIONS:
            set_aside(folder / runs)
        (folder / "quality.json").rename(folder / "quality.committed.json")
        (folder / "quality.retrained.json").rename(folder / "quality.json")
        scores = {**again, "targets": study.targets}
    else:
        print(f"[study] {spec.name}: trained again, and it tests as the committed model did", flush=True)
    marker.unlink()  # compared: the model the study now holds is settled
    return ckpt, scores


def stamped(folder: Path) -> Path:
    """``folder``'s name with the time appended, ``<name>.<time>``: where a set-aside folder goes."""
    return folder.with_name(f"{folder.name}.{time.strftime('%Y%m%d-%H%M%S')}")


def set_aside(folder: Path) -> Path | None:
    """Rename an explain folder to ``<name>.<time>`` (kept, but no longer read), so that it is made anew."""
    if not folder.is_dir():
        return None
    return folder.rename(stamped(folder))


def set_aside_run(run: Path) -> Path:
    """Move one group's run ``<stage>/<group>`` to ``<stage>.<time>/<group>`` (kept, but no longer read)."""
    dest = stamped(run.parent) / run.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    return run.rename(dest)


def explained_model(folder: Path) -> S2TProbe | None:
    """The model a finished run explained, when its checkpoint is still where the run found it and unchanged."""
    settings = read_json(folder / "settings.json")
    ckpt = Path(settings.get("ckpt") or "")
    if not ckpt.is_file() or file_digest(ckpt) != settings.get("ckpt_sha256"):
        return None
    return S2TProbe.from_checkpoint(ckpt)


def rescore_explanations(study: Study, only: Sequence[str] = ()) -> list[tuple[Path, bool]]:
    """Recompute the agreement scores of every finished explain run of the (selected) models from its maps.h5, without
    a model pass (``probes.evaluation.run.rescore``), and their ground-truth shares too where the run's checkpoint is
    still here (its tokenizer is needed), with their report.md; returns the runs and whether their ground truth and
    report were rescored."""
    folders = [h5.parent for spec in study.models if not only or spec.name in only for runs in EXPLANATIONS
               for h5 in sorted((study.out / "models" / spec.name / runs).glob("*/maps.h5"))]
    done = []
    for folder in folders:
        model = explained_model(folder)
        rescore(folder, model)
        done.append((folder, model is not None))
    return done


HEAVY = ("*.h5", "*.ckpt")  # never exported: maps and checkpoints
LIGHT_DIRS = EXPLANATIONS  # besides the model folder's own files, the only folders exported (not train/, test/)


def export(out: Path, dest: Path, only: Sequence[str] = ()) -> Path:
    """Copy a study's light results (quality, ledgers, explain metrics, records, reports, figures, tables) of every
    (selected) model into ``dest`` and rebuild its report there from those files alone; returns the report's path."""
    for folder in sorted((out / "models").glob("*")):
        if not (folder / "quality.json").is_file() or (only and folder.name not in only):
            continue  # not trained and tested yet, or not asked for
        target = dest / "models" / folder.name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for f in folder.iterdir():
            if f.is_file() and f.name != LOCK:
                shutil.copy2(f, target / f.name)
        for name in LIGHT_DIRS:
            if (folder / name).is_dir():
                shutil.copytree(folder / name, target / name, ignore=shutil.ignore_patterns(*HEAVY, "work", "wandb"))
    return write_study_report(dest)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``crossprobe-study`` and ``python -m probes.study``."""
    p = argparse.ArgumentParser(
        prog="python -m probes.study", description=__doc__.split("\n\n")[0],
        epilog="Run again to resume after any stop. --redo-explain explains the trained models anew (e.g. after "
               "saliency defaults changed) without retraining or retesting; the old runs stay as explain.<time>/ (the "
               "paper_resolution/ runs are kept).")
    p.add_argument("--config", type=Path, required=True,
                   help="study YAML; configs/study/NAME.yaml is found in the installed package too")
    p.add_argument("--only", nargs="*", default=(), help="run only these models (the report covers all finished ones)")
    p.add_argument("--out", type=Path, help="the study's folder (default: the study file's out)")
    p.add_argument("--redo-explain", action="store_true",
                   help="set aside the (selected) models' explain runs and explain them again, without retraining")
    p.add_argument("--redo-changed", action="store_true",
                   help="set aside the finished explain and paper-resolution runs made with other settings than the "
                        "study file's (else kept, with a note) and make them anew; a model that came from the "
                        "committed results is trained again for them (same recipe and seed, its test compared)")
    p.add_argument("--export", type=Path, metavar="DIR",
                   help="copy the light results (no checkpoints, no maps.h5) of the (selected) models into DIR, rebuild "
                        "DIR/report.md, and stop (with --only, the other models' results in DIR are left as they are)")
    p.add_argument("--rescore", action="store_true",
                   help="recompute the agreement scores of the (selected) models' finished explain runs from their saved "
                        "maps (seconds, no model pass; e.g. after a new correlation was added), and their ground-truth "
                        "shares where the run's checkpoint is still here (run it from the folder the study ran in, so "
                        "that the manifest is found), rewrite the study report, and stop")
    p.add_argument("--dry-run", action="store_true", help="check the study file and list the models")
    a = p.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `make study-stop`: unwind, so ledgers record the time
    try:
        study = Study.load(find_config(a.config))
    except (ValueError, TypeError, KeyError) as err:
        print(f"error: {a.config}: {err}", file=sys.stderr)
        return 2
    if a.out:
        study.out = a.out
    if a.export:
        print(f"[study] report: {export(study.out, a.export, a.only)}")
        return 0
    if a.rescore:
        try:
            for folder, truth in rescore_explanations(study, a.only):
                print(f"[study] rescored {folder}"
                      + ("" if truth else " (not its ground truth nor its report: its checkpoint is gone)"))
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"[study] report: {write_study_report(study.out)}")
        return 0
    if a.dry_run:
        for spec in study.models:
            fine = study.paper_resolution
            also = f"; {spec.groups[0]} again at the paper's resolution ({fine.limit} utterances)" if fine and spec.groups else ""
            made = f"pretrained {spec.hf}" if spec.hf else f"{spec.experiment} {' '.join([*study.train, *spec.train])}"
            print(f"{spec.name}: {made}; explain "
                  f"{', '.join(spec.groups)}{also}")
        return 0
    try:
        run(study, a.only, a.redo_changed, a.redo_explain)
    except (RuntimeError, ManifestError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
