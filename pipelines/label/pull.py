"""``label_pull``: a run's annotations out of Label Studio, incrementally, with the QC layer on top.

1. **Export**, through the snapshot API (never the synchronous export that times out on big projects), of only
   the tasks changed since the last pull: a cursor per project in ``state/<ds>/label/project-<id>/cursor.json``
   (the server time of the previous snapshot, minus a few seconds of overlap). The export file is parsed as a stream
   (``ijson``) and written as one delta part ``state/.../parts/part-NNNNNN.parquet``; a task in a newer part
   replaces all its rows in older ones, also when it came without annotations (its last one deleted: the part's
   metadata lists it, ``EMPTIED``). Parts are compacted into one when they pile up.
2. **The run's annotations** (``ANNOTATION_SCHEMA``) are read back from the parts, newest first, keeping the run's
   item ids: ``runs/<ds>/<run>/label_pull/annotations.parquet``.
3. **Review queue**: the sample (``quality.sampling``) of the run's annotations is queued in the review project.
4. **QC** (:mod:`pipelines.label.qc`) over the annotations and the reviewers' verdicts so far:
   ``qc.parquet`` (``QC_SCHEMA``, one row per item) and ``qc_summary.json`` (dataset agreement, gold accuracy,
   semantic accuracy, per-annotator scorecards). ``qc.parquet`` also holds each item's consensus as Label Studio
   result regions (``consensus_result``): ``refine`` releases exactly that, and fills its ``qc_*`` columns from
   the same row; it never computes agreement or consensus itself.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.label import qc
from pipelines.label.client import LabelStudioClient, LabelStudioSettings
from pipelines.label.manifests import run_item_ids
from pipelines.label.review import ensure_review_queue, parse_verdict, plan_review, review_title
from pipelines.pace import Pace
from pipelines.spec.models import DatasetSpec
from pipelines.storage import artifacts, layout
from pipelines.storage.schemas import ANNOTATION_SCHEMA, QC_SCHEMA, dumps, now, rows_to_table
from pipelines.storage.store import ObjectStore

STAGE = "label_pull"
_BATCH = 2_000
# The cursor is the server time the previous snapshot was taken; re-export this much before it, so a task whose
# transaction was still committing then is not missed (a re-exported task just replaces itself).
CURSOR_OVERLAP = timedelta(seconds=5)
MAX_PARTS = 16  # compact the delta parts into one beyond this



@dataclass(frozen=True)
class PullResult:
    """What ``pull`` wrote: counts over the run's items, the keys, and what this pull exported."""

    project_id: int
    tasks: int  # the run's tasks with at least one annotation (submitted or skipped)
    annotations: int
    annotators: int
    annotations_key: str
    tasks_exported: int = 0  # tasks in this pull's delta export (all runs of the project)
    incremental: bool = False  # False: the first (full) export of the project
    qc_key: str = ""
    qc_summary_key: str = ""
    review_project_id: int | None = None
    review_sampled: int = 0
    reviewed: int = 0
    superseded: int = 0  # earlier annotations of items re-annotated after an inspector's rework (left out)


def _ts(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _annotator(completed_by: Any) -> str:
    """The stable annotator key: the e-mail, else ``user:<id>``."""
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or f"user:{completed_by.get('id')}")
    return f"user:{completed_by}"


def task_rows(task: dict[str, Any], *, project_id: int) -> list[dict[str, Any]]:
    """``ANNOTATION_SCHEMA`` rows of one exported task (every annotation; none for tasks not made by push)."""
    meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
    item_id = (meta or {}).get("item_id") or (task.get("data") or {}).get("item_id")
    if not item_id:
        return []
    rows = []
    for ann in task.get("annotations") or []:
        gt = bool(ann.get("ground_truth"))
        rows.append({
            "item_id": str(item_id),
            "task_id": int(task["id"]),
            "project_id": project_id,
            "annotation_id": int(ann["id"]),
            "annotator": _annotator(ann.get("completed_by")),
            "result": dumps(ann.get("result") or []),
            "ground_truth": gt,
            "was_cancelled": bool(ann.get("was_cancelled")),
            "lead_time_s": float(ann["lead_time"]) if ann.get("lead_time") is not None else None,
            "created_at": _ts(ann.get("created_at")),
            "updated_at": _ts(ann.get("updated_at")),
            "role": "gold" if gt else "annotate",  # a ground-truth annotation is the gold answer push wrote
        })
    return rows


def annotation_rows(
    tasks: list[dict[str, Any]], *, project_id: int, item_ids: frozenset[str]
) -> list[dict[str, Any]]:
    """``ANNOTATION_SCHEMA`` rows from exported tasks, restricted to ``item_ids``, sorted by item and id."""
    rows = [r for t in tasks for r in task_rows(t, project_id=project_id) if r["item_id"] in item_ids]
    rows.sort(key=lambda r: (r["item_id"], r["annotation_id"]))
    return rows


# ------------------------------------------------------------------------------------- state (delta parts)


def _state(spec: DatasetSpec, project_id: int, *parts: str) -> str:
    return layout.label_project(spec.id, project_id, *parts)


def _part_keys(store: ObjectStore, spec: DatasetSpec, project_id: int) -> list[str]:
    return sorted(o.key for o in store.list(_state(spec, project_id, "parts"), recursive=False)
                  if o.key.endswith(".parquet"))


def _stream_tasks(path: Path) -> Iterator[dict[str, Any]]:
    """Tasks of a Label Studio JSON export, one at a time (the file is never loaded whole)."""
    import ijson  # type: ignore[import-untyped,import-not-found,unused-ignore]

    with path.open("rb") as fh:
        yield from ijson.items(fh, "item", use_float=True)


EMPTIED = b"datadam.emptied_tasks"  # a delta part's metadata: tasks exported with no annotation left (JSON ids)


def _write_delta(store: ObjectStore, key: str, tasks: Iterator[dict[str, Any]], project_id: int
                 ) -> tuple[int, datetime | None]:
    """Stream exported tasks into one delta part; return (tasks, newest task ``updated_at``).

    A task exported without annotations (its last one was deleted) has no rows; the part's metadata lists it
    (``EMPTIED``), so its rows in older parts are dropped too.
    """
    n_tasks = 0
    newest: datetime | None = None
    batch: list[dict[str, Any]] = []
    emptied: list[int] = []
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        with pq.ParquetWriter(tmp.name, ANNOTATION_SCHEMA, compression="zstd") as writer:
            pace = Pace(f"label_pull project {project_id}", unit="tasks")
            for task in tasks:
                n_tasks += 1
                pace.advance()
                ts = _ts(task.get("updated_at"))
                if ts is not None and (newest is None or ts > newest):
                    newest = ts
                rows = task_rows(task, project_id=project_id)
                if not rows:
                    emptied.append(int(task["id"]))
                batch.extend(rows)
                if len(batch) >= _BATCH:
                    writer.write_table(rows_to_table(batch, ANNOTATION_SCHEMA))
                    batch = []
            if batch or n_tasks == 0:
                writer.write_table(rows_to_table(batch, ANNOTATION_SCHEMA))
            writer.add_key_value_metadata({EMPTIED: json.dumps(emptied).encode()})
            pace.finish()
        if n_tasks:
            store.write_bytes(key, Path(tmp.name).read_bytes())
    return n_tasks, newest


def _read_part(store: ObjectStore, key: str) -> tuple[pa.Table, set[int]]:
    """A delta part's rows and the tasks it exported empty (file metadata, which ``read_table`` leaves out)."""
    with store.open_input(key) as fh:
        pf = pq.ParquetFile(fh)
        raw = (pf.metadata.metadata or {}).get(EMPTIED)
        return pf.read(), ({int(t) for t in json.loads(raw)} if raw else set())


def _current(store: ObjectStore, keys: list[str], keep: frozenset[str] | None) -> pa.Table:
    """The annotations the parts hold now, sorted by item and annotation id (``ANNOTATION_SCHEMA``).

    Parts are read newest first; a task's rows come only from the newest part holding it (a part that exported
    the task without annotations holds it with no rows). ``keep``: only these items' rows.
    """
    done = pa.array([], pa.int64())
    keep_arr = pa.array(sorted(keep), pa.string()) if keep is not None else None
    tables: list[pa.Table] = []
    for key in reversed(keys):
        table, emptied = _read_part(store, key)
        table = table.select(ANNOTATION_SCHEMA.names).cast(ANNOTATION_SCHEMA)
        if len(done):
            table = table.filter(pc.invert(pc.is_in(table["task_id"], value_set=done)))
        here = pc.unique(table["task_id"].combine_chunks())
        done = pc.unique(pa.concat_arrays([done, here, pa.array(sorted(emptied), pa.int64())]))
        if keep_arr is not None:
            table = table.filter(pc.is_in(table["item_id"], value_set=keep_arr))
        tables.append(table)
    if not tables:
        return ANNOTATION_SCHEMA.empty_table()
    # Arrow orders strings by their bytes, which for UTF-8 is Python's order of str
    return pa.concat_tables(tables).sort_by([("item_id", "ascending"), ("annotation_id", "ascending")])


def _newest_rows(store: ObjectStore, keys: list[str], keep: frozenset[str] | None) -> Iterator[dict[str, Any]]:
    """``_current`` as row dicts."""
    yield from _current(store, keys, keep).to_pylist()


def _compact(store: ObjectStore, spec: DatasetSpec, project_id: int, *, max_parts: int = MAX_PARTS) -> None:
    keys = _part_keys(store, spec, project_id)
    if len(keys) <= max_parts:
        return
    merged = _current(store, keys, None)
    # The merged part takes the newest part's name: written first, then the older parts go. A crash between
    # the two leaves duplicates that _current already resolves (the newest part wins).
    store.write_table(keys[-1], merged)
    for key in keys[:-1]:
        store.delete(key)


def export_changes(
    *, spec: DatasetSpec, store: ObjectStore, client: LabelStudioClient, project_id: int
) -> tuple[int, bool]:
    """Export the tasks changed since the last pull into a new delta part; advance the cursor.

    Returns (tasks exported, whether the export was incremental).
    """
    cursor_key = _state(spec, project_id, "cursor.json")
    cursor = store.read_json(cursor_key) if store.exists(cursor_key) else None
    since = _ts(cursor.get("updated_at")) if cursor else None
    keys = _part_keys(store, spec, project_id)
    if since is None and keys:  # a cursor lost after parts were written: start over cleanly
        for key in keys:
            store.delete(key)
        keys = []
    seq = int(keys[-1].rsplit("-", 1)[-1].split(".")[0]) + 1 if keys else 0
    with tempfile.TemporaryDirectory(prefix="datadam-pull-") as tmp:
        snap = client.export_snapshot(project_id, Path(tmp) / "export.json",
                                      updated_after=since - CURSOR_OVERLAP if since else None)
        n, newest = _write_delta(store, _state(spec, project_id, "parts", f"part-{seq:06d}.parquet"),
                                 _stream_tasks(snap.path), project_id)
    # Next time: what changed after this snapshot was taken (else after the newest task it held).
    mark = snap.created_at or newest
    if mark is not None and (since is None or mark > since):
        since = mark
    # Written after the part: a crash in between re-exports the same changes next time, never loses them.
    store.write_json(cursor_key, {"updated_at": since.isoformat() if since else None, "pulled_at": now().isoformat(),
                                  "parts": seq + (1 if n else 0)})
    _compact(store, spec, project_id)
    return n, cursor is not None


# ------------------------------------------------------------------------------------------------ pull


def _verdicts(client: LabelStudioClient, spec: DatasetSpec, item_ids: frozenset[str]) -> list[qc.Verdict]:
    """The reviewers' verdicts on the run's items (the latest per reviewed annotation)."""
    pid = client.find_project(review_title(spec))
    if pid is None:
        return []
    latest: dict[int, tuple[int, qc.Verdict]] = {}
    with tempfile.TemporaryDirectory(prefix="datadam-review-") as tmp:
        snap = client.export_snapshot(pid, Path(tmp) / "review.json")
        for task in _stream_tasks(snap.path):
            for ann in task.get("annotations") or []:
                v = parse_verdict(task, ann)
                if v is not None and v.item_id in item_ids:
                    prev = latest.get(v.annotation_id)
                    if prev is None or int(ann["id"]) > prev[0]:
                        latest[v.annotation_id] = (int(ann["id"]), v)
    return [v for _, v in latest.values()]


def review_sample(*, store: ObjectStore, dataset: str, run_id: str) -> tuple[int | None, list[str]]:
    """The review project and the items of the run's review sample, as the last :func:`pull` queued them."""
    doc = artifacts.REVIEW_SAMPLE.read_if_exists(store, dataset, run_id)
    if doc is None:
        return None, []
    pid = doc.get("project_id")
    return (int(pid) if pid is not None else None), [str(i) for i in doc.get("item_ids") or []]


def write_qc(
    *, spec: DatasetSpec, store: ObjectStore, run_id: str, rows: list[dict[str, Any]],
    verdicts: list[qc.Verdict] | tuple[qc.Verdict, ...] = (),
) -> qc.QCResult:
    """QC of the run's annotations (``ANNOTATION_SCHEMA`` rows) written to ``artifacts.LABEL_QC``: per item the
    agreement, gold and review outcome and the consensus (``consensus_result``) that refine releases."""
    anns = (qc.Ann(item_id=r["item_id"], annotation_id=r["annotation_id"], annotator=r["annotator"],
                   result=json.loads(r["result"]), ground_truth=bool(r["ground_truth"]),
                   was_cancelled=bool(r["was_cancelled"]), lead_time_s=r["lead_time_s"]) for r in rows)
    result_qc = qc.run_qc(spec, anns, verdicts)
    artifacts.LABEL_QC.write(store, spec.id, run_id, pa.Table.from_pylist(result_qc.items, schema=QC_SCHEMA))
    return result_qc


def pull(
    *, spec: DatasetSpec, store: ObjectStore, run_id: str, ls: LabelStudioSettings, project_id: int
) -> PullResult:
    """Export what changed in the project, write the run's annotations, queue the review sample and compute
    QC: ``runs/<ds>/<run>/label_pull/{annotations.parquet, qc.parquet, qc_summary.json, pull.json}``.

    Idempotent: a re-run exports only what changed since and rewrites the run's files from the current state.

    Raises:
        LabelStudioError: if an export snapshot fails or times out, or the review queue cannot be made.
    """
    item_ids = run_item_ids(store=store, dataset=spec.id, run_id=run_id)
    client = LabelStudioClient(ls)
    exported, incremental = export_changes(spec=spec, store=store, client=client, project_id=project_id)
    table = _current(store, _part_keys(store, spec, project_id), item_ids)
    # Annotations an inspector's rework replaced leave the run (they stay in Label Studio and the project's export
    # parts: the audit trail): the item's corrected annotation is what is reviewed, agreed on and released.
    from pipelines.label.rework import superseded

    book_key = layout.rework_ledger(spec.id, project_id)
    reopened = (store.read_json(book_key).get("items") or {}) if store.exists(book_key) else {}
    replaced: set[int] = set()
    if reopened:  # only the re-opened items' rows, and only the columns superseded() reads, become Python
        mine = table.filter(pc.is_in(table["item_id"], value_set=pa.array(sorted(reopened), pa.string())))
        replaced = superseded(mine.select(["item_id", "annotation_id", "created_at", "ground_truth",
                                           "was_cancelled"]).to_pylist(), reopened)
    if replaced:
        keep = pc.invert(pc.is_in(table["annotation_id"], value_set=pa.array(sorted(replaced), pa.int64())))
        table = table.filter(keep)
    key = artifacts.LABEL_ANNOTATIONS.write(store, spec.id, run_id, table)
    rows = table.to_pylist()

    # The review sample: submitted annotations by people (gold answers are not reviewed).
    population = [r for r in rows if not r["ground_truth"] and not r["was_cancelled"]]
    plan = plan_review(spec.quality.sampling, population=len(population), review_share=spec.annotation.review_share)
    queue = ensure_review_queue(client, spec, annotations=population, plan=plan) if plan.n else None
    # Only verdicts on this run's annotations: item ids are stable across runs and the review project is shared, so a
    # verdict on an earlier run's annotation of the same item must not count here.
    run_annotations = {int(r["annotation_id"]) for r in rows}
    verdicts = [v for v in _verdicts(client, spec, item_ids) if v.annotation_id in run_annotations] if queue else []

    result_qc = write_qc(spec=spec, store=store, run_id=run_id, rows=rows, verdicts=verdicts)
    qc_key = artifacts.LABEL_QC.key(spec.id, run_id)
    summary = {**result_qc.summary, "dataset": spec.id, "run_id": run_id, "items_in_run": len(item_ids),
               "review_plan": asdict(plan), "review_project_id": queue.project_id if queue else None}
    summary_key = artifacts.LABEL_QC_SUMMARY.write(store, spec.id, run_id, summary)
    # What review_wait waits for: the items whose annotations were sampled into the review project.
    artifacts.REVIEW_SAMPLE.write(store, spec.id, run_id, {"project_id": queue.project_id if queue else None,
                                                            "item_ids": list(queue.item_ids) if queue else []})

    result = PullResult(
        project_id=project_id,
        tasks=len({r["task_id"] for r in rows}),
        annotations=len(rows),
        annotators=len({r["annotator"] for r in rows if not r["ground_truth"]}),
        annotations_key=key,
        tasks_exported=exported,
        incremental=incremental,
        qc_key=qc_key,
        qc_summary_key=summary_key,
        review_project_id=queue.project_id if queue else None,
        review_sampled=queue.sampled if queue else 0,
        reviewed=len(verdicts),
        superseded=len(replaced),
    )
    store.write_json(layout.run_file(spec.id, run_id, STAGE, "pull.json"),
                     {**asdict(result), "dataset": spec.id, "run_id": run_id,
                      "items_in_run": len(item_ids), "finished_at": now().isoformat()})
    return result
