"""Export JSON -> ANNOTATION_SCHEMA rows, scoped to one run's items."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.label.pull import annotation_rows
from pipelines.storage import open_store
from pipelines.storage.schemas import ANNOTATION_SCHEMA, rows_to_table

pytestmark = pytest.mark.unit


def _ann(aid: int, who: object, **kw: object) -> dict[str, object]:
    return {
        "id": aid,
        "completed_by": who,
        "result": [{"type": "choices", "value": {"choices": ["긍정"]}}],
        "was_cancelled": False,
        "ground_truth": False,
        "lead_time": 12.5,
        "created_at": "2026-11-23T20:41:50.067283Z",
        "updated_at": "2026-11-23T20:41:51Z",
        **kw,
    }


EXPORT = [
    {
        "id": 10,
        "data": {"item_id": "a"},
        "meta": {"item_id": "a", "overlap": 2},
        "annotations": [_ann(2, {"id": 5, "email": "kim@x.kr"}), _ann(1, {"id": 6, "email": "lee@x.kr"})],
    },
    {
        "id": 11,
        "data": {"item_id": "b"},
        "meta": {},  # meta lost: fall back to data.item_id
        "annotations": [
            _ann(3, 7, was_cancelled=True, result=[], lead_time=None),
            _ann(4, {"id": 5, "email": "kim@x.kr"}, ground_truth=True),
        ],
    },
    {
        "id": 12,
        "data": {"item_id": "other-run"},
        "meta": {"item_id": "other-run"},
        "annotations": [_ann(5, {"id": 5, "email": "kim@x.kr"})],
    },
]


def test_rows_keep_only_the_run_and_name_annotators(tmp_path: Path) -> None:
    rows = annotation_rows(EXPORT, project_id=3, item_ids=frozenset({"a", "b"}))
    assert [(r["item_id"], r["annotation_id"], r["annotator"], r["role"]) for r in rows] == [
        ("a", 1, "lee@x.kr", "annotate"),
        ("a", 2, "kim@x.kr", "annotate"),
        ("b", 3, "user:7", "annotate"),
        ("b", 4, "kim@x.kr", "gold"),
    ]
    assert rows[2]["was_cancelled"] is True and rows[2]["lead_time_s"] is None and rows[2]["result"] == "[]"
    assert rows[0]["created_at"] == datetime(2026, 11, 23, 20, 41, 50, 67283, tzinfo=UTC)
    assert rows[0]["result"] == '[{"type":"choices","value":{"choices":["긍정"]}}]'
    # the rows are exactly the shared schema (refine reads them)
    store = open_store(str(tmp_path))
    store.write_table("a.parquet", rows_to_table(rows, ANNOTATION_SCHEMA))
    assert store.read_table("a.parquet").schema.equals(ANNOTATION_SCHEMA)


def test_no_items_no_rows() -> None:
    assert annotation_rows(EXPORT, project_id=3, item_ids=frozenset()) == []
