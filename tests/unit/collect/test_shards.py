"""plan_shards / collect_shard on tmp_path: real Parquet, counts reconcile, re-runs change nothing."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.collect import collect_shard, make_source, plan_shards
from pipelines.collect import reasons as R
from pipelines.collect.shards import MAX_SHARDS, SHARD_SIZE
from pipelines.collect.sources import make_item_id
from pipelines.storage import layout, open_store
from pipelines.storage.schemas import ITEM_SCHEMA, QUARANTINE_SCHEMA
from tests.unit.collect.specs import AUDIO, IMAGE, RUN, TEXT, make

pytestmark = pytest.mark.unit


def test_shards_cover_every_item_once_and_the_plan_is_stored(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(TEXT)
    shards = plan_shards(spec=spec, store=store, run_id=RUN, items=12_345)
    assert [s["shard"] for s in shards] == list(range(len(shards)))
    assert sum(s["count"] for s in shards) == 12_345
    assert all(s["start"] == i * SHARD_SIZE["text"] for i, s in enumerate(shards))
    plan = store.read_json(f"{layout.run(spec.id, RUN, 'collect')}/plan.json")
    assert plan["shards"] == shards and plan["items"] == 12_345
    assert plan_shards(spec=spec, store=store, run_id=RUN) == [{"shard": 0, "start": 0, "count": 60}]


def test_no_more_shards_than_airflow_can_map(tmp_path: Path) -> None:
    shards = plan_shards(spec=make(IMAGE), store=open_store(str(tmp_path)), run_id=RUN, items=1_000_000)
    assert len(shards) <= MAX_SHARDS and sum(s["count"] for s in shards) == 1_000_000


@pytest.mark.parametrize("base", [IMAGE, TEXT, AUDIO], ids=["image", "text", "audio"])
def test_counts_reconcile_and_rows_are_complete(base: dict, tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(base, source={"defect_rate": 0.3})
    [shard] = plan_shards(spec=spec, store=store, run_id=RUN)
    res = collect_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    assert res.items_in == shard["count"] == res.items_out + res.quarantined
    assert res.quarantined > 0 and sum(res.reasons.values()) == res.quarantined
    items = pq.read_table(store.local_path(res.manifest_key))
    quarantine = pq.read_table(store.local_path(res.quarantine_key))
    assert items.schema.equals(ITEM_SCHEMA) and quarantine.schema.equals(QUARANTINE_SCHEMA)
    assert items.num_rows == res.items_out and quarantine.num_rows == res.quarantined
    assert set(quarantine.column("reason").to_pylist()) <= R.ALL_REASONS
    rows = items.to_pylist()
    assert len({r["item_id"] for r in rows} | set(quarantine.column("item_id").to_pylist())) == res.items_in
    for r in rows:
        assert r["collector"].startswith("datadam-synthetic/") and r["license"] == "CC-BY-4.0"
        assert r["source_uri"].startswith(f"synthetic://{spec.id}/") and r["collected_at"] is not None
        assert set(json.loads(r["meta"])) == set(spec.columns)
        assert json.loads(r["truth"])
        if spec.modality.kind == "text":
            assert r["media_key"] is None and len(r["text"]) >= 20
        else:  # the original is kept, content-addressed, under restricted/
            assert r["media_key"] == layout.restricted(spec.id, f"{r['original_sha256']}.{r['media_ext']}")
            assert hashlib.sha256(store.read_bytes(r["media_key"])).hexdigest() == r["original_sha256"]


def test_a_rerun_rewrites_the_same_rows(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(IMAGE, source={"defect_rate": 0.2})
    [shard] = plan_shards(spec=spec, store=store, run_id=RUN)
    first = collect_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    before = store.read_table(first.manifest_key)
    objects_before = {o.key for o in store.list("restricted")}
    second = collect_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    assert second == first
    assert store.read_table(second.manifest_key).equals(before)  # collected_at included
    assert {o.key for o in store.list("restricted")} == objects_before


def test_item_ids_and_originals_do_not_depend_on_the_shard_layout(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(AUDIO)
    one = collect_shard(spec=spec, store=store, run_id="one", shard={"shard": 0, "start": 0, "count": 8})
    parts = [
        collect_shard(spec=spec, store=store, run_id="two", shard={"shard": n, "start": 4 * n, "count": 4})
        for n in range(2)
    ]
    cols = ["item_id", "source_uri", "original_sha256", "truth", "meta"]
    whole = store.read_table(one.manifest_key, columns=cols).to_pylist()
    split = [row for p in parts for row in store.read_table(p.manifest_key, columns=cols).to_pylist()]
    assert whole == split


def test_identical_content_inside_a_shard_is_quarantined_as_a_duplicate(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(TEXT, source={"defect_rate": 0.5, "items": 40})
    src = make_source(spec=spec, store=store)
    # items that copy a clean predecessor: the second copy must go, naming the first
    copies = [i for i in range(1, 40) if src.defect(i) == "duplicate" and src.defect(i - 1) is None]
    assert copies
    res = collect_shard(spec=spec, store=store, run_id=RUN, shard={"shard": 0, "start": 0, "count": 40})
    q = {r["item_id"]: r for r in store.read_table(res.quarantine_key).to_pylist()}
    for i in copies:
        row = q[make_item_id(spec.id, src.source_uri(i))]
        assert row["reason"] == R.DEDUPE_EXACT
        assert f"same content as item {make_item_id(spec.id, src.source_uri(i - 1))}" in row["detail"]


def test_quarantined_originals_are_kept_for_inspection(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(IMAGE, source={"defect_rate": 1.0, "items": 10})
    res = collect_shard(spec=spec, store=store, run_id=RUN, shard={"shard": 0, "start": 0, "count": 10})
    for row in store.read_table(res.quarantine_key).to_pylist():
        key = row["detail"].rsplit("(original: ", 1)[1].rstrip(")")
        assert key.startswith(f"restricted/{spec.id}/quarantine/") and store.exists(key)


def test_replanning_with_fewer_shards_drops_stale_parts(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(TEXT)
    for shard in plan_shards(spec=spec, store=store, run_id=RUN, items=12_000):
        if shard["shard"] == 2:
            collect_shard(spec=spec, store=store, run_id=RUN, shard={**shard, "count": 5})
    stale = [
        f"{layout.restricted_run(spec.id, RUN, 'collect')}/part-00002.parquet",
        f"{layout.run(spec.id, RUN, 'collect')}/quarantine-00002.parquet",
        f"{layout.run(spec.id, RUN, 'collect')}/summary-00002.json",
    ]
    assert all(store.exists(k) for k in stale)
    assert len(plan_shards(spec=spec, store=store, run_id=RUN, items=100)) == 1
    assert not any(store.exists(k) for k in stale)


@pytest.mark.parametrize("base", [TEXT, AUDIO], ids=["text", "audio"])
def test_nothing_unmasked_is_written_outside_restricted(base: dict, tmp_path: Path) -> None:
    """Collect manifests carry raw text and transcripts: only restricted/ may hold them."""
    store = open_store(str(tmp_path))
    spec = make(base, source={"items": 40})
    [shard] = plan_shards(spec=spec, store=store, run_id=RUN)
    res = collect_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    assert res.manifest_key.startswith(f"restricted/{spec.id}/runs/")
    rows = store.read_table(res.manifest_key).to_pylist()
    raw = [r["text"] for r in rows if r["text"]] + [
        json.loads(r["truth"])["transcript"] for r in rows if r["truth"] and "transcript" in r["truth"]
    ]
    # the phone numbers, e-mails ... the source planted, as collected
    secrets = {m for t in raw for m in re.findall(r"01[0-9]-\d{3,4}-\d{4}|[\w.]+@[\w.]+\.[a-z]+", t)}
    assert secrets, "the synthetic source plants personal data: the test needs some to look for"
    outside = [o.key for o in store.list("") if not o.key.startswith("restricted/")]
    assert f"{layout.run(spec.id, RUN, 'collect')}/summary-00000.json" in outside
    for key in outside:
        data = store.read_bytes(key)
        if key.endswith(".parquet"):
            data = json.dumps(store.read_table(key).to_pylist(), ensure_ascii=False, default=str).encode()
        assert not any(s.encode() in data for s in secrets), key
    assert store.read_json(res.summary_key)["items_in"] == res.items_in
