"""Pre-annotations computed offline, in batches, without downloaded weights.

One predictor per annotation type in :data:`PREDICTORS`. A predictor returns, for each item, a Label Studio
prediction (``{"model_version", "score", "result"}``) or ``None`` when it has nothing honest to offer: a
missing pre-annotation costs an annotator a few seconds, a fake one biases every label that follows it.
Types without a predictor (transcription, for now) get no predictions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.label import results
from pipelines.label.tasks import target_kind
from pipelines.spec.models import BBox, DatasetSpec
from pipelines.storage.store import ObjectStore

KEYWORD_VERSION = "keyword-v1"
CONTOURS_VERSION = "contours-v1"


@dataclass(frozen=True)
class PredictItem:
    """What a predictor may look at: the de-identified text or media of one item."""

    item_id: str
    text: str | None = None
    media_key: str | None = None


Prediction = dict[str, Any]
Predictor = Callable[[DatasetSpec, ObjectStore, Sequence[PredictItem]], list[Prediction | None]]


# ----------------------------------------------------------------------------------------- keywords

_WORD_SPLIT = re.compile(r"[\s_/,.;:()\[\]{}'\"-]+")


def _label_words(label: str) -> set[str]:
    """The label itself and its parts of two or more characters (``"교통 사고"`` -> 교통 사고, 교통, 사고)."""
    words = {label.casefold()}
    words.update(p.casefold() for p in _WORD_SPLIT.split(label) if len(p) >= 2)
    return words


def keyword_scores(text: str, labels: Sequence[str]) -> dict[str, int]:
    """How often each label's words occur in ``text`` (case-insensitive substring counts)."""
    folded = text.casefold()
    return {lab: sum(folded.count(w) for w in _label_words(lab)) for lab in labels}


def _keyword(spec: DatasetSpec, store: ObjectStore, items: Sequence[PredictItem]) -> list[Prediction | None]:
    to = target_kind(spec)
    if to != "text":
        return [None] * len(items)  # no offline model for image/audio classes
    multi = spec.annotation.type == "multi_label"
    out: list[Prediction | None] = []
    for it in items:
        counts = keyword_scores(it.text or "", spec.labels)
        total = sum(counts.values())
        if total == 0:
            out.append(None)
            continue
        if multi:
            chosen = [lab for lab in spec.labels if counts[lab] > 0]
            score = sum(counts[lab] for lab in chosen) / total
        else:
            best = max(spec.labels, key=lambda lab: counts[lab])  # ties: the first label in spec order
            chosen = [best]
            score = counts[best] / total
        name = "labels" if multi else "label"
        out.append({"model_version": KEYWORD_VERSION, "score": round(score, 4),
                    "result": [results.choices(chosen, to_name=to, from_name=name)]})
    return out


# ----------------------------------------------------------------------------------------- contours

_DIFF_THRESHOLD = 30  # max channel distance from the background colour that counts as "object"


Box = tuple[int, int, int, int, float]


def detect_boxes(data: bytes, *, min_box_px: int = 4, max_objects: int = 200) -> tuple[int, int, list[Box]]:
    """Objects on a plain background, by contours: ``(width, height, [(x, y, w, h, fill), ...])``.

    The background colour is the median of the border pixels; pixels far from it are foreground.
    ``fill`` is the share of foreground pixels in the box, a cheap confidence (a drawn shape fills its
    box, noise does not).

    Raises:
        ValueError: if the bytes are not an image OpenCV can decode.
    """
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a decodable image")
    h, w = img.shape[:2]
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(np.int16)
    bg = np.median(border, axis=0)
    diff = np.abs(img.astype(np.int16) - bg).max(axis=2)
    mask = (diff > _DIFF_THRESHOLD).astype(np.uint8) * 255
    # Opening removes speckle noise (JPEG artefacts, synthetic noise) before contours are traced.
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[Box] = []
    for c in contours:
        x, y, bw, bh = cv2.boundingRect(c)
        if bw < min_box_px or bh < min_box_px:
            continue
        fill = float(np.count_nonzero(mask[y : y + bh, x : x + bw])) / float(bw * bh)
        boxes.append((int(x), int(y), int(bw), int(bh), min(max(fill, 0.0), 1.0)))
    boxes.sort(key=lambda b: b[2] * b[3], reverse=True)
    return int(w), int(h), boxes[:max_objects]


def _default_label(spec: DatasetSpec) -> str:
    """The class a class-agnostic detector assigns: the most planned label, else the first one."""
    shares = spec.planned_shares.get("label")
    if shares:
        return max(spec.labels, key=lambda lab: shares.get(lab, 0.0))
    return spec.labels[0]


def _contours(spec: DatasetSpec, store: ObjectStore, items: Sequence[PredictItem]) -> list[Prediction | None]:
    a = spec.annotation
    assert isinstance(a, BBox)
    if target_kind(spec) != "image":
        return [None] * len(items)
    label = _default_label(spec)
    out: list[Prediction | None] = []
    for it in items:
        if not it.media_key:
            out.append(None)
            continue
        try:
            w, h, boxes = detect_boxes(store.read_bytes(it.media_key), min_box_px=a.min_box_px,
                                       max_objects=a.max_objects)
        except ValueError:
            out.append(None)
            continue
        if not boxes:
            out.append(None)
            continue
        regions = [results.rectangle(label=label, x=x, y=y, w=bw, h=bh, image_width=w, image_height=h,
                                     rid=results.region_id(it.item_id, i))
                   for i, (x, y, bw, bh, _) in enumerate(boxes)]
        score = sum(b[4] for b in boxes) / len(boxes)
        out.append({"model_version": CONTOURS_VERSION, "score": round(score, 4), "result": regions})
    return out


# Annotation type -> predictor. Types not listed get no pre-annotations.
PREDICTORS: dict[str, Predictor] = {
    "classification": _keyword,
    "multi_label": _keyword,
    "bbox": _contours,
}


def predict(
    *, spec: DatasetSpec, store: ObjectStore, items: Sequence[PredictItem]
) -> list[Prediction | None]:
    """Pre-annotations for a batch of items (same order); ``None`` where the predictor has none."""
    predictor = PREDICTORS.get(spec.annotation.type)
    if predictor is None or not items:
        return [None] * len(items)
    return predictor(spec, store, items)
