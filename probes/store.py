"""The on-disk formats of an evaluation run, read and written here for every package.

    OUTDIR/settings.json       what determines the results (a resumed run must match it)
    OUTDIR/metrics.json        the aggregated metrics, strict JSON (nan as null)
    OUTDIR/utterances.jsonl    one record per utterance, in manifest order
    OUTDIR/maps.h5             one group per explained utterance: its maps by name (gzip),
                               ``tokens``, and the ``hypothesis`` and ``reference`` attributes
    OUTDIR/work/NNNNNNN.json   one utterance's record and maps (.npz) while the run is under way

Every file is replaced atomically, so an interrupted run never leaves one half written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import h5py
import numpy as np

from probes.metrics.summary import json_ready
from probes.records import Record, from_json, schema_version, to_json


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    """Strict JSON (nan as null), indented, written atomically."""
    text = json.dumps(json_ready(data), indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file's content, {} when the file is absent."""
    return json.loads(path.read_text()) if path.is_file() else {}


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    """One work record as one JSON line, written atomically."""
    text = to_json(record)
    atomic_write(path, lambda tmp: tmp.write_text(text))


def read_record(path: Path) -> Record:
    """One work record, in the current layout (``probes.records.upgrade``)."""
    return from_json(path.read_text())


def write_records(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Records as JSON lines, written atomically."""
    lines = "".join(to_json(r) + "\n" for r in records)
    atomic_write(path, lambda tmp: tmp.write_text(lines))


def read_records(path: Path) -> list[Record]:
    """The records of a JSON-lines file (a run's ``utterances.jsonl``), in the current layout; SchemaError when the
    run's settings.json beside it names a layout this code does not know."""
    schema_version(read_json(path.parent / "settings.json"))
    return [from_json(line) for line in path.read_text().splitlines() if line.strip()]


def write_maps(path: Path, records: Sequence[Mapping[str, Any]], maps_file: Callable[[int], Path]) -> None:
    """``maps.h5``, atomically: a group per explained record with the maps of its work file ``maps_file(index)``."""
    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            for index, record in enumerate(records):
                if record.get("skipped"):
                    continue
                group = f.create_group(record["id"])
                with np.load(maps_file(index)) as maps:
                    for name in maps.files:
                        group.create_dataset(name, data=maps[name], compression="gzip", compression_opts=4)
                group.create_dataset("tokens", data=np.asarray(record["tokens"], dtype=np.int64))
                group.attrs["hypothesis"] = record["hypothesis"]
                group.attrs["reference"] = record.get("reference", "")
    atomic_write(path, write)


@dataclass
class UtteranceMaps:
    """One utterance's maps from ``maps.h5``: arrays by name, its tokens and texts."""

    maps: dict[str, np.ndarray]
    tokens: list[int]
    hypothesis: str = ""
    reference: str = ""


def read_maps(path: Path, utt_id: str, names: Iterable[str] | None = None) -> UtteranceMaps:
    """Read one utterance's group of ``maps.h5``: its tokens, texts and maps (all, or those of ``names``)."""
    with h5py.File(path, "r") as f:
        group = f[utt_id]
        wanted = set(group) - {"tokens"} if names is None else set(names) & set(group)
        maps = {name: group[name][()] for name in sorted(wanted)}
        tokens = [int(t) for t in group["tokens"][()]] if "tokens" in group else []
        return UtteranceMaps(maps, tokens, str(group.attrs.get("hypothesis", "")),
                             str(group.attrs.get("reference", "")))


def stored_ids(path: Path, records: Sequence[Mapping[str, Any]], count: int) -> list[str]:
    """Ids of the first ``count`` explained records whose maps (with features) ``maps.h5`` holds."""
    with h5py.File(path, "r") as f:
        return [r["id"] for r in records if not r.get("skipped") and r["id"] in f and "features" in f[r["id"]]][:count]
