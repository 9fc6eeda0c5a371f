"""The validate stage: stream a run's refined records through GX suites built from the spec.

Reads ``runs/<ds>/<run>/refine/records.parquet`` (and, for the plan and the quarantine chart, what collect,
de-identification and refine wrote beside it); writes under ``runs/<ds>/<run>/validate/``: ``quality.json``
(per NIA characteristic: target, measured, status, blocking), ``report.html`` (the inspector's self-contained
QA report), ``splits.parquet`` (each record's planned split, which publish routes by), ``gx_result.json`` (GX's
ExpectationSuiteValidationResult over the whole run) and ``data_docs/`` (GX Data Docs, built locally and uploaded:
GX 1.x has no S3 store backend).

Memory is bounded by one record batch (``batch_rows``): a first pass over small columns writes the run index into
DuckDB, which finds duplicate ids and contents, ranks the split groups and finds leaking content out of core,
spilling to a temporary directory (``runwide.py``, ADR 0022); then every row-level expectation runs per batch, with
each record's run-wide facts read back in record order, and the unexpected counts are summed, which gives the
counts and the verdict of a whole-frame run. Run-level checks (volume, completeness, shares, agreement, the baseline
model) are evaluated once on small summary frames built from counters kept while streaming.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.spec import DatasetSpec, spec_hash
from pipelines.storage import ObjectStore, artifacts, layout
from pipelines.storage.records import record_schema
from pipelines.validate.checks import AGREEMENT_CHECK, CHARACTERISTICS, Check, RunFacts, plan_checks
from pipelines.validate.frames import build_frames, needed_frames, observed_labels, value_counts
from pipelines.validate.report import render_report, thumbnail_data_uri
from pipelines.validate.runwide import RunIndex, build_run_index, describe
from pipelines.validate.sampling import required_sample, wilson_interval
from pipelines.validate.validity import ValidityOutcome, select_trainer

# A batch is sized so its decoded records hold about this many bytes: GX's fixed cost per validated frame (~0.1 s, its
# metric graph) favours few large batches, memory favours small ones, and a record may be 100 bytes or 50 KB.
BATCH_BYTES = 48 * 1024 * 1024
MAX_BATCH_ROWS = 200_000
MIN_BATCH_ROWS = 256
_SAMPLE_ROWS = 2_000
Delivery = Literal["auto", "partial", "final"]
MAX_EXAMPLES = 48  # failing items kept for the report (thumbnails and excerpts)
_EXCERPT = 240


class ValidationError(RuntimeError):
    """The run cannot be validated at all (no records, wrong schema); quality failures are not errors."""


@dataclass(frozen=True)
class ValidationResult:
    """What ``validate`` returns to the orchestrator (XCom-sized).

    Attributes:
        success: Every blocking check passed (the run may be approved automatically).
        checks_failed: Ids of failed blocking checks (on a final delivery, unmeasured ones too).
        quality_key: Storage key of quality.json.
        report_key: Storage key of report.html.
        checks_warned: Ids of failed non-blocking checks.
        items: Records validated.
        result_key: Storage key of GX's validation result JSON.
        docs_key: Storage key of the Data Docs index ("" when not built).
        not_measured: Ids of checks that had nothing to measure (never counted as passed).
        delivery: ``partial`` or ``final``.
    """

    success: bool
    checks_failed: list[str]
    quality_key: str
    report_key: str
    checks_warned: list[str]
    items: int
    result_key: str
    docs_key: str
    not_measured: tuple[str, ...] = ()
    delivery: str = "partial"


def _check_schema(schema: pa.Schema, spec: DatasetSpec, key: str) -> None:
    want = record_schema(spec)
    missing = [f.name for f in want if f.name not in schema.names]
    wrong = [f"{f.name}: {schema.field(f.name).type} (want {f.type})" for f in want
             if f.name in schema.names and not schema.field(f.name).type.equals(f.type)]
    if missing or wrong:
        raise ValidationError(f"{key}: not the record schema of {spec.id} {spec.version}: "
                              f"missing columns {missing}, wrong types {wrong}")


def planned_items(store: ObjectStore, dataset: str, run_id: str) -> int | None:
    """Items the run planned to collect (``collect/plan.json``), if the run was planned by collect."""
    plan = artifacts.COLLECT_PLAN.read_if_exists(store, dataset, run_id)
    return None if plan is None else int(plan.get("items", 0))


def quarantine_counts(store: ObjectStore, dataset: str, run_id: str) -> dict[str, dict[str, int]]:
    """Items each stage of the run quarantined, by reason code (stage -> reason -> count)."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for obj in store.list(layout.run(dataset, run_id)):
        name = obj.key.rsplit("/", 1)[-1]
        if not (name.startswith("quarantine") and name.endswith(".parquet")):
            continue
        table = store.read_table(obj.key, columns=["stage", "reason"])
        for row in pc.value_counts(pc.binary_join_element_wise(table.column("stage"), table.column("reason"),
                                                               "\x1f")).to_pylist():
            stage, reason = str(row["values"]).split("\x1f", 1)
            out[stage][reason] = out[stage].get(reason, 0) + int(row["counts"])
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def masked_counts(store: ObjectStore, dataset: str, run_id: str) -> dict[str, dict[str, int]]:
    """Personal data masked in the run's annotator-typed text, by kind (stage -> kind -> count).

    Read from refine's ``summary.json`` (``masked``); empty when refine wrote none (an older run).
    """
    summary = artifacts.REFINE_SUMMARY.read_if_exists(store, dataset, run_id)
    if summary is None:
        return {}
    masked = summary.get("masked") or {}
    return {"refine": {str(k): int(v) for k, v in sorted(masked.items())}} if masked else {}


def _delivery(spec: DatasetSpec, delivery: Delivery, planned: int | None, items: int) -> tuple[bool, str]:
    if delivery != "auto":
        return delivery == "final", f"set by the caller ({delivery})"
    size = planned if planned is not None else items
    if size >= spec.target_volume:
        return True, f"the run planned {size:,} items >= target volume {spec.target_volume:,}"
    return False, f"the run planned {size:,} of the target volume {spec.target_volume:,}"


@dataclass
class _Streamed:
    """Counters kept while the batches stream (all small: per label, per annotator, per failing item)."""

    label_counts: Counter[Any]
    dim_counts: dict[str, Counter[Any]]
    agree_sum: float = 0.0
    agree_n: int = 0
    by_annotator: dict[str, list[float]] | None = None  # annotator -> [sum of agreement, items]
    examples: dict[str, dict[str, Any]] | None = None
    batches: int = 0


def batch_rows_for(pf: pq.ParquetFile) -> int:
    """Records per batch so a decoded batch holds about ``BATCH_BYTES`` (the first records' decoded size per record).

    Wide records (long documents) get small batches, so memory does not grow with record width; narrow ones get
    up to ``MAX_BATCH_ROWS``, so GX's fixed cost per batch is paid fewer times.
    """
    if pf.metadata.num_rows == 0:
        return MAX_BATCH_ROWS
    first = next(pf.iter_batches(batch_size=_SAMPLE_ROWS), None)
    if first is None or first.num_rows == 0:
        return MAX_BATCH_ROWS
    per_row = max(1, first.nbytes // first.num_rows)
    return int(max(MIN_BATCH_ROWS, min(MAX_BATCH_ROWS, BATCH_BYTES // per_row)))


def validate(*, spec: DatasetSpec, store: ObjectStore, run_id: str, batch_rows: int | None = None,
             data_docs: bool = True, delivery: Delivery = "auto", validity: bool = True) -> ValidationResult:
    """Validate a run's refined records against the checks built from its spec.

    Re-running overwrites the previous outputs (idempotent).

    Args:
        spec: The dataset spec (labels, metadata columns, modality requirements, quality targets).
        store: The storage root.
        run_id: The pipeline run (Airflow run id).
        batch_rows: Records per streamed batch; bounds memory. Default: sized by bytes (``batch_rows_for``).
        data_docs: Build and upload GX Data Docs (tests of the checks themselves can skip the HTML).
        delivery: ``final`` makes plan-level checks (volume, completeness, shares, validity, unmeasured
            targets) blocking; ``partial`` reports them as warnings; ``auto``: final when the run planned at
            least ``target_volume`` items.
        validity: Train and score the baseline model when the spec has a validity target and a trainer applies.

    Returns:
        The verdict, the failed check ids and the keys of what was written.

    Raises:
        ValidationError: No records for the run, or records not in the spec's record schema.
    """
    from pipelines.validate import _gx  # GX takes seconds to import: only when a validation runs

    key = artifacts.RECORDS.key(spec.id, run_id)
    if not store.exists(key):
        raise ValidationError(f"{store.uri(key)}: no refined records for run {run_id!r}; run refine first")
    records_sha = store.sha256(key)
    planned = planned_items(store, spec.id, run_id)
    quarantined = quarantine_counts(store, spec.id, run_id)
    masked = masked_counts(store, spec.id, run_id)
    trainer, trainer_reason = select_trainer(spec, store) if validity else (None, "validity not requested")
    with store.open_input(key) as fh:
        pf = pq.ParquetFile(fh)
        _check_schema(pf.schema_arrow, spec, store.uri(key))
        items = int(pf.metadata.num_rows)
        batch_rows = batch_rows or batch_rows_for(pf)
        final, why = _delivery(spec, delivery, planned, items)
        facts = RunFacts(items=items, final=final, planned=planned)
        checks = plan_checks(spec, items=items, facts=facts)
        runner = _gx.GxRunner(dataset=spec.id, checks=checks)
        frames = {f for f in needed_frames(spec) if f in runner.frames}
        dims = [d for d in spec.planned_shares if d != "label"]
        st = _Streamed(label_counts=Counter(), dim_counts={d: Counter() for d in dims}, by_annotator={},
                       examples={})
        codes_ok = True
        with build_run_index(pf, spec, batch_rows=batch_rows) as index, \
                artifacts.SPLIT_CODES.writer(store, spec, run_id) as codes_out:
            offset = 0
            for batch in pf.iter_batches(batch_size=batch_rows):
                window = index.window(offset, offset + batch.num_rows)
                offset += batch.num_rows
                codes_ok = codes_ok and _write_codes(codes_out, window.split_code, len(index.split_names))
                st.batches += 1
                before = _failing(runner)
                for name, table in build_frames(batch, spec, frames, window).items():
                    runner.run(name, _gx.to_pandas(table))
                below = _agreement(st, batch, spec.quality.agreement)
                if AGREEMENT_CHECK in runner.tallies:
                    runner.tallies[AGREEMENT_CHECK].name_failing(below)
                _keep_examples(st, batch, spec, _failing(runner) - before, runner)
                st.label_counts.update(observed_labels(batch, spec))
                for d in dims:
                    st.dim_counts[d].update(value_counts(batch, d))
                if trainer is not None:
                    trainer.collect(batch, window.splits())
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    runner.run("observed", pd.DataFrame({"label": pd.Series(sorted(st.label_counts, key=str), dtype=object)}))
    runner.run("run", pd.DataFrame({
        "items": [items],
        "volume_share": [items / spec.target_volume],
        # No collect plan (records written by other means): completeness has nothing to compare with.
        "delivered_share": [items / planned if planned else None],
    }))
    shares = _shares(spec, st)
    for dim, rows in shares.items():
        if rows:
            runner.run(f"shares:{dim}", pd.DataFrame(rows))
    if st.agree_n:
        runner.run("agreement", pd.DataFrame({"mean_agreement": [st.agree_sum / st.agree_n],
                                              "items": [st.agree_n]}))
    outcome: ValidityOutcome | None = None
    if trainer is not None and spec.quality.validity is not None:
        outcome = trainer.evaluate(spec.quality.validity.metric)
        if outcome.value is not None:
            runner.run("validity", pd.DataFrame({"value": [outcome.value], "n_test": [outcome.n_test]}))

    quality = _quality_doc(
        spec, run_id, checks, runner.tallies, items=items, batch_rows=batch_rows, records=key,
        records_sha256=records_sha, streamed=st, final=final, delivery_reason=why, planned=planned,
        quarantined=quarantined, shares=shares, index=_splits_doc(store, spec, run_id, index, codes_ok, items),
        validity=outcome, validity_reason=trainer_reason, masked=masked)
    gx_result = runner.combined_result(run_name=layout.safe_run_id(run_id),
                                       meta={"datadam": {"dataset": spec.id, "run_id": run_id,
                                                         "records_sha256": records_sha}})
    result_key = layout.run_file(spec.id, run_id, "validate", "gx_result.json")  # validate keeps it for itself
    store.write_json(result_key, runner.result_json(gx_result))

    docs_key = ""
    if data_docs:
        docs_prefix = artifacts.DATA_DOCS.key(spec.id, run_id)
        store.delete_prefix(docs_prefix)  # stale pages of an earlier validation of this run
        with tempfile.TemporaryDirectory(prefix="datadam-docs-") as tmp:
            index_html = runner.build_docs(gx_result, Path(tmp), run_name=layout.safe_run_id(run_id))
            for path in sorted(Path(tmp).rglob("*")):
                if path.is_file():
                    rel = path.relative_to(tmp).as_posix()
                    store.upload_file(path, artifacts.DATA_DOCS.page(spec.id, run_id, rel))
        docs_key = artifacts.DATA_DOCS.page(spec.id, run_id, index_html.name)

    q_key = artifacts.QUALITY.write(store, spec.id, run_id, quality)
    thumbs = _thumbnails(store, quality.get("examples", {}))
    r_key = artifacts.REPORT.write(store, spec.id, run_id, render_report(
        quality, name=spec.name, name_en=spec.name_en, docs_href="data_docs/index.html" if docs_key else None,
        thumbnails=thumbs))
    return ValidationResult(
        success=bool(quality["success"]), checks_failed=list(quality["checks_failed"]), quality_key=q_key,
        report_key=r_key, checks_warned=list(quality["checks_warned"]), items=items,
        result_key=result_key, docs_key=docs_key, not_measured=tuple(quality["not_measured"]),
        delivery=str(quality["delivery"]["mode"]),
    )


# ---------------------------------------------------------------------------------------- streaming


def _write_codes(out: pq.ParquetWriter, codes: npt.NDArray[np.int8], n_splits: int) -> bool:
    """Append a window's planned splits to ``splits.parquet``; False if one is not a split (publish then plans)."""
    out.write_table(pa.table({"split": pa.array(codes, pa.int8())}, schema=artifacts.SPLIT_CODES.schema))
    return bool(len(codes) == 0 or (codes.min() >= 0 and codes.max() < n_splits))


def _splits_doc(store: ObjectStore, spec: DatasetSpec, run_id: str, index: RunIndex, codes_ok: bool,
                items: int) -> dict[str, Any]:
    """The split plan's summary; with the sha256 of the per-record split codes when publish may route by them.

    Publish trusts ``splits.parquet`` only through this sha256: quality.json is what the gate decided on, and the
    gate records quality.json's own sha256 (docs/adr/0041-publish-routes-by-the-validated-split-codes.md).
    """
    doc = describe(index)
    if codes_ok and index.split_names:
        doc["codes"] = {"sha256": store.sha256(artifacts.SPLIT_CODES.key(spec.id, run_id)), "rows": items}
    return doc


def _failing(runner: Any) -> set[str]:
    return {i for t in runner.tallies.values() for i in t.failing_ids}


def _label_summary(row: dict[str, Any], spec: DatasetSpec) -> str:
    from pipelines.storage.records import LABEL_FIELDS

    parts = []
    for f in LABEL_FIELDS[spec.annotation.type]:
        v = row.get(f.name)
        parts.append(f"{f.name}={v}")
    text = "; ".join(parts)
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


def _keep_examples(st: _Streamed, batch: pa.RecordBatch, spec: DatasetSpec, new_ids: set[str], runner: Any) -> None:
    """Keep what the report shows of items that failed a check (found in the batch that failed them)."""
    assert st.examples is not None
    room = MAX_EXAMPLES - len(st.examples)
    if room <= 0 or not new_ids:
        return
    ids = batch.column(batch.schema.get_field_index("item_id"))
    mask = pc.is_in(ids, value_set=pa.array(sorted(new_ids), pa.string()))
    rows = batch.filter(mask).to_pylist()[:room]
    for row in rows:
        item = str(row["item_id"])
        media = row.get("media") or {}
        text = row.get("text")
        display = (row.get("dicom") or {}).get("display_key")  # a DICOM item is shown by its display PNG
        st.examples[item] = {
            "checks": sorted(c for c, t in runner.tallies.items() if item in t.failing_ids),
            "media_key": display or media.get("key"), "media_ext": "png" if display else media.get("ext"),
            "width": media.get("width"), "height": media.get("height"),
            "text": None if text is None else (text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")),
            "labels": _label_summary(row, spec),
            "overlay": _overlay(row),
        }


def _overlay(row: dict[str, Any]) -> dict[str, list[Any]]:
    """The geometry of an image item in pixels, drawn over its thumbnail (boxes, polygon/polyline points,
    keypoints), so an inspector sees what was wrong without opening the file."""
    boxes = [[o["x"], o["y"], o["w"], o["h"]] for o in row.get("objects") or []
             if None not in (o.get("x"), o.get("y"), o.get("w"), o.get("h"))]
    lines = []
    for key in ("polygons", "polylines"):
        for shape in row.get(key) or []:
            pts = [[p["x"], p["y"]] for p in shape.get("points") or [] if p.get("x") is not None]
            lines.append(pts + pts[:1] if key == "polygons" else pts)  # a polygon is drawn closed
    points = [[k["x"], k["y"]] for pose in row.get("poses") or [] for k in pose.get("keypoints") or []
              if k.get("x") is not None and k.get("y") is not None]
    return {"boxes": boxes[:50], "lines": lines[:50], "points": points[:200]}


def _agreement(st: _Streamed, batch: pa.RecordBatch, target: float | None) -> list[str]:
    """Mean item agreement overall and per annotator (over the overlap items each one worked on); returns the
    batch's overlap items whose own agreement is below ``target`` (what ``agreement.mean`` names as failing).

    Kept as a running sum and count per annotator: nothing grows with the run.
    """
    agree = batch.column(batch.schema.get_field_index("qc_agreement"))
    mask = pc.is_valid(agree)
    if not pc.any(mask).as_py():
        return []
    assert st.by_annotator is not None
    values = pc.cast(agree.filter(mask), pa.float64())
    st.agree_sum += float(pc.sum(values).as_py())
    st.agree_n += len(values)
    people = batch.column(batch.schema.get_field_index("qc_annotators")).filter(mask)
    who = pc.cast(pc.list_flatten(people), pa.string())
    per = pa.table({"who": who, "v": pc.take(values, pc.list_parent_indices(people))}) \
        .group_by("who").aggregate([("v", "sum"), ("v", "count")])
    for name, total, n in zip(per["who"].to_pylist(), per["v_sum"].to_pylist(), per["v_count"].to_pylist(),
                              strict=True):
        acc = st.by_annotator.setdefault(str(name), [0.0, 0.0])
        acc[0] += float(total)
        acc[1] += float(n)
    if target is None:
        return []
    ids = batch.column(batch.schema.get_field_index("item_id")).filter(mask)
    low = pc.less(values, pa.scalar(float(target), pa.float64()))
    return [str(i) for i in ids.filter(low).to_pylist() if i is not None]


def _shares(spec: DatasetSpec, st: _Streamed) -> dict[str, list[dict[str, Any]]]:
    """Planned against actual shares per planned dimension (rows for every planned or observed value)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for dim, plan in spec.planned_shares.items():
        counts = st.label_counts if dim == "label" else st.dim_counts[dim]
        total = sum(counts.values())
        rows = []
        if total:
            for value in [*plan, *sorted((str(v) for v in counts if str(v) not in plan), key=str)]:
                actual = counts.get(value, 0) / total
                planned = float(plan.get(value, 0.0))
                rows.append({"value": value, "count": int(counts.get(value, 0)), "planned": planned,
                             "actual": actual, "abs_deviation": abs(actual - planned)})
        out[dim] = rows
    return out


def _thumbnails(store: ObjectStore, examples: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Downscaled inline images of failing image items (the report stays one self-contained file)."""
    out: dict[str, str] = {}
    for item, ex in examples.items():
        key, ext = ex.get("media_key"), str(ex.get("media_ext") or "").lower()
        if not key or ext not in ("jpg", "jpeg", "png", "webp", "bmp", "tiff", "tif"):
            continue
        try:
            out[item] = thumbnail_data_uri(store.read_bytes(key), overlay=ex.get("overlay"))
        except Exception:  # a missing or undecodable file is itself shown as such in the report
            continue
    return out


# ------------------------------------------------------------------------------------- quality.json


def _characteristic_target(spec: DatasetSpec, key: str) -> float | None:
    q = spec.quality
    targets: dict[str, float | None] = {
        "syntactic_accuracy": q.syntactic_accuracy,
        "technical_conformity": q.technical_conformity,
        "completeness": q.completeness,
        "uniqueness": 1.0,
        "split_leakage": 1.0,
        "conformity": q.conformity_volume,
        "diversity": q.diversity_tolerance,
        "semantic_accuracy": q.semantic_accuracy,
        "gold_accuracy": q.gold_accuracy,
        "agreement": q.agreement,
        "validity": q.validity.target if q.validity is not None else None,
    }
    return targets.get(key)


def _quality_doc(spec: DatasetSpec, run_id: str, checks: list[Check], tallies: dict[str, Any], *, items: int,
                 batch_rows: int, records: str, records_sha256: str, streamed: _Streamed, final: bool,
                 delivery_reason: str, planned: int | None, quarantined: dict[str, dict[str, int]],
                 shares: dict[str, list[dict[str, Any]]], index: dict[str, Any],
                 validity: ValidityOutcome | None, validity_reason: str,
                 masked: dict[str, dict[str, int]] | None = None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for c in checks:
        t = tallies[c.id]
        status = t.status
        blocking = c.blocking
        note = c.note
        sample: dict[str, Any] | None = None
        if c.meta.get("sample") and t.considered > 0:
            sample, conclusive = _sample_facts(spec, c, t, items, streamed)
            if status == "fail" and not conclusive and not final:
                blocking = False
                note = (f"the sample of {sample['size']} is too small to conclude: the {sample['confidence']:.0%} "
                        f"interval [{sample['ci'][0]:.3f}, {sample['ci'][1]:.3f}] includes the target; "
                        "warning on a partial delivery, blocking on a final one")
        if status == "fail" and not blocking:
            status = "warn"
        row: dict[str, Any] = {
            "id": c.id, "characteristic": c.characteristic, "name_ko": c.name_ko, "name_en": c.name_en,
            "frame": c.frame, "expectation": c.expectation, "column": c.column, "target": c.target,
            "direction": c.direction, "measured": t.measured,
            "passed": None if status == "not_measured" else status == "pass",
            "status": status, "blocking": blocking, "note": note, "exception": t.exception,
            "failing_items": list(t.failing_ids), "reworkable": c.reworkable,
        }
        if sample is not None:
            row["sample"] = sample
        if status == "not_measured":
            row["note"] = _not_measured_note(c, validity, validity_reason)
        if t.observed is not None:
            row.update(missing_values=t.observed["missing"], checked_count=None, unexpected_count=None)
        else:
            row.update(element_count=t.element_count, missing_count=t.missing_count,
                       checked_count=t.considered, unexpected_count=t.unexpected_count,
                       partial_unexpected_list=t.partial_unexpected_list)
        rows.append(row)

    chars: dict[str, Any] = {}
    for key, (ko, en) in CHARACTERISTICS.items():
        mine = [r for r in rows if r["characteristic"] == key]
        target = _characteristic_target(spec, key)
        if not mine:
            if target is not None and key not in ("uniqueness", "split_leakage"):
                chars[key] = {"name_ko": ko, "name_en": en, "target": target, "measured": None, "passed": None,
                              "status": "not_measured", "blocking": False, "checks": [],
                              "note": "no check applies to this spec"}
            continue
        measured_rows = [r for r in mine if r["measured"] is not None]
        worst_max = all(r["direction"] == "max" for r in mine)
        values = [r["measured"] for r in measured_rows]
        statuses = {r["status"] for r in mine}
        status = ("fail" if "fail" in statuses else "warn" if "warn" in statuses
                  else "not_measured" if statuses == {"not_measured"} else "pass")
        chars[key] = {"name_ko": ko, "name_en": en, "target": target,
                      # the characteristic is as good as its worst check (NIA counts an item defective once)
                      "measured": (max(values) if worst_max else min(values)) if values else None,
                      "direction": "max" if worst_max else "min",
                      "passed": None if status == "not_measured" else status == "pass",
                      "status": status, "blocking": any(r["blocking"] for r in mine),
                      "checks": [r["id"] for r in mine]}

    failed = [r["id"] for r in rows if r["status"] == "fail"]
    warned = [r["id"] for r in rows if r["status"] == "warn"]
    not_measured = [r["id"] for r in rows if r["status"] == "not_measured"]
    # A final delivery cannot be approved automatically on a target nobody measured.
    blocking_unmeasured = [r["id"] for r in rows if r["status"] == "not_measured" and r["blocking"] and final]
    by_annotator = {who: {"items": int(v[1]), "mean_agreement": v[0] / v[1]}
                    for who, v in sorted((streamed.by_annotator or {}).items())}
    return {
        "dataset": spec.id, "spec_version": spec.version, "spec_hash": spec_hash(spec), "run_id": run_id,
        "validated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "records_key": records, "records_sha256": records_sha256,
        "items": items, "batches": streamed.batches, "batch_rows": batch_rows,
        "delivery": {"mode": "final" if final else "partial", "reason": delivery_reason, "planned": planned,
                     "target_volume": spec.target_volume},
        "success": not failed and not blocking_unmeasured,
        "checks_failed": failed + blocking_unmeasured, "checks_warned": warned, "not_measured": not_measured,
        "characteristics": chars, "checks": rows,
        "label_counts": {str(k): int(v) for k, v in sorted(streamed.label_counts.items(), key=lambda kv: str(kv[0]))},
        "shares": shares,
        "agreement_by_annotator": by_annotator,
        "quarantine": quarantined,
        "masked": masked or {},
        "splits": index,
        "validity": None if validity is None else {
            "trainer": validity.trainer, "metric": validity.metric, "value": validity.value,
            "n_train": validity.n_train, "n_test": validity.n_test, "note": validity.reason},
        "examples": streamed.examples or {},
    }


def _sample_facts(spec: DatasetSpec, c: Check, t: Any, items: int, streamed: _Streamed
                  ) -> tuple[dict[str, Any], bool]:
    """Size, required size and confidence interval of a sampled share (reviewers' verdicts, gold answers) or of the
    mean agreement over the overlap sample; whether a miss is conclusive."""
    conf = spec.quality.sampling.confidence
    if c.meta["sample"] == "mean":
        # Item agreements lie in [0, 1], so their variance is at most mu (1 - mu), a share's: the Wilson interval
        # of the mean over the overlap items covers it at least as well as it covers a share (ADR 0036).
        # The planned size is what the spec's overlap plan sends to several annotators.
        n = streamed.agree_n
        lo, hi = wilson_interval(min(max(streamed.agree_sum, 0.0), float(n)), n, conf)
        required, method = math.ceil(items * spec.annotation.overlap_share), "overlap"
    else:
        n = int(t.considered)
        lo, hi = wilson_interval(n - int(t.unexpected_count), n, conf)
        required, method = required_sample(spec.quality.sampling, items), spec.quality.sampling.method
    facts = {"size": n, "required": required, "confidence": conf, "ci": [lo, hi], "method": method}
    return facts, hi < c.target


def _not_measured_note(c: Check, validity: ValidityOutcome | None, validity_reason: str) -> str:
    if c.characteristic == "validity":
        return (validity.reason if validity is not None and validity.reason else validity_reason) or \
            "the baseline produced no score"
    if c.characteristic == "semantic_accuracy":
        return "no reviewed item in the run (qc_review is empty): not measured, never counted as passed"
    if c.characteristic == "gold_accuracy":
        return "no gold task in the run (qc_gold_correct is empty): not measured, never counted as passed"
    if c.characteristic == "completeness":
        return "the run has no collect plan (collect/plan.json) to compare the delivered records with"
    if c.characteristic == "agreement":
        return "no item was labelled by several annotators (qc_agreement is empty): not measured"
    return "nothing to measure in this run"
