"""The items frame's per-record facts that depend on how a type's labels are laid out."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipelines.annotations.values import BOX, VIDEO_BOX
from pipelines.validate.frames import _objects_per_item

pytestmark = pytest.mark.unit


def _box(track: int, frame: int) -> dict[str, object]:
    return {"label": "버스", "x": 1.0, "y": 2.0, "w": 30.0, "h": 20.0, "track": track, "frame": frame, "t": frame / 30}


def test_video_objects_are_tracks_not_keyframe_boxes() -> None:
    # issue 11: bus-route-driving-video (60 s at 2 annotated frames/s) released 242-605 keyframe boxes per clip of
    # 2-5 tracked objects, and validate counted the boxes against max_objects (200): the run was held
    rows = [
        [_box(t, f) for t in range(3) for f in range(1, 121)],  # 3 tracks over 120 keyframes: 360 boxes
        [_box(7, f) for f in range(1, 11)] + [_box(2, 5)],  # tracks 7 and 2
        [],
        None,
    ]
    batch = pa.record_batch({"objects": pa.array(rows, pa.list_(VIDEO_BOX))})
    assert _objects_per_item(batch).to_pylist() == [3, 2, 0, None]


def test_image_objects_are_boxes() -> None:
    box = {"label": "버스", "x": 1.0, "y": 2.0, "w": 30.0, "h": 20.0}
    batch = pa.record_batch({"objects": pa.array([[box] * 4, [], None], pa.list_(BOX))})
    assert _objects_per_item(batch).to_pylist() == [4, 0, None]
