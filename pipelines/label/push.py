"""``label_push``: a run's de-identified items become Label Studio tasks (with pre-annotations), exactly once.

Idempotent by construction: the project is found by title, the items already in it are listed from task
``meta`` before anything is imported, and every import request is one server-side transaction. A push
killed half-way and run again imports only what is missing; running it twice imports nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pipelines.annotations.lsconfig import FRAMES
from pipelines.label import results
from pipelines.label.client import DEFAULT_BATCH_TASKS, LabelStudioClient, LabelStudioSettings, TaskRef
from pipelines.label.config import label_config
from pipelines.label.manifests import iter_rows
from pipelines.label.media import in_scope, media_url_builder
from pipelines.label.predict import PredictItem, predict
from pipelines.label.tasks import (
    annotations_needed,
    component_kinds,
    is_gold_candidate,
    media_kind,
    object_kinds,
    project_title,
    target_kind,
    task_meta,
)
from pipelines.pace import Pace
from pipelines.spec.models import DatasetSpec
from pipelines.storage import layout
from pipelines.storage.schemas import QUARANTINE_SCHEMA, now, rows_to_table
from pipelines.storage.store import ObjectStore

STAGE = "label_push"
_COLUMNS = ("item_id", "source_uri", "media_key", "text", "meta", "truth", "width", "height")


@dataclass(frozen=True)
class PushResult:
    """What ``push`` did. ``tasks_total`` = created + existing: the run's items that are tasks now.

    Items in the run = ``tasks_total + quarantined``.
    """

    project_id: int
    tasks_total: int
    tasks_created: int
    tasks_existing: int
    quarantined: int = 0
    predictions: int = 0
    gold: int = 0  # gold tasks created by this push (a ground-truth annotation holds the known answer)
    push_key: str = ""


def _quarantine_reason(spec: DatasetSpec, row: dict[str, Any]) -> tuple[str, str] | None:
    """Why an item cannot become a task, as (reason code, detail); None if it can."""
    if media_kind(spec) is not None:
        key = row.get("media_key")
        if not key:
            return "label.media_missing", "no media_key after de-identification"
        if not in_scope(spec, str(key)):
            # Only de-identified, content-addressed media may reach annotators; never restricted/ originals.
            return "label.media_not_deidentified", f"media_key {key!r} is outside media/{spec.id}/"
    for kind in component_kinds(spec):  # a multimodal item's other media (docs/adr/0024): de-identified too
        key = _component_key(row, kind)
        if not key:
            return "label.media_missing", f"no {kind} component after de-identification"
        if not in_scope(spec, key):
            return "label.media_not_deidentified", f"{kind} component {key!r} is outside media/{spec.id}/"
    if "text" in object_kinds(spec) and not (row.get("text") or "").strip():
        return "label.text_missing", "text item without text"
    if target_kind(spec) == FRAMES and not _frame_keys(spec, row):
        # Video geometry is drawn on keyframes; an item whose keyframes were not extracted cannot be shown.
        return "label.frames_missing", "no de-identified keyframes (meta.frames) for a keyframe annotation"
    return None


def _component_key(row: dict[str, Any], kind: str) -> str | None:
    """The media key of a multimodal item's component of ``kind`` (manifest column ``components``)."""
    for c in row.get("components") or []:
        if c.get("kind") == kind and c.get("key"):
            return str(c["key"])
    return None


def _columns(spec: DatasetSpec) -> tuple[str, ...]:
    return (*_COLUMNS, "components") if component_kinds(spec) else _COLUMNS


def _frame_keys(spec: DatasetSpec, row: dict[str, Any]) -> list[str]:
    """The item's de-identified keyframe media keys (``meta.frames``), only those under ``media/<ds>/``."""
    meta = json.loads(row["meta"]) if row.get("meta") else {}
    frames = meta.get("frames") if isinstance(meta, dict) else None
    if not isinstance(frames, list):
        return []
    keys = [str(k) for k in frames]
    return keys if keys and all(in_scope(spec, k) for k in keys) else []


def _display_key(spec: DatasetSpec, row: dict[str, Any]) -> str | None:
    """The de-identified display image of a DICOM item (``meta.display``; a browser cannot show DICOM)."""
    meta = json.loads(row["meta"]) if row.get("meta") else {}
    key = meta.get("display") if isinstance(meta, dict) else None
    return str(key) if isinstance(key, str) and in_scope(spec, key) else None


def gold_result(spec: DatasetSpec, row: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The known answer of a gold-sample item as a Label Studio result, or None (not drawn for gold, no truth,
    or a type whose truth cannot be expressed yet)."""
    item_id = str(row["item_id"])
    if not row.get("truth") or not is_gold_candidate(spec, item_id):
        return None
    truth = json.loads(row["truth"])
    if not isinstance(truth, dict):
        return None
    size = (int(row["width"]), int(row["height"])) if row.get("width") and row.get("height") else None
    regions = results.from_truth(spec.annotation.type, truth, to_name=target_kind(spec), size=size,
                                 text=row.get("text"), rate_hz=results.sampling_hz(spec))
    return regions or None


def _task(spec: DatasetSpec, row: dict[str, Any], url: Callable[[str], str] | None, *, gold: bool) -> dict[str, Any]:
    item_id = str(row["item_id"])
    meta = json.loads(row["meta"]) if row.get("meta") else {}
    data: dict[str, Any] = {"item_id": item_id, "meta": meta}
    kind = media_kind(spec)
    if kind is not None and url is not None:
        data[kind] = url(_display_key(spec, row) or str(row["media_key"]))
    for other in component_kinds(spec):
        key = _component_key(row, other)
        if key is not None and url is not None:
            data[other] = url(key)
    if "text" in object_kinds(spec):
        data["text"] = row.get("text") or ""
    if target_kind(spec) == FRAMES and url is not None:
        data[FRAMES] = [url(k) for k in _frame_keys(spec, row)]
    return {"data": data, "meta": task_meta(spec, item_id, gold=gold)}


def push(
    *,
    spec: DatasetSpec,
    store: ObjectStore,
    run_id: str,
    ls: LabelStudioSettings,
    max_batch_tasks: int = DEFAULT_BATCH_TASKS,
) -> PushResult:
    """Create the Label Studio tasks of a run's de-identified items (one project per dataset version).

    Reads ``runs/<ds>/<run>/deidentify/part-*.parquet`` in batches, computes pre-annotations, imports only
    item ids not already in the project, sets Label Studio's per-task overlap on the overlap sample, and
    writes ``runs/<ds>/<run>/label_push/push.json`` (plus ``quarantine-00000.parquet`` for items that cannot
    be shown to annotators).

    ``max_batch_tasks`` bounds one import request (with the byte bound of :class:`LabelStudioClient`).

    Raises:
        LabelConfigError: if the spec's annotation type has no Label Studio config yet (before any call).
        MediaScopeError: if ``ls.media_s3`` is the pipeline's own key (Label Studio must never hold it).
        LabelStudioError: if Label Studio refuses the project, the storage connection or an import.
    """
    config = label_config(spec)  # fail before touching Label Studio
    client = LabelStudioClient(ls, max_batch_tasks=max_batch_tasks)
    title = project_title(spec)
    project_id = client.ensure_project(
        title=title, label_config=config,
        description=f"{spec.name} ({spec.name_en}). Managed by datadam: the title names the dataset version.",
    )
    url = (media_url_builder(client=client, project_id=project_id, store=store, spec=spec, ls=ls)
           if media_kind(spec) is not None else None)

    existing: dict[str, TaskRef] = {ref.item_id: ref for ref in client.task_refs(project_id)}
    seen: set[str] = set()
    repair: list[tuple[int, int]] = []
    created = already = n_predictions = n_gold = 0
    quarantine: list[dict[str, Any]] = []
    pace = Pace(f"{spec.id} label_push", unit="items")
    for rows in iter_rows(store, spec.id, run_id, columns=_columns(spec)):
        fresh: list[dict[str, Any]] = []
        pace.advance(len(rows))
        for row in rows:
            item_id = str(row["item_id"])
            if item_id in seen:
                continue
            seen.add(item_id)
            ref = existing.get(item_id)
            if ref is not None:
                already += 1
                if ref.required > ref.overlap:  # a previous push died between import and overlap update
                    if ref.gold:  # ... and maybe before the gold answer: add it unless it is there
                        answer = gold_result(spec, row)
                        if answer is not None and not client.has_ground_truth(ref.task_id):
                            client.create_annotation(ref.task_id, result=answer, completed_by=client.me(),
                                                     ground_truth=True)
                    repair.append((ref.task_id, ref.required))
                continue
            bad = _quarantine_reason(spec, row)
            if bad is not None:
                quarantine.append({"item_id": item_id, "stage": STAGE, "reason": bad[0], "detail": bad[1],
                                   "source_uri": row.get("source_uri"), "at": now()})
                continue
            fresh.append(row)
        if not fresh:
            continue
        items = [PredictItem(item_id=str(r["item_id"]), text=r.get("text"),
                             media_key=_display_key(spec, r) or r.get("media_key"))
                 for r in fresh]
        preds = predict(spec=spec, store=store, items=items)
        tasks = []
        answers: list[list[dict[str, Any]] | None] = []
        for row, pred in zip(fresh, preds, strict=True):
            answers.append(gold_result(spec, row))
            task = _task(spec, row, url, gold=answers[-1] is not None)
            if pred is not None:
                task["predictions"] = [pred]
                n_predictions += 1
            tasks.append(task)
        task_ids = client.import_tasks(project_id, tasks)
        # Gold answers go in before the overlap is raised: a raised overlap tells a re-run the answer is there.
        for tid, answer in zip(task_ids, answers, strict=True):
            if answer is not None:
                client.create_annotation(tid, result=answer, completed_by=client.me(), ground_truth=True)
                n_gold += 1
        # Label Studio imports every task with the project's overlap (1); raise it on the overlap sample and on
        # gold tasks (whose answer must not take an annotator's place).
        pairs = [(tid, annotations_needed(t["meta"])) for tid, t in zip(task_ids, tasks, strict=True)]
        client.set_task_overlaps([(tid, n) for tid, n in pairs if n > 1])
        created += len(task_ids)
    client.set_task_overlaps(repair)
    pace.finish()

    q_key = layout.run_file(spec.id, run_id, STAGE, "quarantine-00000.parquet")
    if quarantine:
        store.write_table(q_key, rows_to_table(quarantine, QUARANTINE_SCHEMA))
    else:
        store.delete(q_key)  # a re-run that quarantines nothing must not leave an old file behind
    result = PushResult(project_id=project_id, tasks_total=created + already, tasks_created=created,
                        tasks_existing=already, quarantined=len(quarantine), predictions=n_predictions,
                        gold=n_gold, push_key=layout.run_file(spec.id, run_id, STAGE, "push.json"))
    store.write_json(result.push_key, {
        **asdict(result),
        "dataset": spec.id,
        "run_id": run_id,
        "project_title": title,
        "label_studio_url": ls.url,
        "label_config_sha256": hashlib.sha256(config.encode()).hexdigest(),
        "finished_at": now().isoformat(),
    })
    return result
