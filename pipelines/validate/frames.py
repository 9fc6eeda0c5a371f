"""Flat frames from canonical record batches, for GX (which validates pandas frames, not nested Arrow).

Nested label lists are flattened with pyarrow compute (``list_flatten`` / ``list_parent_indices``) so a box,
a keypoint or a span keeps its item's id and its image size or document length beside it. The few facts that
need Python per element (does a span's text equal the document at its offsets, how far a polygon strays
outside its image, how many pixels a mask's run lengths cover) are computed here, once, so that the GX
expectation that reads them stays a plain column check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.spec.models import (
    NER,
    QA,
    BBox,
    DatasetSpec,
    DialogueIntent,
    Keypoints,
    MultiLabel,
    Polygon,
    Polyline,
    Segmentation,
    Summarisation,
    TemporalEvents,
    TimeseriesLabels,
    Transcription,
    Translation,
)
from pipelines.validate.checks import STRUCT_LABEL_COLUMNS, Frame, component_kinds, label_frame_of
from pipelines.validate.runwide import RunWindow

_MEDIA_FIELDS = ("key", "ext", "width", "height", "duration_s", "sample_rate")


def needed_frames(spec: DatasetSpec) -> set[Frame]:
    """The streamed frames a spec's checks use."""
    a = spec.annotation
    out: set[Frame] = {"items"}
    where = label_frame_of(spec)
    if where is not None:
        out.add(where)
    kinds: list[tuple[type[Any] | tuple[type[Any], ...], Frame]] = [
        (BBox, "boxes"), ((Polygon, Polyline), "shapes"), (Keypoints, "keypoints"), (Segmentation, "masks"),
        (NER, "spans"), (QA, "qa"), ((TemporalEvents, TimeseriesLabels), "events"),
    ]
    for cls, frame in kinds:
        if isinstance(a, cls):
            out.add(frame)
    if isinstance(a, Transcription) and a.segments:
        out.add("segments")
    return out


def _col(batch: pa.RecordBatch, name: str) -> pa.Array:
    return batch.column(batch.schema.get_field_index(name))


def _chars(arr: pa.Array) -> pa.Array:
    """Characters after trimming whitespace (a transcript of spaces is empty); null stays null."""
    return pc.utf8_length(pc.utf8_trim_whitespace(arr))


def _flat(batch: pa.RecordBatch, column: str) -> tuple[pa.Array, pa.Array]:
    """The flattened elements of a list column and, for each, the row of its record."""
    lists = _col(batch, column)
    return pc.list_flatten(lists), pc.list_parent_indices(lists)


def _objects_per_item(batch: pa.RecordBatch) -> pa.Array:
    """Objects per record: its boxes; on video, its tracks (a track's boxes are one object at its keyframes)."""
    lists = _col(batch, "objects")
    if lists.type.value_type.get_field_index("track") < 0:
        return pc.list_value_length(lists)
    flat, parents = _flat(batch, "objects")
    per = pa.table({"row": parents, "track": pc.struct_field(flat, "track")}).group_by("row").aggregate(
        [("track", "count_distinct")])
    counts = np.zeros(len(lists), np.int32)
    counts[per["row"].to_numpy()] = per["track_count_distinct"].to_numpy()
    return pc.if_else(pc.is_null(lists), pa.nulls(len(lists), pa.int32()), pa.array(counts, pa.int32()))


def _media_field(batch: pa.RecordBatch, name: str, parents: pa.Array, *, as_float: bool = True) -> pa.Array:
    values = pc.take(pc.struct_field(_col(batch, "media"), name), parents)
    return pc.cast(values, pa.float64()) if as_float else values


def item_frame(batch: pa.RecordBatch, spec: DatasetSpec, window: RunWindow | None = None) -> pa.Table:
    """One row per record with the scalar facts the checks read."""
    cols: dict[str, pa.Array] = {"item_id": _col(batch, "item_id")}
    media = _col(batch, "media")
    for f in _MEDIA_FIELDS:
        cols["media_key" if f == "key" else "media_ext" if f == "ext" else f] = pc.struct_field(media, f)
    cols["text_chars"] = _chars(_col(batch, "text"))
    a = spec.annotation
    names = set(batch.schema.names)
    kinds = component_kinds(spec)
    if kinds:  # a multimodal item's other media: one column per fact of each component kind
        comps = [{c["kind"]: c for c in row or []} for row in _col(batch, "components").to_pylist()]
        for kind in kinds:
            for f, typ in (("key", pa.string()), ("sample_rate", pa.int32()), ("duration_s", pa.float64())):
                cols[f"{kind}_{f}"] = pa.array([(c.get(kind) or {}).get(f) for c in comps], typ)
    if "label" in names:
        cols["label"] = _col(batch, "label")
    if "intent" in names:
        cols["intent"] = _col(batch, "intent")
    if isinstance(a, MultiLabel):
        cols["n_labels"] = pc.list_value_length(_col(batch, "labels"))
    if isinstance(a, BBox):
        cols["n_objects"] = _objects_per_item(batch)
    if isinstance(a, Transcription):
        cols["transcript_chars"] = _chars(_col(batch, "transcript"))
    if isinstance(a, Summarisation):
        cols["summary_chars"] = _chars(_col(batch, "summary"))
    if isinstance(a, Translation):
        cols["translation_chars"] = _chars(_col(batch, "translation"))
        cols["translation_is_source"] = pc.fill_null(pc.equal(_col(batch, "translation"), _col(batch, "text")),
                                                     False)
    if isinstance(a, QA):
        cols["n_questions"] = pc.fill_null(pc.list_value_length(_col(batch, "qa")), 0)
    if isinstance(a, DialogueIntent):
        cols["n_turns"] = pc.fill_null(pc.list_value_length(_col(batch, "turns")), 0)
    for name in spec.columns:
        cols[name] = _col(batch, name)
    for name in ("qc_review", "qc_gold_correct", "qc_agreement"):
        cols[name] = _col(batch, name)
    ids = _col(batch, "item_id")
    if window is not None:
        null_ids = pa.nulls(batch.num_rows, pa.string())
        cols["dup_item_id"] = pc.if_else(pa.array(window.dup_id), ids, null_ids)
        cols["dup_content"] = pc.if_else(pa.array(window.dup_content), ids, null_ids)
        cols["leak_splits"] = window.leak
        cols["split"] = window.split_array()
    return pa.table(cols)


def label_rows(batch: pa.RecordBatch, spec: DatasetSpec) -> pa.Table:
    """One row per label occurrence of a list-valued annotation (item_id, label)."""
    a = spec.annotation
    if isinstance(a, MultiLabel):
        lists = _col(batch, "labels")
        values = pc.list_flatten(lists)
    else:
        lists = _col(batch, STRUCT_LABEL_COLUMNS[a.type])
        values = pc.struct_field(pc.list_flatten(lists), "label")
    parents = pc.list_parent_indices(lists)
    return pa.table({"item_id": pc.take(_col(batch, "item_id"), parents), "label": values})


def box_rows(batch: pa.RecordBatch) -> pa.Table:
    """One row per box: its geometry, its right/bottom edges and the size of its image."""
    boxes, parents = _flat(batch, "objects")
    x, y = pc.struct_field(boxes, "x"), pc.struct_field(boxes, "y")
    w, h = pc.struct_field(boxes, "w"), pc.struct_field(boxes, "h")
    return pa.table({
        "item_id": pc.take(_col(batch, "item_id"), parents),
        "label": pc.struct_field(boxes, "label"),
        "x": x, "y": y, "w": w, "h": h,
        "x2": pc.add(x, w), "y2": pc.add(y, h),
        "min_side": pc.min_element_wise(w, h),
        "image_width": _media_field(batch, "width", parents),
        "image_height": _media_field(batch, "height", parents),
    })  # fmt: skip


def _outside(x: float | None, y: float | None, w: float | None, h: float | None) -> float | None:
    """How far a point lies outside a w x h image (0 inside); None when the point or the size is unknown."""
    if x is None or y is None or w is None or h is None:
        return None
    return max(0.0, -x, -y, x - w, y - h)


def shape_rows(batch: pa.RecordBatch, spec: DatasetSpec) -> pa.Table:
    """One row per polygon or polyline: points, distinct points, farthest distance outside its image."""
    shapes, parents = _flat(batch, STRUCT_LABEL_COLUMNS[spec.annotation.type])
    widths = _media_field(batch, "width", parents).to_pylist()
    heights = _media_field(batch, "height", parents).to_pylist()
    n_points: list[int] = []
    outside: list[float | None] = []
    for listed, w, h in zip(pc.struct_field(shapes, "points").to_pylist(), widths, heights, strict=True):
        pts = listed or []
        n_points.append(len({(p["x"], p["y"]) for p in pts}))
        dists = [_outside(p["x"], p["y"], w, h) for p in pts]
        known = [d for d in dists if d is not None]
        outside.append(max(known) if known and len(known) == len(dists) else (None if dists else 0.0))
    return pa.table({
        "item_id": pc.take(_col(batch, "item_id"), parents),
        "label": pc.struct_field(shapes, "label"),
        "n_points": pa.array(n_points, pa.int64()),
        "outside_px": pa.array(outside, pa.float64()),
    })  # fmt: skip


def keypoint_rows(batch: pa.RecordBatch) -> pa.Table:
    """One row per listed keypoint of every pose, with its pose's class and its image size."""
    poses, pose_parents = _flat(batch, "poses")
    kp_lists = pc.struct_field(poses, "keypoints")
    kps = pc.list_flatten(kp_lists)
    pose_of_kp = pc.list_parent_indices(kp_lists)
    parents = pc.take(pose_parents, pose_of_kp)
    names = pc.struct_field(kps, "name").to_pylist()
    xs = pc.struct_field(kps, "x").to_pylist()
    ys = pc.struct_field(kps, "y").to_pylist()
    vis = pc.struct_field(kps, "visible").to_pylist()
    widths = _media_field(batch, "width", parents).to_pylist()
    heights = _media_field(batch, "height", parents).to_pylist()
    poses_idx = pose_of_kp.to_pylist()
    per_pose: dict[tuple[int, Any], int] = {}
    for p, n in zip(poses_idx, names, strict=True):
        per_pose[(p, n)] = per_pose.get((p, n), 0) + 1
    placement_ok = [(v == 0) == (x is None or y is None) for x, y, v in zip(xs, ys, vis, strict=True)]
    return pa.table({
        "item_id": pc.take(_col(batch, "item_id"), parents),
        "pose_label": pc.take(pc.struct_field(poses, "label"), pose_of_kp),
        "name": pa.array(names, pa.string()),
        "visible": pa.array(vis, pa.int64()),
        "placement_ok": pa.array(placement_ok, pa.bool_()),
        "outside_px": pa.array([_outside(x, y, w, h) for x, y, w, h in zip(xs, ys, widths, heights, strict=True)],
                               pa.float64()),
        "name_count": pa.array([per_pose[(p, n)] for p, n in zip(poses_idx, names, strict=True)], pa.int64()),
    })  # fmt: skip


def mask_rows(batch: pa.RecordBatch) -> pa.Table:
    """One row per mask: pixels its run lengths cover, its declared and its image's size, painted area."""
    masks, parents = _flat(batch, "masks")
    rles = pc.struct_field(masks, "rle").to_pylist()
    w, h = pc.struct_field(masks, "width"), pc.struct_field(masks, "height")
    return pa.table({
        "item_id": pc.take(_col(batch, "item_id"), parents),
        "label": pc.struct_field(masks, "label"),
        "rle_pixels": pa.array([sum(r or []) for r in rles], pa.int64()),
        "mask_pixels": pc.multiply(pc.cast(w, pa.int64()), pc.cast(h, pa.int64())),
        "area": pa.array([sum((r or [])[1::2]) for r in rles], pa.int64()),
        "width": pc.cast(w, pa.int64()), "height": pc.cast(h, pa.int64()),
        "image_width": _media_field(batch, "width", parents, as_float=False).cast(pa.int64()),
        "image_height": _media_field(batch, "height", parents, as_float=False).cast(pa.int64()),
    })  # fmt: skip


def _span_ok(texts: list[str | None], starts: list[Any], ends: list[Any], spans: list[str | None]) -> list[bool | None]:
    out: list[bool | None] = []
    for text, s, e, span in zip(texts, starts, ends, spans, strict=True):
        if text is None or s is None or e is None or span is None:
            out.append(None if span is None else False)
        else:
            out.append(0 <= s <= e <= len(text) and text[s:e] == span)
    return out


def span_rows(batch: pa.RecordBatch) -> pa.Table:
    """One row per entity: offsets, its document's length, and whether the offsets select its text."""
    ents, parents = _flat(batch, "entities")
    texts = pc.take(_col(batch, "text"), parents)
    starts, ends = pc.struct_field(ents, "start"), pc.struct_field(ents, "end")
    return pa.table({
        "item_id": pc.take(_col(batch, "item_id"), parents),
        "label": pc.struct_field(ents, "label"),
        "start": pc.cast(starts, pa.int64()), "end": pc.cast(ends, pa.int64()),
        "text_chars": pc.cast(pc.utf8_length(texts), pa.int64()),
        "span_ok": pa.array(_span_ok(texts.to_pylist(), starts.to_pylist(), ends.to_pylist(),
                                     pc.struct_field(ents, "text").to_pylist()), pa.bool_()),
    })  # fmt: skip


def qa_rows(batch: pa.RecordBatch) -> pa.Table:
    """One row per QA pair: question and answer lengths and, for extractive answers, where they sit."""
    pairs, parents = _flat(batch, "qa")
    texts = pc.take(_col(batch, "text"), parents)
    answers = pc.struct_field(pairs, "answer")
    starts = pc.cast(pc.struct_field(pairs, "answer_start"), pa.int64())
    ans_len = pc.utf8_length(answers)
    ends = pc.add(starts, pc.cast(ans_len, pa.int64()))
    return pa.table({
        "item_id": pc.take(_col(batch, "item_id"), parents),
        "question_chars": pc.cast(_chars(pc.struct_field(pairs, "question")), pa.int64()),
        "answer_chars": pc.cast(_chars(answers), pa.int64()),
        "answer_start": starts, "answer_end": ends,
        "text_chars": pc.cast(pc.utf8_length(texts), pa.int64()),
        "span_ok": pa.array(_span_ok(texts.to_pylist(), starts.to_pylist(), ends.to_pylist(),
                                     [a if s is not None else None
                                      for a, s in zip(answers.to_pylist(), starts.to_pylist(), strict=True)]),
                            pa.bool_()),
    })  # fmt: skip


def segment_rows(batch: pa.RecordBatch) -> pa.Table:
    """One row per transcript segment with its clip's duration."""
    segs, parents = _flat(batch, "segments")
    return pa.table({
        "item_id": pc.take(_col(batch, "item_id"), parents),
        "start": pc.struct_field(segs, "start"),
        "end": pc.struct_field(segs, "end"),
        "dialect": pc.struct_field(segs, "dialect"),
        "speaker": pc.struct_field(segs, "speaker"),
        "clip_duration_s": _media_field(batch, "duration_s", parents),
    })  # fmt: skip


def event_rows(batch: pa.RecordBatch) -> pa.Table:
    """One row per labelled time range with its length and its clip's duration."""
    events, parents = _flat(batch, "events")
    start, end = pc.struct_field(events, "start"), pc.struct_field(events, "end")
    return pa.table({
        "item_id": pc.take(_col(batch, "item_id"), parents),
        "label": pc.struct_field(events, "label"),
        "start": start, "end": end, "length": pc.subtract(end, start),
        "clip_duration_s": _media_field(batch, "duration_s", parents),
    })  # fmt: skip


def build_frames(batch: pa.RecordBatch, spec: DatasetSpec, frames: set[Frame],
                 window: RunWindow | None = None) -> dict[Frame, pa.Table]:
    """The streamed frames of one record batch."""
    builders: dict[Frame, Any] = {
        "items": lambda: item_frame(batch, spec, window),
        "labels": lambda: label_rows(batch, spec),
        "boxes": lambda: box_rows(batch),
        "shapes": lambda: shape_rows(batch, spec),
        "keypoints": lambda: keypoint_rows(batch),
        "masks": lambda: mask_rows(batch),
        "spans": lambda: span_rows(batch),
        "qa": lambda: qa_rows(batch),
        "segments": lambda: segment_rows(batch),
        "events": lambda: event_rows(batch),
    }
    return {name: builders[name]() for name in sorted(frames) if name in builders}


def observed_labels(batch: pa.RecordBatch, spec: DatasetSpec) -> dict[Any, int]:
    """Counts of each label value in a batch (for label coverage and shares, aggregated over the run)."""
    where = label_frame_of(spec)
    if where is None:
        return {}
    if where == "items":
        values = _col(batch, "intent" if "intent" in batch.schema.names else "label")
    elif where == "boxes":
        values = pc.struct_field(pc.list_flatten(_col(batch, "objects")), "label")
    else:
        values = label_rows(batch, spec).column("label")
    counts = pc.value_counts(values.drop_null())
    return {v["values"]: v["counts"] for v in counts.to_pylist()}


def value_counts(batch: pa.RecordBatch, column: str) -> dict[Any, int]:
    """Counts of each non-null value of a scalar metadata column in a batch (demographic shares)."""
    counts = pc.value_counts(_col(batch, column).drop_null())
    return {v["values"]: v["counts"] for v in counts.to_pylist()}
