"""Video geometry converters: ``VideoRectangle`` tracks, and poses drawn on a clip's keyframe images.

- Tracks: each ``VideoRectangle`` region (label in ``value.labels``, from the ``Labels name="label"`` control) is
  one tracked object; its ``sequence`` lists keyframes ``{frame, enabled, x, y, width, height, time}`` in percent
  of the frame. Records carry one box per track and keyframe, in pixels, with the track's number, Label Studio's
  1-based ``frame`` (its player counts 24 frames a second unless the config sets ``frameRate``) and ``t`` in
  seconds. Boxes between keyframes are Label Studio's linear interpolation and are not repeated.
- Keyframe geometry (polygons, keypoints): regions carry ``item_index``, the keyframe's position in the task's
  image list (``meta.frames``, in time order); records carry it as ``frame``. Polygons take it in
  :func:`pipelines.refine.shapes.polygon`; poses are converted keyframe by keyframe here, so a keypoint belongs
  to a box of its own keyframe.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pipelines.refine.base import EDGE_TOLERANCE_PX, EDGE_TOLERANCE_S, InvalidLabel, MediaFacts, check_label, regions
from pipelines.refine.timed import LS_VIDEO_FPS


def has_tracks(result: list[dict[str, Any]]) -> bool:
    """Whether an annotation holds video tracks (``VideoRectangle`` regions)."""
    return bool(regions(result, "videorectangle"))


def on_keyframes(result: list[dict[str, Any]]) -> bool:
    """Whether an annotation was drawn on keyframe images (regions with ``item_index``)."""
    return any("item_index" in r for r in result)


def video_bbox(spec: Any, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``VideoRectangle`` tracks as per-keyframe boxes ``{label, x, y, w, h, track, frame, t}`` (pixels)."""
    if not media.width or not media.height:
        raise InvalidLabel("media.no_size", "video bbox item without frame size")
    w_img, h_img = float(media.width), float(media.height)
    tol = EDGE_TOLERANCE_PX
    objects = []
    for track, r in enumerate(regions(result, "videorectangle")):
        v = r.get("value") or {}
        labels = v.get("labels") or []
        if len(labels) != 1:
            raise InvalidLabel("label.empty" if not labels else "label.too_many", f"track with labels {labels}")
        label = check_label(spec, str(labels[0]))
        seq = v.get("sequence") or []
        if not seq:
            raise InvalidLabel("label.track_empty", f"{label}: a track without keyframes")
        for k in seq:
            if abs(float(k.get("rotation") or 0.0)) > 1e-6:
                raise InvalidLabel("label.rotated_box", "rotated boxes are not axis-aligned bboxes")
            x, y = float(k["x"]) * w_img / 100, float(k["y"]) * h_img / 100
            w, h = float(k["width"]) * w_img / 100, float(k["height"]) * h_img / 100
            if w <= 0 or h <= 0 or x < -tol or y < -tol or x + w > w_img + tol or y + h > h_img + tol:
                raise InvalidLabel("label.geometry_outside",
                                   f"{label} frame {k.get('frame')}: box ({x:.1f},{y:.1f},{w:.1f},{h:.1f}) "
                                   f"outside {w_img:g}x{h_img:g}")
            frame = int(k["frame"])
            t = float(k["time"]) if k.get("time") is not None else (frame - 1) / LS_VIDEO_FPS
            if media.duration_s and t > media.duration_s + EDGE_TOLERANCE_S:
                raise InvalidLabel("label.segment_outside", f"{label}: keyframe at {t:.3f} s, the clip is "
                                                            f"{media.duration_s:.3f} s")
            x, y = max(x, 0.0), max(y, 0.0)
            objects.append({"label": label, "x": round(x, 2), "y": round(y, 2), "w": round(min(w, w_img - x), 2),
                            "h": round(min(h, h_img - y), 2), "track": track, "frame": frame, "t": round(t, 4)})
    objects.sort(key=lambda o: (o["frame"], o["track"]))
    return {"objects": objects}


def keyframe_poses(spec: Any, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """Poses keyframe by keyframe (:func:`pipelines.refine.shapes.keypoints` on each), tagged with ``frame``."""
    from pipelines.refine.shapes import keypoints

    by_frame: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in result:
        by_frame[int(r.get("item_index") or 0)].append({k: v for k, v in r.items() if k != "item_index"})
    poses = []
    for frame in sorted(by_frame):
        poses += [{**p, "frame": frame} for p in keypoints(spec, by_frame[frame], media)["poses"]]
    return {"poses": poses}
