"""publish and open_dataset on file:// stores: splits, manifest, immutability, idempotency, media."""

from __future__ import annotations

import hashlib
import io
import json
import wave
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest

from pipelines.publish import PublishError, open_dataset, publish, rank_groups
from pipelines.spec import DatasetSpec, spec_hash
from pipelines.storage import ObjectStore, open_store
from pipelines.validate import gate, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def approve(store: ObjectStore, run: f.Run) -> None:
    """Refined records -> validate -> gate, as the DAG does; the run must pass its checks."""
    run.write(store)
    res = validate(spec=run.spec, store=store, run_id=run.run_id, data_docs=False)
    assert res.success, res.checks_failed
    assert gate(spec=run.spec, store=store, run_id=run.run_id).status == "approved"


def split_ids(store: ObjectStore, spec: DatasetSpec, version: str | None = None) -> dict[str, list[str]]:
    t = open_dataset(spec.id, version=version, storage=store).to_table(columns=["item_id", "split"])
    out: dict[str, list[str]] = {}
    for item, split in zip(t.column("item_id").to_pylist(), t.column("split").to_pylist(), strict=True):
        out.setdefault(split, []).append(item)
    return out


def file_state(store: ObjectStore, prefix: str) -> dict[str, str]:
    return {o.key: hashlib.sha256(store.read_bytes(o.key)).hexdigest() for o in store.list(prefix)}


# ---------------------------------------------------------------------------------------------- splits


def test_stratified_splits_cover_every_item_once_near_the_ratios(store: ObjectStore) -> None:
    spec = f.text_spec()  # stratify_by: label, no group: every item is its own group
    run = f.text_run(spec, n=600)
    approve(store, run)

    res = publish(spec=spec, store=store, run_id="run-1")

    assert res.created and res.version == "1.0" and res.rows == 600
    ids = split_ids(store, spec)
    all_ids = [i for v in ids.values() for i in v]
    assert sorted(all_ids) == sorted(r["item_id"] for r in run.rows)  # union is every item, once
    assert {k: len(v) for k, v in ids.items()} == {"train": 480, "validation": 60, "test": 60}
    label_of = {r["item_id"]: r["label"] for r in run.rows}
    for split, members in ids.items():  # every stratum (label) is split at the ratios too
        counts = Counter(label_of[i] for i in members)
        want = {"train": 160, "validation": 20, "test": 20}[split]
        assert set(counts.values()) == {want}, (split, counts)


def test_no_group_is_in_two_splits_and_ratios_are_near_plan(store: ObjectStore) -> None:
    spec = f.bbox_spec()  # group_by: field_plot, no stratification: a hash threshold per plot
    run = f.bbox_run(store, spec, n=250, plots=100)  # n < 256: the factory's images repeat after 256
    approve(store, run)
    publish(spec=spec, store=store, run_id="run-1")

    plot_of = {r["item_id"]: r["field_plot"] for r in run.rows}
    splits_of_plot: dict[str, set[str]] = {}
    for split, members in split_ids(store, spec).items():
        for item in members:
            splits_of_plot.setdefault(plot_of[item], set()).add(split)
    assert len(splits_of_plot) == 100
    assert all(len(s) == 1 for s in splits_of_plot.values())
    shares = Counter(next(iter(s)) for s in splits_of_plot.values())
    assert 70 <= shares["train"] <= 90 and 3 <= shares["validation"] <= 18 and 3 <= shares["test"] <= 18


def test_rank_groups_is_deterministic_and_keeps_groups_whole() -> None:
    members = [(f"speaker-{i % 40}", "경상" if i % 40 < 20 else "제주") for i in range(400)]
    plan = {"train": 0.8, "validation": 0.1, "test": 0.1}
    a = rank_groups("ds", Counter(members), plan)
    b = rank_groups("ds", Counter(reversed(members)), plan)
    assert a == b  # row order does not matter
    # a group whose items fall in two strata joins the one most of its items are in: alone in its
    # stratum, each group's midpoint is 0.5, the start of "test"; had g joined "b", one would be "train"
    halves = {"train": 0.5, "test": 0.5}
    mixed = rank_groups("ds", Counter({("g", "a"): 3, ("g", "b"): 1, ("h", "b"): 5}), halves)
    assert mixed == {"g": "test", "h": "test"}
    per_stratum = Counter((("경상" if int(g.split("-")[1]) < 20 else "제주"), s) for g, s in a.items())
    assert per_stratum == {("경상", "train"): 16, ("경상", "validation"): 2, ("경상", "test"): 2,
                           ("제주", "train"): 16, ("제주", "validation"): 2, ("제주", "test"): 2}


# -------------------------------------------------------------------------------------------- manifest


def test_manifest_lists_every_file_with_its_sha256_and_latest_is_written(store: ObjectStore) -> None:
    spec = f.bbox_spec()
    approve(store, f.bbox_run(store, spec))

    res = publish(spec=spec, store=store, run_id="run-1")

    m = store.read_json(res.manifest_key)
    data_files = store.list(f"{res.prefix}/data")
    assert sorted(f_["key"] for f_ in m["files"]) == sorted(o.key[len(res.prefix) + 1:] for o in data_files)
    for entry in m["files"]:
        raw = store.read_bytes(f"{res.prefix}/{entry['key']}")
        assert len(raw) == entry["size"]
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
    assert m["rows"]["total"] == 40 == sum(e["rows"] for e in m["files"])
    assert {k: v for k, v in m["rows"].items() if k != "total"} == {
        s: sum(e["rows"] for e in m["files"] if e["split"] == s) for s in ("train", "validation", "test")}
    assert m["spec"] == {"id": spec.id, "version": "1.0", "hash": spec_hash(spec)}
    assert m["quality"]["success"] is True and "syntactic_accuracy" in m["quality"]["characteristics"]
    assert m["gate"]["status"] == "approved" and m["gate"]["automatic"] is True
    assert "image: struct<bytes: binary, path: string>" in m["schema"]
    assert m["dropped_columns"] == ["photographer"] and "photographer" not in m["schema"]
    assert [c["version"] for c in m["changelog"]] == ["1.0"]
    assert store.read_pointer("releases/crop-disease-test/LATEST") == "1.0"
    assert not store.list("releases/crop-disease-test/.staging")


def test_republishing_identical_content_is_a_noop(store: ObjectStore) -> None:
    spec = f.text_spec()
    run = f.text_run(spec)
    approve(store, run)
    first = publish(spec=spec, store=store, run_id="run-1")
    before = file_state(store, "releases")

    again = publish(spec=spec, store=store, run_id="run-1")
    # the same items refined in another order by another run: same content
    reordered = f.Run(spec, "run-2", rows=list(reversed(run.rows)))
    approve(store, reordered)
    other = publish(spec=spec, store=store, run_id="run-2")

    assert first.created and not again.created and not other.created
    assert again.version == other.version == "1.0" and again.manifest_key == first.manifest_key
    assert file_state(store, "releases") == before


def test_new_content_gets_the_next_minor_version_and_the_old_one_is_untouched(store: ObjectStore) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec, n=60))
    publish(spec=spec, store=store, run_id="run-1")
    v10 = file_state(store, "releases/sentiment-text-test/1.0")

    approve(store, f.text_run(spec, run_id="run-2", n=90))
    res = publish(spec=spec, store=store, run_id="run-2")

    assert (res.version, res.created, res.rows) == ("1.1", True, 90)
    assert file_state(store, "releases/sentiment-text-test/1.0") == v10
    assert store.read_pointer("releases/sentiment-text-test/LATEST") == "1.1"
    log = store.read_json(res.manifest_key)["changelog"]
    assert [e["version"] for e in log] == ["1.0", "1.1"]
    assert log[1]["previous_version"] == "1.0" and "rows 60 -> 90" in log[1]["summary"]
    assert open_dataset(spec.id, storage=store).count_rows() == 90
    assert open_dataset(spec.id, version="1.0", storage=store).count_rows() == 60


def test_leftovers_of_a_crashed_attempt_are_not_published(store: ObjectStore) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec))
    junk = "releases/sentiment-text-test/1.0/data/train/part-00009.parquet"
    store.write_bytes(junk, b"half-written")  # no manifest: never published

    res = publish(spec=spec, store=store, run_id="run-1")

    assert res.version == "1.0" and not store.exists(junk)
    assert open_dataset(spec.id, storage=store).count_rows() == 60


def test_splits_roll_over_to_several_parts(store: ObjectStore) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec, n=600))
    res = publish(spec=spec, store=store, run_id="run-1", batch_rows=50, part_bytes=1, row_group_rows=50)
    m = store.read_json(res.manifest_key)
    train = sorted(e["key"] for e in m["files"] if e["split"] == "train")
    assert len(train) > 1 and train[:2] == ["data/train/part-00000.parquet", "data/train/part-00001.parquet"]
    assert open_dataset(spec.id, split="train", storage=store).count_rows() == 480


# ------------------------------------------------------------------------------------------ gatekeeping


def test_records_read_once_or_streamed_twice_give_the_same_release(tmp_path: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.publish import release

    spec = f.text_spec()
    states = []
    for keep in (release.KEEP_BYTES, 0):  # 0: no batch is kept, pass 2 reads the records again
        monkeypatch.setattr(release, "KEEP_BYTES", keep)
        store = open_store(str(tmp_path / f"root-{keep}"))
        run = f.text_run(spec, n=600)
        approve(store, run)
        res = publish(spec=spec, store=store, run_id=run.run_id, batch_rows=64)
        manifest = store.read_json(res.manifest_key)
        states.append((manifest["content_hash"], manifest["rows"],
                       [(e["key"], e["rows"], e["sha256"]) for e in manifest["files"]], split_ids(store, spec)))
    assert states[0] == states[1]


def test_only_approved_unchanged_records_are_published(store: ObjectStore) -> None:
    spec = f.text_spec()
    run = f.text_run(spec)
    run.rows[0]["label"] = "분노"
    run.write(store)
    with pytest.raises(PublishError, match="gate"):
        publish(spec=spec, store=store, run_id="run-1")
    validate(spec=spec, store=store, run_id="run-1", data_docs=False)
    assert gate(spec=spec, store=store, run_id="run-1").status == "pending"
    with pytest.raises(PublishError, match="'pending'"):
        publish(spec=spec, store=store, run_id="run-1")

    run.rows[0]["label"] = "긍정"
    approve(store, run)
    # a new report after the gate (batching is recorded in it, so the report's bytes differ)
    validate(spec=spec, store=store, run_id="run-1", data_docs=False, batch_rows=7)
    with pytest.raises(PublishError, match="run the gate again"):
        publish(spec=spec, store=store, run_id="run-1")
    assert gate(spec=spec, store=store, run_id="run-1").status == "approved"
    run.rows[1]["label"] = "중립"  # edited after approval (was 부정)
    run.write(store)
    with pytest.raises(PublishError, match="changed after it was validated"):
        publish(spec=spec, store=store, run_id="run-1")
    assert not store.exists("releases/sentiment-text-test/LATEST")


# --------------------------------------------------------------------------------------------- reading


def test_open_dataset_reads_with_pyarrow_and_pandas(store: ObjectStore) -> None:
    spec = f.text_spec()
    run = f.text_run(spec)
    approve(store, run)
    publish(spec=spec, store=store, run_id="run-1")
    root = store.root  # a URI string works as well as a store

    test = open_dataset(spec.id, split="test", storage=root).to_table()
    assert set(test.column("split").to_pylist()) == {"test"}
    df = open_dataset(spec.id, storage=root).to_table().to_pandas()
    assert len(df) == 60 and set(df["split"]) == {"train", "validation", "test"}
    by_id = df.set_index("item_id")
    assert by_id.loc["txt-0007", "text"] == run.rows[7]["text"]
    assert by_id.loc["txt-0007", "label"] == run.rows[7]["label"]

    with pytest.raises(PublishError, match="no split"):
        open_dataset(spec.id, split="dev", storage=store)
    with pytest.raises(PublishError, match=r"no release '9\.9'"):
        open_dataset(spec.id, version="9.9", storage=store)
    with pytest.raises(PublishError, match="has no release"):
        open_dataset("other-dataset", storage=store)


def test_images_are_embedded_as_hugging_face_image_structs(store: ObjectStore) -> None:
    from PIL import Image

    spec = f.bbox_spec()
    run = f.bbox_run(store, spec)
    approve(store, run)
    publish(spec=spec, store=store, run_id="run-1")

    t = open_dataset(spec.id, storage=store).to_table()
    assert t.schema.field("image").type == pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    hf = json.loads(t.schema.metadata[b"huggingface"])
    assert hf["info"]["features"]["image"] == {"_type": "Image"}
    rows = {r["item_id"]: r for r in t.select(["item_id", "image", "media"]).to_pylist()}
    for src in run.rows:
        got = rows[src["item_id"]]
        assert hashlib.sha256(got["image"]["bytes"]).hexdigest() == src["media"]["sha256"]
        assert got["image"]["path"] == src["media"]["key"].rsplit("/", 1)[1]
        img = Image.open(io.BytesIO(got["image"]["bytes"]))
        assert img.size == (src["media"]["width"], src["media"]["height"])


def test_audio_is_embedded_and_groups_stay_whole(store: ObjectStore) -> None:
    spec = f.audio_spec()  # group_by speaker_id, stratify_by region
    run = f.audio_run(store, spec)
    approve(store, run)
    publish(spec=spec, store=store, run_id="run-1")

    t = open_dataset(spec.id, storage=store).to_table(columns=["item_id", "speaker_id", "audio", "split"])
    assert t.num_rows == 24
    splits_of: dict[str, set[str]] = {}
    for r in t.to_pylist():
        splits_of.setdefault(r["speaker_id"], set()).add(r["split"])
        with wave.open(io.BytesIO(r["audio"]["bytes"])) as w:
            assert w.getframerate() == 16000
    assert all(len(s) == 1 for s in splits_of.values())


def test_media_that_changed_since_validation_stops_the_release(store: ObjectStore) -> None:
    from pipelines.publish import MediaError

    spec = f.bbox_spec()
    run = f.bbox_run(store, spec)
    approve(store, run)
    store.write_bytes(run.rows[0]["media"]["key"], b"not the validated image")
    with pytest.raises(MediaError, match="differs from the recorded sha256"):
        publish(spec=spec, store=store, run_id="run-1")
    assert not store.exists("releases/crop-disease-test/LATEST")
    assert not store.list("releases/crop-disease-test/.staging")


@pytest.mark.parametrize("kind", ["stratified", "hash-threshold", "grouped", "grouped and stratified"])
def test_publish_routes_by_the_validated_split_codes_and_gets_the_release_planning_gets(
        tmp_path: Any, kind: str) -> None:
    """Validate's per-record split codes spare publish hashing every group again (ADR 0041); the release is the one
    publish would plan itself, and codes other than the ones quality.json names are not used."""
    from pipelines.storage import artifacts
    from pipelines.storage.splits import new_plan

    spec = {"stratified": f.text_spec(), "hash-threshold": f.text_spec(splits={"train": 0.8, "validation": 0.1,
                                                                                 "test": 0.1}),
            "grouped": f.bbox_spec(), "grouped and stratified": f.audio_spec()}[kind]
    releases = []
    for how in ("codes", "planned", "tampered"):
        store = open_store(str(tmp_path / how))
        if kind == "grouped":
            run = f.bbox_run(store, spec, n=200, plots=40)
        elif kind == "grouped and stratified":
            run = f.audio_run(store, spec, n=120)
        else:
            run = f.text_run(spec, n=400)
        for i, row in enumerate(run.rows if kind == "grouped and stratified" else []):
            row["speaker_id"] = f"spk-{i % 40}"  # enough speakers for three splits in three regions
        approve(store, run)
        n = len(run.rows)
        assert artifacts.QUALITY.read(store, spec.id, run.run_id)["splits"]["codes"]["rows"] == n
        codes = artifacts.SPLIT_CODES.read(store, spec.id, run.run_id)["split"].to_numpy()
        assert len(codes) == n and len(set(codes.tolist())) > 1
        if how == "planned":  # a run validated before the codes existed
            store.delete(artifacts.SPLIT_CODES.key(spec.id, run.run_id))
        elif how == "tampered":  # everything routed to train: not the codes the gate approved
            artifacts.SPLIT_CODES.write(store, spec.id, run.run_id, pa.table({"split": pa.array([0] * n, pa.int8())},
                                                                            schema=artifacts.SPLIT_CODES.schema))
        res = publish(spec=spec, store=store, run_id=run.run_id, batch_rows=64)
        manifest = store.read_json(res.manifest_key)
        got = split_ids(store, spec)
        releases.append((manifest["content_hash"], manifest["rows"],
                         [(e["key"], e["rows"], e["sha256"]) for e in manifest["files"]], got))
        if how == "codes":  # the release's splits are the validated plan, record by record
            ids = store.read_table(artifacts.RECORDS.key(spec.id, run.run_id), columns=["item_id"])["item_id"]
            planned = {name: sorted(i for i, c in zip(ids.to_pylist(), codes.tolist(), strict=True) if c == k)
                       for k, name in enumerate(new_plan(spec).plan)}
            assert {k: sorted(v) for k, v in got.items()} == {k: v for k, v in planned.items() if v}
    assert releases[0] == releases[1] == releases[2]
