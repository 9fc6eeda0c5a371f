"""Reading a run's de-identified manifests: parts only, in batches, item ids for scoping."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.label.manifests import iter_rows, part_keys, run_ids, run_item_ids
from pipelines.storage import open_store
from pipelines.storage.schemas import QUARANTINE_SCHEMA, now, rows_to_table
from sim.data import write_demo_run
from sim.specs import demo_spec

pytestmark = pytest.mark.unit


def test_quarantine_files_next_to_the_parts_are_not_items(tmp_path: Path) -> None:
    spec = demo_spec("classification")
    store = open_store(str(tmp_path))
    ids = write_demo_run(spec=spec, store=store, run_id="r1", items=10, shards=3)
    q = rows_to_table(
        [{"item_id": "bad", "stage": "deidentify", "reason": "pii.unmasked", "at": now()}], QUARANTINE_SCHEMA
    )
    store.write_table(f"runs/{spec.id}/r1/deidentify/quarantine-00000.parquet", q)

    assert [k.rsplit("/", 1)[1] for k in part_keys(store, spec.id, "r1")] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert run_item_ids(store=store, dataset=spec.id, run_id="r1") == frozenset(ids)
    batches = list(iter_rows(store, spec.id, "r1", columns=("item_id",), batch_size=4))
    assert all(len(b) <= 4 for b in batches)
    assert sorted(r["item_id"] for b in batches for r in b) == sorted(ids)


def test_a_run_without_manifests_is_empty(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    assert run_item_ids(store=store, dataset="nothing", run_id="r1") == frozenset()
    assert list(iter_rows(store, "nothing", "r1", columns=("item_id",))) == []


def test_runs_are_listed_from_their_manifests(tmp_path: Path) -> None:
    spec = demo_spec("classification")
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r2", items=2)
    write_demo_run(spec=spec, store=store, run_id="r1", items=2)
    store.write_json(f"runs/{spec.id}/r3/label_push/push.json", {})
    assert run_ids(store, spec.id) == ["r1", "r2"]
