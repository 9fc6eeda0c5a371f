"""Label Studio result regions for the control names of the annotation types' config builders.

Predictions (pre-annotations) and the annotator simulator build results only through these functions, so
what they submit is exactly what a human using the generated config would produce. The region builders live in
``pipelines/annotations/lsresults.py`` (re-exported here); :func:`from_truth` reaches each type's reference result
through the registry (``from_truth`` of its ``TypeCode``).
Coordinates: ``truth`` and records use pixels (top-left origin); Label Studio image regions use percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipelines.annotations import REGISTRY
from pipelines.annotations.lsresults import (
    LS_VIDEO_FPS,
    brush,
    choices,
    keypoint,
    ls_frame,
    on_keyframe,
    polygon,
    polygon_masks,
    poses,
    qa_pairs,
    rectangle,
    rectangle_pixels,
    region_id,
    sampling_hz,
    series_range,
    span,
    summary,
    textarea,
    time_range,
    transcript,
    vector,
    video_track,
    video_tracks,
)

__all__ = [
    "LS_VIDEO_FPS", "brush", "choices", "from_truth", "keyframe_results", "keypoint", "ls_frame", "on_keyframe",
    "polygon", "polygon_masks", "poses", "qa_pairs", "rectangle", "rectangle_pixels", "region_id", "sampling_hz",
    "series_range", "span", "summary", "textarea", "time_range", "transcript", "vector", "video_track",
    "video_tracks",
]


def from_truth(
    annotation_type: str,
    truth: Mapping[str, Any],
    *,
    to_name: str,
    size: tuple[int, int] | None = None,
    text: str | None = None,
    rate_hz: float | None = None,
) -> list[dict[str, Any]] | None:
    """The result a perfect annotator submits for a source's known answer (``truth``), or None when this type
    (or this truth) cannot be expressed: gold tasks are made only where the answer is really known.

    ``truth`` shapes (what sources write): ``{"label"}``, ``{"labels"}``, ``{"objects": [{label,x,y,w,h}]}``
    (pixels), ``{"polygons": [{label, points: [{x,y}]}]}``, ``{"transcript", "segments"}``,
    ``{"spans": [{label, start, end[, text]}]}`` (character offsets into ``text``, or the span's own ``text``),
    ``{"events": [{label, start, end}]}`` (seconds; a time series also needs ``rate_hz``, its sampling rate),
    ``{"poses": [{label, box, keypoints}]}`` and ``{"polylines": [{label, points}]}`` (pixels),
    ``{"qa": [{question, answer[, start, end]}]}`` (offsets: extractive), ``{"summary"?, "sentences"?:
    [{start, end, text}]}`` (written summary / selected key sentences), ``{"translation"}``; video:
    ``{"tracks": [{track, label, boxes: [{frame, t, x, y, w, h}]}]}`` (bbox) and ``{"keyframes": [{frame, t,
    polygons | poses}]}`` (geometry drawn on the task's keyframe images).
    """
    t = annotation_type
    if isinstance(truth.get("keyframes"), list) and size is not None:  # video geometry drawn on keyframes
        return keyframe_results(t, truth["keyframes"], size=size, to_name=to_name) or None
    k = REGISTRY.get(t)
    own = k.code.from_truth if k is not None else None
    if own is None:
        return None
    return own(truth, to_name=to_name, size=size, text=text, rate_hz=rate_hz)


def keyframe_results(annotation_type: str, keyframes: Sequence[Mapping[str, Any]], *, size: tuple[int, int],
                     to_name: str) -> list[dict[str, Any]]:
    """Results of a video truth given per keyframe (``{"keyframes": [{frame, t, polygons | poses}]}``), each
    keyframe's regions tagged with its position in the task's keyframe list."""
    out: list[dict[str, Any]] = []
    for i, kf in enumerate(keyframes):
        one = {k: v for k, v in kf.items() if k not in ("frame", "t")}
        out += on_keyframe(from_truth(annotation_type, one, to_name=to_name, size=size) or [], i)
    return out
