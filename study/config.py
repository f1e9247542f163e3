"""A study file (YAML): where, on which data, which models, and how to explain them.

How to explain them, ``explain:``, is a mapping of evaluate.py's explanation settings, ``ExplainConfig``'s fields
(``spes: {masks: 256}``, ``methods: [spes, encoder]``, ...): the ``explain:`` section of evaluate.py's ``--config``
file (``--print_config`` writes one), those it leaves out at their defaults. A finished run is compared with it field
by field (``study.settings``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from probes.evaluation.settings import read_config, sets_explanation
from probes.report.paper import QUALITY_TARGETS


@dataclass
class ModelSpec:
    """One model of the study: trained here from an experiment config, or a pretrained Hugging Face Whisper (``hf``)."""

    name: str
    experiment: str = ""  # configs/experiment/NAME.yaml
    train: list[str] = field(default_factory=list)  # train.py fit overrides (preset, budget, ...)
    groups: list[str] = field(default_factory=list)  # test-row groups to explain: asr_en, st_en-it, asr_en@librivox
    hf: str | None = None  # a pretrained model's folder (save_pretrained; ``~`` expanded): tested and explained only

    def __post_init__(self) -> None:
        """A model is either trained (``experiment``) or pretrained (``hf``), and only the trained one has a recipe."""
        if bool(self.experiment) == bool(self.hf):
            raise ValueError(f"model {self.name!r}: give either experiment (trained here) or hf (a pretrained folder)")
        if self.hf and self.train:
            raise ValueError(f"model {self.name!r}: a pretrained model (hf) is not trained: drop its train options")

    @property
    def pretrained(self) -> Path | None:
        """The pretrained model's folder, ``~`` expanded; None for a model trained here."""
        return Path(self.hf).expanduser() if self.hf else None


@dataclass
class PaperResolution:
    """A few utterances of each model's first group explained at the paper's SPES resolution (thousands of segments).

    The study's default maps are coarse because fine ones converge only with a hundred thousand masks; these runs
    measure what that costs: agreement and map reliability at the paper's resolution on the same model and rows
    (with ``spes: {target_reliability: ...}`` in ``explain``, maps that have converged).
    """

    limit: int = 6  # utterances per model
    explain: dict[str, Any] = field(default_factory=dict)  # explanation settings (spes: {granularities: ...}, ...)

    def __post_init__(self) -> None:
        """Reject explanation settings evaluate.py would."""
        check_explain(self.explain, "paper_resolution: explain")


@dataclass
class Study:
    """A study file: where, on which data, which models, and how to explain them."""

    out: Path
    data_dir: Path
    models: list[ModelSpec]
    train: list[str] = field(default_factory=list)  # overrides for every model's train.py calls
    explain: dict[str, Any] = field(default_factory=dict)  # explanation settings of every group (see above)
    evaluate: list[str] = field(default_factory=list)  # other evaluate.py options (--devices 4, ...), results unchanged
    limit: int = 40  # utterances explained per group
    targets: dict[str, float] = field(default_factory=lambda: dict(QUALITY_TARGETS))  # a group is explained only if met
    paper_resolution: PaperResolution | None = None  # optional fine-resolution runs (see PaperResolution)
    results: Path | None = None  # committed light results (--export): a model finished there is not made again
    datasets: dict[str, Path] = field(default_factory=dict)  # other test sets by name: group asr_en@NAME reads NAME's

    def __post_init__(self) -> None:
        """Reject explanation settings evaluate.py would, and ``evaluate`` options that would change them."""
        check_explain(self.explain, "explain")
        if changing := [o for o in self.evaluate if sets_explanation(o)]:
            raise ValueError(f"evaluate: {', '.join(changing)} would change the explanation settings, which the study "
                             "compares with its runs: give them under explain: (e.g. spes: {masks: 256})")

    @classmethod
    def load(cls, path: Path) -> Study:
        """Read and check a study YAML file."""
        raw = yaml.safe_load(path.read_text())
        models = [ModelSpec(**m) for m in raw.pop("models")]
        names = [m.name for m in models]
        if len(set(names)) != len(names):
            raise ValueError(f"{path}: model names must be unique, got {names}")
        datasets = {name: Path(folder) for name, folder in (raw.pop("datasets", None) or {}).items()}
        for m in models:
            for g in m.groups:
                group_filter(g)
                if group_dataset(g) and group_dataset(g) not in datasets:
                    raise ValueError(f"{path}: group {g!r} of {m.name!r} names a dataset that datasets: lacks "
                                     f"(it has {sorted(datasets)})")
        if "paper_resolution" in raw:
            raw["paper_resolution"] = PaperResolution(**raw["paper_resolution"])
        if raw.get("results"):
            raw["results"] = Path(raw["results"])
        return cls(out=Path(raw.pop("out")), data_dir=Path(raw.pop("data_dir")), models=models, datasets=datasets,
                   **{k: v for k, v in raw.items()})

    def test_dir(self, group: str) -> Path:
        """The folder of the test manifest a group's rows come from: ``data_dir``, or its dataset's (``asr_en@librivox``)."""
        name = group_dataset(group)
        return self.datasets[name] if name else self.data_dir

    def test_manifest(self, group: str) -> Path:
        """The test manifest a group's rows come from."""
        return self.test_dir(group) / "test.tsv"


def check_explain(settings: Any, where: str) -> None:
    """Raise ValueError, saying ``where``, unless ``settings`` is a mapping of ``ExplainConfig``'s fields that
    evaluate.py accepts."""
    try:
        read_config(settings)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from err


def speech_of(data_dir: Path) -> str:
    """What speech a test set holds, for the report: its corpus.json's voice (our generators write one), else real."""
    info = data_dir / "corpus.json"
    if not info.is_file():
        return f"real ({data_dir.name})"
    voice = json.loads(info.read_text()).get("voice")
    return f"synthetic, neural voice ({voice['name']})" if voice else "synthetic (espeak-ng)"


def group_dataset(group: str) -> str:
    """The dataset a group names after ``@`` (``asr_en@librivox`` -> ``librivox``), "" for the study's own data."""
    return group.partition("@")[2]


def group_rows(group: str) -> str:
    """The rows a group names before ``@``, whatever its dataset (``asr_en@librivox`` -> ``asr_en``)."""
    return group.partition("@")[0]


def group_filter(group: str) -> list[str]:
    """evaluate.py options selecting a group's rows: ``asr_en`` -> ASR en-en, ``st_en-it`` -> ST en-it (a dataset
    named after ``@`` does not change them)."""
    task, _, langs = group_rows(group).partition("_")
    if task not in ("asr", "st") or not langs:
        raise ValueError(f"bad group {group!r}: expected asr_<lang> or st_<src>-<tgt>")
    pair = f"{langs}-{langs}" if task == "asr" else langs
    return ["--tasks", task, "--pairs", pair]
