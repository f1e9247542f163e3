"""`pip install .`: every import declared with a range, the configs shipped, each console command runs from the wheel."""

from __future__ import annotations

import ast
import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from s2t.resources import find_config
from s2t.train import shipped

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SOURCES = ("s2t", "probes", "study")
HELP_SAYS = {  # a word each command's --help must print
    "crossprobe-corpus": "--langs", "crossprobe-librispeech": "--root", "crossprobe-natural": "Piper", "crossprobe-check": "manifest",
    "crossprobe-train": "fit", "crossprobe-score": "predictions", "crossprobe-average": "--out",
    "crossprobe-transcribe": "--translate-to", "crossprobe-evaluate": "--manifest", "crossprobe-report": "metrics.json",
    "crossprobe-study": "--dry-run", "crossprobe-study-report": "quality.json",
    "crossprobe-import-whisper": "CTranslate2", "crossprobe-librivox": "pocketsphinx",
    "crossprobe-mustc": "FBK", "crossprobe-europarl-st": "segments.lst", "crossprobe-covost": "covost_v2",
    "crossprobe-common-voice": "validated", "crossprobe-plot-curves": "--mark",
    "crossprobe-resolution-pairs": "LABEL=DIR",
}


def requirements() -> list[Requirement]:
    """The dependencies and the extras' requirements of pyproject.toml."""
    extras = [r for group in PROJECT["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in [*PROJECT["dependencies"], *extras]]


def third_party_imports() -> set[str]:
    """Top-level modules imported anywhere in the packages, standard library and our own excluded."""
    names = set()
    for path in (p for package in SOURCES for p in (ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - set(SOURCES)


def test_every_import_is_declared_with_a_range() -> None:
    declared = {canonicalize_name(r.name) for r in requirements()}
    providers = packages_distributions()
    undeclared = {m for m in third_party_imports() if not {canonicalize_name(d) for d in providers.get(m, [])} & declared}
    assert not undeclared
    for r in requirements():  # exact pins belong in requirements.lock
        assert {s.operator for s in r.specifier} == {">=", "<"}, r


def test_commands_are_the_ones_documented() -> None:
    assert PROJECT["scripts"].keys() == HELP_SAYS.keys()


def test_shipped_configs_are_found_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    demo = find_config("configs/study/demo.yaml")
    assert demo.is_file() and find_config("study/demo.yaml") == demo
    assert find_config("configs/study/missing.yaml") == Path("configs/study/missing.yaml")  # left for its error
    (tmp_path / "configs/study").mkdir(parents=True)
    (tmp_path / "configs/study/demo.yaml").write_text("models: []\n")
    assert find_config("configs/study/demo.yaml") == Path("configs/study/demo.yaml")  # a local file comes first
    experiment = find_config("configs/experiment/demo_en_asr.yaml")
    assert shipped("--config=configs/experiment/demo_en_asr.yaml") == f"--config={experiment}"
    assert shipped("configs/experiment/demo_en_asr.yaml") == str(experiment)
    assert shipped("--trainer.max_steps") == "--trainer.max_steps" and shipped("fit") == "fit"


def run(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess:
    """Run a command outside the checkout: from ``cwd``, without PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def build_wheel(out: Path) -> Path:
    """Build the wheel from a copy of the sources (the checkout stays free of build/ and egg-info)."""
    source = out / "source"
    for name in (*SOURCES, "configs"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    done = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                "-w", out / "dist", source], out)
    assert done.returncode == 0, done.stderr[-3000:]
    return next((out / "dist").glob("crossprobe-*.whl"))


def fresh_venv(folder: Path) -> Path:
    """A new venv that borrows this one's installed packages (no download) but not the checkout; its bin folder."""
    done = run([sys.executable, "-m", "venv", "--without-pip", folder], folder.parent)
    assert done.returncode == 0, done.stderr
    purelib = run([folder / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], folder)
    (Path(purelib.stdout.strip()) / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return folder / "bin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv with the wheel installed."""
    bin_dir = fresh_venv(tmp_path_factory.mktemp("install") / "venv")
    done = run([bin_dir / "python", "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], bin_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    return bin_dir


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_config(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for package in SOURCES for p in (ROOT / package).rglob("*.py")}
    configs = {f"s2t/configs/{p.relative_to(ROOT / 'configs').as_posix()}" for p in (ROOT / "configs").rglob("*.yaml")}
    lexicon = {p.relative_to(ROOT).as_posix() for p in (ROOT / "s2t/data/lexicon").glob("*.tsv")}
    assert modules <= names and configs <= names and lexicon <= names
    assert "s2t/configs/study/demo.yaml" in names and lexicon
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)  # license-files (PEP 639)


@pytest.mark.slow
def test_the_installed_package_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    code = "from s2t.resources import checkout_root, config_dir; import probes; print(checkout_root(), config_dir(), probes.__file__)"
    done = run([installed / "python", "-c", code], tmp_path)
    root, configs, probes = done.stdout.split()
    assert root == "None"  # the study's steps run from the current folder
    assert Path(configs).is_relative_to(installed.parent) and Path(probes).is_relative_to(installed.parent)


@pytest.mark.slow
@pytest.mark.parametrize("command", HELP_SAYS)
def test_each_command_runs_from_the_wheel(installed: Path, tmp_path: Path, command: str) -> None:
    done = run([installed / command, "--help"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert HELP_SAYS[command] in done.stdout
    assert done.stdout.startswith(f"usage: {command} "), done.stdout[:200]  # it names itself, not python -m


@pytest.mark.slow
def test_the_installed_study_and_training_find_their_configs(installed: Path, tmp_path: Path) -> None:
    study = run([installed / "crossprobe-study", "--config", "configs/study/demo.yaml", "--dry-run"], tmp_path)
    assert study.returncode == 0, study.stderr[-3000:]
    assert "en_asr_xs: configs/experiment/demo_en_asr.yaml" in study.stdout
    # the experiment the study names, as its training step passes it, with the experiment's relative includes
    train = run([installed / "crossprobe-train", "fit", "--config", "configs/experiment/demo_en_asr.yaml", "--print_config"],
                tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    assert "preset: xs" in train.stdout and "use_distributed_sampler: false" in train.stdout
