"""s2t.score: corpus metrics per language and direction with bootstrap intervals."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from torchmetrics.functional.text import char_error_rate, sacre_bleu_score, word_error_rate

from s2t.predictions import COLUMNS, Prediction
from s2t.score import Score, ScoreError, main, read_predictions, score

WORDS = "the painter who did not have our new pen studies in forest next week il pittore nuova penna".split()


def noisy_rows(n: int, seed: int = 0) -> list[Prediction]:
    """English ASR and en-it ST rows whose hypotheses drop, swap or replace some reference words."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        for task, tgt in (("asr", "en"), ("st", "it")):
            ref = [rng.choice(WORDS) for _ in range(rng.randint(6, 12))]
            hyp = [w if rng.random() > 0.25 else rng.choice(WORDS) for w in ref][: len(ref) - rng.randint(0, 1)]
            rows.append(Prediction(f"{i}-{task}", task, "en", tgt, " ".join(hyp), " ".join(ref)))
    return rows


def by_key(rows: list[Prediction], **kwargs: float) -> dict[tuple[str, str], Score]:
    """Scores keyed by (language or direction, metric)."""
    return {(s.key, s.metric): s for s in score(rows, **kwargs)}


def test_values_are_torchmetrics_corpus_scores_inside_their_intervals() -> None:
    rows = noisy_rows(60)
    asr = [r for r in rows if r.task == "asr"]
    st = [r for r in rows if r.task == "st"]
    scores = by_key(rows, resamples=200)
    assert set(scores) == {("en", "wer"), ("en", "cer"), ("en-it", "bleu")}
    expected = {
        ("en", "wer"): word_error_rate([r.hypothesis for r in asr], [r.reference for r in asr]),
        ("en", "cer"): char_error_rate([r.hypothesis for r in asr], [r.reference for r in asr]),
        ("en-it", "bleu"): sacre_bleu_score([r.hypothesis for r in st], [[r.reference] for r in st]),
    }
    for key, value in expected.items():
        s = scores[key]
        assert s.value == pytest.approx(100 * float(value), abs=1e-4)
        assert s.low < s.value < s.high and s.rows == 60


def test_perfect_predictions_score_exactly_with_no_spread() -> None:
    rows = [Prediction(r.id, r.task, r.src_lang, r.tgt_lang, r.reference, r.reference) for r in noisy_rows(20)]
    scores = by_key(rows, resamples=50)
    assert (scores["en", "wer"].value, scores["en", "wer"].low, scores["en", "wer"].high) == (0.0, 0.0, 0.0)
    assert scores["en-it", "bleu"].value == pytest.approx(100.0)
    assert scores["en-it", "bleu"].low == pytest.approx(100.0) and scores["en-it", "bleu"].high == pytest.approx(100.0)


def test_interval_narrows_like_one_over_root_n() -> None:
    rows = noisy_rows(40)
    once, sixteen = by_key(rows, resamples=1000), by_key(rows * 16, resamples=1000)
    for key in once:
        assert sixteen[key].value == pytest.approx(once[key].value)  # the same corpus, repeated
        ratio = (sixteen[key].high - sixteen[key].low) / (once[key].high - once[key].low)
        assert 0.15 < ratio < 0.4, (key, ratio)  # 1 / sqrt(16) = 0.25


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A TSV file with the given header and rows."""
    with path.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(header)
        w.writerows(rows)
    return path


def cells(rows: list[Prediction]) -> list[list[str]]:
    """The rows as TSV cells in column order."""
    return [[getattr(r, c) for c in COLUMNS] for r in rows]


def test_files_of_several_ranks_read_as_one_corpus(tmp_path: Path) -> None:
    rows = noisy_rows(4)
    files = [write(tmp_path / "r0.tsv", list(COLUMNS), cells(rows[:3])), write(tmp_path / "r1.tsv", list(COLUMNS), cells(rows[3:]))]
    assert read_predictions(files) == rows


def test_bad_files_name_the_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = noisy_rows(2)
    old = write(tmp_path / "old.tsv", ["id", "hypothesis", "reference"], [[r.id, r.hypothesis, r.reference] for r in rows])
    with pytest.raises(ScoreError, match=r"old\.tsv: missing column\(s\) \['task', 'src_lang', 'tgt_lang'\]"):
        read_predictions([old])
    twice = write(tmp_path / "twice.tsv", list(COLUMNS), cells(rows + rows[:1]))
    with pytest.raises(ScoreError, match=r"twice\.tsv line 6: id '0-asr' appears twice"):
        read_predictions([twice])
    task = write(tmp_path / "task.tsv", list(COLUMNS), [["x", "mt", "en", "it", "a", "a"]])
    with pytest.raises(ScoreError, match=r"task\.tsv line 2: task 'mt'"):
        read_predictions([task])
    assert main([str(write(tmp_path / "empty.tsv", list(COLUMNS), []))]) == 2
    assert "empty.tsv: no prediction to score" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.tsv")]) == 2
    assert "missing.tsv" in capsys.readouterr().err
