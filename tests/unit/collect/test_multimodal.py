"""Multimodal items (docs/adr/0024): a contractor's delivery of component files grouped by name stem, each component
checked by its own modality's intake checks, kept in storage beside the primary component."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.collect import reasons as R
from pipelines.collect.deid import regions_in
from pipelines.collect.intake import check_item
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.base import RawComponent, RawItem
from pipelines.collect.sources.synthetic.video import make_video
from pipelines.spec import DatasetSpec, parse_spec
from pipelines.spec.models import MultimodalModality, VideoModality
from pipelines.storage import layout, open_store
from pipelines.storage.store import ObjectStore
from pipelines.wav import decode_wav, encode_wav, peak

pytestmark = pytest.mark.unit

_BASE: dict[str, Any] = {
    "name": "멀티모달 시험", "name_en": "Multimodal collect test", "field": "media", "group": "media-test",
    "version": "1.0", "license": "CC-BY-4.0", "description": "A multimodal dataset type used by collect tests.",
    "target_volume": 100,
}

DRAMA: dict[str, Any] = {
    **_BASE,
    "id": "drama-scenes-test",
    "modality": {"kind": "multimodal", "components": [
        {"kind": "video", "formats": ["mp4"], "min_width": 320, "min_height": 240, "min_fps": 10,
         "min_duration_s": 1, "max_duration_s": 5},
        {"kind": "audio", "formats": ["wav"], "sample_rates": [16000], "channels": 1, "min_duration_s": 1,
         "max_duration_s": 5},
        {"kind": "text", "formats": ["json"], "min_chars": 2, "max_chars": 200},
    ]},
    "source": {"kind": "synthetic", "seed": 3},
    "annotation": {"type": "classification", "labels": ["기쁨", "슬픔"]},
}

VQA: dict[str, Any] = {
    **_BASE,
    "id": "vqa-test",
    "modality": {"kind": "multimodal", "components": [
        {"kind": "image", "formats": ["png", "jpeg"], "min_width": 320, "min_height": 240},
        {"kind": "text", "formats": ["json"], "min_chars": 2, "max_chars": 200},
    ]},
    "source": {"kind": "synthetic", "seed": 4},
    "annotation": {"type": "classification", "labels": ["예", "아니오"]},
}


def _spec(base: dict[str, Any], root: Path) -> DatasetSpec:
    return parse_spec({**base, "source": {"kind": "local", "root": str(root)}})


def _clip(spec: DatasetSpec, index: int) -> bytes:
    mod = spec.modality
    assert isinstance(mod, MultimodalModality)
    video = mod.component("video")
    assert isinstance(video, VideoModality)
    data, ext, _ = make_video(spec, video, seed=1, index=index, duration_s=1.5)
    assert ext == "mp4"
    return data


def _wav(seed: int, *, rate: int = 16000, seconds: float = 1.5) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    return encode_wav(0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + rng.normal(0, 0.01, t.size),
                      sample_rate=rate)


def _json(text: str) -> bytes:
    return json.dumps({"text": text}, ensure_ascii=False).encode()


def _png(array: np.ndarray[Any, Any]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _collect(spec: DatasetSpec, store: ObjectStore) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    for shard in plan_shards(spec=spec, store=store, run_id="r1"):
        res = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
        assert res.items_in == res.items_out + res.quarantined
        rows += store.read_table(res.manifest_key).to_pylist()
        quarantine += store.read_table(res.quarantine_key).to_pylist()
    return rows, quarantine


def test_a_delivery_groups_component_files_by_stem_and_quarantines_incomplete_items(tmp_path: Path) -> None:
    root = tmp_path / "delivery"
    (root / "ep1").mkdir(parents=True)
    spec = _spec(DRAMA, root)
    files = {
        "ep1/scene01.mp4": _clip(spec, 1), "ep1/scene01.wav": _wav(1), "ep1/scene01.json": _json("너 정말 왔구나!"),
        "ep1/scene02.mp4": _clip(spec, 2), "ep1/scene02.wav": _wav(2), "ep1/scene02.json": _json("가지 마."),
        "ep1/scene03.mp4": _clip(spec, 3), "ep1/scene03.json": _json("소리가 없다"),  # no audio
        "ep1/scene04.mp4": _clip(spec, 4), "ep1/scene04.wav": _wav(4), "ep1/scene04.json": _json("하나 더"),
        "ep1/scene04.srt": b"1\n00:00:00,000 --> 00:00:01,000\n?\n",  # a file no component takes
        "ep1/scene05.mp4": _clip(spec, 5), "ep1/scene05.wav": _wav(5, rate=44100), "ep1/scene05.json": _json("음"),
    }
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    store = open_store(str(tmp_path / "store"))
    rows, quarantine = _collect(spec, store)

    reasons = {q["source_uri"].rsplit("/", 1)[-1]: (q["reason"], q["detail"]) for q in quarantine}
    assert {k: v[0] for k, v in reasons.items()} == {
        "scene03": R.MULTIMODAL_MISSING, "scene04": R.MULTIMODAL_EXTRA, "scene05": R.AUDIO_SAMPLE_RATE}
    assert "audio" in reasons["scene03"][1] and "scene04.srt" in reasons["scene04"][1]
    assert reasons["scene05"][1].startswith("audio component: 44100 Hz")

    by_stem = {r["source_uri"].rsplit("/", 1)[-1]: r for r in rows}
    assert set(by_stem) == {"scene01", "scene02"}
    one = by_stem["scene01"]
    assert one["source_uri"] == (root / "ep1" / "scene01").as_uri()
    assert one["media_ext"] == "mp4" and (one["width"], one["height"]) == (320, 240)
    assert one["text"] == "너 정말 왔구나!"
    assert store.read_bytes(one["media_key"]) == files["ep1/scene01.mp4"]
    [audio] = one["components"]
    assert (audio["kind"], audio["ext"], audio["sample_rate"], audio["channels"]) == ("audio", "wav", 16000, 1)
    assert audio["key"] == layout.original(spec.id, audio["sha256"], "wav")
    assert store.read_bytes(audio["key"]) == files["ep1/scene01.wav"]
    assert abs(audio["duration_s"] - 1.5) < 1e-6


def test_image_and_question_items_keep_the_photograph_as_primary_and_the_text_in_text(tmp_path: Path) -> None:
    root = tmp_path / "vqa"
    root.mkdir()
    (root / "q1.png").write_bytes(_png(skdata.astronaut()))
    (root / "q1.json").write_bytes(_json("사진 속 사람은 무엇을 들고 있나요?"))
    (root / "q2.png").write_bytes(_png(skdata.chelsea()))  # its question is missing
    spec = _spec(VQA, root)
    rows, quarantine = _collect(spec, open_store(str(tmp_path / "store")))
    assert [(q["source_uri"].rsplit("/", 1)[-1], q["reason"]) for q in quarantine] == [("q2", R.MULTIMODAL_MISSING)]
    [row] = rows
    assert (row["media_ext"], row["width"], row["height"]) == ("png", 512, 512)
    assert row["text"] == "사진 속 사람은 무엇을 들고 있나요?" and row["components"] is None


def test_intake_checks_each_component_with_its_own_modality_and_hashes_them_all() -> None:
    spec = parse_spec(VQA)
    photo = _png(skdata.astronaut())
    ok = RawItem(index=0, source_uri="x://q1", data=photo, ext="png", components=(
        RawComponent("image", photo, "png", "x://q1.png"), RawComponent("text", _json("무엇인가요?"), "json", "x://q1.json")))
    other = RawItem(index=1, source_uri="x://q2", data=photo, ext="png", components=(
        RawComponent("image", photo, "png", "x://q2.png"), RawComponent("text", _json("몇 명인가요?"), "json", "x://q2.json")))
    a, b = check_item(spec, ok), check_item(spec, other)
    assert a.text == "무엇인가요?" and a.width == 512
    assert a.content_sha256 != b.content_sha256 and a.phash == b.phash  # same photograph, another question
    small = _png(np.zeros((100, 100, 3), dtype=np.uint8))
    with pytest.raises(Reject) as err:
        check_item(spec, RawItem(index=2, source_uri="x://q3", data=small, ext="png", components=(
            RawComponent("image", small, "png", "x://q3.png"), RawComponent("text", _json("무엇?"), "json", "x"))))
    assert err.value.reason == R.MEDIA_TOO_SMALL and err.value.detail.startswith("image component:")
    with pytest.raises(Reject) as err:
        check_item(spec, RawItem(index=3, source_uri="x://q4", data=photo, ext="png"))
    assert err.value.reason == R.MULTIMODAL_MISSING


# ------------------------------------------------------------------------------- de-identification, synthetic

SPEECH: dict[str, Any] = {
    **_BASE,
    "id": "broadcast-talk-test",
    "modality": {"kind": "multimodal", "components": [
        {"kind": "video", "formats": ["mp4"], "min_width": 320, "min_height": 240, "min_fps": 10,
         "min_duration_s": 1, "max_duration_s": 8},
        {"kind": "audio", "formats": ["wav"], "sample_rates": [16000], "channels": 1, "min_duration_s": 1,
         "max_duration_s": 8},
    ]},
    "source": {"kind": "synthetic", "seed": 11, "items": 8, "defect_rate": 0.4},
    "deidentify": ["faces", "phone", "rrn", "email"],
    "annotation": {"type": "transcription", "segments": True, "speaker_labels": True},
}


def test_every_component_is_de_identified_the_photo_and_the_question_alike(tmp_path: Path) -> None:
    root = tmp_path / "vqa"
    root.mkdir()
    (root / "q1.png").write_bytes(_png(skdata.astronaut()))
    (root / "q1.json").write_bytes(_json("사진 속 사람에게 010-2345-6789로 연락할 수 있나요?"))
    spec = parse_spec({**VQA, "source": {"kind": "local", "root": str(root)}, "deidentify": ["faces", "phone"]})
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    res = deidentify_shard(spec=spec, store=store, run_id="r1", shard=0)
    assert (res.items_out, res.quarantined) == (1, 0) and res.masked == {"faces": 1, "phone": 1}
    [row] = store.read_table(res.manifest_key).to_pylist()
    assert row["media_key"].startswith("media/") and "010-2345-6789" not in row["text"]
    masked = np.asarray(Image.open(io.BytesIO(store.read_bytes(row["media_key"]))).convert("RGB"))
    assert regions_in(_png(masked), targets=["faces"]) == []
    audit = json.loads(row["deid"])
    assert audit["image"]["regions"] and audit["text"]["findings"]


def test_synthetic_components_agree_and_are_de_identified_with_their_own_kind(tmp_path: Path) -> None:
    spec = parse_spec(SPEECH)
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    got = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    assert got.items_in == 8 and got.quarantined >= 1  # the defects drawn: a missing wav, a cut-off clip ...
    assert set(got.reasons) <= {R.MULTIMODAL_MISSING, R.MEDIA_TRUNCATED, R.MEDIA_UNDECODABLE, R.DEDUPE_EXACT}
    res = deidentify_shard(spec=spec, store=store, run_id="r1", shard=0)
    assert res.items_in == got.items_out == res.items_out + res.quarantined
    for row in store.read_table(res.manifest_key).to_pylist():
        [audio] = row["components"]
        assert row["media_key"].startswith("media/") and audio["key"].startswith("media/")
        assert hashlib.sha256(store.read_bytes(audio["key"])).hexdigest() == audio["sha256"]
        samples, rate = decode_wav(store.read_bytes(audio["key"]))
        assert rate == 16000 and abs(len(samples) / rate - row["duration_s"]) < 0.01  # as long as the clip
        truth = json.loads(row["truth"])
        assert truth["segments"] and truth["segments"][0]["speaker"] == "화자1"
        assert all(s["speaker"] in ("화자1", "화자2", "화자3") for s in truth["segments"])
        audit = json.loads(row["deid"])
        assert {"video", "audio"} <= set(audit) and audit["components"]["audio"] == audio["sha256"]
        for muted in audit["audio"]["muted"]:  # spoken personal data is silent in the released audio
            assert peak(store.read_bytes(audio["key"]), muted["start"], muted["end"]) == 0


def test_personal_data_spoken_in_the_audio_component_is_muted_and_masked_in_the_transcript(tmp_path: Path) -> None:
    long = json.loads(json.dumps(SPEECH))
    for c in long["modality"]["components"]:
        c.update(min_duration_s=12, max_duration_s=20)
    spec = parse_spec({**long, "source": {"kind": "synthetic", "seed": 11, "items": 4}})  # item 2 says a number
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    res = deidentify_shard(spec=spec, store=store, run_id="r1", shard=0)
    assert res.items_out == 4 and res.masked.get("audio_segments", 0) >= 1
    muted_items = 0
    for row in store.read_table(res.manifest_key).to_pylist():
        [audio] = row["components"]
        muted = json.loads(row["deid"])["audio"]["muted"]
        muted_items += bool(muted)
        for m in muted:
            assert peak(store.read_bytes(audio["key"]), m["start"], m["end"]) == 0
        assert not re.search(r"01[016789][\s.-]?\d{3,4}[\s.-]?\d{4}|\d{6}-?[1-8]\d{6}|@", json.loads(row["truth"])[
            "transcript"])
    assert muted_items >= 1


def test_a_shard_of_multimodal_items_is_sized_by_the_primary_component(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    clips = plan_shards(spec=parse_spec(DRAMA), store=store, run_id="r1", items=25)  # video primary: 10 a shard
    photos = plan_shards(spec=parse_spec(VQA), store=store, run_id="r2", items=250)  # image primary: 200
    assert [s["count"] for s in clips] == [10, 10, 5] and [s["count"] for s in photos] == [200, 50]
