"""The dataset card (README.md) and Croissant 1.0 file of a release, read back by mlcroissant and huggingface_hub."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest

from pipelines.pii.pseudonyms import Pseudonyms
from pipelines.publish import publish
from pipelines.publish.card import parse_card_header
from pipelines.storage import ObjectStore, artifacts, open_store
from tests.unit.publish.test_publish import approve
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def _croissant(store: ObjectStore, prefix: str) -> Any:
    import mlcroissant as mlc

    ds = mlc.Dataset(jsonld=str(store.local_path(f"{prefix}/croissant.json")))
    issues = ds.metadata.ctx.issues
    assert not issues.errors and not issues.warnings, issues.report()
    return ds


def test_an_image_release_has_a_valid_croissant_file_whose_records_decode(store: ObjectStore) -> None:
    spec = f.bbox_spec()
    run = f.bbox_run(store, spec)
    approve(store, run)
    res = publish(spec=spec, store=store, run_id="run-1")

    ds = _croissant(store, res.prefix)
    md = ds.metadata
    assert md.name == spec.id and md.version == "1.0.0"
    assert md.data_collection and md.data_annotation_protocol and md.personal_sensitive_information
    assert md.data_use_cases and md.data_biases and md.data_limitations and md.data_release_maintenance_plan
    manifest = store.read_json(res.manifest_key)
    shas = {d.id: d.sha256 for d in md.distribution if getattr(d, "sha256", None)}
    assert shas == {e["key"]: e["sha256"] for e in manifest["files"]}

    size_of = {r["item_id"]: (r["media"]["width"], r["media"]["height"]) for r in run.rows}
    records = list(ds.records("default"))
    assert len(records) == 40
    for rec in records:
        item = rec["default/item_id"].decode()
        assert rec["default/image"].size == size_of[item]  # decoded by mlcroissant as a PIL image
        assert rec["default/split"].decode() in {"train", "validation", "test"}
        assert {o["default/objects/label"].decode() for o in rec["default/objects"]} <= set(f.BBOX_LABELS)
    split_counts: dict[str, int] = {}
    for rec in records:
        split_counts[rec["default/split"].decode()] = split_counts.get(rec["default/split"].decode(), 0) + 1
    assert split_counts == {s: manifest["rows"][s] for s in ("train", "validation", "test") if manifest["rows"][s]}


def test_audio_croissant_yields_the_wav_bytes(store: ObjectStore) -> None:
    spec = f.audio_spec()
    run = f.audio_run(store, spec)
    approve(store, run)
    res = publish(spec=spec, store=store, run_id="run-1")
    sha_of = {r["item_id"]: r["media"]["sha256"] for r in run.rows}
    records = list(_croissant(store, res.prefix).records("default"))
    assert len(records) == 24
    for rec in records:
        assert hashlib.sha256(rec["default/audio"]).hexdigest() == sha_of[rec["default/item_id"].decode()]


def test_the_card_has_a_hugging_face_header_and_the_programme_metadata(store: ObjectStore) -> None:
    from huggingface_hub import DatasetCard

    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    spec = f.audio_spec(intended_use=["방언 음성인식", "방언 보존"], built_year=2021)
    approve(store, f.audio_run(store, spec))
    res = publish(spec=spec, store=store, run_id="run-1")
    manifest = store.read_json(res.manifest_key)
    text = store.read_text(f"{res.prefix}/README.md")

    head = parse_card_header(text)
    assert head["license"] == "cc-by-4.0" and head["language"] == ["ko"]
    assert head["task_categories"] == ["automatic-speech-recognition"] and head["size_categories"] == ["n<1K"]
    assert head["annotations_creators"] == ["expert-generated"]
    present = [s for s in ("train", "validation", "test") if manifest["rows"][s]]
    assert head["configs"] == [{"config_name": "default",
                                "data_files": [{"split": s, "path": f"data/{s}/*.parquet"} for s in present]}]
    assert {s["name"]: s["num_examples"] for s in head["dataset_info"]["splits"]} == {
        s: manifest["rows"][s] for s in present}
    card = DatasetCard(text)  # the Hub's own parser accepts the header
    assert card.data.license == "cc-by-4.0" and card.data.task_categories == ["automatic-speech-recognition"]

    for needle in ("데이터 영역", "음성·자연어", "데이터 유형", "데이터 형식", "WAV", "데이터 출처", "라벨링 유형",
                   "전사 (transcription)", "라벨링 형식", "데이터 활용 서비스", "방언 음성인식, 방언 보존",
                   "데이터 구축년도 | Year built | 2021", "데이터 구축량", "Motivation", "Composition",
                   "Collection process", "Preprocessing", "Uses", "Distribution", "Maintenance",
                   "구문 정확성", "[quality/report.html](quality/report.html)",
                   f"datadam download {spec.id} --version 1.0 --storage {store.root}", "첫 공개"):
        assert needle in text, needle
    achieved = manifest["splits"]["achieved"]
    assert f"{100 * achieved['train']:.2f}%" in text  # achieved ratios beside planned ones
    assert "Achieved ratios per stratum (`region`)" in text

    # every document is listed in the manifest with its sha256, and the QA report came along
    docs = {d["key"]: d for d in manifest["documents"]}
    assert {"README.md", "croissant.json", "quality/quality.json", "quality/report.html"} <= set(docs)
    for key, d in docs.items():
        raw = store.read_bytes(f"{res.prefix}/{key}")
        assert (len(raw), hashlib.sha256(raw).hexdigest()) == (d["size"], d["sha256"])


def test_an_aihub_licence_is_other_with_a_link(store: ObjectStore) -> None:
    spec = f.text_spec(license="LicenseRef-AIHub")
    approve(store, f.text_run(spec))
    res = publish(spec=spec, store=store, run_id="run-1")
    head = parse_card_header(store.read_text(f"{res.prefix}/README.md"))
    assert head["license"] == "other" and head["license_name"] == "aihub"
    assert head["license_link"].startswith("https://aihub.or.kr/")
    assert head["task_categories"] == ["text-classification"]


def test_a_release_says_which_source_it_was_built_from_and_whether_it_was_bound(store: ObjectStore,
                                                                                tmp_path: Any) -> None:
    from pipelines.spec.binding import bind_source

    spec = f.audio_spec()
    approve(store, f.audio_run(store, spec))
    (tmp_path / "takes").mkdir()
    (tmp_path / "takes" / "a.wav").write_bytes(b"RIFF")
    given = f"{(tmp_path / 'takes').as_uri()}?glob=**/*.wav"
    # what collect's plan records for a run bound with `datadam run --source` (pipelines.collect.plan_shards)
    store.write_json(artifacts.COLLECT_PLAN.key(spec.id, "run-1"),
                     {"items": 1, "binding": bind_source(spec, given).record()})
    res = publish(spec=spec, store=store, run_id="run-1")
    manifest = store.read_json(res.manifest_key)
    assert manifest["source"]["kind"] == "local" and manifest["source"]["bound_at_run"] is True
    # the location is named by its pseudonym: a contractor's path can name people, and a release is public
    pseudonym = Pseudonyms.of_store(store).source(given)
    assert manifest["source"]["binding"] == {"given": pseudonym, "source": {"kind": "local"}}
    assert manifest["spec"]["version"] == spec.version and manifest["metadata"]["source_kind"] == spec.source.kind
    card = store.read_text(f"{res.prefix}/README.md")
    assert f"bound at run time: `{pseudonym}` (spec {spec.version} unchanged; the location's pseudonym)" in card
    assert "자체 수집 파일 / own collection" in card
    croissant = store.read_json(f"{res.prefix}/croissant.json")
    assert croissant["rai:dataCollection"].startswith("Collected by a 'local' source bound at run time under ")


def test_a_release_of_the_specs_own_source_says_nothing_was_bound(store: ObjectStore) -> None:
    spec = f.audio_spec()
    approve(store, f.audio_run(store, spec))
    res = publish(spec=spec, store=store, run_id="run-1")
    manifest = store.read_json(res.manifest_key)
    assert manifest["source"] == {"kind": spec.source.kind, "bound_at_run": False, "binding": None}
    assert "bound at run time" not in store.read_text(f"{res.prefix}/README.md")


def test_a_bound_location_that_names_a_person_does_not_reach_the_release(store: ObjectStore, tmp_path: Any) -> None:
    from pipelines.spec.binding import bind_source

    spec = f.audio_spec()
    approve(store, f.audio_run(store, spec))
    folder = tmp_path / "환자_홍길동_010-9999-8888"
    folder.mkdir()
    (folder / "a.wav").write_bytes(b"RIFF")
    given = str(folder)
    store.write_json(artifacts.COLLECT_PLAN.key(spec.id, "run-1"),
                     {"items": 1, "binding": bind_source(spec, given).record()})
    res = publish(spec=spec, store=store, run_id="run-1")
    # nothing readers get (the release, the catalog, the site) holds it; runs/ and state/ are the operators'
    readable = [o.key for o in store.list("") if not o.key.startswith(("runs/", "state/", "restricted/"))]
    released = [store.read_bytes(k) for k in readable]
    assert any(k.startswith(res.prefix) for k in readable) and not any(word.encode() in blob for blob in released
                                for word in ("홍길동", "010-9999-8888", str(folder)))
    # the run's own record keeps what was given, for the people who run it
    assert store.read_json(artifacts.COLLECT_PLAN.key(spec.id, "run-1"))["binding"]["given"] == given
