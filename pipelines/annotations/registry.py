"""One entry per annotation type: what the type *is*, in one place.

Each :class:`AnnotationKind` owns its canonical label columns (Arrow), the Label Studio control names its
interface uses, how QC measures agreement on it (the dataset-level metric and the agreement at which an answer
counts as correct against a gold answer or a reviewer's standard), its Korean name, and its code: the
:class:`~pipelines.annotations.code.TypeCode` of its module under ``pipelines/annotations/types/`` (config
builder, QC extract / agreement / consensus, converter, reference result from ground truth). ``BUILDERS``,
``CONVERTERS``, QC's dispatch and ``from_truth`` are views of it. The tables the stages
used to keep side by side (``LABEL_FIELDS``, ``CONTROL_NAMES``, ``METRICS``, ``CORRECT_AT``, the struct label
columns, the card's Korean names) are views of :data:`REGISTRY`; a unit test checks it against the spec model's
annotation union in both directions.

Layering: spec < annotations < stages. This package imports the spec model (and pyarrow, numpy, the Label Studio
SDK's RLE codec), never a stage; the registry fails to import when a type's code lacks a required piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from pipelines.annotations.code import TypeCode, missing_pieces
from pipelines.annotations.types import geometry, labels, segmentation, text, timed, transcription
from pipelines.annotations.values import BOX, EVENT, MASK, POSE, QA_PAIR, SEGMENT, SHAPE, SPAN, TURN


@dataclass(frozen=True)
class AnnotationKind:
    """One annotation type of the spec model.

    Attributes:
        name: The spec's ``annotation.type``.
        ko: Its Korean name (dataset cards).
        label_fields: The label columns it adds to a canonical record, in order.
        controls: The Label Studio control names of its interface (a contract between the label config, refine's
            converter and the simulator); optional extra controls are named in the config builder.
        metric: The dataset-level agreement measure QC reports for it.
        correct_at: Agreement with a reference from which one answer counts as correct (gold, review standard).
        code: The type's code (its module's :class:`~pipelines.annotations.code.TypeCode`).
        classes: The scalar or list-of-string column holding its class labels, for types whose label columns are
            not structs (classification, multi-label, dialogue intent); see :attr:`class_column`.
    """

    name: str
    ko: str
    label_fields: tuple[pa.Field, ...]
    controls: tuple[str, ...]
    metric: str
    correct_at: float
    code: TypeCode
    classes: str | None = None

    @property
    def class_column(self) -> str | None:
        """The column the spec's labels appear in (stratification, label checks); None for free text."""
        return self.classes or self.struct_label_column

    @property
    def struct_label_column(self) -> str | None:
        """The list-of-struct label column whose structs carry a ``label`` (boxes, shapes, spans, events ...)."""
        for f in self.label_fields:
            t = f.type
            if pa.types.is_list(t) and pa.types.is_struct(t.value_type) and \
                    t.value_type.get_field_index("label") >= 0:
                return str(f.name)
        return None


def _f(name: str, type_: pa.DataType) -> pa.Field:
    return pa.field(name, type_)


_S = pa.string()
# One line per type, pointing to its code in pipelines/annotations/types/ (README, "Adding an annotation type").
REGISTRY: dict[str, AnnotationKind] = {k.name: k for k in (
    AnnotationKind("classification", "분류", (_f("label", _S),), ("label",), "krippendorff_alpha", 1.0,
                   labels.CLASSIFICATION, "label"),
    AnnotationKind("multi_label", "다중 레이블 분류", (_f("labels", pa.list_(_S)),), ("labels",),
                   "krippendorff_alpha_per_label", 1.0, labels.MULTI_LABEL, "labels"),
    AnnotationKind("bbox", "바운딩 박스", (_f("objects", pa.list_(BOX)),), ("label",), "iou_f1", 1.0,
                   geometry.BBOX),
    AnnotationKind("polygon", "폴리곤", (_f("polygons", pa.list_(SHAPE)),), ("label",), "iou_f1", 1.0,
                   geometry.POLYGON),
    AnnotationKind("polyline", "폴리라인", (_f("polylines", pa.list_(SHAPE)),), ("label",), "iou_f1", 1.0,
                   geometry.POLYLINE),
    AnnotationKind("keypoints", "키포인트", (_f("poses", pa.list_(POSE)),), ("label", "keypoint"), "oks", 0.75,
                   geometry.KEYPOINTS),
    AnnotationKind("segmentation", "세그멘테이션", (_f("masks", pa.list_(MASK)),), ("label",), "mask_iou", 0.75,
                   segmentation.SEGMENTATION),
    AnnotationKind("transcription", "전사", (_f("transcript", _S), _f("segments", pa.list_(SEGMENT))),
                   ("transcript",), "1-cer", 0.9, transcription.TRANSCRIPTION),
    AnnotationKind("ner", "개체명 인식", (_f("entities", pa.list_(SPAN)),), ("label",), "span_f1", 1.0,
                   text.NER_SPANS),
    AnnotationKind("qa", "질의응답", (_f("qa", pa.list_(QA_PAIR)),), ("question", "answer"), "1-cer", 0.9,
                   text.QA_PAIRS),
    AnnotationKind("summarisation", "요약", (_f("summary", _S),), ("summary",), "1-cer", 0.5,
                   text.SUMMARY),
    AnnotationKind("translation", "번역 쌍", (_f("translation", _S),), ("translation",), "1-cer", 0.7,
                   text.TRANSLATION),
    AnnotationKind("dialogue_intent", "대화 의도", (_f("turns", pa.list_(TURN)), _f("intent", _S)), ("intent",),
                   "krippendorff_alpha", 1.0, labels.DIALOGUE_INTENT, "intent"),
    AnnotationKind("temporal_events", "구간 이벤트", (_f("events", pa.list_(EVENT)),), ("label",), "segment_f1", 1.0,
                   timed.TEMPORAL_EVENTS),
    AnnotationKind("timeseries_labels", "시계열 구간 레이블", (_f("events", pa.list_(EVENT)),), ("label",),
                   "segment_f1", 1.0, timed.TIMESERIES_LABELS),
)}  # fmt: skip


_INCOMPLETE = {n: missing for n, k in REGISTRY.items() if (missing := missing_pieces(k.code))}
if _INCOMPLETE:
    raise TypeError(f"annotation types whose code lacks required pieces: {_INCOMPLETE}")


def kind(name: str) -> AnnotationKind:
    """The registry entry of an annotation type.

    Raises:
        KeyError: for a name the registry does not hold (the spec model rejects such specs first).
    """
    return REGISTRY[name]
