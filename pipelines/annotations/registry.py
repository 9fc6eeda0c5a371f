"""One entry per annotation type: what the type *is*, in one place.

Each :class:`AnnotationKind` owns its canonical label columns (Arrow), the Label Studio control names its
interface uses, how QC measures agreement on it (the dataset-level metric and the agreement at which an answer
counts as correct against a gold answer or a reviewer's standard) and its Korean name. The tables the stages
used to keep side by side (``LABEL_FIELDS``, ``CONTROL_NAMES``, ``METRICS``, ``CORRECT_AT``, the struct label
columns, the card's Korean names) are views of :data:`REGISTRY`; a unit test checks it against the spec model's
annotation union in both directions.

Layering: spec < annotations < stages. This package imports the spec model and pyarrow only, never a stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

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
        classes: The scalar or list-of-string column holding its class labels, for types whose label columns are
            not structs (classification, multi-label, dialogue intent); see :attr:`class_column`.
    """

    name: str
    ko: str
    label_fields: tuple[pa.Field, ...]
    controls: tuple[str, ...]
    metric: str
    correct_at: float
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
# One line per type. Adding a type: its line here, plus the stage wiring keyed by the name (README, "Adding an
# annotation type").
REGISTRY: dict[str, AnnotationKind] = {k.name: k for k in (
    AnnotationKind("classification", "분류", (_f("label", _S),), ("label",), "krippendorff_alpha", 1.0, "label"),
    AnnotationKind("multi_label", "다중 레이블 분류", (_f("labels", pa.list_(_S)),), ("labels",),
                   "krippendorff_alpha_per_label", 1.0, "labels"),
    AnnotationKind("bbox", "바운딩 박스", (_f("objects", pa.list_(BOX)),), ("label",), "iou_f1", 1.0),
    AnnotationKind("polygon", "폴리곤", (_f("polygons", pa.list_(SHAPE)),), ("label",), "iou_f1", 1.0),
    AnnotationKind("polyline", "폴리라인", (_f("polylines", pa.list_(SHAPE)),), ("label",), "iou_f1", 1.0),
    AnnotationKind("keypoints", "키포인트", (_f("poses", pa.list_(POSE)),), ("label", "keypoint"), "oks", 0.75),
    AnnotationKind("segmentation", "세그멘테이션", (_f("masks", pa.list_(MASK)),), ("label",), "mask_iou", 0.75),
    AnnotationKind("transcription", "전사", (_f("transcript", _S), _f("segments", pa.list_(SEGMENT))),
                   ("transcript",), "1-cer", 0.9),
    AnnotationKind("ner", "개체명 인식", (_f("entities", pa.list_(SPAN)),), ("label",), "span_f1", 1.0),
    AnnotationKind("qa", "질의응답", (_f("qa", pa.list_(QA_PAIR)),), ("question", "answer"), "1-cer", 0.9),
    AnnotationKind("summarisation", "요약", (_f("summary", _S),), ("summary",), "1-cer", 0.5),
    AnnotationKind("translation", "번역 쌍", (_f("translation", _S),), ("translation",), "1-cer", 0.7),
    AnnotationKind("dialogue_intent", "대화 의도", (_f("turns", pa.list_(TURN)), _f("intent", _S)), ("intent",),
                   "krippendorff_alpha", 1.0, "intent"),
    AnnotationKind("temporal_events", "구간 이벤트", (_f("events", pa.list_(EVENT)),), ("label",), "segment_f1", 1.0),
    AnnotationKind("timeseries_labels", "시계열 구간 레이블", (_f("events", pa.list_(EVENT)),), ("label",),
                   "segment_f1", 1.0),
)}  # fmt: skip


def kind(name: str) -> AnnotationKind:
    """The registry entry of an annotation type.

    Raises:
        KeyError: for a name the registry does not hold (the spec model rejects such specs first).
    """
    return REGISTRY[name]
