"""Agreement between annotators of one item, per annotation type, and the consensus value built from it.

Every type has a similarity in [0, 1] between two annotators' canonical values. Categorical types vote
(majority; per-label majority for multi-label); structured types take the medoid: the annotation that agrees
most with the others, so the consensus is always something a person actually drew. The item's agreement is
the mean pairwise similarity (what ``qc_agreement`` records and validate compares with ``quality.agreement``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

# Matches count when two regions overlap at least this much (IoU on boxes and time ranges): the usual 0.5.
MATCH_IOU = 0.5
# OKS falloff constant for keypoints when the spec gives none (COCO uses 0.025-0.107 per joint).
OKS_KAPPA = 0.1


@dataclass(frozen=True)
class Consensus:
    value: dict[str, Any]
    method: str
    agreement: float | None


# ---------------------------------------------------------------------------------------- similarities


def _box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _matched_f1(a: list[Any], b: list[Any], score: Callable[[Any, Any], float], threshold: float) -> float:
    """Greedy one-to-one matching by score (pairs below ``threshold`` never match); F1 of the matches."""
    if not a and not b:
        return 1.0
    pairs = sorted(((score(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    tp = 0
    for s, i, j in pairs:
        if s < threshold:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            tp += 1
    return 2 * tp / (len(a) + len(b))


def _same(x: dict[str, Any], y: dict[str, Any]) -> bool:
    """Two regions can be one object: same label, and same video frame (None on images)."""
    return bool(x["label"] == y["label"] and x.get("frame") == y.get("frame"))


def _xywh(o: dict[str, Any]) -> tuple[float, float, float, float]:
    return (o["x"], o["y"], o["x"] + o["w"], o["y"] + o["h"])


def box_f1(a: list[dict[str, Any]], b: list[dict[str, Any]], threshold: float = MATCH_IOU) -> float:
    """Greedy IoU-matched F1 between two annotators' boxes (same label, IoU >= threshold)."""
    def score(x: dict[str, Any], y: dict[str, Any]) -> float:
        return _box_iou(_xywh(x), _xywh(y)) if _same(x, y) else -1.0
    return _matched_f1(a, b, score, threshold)


def _extent(points: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    xs = [p["x"] for p in points if p.get("x") is not None]
    ys = [p["y"] for p in points if p.get("y") is not None]
    if not xs:
        return (0.0, 0.0, 0.0, 0.0)
    return (min(xs), min(ys), max(xs), max(ys))


def shape_f1(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float:
    """Polygons/polylines matched by the IoU of their extents (same label); F1 of the matches.

    A line's extent can be degenerate (horizontal lane): it is padded by 1 px so IoU stays defined.
    """
    def padded(s: dict[str, Any]) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = _extent(s["points"])
        return (x0 - 1, y0 - 1, x1 + 1, y1 + 1)

    def score(x: dict[str, Any], y: dict[str, Any]) -> float:
        return _box_iou(padded(x), padded(y)) if _same(x, y) else -1.0
    return _matched_f1(a, b, score, MATCH_IOU)


def _oks(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Object keypoint similarity of two poses of one object (keypoints visible in both)."""
    pa = {k["name"]: k for k in a["keypoints"] if k["visible"]}
    pb = {k["name"]: k for k in b["keypoints"] if k["visible"]}
    shared = pa.keys() & pb.keys()
    if not shared:
        return 1.0 if not pa and not pb else 0.0
    x0, y0, x1, y1 = _extent([*pa.values(), *pb.values()])
    scale2 = max((x1 - x0) * (y1 - y0), 1.0)
    sims = [math.exp(-((pa[n]["x"] - pb[n]["x"]) ** 2 + (pa[n]["y"] - pb[n]["y"]) ** 2) / (2 * scale2 * OKS_KAPPA**2))
            for n in shared]
    # A keypoint one annotator placed and the other did not counts as a miss.
    return sum(sims) / len(pa.keys() | pb.keys())


def pose_f1(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float:
    def score(x: dict[str, Any], y: dict[str, Any]) -> float:
        return _oks(x, y) if _same(x, y) else -1.0
    return _matched_f1(a, b, score, MATCH_IOU)


def mask_iou(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float:
    """Mean IoU over the classes either annotator painted."""
    from pipelines.refine.shapes import rle_to_mask

    ma = {m["label"]: m for m in a}
    mb = {m["label"]: m for m in b}
    labels = ma.keys() | mb.keys()
    if not labels:
        return 1.0
    ious = []
    for lab in labels:
        if lab not in ma or lab not in mb:
            ious.append(0.0)
            continue
        x = rle_to_mask(ma[lab]["rle"], ma[lab]["width"], ma[lab]["height"])
        y = rle_to_mask(mb[lab]["rle"], mb[lab]["width"], mb[lab]["height"])
        union = int(np.logical_or(x, y).sum())
        ious.append(int(np.logical_and(x, y).sum()) / union if union else 1.0)
    return sum(ious) / len(ious)


def span_f1(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float:
    """Exact-match F1 of entity spans (label, start, end), as NER is scored."""
    sa = Counter((e["label"], e["start"], e["end"]) for e in a)
    sb = Counter((e["label"], e["start"], e["end"]) for e in b)
    if not sa and not sb:
        return 1.0
    tp = sum((sa & sb).values())
    return 2 * tp / (sum(sa.values()) + sum(sb.values()))


def event_f1(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float:
    """Events matched by temporal IoU >= 0.5 (same label); F1 of the matches."""
    def score(x: dict[str, Any], y: dict[str, Any]) -> float:
        if x["label"] != y["label"]:
            return -1.0
        inter = max(0.0, min(x["end"], y["end"]) - max(x["start"], y["start"]))
        union = max(x["end"], y["end"]) - min(x["start"], y["start"])
        return inter / union if union > 0 else (1.0 if x["start"] == y["start"] else 0.0)
    return _matched_f1(a, b, score, MATCH_IOU)


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate (spaces ignored, as Korean ASR reports it)."""
    ref, hyp = reference.replace(" ", ""), hypothesis.replace(" ", "")
    if not ref:
        return 0.0 if not hyp else 1.0
    return _levenshtein(ref, hyp) / len(ref)


def text_similarity(a: str | None, b: str | None) -> float:
    """1 - CER, symmetric and floored at 0 (two free texts of one item)."""
    a, b = a or "", b or ""
    if not a and not b:
        return 1.0
    return max(0.0, 1.0 - max(cer(a, b), cer(b, a)))


def qa_similarity(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float:
    if len(a) != len(b):
        return 0.0
    if not a:
        return 1.0
    return sum(text_similarity(x["answer"], y["answer"]) for x, y in zip(a, b, strict=True)) / len(a)


def jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


Similarity = Callable[[dict[str, Any], dict[str, Any]], float]
SIMILARITY: dict[str, tuple[str, Similarity]] = {
    "bbox": ("medoid_box_f1", lambda x, y: box_f1(x["objects"], y["objects"])),
    "polygon": ("medoid_shape_f1", lambda x, y: shape_f1(x["polygons"], y["polygons"])),
    "polyline": ("medoid_shape_f1", lambda x, y: shape_f1(x["polylines"], y["polylines"])),
    "keypoints": ("medoid_oks", lambda x, y: pose_f1(x["poses"], y["poses"])),
    "segmentation": ("medoid_mask_iou", lambda x, y: mask_iou(x["masks"], y["masks"])),
    "transcription": ("best_agreeing_transcript", lambda x, y: max(0.0, 1 - cer(x["transcript"], y["transcript"]))),
    "ner": ("medoid_span_f1", lambda x, y: span_f1(x["entities"], y["entities"])),
    "qa": ("medoid_answer_cer", lambda x, y: qa_similarity(x["qa"], y["qa"])),
    "summarisation": ("medoid_cer", lambda x, y: text_similarity(x["summary"], y["summary"])),
    "translation": ("medoid_cer", lambda x, y: text_similarity(x["translation"], y["translation"])),
    "temporal_events": ("medoid_event_f1", lambda x, y: event_f1(x["events"], y["events"])),
    "timeseries_labels": ("medoid_event_f1", lambda x, y: event_f1(x["events"], y["events"])),
}


def _vote(values: list[dict[str, Any]], key: str) -> Consensus:
    n = len(values)
    counts = Counter(v[key] for v in values)
    (top, k), *rest = counts.most_common()
    if rest and rest[0][1] == k:  # a tie: no majority, the first annotator's answer stands, flagged
        return Consensus(values[0], "tie_first", k / n)
    winner = next(v for v in values if v[key] == top)
    return Consensus({**winner, key: top}, "majority", k / n)


def _multi_label(values: list[dict[str, Any]]) -> Consensus:
    n = len(values)
    counts = Counter(lab for v in values for lab in set(v["labels"]))
    order = [lab for v in values for lab in v["labels"]]
    chosen = [lab for lab in dict.fromkeys(order) if counts[lab] * 2 > n]
    pairs = list(combinations(values, 2))
    agreement = sum(jaccard(x["labels"], y["labels"]) for x, y in pairs) / len(pairs)
    return Consensus({"labels": chosen}, "label_majority", agreement)


def consensus(annotation_type: str, values: list[dict[str, Any]]) -> Consensus:
    """One canonical value from one or more annotators' values of the same item."""
    if len(values) == 1:
        return Consensus(values[0], "single", None)
    if annotation_type == "classification":
        return _vote(values, "label")
    if annotation_type == "dialogue_intent":
        return _vote(values, "intent")
    if annotation_type == "multi_label":
        return _multi_label(values)
    if annotation_type not in SIMILARITY:
        return Consensus(values[0], "first", None)
    method, sim = SIMILARITY[annotation_type]
    n = len(values)
    matrix = [[1.0] * n for _ in range(n)]
    for i, j in combinations(range(n), 2):
        matrix[i][j] = matrix[j][i] = sim(values[i], values[j])
    scores = [sum(matrix[i][j] for j in range(n) if j != i) / (n - 1) for i in range(n)]
    best = max(range(n), key=lambda i: scores[i])
    return Consensus(values[best], method, sum(scores) / n)
