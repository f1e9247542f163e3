"""Deletion and insertion curves: hand-checked pieces, and the toy model's true read windows as a planted signal."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import Tensor
from torchmetrics.functional.text import word_error_rate

from probes.interface import Utterance, forced, hypotheses
from probes.metrics.deletion import auc, curves, input_relevance, levels, perturbed, ranking
from tests.probes.toys import ToyProbe, toy_utterance

READS = [(1, 3), (6, 8), (10, 12), (15, 17)]  # 8 of the 20 encoder frames are ever read: 39% of the input cells
FRAMES = 82  # 20 encoder frames plus a 2-frame subsampling remainder


def detokenize(tokens: list[int]) -> str:
    """Toy text: token ids as words."""
    return " ".join(map(str, tokens))


@pytest.fixture(scope="module")
def toy() -> tuple[ToyProbe, Utterance]:
    """Toy model and one of its utterances."""
    model = ToyProbe(READS)
    return model, toy_utterance(model, frames=FRAMES)


def one(model: ToyProbe, utt: Utterance, relevance: Tensor, insertion: bool = False, **options) -> tuple:
    """The (probability, text) curves of one map, deleting or inserting."""
    mode = "insertion" if insertion else "deletion"
    return curves(model, utt, {mode: {"map": relevance}}, detokenize, **options)[mode]["map"]


def maps() -> dict[str, Tensor]:
    """(I, T') relevance: the true read windows, the same reversed (read frames last), and random."""
    truth = torch.zeros(len(READS), FRAMES // 4)
    for i, (a, b) in enumerate(READS):
        truth[i, a:b] = 1.0
    noise = torch.rand(truth.shape, generator=torch.Generator().manual_seed(0))
    return {"truth": truth, "random": noise, "reverse": -truth}


def test_auc_of_constructed_curves() -> None:
    assert auc([0, 50, 100], [0, 50, 100]) == pytest.approx(50.0)
    assert auc(levels(20), [30.0] * 21) == pytest.approx(30.0)
    assert auc([0, 50, 100], [100, 100, 0]) == pytest.approx(75.0)
    with pytest.raises(ValueError):
        auc([0, 100, 50], [1, 2, 3])


def test_levels() -> None:
    assert levels(20) == [5.0 * k for k in range(21)]


def test_encoder_frame_map_spreads_over_its_input_frames_and_channels() -> None:
    relevance = torch.tensor([[1.0, 0.0, 2.0], [0.5, 3.0, 0.0]])  # (I = 2, T' = 3)
    cells = input_relevance(relevance, num_frames=14, n_mels=2, subsampling=4)  # (14, 2)
    expected = torch.tensor([1.5] * 4 + [3.0] * 4 + [2.0] * 6)  # the 2 remainder frames take the last value
    assert torch.equal(cells, expected[:, None].expand(14, 2))


def test_full_resolution_map_is_summed_over_tokens() -> None:
    relevance = torch.arange(24.0).reshape(2, 4, 3)  # (I, T, F)
    assert torch.equal(input_relevance(relevance, 4, 3, subsampling=4), relevance[0] + relevance[1])
    with pytest.raises(ValueError, match="expected"):
        input_relevance(relevance, 5, 3, subsampling=4)


def test_ranking_breaks_ties_in_time_then_channel_order() -> None:
    cells = torch.tensor([[1.0, 2.0], [2.0, 1.0], [0.0, 2.0]])  # (T = 3, F = 2)
    assert ranking(cells).tolist() == [1, 2, 5, 0, 3, 4]
    with pytest.raises(ValueError, match="nan"):
        ranking(torch.tensor([[float("nan")]]))


def test_deletion_and_insertion_zero_complementary_top_cells() -> None:
    features = torch.rand(10, 4, generator=torch.Generator().manual_seed(1)) + 1.0  # (T, F), no zeros
    order = ranking(torch.rand(10, 4, generator=torch.Generator().manual_seed(2)))
    percents = [0.0, 5.0, 50.0, 100.0]
    deleted, inserted = perturbed(features, order, percents, False), perturbed(features, order, percents, True)
    assert [int((d == 0).sum()) for d in deleted] == [0, 2, 20, 40]  # floor(p / 100 * 40 + 0.5)
    assert torch.equal(deleted + inserted, features.expand(4, -1, -1))
    assert (deleted[1].reshape(-1)[order[:2]] == 0).all()


def test_true_windows_destroy_token_probability_fastest(toy: tuple[ToyProbe, Utterance]) -> None:
    model, utt = toy
    made = {name: one(model, utt, m, decode=False)[0] for name, m in maps().items()}
    assert made["truth"].auc > made["random"].auc > made["reverse"].auc
    assert all(c.metric == "100-prob" and c.mode == "deletion" and len(c.scores) == 21 for c in made.values())
    truth = made["truth"].scores
    assert truth[8] == pytest.approx(truth[-1])  # p = 40%: every read cell gone: nothing left to lose
    assert truth[-1] == pytest.approx(100 * (1 - 1 / model.vocab))  # all zero: uniform over the vocabulary


def test_true_windows_restore_token_probability_fastest(toy: tuple[ToyProbe, Utterance]) -> None:
    model, utt = toy
    made = {name: one(model, utt, m, insertion=True, decode=False)[0] for name, m in maps().items()}
    assert made["truth"].auc < made["random"].auc < made["reverse"].auc
    truth = made["truth"].scores
    assert truth[8] == pytest.approx(truth[-1])  # p = 40%: every read cell restored: the original output
    assert made["truth"].mode == "insertion"


def test_true_windows_raise_wer_fastest_and_insertion_mirrors_it(toy: tuple[ToyProbe, Utterance]) -> None:
    model, utt = toy
    deletion = {name: one(model, utt, m)[1] for name, m in maps().items()}
    insertion = {name: one(model, utt, m, insertion=True)[1] for name, m in maps().items()}
    assert deletion["truth"].auc > deletion["reverse"].auc
    assert insertion["truth"].auc < insertion["reverse"].auc
    assert deletion["truth"].metric == "wer" and deletion["truth"].scores[0] == 0.0  # unperturbed = own hypothesis
    assert insertion["truth"].scores[-1] == 0.0


def test_encoder_frame_map_equals_its_full_resolution_expansion(toy: tuple[ToyProbe, Utterance]) -> None:
    model, utt = toy
    coarse = maps()["random"]  # (I, T')
    fine = input_relevance(coarse, FRAMES, model.n_mels, model.subsampling)[None] / len(READS)  # (1, T, F)
    fine = fine.expand(len(READS), -1, -1)  # (I, T, F), sums back to the same cells
    coarse_curve, fine_curve = (one(model, utt, m, decode=False)[0] for m in (coarse, fine))
    assert coarse_curve.scores == pytest.approx(fine_curve.scores)


def test_scores_against_a_given_reference_and_bleu_for_st(toy: tuple[ToyProbe, Utterance]) -> None:
    model, utt = toy
    wrong = replace(utt, reference=detokenize(utt.tokens[:-1] + [99]))
    curve = one(model, wrong, maps()["truth"], steps=2)[1]
    assert curve.scores[0] == pytest.approx(100 / len(utt.tokens))  # one substitution
    st = one(model, replace(utt, task="st"), maps()["truth"], steps=2)[1]
    assert st.metric == "100-bleu" and st.scores[0] == pytest.approx(0.0) and st.scores[-1] > 0.0


@pytest.mark.parametrize("insertion", [False, True])
def test_one_encoding_serves_both_curves_as_two_separate_passes_would(toy: tuple[ToyProbe, Utterance],
                                                                      insertion: bool) -> None:
    model, utt = toy
    reference = detokenize(utt.tokens)
    for name, m in maps().items():
        prob, text = one(model, utt, m, insertion, steps=5, beam_size=1, batch_size=4)
        cells = input_relevance(m, FRAMES, model.n_mels, model.subsampling)
        feats = perturbed(utt.features, ranking(cells), levels(5), insertion)  # (6, T, F)
        log_probs = forced(model, utt, feats).log_probs  # all six levels in one pass, encoded apart from any search
        probs = log_probs.gather(-1, torch.tensor(utt.tokens).expand(6, -1)[..., None]).squeeze(-1).exp()  # (6, I)
        assert prob.scores == pytest.approx((100 * (1 - probs.mean(dim=1))).tolist(), abs=1e-9), name
        searched = hypotheses(model, feats, utt.prefix, 1)  # the search on its own encoding
        assert text.scores == tuple(100 * float(word_error_rate([detokenize(h)], [reference])) for h in searched), name
        assert prob.mode == text.mode == ("insertion" if insertion else "deletion")


def test_all_curves_at_once_equal_each_curve_alone(toy: tuple[ToyProbe, Utterance]) -> None:
    model, utt = toy
    relevance = {"deletion": maps(), "insertion": {name: m.flip(0) for name, m in maps().items()}}
    together = curves(model, utt, relevance, detokenize, steps=10, beam_size=1, batch_size=7)
    assert set(together) == {"deletion", "insertion"} and all(set(c) == set(maps()) for c in together.values())
    for mode, named in relevance.items():
        for name, m in named.items():
            alone = one(model, utt, m, mode == "insertion", steps=10, beam_size=1)
            assert together[mode][name] == alone, (mode, name)  # the shared 0% and 100% levels included
    with pytest.raises(ValueError, match="unknown curve mode"):
        curves(model, utt, {"deleted": maps()}, detokenize)


class NeutralToy(ToyProbe):
    """A toy whose inputs' neutral value is 0.25: removed cells take it."""

    def neutral(self, features: Tensor) -> float:
        """A constant neutral level."""
        return 0.25


def test_removed_cells_take_the_models_neutral_value() -> None:
    """Deletion's last level and insertion's first are all-neutral features (fill "model"), or all 0 ("zero")."""
    model = NeutralToy(READS)
    utt = toy_utterance(model, frames=FRAMES)
    m = maps()["truth"]
    for fill, value in (("model", 0.25), ("zero", 0.0)):
        silent = forced(model, utt, torch.full((1, FRAMES, model.n_mels), value)).log_probs  # (1, I, V)
        damage = 100 * (1 - silent.gather(-1, torch.tensor(utt.tokens)[None, :, None]).exp().mean())
        deleted = one(model, utt, m, steps=4, fill=fill)[0]
        inserted = one(model, utt, m, insertion=True, steps=4, fill=fill)[0]
        assert deleted.scores[-1] == pytest.approx(float(damage)) == inserted.scores[0], fill


def test_text_damage_is_scored_on_normalised_text(toy: tuple[ToyProbe, Utterance]) -> None:
    """A hypothesis that differs from the reference only in what the normaliser removes scores 0 WER."""
    model, utt = toy
    shouted = replace(utt, reference=detokenize(utt.tokens).upper() + "!")
    assert one(model, shouted, maps()["truth"], steps=2)[1].scores[0] > 0.0
    assert one(model, shouted, maps()["truth"], steps=2, normalize=lambda t: t.lower().rstrip("!"))[1].scores[0] == 0.0
