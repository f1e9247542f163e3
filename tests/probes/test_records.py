"""The record schema: committed records round-trip byte for byte, the oldest layouts still read, versions are checked.

``data/records/<commit>/`` holds records copied from git history of
``results/study/models/en_asr_xxs/explain/asr_en/`` with their settings.json: ``8d438ce`` is the oldest layout ever
committed (no frame rate, budget, per-token Pearson or linear shares), ``659236e`` the one whose linear shares were
bare ratios.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from probes.evaluation.job import ConfigMismatchError, EvaluationJob, prepare
from probes.explain import ExplainConfig
from probes.metrics.summary import summarize_records
from probes.records import (FRAMES_PER_SECOND, SCHEMA_VERSION, SchemaError, budget, from_json, schema_version, score,
                            share, signed, signed_parts, to_json, upgrade_settings)
from probes.store import read_records, write_json
from study.paired import records_by_id

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data" / "records"


def test_every_committed_record_round_trips_byte_for_byte() -> None:
    files = sorted(ROOT.glob("results/*/models/*/*/*/utterances.jsonl"))
    assert files
    for path in files:
        lines = path.read_text().splitlines()
        assert [to_json(from_json(line)) for line in lines] == lines, path
        assert read_records(path) == [json.loads(line) for line in lines], path  # the current layout: nothing to do


def test_the_oldest_committed_records_read_through_the_schema() -> None:
    path = DATA / "8d438ce" / "utterances.jsonl"
    raw = [json.loads(line) for line in path.read_text().splitlines()]
    records = read_records(path)
    assert [r["id"] for r in records] == ["en-test-000000-asr", "en-test-000001-asr"]
    for old, new in zip(raw, records):
        keys = list(old)
        assert list(new) == [*keys[:keys.index("frames") + 1], "frames_per_second", *keys[keys.index("frames") + 1:]]
        assert new["frames_per_second"] == FRAMES_PER_SECOND
        assert score(new, "ca_vs_input") == old["agreement"]["ca_vs_input"]["all"]["pearson"]
        assert score(new, "ca_vs_input", correlation="pearson_token") is None  # not measured then
        assert share(new, "ca") == old["ground_truth"]["ca"]["all"] and signed(new) == {}
        assert budget(new, "input") is None
    metrics = summarize_records(records)
    assert metrics["pearson"]["ca_vs_input"]["all"]["n"] == 2
    assert metrics["pearson_token"]["ca_vs_input"]["all"]["skipped"] == 2
    assert "signed" not in metrics["ground_truth"] and metrics["budget"] == {}
    assert schema_version(json.loads((DATA / "8d438ce" / "settings.json").read_text())) == 1


def test_linear_shares_kept_as_bare_ratios_read_as_not_made() -> None:
    path = DATA / "659236e" / "utterances.jsonl"
    (old,) = [json.loads(line) for line in path.read_text().splitlines()]
    (record,) = read_records(path)
    assert all(isinstance(v, float) for v in old["ground_truth"]["signed"].values())
    assert signed(record) == {"ca": None, "input": None, "encoder": None}
    assert signed_parts(record, "input") is None
    assert {k: v for k, v in record["ground_truth"].items() if k != "signed"} == \
        {k: v for k, v in old["ground_truth"].items() if k != "signed"}
    assert summarize_records([record]) == summarize_records([old])  # they were skipped before: the metrics are the same
    assert summarize_records([record])["ground_truth"]["signed"]["ca"]["skipped"] == 1


def test_a_layout_newer_than_this_code_is_refused(tmp_path: Path) -> None:
    shutil.copytree(DATA / "8d438ce", tmp_path / "run")
    write_json(tmp_path / "run" / "settings.json", {"schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaError, match=f"schema_version {SCHEMA_VERSION + 1}: this code reads versions 1 to"):
        read_records(tmp_path / "run" / "utterances.jsonl")
    with pytest.raises(SchemaError):
        records_by_id(tmp_path / "run")
    with pytest.raises(SchemaError):
        schema_version({"schema_version": "1"})


def _job(out: Path, **changes: object) -> EvaluationJob:
    """A job whose settings ``prepare`` writes and checks (nothing is explained)."""
    return EvaluationJob(manifest=Path("data/synth/test.tsv"), out=out, config=ExplainConfig(), **changes)


def test_settings_name_the_version_and_a_run_that_predates_versions_resumes(tmp_path: Path) -> None:
    job = _job(tmp_path / "out", limit=3)
    prepare(job)
    saved = json.loads((job.out / "settings.json").read_text())
    assert saved["schema_version"] == SCHEMA_VERSION == job.settings()["schema_version"]
    del saved["schema_version"]  # a run made before versions existed (such as a study under way): version 1
    write_json(job.out / "settings.json", saved)
    assert upgrade_settings(saved) == job.settings()
    prepare(job)
    with pytest.raises(ConfigMismatchError, match="limit"):
        prepare(_job(tmp_path / "out", limit=4))
    write_json(job.out / "settings.json", {**saved, "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaError):
        prepare(job)


def test_records_by_id_leaves_skipped_rows_out(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(DATA / "8d438ce", run)
    skipped = {"id": "x", "task": "asr", "src_lang": "en", "tgt_lang": "en", "skipped": "bad audio"}
    with (run / "utterances.jsonl").open("a") as f:
        f.write(to_json(skipped) + "\n")
    assert list(records_by_id(run)) == ["en-test-000000-asr", "en-test-000001-asr"]
    assert len(read_records(run / "utterances.jsonl")) == 3
