"""A multimodal release: every media component is as available to a reader as the primary media (docs/adr/0028).

A clip + its own sound: the video is referenced (``video``: uri + sha256), as a video spec's is; the audio
component is embedded (``audio``: Hugging Face Audio struct), as an audio spec's is; ``datadam download`` gets
it inside the verified Parquet files, ``open_dataset`` gives its bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import wave
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.publish import MediaError, open_dataset, publish
from pipelines.publish.download import ChecksumError, download, verify_local
from pipelines.publish.media import MEDIA_FEATURE, component_columns
from pipelines.publish.release import release_schema
from pipelines.spec import DatasetSpec
from pipelines.storage import ObjectStore, layout, open_store
from pipelines.storage.records import record_schema
from pipelines.validate import gate, validate
from tests.unit.publish.test_card_croissant import _croissant
from tests.unit.validate import factories as f
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit

RUN = "run-mm"


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def _put(store: ObjectStore, ds: str, data: bytes, ext: str) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    key = layout.media(ds, sha, ext)
    store.write_bytes(key, data)
    return key, sha


def clip_and_sound(store: ObjectStore) -> tuple[DatasetSpec, list[dict[str, Any]]]:
    """A transcription spec of silent clips with their own WAV; each record's files really in ``media/<ds>/``."""
    fam = F.family("transcription", modality=F.CLIP_AND_SOUND)
    rows = fam.rows()
    for i, row in enumerate(rows):
        vkey, vsha = _put(store, fam.spec.id, f"not decoded by publish: clip {i}".encode(), "mp4")
        akey, asha = _put(store, fam.spec.id, f.wav_bytes(1.0 + i % 3 * 0.25, 16000, i), "wav")
        row["media"].update(key=vkey, sha256=vsha)
        row["components"][0].update(key=akey, sha256=asha)
    F.write_run(store, fam, rows, run_id=RUN)
    res = validate(spec=fam.spec, store=store, run_id=RUN, data_docs=False)
    assert res.success, res.checks_failed
    assert gate(spec=fam.spec, store=store, run_id=RUN).status == "approved"
    return fam.spec, rows


def test_the_schema_embeds_the_audio_component_beside_the_referenced_video() -> None:
    spec = F.family("transcription", modality=F.CLIP_AND_SOUND).spec
    assert component_columns(spec) == ["audio"]
    schema, media_col, _ = release_schema(spec, record_schema(spec))
    assert media_col == "video"
    assert schema.field("video").type == pa.struct([("uri", pa.string()), ("sha256", pa.string())])
    assert schema.field("audio").type == MEDIA_FEATURE
    assert "components" in schema.names  # kind, key, sha256 ... of each component stay with the record
    hf = json.loads(schema.metadata[b"huggingface"])
    assert hf["info"]["features"] == {"audio": {"_type": "Audio"}}
    # single-modality specs are unchanged: no component columns
    assert component_columns(f.audio_spec()) == [] and component_columns(f.bbox_spec()) == []
    image_text = F.family("qa", modality={"kind": "multimodal", "components": [F.IMAGE, F.TEXT]}).spec
    assert component_columns(image_text) == []  # the question is the text column


def test_each_records_audio_is_embedded_and_matches_its_sha256(store: ObjectStore) -> None:
    spec, rows = clip_and_sound(store)
    res = publish(spec=spec, store=store, run_id=RUN)
    manifest = store.read_json(res.manifest_key)
    assert manifest["media_column"] == "video" and manifest["media_mode"] == "reference"
    assert manifest["component_columns"] == {"audio": "embedded"}

    t = open_dataset(spec.id, storage=store).to_table()
    assert t.num_rows == len(rows)
    by_id = {r["item_id"]: r for r in rows}
    for got in t.to_pylist():
        src = by_id[got["item_id"]]
        comp = src["components"][0]
        assert hashlib.sha256(got["audio"]["bytes"]).hexdigest() == comp["sha256"] == got["components"][0]["sha256"]
        assert got["audio"]["path"] == comp["key"].rsplit("/", 1)[1]
        with wave.open(io.BytesIO(got["audio"]["bytes"])) as w:
            assert w.getframerate() == 16000
        assert got["video"]["sha256"] == src["media"]["sha256"]
        assert got["video"]["uri"] == store.uri(src["media"]["key"])

    croissant = json.loads(store.read_bytes(layout.release_file(spec.id, res.version, "croissant.json")))
    fields = {fld["name"]: fld for fld in croissant["recordSet"][0]["field"]}
    assert fields["audio"]["dataType"] == "sc:AudioObject"
    assert fields["audio"]["source"]["transform"] == {"jsonPath": "bytes"}
    # a Croissant reader (mlcroissant) yields each record's sound as the embedded bytes
    records = list(_croissant(store, res.prefix).records("default"))
    assert {r["default/item_id"].decode(): hashlib.sha256(r["default/audio"]).hexdigest() for r in records} == {
        r["item_id"]: r["components"][0]["sha256"] for r in rows}
    card = store.read_bytes(layout.release_file(spec.id, res.version, "README.md")).decode()
    assert "audio component embedded as struct<bytes, path>" in card
    assert "Multimodal items: the primary component is the `video` column" in card
    # the dataset page plays each clip with its own sound, from the release's bytes (not a media/ key)
    page = store.read_bytes(f"catalog/datasets/{spec.id}.html").decode()
    first = t.slice(0, 1).to_pylist()[0]
    assert "<video controls" in page and "src='data:audio/wav;base64," in page
    assert f"src='../../{first['components'][0]['key']}'" not in page


def test_a_download_holds_every_component_verified(store: ObjectStore, tmp_path: Path) -> None:
    spec, rows = clip_and_sound(store)
    publish(spec=spec, store=store, run_id=RUN)
    res = download(dataset=spec.id, store=store, to=tmp_path / "dl")
    assert verify_local(res.directory) == []
    manifest = json.loads((res.directory / "manifest.json").read_bytes())
    t = pa.concat_tables(pq.read_table(res.directory / e["key"]) for e in manifest["files"])
    assert t.num_rows == len(rows)
    want = {r["item_id"]: r["components"][0]["sha256"] for r in rows}
    got = {r["item_id"]: hashlib.sha256(r["audio"]["bytes"]).hexdigest()
           for r in t.select(["item_id", "audio"]).to_pylist()}
    assert got == want

    # an altered release file is refused like any other (the audio is inside the verified Parquet)
    part = next(e for e in manifest["files"] if e["rows"])
    key = layout.release_file(spec.id, manifest["version"], part["key"])
    store.write_bytes(key, store.read_bytes(key)[:-1] + b"\0")
    with pytest.raises(ChecksumError, match="does not match the manifest"):
        download(dataset=spec.id, store=store, to=tmp_path / "dl2")


def test_an_audio_component_changed_since_validation_stops_the_release(store: ObjectStore) -> None:
    spec, rows = clip_and_sound(store)
    store.write_bytes(rows[3]["components"][0]["key"], f.wav_bytes(1.0, 16000, 99))
    with pytest.raises(MediaError, match="differs from the recorded sha256"):
        publish(spec=spec, store=store, run_id=RUN)
    assert not store.exists(layout.latest(spec.id))
