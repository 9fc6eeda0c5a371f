"""The check plan of a spec: which GX expectation runs on which frame, under which NIA quality characteristic.

A plan is plain data (no GX import): ``_gx.py`` turns each :class:`Check` into an expectation (a built-in one,
or one of ours from ``expectations.py``), ``frames.py`` builds the frames the checks name, and ``stage.py``
aggregates the results per characteristic.

Row frames (built per record batch, their counts summed over batches):
- ``items``: one row per record: ids, single labels, metadata columns, media facts, text lengths, QC columns,
  and the run-wide facts each record has (its id or content seen twice, its content in another split);
- ``labels``: one row per label occurrence of list-valued annotations (multi-label, polygons, entities ...);
- ``boxes`` / ``shapes`` / ``keypoints`` / ``masks``: one row per box, polygon or polyline, keypoint, mask,
  with the size of its image beside it;
- ``spans`` / ``qa``: one row per entity span or QA pair, with its document's length and whether the offsets
  select the text the record says they do;
- ``segments`` / ``events``: one row per transcript segment or labelled time range, with the clip's duration.
Summary frames (built once, after streaming; ``kind="summary"`` checks read their measured value from a column):
- ``observed``: the distinct label values of the run; ``run``: volume and delivery against the plan;
- ``shares:<column>``: planned against actual shares of one planned dimension (label, or an enum column);
- ``agreement``: mean inter-annotator agreement over the overlap items; ``validity``: the baseline's metric.

Blocking (``policy``): checks on every item of the run (syntax, media properties, uniqueness, leakage, reviewers'
verdicts) always block automatic approval. Checks against the plan of the whole dataset (volume, label coverage,
completeness, shares, the baseline model, and targets nothing could measure) block only a *final* delivery: a run that
builds part of the target volume is reported against them, as warnings, and a later run completes it. A run is
final when it planned at least ``target_volume`` items, or when the caller says so (``delivery="final"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pipelines.annotations import REGISTRY
from pipelines.spec.models import (
    NER,
    QA,
    AudioModality,
    BBox,
    BoolColumn,
    DatasetSpec,
    DialogueIntent,
    EnumColumn,
    FloatColumn,
    ImageModality,
    IntColumn,
    Keypoints,
    MultiLabel,
    MultimodalModality,
    Polygon,
    Polyline,
    Segmentation,
    StringColumn,
    Summarisation,
    TemporalEvents,
    TextModality,
    TimeseriesLabels,
    TimeseriesModality,
    Transcription,
    Translation,
    VideoModality,
)

Frame = str  # a row frame of ROW_FRAMES, or a summary frame (see the module docstring)
ROW_FRAMES: tuple[str, ...] = ("items", "labels", "boxes", "shapes", "keypoints", "masks", "spans", "qa",
                               "segments", "events")
STREAMED_FRAMES = ROW_FRAMES
Policy = Literal["always", "final"]

# NIA quality characteristics, in report order: (key, Korean, English).
CHARACTERISTICS: dict[str, tuple[str, str]] = {
    "syntactic_accuracy": ("구문 정확성", "Syntactic accuracy"),
    "technical_conformity": ("기술 적합성", "Technical conformity"),
    "completeness": ("완전성", "Completeness"),
    "uniqueness": ("유일성", "Uniqueness"),
    "split_leakage": ("분할 독립성", "No split leakage"),
    "conformity": ("기준 적합성", "Conformity to the plan"),
    "diversity": ("통계적 다양성", "Statistical diversity"),
    "semantic_accuracy": ("의미 정확성", "Semantic accuracy"),
    "gold_accuracy": ("골드 정확도", "Gold-task accuracy"),
    "agreement": ("작업자 간 일치도", "Inter-annotator agreement"),
    "validity": ("학습모델 유효성", "Model validity"),
}

# The characteristics whose failing items another annotation can fix: the reviewers' verdicts, the gold answers,
# a label's syntax (a missing or unknown label, a box outside the image) and the annotators' agreement (the overlap
# items below the target, labelled again by as many people as planned: docs/adr/0039). A check under one of them is
# reworkable unless its row says otherwise; one under any other (media, completeness, uniqueness, splits, the plan,
# model validity) is not: re-annotating items changes none of them. Also how a quality.json written before checks
# carried ``reworkable`` is read (``datadam sweep``; such a file's agreement row named no item, so it was never
# sent back).
REWORKABLE_CHARACTERISTICS: frozenset[str] = frozenset({"semantic_accuracy", "gold_accuracy", "syntactic_accuracy",
                                                        "agreement"})
AGREEMENT_CHECK = "agreement.mean"  # a summary check whose failing items validate names itself (the overlap items)

# Label columns of list-valued annotation types whose structs carry a ``label`` field (a view of the registry).
STRUCT_LABEL_COLUMNS: dict[str, str] = {t: c for t, k in REGISTRY.items() if (c := k.struct_label_column)}
# File extensions each declared format may appear under in a media key.
FORMAT_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "jpeg": ("jpeg", "jpg"),
    "tiff": ("tiff", "tif"),
    "dicom": ("dcm", "dicom"),
}


@dataclass(frozen=True)
class Check:
    """One expectation of the plan.

    Attributes:
        id: Stable dotted id, e.g. ``syntactic.box_inside_width``; names the check in quality.json.
        characteristic: Key of :data:`CHARACTERISTICS`.
        frame: The frame the expectation runs on.
        expectation: GX expectation class name: a built-in (``ExpectColumnValuesToBeInSet``) or one of
            ``pipelines.validate.expectations``.
        kwargs: Constructor arguments of the expectation (``mostly`` included where it applies).
        name_ko: Korean name for inspectors.
        name_en: English name.
        target: The share of rows that must pass, or for summary checks the bound the measured value is held to.
        blocking: Whether a failure blocks automatic approval (else it is a warning).
        note: Shown beside the result (why a check is only a warning, what it assumes).
        meta: Extra facts for the report. ``sample`` marks a check measured on a sample, and how:
            ``"share"`` (a share of the sampled items: reviewers' verdicts, gold answers; ADR 0007) or ``"mean"``
            (a mean over the overlap items, each in [0, 1]: agreement; ADR 0036). A miss on a sample too small to
            conclude is then a warning on a partial delivery.
        kind: ``row`` (counts summed over batches; measured = share of rows passing) or ``summary`` (evaluated
            once; measured = the value of ``measure_column``).
        measure_column: Summary checks: the column whose value is the measured value.
        direction: ``min``: measured must be >= target; ``max``: measured must be <= target.
        requires_data: Nothing to check means "not measured", never a pass (sample-based characteristics).
        policy: ``always`` or ``final`` (blocks only a final delivery); see the module docstring.
        reworkable: Another annotation of the items a failure names can fix it (written into quality.json; the
            inspector's rework, and ``datadam sweep``, re-open only such failures). Rows built by ``_row`` default
            to their characteristic's (:data:`REWORKABLE_CHARACTERISTICS`).
    """

    id: str
    characteristic: str
    frame: Frame
    expectation: str
    kwargs: dict[str, Any]
    name_ko: str
    name_en: str
    target: float
    blocking: bool = True
    note: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    kind: Literal["row", "summary"] = "row"
    measure_column: str | None = None
    direction: Literal["min", "max"] = "min"
    requires_data: bool = False
    policy: Policy = "always"
    reworkable: bool = False

    @property
    def column(self) -> str | None:
        col = self.kwargs.get("column") or self.kwargs.get("column_B")
        return str(col) if col is not None else None


@dataclass(frozen=True)
class RunFacts:
    """What the plan needs to know about the run before any record is validated.

    Attributes:
        items: Records in the run.
        final: The run is a final delivery (plan-level checks block).
        planned: Items the run planned to collect (``collect/plan.json``), if known.
    """

    items: int
    final: bool = False
    planned: int | None = None


def label_frame_of(spec: DatasetSpec) -> Frame | None:
    """Which frame holds the run's label values: items, labels or boxes (None: the type has no labels)."""
    a = spec.annotation
    if not spec.labels:
        return None
    if isinstance(a, BBox):
        return "boxes"
    if a.type in ("classification", "dialogue_intent"):
        return "items"
    return "labels"


def _components(spec: DatasetSpec) -> list[Any]:
    m = spec.modality
    return list(m.components) if isinstance(m, MultimodalModality) else [m]


MediaModality = ImageModality | VideoModality | AudioModality | TimeseriesModality


def media_modality(spec: DatasetSpec) -> MediaModality | None:
    """The component whose file is the record's ``media`` (image/video/audio/timeseries), if any: a multimodal
    item's primary component (docs/adr/0024)."""
    m = spec.modality
    if isinstance(m, MultimodalModality):
        c = m.component(m.primary)
        return c if isinstance(c, ImageModality | VideoModality | AudioModality | TimeseriesModality) else None
    for c in _components(spec):
        if isinstance(c, ImageModality | VideoModality | AudioModality | TimeseriesModality):
            return c
    return None


def text_modality(spec: DatasetSpec) -> TextModality | None:
    for c in _components(spec):
        if isinstance(c, TextModality):
            return c
    return None


def content_kind(spec: DatasetSpec) -> Literal["media", "text"] | None:
    """What identifies an item's content for uniqueness and leakage: its media file, else its text."""
    if media_modality(spec) is not None:
        return "media"
    if text_modality(spec) is not None:
        return "text"
    return None


def plan_checks(spec: DatasetSpec, *, duplicate_ids: list[str] | None = None, items: int,
                facts: RunFacts | None = None) -> list[Check]:
    """The checks of a spec for one run.

    Args:
        spec: The dataset spec; every threshold comes from ``spec.quality``.
        duplicate_ids: Ignored (uniqueness is decided from run-wide hashes now; kept for old callers).
        items: Records in the run; label coverage only blocks when there are at least as many items as labels.
        facts: What is known of the run (delivery, planned size); default: a partial run of ``items``.

    Returns:
        The checks, in report order, with ``blocking`` resolved for this run's delivery.
    """
    del duplicate_ids
    facts = facts or RunFacts(items=items)
    checks: list[Check] = []
    checks += _syntactic(spec)
    checks += _technical(spec)
    checks += _completeness(spec)
    checks += _uniqueness(spec)
    checks += _leakage(spec)
    checks += _conformity(spec, items)
    checks += _diversity(spec)
    checks += _semantic(spec)
    checks += _validity(spec)
    return [_resolve(c, facts) for c in checks]


def _resolve(c: Check, facts: RunFacts) -> Check:
    if c.policy == "always" or facts.final:
        return c
    why = "warning only: a partial run is reported against the whole dataset's plan; it blocks a final delivery"
    return replace(c, blocking=False, note=f"{c.note}; {why}" if c.note else why)


def _row(cid: str, ch: str, frame: Frame, expectation: str, kwargs: dict[str, Any], ko: str, en: str,
         target: float, **extra: Any) -> Check:
    extra.setdefault("reworkable", ch in REWORKABLE_CHARACTERISTICS)
    return Check(cid, ch, frame, expectation, kwargs, ko, en, target, **extra)


# ------------------------------------------------------------------------------------------- syntactic


def _syntactic(spec: DatasetSpec) -> list[Check]:
    ch = "syntactic_accuracy"
    t = spec.quality.syntactic_accuracy
    a = spec.annotation
    out: list[Check] = [
        _row("syntactic.item_id_present", ch, "items", "ExpectColumnValuesToNotBeNull",
             {"column": "item_id", "mostly": t}, "항목 ID 존재", "item_id present", t,
             reworkable=False),  # the record's identity comes from collection, not from an annotation
    ]
    labels = spec.labels
    where = label_frame_of(spec)
    if where is not None:
        col = "intent" if isinstance(a, DialogueIntent) else "label"
        if where == "items":
            out.append(_row("syntactic.label_present", ch, "items", "ExpectColumnValuesToNotBeNull",
                            {"column": col, "mostly": t}, "라벨 존재", "label present", t))
        out.append(_row("syntactic.label_in_set", ch, where, "ExpectColumnValuesToBeInSet",
                        {"column": col if where == "items" else "label", "value_set": list(labels), "mostly": t},
                        "라벨이 정의된 클래스에 속함", "label in the spec's label set", t))
        if where != "items":
            out.append(_row("syntactic.label_present", ch, where, "ExpectColumnValuesToNotBeNull",
                            {"column": "label", "mostly": t}, "라벨 존재", "label present", t))
    if isinstance(a, MultiLabel):
        out.append(_row("syntactic.label_count", ch, "items", "ExpectColumnValuesToBeBetween",
                        {"column": "n_labels", "min_value": a.min_labels, "max_value": a.max_labels, "mostly": t},
                        "항목당 라벨 수", "labels per item in range", t))
    out += _geometry(spec, ch, t)
    out += _text_labels(spec, ch, t)
    out += _timed(spec, ch, t)
    out += _metadata(spec, ch, t)
    return out


def _geometry(spec: DatasetSpec, ch: str, t: float) -> list[Check]:
    a = spec.annotation
    out: list[Check] = []
    if isinstance(a, BBox):
        out += [
            _row("syntactic.box_count", ch, "items", "ExpectColumnValuesToBeBetween",
                 {"column": "n_objects", "min_value": 0, "max_value": a.max_objects, "mostly": t},
                 "항목당 객체 수", "objects per item <= max_objects", t),
            _row("syntactic.box_x_min", ch, "boxes", "ExpectColumnValuesToBeBetween",
                 {"column": "x", "min_value": 0, "mostly": t}, "박스 좌측 좌표 ≥ 0", "box x >= 0", t),
            _row("syntactic.box_y_min", ch, "boxes", "ExpectColumnValuesToBeBetween",
                 {"column": "y", "min_value": 0, "mostly": t}, "박스 상단 좌표 ≥ 0", "box y >= 0", t),
            _row("syntactic.box_inside_width", ch, "boxes", "ExpectColumnPairValuesAToBeGreaterThanB",
                 {"column_A": "image_width", "column_B": "x2", "or_equal": True, "mostly": t},
                 "박스가 이미지 너비 안", "box x + w <= image width", t),
            _row("syntactic.box_inside_height", ch, "boxes", "ExpectColumnPairValuesAToBeGreaterThanB",
                 {"column_A": "image_height", "column_B": "y2", "or_equal": True, "mostly": t},
                 "박스가 이미지 높이 안", "box y + h <= image height", t),
            _row("syntactic.box_min_size", ch, "boxes", "ExpectColumnValuesToBeBetween",
                 {"column": "min_side", "min_value": a.min_box_px, "mostly": t},
                 "박스 최소 크기", f"box sides >= {a.min_box_px} px", t),
        ]
    if isinstance(a, Polygon | Polyline):
        what = "polygon" if isinstance(a, Polygon) else "polyline"
        ko = "다각형" if isinstance(a, Polygon) else "폴리라인"
        out += [
            _row(f"syntactic.{what}_points", ch, "shapes", "ExpectColumnValuesToBeBetween",
                 {"column": "n_points", "min_value": a.min_points, "mostly": t},
                 f"{ko} 꼭짓점 수", f"{what} has >= {a.min_points} distinct points", t),
            _row(f"syntactic.{what}_inside", ch, "shapes", "ExpectGeometryInsideMedia",
                 {"column": "outside_px", "max_value": 0.0, "mostly": t},
                 f"{ko}이(가) 이미지 안", f"every {what} point inside the image", t),
        ]
    if isinstance(a, Keypoints):
        flags = [0, 1, 2] if a.visibility else [0, 2]
        out += [
            _row("syntactic.keypoint_name_in_set", ch, "keypoints", "ExpectColumnValuesToBeInSet",
                 {"column": "name", "value_set": list(a.keypoints), "mostly": t},
                 "키포인트 이름이 정의된 값", "keypoint name in the spec's keypoints", t),
            _row("syntactic.keypoint_visibility", ch, "keypoints", "ExpectColumnValuesToBeInSet",
                 {"column": "visible", "value_set": flags, "mostly": t},
                 "키포인트 가시성 값", f"visibility flag in {flags}", t),
            _row("syntactic.keypoint_placed", ch, "keypoints", "ExpectLabelledKeypointsPlaced",
                 {"column": "placement_ok", "mostly": t},
                 "표시된 키포인트에 좌표 있음", "a visible or occluded keypoint has coordinates", t),
            _row("syntactic.keypoint_inside", ch, "keypoints", "ExpectGeometryInsideMedia",
                 {"column": "outside_px", "max_value": 0.0, "mostly": t},
                 "키포인트가 이미지 안", "keypoints inside the image", t),
            _row("syntactic.keypoint_complete", ch, "keypoints", "ExpectColumnValuesToBeBetween",
                 {"column": "name_count", "min_value": 1, "max_value": 1, "mostly": t},
                 "객체마다 키포인트 1회씩", "each keypoint listed once per object", t),
        ]
    if isinstance(a, Segmentation):
        out += [
            _row("syntactic.mask_rle_covers_image", ch, "masks", "ExpectMaskRleToCoverMask",
                 {"column_A": "rle_pixels", "column_B": "mask_pixels", "mostly": t},
                 "마스크 RLE 길이 = 픽셀 수", "mask RLE covers width x height pixels", t),
            _row("syntactic.mask_width", ch, "masks", "ExpectColumnPairValuesToBeEqual",
                 {"column_A": "width", "column_B": "image_width", "mostly": t},
                 "마스크 너비 = 이미지 너비", "mask width equals image width", t),
            _row("syntactic.mask_height", ch, "masks", "ExpectColumnPairValuesToBeEqual",
                 {"column_A": "height", "column_B": "image_height", "mostly": t},
                 "마스크 높이 = 이미지 높이", "mask height equals image height", t),
            _row("syntactic.mask_not_empty", ch, "masks", "ExpectColumnValuesToBeBetween",
                 {"column": "area", "min_value": 1, "mostly": t},
                 "마스크에 칠한 픽셀 있음", "mask has painted pixels", t),
            _row("syntactic.mask_background_not_label", ch, "masks", "ExpectColumnValuesToNotBeInSet",
                 {"column": "label", "value_set": [a.background], "mostly": t},
                 "배경은 마스크 클래스가 아님", "no mask of the background class", t),
        ]
    return out


def _text_labels(spec: DatasetSpec, ch: str, t: float) -> list[Check]:
    a = spec.annotation
    out: list[Check] = []
    if isinstance(a, NER):
        out += _span_checks("syntactic.entity", "개체", "entity", "spans", ch, t)
    if isinstance(a, QA):
        out += [
            _row("syntactic.qa_question", ch, "qa", "ExpectColumnValuesToBeBetween",
                 {"column": "question_chars", "min_value": 1, "mostly": t},
                 "질문이 비어 있지 않음", "question non-empty", t),
            _row("syntactic.qa_count", ch, "items", "ExpectColumnValuesToBeBetween",
                 {"column": "n_questions", "min_value": 1, "max_value": a.questions_per_item, "mostly": t},
                 "항목당 질문 수", f"1 to {a.questions_per_item} questions per item", t),
        ]
        answered = 1.0 - a.unanswerable_share
        out.append(_row("syntactic.qa_answer", ch, "qa", "ExpectColumnValuesToBeBetween",
                        {"column": "answer_chars", "min_value": 1, "mostly": min(t, answered)},
                        "답변이 비어 있지 않음", "answer non-empty", min(t, answered),
                        note="" if answered >= t else f"the spec plans {a.unanswerable_share:.0%} unanswerable"))
        if a.style == "extractive":
            out += [
                _row("syntactic.qa_answer_inside", ch, "qa", "ExpectColumnPairValuesAToBeGreaterThanB",
                     {"column_A": "text_chars", "column_B": "answer_end", "or_equal": True, "mostly": t},
                     "답변 위치가 본문 안", "answer offsets inside the text", t),
                _row("syntactic.qa_answer_matches", ch, "qa", "ExpectSpanTextToMatchSource",
                     {"column": "span_ok", "mostly": t},
                     "답변 위치의 본문 = 답변", "the text at the answer offset is the answer", t),
            ]
    if isinstance(a, Summarisation | Translation):
        col = "summary" if isinstance(a, Summarisation) else "translation"
        out += [
            _row(f"syntactic.{col}_present", ch, "items", "ExpectColumnValuesToNotBeNull",
                 {"column": f"{col}_chars", "mostly": t}, "결과 존재", f"{col} present", t),
            _row(f"syntactic.{col}_length", ch, "items", "ExpectColumnValuesToBeBetween",
                 {"column": f"{col}_chars", "min_value": 1,
                  "max_value": a.max_summary_chars if isinstance(a, Summarisation) else None, "mostly": t},
                 "결과 길이", f"{col} non-empty" + (f", at most {a.max_summary_chars} chars"
                                                  if isinstance(a, Summarisation) else ""), t),
        ]
        if isinstance(a, Translation):
            out.append(_row("syntactic.translation_not_source", ch, "items", "ExpectColumnValuesToBeInSet",
                            {"column": "translation_is_source", "value_set": [False], "mostly": t},
                            "원문을 그대로 옮기지 않음", "translation differs from the source text", t))
    if isinstance(a, DialogueIntent) and text_modality(spec) is not None:
        out.append(_row("syntactic.dialogue_turns", ch, "items", "ExpectColumnValuesToBeBetween",
                        {"column": "n_turns", "min_value": 1, "mostly": t},
                        "대화 발화 존재", "dialogue has at least one turn", t))
    return out


def _span_checks(prefix: str, ko: str, en: str, frame: Frame, ch: str, t: float) -> list[Check]:
    return [
        _row(f"{prefix}_start", ch, frame, "ExpectColumnValuesToBeBetween",
             {"column": "start", "min_value": 0, "mostly": t}, f"{ko} 시작 위치 ≥ 0", f"{en} start >= 0", t),
        _row(f"{prefix}_order", ch, frame, "ExpectColumnPairValuesAToBeGreaterThanB",
             {"column_A": "end", "column_B": "start", "or_equal": False, "mostly": t},
             f"{ko} 끝 > 시작", f"{en} end > start (not empty)", t),
        _row(f"{prefix}_inside", ch, frame, "ExpectColumnPairValuesAToBeGreaterThanB",
             {"column_A": "text_chars", "column_B": "end", "or_equal": True, "mostly": t},
             f"{ko} 위치가 본문 안", f"{en} offsets inside the text", t),
        _row(f"{prefix}_matches", ch, frame, "ExpectSpanTextToMatchSource",
             {"column": "span_ok", "mostly": t},
             f"{ko} 위치의 본문 = {ko} 문자열", f"the text at the {en} offsets is the {en}'s text", t),
    ]


def _timed(spec: DatasetSpec, ch: str, t: float) -> list[Check]:
    a = spec.annotation
    out: list[Check] = []
    if isinstance(a, Transcription):
        out += [
            _row("syntactic.transcript_present", ch, "items", "ExpectColumnValuesToNotBeNull",
                 {"column": "transcript_chars", "mostly": t}, "전사 존재", "transcript present", t),
            _row("syntactic.transcript_length", ch, "items", "ExpectColumnValuesToBeBetween",
                 {"column": "transcript_chars", "min_value": 1, "max_value": a.max_chars, "mostly": t},
                 "전사가 비어 있지 않음", "transcript non-empty and within max_chars", t),
        ]
        if a.segments:
            out += [
                _row("syntactic.segment_start", ch, "segments", "ExpectColumnValuesToBeBetween",
                     {"column": "start", "min_value": 0, "mostly": t}, "구간 시작 ≥ 0", "segment start >= 0", t),
                _row("syntactic.segment_order", ch, "segments", "ExpectColumnPairValuesAToBeGreaterThanB",
                     {"column_A": "end", "column_B": "start", "or_equal": False, "mostly": t},
                     "구간 끝 > 시작", "segment end > start", t),
                _row("syntactic.segment_inside_clip", ch, "segments", "ExpectColumnPairValuesAToBeGreaterThanB",
                     {"column_A": "clip_duration_s", "column_B": "end", "or_equal": True, "mostly": t},
                     "구간이 음성 길이 안", "segment end <= clip duration", t),
            ]
            if a.speaker_labels:
                out += [
                    _row("syntactic.segment_speaker_present", ch, "segments", "ExpectColumnValuesToNotBeNull",
                         {"column": "speaker", "mostly": t}, "구간마다 화자 표시",
                         "every segment names its speaker", t),
                    _row("syntactic.segment_speaker_in_set", ch, "segments", "ExpectColumnValuesToBeInSet",
                         {"column": "speaker", "value_set": a.speakers, "mostly": t},
                         "화자 표시가 정의된 값(화자1..N)", "speaker label in 화자1..화자N (no names)", t),
                ]
            if a.dialect_tags:
                out.append(_row("syntactic.segment_dialect_in_set", ch, "segments", "ExpectColumnValuesToBeInSet",
                                {"column": "dialect", "value_set": list(a.dialect_tags), "mostly": t},
                                "방언 태그가 정의된 값", "dialect tag in the spec's set", t))
    if isinstance(a, TemporalEvents | TimeseriesLabels):
        instant_ok = isinstance(a, TimeseriesLabels)
        out += [
            _row("syntactic.event_start", ch, "events", "ExpectColumnValuesToBeBetween",
                 {"column": "start", "min_value": 0, "mostly": t}, "구간 시작 ≥ 0", "event start >= 0", t),
            _row("syntactic.event_order", ch, "events", "ExpectColumnPairValuesAToBeGreaterThanB",
                 {"column_A": "end", "column_B": "start", "or_equal": instant_ok, "mostly": t},
                 "구간 끝 ≥ 시작" if instant_ok else "구간 끝 > 시작",
                 "event end >= start" if instant_ok else "event end > start", t),
            _row("syntactic.event_inside_clip", ch, "events", "ExpectColumnPairValuesAToBeGreaterThanB",
                 {"column_A": "clip_duration_s", "column_B": "end", "or_equal": True, "mostly": t},
                 "구간이 미디어 길이 안", "event end <= media duration", t),
        ]
        if isinstance(a, TemporalEvents):
            out.append(_row("syntactic.event_min_length", ch, "events", "ExpectColumnValuesToBeBetween",
                            {"column": "length", "min_value": a.min_event_s, "mostly": t},
                            "최소 구간 길이", f"event at least {a.min_event_s} s", t))
    return out


def _metadata(spec: DatasetSpec, ch: str, t: float) -> list[Check]:
    out: list[Check] = []
    for name, column in spec.columns.items():
        cid = f"syntactic.meta.{name}"
        if column.required:
            out.append(_row(f"{cid}.required", ch, "items", "ExpectColumnValuesToNotBeNull",
                            {"column": name, "mostly": t}, f"필수 메타데이터 '{name}' 존재",
                            f"required metadata '{name}' present", t))
        if isinstance(column, EnumColumn):
            out.append(_row(f"{cid}.in_set", ch, "items", "ExpectColumnValuesToBeInSet",
                            {"column": name, "value_set": list(column.values), "mostly": t},
                            f"'{name}' 값이 정의된 목록에 속함", f"'{name}' in its value set", t))
        elif isinstance(column, IntColumn | FloatColumn) and (column.min, column.max) != (None, None):
            out.append(_row(f"{cid}.range", ch, "items", "ExpectColumnValuesToBeBetween",
                            {"column": name, "min_value": column.min, "max_value": column.max, "mostly": t},
                            f"'{name}' 값 범위", f"'{name}' within [{column.min}, {column.max}]", t))
        elif isinstance(column, StringColumn):
            out.append(_row(f"{cid}.length", ch, "items", "ExpectColumnValueLengthsToBeBetween",
                            {"column": name, "max_value": column.max_length, "mostly": t},
                            f"'{name}' 길이", f"'{name}' at most {column.max_length} chars", t))
            if column.pattern:
                out.append(_row(f"{cid}.pattern", ch, "items", "ExpectColumnValuesToMatchRegex",
                                {"column": name, "regex": column.pattern, "mostly": t},
                                f"'{name}' 형식", f"'{name}' matches its pattern", t))
        elif isinstance(column, BoolColumn):
            pass  # the Arrow type already guarantees a bool
    return out


# ------------------------------------------------------------------------------------------- technical


def _technical(spec: DatasetSpec) -> list[Check]:
    ch = "technical_conformity"
    t = spec.quality.technical_conformity
    out: list[Check] = []
    m = media_modality(spec)
    if m is not None:
        exts = sorted({e for f in m.formats for e in FORMAT_EXTENSIONS.get(f, (f,))})
        out += [
            _row("technical.media_present", ch, "items", "ExpectColumnValuesToNotBeNull",
                 {"column": "media_key", "mostly": t}, "미디어 파일 존재", "media file present", t),
            _row("technical.media_format", ch, "items", "ExpectColumnValuesToBeInSet",
                 {"column": "media_ext", "value_set": exts, "mostly": t}, "파일 형식", f"format in {exts}", t),
        ]
    if isinstance(m, ImageModality | VideoModality):
        max_w = getattr(m, "max_width", None)
        max_h = getattr(m, "max_height", None)
        out += [
            _row("technical.width", ch, "items", "ExpectColumnValuesToBeBetween",
                 {"column": "width", "min_value": m.min_width, "max_value": max_w, "mostly": t},
                 "해상도(너비)", f"width >= {m.min_width} px", t),
            _row("technical.height", ch, "items", "ExpectColumnValuesToBeBetween",
                 {"column": "height", "min_value": m.min_height, "max_value": max_h, "mostly": t},
                 "해상도(높이)", f"height >= {m.min_height} px", t),
        ]
    if isinstance(m, AudioModality):
        out.append(_row("technical.sample_rate", ch, "items", "ExpectColumnValuesToBeInSet",
                        {"column": "sample_rate", "value_set": list(m.sample_rates), "mostly": t},
                        "샘플링 레이트", f"sample rate in {list(m.sample_rates)}", t))
    if isinstance(m, AudioModality | VideoModality | TimeseriesModality):
        # The same slack as intake: a series or a clip may end one sample or frame short of (or past) a round
        # duration, and a spec's sampling rate is often a rounded 1/60 Hz. PCM audio is measured exactly.
        slack = (1 / m.sampling_hz if isinstance(m, TimeseriesModality)
                 else 1 / m.min_fps if isinstance(m, VideoModality) else 0.0)
        out.append(_row("technical.duration", ch, "items", "ExpectColumnValuesToBeBetween",
                        {"column": "duration_s", "min_value": m.min_duration_s - slack,
                         "max_value": m.max_duration_s + slack, "mostly": t},
                        "길이(초)", f"duration in [{m.min_duration_s}, {m.max_duration_s}] s", t))
    if m is not None and not isinstance(m, TimeseriesModality):
        # A media item without its measured size/duration cannot be checked: that is itself a defect.
        col = "duration_s" if isinstance(m, AudioModality) else "width"
        out.append(_row("technical.media_measured", ch, "items", "ExpectColumnValuesToNotBeNull",
                        {"column": col, "mostly": t}, "미디어 속성 측정됨", f"media {col} recorded", t))
    out += _component_technical(spec, ch, t)
    tm = text_modality(spec)
    if tm is not None:
        out += [
            _row("technical.text_present", ch, "items", "ExpectColumnValuesToNotBeNull",
                 {"column": "text_chars", "mostly": t}, "텍스트 존재", "text present", t),
            _row("technical.text_length", ch, "items", "ExpectColumnValuesToBeBetween",
                 {"column": "text_chars", "min_value": tm.min_chars, "max_value": tm.max_chars, "mostly": t},
                 "텍스트 길이", f"text length in [{tm.min_chars}, {tm.max_chars}]", t),
        ]
    return out


def component_kinds(spec: DatasetSpec) -> list[str]:
    """A multimodal item's media components besides its primary one (the record's ``components`` column)."""
    m = spec.modality
    if not isinstance(m, MultimodalModality):
        return []
    return [c.kind for c in m.components if c.kind not in (m.primary, "text")]


def _component_technical(spec: DatasetSpec, ch: str, t: float) -> list[Check]:
    """The other media components of a multimodal item (docs/adr/0024): present, and an audio component's sample
    rate and duration as its component modality says (columns ``<kind>_key``, ``<kind>_sample_rate`` ...)."""
    m = spec.modality
    out: list[Check] = []
    for kind in component_kinds(spec):
        assert isinstance(m, MultimodalModality)
        c = m.component(kind)
        out.append(_row(f"technical.{kind}_present", ch, "items", "ExpectColumnValuesToNotBeNull",
                        {"column": f"{kind}_key", "mostly": t}, f"{kind} 구성 요소 존재", f"{kind} component present",
                        t))
        if isinstance(c, AudioModality):
            out += [
                _row("technical.audio_sample_rate", ch, "items", "ExpectColumnValuesToBeInSet",
                     {"column": "audio_sample_rate", "value_set": list(c.sample_rates), "mostly": t},
                     "음성 구성 요소 샘플링 레이트", f"audio component sample rate in {list(c.sample_rates)}", t),
                _row("technical.audio_duration", ch, "items", "ExpectColumnValuesToBeBetween",
                     {"column": "audio_duration_s", "min_value": c.min_duration_s, "max_value": c.max_duration_s,
                      "mostly": t}, "음성 구성 요소 길이(초)",
                     f"audio component duration in [{c.min_duration_s}, {c.max_duration_s}] s", t),
            ]
    return out


# ---------------------------------------------------------------------- completeness, uniqueness, leakage


def _completeness(spec: DatasetSpec) -> list[Check]:
    t = spec.quality.completeness
    return [Check("completeness.delivered", "completeness", "run", "ExpectShareAtLeast",
                  {"column": "delivered_share", "min_value": t}, "계획 대비 정제 완료 항목",
                  "share of the run's planned items delivered as records", t, kind="summary",
                  measure_column="delivered_share", policy="final", requires_data=True,
                  note="planned = collect/plan.json; items quarantined at intake, de-identification or refine "
                       "are not delivered")]


def _uniqueness(spec: DatasetSpec) -> list[Check]:
    # No spec target: a dataset holds each item once. Collect dedupes exact content; a duplicate here means an
    # item was collected twice under different ids, or two runs' records were merged.
    ch = "uniqueness"
    out = [Check("uniqueness.item_id", ch, "items", "ExpectNoDuplicateInRun", {"column": "dup_item_id"},
                 "항목 ID 중복 없음", "item_id unique in the run", 1.0)]
    kind = content_kind(spec)
    if kind is not None:
        ko = "미디어 파일" if kind == "media" else "텍스트"
        out.append(Check("uniqueness.content", ch, "items", "ExpectNoDuplicateInRun", {"column": "dup_content"},
                         f"{ko} 중복 없음", f"no {kind} content delivered twice", 1.0,
                         note="content = media sha256" if kind == "media" else "content = the normalised text"))
    return out


def _leakage(spec: DatasetSpec) -> list[Check]:
    out: list[Check] = []
    group = spec.splits.group_by
    if group is not None and group not in ("label", "source_uri"):
        # A record without its group value is split as a group of its own: its speaker/plot/patient can then
        # sit in two splits. Every group member is planned together only when every record names its group.
        out.append(Check("split_leakage.group_present", "split_leakage", "items", "ExpectColumnValuesToNotBeNull",
                         {"column": group}, f"분할 그룹 '{group}' 값 존재",
                         f"every record names its split group '{group}'", 1.0))
    if content_kind(spec) is not None:
        out.append(Check("split_leakage.content", "split_leakage", "items", "ExpectNoSplitLeakage",
                         {"column": "leak_splits"}, "같은 내용이 두 분할에 없음",
                         "identical content never in two planned splits", 1.0,
                         note=f"planned splits recomputed with publish's split plan (group_by={group or 'item'})"))
    return out


# ------------------------------------------------------------------------------- conformity, diversity


def _conformity(spec: DatasetSpec, items: int) -> list[Check]:
    ch = "conformity"
    out = [
        Check("conformity.not_empty", ch, "run", "ExpectColumnValuesToBeBetween",
              {"column": "items", "min_value": 1}, "항목이 1개 이상", "the run delivered items", 1.0),
        Check("conformity.volume", ch, "run", "ExpectShareAtLeast",
              {"column": "volume_share", "min_value": spec.quality.conformity_volume},
              "구축량 달성률", f"records / target volume ({spec.target_volume:,})", spec.quality.conformity_volume,
              kind="summary", measure_column="volume_share", policy="final"),
    ]
    labels = spec.labels
    if labels:
        blocking = items >= len(labels)
        note = "" if blocking else (f"warning only: the run has {items} items for {len(labels)} labels, "
                                    "so some labels cannot all appear")
        out.append(Check("conformity.label_coverage", ch, "observed", "ExpectColumnDistinctValuesToContainSet",
                         {"column": "label", "value_set": list(labels)},
                         "모든 클래스가 1회 이상 등장", "every label of the spec appears at least once", 1.0,
                         blocking=blocking, note=note, policy="final"))
    return out


def _diversity(spec: DatasetSpec) -> list[Check]:
    tol = spec.quality.diversity_tolerance
    out = []
    for dim in spec.planned_shares:
        what = "클래스" if dim == "label" else f"'{dim}'"
        out.append(Check(f"diversity.{dim}", "diversity", f"shares:{dim}", "ExpectSharesWithinTolerance",
                         {"column": "abs_deviation", "max_value": tol},
                         f"{what} 비율이 계획 대비 허용 오차 안", f"{dim} shares within ±{tol:g} of planned",
                         tol, kind="summary", measure_column="abs_deviation", direction="max", policy="final",
                         meta={"dimension": dim}))
    return out


# ------------------------------------------------------------------------------- semantic and validity


def _semantic(spec: DatasetSpec) -> list[Check]:
    q = spec.quality
    out: list[Check] = []
    # Reviewers' verdicts and gold answers exist on the sampled items only; unsampled items are null, which GX
    # leaves out, so the share is taken over the sample as NIA defines it. No sample at all is "not measured".
    if q.semantic_accuracy is not None:
        out.append(Check("semantic.review_accepted", "semantic_accuracy", "items", "ExpectColumnValuesToBeInSet",
                         {"column": "qc_review", "value_set": ["accepted"], "mostly": q.semantic_accuracy},
                         "검수 합격률", "share of reviewed items accepted", q.semantic_accuracy,
                         requires_data=True, meta={"sample": "share"}, reworkable=True))
    if q.gold_accuracy is not None:
        out.append(Check("semantic.gold_correct", "gold_accuracy", "items", "ExpectColumnValuesToBeInSet",
                         {"column": "qc_gold_correct", "value_set": [True], "mostly": q.gold_accuracy},
                         "골드 문항 정답률", "share of gold tasks answered correctly", q.gold_accuracy,
                         requires_data=True, meta={"sample": "share"}, reworkable=True))
    if q.agreement is not None:
        # A mean over the overlap sample (ADR 0036); it names the overlap items below the target, which a rework
        # labels again by the planned number of annotators (ADR 0039).
        out.append(Check(AGREEMENT_CHECK, "agreement", "agreement", "ExpectShareAtLeast",
                         {"column": "mean_agreement", "min_value": q.agreement},
                         "중복 작업 항목의 평균 일치도", "mean agreement over items labelled by several annotators",
                         q.agreement, kind="summary", measure_column="mean_agreement", requires_data=True,
                         meta={"sample": "mean"}, reworkable=True))
    return out


def _validity(spec: DatasetSpec) -> list[Check]:
    v = spec.quality.validity
    if v is None:
        return []
    bound = "min_value" if v.higher_is_better else "max_value"
    return [Check("validity.baseline", "validity", "validity", "ExpectBaselineMetric",
                  {"column": "value", bound: v.target},
                  f"기준 모델 {v.metric}", f"baseline {v.metric} on the test split", v.target, kind="summary",
                  measure_column="value", direction="min" if v.higher_is_better else "max", requires_data=True,
                  policy="final", meta={"metric": v.metric})]
