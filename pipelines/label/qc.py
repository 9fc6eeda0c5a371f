"""Quality control over pulled annotations: agreement, consensus, gold correctness, per-annotator scorecards.

Label Studio Community has none of these (they are Enterprise features), so they are computed here from the
exported result regions, per annotation type:

- labels (classification, dialogue intent): Krippendorff's alpha (``krippendorff``, nominal) and Fleiss' kappa
  (``statsmodels``) over the overlap items; consensus by strict majority;
- multi-label: Krippendorff's alpha per label (binary), averaged; consensus = labels chosen by a majority;
- boxes and polygons: IoU-matched F1 (optimal matching, ``scipy``; polygon areas by ``shapely``); consensus by
  IoU clustering (clusters supported by a majority; boxes averaged, polygons by their medoid);
- polylines: F1 over lines matched by the IoU of their buffered shapes;
- keypoints: OKS (COCO's object keypoint similarity) over matched objects; consensus = best-agreeing annotation;
- brush masks: mean per-class mask IoU; consensus = best-agreeing annotation;
- transcripts and free text (QA, summaries, translations): CER/WER (``jiwer``; agreement = 1 - CER);
  consensus = the best-agreeing text (the medoid); with speaker labels, agreement = (1 - CER) x the share of
  time-matched segments whose speakers agree (names mapped one-to-one: they are generic), and each segment of the
  medoid takes the speaker a majority of its annotators gave it;
- NER spans and temporal/timeseries segments: span F1 (exact spans) / segment F1 (IoU >= 0.5); consensus =
  spans chosen by a majority / the best-agreeing annotation.

Everything here is pure computation over :class:`Ann` values; ``pull`` feeds it and writes the results.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.annotations import REGISTRY
from pipelines.label.tasks import target_kind
from pipelines.spec.models import DatasetSpec

IOU_MATCH = 0.5  # a box/polygon/segment pair counts as the same object from this IoU on (COCO's AP50)
KEYPOINT_SIGMA = 0.05  # COCO per-keypoint sigma, used for every keypoint (the spec names no per-point sigmas)
LINE_BUFFER_PCT = 1.0  # polylines are compared as shapes this wide (percent of the image)
Mask = npt.NDArray[np.bool_]

# When is one annotation "correct" against a gold answer (or a reviewer's standard)? Agreement >= this value.
CORRECT_AT: dict[str, float] = {t: k.correct_at for t, k in REGISTRY.items()}  # a view of the registry


# ----------------------------------------------------------------------------------------- values


def _regions(result: Sequence[Mapping[str, Any]], rtype: str, from_name: str | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in result
            if r.get("type") == rtype and (from_name is None or r.get("from_name") == from_name)]


def _choices(result: Sequence[Mapping[str, Any]], from_name: str) -> list[str]:
    return [str(c) for r in _regions(result, "choices", from_name) for c in (r.get("value") or {}).get("choices", [])]


def _texts(result: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    parts = [str(t) for r in result if r.get("type") == "textarea" and r.get("from_name") in names
             for t in (r.get("value") or {}).get("text") or []]
    return " ".join(" ".join(parts).split())


def _label_of(v: Mapping[str, Any], key: str) -> str:
    labels = v.get(key) or []
    return str(labels[0]) if labels else ""


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


@dataclass(frozen=True)
class Segment:
    """A labelled range: characters (NER), seconds (audio events), frames or samples (timeline, timeseries)."""

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class Turn:
    """The speaker of one transcript segment (seconds); ``rid`` is its region id (not part of equality)."""

    start: float
    end: float
    speaker: str
    rid: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Spoken:
    """A speaker-labelled transcript: the text and, per segment, who speaks (time order)."""

    text: str
    turns: tuple[Turn, ...]


def _turns(result: Sequence[Mapping[str, Any]]) -> tuple[Turn, ...]:
    """The per-region ``speaker`` choices of a transcription, with their segment's time span."""
    spans = {str(r.get("id")): r.get("value") or {} for r in _regions(result, "labels", "segment")}
    out: list[Turn] = []
    for r in _regions(result, "choices", "speaker"):
        v = r.get("value") or {}
        said = [str(c) for c in v.get("choices") or []]
        span = v if "start" in v and "end" in v else spans.get(str(r.get("id")), {})
        if said and "start" in span and "end" in span:
            out.append(Turn(float(span["start"]), float(span["end"]), said[0],
                            str(r["id"]) if r.get("id") is not None else None))
    return tuple(sorted(out, key=lambda x: (x.start, x.end)))


def extract(annotation_type: str, result: Sequence[Mapping[str, Any]]) -> Any:
    """The value QC compares, from one annotation's Label Studio result regions (control names of ``config``).

    Returns a hashable-friendly Python value whose shape depends on the type; ``None`` for an empty answer.
    """
    t = annotation_type
    if t in ("classification", "dialogue_intent"):
        got = _choices(result, "label" if t == "classification" else "intent")
        return got[0] if len(got) == 1 else None
    if t == "multi_label":
        return frozenset(_choices(result, "labels"))
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
    if t == "segmentation":
        return _masks(result)
    if t == "transcription":
        text = _texts(result, ("transcript",)) or _texts(result, ("segment_text",))
        turns = _turns(result)
        return Spoken(text, turns) if turns else text  # speakers only where the config asks for them
    if t in ("qa", "summarisation", "translation"):
        names = {"qa": ("question", "answer"), "summarisation": ("summary",), "translation": ("translation",)}[t]
        text = _texts(result, names)
        if t == "summarisation" and not text:  # extractive summaries are spans
            text = " ".join(str(r["value"].get("text", "")) for r in _regions(result, "labels", "summary_span"))
        return text
    if t == "ner":
        return frozenset(Segment(_label_of(r["value"], "labels"), float(r["value"]["start"]),
                                 float(r["value"]["end"])) for r in _regions(result, "labels", "label"))
    if t == "temporal_events":
        segs = [Segment(_label_of(r["value"], "labels"), float(r["value"]["start"]), float(r["value"]["end"]))
                for r in _regions(result, "labels", "label")]
        for r in _regions(result, "timelinelabels", "label"):
            lab = _label_of(r["value"], "timelinelabels")
            segs += [Segment(lab, float(g["start"]), float(g["end"])) for g in r["value"].get("ranges") or []]
        return segs
    if t == "timeseries_labels":
        return [Segment(_label_of(r["value"], "timeserieslabels"), float(r["value"]["start"]),
                        float(r["value"]["end"])) for r in _regions(result, "timeserieslabels", "label")]
    raise ValueError(f"no QC extractor for annotation type {annotation_type!r}")


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


def _masks(result: Sequence[Mapping[str, Any]]) -> dict[str, Mask]:
    """Brush regions decoded (Label Studio RLE) into one boolean mask per class."""
    from label_studio_sdk.converter.brush import decode_rle

    masks: dict[str, Mask] = {}
    for r in _regions(result, "brushlabels"):
        v = r["value"]
        w, h = int(r["original_width"]), int(r["original_height"])
        m = np.asarray(decode_rle(v["rle"]), dtype=np.uint8).reshape(h, w, 4)[:, :, 3] > 0
        lab = _label_of(v, "brushlabels")
        masks[lab] = masks[lab] | m if lab in masks else m
    return masks


# ------------------------------------------------------------------------------------- pair agreement


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


def segment_iou(a: Segment, b: Segment) -> float:
    """IoU of two 1-D ranges."""
    inter = max(0.0, min(a.end, b.end) - max(a.start, b.start))
    union = max(a.end, b.end) - min(a.start, b.start)
    return inter / union if union > 0 else float(a == b)


def matched_pairs(
    a: Sequence[Any], b: Sequence[Any], sim: Callable[[Any, Any], float], threshold: float
) -> list[tuple[int, int, float]]:
    """The optimal one-to-one matching (Hungarian, ``scipy``) of same-label objects with ``sim >= threshold``."""
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped,import-not-found,unused-ignore]

    if not a or not b:
        return []
    m = np.zeros((len(a), len(b)))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            if getattr(x, "label", None) == getattr(y, "label", None):
                s = sim(x, y)
                m[i, j] = s if s >= threshold else 0.0
    rows, cols = linear_sum_assignment(m, maximize=True)
    return [(int(i), int(j), float(m[i, j])) for i, j in zip(rows, cols, strict=True) if m[i, j] > 0]


def matched_f1(a: Sequence[Any], b: Sequence[Any], sim: Callable[[Any, Any], float],
               threshold: float = IOU_MATCH) -> float:
    """F1 of matched objects: 2 * matches / (|a| + |b|); two empty answers agree fully."""
    if not a and not b:
        return 1.0
    return 2 * len(matched_pairs(a, b, sim, threshold)) / (len(a) + len(b))


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


def mask_iou(a: Mapping[str, Mask], b: Mapping[str, Mask]) -> float:
    """Mean per-class IoU over the classes either annotator painted."""
    classes = set(a) | set(b)
    if not classes:
        return 1.0
    ious = []
    for c in classes:
        ma, mb = a.get(c), b.get(c)
        if ma is None or mb is None or ma.shape != mb.shape:
            ious.append(0.0)
            continue
        union = np.logical_or(ma, mb).sum()
        ious.append(float(np.logical_and(ma, mb).sum() / union) if union else 1.0)
    return sum(ious) / len(ious)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate (``jiwer``), spaces ignored as Korean ASR reports it; 0 for two empty texts."""
    import jiwer  # type: ignore[import-not-found,unused-ignore]

    ref, hyp = "".join(reference.split()), "".join(hypothesis.split())
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0
    return float(jiwer.cer(ref, hyp))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (``jiwer``); 0 for two empty texts."""
    import jiwer  # type: ignore[import-not-found,unused-ignore]

    if not reference.split():
        return 0.0 if not hypothesis.split() else 1.0
    if not hypothesis.split():
        return 1.0
    return float(jiwer.wer(reference, hypothesis))


def text_agreement(a: str, b: str) -> float:
    """1 - CER, symmetric (mean of both directions), clipped to [0, 1]."""
    return max(0.0, 1.0 - (cer(a, b) + cer(b, a)) / 2)


def speaker_map(a: Sequence[Turn], b: Sequence[Turn]) -> tuple[list[tuple[int, int, float]], dict[str, str]]:
    """Segments of two answers matched by time (IoU >= IOU_MATCH), and b's speaker names mapped one-to-one onto
    a's so that the most matched segments agree (Hungarian over the co-occurrence counts).

    Speaker labels are generic (화자1, 화자2 ...): two annotators who number the same voices differently agree.
    """
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped,import-not-found,unused-ignore]

    pairs = matched_pairs(a, b, segment_iou, IOU_MATCH)
    if not pairs:
        return pairs, {}
    names_a = sorted({a[i].speaker for i, _, _ in pairs})
    names_b = sorted({b[j].speaker for _, j, _ in pairs})
    counts = np.zeros((len(names_b), len(names_a)))
    for i, j, _ in pairs:
        counts[names_b.index(b[j].speaker), names_a.index(a[i].speaker)] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return pairs, {names_b[r]: names_a[c] for r, c in zip(rows, cols, strict=True) if counts[r, c] > 0}


def speaker_agreement(a: Sequence[Turn], b: Sequence[Turn]) -> float | None:
    """Share of time-matched segments whose speakers agree (under :func:`speaker_map`); None when there is
    nothing to compare (neither names speakers, or no segment matches), 0 when only one of them names any."""
    if not a and not b:
        return None
    if not a or not b:
        return 0.0
    pairs, mapping = speaker_map(a, b)
    if not pairs:
        return None
    return sum(mapping.get(b[j].speaker) == a[i].speaker for i, j, _ in pairs) / len(pairs)


def spoken_agreement(a: Spoken | str, b: Spoken | str) -> float:
    """Transcripts with speakers: (1 - CER) times the speaker agreement of their matched segments."""
    ta, tb = (x.text if isinstance(x, Spoken) else x for x in (a, b))
    sa, sb = (x.turns if isinstance(x, Spoken) else () for x in (a, b))
    text = text_agreement(ta, tb)
    speakers = speaker_agreement(sa, sb)
    return text if speakers is None else text * speakers


def span_f1(a: frozenset[Segment], b: frozenset[Segment]) -> float:
    """F1 of exactly matching (start, end, label) spans."""
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a & b| / |a | b|; two empty sets agree."""
    return len(a & b) / len(a | b) if a | b else 1.0


def agreement(annotation_type: str, a: Any, b: Any) -> float:
    """How far two annotations of one item agree, in [0, 1] (1 = identical), by the type's own measure."""
    t = annotation_type
    if a is None or b is None:
        return 1.0 if a is None and b is None else 0.0
    if t in ("classification", "dialogue_intent"):
        return float(a == b)
    if t == "multi_label":
        return jaccard(a, b)
    if t == "bbox":
        return matched_f1(a, b, box_iou)
    if t in ("polygon", "polyline"):
        return matched_f1(a, b, shape_iou)
    if t == "keypoints":
        return pose_agreement(a, b)
    if t == "segmentation":
        return mask_iou(a, b)
    if t == "transcription" and (isinstance(a, Spoken) or isinstance(b, Spoken)):
        return spoken_agreement(a, b)
    if t in ("transcription", "qa", "summarisation", "translation"):
        return text_agreement(a, b)
    if t == "ner":
        return span_f1(a, b)
    if t in ("temporal_events", "timeseries_labels"):
        return matched_f1(a, b, segment_iou)
    raise ValueError(f"no agreement measure for annotation type {annotation_type!r}")


# -------------------------------------------------------------------------------------------- consensus


@dataclass(frozen=True)
class Consensus:
    """One item's consensus: the value, how it was reached, and the mean pairwise agreement of the inputs.

    Where it came from (not part of equality): ``source`` is the annotation whose whole answer is the consensus
    (a single answer, the majority's first voter, the medoid); ``members`` lists, per consensus object of a
    clustered type, the (annotation, object) pairs it stands for (boxes: all members, averaged; shapes: the medoid).
    :func:`consensus_result` turns them back into Label Studio regions.
    """

    value: Any
    method: str
    agreement: float | None
    source: int | None = field(default=None, compare=False)
    members: tuple[tuple[tuple[int, int], ...], ...] = field(default=(), compare=False)


def _mean_pairwise(t: str, values: Sequence[Any]) -> float:
    n = len(values)
    pairs = [agreement(t, values[i], values[j]) for i in range(n) for j in range(i + 1, n)]
    return sum(pairs) / len(pairs)


def _medoid(t: str, values: Sequence[Any]) -> int:
    """The index of the value agreeing best with all the others (ties: the first)."""
    return _medoid_by(lambda a, b: agreement(t, a, b), values)


def _medoid_by(sim: Callable[[Any, Any], float], values: Sequence[Any]) -> int:
    n = len(values)
    m = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            m[i][j] = m[j][i] = sim(values[i], values[j])
    return max(range(n), key=lambda i: (sum(m[i]), -i))


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


def consensus(annotation_type: str, values: Sequence[Any], *, tracks: bool = False) -> Consensus:
    """The consensus value of one item's annotations (one value: itself, method ``single``).

    ``tracks``: the boxes are keyframes of video tracks. A track is one object across frames, so the consensus is
    the best-agreeing annotator's tracks (method ``best_agreeing_tracks``); averaging keyframe boxes across
    annotators would break which box belongs to which track.
    """
    t = annotation_type
    if not values:
        raise ValueError("consensus of no annotations")
    if len(values) == 1:
        return Consensus(values[0], "single", None, source=0)
    agree = _mean_pairwise(t, values)
    n = len(values)
    if t in ("classification", "dialogue_intent"):
        (top, k), *_rest = Counter(values).most_common()
        if k > n / 2:
            return Consensus(top, "majority", agree, source=values.index(top))
        return Consensus(None, "no_majority", agree)  # a tie is not silently resolved
    if t == "multi_label":
        counts = Counter(lab for v in values for lab in v)
        return Consensus(frozenset(lab for lab, k in counts.items() if k > n / 2), "majority", agree)
    if t == "ner":
        counts_s = Counter(s for v in values for s in v)
        return Consensus(frozenset(s for s, k in counts_s.items() if k > n / 2), "majority_spans", agree)
    if t == "bbox" and tracks:
        m = _medoid(t, values)
        return Consensus(values[m], "best_agreeing_tracks", agree, source=m)
    if t in ("bbox", "polygon", "polyline"):
        objs, members = _cluster(t, values)
        return Consensus(objs, "iou_cluster", agree, members=tuple(members))
    m = _medoid(t, values)
    if t == "transcription" and isinstance(values[m], Spoken):
        return Consensus(_speaker_majority(values, m), "best_agreeing_text_majority_speaker", agree, source=m)
    method = "best_agreeing_text" if t in ("transcription", "qa", "summarisation", "translation") else "best_agreeing"
    return Consensus(values[m], method, agree, source=m)


def _speaker_majority(values: Sequence[Any], m: int) -> Spoken:
    """The best-agreeing transcript ``values[m]`` with each segment's speaker decided by a strict majority of the
    annotators who drew that segment (their names mapped onto m's by :func:`speaker_map`); a tie keeps m's."""
    best: Spoken = values[m]
    votes: list[list[str]] = [[turn.speaker] for turn in best.turns]
    for j, v in enumerate(values):
        if j == m or not isinstance(v, Spoken):
            continue
        pairs, mapping = speaker_map(best.turns, v.turns)
        for i, k, _ in pairs:
            votes[i].append(mapping.get(v.turns[k].speaker, v.turns[k].speaker))
    turns = []
    for turn, said in zip(best.turns, votes, strict=True):
        (top, k), *_rest = Counter(said).most_common()
        speaker = top if k > len(said) / 2 else turn.speaker
        turns.append(Turn(turn.start, turn.end, speaker, turn.rid))
    return Spoken(best.text, tuple(turns))


_OBJECT_REGIONS = {"bbox": "rectanglelabels", "polygon": "polygonlabels", "polyline": "vectorlabels"}


def consensus_result(
    annotation_type: str, results: Sequence[Sequence[Mapping[str, Any]]], c: Consensus
) -> list[dict[str, Any]] | None:
    """The consensus as Label Studio result regions, built from the annotations it came from (``results``, in
    the order :func:`consensus` saw their values); None when there is none (no majority).

    This is what ``refine`` turns into the released label, so the released label is this consensus: whole
    answers (single, majority, medoid) are the chosen annotation's regions; multi-label is one choices region of
    the majority's labels; NER the regions of the majority's spans; boxes the averaged rectangles; shapes the
    clusters' medoid regions.
    """
    t = annotation_type
    if c.value is None:
        return None
    if t == "transcription" and isinstance(c.value, Spoken) and c.source is not None:
        said = {turn.rid: turn.speaker for turn in c.value.turns if turn.rid is not None}
        out = [dict(r) for r in results[c.source]]
        for r in out:
            if r.get("type") == "choices" and r.get("from_name") == "speaker" and str(r.get("id")) in said:
                r["value"] = {**r["value"], "choices": [said[str(r["id"])]]}
        return out
    if c.source is not None:
        return [dict(r) for r in results[c.source]]
    if t == "multi_label":
        first = next((r for res in results for r in _regions(res, "choices", "labels")), None)
        order = [str(ch) for res in results for r in _regions(res, "choices", "labels")
                 for ch in (r.get("value") or {}).get("choices", [])]
        chosen = [lab for lab in dict.fromkeys(order) if lab in c.value]
        region = {k: v for k, v in (first or {"from_name": "labels", "type": "choices"}).items() if k != "id"}
        return [{**region, "value": {"choices": chosen}}] if chosen else []
    if t == "ner":
        picked: list[dict[str, Any]] = []
        seen: set[Segment] = set()
        for res in results:
            for r in _regions(res, "labels", "label"):
                for seg in extract("ner", [r]):
                    if seg in c.value and seg not in seen:
                        seen.add(seg)
                        picked.append(dict(r))
        return sorted(picked, key=lambda r: (float(r["value"]["start"]), float(r["value"]["end"])))
    if t in _OBJECT_REGIONS:
        out = []
        for obj, group in zip(c.value, c.members, strict=True):
            who, k = group[0]
            region = dict(_regions(results[who], _OBJECT_REGIONS[t])[k])
            if t == "bbox":
                region["value"] = {**region["value"], "x": obj.x, "y": obj.y, "width": obj.w, "height": obj.h}
            out.append(region)
        return out
    raise ValueError(f"no consensus result for annotation type {annotation_type!r} (method {c.method})")


# -------------------------------------------------------------------------------------- dataset level


def _codes(units: Sequence[Sequence[Any]]) -> tuple[npt.NDArray[np.float64], list[Any]]:
    """A raters x units reliability matrix (NaN where a unit has fewer raters) and the category list."""
    cats = sorted({v for u in units for v in u if v is not None}, key=str)
    index = {c: i for i, c in enumerate(cats)}
    width = max((len(u) for u in units), default=0)
    m = np.full((width, len(units)), np.nan)
    for j, u in enumerate(units):
        for i, v in enumerate(u):
            if v is not None:
                m[i, j] = index[v]
    return m, cats


def krippendorff_alpha(units: Sequence[Sequence[Any]]) -> float | None:
    """Krippendorff's alpha (nominal) over units with two or more values; None if it is undefined
    (fewer than two pairable units, or a single category used throughout)."""
    import krippendorff

    units = [[v for v in u if v is not None] for u in units]
    units = [u for u in units if len(u) >= 2]
    if len(units) < 2:
        return None
    m, cats = _codes(units)
    if len(cats) < 2:
        return None  # no variation: alpha is 0/0
    return float(krippendorff.alpha(reliability_data=m, level_of_measurement="nominal",
                                     value_domain=list(range(len(cats)))))


def fleiss_kappa(units: Sequence[Sequence[Any]]) -> float | None:
    """Fleiss' kappa over the units rated by the most common number (>= 2) of raters (kappa needs the same count
    per unit); None if undefined.

    Fleiss (1971), as ``statsmodels.stats.inter_rater.fleiss_kappa(method="fleiss")`` computes it (a unit test
    holds the two equal); written out here because importing statsmodels costs seconds per pull.
    """
    units = [[v for v in u if v is not None] for u in units]
    sizes = Counter(len(u) for u in units if len(u) >= 2)
    if not sizes:
        return None
    size = sizes.most_common(1)[0][0]
    chosen = [u for u in units if len(u) == size]
    cats = sorted({v for u in chosen for v in u}, key=str)
    if len(chosen) < 2 or len(cats) < 2:
        return None
    table = np.array([[u.count(c) for c in cats] for u in chosen], dtype=np.float64)
    p_cat = table.sum(axis=0) / table.sum()  # share of all ratings in each category
    p_unit = ((table * table).sum(axis=1) - size) / (size * (size - 1.0))  # agreement within each unit
    p_expected = float((p_cat * p_cat).sum())
    return float((p_unit.mean() - p_expected) / (1.0 - p_expected))


def multilabel_alpha(units: Sequence[Sequence[frozenset[str]]], labels: Sequence[str]) -> float | None:
    """Mean over labels of the binary (chosen / not chosen) Krippendorff's alpha; labels whose alpha is
    undefined (never or always chosen) are left out."""
    alphas = [a for lab in labels
              if (a := krippendorff_alpha([[lab in v for v in u] for u in units])) is not None]
    return sum(alphas) / len(alphas) if alphas else None


# The dataset-level measure of each type: (name, higher is better).
METRICS: dict[str, str] = {t: k.metric for t, k in REGISTRY.items()}  # a view of the registry


# ------------------------------------------------------------------------------------------- the pass


@dataclass(frozen=True)
class Ann:
    """One pulled annotation, as QC needs it."""

    item_id: str
    annotation_id: int
    annotator: str
    result: list[dict[str, Any]]
    ground_truth: bool = False
    was_cancelled: bool = False
    lead_time_s: float | None = None


@dataclass
class Scorecard:
    """One annotator's record in a run (what a contractor pays and coaches by)."""

    annotator: str
    annotations: int = 0
    skipped: int = 0
    items: int = 0
    gold_n: int = 0
    gold_correct: int = 0
    overlap_n: int = 0
    agreement_sum: float = 0.0
    reviewed: int = 0
    accepted: int = 0
    lead_time_sum: float = 0.0
    lead_time_n: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The scorecard with its rates (None where nothing was measured)."""
        return {
            "annotator": self.annotator, "annotations": self.annotations, "skipped": self.skipped,
            "gold_n": self.gold_n, "gold_correct": self.gold_correct,
            "gold_accuracy": self.gold_correct / self.gold_n if self.gold_n else None,
            "overlap_n": self.overlap_n,
            "agreement_with_consensus": self.agreement_sum / self.overlap_n if self.overlap_n else None,
            "reviewed": self.reviewed, "accepted": self.accepted,
            "review_acceptance": self.accepted / self.reviewed if self.reviewed else None,
            "mean_lead_time_s": self.lead_time_sum / self.lead_time_n if self.lead_time_n else None,
        }


@dataclass(frozen=True)
class Verdict:
    """A reviewer's decision on one annotation (from the review project)."""

    annotation_id: int
    item_id: str
    accepted: bool
    reason: str | None = None
    reviewer: str = ""


@dataclass
class QCResult:
    """Per-item QC rows (``QC_SCHEMA``) and the run's summary (dataset agreement, gold, review, scorecards)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def to_json(value: Any) -> Any:
    """A QC value as plain JSON (sets sorted, dataclasses as dicts, masks as their painted-pixel counts)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, frozenset | set):
        return sorted((to_json(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return int(value.sum())
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_json(getattr(value, k)) for k in value.__dataclass_fields__}
    return str(value)


def run_qc(spec: DatasetSpec, anns: Iterable[Ann], verdicts: Iterable[Verdict] = ()) -> QCResult:
    """QC of one run: group annotations by item, compare, find consensus, score against gold and reviews.

    Gold answers are the ``ground_truth`` annotations (push writes them from the source truth); they are the
    reference, never part of the consensus. Cancelled (skipped) annotations count on scorecards only.
    """
    t = spec.annotation.type
    tracks = t == "bbox" and target_kind(spec) == "video"  # VideoRectangle tracks (label/config.py)
    by_item: dict[str, list[Ann]] = defaultdict(list)
    for a in anns:
        by_item[a.item_id].append(a)
    review_by_item: dict[str, list[Verdict]] = defaultdict(list)
    review_by_ann: dict[int, Verdict] = {}
    for v in verdicts:
        review_by_item[v.item_id].append(v)
        review_by_ann[v.annotation_id] = v
    cards: dict[str, Scorecard] = {}
    units: list[list[Any]] = []
    pair_scores: list[float] = []
    rows: list[dict[str, Any]] = []
    gold_items = gold_ok = 0
    for item_id in sorted(by_item):
        group = by_item[item_id]
        gold = [a for a in group if a.ground_truth and not a.was_cancelled]
        people = [a for a in group if not a.ground_truth]
        for a in people:
            card = cards.setdefault(a.annotator, Scorecard(a.annotator))
            if a.was_cancelled:
                card.skipped += 1
                continue
            card.annotations += 1
            if a.lead_time_s is not None:
                card.lead_time_sum += a.lead_time_s
                card.lead_time_n += 1
        done = [a for a in people if not a.was_cancelled]
        values = [extract(t, a.result) for a in done]
        c = consensus(t, values, tracks=tracks) if values else None
        regions = consensus_result(t, [a.result for a in done], c) if c else None
        if c is None and gold:  # nobody but the gold author answered: the known answer stands
            c, regions = Consensus(extract(t, gold[0].result), "gold", None), list(gold[0].result)
        if len(values) >= 2:
            units.append(values)
            pair_scores.append(c.agreement if c and c.agreement is not None else 0.0)
            for a, v in zip(done, values, strict=True):
                card = cards[a.annotator]
                card.overlap_n += 1
                card.agreement_sum += agreement(t, v, c.value) if c else 0.0
        gold_value = extract(t, gold[0].result) if gold else None
        gold_correct: bool | None = None
        if gold and done:
            for a, v in zip(done, values, strict=True):
                cards[a.annotator].gold_n += 1
                cards[a.annotator].gold_correct += int(agreement(t, v, gold_value) >= CORRECT_AT[t])
            gold_correct = c is not None and agreement(t, c.value, gold_value) >= CORRECT_AT[t]
            gold_items += 1
            gold_ok += int(gold_correct)
        reviews = review_by_item.get(item_id, [])
        for r in reviews:
            author = next((a.annotator for a in done if a.annotation_id == r.annotation_id), None)
            if author is not None:
                cards[author].reviewed += 1
                cards[author].accepted += int(r.accepted)
        review = None
        if reviews:
            review = "accepted" if all(r.accepted for r in reviews) else "rejected"
        rows.append({
            "item_id": item_id,
            "n_annotations": len(done),
            "annotators": sorted({a.annotator for a in done}),
            "consensus_method": c.method if c else None,
            "consensus": json.dumps(to_json(c.value), ensure_ascii=False, sort_keys=True) if c else None,
            "consensus_result": json.dumps(regions, ensure_ascii=False) if regions is not None else None,
            "agreement": c.agreement if c else None,
            "gold": bool(gold),
            "gold_correct": gold_correct,
            "review": review,
            "review_reasons": sorted({r.reason for r in reviews if r.reason and not r.accepted}),
        })
    summary = _summary(spec, units, pair_scores, gold_items, gold_ok, list(review_by_ann.values()), cards)
    return QCResult(items=rows, summary=summary)


def _summary(spec: DatasetSpec, units: list[list[Any]], pair_scores: list[float], gold_items: int, gold_ok: int,
             verdicts: list[Verdict], cards: Mapping[str, Scorecard]) -> dict[str, Any]:
    t = spec.annotation.type
    metric = METRICS[t]
    value: float | None
    extra: dict[str, Any] = {}
    if t in ("classification", "dialogue_intent"):
        value = krippendorff_alpha(units)
        extra["fleiss_kappa"] = fleiss_kappa(units)
    elif t == "multi_label":
        value = multilabel_alpha(units, spec.labels)
    else:
        value = sum(pair_scores) / len(pair_scores) if pair_scores else None
    extra["mean_pairwise_agreement"] = sum(pair_scores) / len(pair_scores) if pair_scores else None
    reviewed = len(verdicts)
    accepted = sum(v.accepted for v in verdicts)
    reasons = Counter(v.reason for v in verdicts if not v.accepted and v.reason)
    return {
        "annotation_type": t,
        "agreement": {"metric": metric, "value": value, "overlap_items": len(units), **extra},
        "gold": {"items": gold_items, "correct": gold_ok, "accuracy": gold_ok / gold_items if gold_items else None},
        "review": {"reviewed": reviewed, "accepted": accepted,
                   "semantic_accuracy": accepted / reviewed if reviewed else None,
                   "rejection_reasons": dict(reasons.most_common())},
        "annotators": [cards[k].as_dict() for k in sorted(cards)],
    }
