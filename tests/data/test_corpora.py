"""The MuST-C, EuroParl-ST, CoVoST 2 and Common Voice converters on fixture trees in their distributors' layouts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from s2t.data import common_voice, covost, europarl_st, mustc
from s2t.data.check import main as check_main
from s2t.data.manifest import read_manifest
from tests.data import corpora
from tests.data.corpora import Fixture, check_rows

CORPORA: dict[str, tuple[Callable[[Path], Fixture], Callable[[list[str]], int]]] = {  # fixture builder, converter's main
    "mustc": (corpora.mustc, mustc.main),
    "europarl_st": (corpora.europarl_st, europarl_st.main),
    "common_voice": (corpora.common_voice, common_voice.main),
    "covost_fr_en": (corpora.covost, covost.main),
    "covost_en_xx": (corpora.covost, covost.main),
}


def source(fx: Fixture, name: str) -> Fixture:
    """The part of a fixture one conversion covers, its root the one --root names (CoVoST's holds two languages)."""
    if not name.startswith("covost"):
        return fx
    lang = name.split("_")[1]
    return Fixture(fx.root / lang, [u for u in fx.utts if u.lang == lang], [b for b in fx.bad if f"/{lang}/" in b], fx.hints)


@pytest.mark.parametrize("name", CORPORA)
def test_bad_entries_are_each_reported_and_nothing_is_written(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    build, main = CORPORA[name]
    fx = source(build(tmp_path / "corpus"), name)
    assert main(["--root", str(fx.root), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert fx.bad and f"{len(fx.bad)} bad entr" in err
    for entry in fx.bad + fx.hints:
        assert entry in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", CORPORA)
def test_skip_bad_writes_every_good_row_and_check_passes(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Rows, segment offsets, frames, NFC texts, languages and speakers as the fixture encodes them; the manifests check clean."""
    build, main = CORPORA[name]
    fx = source(build(tmp_path / "corpus"), name)
    assert main(["--root", str(fx.root), "--out", str(tmp_path / "out"), "--skip-bad"]) == 0
    captured = capsys.readouterr()
    for entry in fx.bad:
        assert entry in captured.err
    check_rows(tmp_path / "out", fx, ("asr",) if name == "common_voice" else ("asr", "st"))
    manifests = sorted(str(m) for m in (tmp_path / "out").glob("*.tsv"))
    assert check_main([*manifests, "--quiet"]) == 0
    assert "0 bad" in capsys.readouterr().out


def test_mustc_one_pair_folder_and_asr_only(tmp_path: Path) -> None:
    fx = corpora.mustc(tmp_path)
    found = mustc.conversion(fx.root / "en-de", tmp_path / "out", tasks=("asr",), splits=["dev"], progress=False)
    (row,) = found.manifests["dev"].values()
    assert (row.id, row.audio, row.n_frames) == ("ted_3_200_1700-asr", "../MUSTC_v1.0/en-de/data/dev/wav/ted_3.wav:0.2:1.5",
                                                 1 + (24000 - 400) // 160)
    assert list(found.manifests) == ["dev"] and not found.problems


def test_europarl_st_pairs_select_directions_and_share_asr_rows(tmp_path: Path) -> None:
    """en-it and en-fr list the same English segment: one ASR row, two ST rows; --pairs leaves en-fr out."""
    fx = corpora.europarl_st(tmp_path, bad=False)
    every = europarl_st.conversion(fx.root, tmp_path / "a", progress=False).manifests["train"]
    segment = "en.20080924.3-1_200_1400"
    assert [i for i in every if i.startswith(segment)] == [f"{segment}-asr", f"{segment}-st-fr", f"{segment}-st-it"]
    chosen = europarl_st.conversion(fx.root, tmp_path / "b", pairs=["en-it", "it-en"], progress=False).manifests
    assert {(r.src_lang, r.tgt_lang) for rows in chosen.values() for r in rows.values()} == {
        ("en", "en"), ("it", "it"), ("en", "it"), ("it", "en")}
    assert europarl_st.main(["--root", str(fx.root), "--out", str(tmp_path / "c"), "--pairs", "en-de"]) == 1


def test_covost_english_clip_in_two_pairs_has_one_asr_row(tmp_path: Path) -> None:
    fx = corpora.covost(tmp_path)
    rows = covost.conversion(fx.root / "en", tmp_path / "out", pairs=["en_de", "en_ca"], progress=False).manifests["test"]
    assert list(rows) == ["common_voice_en_f-asr", "common_voice_en_f-st-ca", "common_voice_en_f-st-de"]
    assert rows["common_voice_en_f-st-ca"].tgt_text == "No." and rows["common_voice_en_f-st-de"].tgt_text == "Nein."


def test_common_voice_lang_option_and_validated_split(tmp_path: Path) -> None:
    fx = corpora.common_voice(tmp_path)
    (fx.root / "validated.tsv").write_text((fx.root / "dev.tsv").read_text())
    assert common_voice.main(["--root", str(fx.root), "--out", str(tmp_path / "out"), "--splits", "validated",
                              "--lang", "ca"]) == 0
    (row,) = read_manifest(tmp_path / "out/validated.tsv")
    assert (row.id, row.src_lang, row.src_text) == ("common_voice_it_2-asr", "ca", "Andiamo al mare.")


@pytest.mark.parametrize("case", ["mustc", "covost", "common_voice"])
def test_a_language_nobody_knows_is_refused_naming_where(case: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if case == "mustc":
        fx = corpora.mustc(tmp_path)
        (fx.root / "en-de").rename(fx.root / "en-xx")
        status, where = mustc.main(["--root", str(fx.root), "--out", str(tmp_path / "o")]), fx.root / "en-xx"
    elif case == "covost":
        fx = corpora.covost(tmp_path)
        for tsv in (fx.root / "fr").glob("covost_v2.fr_en.*.tsv"):
            tsv.rename(tsv.with_name(tsv.name.replace("fr_en", "xx_en")))
        status, where = covost.main(["--root", str(fx.root / "fr"), "--out", str(tmp_path / "o")]), "covost_v2.xx_en.*.tsv"
    else:
        fx = corpora.common_voice(tmp_path, lang="eu")
        status, where = common_voice.main(["--root", str(fx.root), "--out", str(tmp_path / "o")]), fx.root
    assert status == 1
    err = capsys.readouterr().err
    assert f"{where}" in err and "unknown language" in err and "CORPUS_LANGUAGES" in err


@pytest.mark.parametrize("module, word", [(mustc, "FBK"), (europarl_st, "segments.lst"), (covost, "covost_v2"),
                                          (common_voice, "validated"), ])
def test_help_names_the_layout(module, word: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        module.main(["--help"])
    out = capsys.readouterr().out
    assert word in out and "--skip-bad" in out and f"python -m s2t.data.{module.__name__.rsplit('.', 1)[1]}" in out


def test_parallel_text_files_must_match_their_listing_line_for_line(tmp_path: Path) -> None:
    from s2t.data.convert import parallel_lines

    (tmp_path / "segments.lst").write_text("a 0 1\nb 1 2\n")
    (tmp_path / "segments.en").write_text("one\ntwo\n")
    (tmp_path / "segments.it").write_text("uno\n")
    problems: list[str] = []
    assert parallel_lines(tmp_path / "segments.lst", [tmp_path / "segments.en"], problems) == [
        ("a 0 1", "one"), ("b 1 2", "two")]
    assert parallel_lines(tmp_path / "segments.lst", [tmp_path / "segments.en", tmp_path / "segments.it"], problems) == []
    assert problems == [f"{tmp_path}: 2 in segments.lst, 2 in segments.en, 1 in segments.it; they must match line for line"]
