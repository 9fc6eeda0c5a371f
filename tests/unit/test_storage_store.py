"""ObjectStore's moves, ranged reads, exclusive creates and S3-overlap checks (file:// here; S3 in
tests/integration/test_publish_s3.py and test_download_s3.py, which publish and download through them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.storage import ObjectStore, S3Settings, open_store

pytestmark = pytest.mark.unit


def test_move_renames_and_read_from_resumes_at_an_offset(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "root"))
    store.write_bytes("a/src.bin", b"0123456789")
    store.move("a/src.bin", "b/c/dst.bin")
    assert not store.exists("a/src.bin")
    assert store.read_bytes("b/c/dst.bin") == b"0123456789"
    assert b"".join(store.read_from("b/c/dst.bin", 4, chunk=3)) == b"456789"
    assert list(store.read_from("b/c/dst.bin", 3, chunk=3)) == [b"345", b"678", b"9"]


def test_create_exclusive_refuses_a_taken_key(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    assert store.create_exclusive("k.json", b"first")
    assert not store.create_exclusive("k.json", b"second")
    assert store.read_bytes("k.json") == b"first"
    assert store.compare_and_swap("k.json", lambda cur: None if cur == b"x" else b"x") == b"x"


def test_s3_locations_inside_and_around_the_root(tmp_path: Path) -> None:
    store = ObjectStore("s3://bucket/data/root", s3=S3Settings(endpoint_url="http://127.0.0.1:9"))  # never contacted
    assert store.holds_s3("bucket", "data/root/media/x.jpg")
    assert not store.holds_s3("bucket", "data/rooted/x.jpg")
    assert not store.holds_s3("other", "data/root/x.jpg")
    assert store.overlaps_s3("bucket", "data/")  # holds the root
    assert store.overlaps_s3("bucket", "")
    assert not store.overlaps_s3("bucket", "elsewhere/")
    assert not open_store(str(tmp_path)).holds_s3("bucket", "data/root")  # a file:// root holds no S3 location


def test_the_artifact_catalogue_gives_each_artifact_its_own_run_key() -> None:
    from pipelines.storage import artifacts

    keys = {name: a.key("ds", "run:1+x") for name, a in artifacts.ARTIFACTS.items()}
    assert len(set(keys.values())) == len(keys)
    assert all(k.startswith("runs/ds/run_1_x/") for k in keys.values())
    assert artifacts.RECORDS.key("ds", "r") == "runs/ds/r/refine/records.parquet"
    assert artifacts.GATE_DECISION.key("ds", "r") == "runs/ds/r/gate/decision.json"


def test_a_label_projects_state_keys_are_the_ones_existing_stores_hold() -> None:
    from pipelines.storage import layout

    # Written before these keys moved into layout: a store from then must still be read.
    assert layout.rework_ledger("ds", 7) == "state/ds/label/project-7/reopened.json"
    assert layout.label_project("ds", 7, "cursor.json") == "state/ds/label/project-7/cursor.json"
    assert layout.label_project("ds", 7, "parts", "part-000001.parquet") == (
        "state/ds/label/project-7/parts/part-000001.parquet")
    with pytest.raises(ValueError, match="dataset"):
        layout.rework_ledger("a/b", 7)
