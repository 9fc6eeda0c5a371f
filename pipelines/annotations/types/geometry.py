"""Image and video geometry: ``bbox``, ``polygon``, ``polyline``, ``keypoints``.

Label Studio: ``RectangleLabels name="label"`` (boxes; on video a ``Labels name="label"`` set plus
``VideoRectangle name="box"`` tracks), ``PolygonLabels``, ``VectorLabels`` (open polylines), and for keypoints
object boxes plus ``KeyPointLabels name="keypoint"``; polygons and keypoints on video are drawn on the keyframe
images (regions carry ``item_index``). Label Studio stores image regions in percent of the original image; records
carry pixels (top-left origin).

QC: boxes and polygons by IoU-matched F1 (optimal matching, ``scipy``; polygon areas by ``shapely``), consensus by
IoU clustering (clusters supported by a majority; boxes averaged, polygons by their medoid); video tracks: the
best-agreeing annotator's tracks; polylines: F1 over lines matched by the IoU of their buffered shapes; keypoints:
OKS (COCO's object keypoint similarity) over matched objects, consensus = the best-agreeing annotation.

Video converters: each ``VideoRectangle`` region (label in ``value.labels``) is one tracked object; its
``sequence`` lists keyframes ``{frame, enabled, x, y, width, height, time}`` in percent of the frame. Records carry
one box per track and keyframe, in pixels, with the track's number, Label Studio's 1-based ``frame`` (its player
counts 24 frames a second unless the config sets ``frameRate``) and ``t`` in seconds; boxes between keyframes are
Label Studio's interpolation and are not repeated. Keyframe geometry carries ``item_index`` as ``frame``; poses
are converted keyframe by keyframe, so a keypoint belongs to a box of its own keyframe.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

import pipelines.annotations.lsresults as ls
from pipelines.annotations.base import (
    EDGE_TOLERANCE_PX,
    EDGE_TOLERANCE_S,
    InvalidLabel,
    MediaFacts,
    check_label,
    image_size,
    one_label,
    percent_point,
    regions,
)
from pipelines.annotations.code import family
from pipelines.annotations.lsconfig import _el, _image_only, _options
from pipelines.annotations.measures import (
    IOU_MATCH,
    Consensus,
    _label_of,
    _medoid_by,
    _regions,
    matched_f1,
    matched_pairs,
    medoid,
)
from pipelines.annotations.types.timed import LS_VIDEO_FPS
from pipelines.spec.models import BBox, DatasetSpec, Keypoints, Polygon, Polyline

KEYPOINT_SIGMA = 0.05  # COCO per-keypoint sigma, used for every keypoint (the spec names no per-point sigmas)


LINE_BUFFER_PCT = 1.0  # polylines are compared as shapes this wide (percent of the image)


# ------------------------------------------------------------------------------------ Label Studio config


def _bbox(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, BBox)
    if to == "video":
        # Video object tracking: a label set plus VideoRectangle regions.
        _options(_el(view, "Labels", name="label", toName=to), "Label", a.labels)
        _el(view, "VideoRectangle", name="box", toName=to)
        return
    _options(_el(view, "RectangleLabels", name="label", toName=to), "Label", a.labels)


def _polygon(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Polygon)
    _image_only("polygon", to, spec)
    _options(_el(view, "PolygonLabels", name="label", toName=to), "Label", a.labels)


def _polyline(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Polyline)
    _image_only("polyline", to, spec)
    # VectorLabels draws open polylines unless closable; Label Studio has no dedicated polyline tag.
    _options(_el(view, "VectorLabels", name="label", toName=to, closable="false"), "Label", a.labels)


def _keypoints(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Keypoints)
    _image_only("keypoints", to, spec)
    # Objects are boxed with their class; each named keypoint is a KeyPointLabels label.
    _options(_el(view, "RectangleLabels", name="label", toName=to), "Label", a.labels)
    _options(_el(view, "KeyPointLabels", name="keypoint", toName=to, smart="false"), "Label", a.keypoints)


# -------------------------------------------------------------------------------------------------- QC


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in percent of the image (IoU does not change under per-axis scaling); ``frame``: the
    Label Studio frame of a video keyframe (0 on images)."""

    label: str
    x: float
    y: float
    w: float
    h: float
    frame: int = 0


@dataclass(frozen=True)
class Shape:
    """A polygon (closed) or polyline (open) in percent of the image; ``frame`` for keyframe lists."""

    label: str
    points: tuple[tuple[float, float], ...]
    closed: bool
    frame: int = 0


@dataclass(frozen=True)
class Pose:
    """One object's keypoints, in pixels: ``{name: (x, y)}``; ``area`` is its box area (OKS scale)."""

    label: str
    area: float
    points: Mapping[str, tuple[float, float]]
    frame: int = 0  # keyframe index on video


def extract(t: str, result: Sequence[Mapping[str, Any]]) -> Any:
    """Boxes (with video tracks' keyframe boxes), shapes, or poses, in the coordinates QC compares."""
    if t == "bbox":
        return [Box(_label_of(r["value"], "rectanglelabels"), float(r["value"]["x"]), float(r["value"]["y"]),
                    float(r["value"]["width"]), float(r["value"]["height"]))
                for r in _regions(result, "rectanglelabels")] + video_boxes(result)
    if t in ("polygon", "polyline"):
        rtype, key = ("polygonlabels", "polygonlabels") if t == "polygon" else ("vectorlabels", "vectorlabels")
        out: list[Shape] = []
        for r in _regions(result, rtype):
            v = r["value"]
            pts = v.get("points") or [[p["x"], p["y"]] for p in v.get("vertices") or []]
            out.append(Shape(_label_of(v, key), tuple((float(p[0]), float(p[1])) for p in pts), t == "polygon",
                             int(r.get("item_index") or 0)))
        return out
    if t == "keypoints":
        return keyframe_poses(result) if any("item_index" in r for r in result) else _poses(result)
    raise ValueError(f"no QC extractor for annotation type {t!r}")


def _poses(result: Sequence[Mapping[str, Any]]) -> list[Pose]:
    """Objects (boxes) with the keypoints inside them; keypoints outside every box form one object whose
    scale is the image area."""
    boxes = _regions(result, "rectanglelabels", "label")
    kps = _regions(result, "keypointlabels", "keypoint")
    if not boxes and not kps:
        return []

    def px(r: Mapping[str, Any], x: float, y: float) -> tuple[float, float]:
        return x * float(r.get("original_width") or 100) / 100, y * float(r.get("original_height") or 100) / 100

    rects = []
    for b in boxes:
        v = b["value"]
        x0, y0 = px(b, float(v["x"]), float(v["y"]))
        x1, y1 = px(b, float(v["x"]) + float(v["width"]), float(v["y"]) + float(v["height"]))
        rects.append((_label_of(v, "rectanglelabels"), x0, y0, x1, y1))
    members: dict[int, dict[str, tuple[float, float]]] = defaultdict(dict)
    for k in kps:
        x, y = px(k, float(k["value"]["x"]), float(k["value"]["y"]))
        inside = [i for i, (_, x0, y0, x1, y1) in enumerate(rects) if x0 <= x <= x1 and y0 <= y <= y1]
        owner = min(inside, key=lambda i: (rects[i][3] - rects[i][1]) * (rects[i][4] - rects[i][2])) if inside else -1
        members[owner][_label_of(k["value"], "keypointlabels")] = (x, y)
    poses = [Pose(lab, max((x1 - x0) * (y1 - y0), 1.0), members.get(i, {}))
             for i, (lab, x0, y0, x1, y1) in enumerate(rects)]
    if -1 in members:
        k0 = kps[0]
        area = float(k0.get("original_width") or 100) * float(k0.get("original_height") or 100)
        poses.append(Pose("", area, members[-1]))
    return poses


def video_boxes(result: Sequence[Mapping[str, Any]]) -> list[Box]:
    """The keyframe boxes of ``VideoRectangle`` tracks (``enabled: false`` ends a track; its box still counts),
    each with its Label Studio frame; a track's label is its ``value.labels``."""
    out: list[Box] = []
    for r in _regions(result, "videorectangle"):
        v = r.get("value") or {}
        lab = _label_of(v, "labels")
        out += [Box(lab, float(k["x"]), float(k["y"]), float(k["width"]), float(k["height"]), int(k["frame"]))
                for k in v.get("sequence") or []]
    return out


def keyframe_poses(result: Sequence[Mapping[str, Any]]) -> list[Pose]:
    """Poses drawn on a clip's keyframe images: each keyframe's keypoints belong to that keyframe's boxes."""
    by_frame: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for r in result:
        by_frame[int(r.get("item_index") or 0)].append(r)
    return [Pose(p.label, p.area, p.points, k) for k in sorted(by_frame) for p in _poses(by_frame[k])]


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 on different video frames)."""
    if a.frame != b.frame:
        return 0.0
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def _shape_geom(s: Shape) -> Any:
    from shapely.geometry import LineString, Polygon  # type: ignore[import-untyped,import-not-found,unused-ignore]

    if s.closed:
        poly = Polygon(s.points)
        return poly if poly.is_valid else poly.buffer(0)  # self-intersections: the area it encloses
    return LineString(s.points).buffer(LINE_BUFFER_PCT / 2)


def shape_iou(a: Shape, b: Shape) -> float:
    """IoU of two polygons (or of two polylines drawn ``LINE_BUFFER_PCT`` wide); 0 on different keyframes."""
    if a.frame != b.frame or len(a.points) < 2 or len(b.points) < 2:
        return 0.0
    ga, gb = _shape_geom(a), _shape_geom(b)
    union = ga.union(gb).area
    return float(ga.intersection(gb).area / union) if union > 0 else 0.0


def oks(a: Pose, b: Pose, sigma: float = KEYPOINT_SIGMA) -> float:
    """COCO object keypoint similarity of two poses over the keypoints both marked (``b`` is the reference
    scale): mean of exp(-d^2 / (2 s^2 k^2)) with s^2 the object area and k = 2 sigma."""
    common = sorted(set(a.points) & set(b.points))
    if not common:
        return 0.0 if (a.points or b.points) else 1.0
    k2 = (2 * sigma) ** 2
    area = max(b.area, 1.0)
    sims = [math.exp(-((a.points[n][0] - b.points[n][0]) ** 2 + (a.points[n][1] - b.points[n][1]) ** 2)
                     / (2 * area * k2)) for n in common]
    # keypoints only one side marked count as misses
    return sum(sims) / len(set(a.points) | set(b.points))


def pose_agreement(a: Sequence[Pose], b: Sequence[Pose]) -> float:
    """Mean OKS over optimally matched objects; an unmatched object counts 0 (divides by the larger count)."""
    if not a and not b:
        return 1.0
    pairs = matched_pairs(a, b, lambda x, y: (oks(x, y) + oks(y, x)) / 2 if x.frame == y.frame else 0.0, 1e-9)
    return sum(s for _, _, s in pairs) / max(len(a), len(b))


def agreement(t: str, a: Any, b: Any) -> float:
    """Matched-object F1 (boxes, shapes); mean OKS over matched poses."""
    if t == "bbox":
        return matched_f1(a, b, box_iou)
    if t in ("polygon", "polyline"):
        return matched_f1(a, b, shape_iou)
    if t == "keypoints":
        return pose_agreement(a, b)
    raise ValueError(f"no agreement measure for annotation type {t!r}")


def _cluster(t: str, values: Sequence[Sequence[Any]]) -> tuple[list[Any], list[tuple[tuple[int, int], ...]]]:
    """IoU clustering: objects of all annotators grouped greedily (same label, IoU >= IOU_MATCH with the
    cluster's first member, at most one object per annotator); clusters a majority drew are kept.

    Returns the consensus objects and, per object, the (annotation, object index) pairs it stands for.
    """
    sim = box_iou if t == "bbox" else shape_iou
    clusters: list[list[tuple[int, int, Any]]] = []
    for who, objs in enumerate(values):
        for k, o in enumerate(objs):
            best, best_iou = None, IOU_MATCH
            for c in clusters:
                if any(w == who for w, _, _ in c) or c[0][2].label != o.label:
                    continue
                iou = sim(c[0][2], o)
                if iou >= best_iou:
                    best, best_iou = c, iou
            if best is None:
                clusters.append([(who, k, o)])
            else:
                best.append((who, k, o))
    need = len(values) / 2
    out: list[Any] = []
    members: list[tuple[tuple[int, int], ...]] = []
    for c in clusters:
        if len(c) <= need:
            continue
        objs = [o for _, _, o in c]
        if t == "bbox":
            x, y, w, h = (float(np.mean([getattr(o, k) for o in objs])) for k in "xywh")
            out.append(Box(objs[0].label, x, y, w, h, objs[0].frame))
            members.append(tuple((w_, k) for w_, k, _ in c))
        else:
            m = _medoid_by(sim, objs)
            out.append(objs[m])
            members.append(((c[m][0], c[m][1]),))
    return out, members


def consensus(t: str, values: Sequence[Any], agree: float, tracks: bool) -> Consensus:
    """IoU clustering (boxes, shapes); video tracks and poses: the best-agreeing annotation.

    ``tracks``: the boxes are keyframes of video tracks. A track is one object across frames, so the consensus is
    the best-agreeing annotator's tracks (method ``best_agreeing_tracks``); averaging keyframe boxes across
    annotators would break which box belongs to which track.
    """
    if t == "bbox" and tracks:
        m = medoid(partial(agreement, t), values)
        return Consensus(values[m], "best_agreeing_tracks", agree, source=m)
    if t in ("bbox", "polygon", "polyline"):
        objs, members = _cluster(t, values)
        return Consensus(objs, "iou_cluster", agree, members=tuple(members))
    m = medoid(partial(agreement, t), values)
    return Consensus(values[m], "best_agreeing", agree, source=m)


_OBJECT_REGIONS = {"bbox": "rectanglelabels", "polygon": "polygonlabels", "polyline": "vectorlabels"}


def consensus_result(
    t: str, results: Sequence[Sequence[Mapping[str, Any]]], c: Consensus
) -> list[dict[str, Any]] | None:
    """Clustered objects as regions: boxes the averaged rectangles, shapes the clusters' medoid regions."""
    if c.source is not None:
        return [dict(r) for r in results[c.source]]
    if t in _OBJECT_REGIONS:
        out = []
        for obj, group in zip(c.value, c.members, strict=True):
            who, k = group[0]
            region = dict(_regions(results[who], _OBJECT_REGIONS[t])[k])
            if t == "bbox":
                region["value"] = {**region["value"], "x": obj.x, "y": obj.y, "width": obj.w, "height": obj.h}
            out.append(region)
        return out
    raise ValueError(f"no consensus result for annotation type {t!r} (method {c.method})")


# ------------------------------------------------------------------------------------------ converters


def _convert_bbox(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    if has_tracks(result):
        return video_bbox(spec, result, media)
    if not media.width or not media.height:
        raise InvalidLabel("media.no_size", "bbox item without image size")
    objects = []
    for r in regions(result, "rectanglelabels"):
        v = r.get("value", {})
        labels = v.get("rectanglelabels") or []
        if len(labels) != 1:
            raise InvalidLabel("label.empty" if not labels else "label.too_many", f"box with labels {labels}")
        w_img = float(r.get("original_width") or media.width)
        h_img = float(r.get("original_height") or media.height)
        if (int(w_img), int(h_img)) != (media.width, media.height):
            raise InvalidLabel("label.size_mismatch",
                               f"annotated on {w_img:g}x{h_img:g}, media is {media.width}x{media.height}")
        if abs(float(v.get("rotation") or 0.0)) > 1e-6:
            raise InvalidLabel("label.rotated_box", "rotated boxes are not axis-aligned bboxes")
        x, y = float(v["x"]) * w_img / 100, float(v["y"]) * h_img / 100
        w, h = float(v["width"]) * w_img / 100, float(v["height"]) * h_img / 100
        t = EDGE_TOLERANCE_PX
        if w <= 0 or h <= 0 or x < -t or y < -t or x + w > w_img + t or y + h > h_img + t:
            raise InvalidLabel("label.geometry_outside",
                               f"box ({x:.1f},{y:.1f},{w:.1f},{h:.1f}) outside {w_img:g}x{h_img:g}")
        x, y = max(x, 0.0), max(y, 0.0)
        w, h = min(w, w_img - x), min(h, h_img - y)
        objects.append({"label": check_label(spec, labels[0]), "x": round(x, 2), "y": round(y, 2),
                        "w": round(w, 2), "h": round(h, 2)})
    return {"objects": objects}


# COCO's visibility flags: 0 not labelled, 1 labelled but occluded, 2 labelled and visible.
NOT_LABELLED, OCCLUDED, VISIBLE = 0, 1, 2


# Values a per-region ``Choices name="visibility"`` may carry next to a keypoint.
_VISIBILITY_CHOICES = {"visible": VISIBLE, "보임": VISIBLE, "occluded": OCCLUDED, "가림": OCCLUDED,
                       "가려짐": OCCLUDED}


def _shapes(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts, *, rtype: str, key: str,
            min_points: int, closed: bool) -> list[dict[str, Any]]:
    out = []
    for r in regions(result, rtype):
        label = one_label(spec, r, key)
        w_img, h_img = image_size(r, media)
        v = r.get("value") or {}
        if closed:
            raw_points = [(p[0], p[1]) for p in v.get("points") or []]
        else:
            if v.get("closed"):
                raise InvalidLabel("label.closed_polyline", "a closed vector where the spec asks for open polylines")
            raw_points = [(p["x"], p["y"]) for p in v.get("vertices") or []]
        points = [percent_point(x, y, w_img, h_img) for x, y in raw_points]
        distinct = len(set(points))
        if distinct < min_points:
            raise InvalidLabel("label.too_few_points",
                               f"{label}: {distinct} distinct points, the spec needs at least {min_points}")
        shape: dict[str, Any] = {"label": label, "points": [{"x": x, "y": y} for x, y in points]}
        if "item_index" in r:  # drawn on a video keyframe (see the video converters below)
            shape["frame"] = int(r["item_index"])
        out.append(shape)
    return out


def polygon(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``PolygonLabels name="label"``: closed polygons in pixels."""
    a = spec.annotation
    assert isinstance(a, Polygon)
    return {"polygons": _shapes(spec, result, media, rtype="polygonlabels", key="polygonlabels",
                                min_points=a.min_points, closed=True)}


def polyline(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``VectorLabels name="label" closable="false"``: open polylines in pixels (vertices in percent)."""
    a = spec.annotation
    assert isinstance(a, Polyline)
    return {"polylines": _shapes(spec, result, media, rtype="vectorlabels", key="vectorlabels",
                                 min_points=a.min_points, closed=False)}


@dataclass
class _Object:
    label: str
    box: tuple[float, float, float, float]
    points: dict[str, tuple[float, float, int]] = field(default_factory=dict)


def keypoints(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``RectangleLabels name="label"`` boxes the objects; ``KeyPointLabels name="keypoint"`` places their points.

    Each keypoint belongs to the smallest object box that holds it. Every pose lists all of the spec's keypoints
    in the spec's order: the ones not placed have ``visible=0`` and no coordinates; placed ones are visible (2)
    unless a per-region ``visibility`` choice marks them occluded (1).
    """
    a = spec.annotation
    assert isinstance(a, Keypoints)
    if on_keyframes(result):  # drawn on a video's keyframes
        return keyframe_pose_records(spec, result, media)
    boxes: list[_Object] = []
    for r in regions(result, "rectanglelabels", "label"):
        label = one_label(spec, r, "rectanglelabels")
        w_img, h_img = image_size(r, media)
        v = r.get("value") or {}
        x0, y0 = percent_point(v.get("x", 0), v.get("y", 0), w_img, h_img)
        x1, y1 = percent_point(float(v.get("x", 0)) + float(v.get("width", 0)),
                               float(v.get("y", 0)) + float(v.get("height", 0)), w_img, h_img)
        if x1 <= x0 or y1 <= y0:
            raise InvalidLabel("label.geometry_empty", f"{label}: an object box without area")
        boxes.append(_Object(label, (x0, y0, x1, y1)))
    visibility = {r.get("id"): c for r in regions(result, "choices", "visibility")
                  for c in (r.get("value") or {}).get("choices") or []}
    t = EDGE_TOLERANCE_PX
    for r in regions(result, "keypointlabels", "keypoint"):
        name = one_label(spec, r, "keypointlabels", allowed=list(a.keypoints))
        w_img, h_img = image_size(r, media)
        v = r.get("value") or {}
        x, y = percent_point(v.get("x"), v.get("y"), w_img, h_img)
        holders = [b for b in boxes if b.box[0] - t <= x <= b.box[2] + t and b.box[1] - t <= y <= b.box[3] + t]
        if not holders:
            raise InvalidLabel("label.keypoint_orphan", f"keypoint {name!r} at ({x:.1f},{y:.1f}) is in no object box")
        owner = min(holders, key=lambda b: (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]))
        if name in owner.points:
            raise InvalidLabel("label.keypoint_duplicate", f"keypoint {name!r} placed twice on one {owner.label}")
        choice = visibility.get(r.get("id"))
        if choice is not None and str(choice) not in _VISIBILITY_CHOICES:
            raise InvalidLabel("label.unknown_visibility", f"visibility {choice!r} of keypoint {name!r}")
        flag = _VISIBILITY_CHOICES[str(choice)] if choice is not None and a.visibility else VISIBLE
        owner.points[name] = (x, y, flag)
    poses = []
    for b in boxes:
        kps = []
        for name in a.keypoints:
            if name in b.points:
                x, y, flag = b.points[name]
                kps.append({"name": name, "x": x, "y": y, "visible": flag})
            else:
                kps.append({"name": name, "x": None, "y": None, "visible": NOT_LABELLED})
        poses.append({"label": b.label, "keypoints": kps})
    if boxes and not any(b.points for b in boxes):
        raise InvalidLabel("label.empty", "object boxes without any keypoint")
    return {"poses": poses}


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


def keyframe_pose_records(spec: Any, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """Poses keyframe by keyframe (:func:`keypoints` on each), tagged with ``frame``."""
    by_frame: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in result:
        by_frame[int(r.get("item_index") or 0)].append({k: v for k, v in r.items() if k != "item_index"})
    poses = []
    for frame in sorted(by_frame):
        poses += [{**p, "frame": frame} for p in keypoints(spec, by_frame[frame], media)["poses"]]
    return {"poses": poses}


# ----------------------------------------------------------------------------------- reference results


def from_truth(t: str, truth: Mapping[str, Any], *, to_name: str, size: tuple[int, int] | None = None,
               **_media: Any) -> list[dict[str, Any]] | None:
    """``{"objects"}``, ``{"polygons"}``, ``{"poses"}``, ``{"polylines"}`` (pixels); video ``{"tracks"}``."""
    if t == "bbox" and isinstance(truth.get("tracks"), list) and size is not None:
        return ls.video_tracks(truth["tracks"], size=size, to_name=to_name) or None
    if t == "bbox" and isinstance(truth.get("objects"), list) and size is not None:
        return [ls.rectangle(label=str(o["label"]), x=float(o["x"]), y=float(o["y"]), w=float(o["w"]),
                             h=float(o["h"]), image_width=size[0], image_height=size[1], to_name=to_name,
                             rid=ls.region_id("truth", i, o["x"], o["y"]))
                for i, o in enumerate(truth["objects"])]
    if t == "polygon" and isinstance(truth.get("polygons"), list) and size is not None:
        return [ls.polygon(label=str(p["label"]), points=[(float(q["x"]), float(q["y"])) for q in p["points"]],
                           image_width=size[0], image_height=size[1], to_name=to_name,
                           rid=ls.region_id("truth", i))
                for i, p in enumerate(truth["polygons"])]
    if t == "keypoints" and isinstance(truth.get("poses"), list) and size is not None:
        return ls.poses(truth["poses"], size=size, to_name=to_name)
    if t == "polyline" and isinstance(truth.get("polylines"), list) and size is not None:
        return [ls.vector(label=str(ln["label"]), points=[(float(q["x"]), float(q["y"])) for q in ln["points"]],
                          image_width=size[0], image_height=size[1], to_name=to_name,
                          rid=ls.region_id("truth", i))
                for i, ln in enumerate(truth["polylines"])]
    return None


BBOX = family("bbox", build=_bbox, convert=_convert_bbox, extract=extract, agreement=agreement,
              consensus=consensus, consensus_result=consensus_result, from_truth=from_truth)
POLYGON = family("polygon", build=_polygon, convert=polygon, extract=extract, agreement=agreement,
                 consensus=consensus, consensus_result=consensus_result, from_truth=from_truth)
POLYLINE = family("polyline", build=_polyline, convert=polyline, extract=extract, agreement=agreement,
                  consensus=consensus, consensus_result=consensus_result, from_truth=from_truth)
KEYPOINTS = family("keypoints", build=_keypoints, convert=keypoints, extract=extract, agreement=agreement,
                   consensus=consensus, from_truth=from_truth)
