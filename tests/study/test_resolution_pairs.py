"""study.resolution_pairs: runs compared on the utterances they share, differences paired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probes.metrics.agreement import linear_share, summarize
from study import resolution_pairs as rp


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


def test_an_adaptive_run_capped_reads_each_utterance_at_its_last_doubling_within_the_cap(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "adaptive"
    folder.mkdir()

    def record(u: str, checks: list[tuple[int, float, float]]) -> dict:
        """checks: (masks, split-half, CA Pearson) at each doubling; the last is the record's own map."""
        masks, half, r = checks[-1]
        return {"id": u, "budget": {"input": {
            "masks": masks, "split_half": half, "rounds": [[m, h] for m, h, _ in checks],
            "by_round": [{"masks": m, "ca": {"pearson": p, "pearson_token": p}, "span_mass": p / 2} for m, _, p in checks]}},
            "agreement": {"ca_vs_input": {"all": {"pearson": r, "pearson_token": r}}},
            "ground_truth": {"input": r / 2, "ca": {"all": 0.6}}}

    records = [record("a", [(8, 0.5, 0.1), (16, 0.7, 0.2), (32, 0.9, 0.3)]), record("b", [(8, 0.95, 0.4)])]
    (folder / "utterances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    rp.main([f"full={folder}", f"sixteen={folder}@16", f"eight={folder}@8"])
    rows = {line.split(" | ")[0].strip("| "): line for line in capsys.readouterr().out.splitlines()
            if line.startswith("| ")}
    assert rows["sixteen"].split(" | ")[1] == "12"  # a at 16 masks, b stopped at 8: mean 12
    at_16 = summarize([0.2, 0.4])  # b reached its target in the first round: its final map
    assert f"| {at_16.mean:.3f} [{at_16.ci_low:.3f}, {at_16.ci_high:.3f}] |" in rows["sixteen"]
    paired = summarize([0.1 - 0.3, 0.0])  # eight - full, per utterance
    assert f"| {paired.mean:.3f} [{paired.ci_low:.3f}, {paired.ci_high:.3f}] |" in rows["eight - full"]
    with pytest.raises(SystemExit, match="more than 4"):
        rp.main([f"x={folder}@4"])
    plain = write_run(tmp_path / "plain", {"a": 0.1}, 256)
    with pytest.raises(SystemExit, match="no per-doubling scores"):
        rp.main([f"x={plain}@256"])


def test_linear_shares_appear_when_the_runs_made_them_are_pooled_and_are_capped_with_the_map(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "adaptive"
    folder.mkdir()

    def parts(inside: float, net: float) -> dict[str, float]:
        return {"inside": inside, "net": net}

    shares = {  # utterance -> linear share parts at 8 masks, at 16 (final), and CA's
        "a": (parts(0.5, 1.0), parts(0.7, 1.0), parts(0.6, 1.0)),
        "b": (parts(0.2, 0.5), parts(0.4, 0.5), parts(0.5, 1.0)),
        "c": (parts(0.3, 0.5), parts(0.6, 0.5), parts(0.4, 1.0))}  # alone: 1.2, pooled it weighs by its net
    records = [{"id": u, "budget": {"input": {
        "masks": 16, "split_half": 0.9, "rounds": [[8, 0.5], [16, 0.9]],
        "by_round": [{"masks": m, "ca": {"pearson": 0.3, "pearson_token": 0.3}, "span_mass": 0.3,
                      "span_mass_signed": s} for m, s in ((8, first), (16, last))]}},
        "agreement": {"ca_vs_input": {"all": {"pearson": 0.3, "pearson_token": 0.3}}},
        "ground_truth": {"input": 0.3, "ca": {"all": ca["inside"]}, "signed": {"input": last, "ca": ca}}}
        for u, (first, last, ca) in shares.items()]
    (folder / "utterances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    rp.main([f"full={folder}", f"eight={folder}@8"])
    lines = capsys.readouterr().out.splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("| ")]
    header, rows = cells[0], {row[0]: row for row in cells[1:]}
    column = header.index("SPES in true spans, linear")
    assert rows["full"][column].startswith(f"{(0.7 + 0.4 + 0.6) / (1.0 + 0.5 + 0.5):.3f} [")  # not the mean, 0.900
    assert rows["eight"][column].startswith(f"{(0.5 + 0.2 + 0.3) / 2.0:.3f} [")  # the first doubling's maps
    minus = linear_share([ca for _, _, ca in shares.values()], [last for _, last, _ in shares.values()])
    assert minus.mean == pytest.approx(1.5 / 3 - 0.85)  # CA - SPES, the pooled shares paired over utterances
    assert rows["full"][header.index("CA - SPES in true spans, linear")].startswith(f"{minus.mean:.3f} [{minus.ci_low:.3f}")
    paired = linear_share([first for first, _, _ in shares.values()], [last for _, last, _ in shares.values()])
    assert rows["eight - full"][column].startswith(f"{1.0 / 2.0 - 0.85:.3f} [{paired.ci_low:.3f}")
    assert "encoder saliency in true spans, linear" not in header  # no run made it: no column
