"""The canonical record: one Arrow schema per spec, written by ``refine`` and read by ``validate`` and ``publish``.

Columns, in order:
- ``item_id``; ``media`` (struct: storage key, sha256, ext, width/height or duration/sample rate) or null for text;
  ``text`` for text items; ``dicom`` (technical attributes + display image key) for specs that accept DICOM;
- the label columns of the annotation type (see ``LABEL_FIELDS``), in pixels / seconds / character offsets;
- the spec's metadata columns, typed;
- QC columns ``qc_*``; provenance columns.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipelines.spec.models import DatasetSpec

MEDIA_TYPE = pa.struct(
    [
        pa.field("key", pa.string()),  # storage key under media/<dataset>/
        pa.field("sha256", pa.string()),
        pa.field("ext", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("duration_s", pa.float64()),
        pa.field("sample_rate", pa.int32()),
    ]
)

# Technical attributes of a DICOM item (what a medical-AI developer filters by) and its display image; none of them
# identifies a patient (PS3.15 Annex E keeps them). Null for the non-DICOM items of a spec.
DICOM_TYPE = pa.struct(
    [
        pa.field("modality", pa.string()),
        pa.field("body_part", pa.string()),
        pa.field("view", pa.string()),
        pa.field("laterality", pa.string()),
        pa.field("pixel_spacing_mm", pa.list_(pa.float64())),
        pa.field("slice_thickness_mm", pa.float64()),
        pa.field("manufacturer", pa.string()),
        pa.field("model", pa.string()),
        pa.field("kvp", pa.float64()),
        pa.field("frames", pa.int32()),
        pa.field("photometric", pa.string()),
        pa.field("bits_stored", pa.int32()),
        pa.field("transfer_syntax", pa.string()),
        pa.field("display_key", pa.string()),  # media/<ds>/<sha256>.png, the windowed image annotators saw
    ]
)
BOX = pa.struct([("label", pa.string()), ("x", pa.float64()), ("y", pa.float64()),
                 ("w", pa.float64()), ("h", pa.float64())])
POINT = pa.struct([("x", pa.float64()), ("y", pa.float64())])
SHAPE = pa.struct([("label", pa.string()), ("points", pa.list_(POINT))])
KEYPOINT = pa.struct([("name", pa.string()), ("x", pa.float64()), ("y", pa.float64()), ("visible", pa.int8())])
POSE = pa.struct([("label", pa.string()), ("keypoints", pa.list_(KEYPOINT))])
MASK = pa.struct([("label", pa.string()), ("rle", pa.list_(pa.int32())), ("width", pa.int32()),
                  ("height", pa.int32())])
SEGMENT = pa.struct([("start", pa.float64()), ("end", pa.float64()), ("text", pa.string()),
                     ("speaker", pa.string()), ("dialect", pa.string())])
SPAN = pa.struct([("label", pa.string()), ("start", pa.int32()), ("end", pa.int32()), ("text", pa.string())])
QA_PAIR = pa.struct([("question", pa.string()), ("answer", pa.string()), ("answer_start", pa.int32())])
EVENT = pa.struct([("label", pa.string()), ("start", pa.float64()), ("end", pa.float64())])
TURN = pa.struct([("speaker", pa.string()), ("text", pa.string()), ("intent", pa.string())])

# The label columns each annotation type adds to a record.
LABEL_FIELDS: dict[str, list[pa.Field]] = {
    "classification": [pa.field("label", pa.string())],
    "multi_label": [pa.field("labels", pa.list_(pa.string()))],
    "bbox": [pa.field("objects", pa.list_(BOX))],
    "polygon": [pa.field("polygons", pa.list_(SHAPE))],
    "polyline": [pa.field("polylines", pa.list_(SHAPE))],
    "keypoints": [pa.field("poses", pa.list_(POSE))],
    "segmentation": [pa.field("masks", pa.list_(MASK))],
    "transcription": [pa.field("transcript", pa.string()), pa.field("segments", pa.list_(SEGMENT))],
    "ner": [pa.field("entities", pa.list_(SPAN))],
    "qa": [pa.field("qa", pa.list_(QA_PAIR))],
    "summarisation": [pa.field("summary", pa.string())],
    "translation": [pa.field("translation", pa.string())],
    "dialogue_intent": [pa.field("turns", pa.list_(TURN)), pa.field("intent", pa.string())],
    "temporal_events": [pa.field("events", pa.list_(EVENT))],
    "timeseries_labels": [pa.field("events", pa.list_(EVENT))],
}

QC_FIELDS: list[pa.Field] = [
    pa.field("qc_annotators", pa.list_(pa.string())),
    pa.field("qc_n_annotations", pa.int32()),
    pa.field("qc_agreement", pa.float64()),  # item-level agreement on overlap items, else null
    pa.field("qc_consensus", pa.string()),  # single | majority | iou_cluster | best_transcript ...
    pa.field("qc_review", pa.string()),  # accepted | rejected | null (not sampled)
    pa.field("qc_gold", pa.bool_()),
    pa.field("qc_gold_correct", pa.bool_()),
]

PROVENANCE_FIELDS: list[pa.Field] = [
    pa.field("source_uri", pa.string()),
    pa.field("original_sha256", pa.string()),
    pa.field("collected_at", pa.timestamp("us", tz="UTC")),
    pa.field("license", pa.string()),
]

_COLUMN_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "enum": pa.string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


# Video geometry: per-keyframe boxes of tracks (``track``, Label Studio's 1-based ``frame``, ``t`` in seconds), and
# polygons / poses drawn on keyframe images (``frame``: the keyframe's position in ``meta.frames``).
VIDEO_BOX = pa.struct([*BOX, ("track", pa.int32()), ("frame", pa.int32()), ("t", pa.float64())])
VIDEO_LABEL_FIELDS: dict[str, list[pa.Field]] = {
    "bbox": [pa.field("objects", pa.list_(VIDEO_BOX))],
    "polygon": [pa.field("polygons", pa.list_(pa.struct([*SHAPE, ("frame", pa.int32())])))],
    "keypoints": [pa.field("poses", pa.list_(pa.struct([*POSE, ("frame", pa.int32())])))],
}


def label_fields(spec: DatasetSpec) -> list[pa.Field]:
    if spec.modality.kind == "video" and spec.annotation.type in VIDEO_LABEL_FIELDS:
        return list(VIDEO_LABEL_FIELDS[spec.annotation.type])
    return list(LABEL_FIELDS[spec.annotation.type])


def metadata_fields(spec: DatasetSpec) -> list[pa.Field]:
    return [pa.field(name, _COLUMN_TYPES[col.type]) for name, col in spec.columns.items()]


def record_schema(spec: DatasetSpec) -> pa.Schema:
    """The canonical record schema of a spec, with the spec id and version in the schema metadata."""
    fields: list[pa.Field] = [pa.field("item_id", pa.string(), nullable=False), pa.field("media", MEDIA_TYPE),
                              pa.field("text", pa.string())]
    if has_dicom(spec):
        fields.append(pa.field("dicom", DICOM_TYPE))
    fields += label_fields(spec) + metadata_fields(spec) + QC_FIELDS + PROVENANCE_FIELDS
    meta: dict[str | bytes, str | bytes] = {
        b"datadam.spec_id": spec.id.encode(),
        b"datadam.spec_version": spec.version.encode(),
        b"datadam.annotation_type": spec.annotation.type.encode(),
    }
    return pa.schema(fields, metadata=meta)


def has_dicom(spec: DatasetSpec) -> bool:
    """Whether the spec's records carry the ``dicom`` column (an image spec that accepts DICOM)."""
    return spec.modality.kind == "image" and "dicom" in getattr(spec.modality, "formats", [])


def dicom_columns(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The ``dicom`` struct of a record from a de-identified item's ``meta`` (``dicom`` facts, ``display`` key)."""
    facts = meta.get("dicom")
    if not isinstance(facts, dict):
        return None
    out = {f.name: facts.get(f.name) for f in DICOM_TYPE}
    out["display_key"] = meta.get("display")
    return out


def coerce_meta(spec: DatasetSpec, meta: dict[str, Any]) -> dict[str, Any]:
    """Values of the spec's metadata columns from a manifest's JSON ``meta`` (unknown keys dropped)."""
    return {name: meta.get(name) for name in spec.columns}
