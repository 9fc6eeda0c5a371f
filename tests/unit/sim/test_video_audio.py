"""The video and sound-event specs the simulator used to refuse: tracked boxes (VideoRectangle), polygons and
poses on keyframes, labelled sound events. Each passes preflight; simulated annotators submit what Label Studio's
controls for it produce; QC catches every injected mistake and nothing else; refine turns the results back into
the per-frame truth the source planted."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipelines.annotations.base import MediaFacts
from pipelines.collect.sources import SyntheticCollector
from pipelines.collect.sources.synthetic.video import _even
from pipelines.label import qc, results
from pipelines.label.tasks import FRAMES, target_kind
from pipelines.refine.convert import CONVERTERS
from pipelines.spec import load_catalog
from pipelines.spec.models import DatasetSpec
from pipelines.storage import open_store
from pipelines.storage.records import record_schema
from sim.annotators import _result, preflight

pytestmark = pytest.mark.unit

VIDEO_BBOX = ["bus-route-driving-video", "cctv-traffic-flow", "drone-flight-video", "livestock-behaviour-video",
              "night-adverse-weather-driving", "pedestrian-crosswalk-video"]
VIDEO_KEYFRAMES = ["lane-violation-video", "elderly-fall-keypoints", "sign-language-video",
                   "sports-human-action-video"]
SOUND_EVENTS = ["urban-noise-sound-events", "video-content-sound-events"]
RATE = 0.3


def _truth(spec: DatasetSpec, tmp_path: Path, index: int) -> tuple[dict[str, Any], tuple[int, int] | None]:
    """Item ``index``'s truth as preflight makes it (clips drawn at a tenth of the size) and its pixel grid."""
    truth = SyntheticCollector(spec=spec, store=open_store(tmp_path.as_uri())).sample_truth(index)
    assert truth
    m = spec.modality
    size = (_even(m.min_width * 0.1), _even(m.min_height * 0.1)) if m.kind == "video" else None  # type: ignore[union-attr]
    return truth, size


@pytest.mark.parametrize("spec_id", VIDEO_BBOX + VIDEO_KEYFRAMES + SOUND_EVENTS)
def test_preflight_passes(spec_id: str, tmp_path: Path) -> None:
    preflight(spec=load_catalog().get(spec_id), store=open_store(tmp_path.as_uri()))


def _check_shape(spec: DatasetSpec, result: list[dict[str, Any]]) -> None:
    t, to = spec.annotation.type, target_kind(spec)
    assert result and all(r["to_name"] == to for r in result)
    if t == "bbox":
        assert to == "video"
        for r in result:
            assert (r["type"], r["from_name"]) == ("videorectangle", "box")
            assert r["value"]["labels"][0] in spec.labels
            frames = [k["frame"] for k in r["value"]["sequence"]]
            assert frames == sorted(frames) and frames[0] >= 1
            for k in r["value"]["sequence"]:
                assert set(k) == {"frame", "enabled", "rotation", "x", "y", "width", "height", "time"}
                assert 0 <= k["x"] <= 100 and 0 < k["width"] <= 100
    elif t in ("polygon", "keypoints"):
        assert to == FRAMES
        assert {r["type"] for r in result} <= {"polygonlabels", "rectanglelabels", "keypointlabels"}
        assert all(isinstance(r["item_index"], int) for r in result)
        assert len({r["id"] for r in result}) == len(result)  # region ids unique across keyframes
    else:
        assert to == "audio"
        for r in result:
            assert r["type"] == "labels" and r["value"]["labels"][0] in spec.labels
            assert 0 <= r["value"]["start"] < r["value"]["end"]


@pytest.mark.parametrize("spec_id", VIDEO_BBOX[:2] + VIDEO_KEYFRAMES + SOUND_EVENTS)
def test_results_have_the_controls_shape_and_mistakes_come_at_the_rate(spec_id: str, tmp_path: Path) -> None:
    spec = load_catalog().get(spec_id)
    t, to = spec.annotation.type, target_kind(spec)
    truth, size = _truth(spec, tmp_path, 0)
    reference = results.from_truth(t, truth, to_name=to, size=size)
    assert reference is not None
    ref = qc.extract(t, reference)
    n, injected, rejected, caught = 40, 0, 0, 0
    for k in range(n):
        rng = random.Random(f"{spec_id}:{k}")
        wrong = rng.random() < RATE
        got = _result(spec, truth, size, rng, wrong)
        _check_shape(spec, got)
        bad = qc.agreement(t, qc.extract(t, got), ref) < qc.CORRECT_AT[t]
        injected += wrong
        rejected += bad
        caught += bad and wrong
    assert caught == injected == rejected  # every mistake is one QC sees; no correct answer is rejected
    assert 4 <= injected <= 20  # Binomial(40, 0.3): mean 12, this range holds > 99.9 %


@pytest.mark.parametrize("spec_id", ["livestock-behaviour-video", "lane-violation-video", "sports-human-action-video",
                                     "urban-noise-sound-events"])
def test_refine_carries_the_per_frame_truth_into_records(spec_id: str, tmp_path: Path) -> None:
    spec = load_catalog().get(spec_id)
    t = spec.annotation.type
    truth, size = _truth(spec, tmp_path, 1)
    media = MediaFacts(size[0] if size else None, size[1] if size else None, None, None)
    answers = [_result(spec, truth, size, random.Random(k), wrong=k == 2) for k in range(3)]
    values = [CONVERTERS[t](spec, answer, media) for answer in answers]
    if t == "bbox":
        planted = sorted((results.ls_frame(b["t"]), tr["label"], b["x"], b["y"]) for tr in truth["tracks"]
                         for b in tr["boxes"])
        got = sorted((o["frame"], o["label"], o["x"], o["y"]) for o in values[0]["objects"])
        assert [g[:2] for g in got] == [p[:2] for p in planted]
        assert all(abs(g[2] - p[2]) <= 1 and abs(g[3] - p[3]) <= 1 for g, p in zip(got, planted, strict=True))
        assert all(o["t"] is not None and o["track"] is not None for o in values[0]["objects"])
    elif t == "polygon":
        frames = {p["frame"] for p in values[0]["polygons"]}
        assert frames == {i for i, kf in enumerate(truth["keyframes"]) if kf["polygons"]}
    elif t == "keypoints":
        per_frame = [len(kf["poses"]) for kf in truth["keyframes"]]
        assert [sum(p["frame"] == i for p in values[0]["poses"]) for i in range(len(per_frame))] == per_frame
    else:
        assert [e["label"] for e in values[0]["events"]] == [e["label"] for e in truth["events"]]
    # label_pull's consensus (tracks: the best-agreeing annotator's), released through the same converter
    c = qc.consensus(t, [qc.extract(t, answer) for answer in answers], tracks=t == "bbox")
    assert c.agreement is not None and c.agreement < 1.0
    regions = qc.consensus_result(t, answers, c)
    assert regions is not None
    released = CONVERTERS[t](spec, regions, media)
    (column_name, got_value), = released.items()
    assert got_value != values[2][column_name]  # the odd one out loses
    assert sorted(map(repr, got_value)) in (sorted(map(repr, values[0][column_name])),
                                            sorted(map(repr, values[1][column_name])))
    column = next(f for f in record_schema(spec) if f.name == column_name)
    assert pa.array([got_value], type=column.type).to_pylist()[0] == got_value


def test_sound_events_are_in_the_audio(tmp_path: Path) -> None:
    """Each planted event is loud where it is and the clip is quiet elsewhere."""
    import numpy as np

    from pipelines.wav import decode_wav

    spec = load_catalog().get("urban-noise-sound-events")
    item = SyntheticCollector(spec=spec, store=open_store(tmp_path.as_uri())).item(2)
    samples, sr = decode_wav(item.data)
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    inside = np.zeros(len(mono), dtype=bool)
    for e in item.truth["events"]:  # type: ignore[index]
        seg = mono[int(e["start"] * sr):int(e["end"] * sr)]
        assert float(np.sqrt(np.mean(seg**2))) > 0.1
        inside[int(e["start"] * sr):int(e["end"] * sr)] = True
    assert float(np.sqrt(np.mean(mono[~inside] ** 2))) < 0.01


@pytest.mark.parametrize(("change", "reason"), [
    (lambda v: v.update(labels=[]), "label.empty"),
    (lambda v: v.update(sequence=[]), "label.track_empty"),
    (lambda v: v["sequence"][0].update(x=95.0, width=20.0), "label.geometry_outside"),
    (lambda v: v["sequence"][0].update(rotation=15), "label.rotated_box"),
    (lambda v: v.update(labels=["없는 클래스"]), "label.unknown"),
])
def test_a_bad_track_is_quarantined_with_its_reason(change: Any, reason: str, tmp_path: Path) -> None:
    from pipelines.annotations.base import InvalidLabel

    spec = load_catalog().get("livestock-behaviour-video")
    truth, size = _truth(spec, tmp_path, 0)
    assert size is not None
    result = results.video_tracks(truth["tracks"], size=size)
    change(result[0]["value"])
    with pytest.raises(InvalidLabel) as exc:
        CONVERTERS["bbox"](spec, result, MediaFacts(size[0], size[1], None, None))
    assert exc.value.reason.startswith(reason)


def test_qc_compares_tracks_frame_by_frame() -> None:
    """The same box on another frame is not a match: a track drawn late is a different track."""
    box = {"t": 0.0, "x": 10, "y": 10, "w": 20, "h": 20}
    a = results.video_tracks([{"track": 0, "label": "소", "boxes": [box]}], size=(100, 100))
    b = results.video_tracks([{"track": 0, "label": "소", "boxes": [{**box, "t": 1.0}]}], size=(100, 100))
    assert qc.agreement("bbox", qc.extract("bbox", a), qc.extract("bbox", a)) == 1.0
    assert qc.agreement("bbox", qc.extract("bbox", a), qc.extract("bbox", b)) == 0.0
    merged = qc.consensus("bbox", [qc.extract("bbox", a)] * 2 + [qc.extract("bbox", b)])
    assert [(x.frame, x.label) for x in merged.value] == [(results.ls_frame(0.0), "소")]
