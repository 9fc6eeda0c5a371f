"""The canonical record: one Arrow schema per spec, written by ``refine`` and read by ``validate`` and ``publish``.

Columns, in order:
- ``item_id``; ``media`` (struct: storage key, sha256, ext, width/height or duration/sample rate) or null for text;
  ``text`` for text items (and a multimodal item's text component); ``dicom`` (technical attributes + display image
  key) for specs that accept DICOM; ``components`` (the other media of a multimodal item) where it has some;
- the label columns of the annotation type (see ``LABEL_FIELDS``), in pixels / seconds / character offsets;
- the spec's metadata columns, typed;
- QC columns ``qc_*``; provenance columns.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipelines.annotations import REGISTRY
from pipelines.annotations.values import VIDEO_BOX, VIDEO_POSE, VIDEO_SHAPE
from pipelines.spec.models import DatasetSpec, ImageModality, MultimodalModality
from pipelines.storage.schemas import MEDIA_FACTS

MEDIA_TYPE = pa.struct(
    [
        pa.field("key", pa.string()),  # storage key under media/<dataset>/
        pa.field("sha256", pa.string()),
        pa.field("ext", pa.string()),
        *MEDIA_FACTS,
    ]
)

# The other media components of a multimodal item (docs/adr/0024): the audio beside a video ... The primary
# component is ``media``, a text component ``text``. Keys under media/<dataset>/, like ``media.key``.
COMPONENT_MEDIA_TYPE = pa.struct([pa.field("kind", pa.string()), *MEDIA_TYPE, pa.field("channels", pa.int32())])

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
        pa.field("frame_keys", pa.list_(pa.string())),  # the display PNG of every frame, in frame order
        # frame index (0-based, DICOM frame number - 1) of each region of the label column, in its order;
        # null unless the spec annotates multi-frame files frame by frame
        pa.field("region_frames", pa.list_(pa.int32())),
    ]
)
# The label value types (BOX, SHAPE, ...) live with the annotation types: pipelines/annotations/values.py.

# The label columns each annotation type adds to a record (a view of the annotation registry).
LABEL_FIELDS: dict[str, list[pa.Field]] = {t: list(k.label_fields) for t, k in REGISTRY.items()}

QC_FIELDS: list[pa.Field] = [
    pa.field("qc_annotators", pa.list_(pa.string())),
    pa.field("qc_n_annotations", pa.int32()),
    pa.field("qc_agreement", pa.float64()),  # item-level agreement on overlap items, else null
    pa.field("qc_consensus", pa.string()),  # label_pull's consensus_method: single | majority | iou_cluster ...
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


# The label columns of video specs: per-keyframe geometry (pipelines/annotations/values.py).
VIDEO_LABEL_FIELDS: dict[str, list[pa.Field]] = {
    "bbox": [pa.field("objects", pa.list_(VIDEO_BOX))],
    "polygon": [pa.field("polygons", pa.list_(VIDEO_SHAPE))],
    "keypoints": [pa.field("poses", pa.list_(VIDEO_POSE))],
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
    if has_components(spec):
        fields.append(pa.field("components", pa.list_(COMPONENT_MEDIA_TYPE)))
    fields += label_fields(spec) + metadata_fields(spec) + QC_FIELDS + PROVENANCE_FIELDS
    meta: dict[str | bytes, str | bytes] = {
        b"datadam.spec_id": spec.id.encode(),
        b"datadam.spec_version": spec.version.encode(),
        b"datadam.annotation_type": spec.annotation.type.encode(),
    }
    return pa.schema(fields, metadata=meta)


def has_components(spec: DatasetSpec) -> bool:
    """Whether the spec's records carry the ``components`` column: a multimodal item with a media component besides
    its primary one (video + audio); image + text items need none (the text is in ``text``)."""
    m = spec.modality
    return isinstance(m, MultimodalModality) and any(c.kind not in (m.primary, "text") for c in m.components)


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
    frames = meta.get("frames")
    out["frame_keys"] = [str(k) for k in frames] if isinstance(frames, list) else None
    out["region_frames"] = None
    return out


# Annotation types drawn frame by frame on a multi-frame DICOM (regions carry Label Studio's ``item_index``).
FRAME_REGION_TYPES = frozenset({"bbox", "polygon", "polyline", "keypoints"})


def dicom_max_frames(spec: DatasetSpec) -> int:
    """The spec's ``dicom.max_frames`` (1 for a spec that takes no DICOM)."""
    m = spec.modality
    return m.dicom_options().max_frames if isinstance(m, ImageModality) and "dicom" in m.formats else 1


def dicom_frame_by_frame(spec: DatasetSpec) -> bool:
    """Whether annotators page through every frame of a DICOM item (a spec with ``dicom.max_frames`` > 1):
    the task shows the frames' display images as one image list; regions carry their frame's index."""
    return dicom_max_frames(spec) > 1 and spec.annotation.type in (
        FRAME_REGION_TYPES | {"classification", "multi_label"})


def coerce_meta(spec: DatasetSpec, meta: dict[str, Any]) -> dict[str, Any]:
    """Values of the spec's metadata columns from a manifest's JSON ``meta`` (unknown keys dropped)."""
    return {name: meta.get(name) for name in spec.columns}
