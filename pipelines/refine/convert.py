"""Label Studio results -> canonical label values, one converter per annotation type (a registry).

A converter gets one annotation's result list and the item's media facts and returns the label columns of
``pipelines.storage.records.LABEL_FIELDS`` for that type, or raises ``InvalidLabel`` with a reason code.
The control names each converter reads are those of ``pipelines.label.config.CONTROL_NAMES``; a test checks
the registry against the spec model's annotation types both ways. Refine never computes agreement or consensus:
``label_pull`` writes each item's consensus as Label Studio result regions (``layout.qc``) and a converter turns
that into the released label.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.refine.base import (
    EDGE_TOLERANCE_PX,
    InvalidLabel,
    MediaFacts,
    check_label,
    normalise_text,
    regions,
)
from pipelines.refine.shapes import keypoints, polygon, polyline, segmentation
from pipelines.refine.spans import dialogue_intent, ner, qa, summarisation, translation
from pipelines.refine.timed import temporal_events, timeseries_labels
from pipelines.refine.video import has_tracks, video_bbox
from pipelines.spec.models import SPEAKER_PREFIX, DatasetSpec, MultiLabel, Transcription

__all__ = ["CONVERTERS", "InvalidLabel", "MediaFacts", "normalise_text"]

def _classification(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    choices = [c for r in regions(result, "choices", "label") for c in r.get("value", {}).get("choices", [])]
    if not choices:
        raise InvalidLabel("label.empty", "no choice selected")
    if len(choices) > 1:
        raise InvalidLabel("label.too_many", f"{len(choices)} choices for a single-label item")
    return {"label": check_label(spec, choices[0])}


def _multi_label(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    a = spec.annotation
    assert isinstance(a, MultiLabel)
    picked = [c for r in regions(result, "choices", "labels") for c in r.get("value", {}).get("choices", [])]
    labels = list(dict.fromkeys(check_label(spec, str(c)) for c in picked))
    if not labels and a.min_labels > 0:
        raise InvalidLabel("label.empty", "no label selected")
    # The spec's order, so two annotators who picked the same labels produce the same value.
    return {"labels": [lab for lab in spec.labels if lab in labels]}


def _bbox(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
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


def _transcription(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    # Whole-item text: TextArea "transcript"; time-aligned text: per-region TextArea "segment_text", whose value
    # carries the region's start/end (Label Studio copies them from the paired "segment" Labels region).
    whole = [normalise_text(" ".join(r.get("value", {}).get("text") or []))
             for r in regions(result, "textarea", "transcript")]
    dialects = [c for r in regions(result, "choices", "dialect") for c in r.get("value", {}).get("choices", [])]
    a = spec.annotation
    speakers = _speakers_by_region(result) if isinstance(a, Transcription) and a.speaker_labels else None
    segments: list[dict[str, Any]] = []
    for r in regions(result, "textarea", "segment_text"):
        v = r.get("value", {})
        if "start" not in v or "end" not in v:
            raise InvalidLabel("label.segment_unaligned", f"segment text without a time range: {v.get('text')}")
        start, end = float(v["start"]), float(v["end"])
        if start < 0 or end <= start or (media.duration_s and end > media.duration_s + 0.05):
            raise InvalidLabel("label.segment_outside", f"segment {start:.2f}-{end:.2f}s")
        speaker = None
        if speakers is not None:
            assert isinstance(a, Transcription)
            said = speakers.get(str(r.get("id"))) or speakers.get(_span_key(start, end)) or []
            if not said:
                raise InvalidLabel("label.speaker_missing", f"segment {start:.2f}-{end:.2f}s names no speaker")
            if len(said) > 1:
                raise InvalidLabel("label.too_many", f"{len(said)} speakers on segment {start:.2f}-{end:.2f}s")
            speaker = check_label(spec, said[0], allowed=a.speakers)
        segments.append({"start": start, "end": end, "text": normalise_text(" ".join(v.get("text") or [])),
                         "speaker": speaker, "dialect": dialects[0] if dialects else None})
    segments.sort(key=lambda s: s["start"])
    if speakers is not None:
        _number_speakers(segments)
    transcript = " ".join(t for t in whole if t) or " ".join(s["text"] for s in segments)
    transcript = normalise_text(transcript)
    if not transcript:
        raise InvalidLabel("label.empty", "empty transcript")
    return {"transcript": transcript, "segments": segments}


def _span_key(start: float, end: float) -> str:
    return f"{start:.3f}-{end:.3f}"


def _speakers_by_region(result: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The per-region ``speaker`` choices, by region id and by time span (a per-region result shares its region's
    id and copies its start/end)."""
    out: dict[str, list[str]] = {}
    for r in regions(result, "choices", "speaker"):
        v = r.get("value") or {}
        said = [str(c) for c in v.get("choices") or []]
        if r.get("id") is not None:
            out[str(r["id"])] = said
        if "start" in v and "end" in v:
            out.setdefault(_span_key(float(v["start"]), float(v["end"])), said)
    return out


def _number_speakers(segments: list[dict[str, Any]]) -> None:
    """Renumber an item's speakers by first appearance (the first voice heard is 화자1), so that the same
    conversation reads the same whichever numbers its annotator picked; segments are in time order."""
    order: dict[str, str] = {}
    for seg in segments:
        name = order.setdefault(seg["speaker"], f"{SPEAKER_PREFIX}{len(order) + 1}")
        seg["speaker"] = name


Converter = Callable[[DatasetSpec, list[dict[str, Any]], MediaFacts], dict[str, Any]]
# Every annotation type of the spec model has a converter; a test checks both ways against ANNOTATION_TYPES.
CONVERTERS: dict[str, Converter] = {
    "classification": _classification,
    "multi_label": _multi_label,
    "bbox": _bbox,
    "polygon": polygon,
    "polyline": polyline,
    "keypoints": keypoints,
    "segmentation": segmentation,
    "transcription": _transcription,
    "ner": ner,
    "qa": qa,
    "summarisation": summarisation,
    "translation": translation,
    "dialogue_intent": dialogue_intent,
    "temporal_events": temporal_events,
    "timeseries_labels": timeseries_labels,
}
