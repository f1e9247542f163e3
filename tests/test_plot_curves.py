"""s2t.plot_curves (crossprobe-plot-curves): segments of a resumed run merge into one curve per metric."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from s2t.plot_curves import main, merged_curves, parse_mark

HEADER = "epoch,step,train/loss,valid/bleu/en-de,valid/wer/en\n"


def test_segments_merge_by_step_the_later_file_winning(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(HEADER + "0,10,2.0,,\n0,100,,5.0,40.0\n1,200,,9.0,30.0\n")
    second.write_text(HEADER + "1,200,,9.5,29.0\n2,300,,12.0,20.0\n")  # step 200 again: the resumed run's
    curves = merged_curves([first, second])
    assert curves == {"valid/bleu/en-de": [(100, 5.0), (200, 9.5), (300, 12.0)],
                      "valid/wer/en": [(100, 40.0), (200, 29.0), (300, 20.0)]}
    main([str(first), str(second), "--out", str(tmp_path / "fig/curves.png"), "--mark", "200:dropout off"])
    assert (tmp_path / "fig/curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected STEP:LABEL"):
        parse_mark("off:label")
    with pytest.raises(SystemExit, match="missing.csv: no such metrics file"):
        merged_curves([tmp_path / "missing.csv"])
    (tmp_path / "train_only.csv").write_text(HEADER + "0,10,2.0,,\n")
    with pytest.raises(SystemExit, match="no validation WER or BLEU"):
        main([str(tmp_path / "train_only.csv"), "--out", str(tmp_path / "x.png")])
