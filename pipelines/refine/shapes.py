"""Image geometry converters: polygons, polylines, keypoints with visibility, brush masks (Label Studio RLE).

Label Studio stores image regions in percent of the original image; records carry pixels (top-left origin).
Brush masks arrive in Label Studio's bit-packed RLE of an RGBA buffer (thi.ng rle-pack); records carry a plain
run-length encoding of the binary mask, row-major, counts alternating and starting with background (the first
count may be 0), so any reader can decode it with a cumulative sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.refine.base import (
    EDGE_TOLERANCE_PX,
    InvalidLabel,
    MediaFacts,
    check_label,
    image_size,
    one_label,
    percent_point,
    regions,
)
from pipelines.spec.models import DatasetSpec, Keypoints, Polygon, Polyline

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
        if "item_index" in r:  # drawn on a video keyframe (see pipelines.refine.video)
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
    from pipelines.refine.video import keyframe_poses, on_keyframes

    if on_keyframes(result):  # drawn on a video's keyframes
        return keyframe_poses(spec, result, media)
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


# ------------------------------------------------------------------------------------------ brush masks


class _Bits:
    """Big-endian bit reader over Label Studio's packed RLE bytes."""

    def __init__(self, data: list[int]) -> None:
        try:
            self.bits = np.unpackbits(np.asarray(data, dtype=np.uint8))
        except (ValueError, OverflowError, TypeError) as exc:
            raise InvalidLabel("label.mask_invalid", f"RLE bytes are not 0-255: {exc}") from None
        self.pos = 0

    def read(self, n: int) -> int:
        if self.pos + n > len(self.bits):
            raise InvalidLabel("label.mask_invalid", "RLE stream ends early")
        chunk = self.bits[self.pos:self.pos + n]
        self.pos += n
        value = 0
        for b in chunk:
            value = (value << 1) | int(b)
        return value


def decode_ls_rle(rle: list[int]) -> npt.NDArray[np.uint8]:
    """Label Studio brush RLE (thi.ng rle-pack) -> the flat uint8 buffer it encodes (RGBA for brushes)."""
    bits = _Bits(rle)
    num = bits.read(32)
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    out = np.zeros(num, dtype=np.uint8)
    i = 0
    while i < num:
        repeat = bits.read(1)
        j = i + 1 + bits.read(sizes[bits.read(2)])
        if j > num:
            raise InvalidLabel("label.mask_invalid", "an RLE run beyond the buffer")
        if repeat:
            out[i:j] = bits.read(word)
        else:
            for k in range(i, j):
                out[k] = bits.read(word)
        i = j
    return out


def mask_to_rle(mask: npt.NDArray[Any]) -> list[int]:
    """A binary mask (H x W) as row-major run lengths, starting with a (possibly empty) background run."""
    flat = np.asarray(mask, dtype=bool).ravel()
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], changes, [flat.size])))
    counts = [int(c) for c in runs]
    return [0, *counts] if flat[0] else counts


def rle_to_mask(rle: list[int], width: int, height: int) -> npt.NDArray[np.bool_]:
    """The binary mask (H x W) of a canonical run-length list."""
    values = np.zeros(len(rle), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, np.asarray(rle, dtype=np.int64))
    if flat.size != width * height:
        raise ValueError(f"RLE covers {flat.size} pixels, a {width}x{height} mask has {width * height}")
    return flat.reshape(height, width)


def segmentation(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``BrushLabels name="label"``: one mask per class (strokes of one class merged), canonical RLE."""
    per_label: dict[str, npt.NDArray[np.bool_]] = {}
    for r in regions(result, "brushlabels", "label"):
        label = one_label(spec, r, "brushlabels")
        w_img, h_img = image_size(r, media)
        w, h = round(w_img), round(h_img)
        v = r.get("value") or {}
        if v.get("format", "rle") != "rle" or not v.get("rle"):
            raise InvalidLabel("label.mask_invalid", f"{label}: brush without RLE data")
        flat = decode_ls_rle(list(v["rle"]))
        if flat.size != w * h * 4:
            raise InvalidLabel("label.size_mismatch", f"{label}: mask of {flat.size // 4} pixels on a {w}x{h} image")
        painted = flat[3::4].reshape(h, w) > 0  # the alpha channel carries the stroke
        per_label[label] = per_label[label] | painted if label in per_label else painted
    masks = []
    for label in [lab for lab in spec.labels if lab in per_label]:
        m = per_label[label]
        if not m.any():
            raise InvalidLabel("label.empty", f"{label}: a mask without painted pixels")
        masks.append({"label": check_label(spec, label), "rle": mask_to_rle(m), "width": int(m.shape[1]),
                      "height": int(m.shape[0])})
    return {"masks": masks}
