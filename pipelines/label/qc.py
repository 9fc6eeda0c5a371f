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

Everything here is pure computation over :class:`Ann` values; ``pull`` feeds it and writes the results. The
per-type pieces (reading a result, comparing two, merging them) live with each annotation type
(``pipelines/annotations/types/``) and are reached through the registry; the shared measures are in
``pipelines/annotations/measures.py``. Their names are re-exported here.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.annotations import REGISTRY
from pipelines.annotations.code import TypeCode
from pipelines.annotations.measures import (
    IOU_MATCH,
    Consensus,
    Segment,
    cer,
    matched_f1,
    matched_pairs,
    segment_iou,
    text_agreement,
    wer,
)
from pipelines.annotations.types.geometry import (
    KEYPOINT_SIGMA,
    LINE_BUFFER_PCT,
    Box,
    Pose,
    Shape,
    box_iou,
    keyframe_poses,
    oks,
    pose_agreement,
    shape_iou,
    video_boxes,
)
from pipelines.annotations.types.labels import jaccard
from pipelines.annotations.types.segmentation import Mask, mask_iou
from pipelines.annotations.types.text import span_f1
from pipelines.annotations.types.transcription import (
    Spoken,
    Turn,
    speaker_agreement,
    speaker_map,
    spoken_agreement,
)
from pipelines.label.tasks import target_kind
from pipelines.spec.models import DatasetSpec

__all__ = [
    "CORRECT_AT", "IOU_MATCH", "KEYPOINT_SIGMA", "LINE_BUFFER_PCT", "METRICS", "Ann", "Box", "Consensus", "Mask",
    "Pose", "QCResult", "Scorecard", "Segment", "Shape", "Spoken", "Turn", "Verdict", "agreement", "box_iou", "cer",
    "consensus", "consensus_result", "extract", "fleiss_kappa", "jaccard", "keyframe_poses", "krippendorff_alpha",
    "mask_iou", "matched_f1", "matched_pairs", "multilabel_alpha", "oks", "pose_agreement", "run_qc",
    "segment_iou", "shape_iou", "span_f1", "speaker_agreement", "speaker_map", "spoken_agreement",
    "text_agreement", "to_json", "video_boxes", "wer",
]

# When is one annotation "correct" against a gold answer (or a reviewer's standard)? Agreement >= this value.
CORRECT_AT: dict[str, float] = {t: k.correct_at for t, k in REGISTRY.items()}  # a view of the registry



# ------------------------------------------------------------------------------ per type, through the registry


def _piece(annotation_type: str, what: str) -> TypeCode:
    k = REGISTRY.get(annotation_type)
    if k is None:
        raise ValueError(f"no {what} for annotation type {annotation_type!r}")
    return k.code


def extract(annotation_type: str, result: Sequence[Mapping[str, Any]]) -> Any:
    """The value QC compares, from one annotation's Label Studio result regions (control names of ``config``).

    Returns a hashable-friendly Python value whose shape depends on the type; ``None`` for an empty answer.
    """
    return _piece(annotation_type, "QC extractor").extract(result)


def agreement(annotation_type: str, a: Any, b: Any) -> float:
    """How far two annotations of one item agree, in [0, 1] (1 = identical), by the type's own measure."""
    if a is None or b is None:
        return 1.0 if a is None and b is None else 0.0
    return _piece(annotation_type, "agreement measure").agreement(a, b)


def _mean_pairwise(t: str, values: Sequence[Any]) -> float:
    n = len(values)
    pairs = [agreement(t, values[i], values[j]) for i in range(n) for j in range(i + 1, n)]
    return sum(pairs) / len(pairs)


def consensus(annotation_type: str, values: Sequence[Any], *, tracks: bool = False) -> Consensus:
    """The consensus value of one item's annotations (one value: itself, method ``single``).

    ``tracks``: the boxes are keyframes of video tracks (the type's consensus keeps one annotator's tracks whole).
    """
    t = annotation_type
    if not values:
        raise ValueError("consensus of no annotations")
    if len(values) == 1:
        return Consensus(values[0], "single", None, source=0)
    agree = _mean_pairwise(t, values)
    return _piece(t, "consensus").consensus(values, agree, tracks)


def consensus_result(
    annotation_type: str, results: Sequence[Sequence[Mapping[str, Any]]], c: Consensus
) -> list[dict[str, Any]] | None:
    """The consensus as Label Studio result regions, built from the annotations it came from (``results``, in
    the order :func:`consensus` saw their values); None when there is none (no majority).

    This is what ``refine`` turns into the released label, so the released label is this consensus: whole
    answers (single, majority, medoid) are the chosen annotation's regions; types whose consensus is built from
    several answers (multi-label, NER spans, clustered boxes and shapes; speakers of a transcript) have their own
    ``consensus_result``.
    """
    if c.value is None:
        return None
    k = REGISTRY.get(annotation_type)
    own = k.code.consensus_result if k is not None else None
    if own is not None:
        return own(results, c)
    if c.source is not None:
        return [dict(r) for r in results[c.source]]
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
    if metric == "krippendorff_alpha":  # the registry's metric decides (classification, dialogue intent)
        value = krippendorff_alpha(units)
        extra["fleiss_kappa"] = fleiss_kappa(units)
    elif metric == "krippendorff_alpha_per_label":  # multi-label
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
