"""deidentify_shard on tmp_path: nothing personal reaches media/ or the manifest; audits say what was done."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.collect import reasons as R
from pipelines.collect.deid import Region, regions_in
from pipelines.collect.shards import part_key
from pipelines.storage import StorageError, layout, open_store
from pipelines.storage.schemas import ITEM_SCHEMA, dumps, now, rows_to_table
from pipelines.storage.store import ObjectStore
from pipelines.wav import decode_wav, encode_wav
from tests.unit.collect.specs import AUDIO, IMAGE, RUN, TEXT, TIMESERIES, make

pytestmark = pytest.mark.unit

# Independent of the rules under test: shapes of personal data that must not survive.
LEAKS = re.compile(
    r"\d{6}\s?-?\s?[1-8]\d{6}"  # registration numbers
    r"|01[016789][\s.-]?\d{3,4}[\s.-]?\d{4}|\(0\d{1,2}\)|0\d{1,2}[\s.-]\d{3,4}[\s.-]\d{4}"  # phones
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+"  # e-mail
    r"|\d{4}[ -]\d{4,6}[ -]\d{4,5}"  # cards
    r"|\d{2,6}-\d{2,7}-\d{2,7}"  # accounts
)


def _collect(spec: Any, store: ObjectStore) -> list[int]:
    shards = plan_shards(spec=spec, store=store, run_id=RUN)
    for s in shards:
        collect_shard(spec=spec, store=store, run_id=RUN, shard=s)
    return [s["shard"] for s in shards]


def _row(spec: Any, store: ObjectStore, data: bytes, ext: str, **kw: Any) -> dict[str, Any]:
    """A collect-manifest row for hand-made media (as collect_shard would write it)."""
    sha = hashlib.sha256(data).hexdigest()
    key = layout.restricted(spec.id, f"{sha}.{ext}")
    store.write_bytes(key, data)
    row: dict[str, Any] = {
        "item_id": f"hand-{sha[:8]}",
        "dataset": spec.id,
        "shard": 0,
        "source_uri": f"file:///upload/{sha[:8]}.{ext}",
        "media_key": key,
        "media_sha256": sha,
        "original_sha256": sha,
        "media_ext": ext,
        "text": None,
        "width": None,
        "height": None,
        "duration_s": None,
        "sample_rate": None,
        "channels": None,
        "meta": dumps({}),
        "truth": None,
        "collected_at": now(),
        "license": "CC-BY-4.0",
        "collector": "test",
        "deid": None,
    }
    row.update(kw)
    return row


def _write_collect(spec: Any, store: ObjectStore, rows: list[dict[str, Any]]) -> None:
    store.write_table(part_key(spec.id, RUN, "collect", 0), rows_to_table(rows, ITEM_SCHEMA))


def test_text_items_leave_with_placeholders_and_an_audit(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(TEXT, source={"items": 120, "defect_rate": 0.1})
    [shard] = _collect(spec, store)
    collected = store.read_table(part_key(spec.id, RUN, "collect", shard)).to_pylist()
    assert any(LEAKS.search(r["text"]) for r in collected)  # the source did plant personal data
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    assert res.items_in == len(collected) == res.items_out + res.quarantined
    assert res.quarantined == 0
    assert {"rrn", "phone", "email", "names", "addresses"} <= set(res.masked)
    rows = store.read_table(res.manifest_key).to_pylist()
    for r in rows:
        assert not LEAKS.search(r["text"]), r["text"]
        audit = json.loads(r["deid"])
        assert audit["recheck"] == {"passed": True} and audit["text"]["rules"].startswith("ko-pii/")
        for f in audit["text"]["findings"]:
            assert f["placeholder"] in r["text"] and f["field"] == "text"
    masked = [r for r in rows if json.loads(r["deid"])["text"]["findings"]]
    assert 0.2 * len(rows) < len(masked) < 0.7 * len(rows)
    by_id = {r["item_id"]: r for r in collected}
    for r in rows:  # only the personal data changed: the class evidence and the truth stay
        assert r["truth"] == by_id[r["item_id"]]["truth"]


def test_image_media_are_content_addressed_under_media(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(IMAGE)
    [shard] = _collect(spec, store)
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    assert res.items_out == 24 and res.quarantined == 0
    for r in store.read_table(res.manifest_key).to_pylist():
        assert r["media_key"] == layout.media(spec.id, r["media_sha256"], r["media_ext"])
        data = store.read_bytes(r["media_key"])
        assert hashlib.sha256(data).hexdigest() == r["media_sha256"]
        audit = json.loads(r["deid"])
        assert audit["image"]["detectors"]["faces"]["primary"] == "centerface"
        assert audit["image"]["regions"] == []
        # shapes on a gradient: nothing to blur and no metadata, so the pixels go through untouched
        assert r["media_sha256"] == r["original_sha256"]


def test_series_without_personal_data_pass_through_to_media(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(TIMESERIES)
    [shard] = _collect(spec, store)
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    assert res.items_out == 12 and res.quarantined == 0
    for r in store.read_table(res.manifest_key).to_pylist():
        assert r["media_key"].startswith(f"media/{spec.id}/") and r["media_sha256"] == r["original_sha256"]
        assert json.loads(r["truth"])["events"]


def test_a_face_is_blurred_before_it_reaches_media(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(IMAGE, modality={"min_width": 256, "min_height": 256})
    buf = io.BytesIO()
    Image.fromarray(skimage_data.astronaut()).save(buf, format="JPEG", quality=92)
    row = _row(spec, store, buf.getvalue(), "jpg", width=512, height=512)
    _write_collect(spec, store, [row])
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=0)
    assert (res.items_out, res.masked) == (1, {"faces": 1})
    [out] = store.read_table(res.manifest_key).to_pylist()
    assert out["media_sha256"] != out["original_sha256"]
    assert regions_in(store.read_bytes(out["media_key"]), targets=["faces"]) == []
    [region] = json.loads(out["deid"])["image"]["regions"]
    assert region["kind"] == "faces" and region["action"] == "solid_fill"
    assert [o.key for o in store.list(f"media/{spec.id}")] == [out["media_key"]]


def test_no_metadata_reaches_media_even_from_an_image_without_faces(tmp_path: Path) -> None:
    """A PNG with an author in tEXt and a GPS position in eXIf, no face: media/ holds the pixels only."""
    from PIL import PngImagePlugin

    store = open_store(str(tmp_path))
    spec = make(IMAGE, modality={"min_width": 64, "min_height": 64})
    chunks = PngImagePlugin.PngInfo()
    chunks.add_text("Author", "Hong Gildong 010-1234-5678")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 41.0)}
    buf = io.BytesIO()
    pixels = np.random.default_rng(5).integers(90, 140, (96, 128, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, format="PNG", pnginfo=chunks, exif=exif)
    _write_collect(spec, store, [_row(spec, store, buf.getvalue(), "png", width=128, height=96)])
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=0)
    assert (res.items_out, res.quarantined) == (1, 0)
    [out] = store.read_table(res.manifest_key).to_pylist()
    media = store.read_bytes(out["media_key"])
    assert out["media_sha256"] != out["original_sha256"] and b"Hong Gildong" not in media
    with Image.open(io.BytesIO(media)) as im:
        assert not im.text and "exif" not in im.info and np.array_equal(np.asarray(im), pixels)


def test_an_image_the_recheck_still_flags_is_quarantined_and_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(str(tmp_path))
    spec = make(IMAGE, modality={"min_width": 256, "min_height": 256})
    buf = io.BytesIO()
    Image.fromarray(skimage_data.astronaut()).save(buf, format="JPEG", quality=92)
    _write_collect(spec, store, [_row(spec, store, buf.getvalue(), "jpg")])
    # a detector that keeps seeing a face after masking: the stage must refuse the item
    monkeypatch.setattr(
        "pipelines.collect.deid.image.regions_in",  # the re-check deid_image_checked runs on its output
        lambda data, *, targets: [Region("faces", 1, 1, 40, 40, detector="stub")],
    )
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=0)
    assert (res.items_out, res.quarantined, res.reasons) == (0, 1, {R.PII_UNMASKED: 1})
    assert store.list("media") == []


def test_spoken_personal_data_is_muted_and_masked_in_the_transcript(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(AUDIO, source={"items": 30})
    [shard] = _collect(spec, store)
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    assert res.quarantined == 0 and res.masked.get("audio_segments", 0) > 0
    for r in store.read_table(res.manifest_key).to_pylist():
        truth = json.loads(r["truth"])
        assert not LEAKS.search(truth["transcript"])
        audit = json.loads(r["deid"])
        media = store.read_bytes(r["media_key"])
        samples, rate = decode_wav(media)
        for muted in audit["audio"]["muted"]:
            quiet = samples[int(muted["start"] * rate) : int(muted["end"] * rate)]
            assert np.abs(quiet).max(initial=0.0) == 0.0
        if audit["audio"]["muted"]:
            assert any("[" in s["text"] for s in truth["segments"])
            assert r["media_sha256"] != r["original_sha256"]
        else:
            assert r["media_sha256"] == r["original_sha256"]


def test_spoken_personal_data_without_timing_is_quarantined(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(AUDIO)
    t = np.arange(16000 * 2) / 16000
    wav = encode_wav(0.3 * np.sin(2 * np.pi * 200 * t), sample_rate=16000)
    truth = {"transcript": "제 번호는 010-1234-5678 입니다", "segments": []}
    _write_collect(
        spec,
        store,
        [_row(spec, store, wav, "wav", truth=dumps(truth), duration_s=2.0, sample_rate=16000, channels=1)],
    )
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=0)
    assert res.reasons == {R.PII_UNMASKED: 1}
    assert store.list("media") == []


def test_an_original_changed_after_collect_is_not_passed_on(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(IMAGE)
    [shard] = _collect(spec, store)
    first = store.read_table(part_key(spec.id, RUN, "collect", shard)).to_pylist()[0]
    store.write_bytes(first["media_key"], b"tampered")
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    q = store.read_table(res.quarantine_key).to_pylist()
    assert [(r["item_id"], r["reason"]) for r in q] == [(first["item_id"], R.DEID_FAILED)]


def test_a_rerun_rewrites_the_same_manifest(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(TEXT)
    [shard] = _collect(spec, store)
    first = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    before = store.read_table(first.manifest_key)
    second = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard)
    assert second == first and store.read_table(second.manifest_key).equals(before)


def test_deidentify_before_collect_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="run collect first"):
        deidentify_shard(spec=make(TEXT), store=open_store(str(tmp_path)), run_id=RUN, shard=0)


def test_personal_data_in_metadata_and_file_names_is_masked_before_it_travels(tmp_path: Path) -> None:
    """A note column with a phone number, a file named after a patient's RRN: what push and publish carry is masked."""
    store = open_store(str(tmp_path))
    spec = make(IMAGE)  # targets: faces and plates only; identifier rules apply to metadata and URIs anyway
    im = Image.new("RGB", (320, 240), (40, 120, 60))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    meta = {"crop": "고추", "field_plot": "FP00001", "temperature": 21.5, "note": "농가 연락처 010-2345-6789"}
    row = _row(spec, store, buf.getvalue(), "png", meta=dumps(meta),
               source_uri="file:///delivery/%ED%99%8D%EA%B8%B8%EB%8F%99_900101-1234567.png")
    _write_collect(spec, store, [row])
    res = deidentify_shard(spec=spec, store=store, run_id=RUN, shard=0)
    assert (res.items_out, res.masked) == (1, {"phone": 1, "rrn": 1})
    [out] = store.read_table(res.manifest_key).to_pylist()
    assert json.loads(out["meta"]) == {**meta, "note": "농가 연락처 [전화번호]"}
    assert "900101" not in out["source_uri"] and out["source_uri"].startswith("file:///delivery/")
    assert "[주민등록번호]" in unquote(out["source_uri"])
    fields = sorted(f["field"] for f in json.loads(out["deid"])["provenance"]["findings"])
    assert fields == ["meta.note", "source_uri"]
