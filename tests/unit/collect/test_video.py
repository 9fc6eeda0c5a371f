"""Video through collect and de-identification: synthetic clips, bad clips, a real face, a real catalog spec."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from pipelines.collect import check_item, collect_shard, deidentify_shard, make_source, plan_shards
from pipelines.collect import reasons as R
from pipelines.collect.dedupe import PHASH_BYTES, VIDEO_PHASH_FRACTIONS, DedupeIndex
from pipelines.collect.deid import deid_video, regions_in, scan_video
from pipelines.collect.intake import check_video
from pipelines.collect.reasons import Reject
from pipelines.collect.sources import RawItem
from pipelines.collect.sources.synthetic import video as synthetic_video
from pipelines.collect.video import has_personal_metadata, keyframe_indices, open_clip, scratch_dir, write_clip
from pipelines.spec import DatasetSpec, load_catalog, parse_spec
from pipelines.spec.catalog import default_schemas_dir, load_spec
from pipelines.spec.models import VideoModality
from pipelines.storage import open_store
from pipelines.storage.store import ObjectStore
from tests.unit.collect.specs import VIDEO, make

pytestmark = pytest.mark.unit

SPEC = make(VIDEO, source={"seed": 5})
MOD = SPEC.modality
assert isinstance(MOD, VideoModality)
# What intake must say about each defect the synthetic source draws.
DEFECT_REASON = {
    "truncated": R.MEDIA_TRUNCATED,
    "too_small": R.MEDIA_TOO_SMALL,
    "too_short": R.VIDEO_TOO_SHORT,
    "garbage": R.MEDIA_UNDECODABLE,
}


def _clip(
    frames: list[np.ndarray] | None = None,
    *,
    ext: str = "mp4",
    size: tuple[int, int] = (160, 120),
    fps: float = 10.0,
    n: int = 15,
) -> bytes:
    """A clip of the given BGR frames, or of ``n`` frames of a moving bar."""
    if frames is None:
        frames = []
        for i in range(n):
            f = np.full((size[1], size[0], 3), 90, dtype=np.uint8)
            f[:, :, 1] = np.linspace(60, 160, size[0], dtype=np.uint8)
            cv2.rectangle(f, (5 + 4 * i, 20), (35 + 4 * i, 60), (30, 30, 200), -1)
            frames.append(f)
    h, w = frames[0].shape[:2]
    with scratch_dir() as tmp:
        path = tmp / f"clip.{ext}"
        with write_clip(path, ext=ext, fps=fps, width=w, height=h) as write:
            for f in frames:
                write(f)
        return path.read_bytes()


def _reason(data: bytes, mod: VideoModality = MOD) -> str:
    with pytest.raises(Reject) as exc:
        check_video(data, mod)
    return exc.value.reason


def _astronaut_frames(n: int = 12, size: tuple[int, int] = (480, 360)) -> list[np.ndarray]:
    """A real face (NASA's portrait of Eileen Collins) drifting across a grey frame."""
    face = cv2.cvtColor(cv2.resize(skimage_data.astronaut(), (256, 256)), cv2.COLOR_RGB2BGR)
    frames = []
    for i in range(n):
        f = np.full((size[1], size[0], 3), 120, dtype=np.uint8)
        x, y = 20 + 8 * i, 40 + 2 * i
        f[y : y + 256, x : x + 256] = face
        frames.append(f)
    return frames


def _decoded(data: bytes, ext: str = "mp4") -> list[np.ndarray]:
    with open_clip(data, ext=ext) as clip:
        return list(clip.frames())


# -------------------------------------------------------------------------------------- synthetic source


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The synthetic video spec collected and de-identified shard by shard on a file:// store."""
    store = open_store(str(tmp_path_factory.mktemp("video-store")))
    shards = plan_shards(spec=SPEC, store=store, run_id="r1")
    results = []
    for s in shards:
        col = collect_shard(spec=SPEC, store=store, run_id="r1", shard=s)
        deid = deidentify_shard(spec=SPEC, store=store, run_id="r1", shard=s["shard"])
        results.append((col, deid))
    return {"store": store, "shards": shards, "results": results}


def test_synthetic_clips_collect_and_deidentify_with_counts_reconciling(collected: dict[str, Any]) -> None:
    store: ObjectStore = collected["store"]
    assert [s["count"] for s in collected["shards"]] == [10, 10, 4]  # video shards hold 10 clips
    planned = sum(s["count"] for s in collected["shards"])
    outcome: dict[int, str | None] = {}
    delivered = 0
    for col, deid in collected["results"]:
        assert col.items_in == col.items_out + col.quarantined
        assert deid.items_in == col.items_out == deid.items_out + deid.quarantined
        assert deid.reasons == {}, "no synthetic clip holds a real face or plate"
        delivered += deid.items_out
        for key in (col.quarantine_key, deid.quarantine_key):
            for q in store.read_table(key).to_pylist():
                outcome[int(q["source_uri"].rsplit("/", 1)[1])] = q["reason"]
        for row in store.read_table(deid.manifest_key).to_pylist():
            outcome[int(row["source_uri"].rsplit("/", 1)[1])] = None
            assert row["media_key"].startswith(f"media/{SPEC.id}/") and row["media_ext"] in ("mp4", "avi")
            assert store.read_bytes(row["media_key"]) and row["width"] == 160 and row["height"] == 120
            assert MOD.min_duration_s <= row["duration_s"] <= MOD.max_duration_s
            audit = json.loads(row["deid"])
            assert audit["recheck"]["passed"] and audit["video"]["frames"] == round(row["duration_s"] * 10)
    assert delivered + sum(1 for r in outcome.values() if r) == planned == len(outcome)

    source = make_source(spec=SPEC, store=store, run_id="r1")
    expected: dict[int, str | None] = {}
    for i in range(planned):
        d = source.defect(i)
        if d == "duplicate":  # a copy of the item before it: a duplicate only if that one was kept
            expected[i] = R.DEDUPE_EXACT if source.defect(i - 1) is None else None
        else:
            expected[i] = DEFECT_REASON[d] if d else None
    assert outcome == expected
    assert {r for r in expected.values() if r} == {*DEFECT_REASON.values(), R.DEDUPE_EXACT}


def test_synthetic_truth_boxes_match_the_drawn_objects(collected: dict[str, Any]) -> None:
    store: ObjectStore = collected["store"]
    row = store.read_table(collected["results"][0][1].manifest_key).to_pylist()[0]
    truth = json.loads(row["truth"])
    frames = _decoded(store.read_bytes(row["media_key"]), row["media_ext"])
    keyframes = keyframe_indices(len(frames), 10.0, MOD.annotation_fps)
    assert truth["tracks"] and all(t["label"] in SPEC.labels for t in truth["tracks"])
    for track in truth["tracks"]:
        assert [b["frame"] for b in track["boxes"]] == keyframes  # bbox objects stay on screen
        for b in track["boxes"]:
            f = frames[b["frame"]].astype(np.int16)
            inside = f[b["y"] : b["y"] + b["h"], b["x"] : b["x"] + b["w"]]
            # a saturated class colour fills the box's middle; the muted background does not
            sat = inside.max(axis=2) - inside.min(axis=2)
            assert sat[sat.shape[0] // 2, sat.shape[1] // 2] > 60
            assert b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["w"] <= 160 and b["y"] + b["h"] <= 120


def test_the_same_seed_gives_the_same_clip_and_truth() -> None:
    def digest(seed: int, index: int) -> tuple[str, str]:
        spec = make(VIDEO, source={"seed": seed})
        assert isinstance(spec.modality, VideoModality)
        data, _, truth = synthetic_video.make_video(spec, spec.modality, seed=seed, index=index)
        return (hashlib.sha256(json.dumps(truth, sort_keys=True).encode()).hexdigest(),
                hashlib.sha256(data).hexdigest())

    assert digest(5, 3) == digest(5, 3)
    assert digest(5, 3)[0] != digest(6, 3)[0] and digest(5, 3)[0] != digest(5, 4)[0]


@pytest.mark.parametrize(
    ("annotation", "key"),
    [
        ({"type": "temporal_events", "labels": ["배회", "쓰러짐"], "min_event_s": 0.5}, "events"),
        ({"type": "polygon", "labels": ["차선"]}, "keyframes"),
        ({"type": "classification", "labels": ["실제", "변조"]}, "label"),
    ],
)
def test_truth_fits_the_annotation_type(annotation: dict[str, Any], key: str) -> None:
    spec = make(VIDEO, annotation=annotation)
    mod = spec.modality
    assert isinstance(mod, VideoModality)
    data, _, truth = synthetic_video.make_video(spec, mod, seed=1, index=0)
    acc = check_video(data, mod)
    assert truth is not None and key in truth
    if key == "events":
        for e in truth["events"]:
            assert e["label"] in spec.labels and 0 <= e["start"] < e["end"] <= acc.duration_s + 1e-9
            assert e["end"] - e["start"] >= 0.5
    if key == "keyframes":
        assert [k["frame"] for k in truth["keyframes"]] == keyframe_indices(round(acc.duration_s * 10), 10.0, 2.0)


# --------------------------------------------------------------------------------------------- intake


def test_a_good_clip_passes_with_what_intake_learnt() -> None:
    acc = check_video(_clip(n=15), MOD)
    assert (acc.ext, acc.width, acc.height, acc.duration_s, acc.fps) == ("mp4", 160, 120, 1.5, 10.0)
    assert acc.phash is not None and len(acc.phash) == PHASH_BYTES * len(VIDEO_PHASH_FRACTIONS)


def test_broken_clips_get_their_reason_codes() -> None:
    good = _clip()
    assert _reason(good[: len(good) * 2 // 3]) == R.MEDIA_TRUNCATED  # the index at the end is gone
    assert _reason(good[:-10]) == R.MEDIA_TRUNCATED
    avi = _clip(ext="avi")
    assert _reason(avi[: len(avi) // 2]) == R.MEDIA_TRUNCATED
    damaged = bytearray(good)
    damaged[200:2000] = bytes(1800)  # whole container, wrecked stream
    assert _reason(bytes(damaged)) == R.MEDIA_UNDECODABLE
    assert _reason(b"\x00\x01garbage" * 100) == R.MEDIA_UNDECODABLE
    assert _reason(cv2.imencode(".jpg", np.zeros((120, 160, 3), np.uint8))[1].tobytes()) == R.MEDIA_FORMAT
    with pytest.raises(Reject) as exc:
        check_item(SPEC, RawItem(index=0, source_uri="file:///empty.mp4", data=b"", ext="mp4"))
    assert exc.value.reason == R.MEDIA_EMPTY


def test_clips_outside_the_spec_get_their_reason_codes() -> None:
    assert _reason(_clip(size=(128, 96))) == R.MEDIA_TOO_SMALL
    assert _reason(_clip(size=(96, 160))) == R.MEDIA_TOO_SMALL  # portrait: too narrow
    assert _reason(_clip(fps=5.0, n=10)) == R.VIDEO_FPS
    assert _reason(_clip(n=5)) == R.VIDEO_TOO_SHORT
    assert _reason(_clip(n=60)) == R.VIDEO_TOO_LONG
    mp4_only = MOD.model_copy(update={"formats": ["mp4"]})
    assert _reason(_clip(ext="avi"), mp4_only) == R.MEDIA_FORMAT
    assert check_video(_clip(fps=29.97, n=45), MOD.model_copy(update={"min_fps": 30.0})).fps == 29.97


def test_bad_clips_from_a_directory_are_quarantined_item_by_item(tmp_path: Path) -> None:
    root = tmp_path / "delivery"
    root.mkdir()
    good = _clip()
    files = {
        "good.mp4": good,
        "good_copy.mp4": good,
        "truncated.mp4": good[: len(good) // 2],
        "empty.mp4": b"",
        "small.mp4": _clip(size=(128, 96)),
        "slow.mp4": _clip(fps=5.0, n=10),
        "still.mp4": cv2.imencode(".png", np.zeros((120, 160, 3), np.uint8))[1].tobytes(),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    spec = parse_spec({**VIDEO, "source": {"kind": "local", "root": str(root)}})
    store = open_store(str(tmp_path / "store"))
    outcome: dict[str, str | None] = {}
    for shard in plan_shards(spec=spec, store=store, run_id="r1"):
        col = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
        deid = deidentify_shard(spec=spec, store=store, run_id="r1", shard=shard["shard"])
        assert col.items_in == col.items_out + col.quarantined and deid.items_in == col.items_out
        for key in (col.quarantine_key, deid.quarantine_key):
            outcome |= {q["source_uri"].rsplit("/", 1)[1]: q["reason"] for q in store.read_table(key).to_pylist()}
        outcome |= {r["source_uri"].rsplit("/", 1)[1]: None for r in store.read_table(deid.manifest_key).to_pylist()}
    assert outcome == {
        "good.mp4": None,
        "good_copy.mp4": R.DEDUPE_EXACT,
        "truncated.mp4": R.MEDIA_TRUNCATED,
        "empty.mp4": R.MEDIA_EMPTY,
        "small.mp4": R.MEDIA_TOO_SMALL,
        "slow.mp4": R.VIDEO_FPS,
        "still.mp4": R.MEDIA_FORMAT,
    }


# ----------------------------------------------------------------------------------------------- dedupe


def _pan(image: np.ndarray, n: int = 20) -> list[np.ndarray]:
    """A camera panning across a photograph, 160x120."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    return [cv2.resize(bgr[40:265, 10 + 8 * i : 310 + 8 * i], (160, 120), interpolation=cv2.INTER_AREA)
            for i in range(n)]


def test_a_re_encoded_copy_is_a_near_duplicate_and_another_clip_is_not() -> None:
    frames = _decoded(_clip(_pan(skimage_data.coffee())))
    original = check_video(_clip(frames), MOD)
    upscaled = [cv2.resize(f, (320, 240), interpolation=cv2.INTER_CUBIC) for f in frames]
    copy = check_video(_clip(upscaled, ext="avi"), MOD)  # a bigger copy in another container
    assert copy.content_sha256 != original.content_sha256
    other = check_video(_clip(_pan(skimage_data.chelsea())), MOD)
    index = DedupeIndex()
    index.add("a", sha=original.content_sha256, phash=original.phash)
    dup = index.find("b", sha=copy.content_sha256, phash=copy.phash)
    assert dup is not None and dup.reason == R.DEDUPE_NEAR and dup.kept_id == "a" and "4 sampled frames" in dup.detail
    assert index.find("c", sha=other.content_sha256, phash=other.phash) is None
    # every sampled frame must match: the same clip with one sampled moment replaced is not a duplicate
    assert original.phash is not None and other.phash is not None
    n = PHASH_BYTES
    spliced = original.phash[:n] + other.phash[n : 2 * n] + original.phash[2 * n :]
    assert index.find("d", sha="x", phash=spliced) is None


def test_a_copy_in_a_later_shard_is_dropped_by_de_identification(tmp_path: Path) -> None:
    root = tmp_path / "delivery"
    root.mkdir()
    frames = _decoded(_clip(_pan(skimage_data.coffee())))
    (root / "a00.mp4").write_bytes(_clip(frames))
    for i in range(1, 10):  # fill shard 0 with other clips
        data, ext, _ = synthetic_video.make_video(SPEC, MOD, seed=5, index=i)
        (root / f"a{i:02d}.{ext}").write_bytes(data)
    upscaled = [cv2.resize(f, (320, 240), interpolation=cv2.INTER_CUBIC) for f in frames]
    (root / "b_copy.avi").write_bytes(_clip(upscaled, ext="avi"))  # shard 1
    spec = parse_spec({**VIDEO, "source": {"kind": "local", "root": str(root)}})
    store = open_store(str(tmp_path / "store"))
    shards = plan_shards(spec=spec, store=store, run_id="r1")
    assert [s["count"] for s in shards] == [10, 1]
    cols = [collect_shard(spec=spec, store=store, run_id="r1", shard=s) for s in shards]
    assert [c.quarantined for c in cols] == [0, 0]  # collect shards only see their own clips
    deids = [deidentify_shard(spec=spec, store=store, run_id="r1", shard=s["shard"]) for s in shards]
    assert [(d.items_out, d.reasons) for d in deids] == [(10, {}), (0, {R.DEDUPE_NEAR: 1})]
    [q] = store.read_table(deids[1].quarantine_key).to_pylist()
    kept = store.read_table(deids[0].manifest_key).to_pylist()
    assert next(r["item_id"] for r in kept if r["source_uri"].endswith("/a00.mp4")) in q["detail"]


# ------------------------------------------------------------------------------------ de-identification


def test_a_real_face_is_masked_on_every_frame_and_found_on_none_afterwards(tmp_path: Path) -> None:
    data = _clip(_astronaut_frames())
    before = scan_video(data, ext="mp4", targets=["faces"])
    seen = {f for f, r in before.regions if r.kind == "faces"}
    assert len(seen) >= 10  # the detector sees her on (nearly) every frame
    res = deid_video(data, ext="mp4", targets=["faces", "licence_plates"], workdir=tmp_path)
    assert res.reencoded and res.masked_frames == 12  # a frame it missed is masked with its neighbours' regions
    assert res.recheck is not None and res.recheck.regions == []
    assert scan_video(res.data, ext="mp4", targets=["faces", "licence_plates"]).regions == []
    # the face lost its detail, the rest of the frame did not change
    orig, out = _decoded(data), _decoded(res.data)
    for i in sorted(seen)[::4]:
        r = next(r for f, r in before.regions if f == i)
        a = cv2.cvtColor(orig[i], cv2.COLOR_BGR2GRAY).astype(float)[r.y : r.y + r.h, r.x : r.x + r.w]
        b = cv2.cvtColor(out[i], cv2.COLOR_BGR2GRAY).astype(float)[r.y : r.y + r.h, r.x : r.x + r.w]
        assert np.abs(np.diff(b, axis=1)).mean() < 0.3 * np.abs(np.diff(a, axis=1)).mean()
        assert np.abs(orig[i][:, -60:].astype(int) - out[i][:, -60:].astype(int)).mean() < 3


def test_a_webm_clip_is_masked_as_webm_vp8_which_browsers_play(tmp_path: Path) -> None:
    data = _clip(_astronaut_frames(), ext="webm")
    assert scan_video(data, ext="webm", targets=["faces"]).regions  # the face is there before
    res = deid_video(data, ext="webm", targets=["faces"], workdir=tmp_path)
    assert res.reencoded and res.recheck is not None and res.recheck.regions == []
    assert res.data[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file again
    out = tmp_path / "check.webm"
    out.write_bytes(res.data)
    cap = cv2.VideoCapture(str(out))
    try:
        assert int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little") == b"VP80"
    finally:
        cap.release()
    assert scan_video(res.data, ext="webm", targets=["faces"]).regions == []


def test_keyframes_for_annotation_are_cut_from_the_masked_frames(tmp_path: Path) -> None:
    res = deid_video(_clip(_astronaut_frames()), ext="mp4", targets=["faces"], workdir=tmp_path, keyframe_fps=2.0)
    assert len(res.keyframes) == len(keyframe_indices(12, 10.0, 2.0)) == 3 and res.keyframes_left == []
    for path in res.keyframes:
        jpeg = path.read_bytes()
        assert jpeg[:3] == b"\xff\xd8\xff" and regions_in(jpeg, targets=["faces"]) == []  # the image path agrees


def test_the_stage_writes_a_masked_clip_and_a_compact_per_frame_audit(tmp_path: Path) -> None:
    root = tmp_path / "delivery"
    root.mkdir()
    (root / "face.mp4").write_bytes(_clip(_astronaut_frames()))
    spec = parse_spec({**VIDEO, "modality": {**VIDEO["modality"], "min_width": 320, "min_height": 240},
                       "source": {"kind": "local", "root": str(root)}})
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    deid = deidentify_shard(spec=spec, store=store, run_id="r1", shard=0)
    assert (deid.items_out, deid.quarantined) == (1, 0) and deid.masked["faces"] >= 10
    [row] = store.read_table(deid.manifest_key).to_pylist()
    media = store.read_bytes(row["media_key"])
    assert row["media_key"].startswith(f"media/{spec.id}/") and media != (root / "face.mp4").read_bytes()
    assert scan_video(media, ext="mp4", targets=["faces"]).regions == []
    audit = json.loads(row["deid"])["video"]
    assert audit["frames"] == 12 and audit["masked_frames"] == 12 and audit["reencoded"]
    rows = audit["regions"]["faces"]  # [frame, x, y, w, h]: five integers per detection
    assert len({r[0] for r in rows}) >= 10 and all(len(r) == 5 for r in rows)
    assert audit["detectors"]["detect_max_side"] == 960


def _with_gps(mp4: bytes) -> bytes:
    """The clip with a QuickTime GPS position (``©xyz``) added to its ``moov`` box, as phones write it."""
    at = mp4.index(b"moov") - 4
    size = struct.unpack_from(">I", mp4, at)[0]
    xyz = b"+37.5665+126.9780/"
    item = struct.pack(">I4sHH", 12 + len(xyz), b"\xa9xyz", len(xyz), 0x15C7) + xyz
    udta = struct.pack(">I4s", 8 + len(item), b"udta") + item
    moov = struct.pack(">I", size + len(udta)) + mp4[at + 4 : at + size] + udta
    return mp4[:at] + moov + mp4[at + size :]


def test_a_gps_position_in_the_container_is_dropped_even_without_faces(tmp_path: Path) -> None:
    data = _with_gps(_clip())
    assert has_personal_metadata(data) and check_video(data, MOD).width == 160  # still a valid clip
    res = deid_video(data, ext="mp4", targets=["faces"], workdir=tmp_path)
    assert res.reencoded and res.scan.regions == [] and not has_personal_metadata(res.data)
    assert b"+37.5665" not in res.data


def _with_title_and_comment(mp4: bytes) -> bytes:
    """The clip with an iTunes-style title (``©nam``) and comment (``©cmt``) in ``moov/udta/meta/ilst``."""
    at = mp4.index(b"moov") - 4
    size = struct.unpack_from(">I", mp4, at)[0]

    def atom(kind: bytes, text: bytes) -> bytes:
        data = struct.pack(">I4sII", 16 + len(text), b"data", 1, 0) + text
        return struct.pack(">I4s", 8 + len(data), kind) + data

    ilst_body = atom(b"\xa9nam", b"Hong Gildong's birthday") + atom(b"\xa9cmt", b"call 010-1234-5678")
    ilst = struct.pack(">I4s", 8 + len(ilst_body), b"ilst") + ilst_body
    hdlr = struct.pack(">I4sI4s4s12sB", 33, b"hdlr", 0, b"\0\0\0\0", b"mdir", b"\0" * 12, 0)
    meta = struct.pack(">I4sI", 12 + len(hdlr) + len(ilst), b"meta", 0) + hdlr + ilst
    udta = struct.pack(">I4s", 8 + len(meta), b"udta") + meta
    moov = struct.pack(">I", size + len(udta)) + mp4[at + 4 : at + size] + udta
    return mp4[:at] + moov + mp4[at + size :]


def _mkv_with_title(mkv: bytes, title: bytes) -> bytes:
    """A Matroska clip with a Title element added to its Segment Info (sizes rewritten as 8-byte numbers)."""
    from pipelines.collect.video import _vint  # the container reader's own EBML number decoder

    _, n = _vint(mkv, 0, keep_marker=True)
    size, m = _vint(mkv, n, keep_marker=False)
    seg = n + m + size
    _, seg_len = _vint(mkv, seg + 4, keep_marker=False)
    info = mkv.index(b"\x15\x49\xa9\x66", seg)
    isize, ilen = _vint(mkv, info + 4, keep_marker=False)
    body = mkv[info + 4 + ilen : info + 4 + ilen + isize] + b"\x7b\xa9" + bytes([0x80 | len(title)]) + title
    new_info = b"\x15\x49\xa9\x66" + (1 << 56 | len(body)).to_bytes(8, "big") + body
    seg_body = mkv[seg + 4 + seg_len : info] + new_info + mkv[info + 4 + ilen + isize :]
    return mkv[:seg] + b"\x18\x53\x80\x67" + (1 << 56 | len(seg_body)).to_bytes(8, "big") + seg_body


def test_a_title_and_comment_in_the_container_are_dropped_even_without_faces(tmp_path: Path) -> None:
    data = _with_title_and_comment(_clip())
    assert has_personal_metadata(data) and not has_personal_metadata(_clip())
    res = deid_video(data, ext="mp4", targets=["faces"], workdir=tmp_path)
    assert res.reencoded and not has_personal_metadata(res.data)
    assert b"Hong Gildong" not in res.data and b"010-1234-5678" not in res.data


def test_a_matroska_title_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.mkv"
    with write_clip(path, ext="mkv", fps=10.0, width=160, height=120) as write:
        for i in range(10):
            write(np.full((120, 160, 3), 20 * i, np.uint8))
    clean = path.read_bytes()
    data = _mkv_with_title(clean, b"Hong Gildong at home")
    assert has_personal_metadata(data) and not has_personal_metadata(clean)
    work = tmp_path / "work"
    work.mkdir()
    res = deid_video(data, ext="mkv", targets=["faces"], workdir=work)
    assert res.reencoded and res.scan.frames == 10 and b"Hong Gildong" not in res.data
    assert not has_personal_metadata(res.data)


# ---------------------------------------------------------------------------------- a real catalog spec


def _catalog_spec(rel: str) -> DatasetSpec:
    return load_spec(default_schemas_dir() / "datasets" / rel)


def test_every_catalog_video_spec_gets_clips_of_its_size_rate_and_format(tmp_path: Path) -> None:
    """Short clips (0.2 s) of every video spec in the catalog pass intake with the spec's own size and rate."""
    catalog = load_catalog()
    store = open_store(str(tmp_path))
    tried = 0
    for spec_id in catalog:
        spec = catalog.get(spec_id)
        mod = spec.modality
        if spec.source.kind != "synthetic" or not isinstance(mod, VideoModality):
            continue
        make_source(spec=spec, store=store)  # the source accepts the spec
        data, ext, truth = synthetic_video.make_video(spec, mod, seed=0, index=0, duration_s=0.2)
        acc = check_video(data, mod.model_copy(update={"min_duration_s": 0.1}))
        assert (acc.width, acc.height) == (mod.min_width, mod.min_height) and ext in mod.formats, spec_id
        assert acc.fps is not None and acc.fps >= mod.min_fps * 0.998, spec_id
        json.dumps(truth, ensure_ascii=False)
        tried += 1
    assert tried >= 20


def test_a_catalog_video_spec_gets_through_collect_and_deidentify(tmp_path: Path) -> None:
    """sports-human-action-video: 1080p, 30 fps, at least 3 s, faces, keypoints drawn on keyframes at 5 fps."""
    spec = _catalog_spec("vision/sports-human-action-video.yaml")
    mod = spec.modality
    assert isinstance(mod, VideoModality) and mod.min_width == 1920 and mod.min_fps == 30
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1", items=1)
    col = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    assert (col.items_in, col.items_out, col.quarantined) == (1, 1, 0)
    deid = deidentify_shard(spec=spec, store=store, run_id="r1", shard=0)
    assert (deid.items_in, deid.items_out, deid.quarantined) == (1, 1, 0)
    [row] = store.read_table(deid.manifest_key).to_pylist()
    assert (row["width"], row["height"], row["media_ext"]) == (1920, 1080, "mp4")
    assert mod.min_duration_s <= row["duration_s"] <= mod.max_duration_s
    audit = json.loads(row["deid"])["video"]
    frames = json.loads(row["meta"])["frames"]  # keyframes for Label Studio, cut from the masked clip
    assert len(frames) == audit["keyframes"] == len(keyframe_indices(audit["frames"], 30.0, mod.annotation_fps))
    assert all(k.startswith(f"media/{spec.id}/") and k.endswith(".jpg") for k in frames)
    first = cv2.imdecode(np.frombuffer(store.read_bytes(frames[0]), np.uint8), cv2.IMREAD_COLOR)
    assert first.shape == (1080, 1920, 3)
