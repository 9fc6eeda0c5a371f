"""The content hash behind release versions: blind to row order and batching, sensitive to any value."""

from __future__ import annotations

import copy
from typing import Any

import pyarrow as pa
import pytest

from pipelines.publish.content import ContentHash
from pipelines.storage import ObjectStore, open_store
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit


def digest(table: pa.Table, batch: int = 7) -> str:
    h = ContentHash("ctx")
    for b in table.to_batches(max_chunksize=batch):
        h.update(b)
    return h.hexdigest()


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path))


def test_row_order_and_batching_do_not_change_the_hash(store: ObjectStore) -> None:
    run = f.bbox_run(store, f.bbox_spec(), n=30, media=False)
    table = run.table()
    shuffled = f.Run(run.spec, "r", rows=run.rows[::-1][10:] + run.rows[::-1][:10]).table()
    assert digest(table, 7) == digest(table, 1000) == digest(shuffled, 4)


def _swap_crops(rows: list[dict[str, Any]], i: int, j: int) -> None:
    assert rows[i]["crop"] != rows[j]["crop"]
    rows[i]["crop"], rows[j]["crop"] = rows[j]["crop"], rows[i]["crop"]


@pytest.mark.parametrize("edit", [
    lambda rows: rows[3]["objects"][1].update(x=31.0),  # a nested float
    lambda rows: rows[3]["objects"].reverse(),  # list order inside a record
    lambda rows: rows[3].update(crop=None),  # a value becomes null
    lambda rows: rows[3].update(qc_annotators=[]),  # an empty list is not a null list
    lambda rows: rows[3]["media"].update(width=None),  # a null inside a struct
    lambda rows: rows.append(copy.deepcopy(rows[0])),  # a duplicated row
    lambda rows: _swap_crops(rows, 3, 4),  # the same values, in other rows
])
def test_any_change_of_content_changes_the_hash(store: ObjectStore, edit: Any) -> None:
    run = f.bbox_run(store, f.bbox_spec(), n=30, media=False)
    before = digest(run.table())
    rows = copy.deepcopy(run.rows)
    edit(rows)
    assert digest(f.Run(run.spec, "r", rows=rows).table()) != before


def test_the_context_is_part_of_the_hash(store: ObjectStore) -> None:
    table = f.text_run(f.text_spec(), n=5).table()
    a, b = ContentHash("spec-a"), ContentHash("spec-b")
    for h in (a, b):
        h.update(table.to_batches()[0])
    assert a.hexdigest() != b.hexdigest()


@pytest.mark.parametrize("typ", [pa.date32(), pa.date64(), pa.timestamp("us", tz="UTC"), pa.time32("s"),
                                 pa.time64("us"), pa.duration("ms")])
def test_temporal_columns_hash_and_changes_show(typ: pa.DataType) -> None:
    """Spec metadata columns of type date/datetime reach the release; hashing them must work and see changes."""
    a = pa.table({"v": pa.array([1, 2, None], pa.int64()).cast(pa.int32() if "32" in str(typ) or typ == pa.date32()
                                                               else pa.int64()).cast(typ)})
    b = pa.table({"v": pa.array([1, 3, None], pa.int64()).cast(pa.int32() if "32" in str(typ) or typ == pa.date32()
                                                               else pa.int64()).cast(typ)})
    ha, hb, ha2 = ContentHash("ctx"), ContentHash("ctx"), ContentHash("ctx")
    ha.update(a.to_batches()[0])
    hb.update(b.to_batches()[0])
    ha2.update(a.to_batches()[0])
    assert ha.hexdigest() == ha2.hexdigest() != hb.hexdigest()
