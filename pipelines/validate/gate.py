"""The publish gate: a run is approved by its checks, or by a QA inspector's recorded decision.

- ``record_decision`` writes ``runs/<ds>/<run>/gate/decision.json`` (who, when, note, how it was answered;
  approved|rejected|rework), bound to the sha256 of the quality.json the inspector read: a decision never
  carries over to a re-validation.
- ``inspector_brief`` is what an inspector reads before deciding in Airflow's Required Actions: the
  characteristics that failed, measured against their targets, and the report's location.
- ``gate`` writes ``runs/<ds>/<run>/gate/result.json`` (what publish reads) and returns the outcome:
  an inspector's decision on the current report wins (an inspector may reject a run whose checks passed);
  otherwise a run whose blocking checks all passed is approved automatically; otherwise it is pending.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pipelines.spec import DatasetSpec
from pipelines.storage import ObjectStore, artifacts

Status = Literal["approved", "rejected", "rework", "pending"]
AUTOMATIC_BY = "datadam:validate"
# What an inspector may decide: publish, never publish this run, or send its failing items back to annotation.
DECISIONS = ("approved", "rejected", "rework")
# How a decision reached the gate: the CLI writing decision.json, or Airflow's human-in-the-loop task.
VIA_FILE = "datadam qa"
VIA_AIRFLOW = "airflow hitl"


class GateError(RuntimeError):
    """The gate cannot decide (no validation yet) or a decision is malformed."""


@dataclass(frozen=True)
class GateResult:
    """The gate's outcome for a run.

    Attributes:
        status: ``approved``, ``rejected``, ``rework`` (sent back to annotation) or ``pending``.
        by: Who decided: the inspector's name, or ``datadam:validate`` for an automatic approval.
        note: Why (the inspector's note, or the failed checks).
        automatic: True when approved by the checks alone.
        at: When the inspector decided (empty for automatic and pending outcomes).
        via: How the decision arrived (``datadam qa`` or ``airflow hitl``; empty when nobody decided).
    """

    status: str
    by: str
    note: str
    automatic: bool
    at: str = ""
    via: str = ""


@dataclass(frozen=True)
class Decision:
    """An inspector's recorded decision on one validation of a run."""

    decision: str
    by: str
    note: str
    at: str
    quality_sha256: str
    via: str = VIA_FILE


def _quality(store: ObjectStore, dataset: str, run_id: str) -> tuple[dict[str, Any], str]:
    if not artifacts.QUALITY.exists(store, dataset, run_id):
        raise GateError(f"{artifacts.QUALITY.uri(store, dataset, run_id)}: run {run_id!r} has not been validated yet")
    raw = artifacts.QUALITY.read_bytes(store, dataset, run_id)
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def record_decision(*, store: ObjectStore, dataset: str, run_id: str, decision: str, by: str,
                    note: str = "", at: str | None = None, via: str = VIA_FILE) -> Decision:
    """Record a QA inspector's decision on the run's current validation report.

    A later decision replaces an earlier one; earlier ones are kept in ``history``.

    Args:
        store: The storage root.
        dataset: Dataset id.
        run_id: The run the inspector reviewed.
        decision: ``approved``, ``rejected`` or ``rework``.
        by: The inspector's name (required: a decision without a person is not an audit record).
        note: Why.
        at: When the inspector answered (ISO 8601; default now). Airflow's answers carry their own time.
        via: How the decision arrived (``datadam qa`` or ``airflow hitl``).

    Raises:
        GateError: Unknown decision, no inspector name, or the run has no validation report.
    """
    if decision not in DECISIONS:
        raise GateError(f"decision must be 'approved' or 'rejected' (or 'rework': back to annotation), "
                        f"not {decision!r}")
    if not by.strip():
        raise GateError("a decision needs the inspector's name (by=...)")
    _, q_sha = _quality(store, dataset, run_id)
    rec = Decision(decision=decision, by=by.strip(), note=note,
                   at=at or datetime.now(UTC).isoformat(timespec="seconds"), quality_sha256=q_sha, via=via)
    history: list[dict[str, Any]] = []
    prev = artifacts.GATE_DECISION.read_if_exists(store, dataset, run_id)
    if prev is not None:
        history = [*prev.get("history", []), {k: v for k, v in prev.items() if k != "history"}]
    artifacts.GATE_DECISION.write(store, dataset, run_id,
                                  {**asdict(rec), "dataset": dataset, "run_id": run_id, "history": history})
    return rec


def _read_decision(store: ObjectStore, dataset: str, run_id: str) -> Decision | None:
    d = artifacts.GATE_DECISION.read_if_exists(store, dataset, run_id)
    if d is None:
        return None
    try:
        return Decision(decision=d["decision"], by=d["by"], note=d.get("note", ""), at=d["at"],
                        quality_sha256=d["quality_sha256"], via=d.get("via", VIA_FILE))
    except KeyError as exc:
        raise GateError(f"{artifacts.GATE_DECISION.uri(store, dataset, run_id)}: malformed decision, missing {exc}"
                        ) from exc


def current_decision(*, store: ObjectStore, dataset: str, run_id: str) -> tuple[Decision | None, bool]:
    """The inspector's latest decision on a run (None if none), and whether it was made on the current report.

    Raises:
        GateError: The run has not been validated, or its decision file is malformed.
    """
    _, q_sha = _quality(store, dataset, run_id)
    decision = _read_decision(store, dataset, run_id)
    return decision, decision is not None and decision.quality_sha256 == q_sha


def gate(*, spec: DatasetSpec, store: ObjectStore, run_id: str) -> GateResult:
    """Decide whether a validated run may be published, and record the outcome for publish.

    Args:
        spec: The dataset spec.
        store: The storage root.
        run_id: The run.

    Returns:
        ``approved`` (automatically or by an inspector), ``rejected`` or ``rework`` (by an inspector), or
        ``pending``.

    Raises:
        GateError: The run has not been validated.
    """
    quality, q_sha = _quality(store, spec.id, run_id)
    decision = _read_decision(store, spec.id, run_id)
    if decision is not None and decision.quality_sha256 == q_sha:
        res = GateResult(status=decision.decision, by=decision.by, note=decision.note, automatic=False,
                         at=decision.at, via=decision.via)
    elif quality.get("success"):
        note = "every blocking check passed"
        unmeasured = quality.get("not_measured") or []
        if unmeasured:
            # Not measured is never a pass: an automatic approval says so, and the note travels into the release.
            note += f"; not measured (a partial delivery): {', '.join(unmeasured)}"
        res = GateResult(status="approved", by=AUTOMATIC_BY, note=note, automatic=True)
    else:
        failed = ", ".join(quality.get("checks_failed", [])) or "unknown"
        note = f"blocking checks failed: {failed}; waiting for an inspector (datadam qa approve|reject)"
        if decision is not None:
            note = (f"the decision by {decision.by} at {decision.at} was made on an earlier validation; "
                    f"decide again. {note}")
        res = GateResult(status="pending", by="", note=note, automatic=False)
    if res.status == "rework":
        items = failing_items(quality)
        artifacts.GATE_REWORK.write(store, spec.id, run_id, {
            "dataset": spec.id, "run_id": run_id, "by": res.by, "note": res.note, "at": res.at,
            "quality_sha256": q_sha, "items": items,
            "run_wide_checks": [c for c in quality.get("checks_failed", [])
                                if not any(c in checks for checks in items.values())]})
    artifacts.GATE_RESULT.write(store, spec.id, run_id, {
        **asdict(res), "dataset": spec.id, "run_id": run_id,
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quality_sha256": q_sha, "records_sha256": quality.get("records_sha256"),
        "delivery": (quality.get("delivery") or {}).get("mode"), "checks_failed": quality.get("checks_failed", []),
        "not_measured": quality.get("not_measured", []),
    })
    return res


def failing_items(quality: dict[str, Any]) -> dict[str, list[str]]:
    """Item id -> the failed blocking checks that name it (run-wide checks, e.g. volume, name no item)."""
    items: dict[str, list[str]] = {}
    for row in quality.get("checks", []):
        if row.get("status") == "fail" and row.get("blocking"):
            for item in row.get("failing_items") or []:
                items.setdefault(str(item), []).append(str(row["id"]))
    return items


def inspector_brief(*, store: ObjectStore, dataset: str, run_id: str) -> str:
    """What an inspector reads before answering the gate in Airflow (Markdown): the characteristics that
    failed or were not measured, each measured against its target, the failed checks and the report.

    Raises:
        GateError: The run has not been validated.
    """
    from pipelines.validate.report import format_value

    quality, _ = _quality(store, dataset, run_id)
    delivery = quality.get("delivery") or {}
    lines = [f"**{dataset}** run `{quality.get('run_id', run_id)}`: {quality.get('items')} records, "
             f"{delivery.get('mode', 'partial')} delivery.", "",
             "| characteristic | target | measured | result |", "|---|---|---|---|"]
    for key, c in (quality.get("characteristics") or {}).items():
        if c.get("status") in ("fail", "not_measured") or c.get("passed") is False:
            shown = [format_value(v, key) if isinstance(v, int | float) else "—"
                     for v in (c.get("target"), c.get("measured"))]
            lines.append(f"| {c.get('name_ko', key)} {c.get('name_en', '')} | {shown[0]} | {shown[1]} "
                         f"| {c.get('status')} |")
    failed = quality.get("checks_failed") or []
    lines += ["", f"Blocking checks failed: {', '.join(f'`{f}`' for f in failed) or 'none'}."]
    if quality.get("not_measured"):
        lines.append(f"Not measured (never counted as passed): {', '.join(quality['not_measured'])}.")
    items = failing_items(quality)
    if items:
        lines.append(f"{len(items)} items fail a blocking check; *Send back for rework* re-opens them for "
                     "annotation in Label Studio and fails the run.")
    report = artifacts.REPORT.uri(store, dataset, run_id)
    lines += ["", f"Report: [{report}]({report})",
              "", "Approve publishes this run; Reject fails it and nothing is published. "
              "Write why in the note: it goes into the run and the release manifest."]
    return "\n".join(lines)


def rework_summary(*, store: ObjectStore, dataset: str, run_id: str) -> str:
    """One line for a run sent back for rework: who, why, and which items to re-annotate (from rework.json)."""
    key = artifacts.GATE_REWORK.key(dataset, run_id)
    rework = artifacts.GATE_REWORK.read(store, dataset, run_id)
    items = sorted(rework["items"])
    shown = ", ".join(items[:10]) + (" ..." if len(items) > 10 else "")
    run_wide = rework.get("run_wide_checks") or []
    reopened = rework.get("reopened")
    where = (f"; {reopened['tasks']} re-opened for annotation in Label Studio project {reopened['project_id']}"
             if reopened else "")
    return (f"sent back for rework by {rework['by']}: {rework['note']}; {len(items)} items to re-annotate"
            f"{f' ({shown})' if items else ''}, listed in {store.uri(key)}{where}"
            f"{'; run-wide checks failed: ' + ', '.join(run_wide) if run_wide else ''}")
