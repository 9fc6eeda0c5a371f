"""An inspector's *rework* at the gate, carried into Label Studio: the run's failing items are annotated again.

The gate writes ``runs/<ds>/<run>/gate/rework.json`` (the items that failed a blocking check); this re-opens their
tasks in the run's project: one more annotator than the item needs, and not labeled, so Label Studio's label
stream hands each out again. Earlier annotations stay (they are the audit trail); the overlap is set from the
item's requirement, not incremented, so a retry re-opens nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.label.client import LabelStudioClient, LabelStudioSettings
from pipelines.storage import ObjectStore, artifacts


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
    client.set_task_overlaps([(r.task_id, r.required + 1) for r in refs], reopen=True)
    res = ReworkResult(project_id=project_id, reopened=len(refs),
                       missing=sorted(items - {r.item_id for r in refs}))
    artifacts.GATE_REWORK.add(store, dataset, run_id,
                              reopened={"project_id": project_id, "tasks": res.reopened, "missing": res.missing})
    return res
