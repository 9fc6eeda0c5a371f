"""catalog/index.json and the static site on file:// roots: entries, concurrency, repair after a crash, search."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import pytest

from pipelines.publish import publish, read_catalog, rebuild_catalog, search, sync_dataset
from pipelines.storage import ObjectStore, layout, open_store
from pipelines.storage.cas import compare_and_swap
from tests.unit.publish.test_publish import approve
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def test_published_datasets_are_listed_with_their_versions_and_pages(store: ObjectStore) -> None:
    text, image = f.text_spec(), f.bbox_spec()
    approve(store, f.text_run(text, n=30))
    publish(spec=text, store=store, run_id="run-1")
    approve(store, f.text_run(text, run_id="run-2", n=45))
    publish(spec=text, store=store, run_id="run-2")
    approve(store, f.bbox_run(store, image))
    publish(spec=image, store=store, run_id="run-1")

    index = read_catalog(store)
    assert set(index["datasets"]) == {text.id, image.id}
    e = index["datasets"][text.id]
    assert e["latest"] == "1.1" and [v["version"] for v in e["versions"]] == ["1.0", "1.1"]
    assert e["rows"] == 45 and sum(e["splits"].values()) == 45 and e["field"] == "speech-language"
    assert e["field_name"] == "음성·자연어" and e["quality"]["success"] is True
    assert index["datasets"][image.id]["modality"] == "image"
    assert index["revision"] == 3  # one change per publish
    for key in ("catalog/index.html", f"catalog/datasets/{text.id}.html", f"catalog/datasets/{image.id}.html"):
        assert store.exists(key), key
    page = store.read_text(f"catalog/datasets/{text.id}.html")
    assert f"datadam download {text.id} --version 1.1 --storage {store.root}" in page
    assert "../../releases/sentiment-text-test/1.1/quality/report.html" in page
    assert store.exists("releases/sentiment-text-test/1.1/quality/report.html")


def test_a_noop_publish_leaves_the_catalog_alone_and_repairs_it_when_lost(store: ObjectStore) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec))
    publish(spec=spec, store=store, run_id="run-1")
    before = store.read_bytes("catalog/index.json")

    assert not publish(spec=spec, store=store, run_id="run-1").created
    assert store.read_bytes("catalog/index.json") == before  # nothing changed: nothing written

    # a publisher killed after LATEST but before the catalog: the next (no-op) run puts the entry back
    store.delete("catalog/index.json")
    store.delete(f"catalog/datasets/{spec.id}.html")
    assert not publish(spec=spec, store=store, run_id="run-1").created
    assert read_catalog(store)["datasets"][spec.id]["latest"] == "1.0"
    assert store.exists(f"catalog/datasets/{spec.id}.html")


def _clone_release(store: ObjectStore, src: str, dst: str) -> None:
    for obj in store.list(layout.release(src)):
        store.write_bytes(dst.join(obj.key.split(src, 1)), store.read_bytes(obj.key))


def _sync_many(root: str, names: list[str], barrier: Any) -> None:
    store = open_store(root)
    barrier.wait(timeout=600)  # start together: the updates really overlap (a sibling that died breaks it)
    for name in names:
        sync_dataset(store, name)


def test_concurrent_publishers_never_lose_a_catalog_entry(store: ObjectStore) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec))
    publish(spec=spec, store=store, run_id="run-1")
    names = [f"clone-{i:02d}" for i in range(24)]
    for name in names:
        _clone_release(store, spec.id, name)

    # spawn, not fork: forking a pytest process that holds other libraries' threads (Airflow, boto, moto ...) can
    # deadlock the children on a lock held at fork time — seen in the full suite.
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(6)
    procs = [ctx.Process(target=_sync_many, args=(store.root, names[i::6], barrier)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()  # no deadline here: a slow, loaded machine is not a failure (pytest-timeout catches a hang)
    assert [p.exitcode for p in procs] == [0] * 6

    index = read_catalog(store)
    assert set(index["datasets"]) == {spec.id, *names}
    assert index["revision"] == 1 + len(names)  # every update applied exactly once, none lost


def test_compare_and_swap_skips_when_nothing_changes(store: ObjectStore) -> None:
    calls: list[bytes | None] = []

    def add_x(current: bytes | None) -> bytes | None:
        calls.append(current)
        return None if current and b"x" in current else (current or b"") + b"x"

    assert compare_and_swap(store, "catalog/t.txt", add_x) == b"x"
    assert compare_and_swap(store, "catalog/t.txt", add_x) == b"x"
    assert calls == [None, b"x"]


def test_rebuild_recreates_the_catalog_from_releases_and_drops_unreleased(store: ObjectStore) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec))
    publish(spec=spec, store=store, run_id="run-1")
    index = read_catalog(store)
    index["datasets"]["gone"] = dict(index["datasets"][spec.id], id="gone")
    store.write_json("catalog/index.json", index)

    rebuilt = rebuild_catalog(store)
    assert set(rebuilt["datasets"]) == {spec.id}


def test_search_matches_every_word_and_filters(store: ObjectStore) -> None:
    text, audio = f.text_spec(), f.audio_spec()
    approve(store, f.text_run(text))
    publish(spec=text, store=store, run_id="run-1")
    approve(store, f.audio_run(store, audio))
    publish(spec=audio, store=store, run_id="run-1")
    index = read_catalog(store)

    assert [e["id"] for e in search(index, "감성")] == [text.id]
    assert [e["id"] for e in search(index, "dialect speech")] == [audio.id]
    assert [e["id"] for e in search(index, "", modality="audio")] == [audio.id]
    assert {e["id"] for e in search(index, "", field="speech-language")} == {text.id, audio.id}
    assert search(index, "dialect 감성") == []
    assert [e["id"] for e in search(index, "중립")] == [text.id]  # labels are searched too
