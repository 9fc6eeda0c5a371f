"""An inspector's *rework* at the gate, carried into Label Studio: the run's failing items are annotated again.

The gate writes ``runs/<ds>/<run>/gate/rework.json`` (the items that failed a blocking check); this re-opens their
tasks in the run's project, not labeled, so Label Studio's label stream hands each out again, to as many people as
the item was planned for (:func:`rework_answers`: one on most items, the spec's overlap on an overlap item): the
item is labelled again as planned, so an overlap item stays in the agreement sample (docs/adr/0039). Earlier
annotations stay (they are the audit trail). The overlap is raised from the task's current one, which counts
earlier reworks' people, so a second rework of the item by a later run asks for new answers again; a retry of the
same run's rework keeps the overlap that rework set (:func:`rework_overlap`), so it re-opens nothing twice.

The project's rework ledger (``layout.rework_ledger``, ``state/<ds>/label/project-<id>/reopened.json``: item id ->
when it was re-opened, by which run's gate, how many answers the rework asks for and the overlap it set) tells a
later ``label_pull`` which annotations the rework replaces (:func:`superseded`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.label.client import LabelStudioClient, LabelStudioSettings, TaskRef
from pipelines.storage import ObjectStore, artifacts, layout


@dataclass(frozen=True)
class ReworkResult:
    """What was re-opened.

    Attributes:
        project_id: The Label Studio project.
        reopened: Tasks re-opened.
        missing: Failing items without a task in the project (e.g. quarantined before annotation).
    """

    project_id: int
    reopened: int
    missing: list[str]


def rework_answers(*, required: int, gold: bool) -> int:
    """The answers a rework asks of an item: the people its task was planned for (``required`` counts the gold
    answer of a gold task too, which is never redone)."""
    return max(1, required - int(gold))


def rework_overlap(ref: TaskRef, entry: Mapping[str, Any] | None, *, run_id: str, answers: int) -> int:
    """Label Studio's overlap for a task re-opened by ``run_id``'s rework: ``answers`` more people than it asks for
    now. Its overlap counts every earlier rework's people already (a second rework of the same item, by a later
    run, asks for new answers again); a retry of the same run's rework (``entry`` is the ledger's line for the
    item) keeps the overlap that rework set."""
    if entry is not None and entry.get("run_id") == run_id:
        return int(entry.get("overlap") or max(ref.overlap, ref.required))
    return max(ref.overlap, ref.required) + answers


def reopen_for_rework(*, store: ObjectStore, dataset: str, run_id: str, ls: LabelStudioSettings,
                      project_id: int) -> ReworkResult:
    """Re-open the tasks of the items listed in the run's ``gate/rework.json``; record that in the file.

    Raises:
        LabelStudioError: Label Studio refused an update.
    """
    rework = artifacts.GATE_REWORK.read(store, dataset, run_id)
    items = set(rework.get("items") or {})
    client = LabelStudioClient(ls)
    refs = [r for r in client.task_refs(project_id) if r.item_id in items]
    ledger_key = layout.rework_ledger(dataset, project_id)
    book = store.read_json(ledger_key) if store.exists(ledger_key) else {"items": {}}
    answers = {r.item_id: rework_answers(required=r.required, gold=r.gold) for r in refs}
    overlaps = {r.item_id: rework_overlap(r, book["items"].get(r.item_id), run_id=run_id,
                                          answers=answers[r.item_id]) for r in refs}
    client.set_task_overlaps([(r.task_id, overlaps[r.item_id]) for r in refs], reopen=True)
    now = datetime.now(UTC).isoformat()
    for r in refs:  # a retry of the same run's rework keeps the first time
        if (book["items"].get(r.item_id) or {}).get("run_id") != run_id:
            book["items"][r.item_id] = {"reopened_at": now, "run_id": run_id, "answers": answers[r.item_id],
                                        "overlap": overlaps[r.item_id]}
    store.write_json(ledger_key, book)
    res = ReworkResult(project_id=project_id, reopened=len(refs),
                       missing=sorted(items - {r.item_id for r in refs}))
    artifacts.GATE_REWORK.add(store, dataset, run_id,
                              reopened={"project_id": project_id, "tasks": res.reopened, "missing": res.missing})
    return res


def superseded(rows: Iterable[Mapping[str, Any]], reopened: Mapping[str, Mapping[str, Any]]) -> set[int]:
    """The annotations a rework replaced: on an item re-opened for rework, the people's annotations made before
    it was re-opened, once the rework's answers are all in (the ledger's ``answers``, 1 in a ledger written before
    it said; until then the old ones stand: nothing has replaced them yet, and an overlap item keeps its pairs).

    ``rows`` are pulled annotations (``item_id``, ``annotation_id``, ``created_at``, ``ground_truth``,
    ``was_cancelled``); ``reopened`` is the ledger's ``items``. Gold answers are never replaced; a skip is no answer.
    """
    before: dict[str, list[int]] = {}
    since: Counter[str] = Counter()
    for r in rows:
        entry = reopened.get(str(r["item_id"]))
        if entry is None or r.get("ground_truth") or r.get("created_at") is None:
            continue
        at = datetime.fromisoformat(str(entry["reopened_at"]))
        created = r["created_at"] if r["created_at"].tzinfo else r["created_at"].replace(tzinfo=UTC)
        if created < at:
            before.setdefault(str(r["item_id"]), []).append(int(r["annotation_id"]))
        elif not r.get("was_cancelled"):
            since[str(r["item_id"])] += 1
    redone = {item for item, n in since.items() if n >= int(reopened[item].get("answers") or 1)}
    return {a for item in redone for a in before.get(item, [])}
