"""Incremental pulls without a server: export files streamed into delta parts, newest part wins, compaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.label.pull import _compact, _newest_rows, _part_keys, _state, _stream_tasks, _write_delta
from pipelines.storage import open_store
from pipelines.storage.schemas import ANNOTATION_SCHEMA
from sim.specs import demo_spec

pytestmark = pytest.mark.unit


def _task(tid: int, item: str, anns: list[tuple[int, str]], updated: str) -> dict[str, Any]:
    return {"id": tid, "meta": {"item_id": item}, "data": {"item_id": item}, "updated_at": updated,
            "annotations": [{"id": aid, "completed_by": {"id": 1, "email": who}, "result": [],
                             "ground_truth": False, "was_cancelled": False, "lead_time": 1.5,
                             "created_at": updated, "updated_at": updated} for aid, who in anns]}


def _export(tmp_path: Path, name: str, tasks: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def test_deltas_are_streamed_and_the_newest_part_wins(tmp_path: Path) -> None:
    spec = demo_spec("classification")
    store = open_store(str(tmp_path / "store"))
    first = [_task(1, "a", [(10, "x@k")], "2026-01-01T00:00:00Z"), _task(2, "b", [(11, "y@k")], "2026-01-01T00:00:05Z"),
             _task(3, "c", [], "2026-01-01T00:00:01Z")]
    k0 = _state(spec, 7, "parts", "part-000000.parquet")
    n, newest = _write_delta(store, k0, _stream_tasks(_export(tmp_path, "e0.json", first)), 7)
    assert n == 3 and newest is not None and newest.isoformat() == "2026-01-01T00:00:05+00:00"
    assert store.read_table(k0).schema.equals(ANNOTATION_SCHEMA)

    # task 1 changed: a second annotation, and the first one edited away (deleted) -> only the delta's rows count
    second = [_task(1, "a", [(12, "z@k")], "2026-01-02T00:00:00Z")]
    k1 = _state(spec, 7, "parts", "part-000001.parquet")
    _write_delta(store, k1, _stream_tasks(_export(tmp_path, "e1.json", second)), 7)
    rows = sorted(_newest_rows(store, _part_keys(store, spec, 7), None), key=lambda r: r["annotation_id"])
    assert [(r["task_id"], r["annotation_id"], r["annotator"]) for r in rows] == [(2, 11, "y@k"), (1, 12, "z@k")]
    scoped = list(_newest_rows(store, _part_keys(store, spec, 7), frozenset({"b"})))
    assert [r["item_id"] for r in scoped] == ["b"]

    # an empty delta writes no part
    n, newest = _write_delta(store, _state(spec, 7, "parts", "part-000002.parquet"),
                             _stream_tasks(_export(tmp_path, "e2.json", [])), 7)
    assert (n, newest) == (0, None) and len(_part_keys(store, spec, 7)) == 2


def test_parts_are_compacted_keeping_the_newest_rows(tmp_path: Path) -> None:
    spec = demo_spec("classification")
    store = open_store(str(tmp_path / "store"))
    for seq in range(4):  # the same task re-annotated in every delta, plus one new task each time
        tasks = [_task(1, "a", [(100 + seq, f"u{seq}@k")], f"2026-01-0{seq + 1}T00:00:00Z"),
                 _task(10 + seq, f"n{seq}", [(200 + seq, "v@k")], f"2026-01-0{seq + 1}T00:00:00Z")]
        _write_delta(store, _state(spec, 3, "parts", f"part-{seq:06d}.parquet"),
                     _stream_tasks(_export(tmp_path, f"e{seq}.json", tasks)), 3)
    before = sorted((r["task_id"], r["annotation_id"]) for r in _newest_rows(store, _part_keys(store, spec, 3), None))
    _compact(store, spec, 3, max_parts=2)
    keys = _part_keys(store, spec, 3)
    assert [k.rsplit("/", 1)[-1] for k in keys] == ["part-000003.parquet"]
    after = sorted((r["task_id"], r["annotation_id"]) for r in _newest_rows(store, keys, None))
    assert after == before == [(1, 103), (10, 200), (11, 201), (12, 202), (13, 203)]
