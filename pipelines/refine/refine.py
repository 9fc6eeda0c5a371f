"""Refine (정제): de-identified items + Label Studio annotations -> canonical records of ``record_schema(spec)``."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from pipelines.pii.pseudonyms import Pseudonyms
from pipelines.refine.convert import CONVERTERS, InvalidLabel, MediaFacts, normalise_text
from pipelines.refine.deid import TypedTextRules, mask_record, mute_spoken
from pipelines.refine.frames import by_frame
from pipelines.spec.models import DatasetSpec, MultimodalModality
from pipelines.storage import ObjectStore, artifacts, layout
from pipelines.storage.records import (
    COMPONENT_MEDIA_TYPE,
    coerce_meta,
    dicom_columns,
    dicom_frame_by_frame,
    has_components,
    has_dicom,
    record_schema,
)
from pipelines.storage.schemas import QUARANTINE_SCHEMA, now

_BATCH = 2_000
# restricted/<ds>/runs/<run>/refine/: how a contractor gets from a released record back to its original and
# from an annotator's pseudonym to the Label Studio user.
PROVENANCE_MAP = pa.schema([pa.field("item_id", pa.string(), nullable=False), pa.field("source_uri", pa.string()),
                            pa.field("source_pseudonym", pa.string()), pa.field("original_sha256", pa.string())])
ANNOTATOR_MAP = pa.schema([pa.field("pseudonym", pa.string(), nullable=False), pa.field("annotator", pa.string())])


@dataclass(frozen=True)
class RefineResult:
    """What refine wrote; ``items_in == records + quarantined``."""

    records_key: str
    quarantine_key: str
    items_in: int
    records: int
    quarantined: int
    reasons: dict[str, int]
    masked: dict[str, int] = field(default_factory=dict)  # personal data masked in annotator-typed text, by kind


def _load_annotations(store: ObjectStore, dataset: str, run_id: str) -> dict[str, list[dict[str, Any]]]:
    by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not artifacts.LABEL_ANNOTATIONS.exists(store, dataset, run_id):
        return by_item
    cols = ["item_id", "annotator", "result", "was_cancelled", "ground_truth"]
    table = artifacts.LABEL_ANNOTATIONS.read(store, dataset, run_id, columns=cols)
    for row in table.to_pylist():
        if not row["was_cancelled"]:
            by_item[row["item_id"]].append(row)
    return by_item


def _load_qc(store: ObjectStore, dataset: str, run_id: str) -> dict[str, dict[str, Any]]:
    """The label stage's per-item QC (``artifacts.LABEL_QC``: agreement, consensus and how it was reached, review
    verdict, gold correctness), keyed by item id; empty when the run has none."""
    if not artifacts.LABEL_QC.exists(store, dataset, run_id):
        return {}
    cols = ["item_id", "agreement", "consensus_method", "consensus_result", "review", "gold", "gold_correct"]
    return {r["item_id"]: r for r in artifacts.LABEL_QC.read(store, dataset, run_id, columns=cols).to_pylist()}


def _typed_meta(spec: DatasetSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """The item's metadata as its columns' types. Intake refuses values that are not (``meta.invalid``); one that
    got here another way quarantines its item with the same reason instead of stopping the run."""
    out = coerce_meta(spec, raw)
    for name, col in spec.columns.items():
        v = out[name]
        if v is None:
            continue
        try:
            if col.type == "date" and isinstance(v, str):
                out[name] = date.fromisoformat(v[:10])
            elif col.type == "datetime" and isinstance(v, str):
                out[name] = datetime.fromisoformat(v)
            elif col.type == "int":
                out[name] = int(v)
            elif col.type == "float":
                out[name] = float(v)
            elif col.type in ("string", "enum"):
                out[name] = normalise_text(str(v))
        except (TypeError, ValueError):
            raise InvalidLabel("meta.invalid", f"column {name!r}: a value that is not {col.type}") from None
    return out


def _record(spec: DatasetSpec, item: dict[str, Any], anns: list[dict[str, Any]], q: dict[str, Any] | None,
            names: Pseudonyms) -> dict[str, Any]:
    """One canonical record: the label is label_pull's consensus (``q``) through the type's converter, whose
    checks it must pass. An annotation the consensus left out (an outvoted answer, a stray box) is not released,
    so it is not checked here; QC has already counted it as disagreement."""
    convert = CONVERTERS.get(spec.annotation.type)
    if convert is None:
        raise InvalidLabel("refine.unsupported_type", f"no converter for {spec.annotation.type!r} yet")
    if not anns:
        raise InvalidLabel("label.missing", "no submitted annotation")
    media = MediaFacts(item["width"], item["height"], item["duration_s"], item["text"])
    if q is None or q["consensus_result"] is None:
        how = f"method {q['consensus_method']}" if q else "no QC row from label_pull"
        raise InvalidLabel("label.no_consensus", f"{len(anns)} annotations, no consensus ({how})")
    region_frames = None
    if dicom_frame_by_frame(spec):  # a multi-frame DICOM: regions converted frame by frame (refine/frames.py)
        value, region_frames = by_frame(spec, json.loads(q["consensus_result"]), media, convert)
    else:
        value = convert(spec, json.loads(q["consensus_result"]), media)
    # a text item's text, or a multimodal item's text component (a transcript of an audio item is not released:
    # its label is)
    released_text = not item["media_key"] or isinstance(spec.modality, MultimodalModality)
    text = normalise_text(item["text"]) if item["text"] is not None and released_text else None
    media_struct = None
    if item["media_key"]:
        media_struct = {"key": item["media_key"], "sha256": item["media_sha256"], "ext": item["media_ext"],
                        "width": item["width"], "height": item["height"], "duration_s": item["duration_s"],
                        "sample_rate": item["sample_rate"]}
    meta = json.loads(item["meta"] or "{}")
    columns = dicom_columns(meta) if has_dicom(spec) else None
    if columns is not None and region_frames is not None:
        columns["region_frames"] = region_frames
    extra: dict[str, Any] = {"dicom": columns} if has_dicom(spec) else {}
    if has_components(spec):  # the other media of a multimodal item, as de-identification keyed them
        extra["components"] = [{f.name: c.get(f.name) for f in COMPONENT_MEDIA_TYPE}
                               for c in item.get("components") or []]
    return {
        "item_id": item["item_id"],
        "media": media_struct,
        "text": text,
        **extra,
        **value,
        **_typed_meta(spec, json.loads(item["meta"] or "{}")),
        "qc_annotators": sorted({names.annotator(a["annotator"]) for a in anns}),
        "qc_n_annotations": len(anns),
        "qc_agreement": q["agreement"],
        "qc_consensus": q["consensus_method"],
        "qc_review": q["review"],
        "qc_gold": bool(q["gold"]),
        "qc_gold_correct": q["gold_correct"],
        # released columns name no original in restricted/: keyed pseudonyms keep equality (group_by, duplicates)
        "source_uri": names.source(item["source_uri"]),
        "original_sha256": names.digest(item["original_sha256"]) if item["original_sha256"] else None,
        "collected_at": item["collected_at"],
        "license": item["license"],
    }


def refine(*, spec: DatasetSpec, store: ObjectStore, run_id: str) -> RefineResult:
    """Turn this run's de-identified items and their annotations into canonical records.

    Items whose annotations are invalid (box outside the image, unknown class, empty transcript, none submitted)
    are quarantined with a reason code; counts reconcile. Streams the item manifests in bounded batches.
    Every text field annotators typed passes the text rules (:mod:`pipelines.refine.deid`); what was masked is
    counted by kind in ``summary.json`` (``masked``), which validate shows in the QA report.
    """
    records_key = artifacts.RECORDS.key(spec.id, run_id)
    quarantine_key = layout.run_file(spec.id, run_id, "refine", "quarantine.parquet")
    schema = record_schema(spec)
    annotations = _load_annotations(store, spec.id, run_id)
    qc = _load_qc(store, spec.id, run_id)
    rules = TypedTextRules.for_spec(spec)
    names = Pseudonyms.of_store(store)
    masked: Counter[str] = Counter()
    provenance: list[dict[str, Any]] = []  # the way back to the originals, kept in restricted/
    annotators: dict[str, str] = {}
    items = artifacts.ITEMS.dataset(store, spec.id, run_id)
    quarantine: list[dict[str, Any]] = []
    reasons: dict[str, int] = defaultdict(int)
    n_in = n_out = 0
    with artifacts.RECORDS.writer(store, spec, run_id) as writer:
        for batch in items.to_batches(batch_size=_BATCH):
            rows: list[dict[str, Any]] = []
            for item in batch.to_pylist():
                n_in += 1
                try:
                    anns = annotations.get(item["item_id"], [])
                    record = _record(spec, item, anns, qc.get(item["item_id"]), names)
                    found = mask_record(record, spec=spec, rules=rules)
                    muted = mute_spoken(record, found, store=store, dataset=spec.id)
                    rows.append(record)
                    masked.update(found.counts)
                    if muted:
                        masked["audio_segments"] += muted
                    provenance.append({"item_id": item["item_id"], "source_uri": item["source_uri"],
                                       "source_pseudonym": record["source_uri"],
                                       "original_sha256": item["original_sha256"]})
                    annotators.update((names.annotator(a["annotator"]), a["annotator"]) for a in anns)
                except InvalidLabel as exc:
                    reasons[exc.reason] += 1
                    quarantine.append({"item_id": item["item_id"], "stage": "refine", "reason": exc.reason,
                                       "detail": exc.detail, "source_uri": item["source_uri"], "at": now()})
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                n_out += len(rows)
    store.write_table(quarantine_key, pa.Table.from_pylist(quarantine, schema=QUARANTINE_SCHEMA))
    store.write_table(layout.restricted_run_file(spec.id, run_id, "refine", "provenance.parquet"),
                      pa.Table.from_pylist(provenance, schema=PROVENANCE_MAP))
    store.write_table(layout.restricted_run_file(spec.id, run_id, "refine", "annotators.parquet"), pa.Table.from_pylist(
        [{"pseudonym": k, "annotator": v} for k, v in sorted(annotators.items())], schema=ANNOTATOR_MAP))
    if n_in != n_out + len(quarantine):  # an invariant, not an input check: fail loudly if it ever breaks
        raise RuntimeError(f"refine lost items: in={n_in} out={n_out} quarantined={len(quarantine)}")
    artifacts.REFINE_SUMMARY.write(store, spec.id, run_id,
                                   {"items_in": n_in, "records": n_out, "quarantined": len(quarantine),
                                    "reasons": dict(reasons), "masked": dict(sorted(masked.items()))})
    return RefineResult(records_key, quarantine_key, n_in, n_out, len(quarantine), dict(reasons),
                        dict(sorted(masked.items())))
