"""A task exported again without annotations (its last one deleted) drops its rows from older delta parts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.label.pull import _compact, _current, _part_keys, _state, _stream_tasks, _write_delta
from pipelines.storage import open_store
from sim.specs import demo_spec

pytestmark = pytest.mark.unit


def _task(tid: int, item: str, anns: list[int], updated: str) -> dict[str, Any]:
    return {"id": tid, "meta": {"item_id": item}, "data": {"item_id": item}, "updated_at": updated,
            "annotations": [{"id": aid, "completed_by": {"id": 1, "email": "x@k"}, "result": [],
                             "ground_truth": False, "was_cancelled": False, "lead_time": 1.0,
                             "created_at": updated, "updated_at": updated} for aid in anns]}


def _delta(tmp_path: Path, store: Any, spec: Any, seq: int, tasks: list[dict[str, Any]]) -> None:
    path = tmp_path / f"e{seq}.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    _write_delta(store, _state(spec, 5, "parts", f"part-{seq:06d}.parquet"), _stream_tasks(path), 5)


def test_an_emptied_task_drops_out_and_stays_out_after_compaction(tmp_path: Path) -> None:
    spec = demo_spec("classification")
    store = open_store(str(tmp_path / "store"))
    _delta(tmp_path, store, spec, 0, [_task(1, "a", [10], "2026-01-01T00:00:00Z"),
                                      _task(2, "b", [11, 12], "2026-01-01T00:00:00Z"),
                                      _task(3, "c", [13], "2026-01-01T00:00:00Z")])
    _delta(tmp_path, store, spec, 1, [_task(1, "a", [], "2026-01-02T00:00:00Z"),  # its only annotation deleted
                                      _task(2, "b", [12], "2026-01-02T00:00:00Z")])  # one of two deleted
    table = _current(store, _part_keys(store, spec, 5), None)
    assert list(zip(table["item_id"].to_pylist(), table["annotation_id"].to_pylist(), strict=True)) == [
        ("b", 12), ("c", 13)]
    assert _current(store, _part_keys(store, spec, 5), frozenset({"a", "c"}))["annotation_id"].to_pylist() == [13]
    _delta(tmp_path, store, spec, 2, [_task(1, "a", [14], "2026-01-03T00:00:00Z")])  # annotated again
    _compact(store, spec, 5, max_parts=1)
    assert len(_part_keys(store, spec, 5)) == 1
    assert _current(store, _part_keys(store, spec, 5), None)["annotation_id"].to_pylist() == [14, 12, 13]
