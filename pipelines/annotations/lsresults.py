"""Label Studio result regions for the control names of the annotation types' config builders.

Predictions (pre-annotations) and the annotator simulator build results only through these functions
(``pipelines.label.results`` re-exports them), so what they submit is exactly what a human using the generated
config would produce.
Coordinates: ``truth`` and records use pixels (top-left origin); Label Studio image regions use percent.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any


def region_id(*parts: object) -> str:
    """A short, stable region id (Label Studio ties per-region controls together by ``id``)."""
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:10]


def choices(labels: Sequence[str], *, to_name: str, from_name: str = "label") -> dict[str, Any]:
    """A ``Choices`` answer (one label for classification, several for multi_label)."""
    return {"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": list(labels)}}


def rectangle(
    *,
    label: str,
    x: float,
    y: float,
    w: float,
    h: float,
    image_width: int,
    image_height: int,
    to_name: str = "image",
    from_name: str = "label",
    rid: str | None = None,
) -> dict[str, Any]:
    """A ``RectangleLabels`` region from a pixel box, clipped to the image."""
    x0 = min(max(x, 0.0), float(image_width))
    y0 = min(max(y, 0.0), float(image_height))
    x1 = min(max(x + w, 0.0), float(image_width))
    y1 = min(max(y + h, 0.0), float(image_height))
    return {
        "id": rid or region_id(label, x, y, w, h),
        "from_name": from_name,
        "to_name": to_name,
        "type": "rectanglelabels",
        "original_width": image_width,
        "original_height": image_height,
        "image_rotation": 0,
        "value": {
            "x": 100.0 * x0 / image_width,
            "y": 100.0 * y0 / image_height,
            "width": 100.0 * (x1 - x0) / image_width,
            "height": 100.0 * (y1 - y0) / image_height,
            "rotation": 0,
            "rectanglelabels": [label],
        },
    }


def rectangle_pixels(region: dict[str, Any]) -> dict[str, Any]:
    """The pixel box (``{"label", "x", "y", "w", "h"}``) of a ``rectanglelabels`` region."""
    v = region["value"]
    iw, ih = float(region["original_width"]), float(region["original_height"])
    return {
        "label": v["rectanglelabels"][0],
        "x": v["x"] * iw / 100.0,
        "y": v["y"] * ih / 100.0,
        "w": v["width"] * iw / 100.0,
        "h": v["height"] * ih / 100.0,
    }


def transcript(
    text: str,
    *,
    segments: Sequence[dict[str, Any]] = (),
    to_name: str = "audio",
) -> list[dict[str, Any]]:
    """A whole-item ``TextArea name="transcript"``, plus a ``segment`` region with its ``segment_text``
    (perRegion TextArea sharing the region id) for each ``{"start", "end", "text"}`` segment, and its ``speaker``
    (perRegion Choices, same id) when the segment has a ``speaker``."""
    out: list[dict[str, Any]] = [
        {"from_name": "transcript", "to_name": to_name, "type": "textarea", "value": {"text": [text]}}
    ]
    for i, seg in enumerate(segments):
        rid = region_id("segment", i, seg["start"], seg["end"])
        span = {"start": float(seg["start"]), "end": float(seg["end"]), "channel": 0}
        out.append({"id": rid, "from_name": "segment", "to_name": to_name, "type": "labels",
                    "value": {**span, "labels": ["speech"]}})
        out.append({"id": rid, "from_name": "segment_text", "to_name": to_name, "type": "textarea",
                    "value": {**span, "text": [str(seg["text"])]}})
        if seg.get("speaker"):
            out.append({"id": rid, "from_name": "speaker", "to_name": to_name, "type": "choices",
                        "value": {**span, "choices": [str(seg["speaker"])]}})
    return out


def polygon(
    *,
    label: str,
    points: Sequence[tuple[float, float]],
    image_width: int,
    image_height: int,
    to_name: str = "image",
    from_name: str = "label",
    rid: str | None = None,
) -> dict[str, Any]:
    """A ``PolygonLabels`` region from pixel points."""
    pct = [[100.0 * x / image_width, 100.0 * y / image_height] for x, y in points]
    return {"id": rid or region_id(label, *(c for p in points for c in p)), "from_name": from_name,
            "to_name": to_name, "type": "polygonlabels", "original_width": image_width,
            "original_height": image_height, "image_rotation": 0,
            "value": {"points": pct, "closed": True, "polygonlabels": [label]}}


def brush(
    *,
    label: str,
    mask: Any,
    to_name: str = "image",
    from_name: str = "label",
    rid: str | None = None,
) -> dict[str, Any]:
    """A ``BrushLabels`` region from a boolean mask (H x W), in Label Studio's RLE of an RGBA buffer."""
    import numpy as np
    from label_studio_sdk.converter.brush import mask2rle

    m = np.asarray(mask, dtype=bool)
    h, w = m.shape
    rle = [int(v) for v in mask2rle(m.astype(np.uint8) * 255)]  # type: ignore[no-untyped-call]
    return {"id": rid or region_id(label, "brush", int(m.sum())), "from_name": from_name, "to_name": to_name,
            "type": "brushlabels", "original_width": w, "original_height": h, "image_rotation": 0,
            "value": {"format": "rle", "rle": rle, "brushlabels": [label]}}


def polygon_masks(polygons: Sequence[Mapping[str, Any]], size: tuple[int, int]) -> dict[str, Any]:
    """One boolean mask per label: the union of its polygons, filled the way the synthetic source paints them."""
    import numpy as np
    from PIL import Image, ImageDraw

    w, h = size
    canvases: dict[str, Any] = {}
    for p in polygons:
        label = str(p["label"])
        if label not in canvases:
            canvases[label] = Image.new("L", (w, h), 0)
        ImageDraw.Draw(canvases[label]).polygon([(float(q["x"]), float(q["y"])) for q in p["points"]], fill=255)
    return {label: np.asarray(c) > 0 for label, c in canvases.items()}


def keypoint(*, name: str, x: float, y: float, image_width: int, image_height: int, to_name: str = "image",
             from_name: str = "keypoint", rid: str | None = None) -> dict[str, Any]:
    """A ``KeyPointLabels`` point from pixels (``width`` is the dot size Label Studio draws, in percent)."""
    return {"id": rid or region_id(name, x, y), "from_name": from_name, "to_name": to_name,
            "type": "keypointlabels", "original_width": image_width, "original_height": image_height,
            "image_rotation": 0,
            "value": {"x": 100.0 * x / image_width, "y": 100.0 * y / image_height, "width": 0.5,
                      "keypointlabels": [name]}}


def poses(items: Sequence[Mapping[str, Any]], *, size: tuple[int, int], to_name: str = "image",
          tag: str = "truth") -> list[dict[str, Any]]:
    """Each pose (``{label, box: {x,y,w,h}, keypoints: [{name, x, y, visible}]}``, pixels) as its object box
    (``RectangleLabels name="label"``) and one ``KeyPointLabels`` point per placed keypoint (``visible`` > 0)."""
    w, h = size
    out: list[dict[str, Any]] = []
    for i, p in enumerate(items):
        b = p["box"]
        out.append(rectangle(label=str(p["label"]), x=float(b["x"]), y=float(b["y"]), w=float(b["w"]),
                             h=float(b["h"]), image_width=w, image_height=h, to_name=to_name,
                             rid=region_id(tag, "box", i)))
        out += [keypoint(name=str(k["name"]), x=float(k["x"]), y=float(k["y"]), image_width=w, image_height=h,
                         to_name=to_name, rid=region_id(tag, i, k["name"]))
                for k in p["keypoints"] if k.get("visible") and k.get("x") is not None]
    return out


def vector(*, label: str, points: Sequence[tuple[float, float]], image_width: int, image_height: int,
           to_name: str = "image", from_name: str = "label", rid: str | None = None) -> dict[str, Any]:
    """An open ``VectorLabels`` polyline from pixel points (Label Studio keeps its vertices as percent dicts)."""
    rid = rid or region_id(label, *(c for p in points for c in p))
    vertices = [{"id": f"{rid}-{i}", "x": 100.0 * x / image_width, "y": 100.0 * y / image_height,
                 "prev": f"{rid}-{i - 1}" if i else None, "isBezier": False}
                for i, (x, y) in enumerate(points)]
    return {"id": rid, "from_name": from_name, "to_name": to_name, "type": "vectorlabels",
            "original_width": image_width, "original_height": image_height, "image_rotation": 0,
            "value": {"vertices": vertices, "closed": False, "vectorlabels": [label]}}


def span(*, label: str, start: int, end: int, text: str, to_name: str = "text",
         from_name: str = "label") -> dict[str, Any]:
    """A ``Labels`` span over text (character offsets, end exclusive)."""
    return {"id": region_id(label, start, end), "from_name": from_name, "to_name": to_name, "type": "labels",
            "value": {"start": start, "end": end, "text": text, "labels": [label]}}


def textarea(texts: Sequence[str], *, from_name: str, to_name: str = "text") -> dict[str, Any]:
    """A whole-item ``TextArea`` answer; several texts where the control allows several submissions."""
    return {"from_name": from_name, "to_name": to_name, "type": "textarea", "value": {"text": [str(t) for t in texts]}}


def qa_pairs(pairs: Sequence[Mapping[str, Any]], *, to_name: str = "text") -> list[dict[str, Any]]:
    """QA controls for ``[{question, answer[, start, end]}]``: the ``question`` texts, an ``answer_span`` for each
    pair that has offsets (extractive; in question order, which is how refine pairs them), the ``answer`` texts."""
    out = [textarea([str(p["question"]) for p in pairs], from_name="question", to_name=to_name)]
    out += [span(label="answer", start=int(p["start"]), end=int(p["end"]), text=str(p["answer"]), to_name=to_name,
                 from_name="answer_span") for p in pairs if p.get("start") is not None]
    out.append(textarea([str(p["answer"]) for p in pairs], from_name="answer", to_name=to_name))
    return out


def summary(*, written: str | None, sentences: Sequence[Mapping[str, Any]] = (), to_name: str = "text"
            ) -> list[dict[str, Any]]:
    """Summary controls: ``summary_span`` selections (``{start, end, text}``) and/or the written ``summary``."""
    out = [span(label="summary", start=int(x["start"]), end=int(x["end"]), text=str(x["text"]), to_name=to_name,
                from_name="summary_span") for x in sentences]
    if written is not None:
        out.append(textarea([written], from_name="summary", to_name=to_name))
    return out


# Label Studio's video player counts frames at 24 fps when the config sets no frameRate (types/timed.py reads it so).
LS_VIDEO_FPS = 24.0


def time_range(*, label: str, start: float, end: float, to_name: str, from_name: str = "label") -> dict[str, Any]:
    """A labelled time range: ``TimelineLabels`` frame ranges on video, ``Labels`` seconds on audio."""
    if to_name == "video":
        first = math.floor(start * LS_VIDEO_FPS) + 1  # 1-based, inclusive; never before ``start``
        last = max(first, math.floor(end * LS_VIDEO_FPS))
        return {"id": region_id(label, first, last), "from_name": from_name, "to_name": to_name,
                "type": "timelinelabels",
                "value": {"ranges": [{"start": first, "end": last}], "timelinelabels": [label]}}
    return {"id": region_id(label, start, end), "from_name": from_name, "to_name": to_name, "type": "labels",
            "value": {"start": round(start, 4), "end": round(end, 4), "labels": [label]}}


def series_range(*, label: str, start_s: float, end_s: float, rate_hz: float, to_name: str = "ts",
                 from_name: str = "label") -> dict[str, Any]:
    """A ``TimeSeriesLabels`` range over a series without a time column: its x axis is the row index."""
    a, b = start_s * rate_hz, end_s * rate_hz
    return {"id": region_id(label, a, b), "from_name": from_name, "to_name": to_name, "type": "timeserieslabels",
            "value": {"start": a, "end": b, "instant": False, "timeserieslabels": [label]}}


def sampling_hz(spec: Any) -> float | None:
    """A time-series spec's sampling rate (what turns seconds into the row index Label Studio's x axis counts)."""
    return getattr(spec.modality, "sampling_hz", None) if spec.modality.kind == "timeseries" else None


def ls_frame(t: float) -> int:
    """Label Studio's 1-based frame number of second ``t`` (its player counts ``LS_VIDEO_FPS`` frames a second)."""
    return math.floor(t * LS_VIDEO_FPS + 1e-6) + 1


def video_track(*, label: str, boxes: Sequence[Mapping[str, Any]], size: tuple[int, int], to_name: str = "video",
                from_name: str = "box", rid: str | None = None, ends: bool = False) -> dict[str, Any]:
    """One tracked object as a ``VideoRectangle`` region (its label from the ``Labels`` control sits in
    ``value.labels``): a ``sequence`` of keyframes ``{frame, enabled, rotation, x, y, width, height, time}``
    (percent of the frame), from pixel boxes ``{t, x, y, w, h}`` (``t`` in seconds). Label Studio interpolates
    between keyframes; with ``ends`` the track stops at its last keyframe (``enabled: false``)."""
    w, h = size
    seq = []
    for k, b in enumerate(sorted(boxes, key=lambda b: float(b["t"]))):
        x0, y0 = min(max(float(b["x"]), 0.0), float(w)), min(max(float(b["y"]), 0.0), float(h))
        x1, y1 = min(float(b["x"]) + float(b["w"]), float(w)), min(float(b["y"]) + float(b["h"]), float(h))
        seq.append({"frame": ls_frame(float(b["t"])), "enabled": not (ends and k == len(boxes) - 1),
                    "rotation": 0, "x": 100.0 * x0 / w, "y": 100.0 * y0 / h,
                    "width": 100.0 * max(x1 - x0, 0.0) / w, "height": 100.0 * max(y1 - y0, 0.0) / h,
                    "time": round(float(b["t"]), 4)})
    return {"id": rid or region_id("track", label, *(s["frame"] for s in seq)), "from_name": from_name,
            "to_name": to_name, "type": "videorectangle", "origin": "manual",
            "value": {"sequence": seq, "labels": [label]}}


def video_tracks(tracks: Sequence[Mapping[str, Any]], *, size: tuple[int, int], to_name: str = "video",
                 tag: str = "truth") -> list[dict[str, Any]]:
    """``VideoRectangle`` regions of the video source's truth ``{"tracks": [{track, label, boxes}]}``."""
    return [video_track(label=str(tr["label"]), boxes=tr["boxes"], size=size, to_name=to_name,
                        rid=region_id(tag, "track", tr.get("track", i)))
            for i, tr in enumerate(tracks) if tr["boxes"]]


def on_keyframe(regions: Sequence[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    """Regions drawn on keyframe ``index`` of an ``Image valueList`` (Label Studio marks them ``item_index``)."""
    return [{**r, "id": f"{r['id']}-{index}", "item_index": index} for r in regions]
