"""The Arrow schemas that stages exchange through storage (never through imports of each other).

- item manifests: ``restricted/<ds>/runs/<run>/collect/part-NNNNN.parquet`` (un-masked, so restricted) and
  ``runs/<ds>/<run>/deidentify/part-NNNNN.parquet``
- quarantine: ``runs/<ds>/<run>/<stage>/quarantine-NNNNN.parquet``
- annotations pulled from Label Studio: ``runs/<ds>/<run>/label_pull/annotations.parquet``
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

# The technical facts of a media file, in every struct that describes one: an item, a component, a released media.
MEDIA_FACTS = (
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("duration_s", pa.float64()),
    pa.field("sample_rate", pa.int32()),
)

# A component of a multimodal item other than the primary (``media_*`` columns) and the text (``text``): the audio
# of a video + audio item, say (docs/adr/0024). ``key``/``sha256`` follow the item: restricted/ after collect,
# media/ after de-identification.
COMPONENT_TYPE = pa.struct(
    [
        pa.field("kind", pa.string(), nullable=False),  # image | video | audio | timeseries
        pa.field("key", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("original_sha256", pa.string()),
        pa.field("ext", pa.string()),
        *MEDIA_FACTS,
        pa.field("channels", pa.int32()),
    ]
)

ITEM_SCHEMA = pa.schema(
    [
        pa.field("item_id", pa.string(), nullable=False),  # stable across runs: derived from the source identity
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("shard", pa.int32(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("media_key", pa.string()),  # restricted/... after collect, media/... after de-identification
        pa.field("media_sha256", pa.string()),  # sha256 of the bytes at media_key
        pa.field("original_sha256", pa.string()),  # sha256 of the bytes as collected (provenance)
        pa.field("media_ext", pa.string()),
        pa.field("text", pa.string()),  # text items; transcripts of audio when the source supplies one
        *MEDIA_FACTS,
        pa.field("channels", pa.int32()),
        pa.field("meta", pa.string()),  # JSON object: values of the spec's schema columns
        pa.field("truth", pa.string()),  # JSON: answer known to the source (synthetic ground truth), else null
        pa.field("collected_at", TS, nullable=False),
        pa.field("license", pa.string()),
        pa.field("collector", pa.string()),  # collector name and version
        pa.field("deid", pa.string()),  # JSON audit record written by de-identification
        pa.field("components", pa.list_(COMPONENT_TYPE)),  # multimodal items: the other media components
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),  # a reason code, e.g. media.truncated, pii.unmasked
        pa.field("detail", pa.string()),
        pa.field("source_uri", pa.string()),
        pa.field("at", TS, nullable=False),
    ]
)

ANNOTATION_SCHEMA = pa.schema(
    [
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("task_id", pa.int64(), nullable=False),
        pa.field("project_id", pa.int64(), nullable=False),
        pa.field("annotation_id", pa.int64(), nullable=False),
        pa.field("annotator", pa.string(), nullable=False),  # stable annotator key (Label Studio user id / e-mail)
        pa.field("result", pa.string(), nullable=False),  # JSON list: Label Studio result regions
        pa.field("ground_truth", pa.bool_()),
        pa.field("was_cancelled", pa.bool_()),
        pa.field("lead_time_s", pa.float64()),
        pa.field("created_at", TS),
        pa.field("updated_at", TS),
        pa.field("role", pa.string()),  # annotate | gold | review
    ]
)


# Per-item QC of a run's annotations (label_pull's qc.parquet; refine releases its consensus_result).
QC_SCHEMA = pa.schema([
    pa.field("item_id", pa.string(), nullable=False),
    pa.field("n_annotations", pa.int32()),
    pa.field("annotators", pa.list_(pa.string())),
    # single | gold | majority | no_majority | majority_spans | iou_cluster | best_agreeing | best_agreeing_text |
    # best_agreeing_tracks | best_agreeing_text_majority_speaker
    pa.field("consensus_method", pa.string()),
    pa.field("consensus", pa.string()),  # JSON of the consensus value (QC's comparison form)
    # JSON of the consensus as Label Studio result regions (qc.consensus_result): what refine releases; null when
    # there is none (no majority)
    pa.field("consensus_result", pa.string()),
    pa.field("agreement", pa.float64()),  # mean pairwise agreement on overlap items, else null
    pa.field("gold", pa.bool_()),
    pa.field("gold_correct", pa.bool_()),  # the consensus matches the gold answer; null off the gold sample
    pa.field("review", pa.string()),  # accepted | rejected | null (not reviewed)
    pa.field("review_reasons", pa.list_(pa.string())),
])  # fmt: skip


# Each record's planned split, in record order (validate's splits.parquet): an index into the spec's splits in
# publish's order (train, validation, test; zero-ratio splits left out).
SPLIT_SCHEMA = pa.schema([pa.field("split", pa.int8(), nullable=False)])


def now() -> datetime:
    return datetime.now(UTC)


def dumps(obj: Any) -> str:
    """Compact, deterministic JSON for manifest cells (Korean kept readable)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table from row dicts; missing keys become nulls, unknown keys are an error."""
    names = set(schema.names)
    for r in rows:
        extra = set(r) - names
        if extra:
            raise KeyError(f"columns not in the schema: {sorted(extra)}")
    return pa.Table.from_pylist(rows, schema=schema)
