"""benchmarks/resolution_pairs.py: runs compared on the utterances they share, differences paired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import resolution_pairs as rp
from probes.metrics.agreement import summarize


def write_run(folder: Path, pearsons: dict[str, float], masks: int) -> Path:
    """An evaluate.py-like folder whose records carry only the measures the table reads."""
    folder.mkdir(parents=True)
    lines = [json.dumps({"id": u, "budget": {"input": {"masks": masks, "split_half": 0.9}},
                         "agreement": {"ca_vs_input": {"all": {"pearson": r, "pearson_token": r + 0.1}}},
                         "ground_truth": {"input": 0.3, "ca": {"all": 0.6}}}) for u, r in pearsons.items()]
    (folder / "utterances.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_only_shared_utterances_count_and_differences_are_paired(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    coarse = write_run(tmp_path / "coarse", {"a": 0.1, "b": 0.5, "c": 0.3, "extra": 0.9}, 256)
    fine = write_run(tmp_path / "fine", {"a": 0.2, "b": 0.7, "c": 0.35}, 65536)
    rp.main([f"coarse={coarse}", f"fine={fine}"])
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].strip("| "): line for line in out.splitlines() if line.startswith("| ")}
    assert "| 256 | 0.900 [" in rows["coarse"] and "| 65536 |" in rows["fine"]
    coarse_mean = summarize([0.1, 0.5, 0.3])  # "extra" is not in the fine run
    assert f"| {coarse_mean.mean:.3f} [{coarse_mean.ci_low:.3f}, {coarse_mean.ci_high:.3f}] |" in rows["coarse"]
    paired = summarize([0.1, 0.2, 0.05])  # fine - coarse per utterance: a narrower interval than unpaired
    assert f"| {paired.mean:.3f} [{paired.ci_low:.3f}, {paired.ci_high:.3f}] |" in rows["fine - coarse"]
    assert "3 utterances: a, b, c" in out


def test_missing_run_and_disjoint_runs_are_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="utterances.jsonl does not exist"):
        rp.main([f"x={tmp_path / 'nothing'}"])
    a = write_run(tmp_path / "a", {"u1": 0.1}, 256)
    b = write_run(tmp_path / "b", {"u2": 0.1}, 256)
    with pytest.raises(SystemExit, match="share no utterance"):
        rp.main([f"a={a}", f"b={b}"])
