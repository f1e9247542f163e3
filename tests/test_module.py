"""S2TModule pieces with known answers: schedule, CTC weight, metric names, checkpoint checks."""

import math
from types import SimpleNamespace

import pytest

from s2t.models.config import preset
from s2t.module import CheckpointMismatchError, S2TModule, inverse_sqrt, linear, metric_key
from s2t.tokenizer import Tokenizer

TEXTS = ["the dog sees the cat", "il cane vede il gatto", "le chien voit le chat"] * 20


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.train(TEXTS, 60, ("en", "it", "fr"), ("asr", "st"))


def test_inverse_sqrt_warms_up_linearly_then_decays() -> None:
    assert inverse_sqrt(50, 100) == pytest.approx(0.5)
    assert inverse_sqrt(100, 100) == pytest.approx(1.0)
    assert inverse_sqrt(400, 100) == pytest.approx(0.5)
    assert inverse_sqrt(0, 100) == pytest.approx(0.01)


def test_linear_schedule_reaches_its_end_and_stays() -> None:
    assert [linear(step, 0.6, 0.2, 100) for step in (0, 50, 100, 500)] == pytest.approx([0.6, 0.4, 0.2, 0.2])
    assert linear(3, 0.6, 0.2, 0) == 0.2


def test_ctc_weight_decays_over_epochs_of_the_training_loader() -> None:
    module = S2TModule(ctc_weight=0.5, ctc_weight_final=0.1, ctc_decay_steps=1000, ctc_decay_epochs=2)  # epochs win
    trainer = SimpleNamespace(num_training_batches=30, accumulate_grad_batches=3, global_step=0)  # 10 steps per epoch
    module._trainer = trainer
    weights = []
    for step in (0, 10, 20, 40):
        trainer.global_step = step
        weights.append(module.ctc_weight())
    assert weights == pytest.approx([0.5, 0.3, 0.1, 0.1])
    trainer.num_training_batches, trainer.global_step = math.inf, 5  # test or validate alone: no training loader
    assert module.ctc_weight() == pytest.approx(0.4)  # the 20 steps resolved while training still hold
    fresh = S2TModule(ctc_weight=0.5, ctc_weight_final=0.1, ctc_decay_epochs=2)
    fresh._trainer = trainer
    assert fresh.ctc_weight() == pytest.approx(0.1)  # never trained here: the schedule counts as ended


def test_metric_keys() -> None:
    assert metric_key("asr", "it", "it") == "it" and metric_key("st", "it", "en") == "it-en"


def test_checkpoint_round_trip_and_mismatches(tokenizer: Tokenizer) -> None:
    tiny = dict(d_model=32, encoder_layers=2, decoder_layers=1, heads=2, ffn_dim=64, subsampler_channels=32)
    trained = S2TModule(model=tiny)
    trained.build(tokenizer)
    checkpoint = {"state_dict": trained.state_dict()}
    trained.on_save_checkpoint(checkpoint)

    fresh = S2TModule(model=tiny)
    fresh.on_load_checkpoint(checkpoint)  # builds the model from the checkpoint alone
    fresh.load_state_dict(checkpoint["state_dict"])
    assert fresh.model.config == trained.model.config and fresh.tokenizer.to_bytes() == tokenizer.to_bytes()

    dropped = S2TModule(model={**tiny, "dropout": 0.3})  # e.g. a preset whose dropout changed since
    dropped.build(tokenizer)
    with pytest.warns(UserWarning, match=r"'dropout': \(0.0, 0.3\)"):
        dropped.on_load_checkpoint(checkpoint)
    dropped.load_state_dict(checkpoint["state_dict"])  # the same weights

    bigger = S2TModule(model={**tiny, "d_model": 64})
    bigger.build(tokenizer)
    with pytest.raises(CheckpointMismatchError, match="d_model"):
        bigger.on_load_checkpoint(checkpoint)

    other = S2TModule(model=tiny)
    other.build(Tokenizer.train(TEXTS, 60, ("en", "it"), ("asr",)))
    with pytest.raises(CheckpointMismatchError, match="tokenizer"):
        other.on_load_checkpoint(checkpoint)
    with pytest.raises(CheckpointMismatchError, match="not a Crossprobe"):
        S2TModule().on_load_checkpoint({"state_dict": {}})


def test_model_takes_its_vocabulary_from_the_tokenizer(tokenizer: Tokenizer) -> None:
    module = S2TModule(preset="xs")
    assert module.model_config(tokenizer).vocab_size == tokenizer.vocab_size != preset("xs").vocab_size
    assert math.isclose(module.model_config(tokenizer).d_model, preset("xs").d_model)
