"""What a release carries beyond its rows: versions, achieved split ratios, row groups, schema metadata, video refs."""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipelines.publish import VersionError, next_version, open_dataset, parse_version, publish
from pipelines.spec import DatasetSpec, parse_spec, spec_hash
from pipelines.storage import ObjectStore, layout, open_store
from tests.unit.publish.test_publish import approve
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


# -------------------------------------------------------------------------------------------- versions


def test_versions_follow_the_programme() -> None:
    assert parse_version("1.0-beta") < parse_version("1.0-rc1") < parse_version("1.0") < parse_version("1.0.1")
    assert parse_version("1.0") < parse_version("1.1") < parse_version("1.10") < parse_version("2.0-beta")
    assert next_version("1.0-beta", []) == "1.0-beta"
    assert next_version("1.0-beta", ["1.0-beta"]) == "1.0"  # beta -> final
    assert next_version("1.0-beta", ["1.0-beta", "1.0"]) == "1.1"  # then minors
    assert next_version("1.0", ["1.0-beta", "1.0", "1.1"]) == "1.2"
    assert next_version("2.0", ["1.0", "1.1"]) == "2.0"  # the contractor bumped the spec
    assert next_version("1.0.2-rc1", ["1.0.2-rc1"]) == "1.0.2"
    with pytest.raises(VersionError, match="not a release version"):
        parse_version("v1")


def test_a_beta_release_is_followed_by_the_final_then_minor_versions(store: ObjectStore) -> None:
    spec = f.text_spec(version="1.0-beta")
    seen = []
    for i, n in enumerate((30, 45, 60)):
        approve(store, f.text_run(spec, run_id=f"run-{i}", n=n))
        seen.append(publish(spec=spec, store=store, run_id=f"run-{i}").version)
    assert seen == ["1.0-beta", "1.0", "1.1"]
    assert store.read_pointer(layout.latest(spec.id)) == "1.1"
    log = store.read_json(f"{layout.release(spec.id, '1.1')}/manifest.json")["changelog"]
    assert [e["version"] for e in log] == ["1.0-beta", "1.0", "1.1"]
    assert log[2]["previous_version"] == "1.0" and "rows 45 -> 60" in log[2]["summary"]
    assert "train 36 -> 48" in log[2]["summary"]  # per-split changes are spelled out


# -------------------------------------------------------------------------------------- split report


def test_achieved_split_ratios_are_reported_beside_the_plan(store: ObjectStore) -> None:
    spec = f.audio_spec()  # group_by speaker, stratify_by region: small, so achieved differs from planned
    approve(store, f.audio_run(store, spec, n=24))
    res = publish(spec=spec, store=store, run_id="run-1")
    sp = store.read_json(res.manifest_key)["splits"]
    m = store.read_json(res.manifest_key)

    assert sp["planned"] == {"train": 0.8, "validation": 0.1, "test": 0.1}
    rows = {s: m["rows"][s] for s in ("train", "validation", "test")}
    assert sp["achieved"] == {s: round(n / 24, 6) for s, n in rows.items()}
    assert sp["max_deviation"] == round(max(abs(rows[s] / 24 - sp["planned"][s]) for s in rows), 6)
    # per stratum (region): the rows of each stratum add up to the stratum's size, and all strata to the total
    strata = sp["by_stratum"]
    assert set(strata) == {"경상", "전라", "제주"}
    assert sum(sum(v["rows"].values()) for v in strata.values()) == 24
    assert all(abs(sum(v["achieved"].values()) - 1.0) < 1e-5 for v in strata.values())


# ---------------------------------------------------------------------------------- parquet properties


def test_row_groups_are_sized_for_readers_and_schema_names_the_spec(store: ObjectStore) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec, n=600))
    res = publish(spec=spec, store=store, run_id="run-1", row_group_rows=100)
    m = store.read_json(res.manifest_key)
    train = next(e for e in m["files"] if e["split"] == "train")
    meta = pq.ParquetFile(store.local_path(f"{res.prefix}/{train['key']}")).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [100, 100, 100, 100, 80]
    assert train["row_groups"] == 5 and m["row_groups"]["max_rows"] == 100

    md = pq.read_schema(store.local_path(f"{res.prefix}/{train['key']}")).metadata
    assert md[b"datadam.spec_id"] == spec.id.encode()
    assert md[b"datadam.spec_version"] == b"1.0"
    assert md[b"datadam.spec_hash"] == spec_hash(spec).encode()
    assert md[b"datadam.release_version"] == b"1.0"


def test_media_row_groups_hold_at_most_100_rows_or_the_byte_budget(store: ObjectStore) -> None:
    spec = f.bbox_spec()
    approve(store, f.bbox_run(store, spec, n=250, plots=2))  # 2 plots: (nearly) everything in one split
    res = publish(spec=spec, store=store, run_id="run-1")
    sizes = []
    for e in store.read_json(res.manifest_key)["files"]:
        meta = pq.ParquetFile(store.local_path(f"{res.prefix}/{e['key']}")).metadata
        sizes += [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert max(sizes) == 100 and sum(sizes) == 250

    # a byte budget smaller than one image's struct: one row per group
    approve(store, f.bbox_run(store, spec, run_id="run-2", n=30, plots=2))
    res2 = publish(spec=spec, store=store, run_id="run-2", row_group_bytes=1)
    e = store.read_json(res2.manifest_key)["files"][0]
    meta = pq.ParquetFile(store.local_path(f"{res2.prefix}/{e['key']}")).metadata
    assert {meta.row_group(i).num_rows for i in range(meta.num_row_groups)} == {1}


def _video_spec() -> DatasetSpec:
    return parse_spec({
        "id": "cctv-events-test", "name": "이상행동 CCTV 영상", "name_en": "Abnormal behaviour CCTV video",
        "field": "safety", "group": "safety-cctv", "version": "1.0", "license": "CC-BY-4.0",
        "description": "A small video dataset type used by the publish tests; every value is synthetic.",
        "modality": {"kind": "video", "formats": ["mp4"], "min_width": 64, "min_height": 48, "min_fps": 10,
                     "min_duration_s": 1, "max_duration_s": 60},
        "annotation": {"type": "temporal_events", "labels": ["폭행", "배회"]},
        "schema": {"camera": {"type": "string", "required": True}},
        "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "group_by": "camera"},
        "target_volume": 100,
    })


def test_video_is_referenced_by_uri_and_sha256_not_embedded(store: ObjectStore) -> None:
    spec = _video_spec()
    run = f.Run(spec, "run-1")
    for i in range(12):
        data = f"not really an mp4 {i}".encode() * 100
        sha = hashlib.sha256(data).hexdigest()
        key = layout.media(spec.id, sha, "mp4")
        store.write_bytes(key, data)
        run.rows.append({"item_id": f"vid-{i:03d}", "camera": f"cam-{i % 4}",
                         "media": {"key": key, "sha256": sha, "ext": "mp4", "width": 64, "height": 48,
                                   "duration_s": 10.0},
                         "events": [{"label": ["배회", "폭행"][i % 2], "start": 1.0, "end": 3.0}], **f._qc(i)})
    approve(store, run)
    res = publish(spec=spec, store=store, run_id="run-1")

    m = store.read_json(res.manifest_key)
    assert m["media_mode"] == "reference" and m["media_column"] == "video"
    assert "video: struct<uri: string, sha256: string>" in m["schema"] and "bytes" not in m["schema"]
    for row in open_dataset(spec.id, storage=store).to_table(columns=["item_id", "video"]).to_pylist():
        src = next(r for r in run.rows if r["item_id"] == row["item_id"])
        assert row["video"]["uri"] == store.uri(src["media"]["key"])
        assert row["video"]["sha256"] == src["media"]["sha256"]
        data = store.read_bytes(src["media"]["key"])  # what the URI names is what the sha256 says
        assert hashlib.sha256(data).hexdigest() == row["video"]["sha256"]
