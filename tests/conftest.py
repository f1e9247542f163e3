"""Shared fixtures: a tiny synthetic corpus made once per test session."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from s2t.data.synth import SynthConfig, generate

TINY = dict(counts={"train": 8, "valid": 3, "test": 3}, seed=3, speakers=3)


@pytest.fixture(autouse=True, scope="session")
def wandb_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """W&B's data, cache and config folders in a temporary folder: artifacts that tests log are staged there, not in
    ~/.local/share/wandb."""
    home = tmp_path_factory.mktemp("wandb_home")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
            patch.setenv(name, str(home / name.lower()))
        yield


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All five languages, ASR and ST, a handful of utterances per split; returns its folder."""
    out = tmp_path_factory.mktemp("corpus")
    generate(SynthConfig(out=out, **TINY), progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny English-ASR model saved as train.py would (tokenizer and config embedded)."""
    import torch

    from s2t.data.manifest import read_manifest
    from s2t.module import S2TModule
    from s2t.tokenizer import Tokenizer

    out = tmp_path_factory.mktemp("ckpt")
    texts = [row.src_text for row in read_manifest(tiny_corpus / "train.tsv") if row.src_lang == "en"]
    tokenizer = Tokenizer.train(texts, 48, ["en"], ["asr"])
    torch.manual_seed(0)
    module = S2TModule(preset="xs", model=dict(d_model=32, encoder_layers=2, decoder_layers=2, heads=2, ffn_dim=64,
                                               subsampler_channels=32), max_len_a=0.0, max_len_b=12)
    module.build(tokenizer)
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    module.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, out / "tiny.ckpt")
    return out / "tiny.ckpt"
