"""configs/experiment/europarl_st_*: the paper's settings on EuroParl-ST compose, and each trains a step on the fixture tree.

The one-step runs swap the GPU trainer for one CPU process in full precision and the preset
for ``xxs``: base (125M), fama-small (446M) and fama-medium (837M) are too large for a CPU test;
the data settings (manifest names, languages, tasks, vocabulary, batch) are the recipes' own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from s2t.cli import main
from s2t.data import europarl_st
from s2t.models.config import PRESETS
from tests.data import corpora

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"en_asr": (["en"], ["asr"]), "it_asr": (["it"], ["asr"]), "multi_asr": (["en", "it"], ["asr"]),
            "multi_asr_st": (["en", "it"], ["asr", "st"])}  # setting -> (languages, tasks)
PRESET_NAMES = {"base": "base", "fama_small": "fama-small", "fama_medium": "fama-medium"}
RECIPES = {f"europarl_st_{setting}_{preset}": (setting, preset) for setting in SETTINGS for preset in PRESET_NAMES}


def recipe(name: str) -> Path:
    """The experiment file of a recipe."""
    return ROOT / "configs/experiment" / f"{name}.yaml"


def test_there_is_a_recipe_per_setting_and_preset() -> None:
    assert sorted(p.stem for p in (ROOT / "configs/experiment").glob("europarl_st_*.yaml")) == sorted(RECIPES)
    assert set(PRESET_NAMES.values()) <= set(PRESETS)


@pytest.mark.parametrize("name", RECIPES)
def test_print_config_shows_the_setting(name: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["fit", "--config", str(recipe(name)), "--print_config"])
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
    setting, preset = RECIPES[name]
    languages, tasks = SETTINGS[setting]
    assert f"preset: {PRESET_NAMES[preset]}\n" in out and "data_dir: data/europarl-st\n" in out and "valid: dev.tsv\n" in out
    assert "languages:\n" + "".join(f"  - {lang}\n" for lang in languages) in out
    assert "tasks:\n" + "".join(f"  - {task}\n" for task in tasks) in out
    assert "accelerator: gpu\n" in out and "precision: bf16-mixed\n" in out and "strategy: ddp\n" in out


@pytest.fixture(scope="module")
def europarl_manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The EuroParl-ST fixture tree converted as the recipes' data configs say (pairs en-it, it-en)."""
    tmp = tmp_path_factory.mktemp("europarl")
    fx = corpora.europarl_st(tmp, bad=False)
    assert europarl_st.main(["--root", str(fx.root), "--out", str(tmp / "europarl-st"), "--pairs", "en-it,it-en"]) == 0
    return tmp / "europarl-st"


@pytest.mark.parametrize("name", RECIPES)
def test_one_step_on_the_fixture_tree(name: str, europarl_manifests: Path, tmp_path: Path) -> None:
    cli = main(["fit", "--config", str(recipe(name)), "--data.data_dir", str(europarl_manifests), "--data.num_workers", "0",
                "--model.preset", "xxs", "--trainer.accelerator", "cpu", "--trainer.devices", "1", "--trainer.strategy", "auto",
                "--trainer.precision", "32-true", "--trainer.fast_dev_run", "1", "--trainer.logger", "lightning.pytorch.loggers.CSVLogger",
                "--trainer.logger.save_dir", str(tmp_path), "--trainer.enable_progress_bar", "false",
                "--trainer.default_root_dir", str(tmp_path)])
    languages, tasks = SETTINGS[RECIPES[name][0]]
    assert cli.trainer.state.finished and cli.trainer.global_step == 1
    assert cli.model.tokenizer.languages == tuple(languages) and cli.model.tokenizer.tasks == tuple(tasks)
    rows = cli.datamodule.rows["train"]
    assert {r.src_lang for r in rows} == set(languages) and {r.task for r in rows} == set(tasks)
    assert all(":" in r.audio for r in rows)  # segments of the speeches, read in place
