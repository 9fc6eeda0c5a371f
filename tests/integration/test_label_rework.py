"""An inspector's rework at the gate re-opens the failing items' tasks in the real Label Studio.

A classification run is pushed and fully annotated by simulated annotators; the gate's ``rework.json`` then names
two of its items (and one that never reached Label Studio). Those two tasks go back into Label Studio's label stream
with their annotations kept; the others stay done; a second call changes nothing; the run's annotation is not
complete until the rework's answers are in; a later run's rework of the same item asks for a new answer again.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.label import LabelStudioSettings, pull, push
from pipelines.label.client import LabelStudioClient, iter_task_rows
from pipelines.label.manifests import iter_rows
from pipelines.label.progress import progress
from pipelines.label.rework import reopen_for_rework, superseded
from pipelines.label.tasks import annotations_needed
from pipelines.storage import artifacts, layout, open_store
from sim import annotators as sim
from sim.data import write_demo_run
from sim.specs import demo_spec
from tests.integration.conftest import MADE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls")]


def _tasks(ls: LabelStudioSettings, project_id: int) -> dict[str, dict[str, Any]]:
    rows = iter_task_rows(ls, project_id, include=("id", "meta", "overlap", "is_labeled", "total_annotations"))
    return {str(r["meta"]["item_id"]): r for r in rows}


def _next_task(ls: LabelStudioSettings, project_id: int) -> int | None:
    """The task Label Studio's label stream hands the token's user (who annotated nothing) next."""
    resp = httpx.get(f"{ls.url}/api/projects/{project_id}/next/", headers={"Authorization": f"Token {ls.token}"},
                     timeout=60)
    return int(resp.json()["id"]) if resp.status_code == 200 and resp.json().get("id") else None


def test_rework_reopens_the_failing_items_tasks_and_keeps_their_annotations(
    tmp_path: Path, ls: LabelStudioSettings
) -> None:
    spec = demo_spec("classification", spec_id=f"it-rework-{uuid.uuid4().hex[:10]}")
    MADE.append(spec)
    store = open_store((tmp_path / "root").as_uri())
    ids = write_demo_run(spec=spec, store=store, run_id="r1", items=6)
    project_id = int(push(spec=spec, store=store, run_id="r1", ls=ls).project_id)
    sim.simulate(ls=ls, store=store, spec=spec, project_id=project_id, annotators=2, error_rate=0.0, run_id="r1")
    before = _tasks(ls, project_id)
    assert all(t["is_labeled"] for t in before.values()), before
    assert _next_task(ls, project_id) is None

    failing = sorted(ids)[:2]
    store.write_json(artifacts.GATE_REWORK.key(spec.id, "r1"),
                     {"items": {**{i: ["syntactic.label_in_set"] for i in failing}, "never-pushed": ["x"]}})
    res = reopen_for_rework(store=store, dataset=spec.id, run_id="r1", ls=ls, project_id=project_id)
    assert (res.reopened, res.missing) == (2, ["never-pushed"])

    after = _tasks(ls, project_id)
    for item, task in after.items():
        if item in failing:
            # one annotator more than the item needs (its own task meta says how many)
            assert not task["is_labeled"] and task["overlap"] == annotations_needed(task["meta"]) + 1, task
            assert task["total_annotations"] == before[item]["total_annotations"]  # nothing deleted
        else:
            assert task == before[item]
    assert _next_task(ls, project_id) in {after[i]["id"] for i in failing}
    assert store.read_json(artifacts.GATE_REWORK.key(spec.id, "r1"))["reopened"] == {
        "project_id": project_id, "tasks": 2, "missing": ["never-pushed"]}

    reopen_for_rework(store=store, dataset=spec.id, run_id="r1", ls=ls, project_id=project_id)
    assert _tasks(ls, project_id) == after  # a retry re-opens nothing twice
    # until the rework's answers are in, the run's annotation is not complete (label_wait waits for them)
    assert progress(ls=ls, project_id=project_id, item_ids=ids).done == len(ids) - 2

    sim.simulate(ls=ls, store=store, spec=spec, project_id=project_id, annotators=2, error_rate=0.0, run_id="r1")
    assert progress(ls=ls, project_id=project_id, item_ids=ids).complete
    # a later run's gate sends one of them back again: a new answer is asked for, beyond the first rework's
    again = failing[0]
    store.write_json(artifacts.GATE_REWORK.key(spec.id, "r2"), {"items": {again: ["semantic.review_accepted"]}})
    assert reopen_for_rework(store=store, dataset=spec.id, run_id="r2", ls=ls, project_id=project_id).reopened == 1
    second = _tasks(ls, project_id)[again]
    assert not second["is_labeled"] and second["overlap"] == after[again]["overlap"] + 1, second
    assert progress(ls=ls, project_id=project_id, item_ids=ids).done == len(ids) - 1
    assert _next_task(ls, project_id) == second["id"]


def _reworked(tmp_path: Path, ls: LabelStudioSettings, *, items: int, check: str,
              annotation: dict[str, Any] | None = None) -> tuple[Any, Any, list[str], int, list[str], dict[str, Any]]:
    """A classification run whose every first answer is wrong (error rate 1 each), its first two items sent back
    for ``check`` and re-opened: (spec, store, its item ids, project id, the re-opened items, the rework ledger)."""
    spec = demo_spec("classification", spec_id=f"it-rework-{uuid.uuid4().hex[:10]}", annotation=annotation)
    MADE.append(spec)
    store = open_store((tmp_path / "root").as_uri())
    ids = write_demo_run(spec=spec, store=store, run_id="r1", items=items)
    project_id = int(push(spec=spec, store=store, run_id="r1", ls=ls).project_id)
    sim.simulate(ls=ls, store=store, spec=spec, project_id=project_id, annotators=3, error_rate=[1.0] * 3, run_id="r1")
    failing = sorted(ids)[:2]
    store.write_json(artifacts.GATE_REWORK.key(spec.id, "r1"), {"items": {i: [check] for i in failing}})
    reopen_for_rework(store=store, dataset=spec.id, run_id="r1", ls=ls, project_id=project_id)
    book: dict[str, Any] = store.read_json(layout.rework_ledger(spec.id, project_id))["items"]
    return spec, store, ids, project_id, failing, book


def test_simulated_annotators_correct_a_reworked_item_and_the_next_pull_leaves_the_wrong_answer_out(
    tmp_path: Path, ls: LabelStudioSettings
) -> None:
    """Every simulated annotator errs (error rate 1 each: a single rate would be spread 0.5-1.5 over the team, and
    the uuid spec id reseeds who answers first, so a right first answer made this test flaky): the re-opened items
    get one more annotation each, by someone who had not worked on them, with the right label; the ledger dates the
    rework so the old answers are replaced."""
    spec, store, _, project_id, failing, book = _reworked(tmp_path, ls, items=4, check="semantic.review_accepted")
    assert sorted(book) == failing and {e["run_id"] for e in book.values()} == {"r1"}

    res = sim.simulate(ls=ls, store=store, spec=spec, project_id=project_id, annotators=3, error_rate=[1.0] * 3,
                       run_id="r1")
    assert (res.tasks_annotated, res.annotations_created, res.errors_injected) == (2, 2, 0)
    truth = {r["item_id"]: json.loads(r["truth"])["label"]
             for rows in iter_rows(store, spec.id, "r1", columns=("item_id", "truth")) for r in rows}
    client = LabelStudioClient(ls)
    pulled, olds = [], set()
    for ref in client.task_refs(project_id):
        anns = sorted(httpx.get(f"{ls.url}/api/tasks/{ref.task_id}/annotations/",
                                headers={"Authorization": f"Token {ls.token}"}, timeout=60).json(),
                      key=lambda a: a["id"])
        if ref.item_id in failing:
            old, new = anns  # the wrong answer stays (the audit trail); the rework adds the right one
            assert old["completed_by"] != new["completed_by"]
            assert old["result"][0]["value"]["choices"] != [truth[ref.item_id]]
            assert new["result"][0]["value"]["choices"] == [truth[ref.item_id]]
            olds.add(old["id"])
        else:
            assert len(anns) == 1
        pulled += [{"item_id": ref.item_id, "annotation_id": a["id"], "ground_truth": a.get("ground_truth", False),
                    "was_cancelled": a["was_cancelled"],
                    "created_at": datetime.fromisoformat(a["created_at"].replace("Z", "+00:00"))} for a in anns]
    assert superseded(pulled, book) == olds


def test_a_reworked_overlap_item_is_labelled_again_by_as_many_people_and_stays_in_the_agreement_sample(
    tmp_path: Path, ls: LabelStudioSettings
) -> None:
    """docs/adr/0039: every item is an overlap item of 2, every first answer is wrong (error rate 1). The rework asks
    each re-opened item for two new answers from people new to it (Label Studio counts distinct people against the
    overlap): a team of 3 has one left, so a reserve annotator answers too. The next pull replaces the old pair by
    the new one: two answers, both right, still an overlap pair."""
    spec, store, ids, project_id, failing, book = _reworked(tmp_path, ls, items=3, check="agreement.mean",
                                                            annotation={"overlap": 2, "overlap_share": 1.0})
    assert {i: e["answers"] for i, e in book.items()} == dict.fromkeys(failing, 2)
    tasks = _tasks(ls, project_id)
    assert {i: t["overlap"] for i, t in tasks.items() if i in failing} == dict.fromkeys(failing, 4)

    res = sim.simulate(ls=ls, store=store, spec=spec, project_id=project_id, annotators=3, error_rate=[1.0] * 3,
                       run_id="r1")
    assert (res.tasks_annotated, res.annotations_created, res.errors_injected) == (2, 4, 0)
    after = _tasks(ls, project_id)
    assert all(t["is_labeled"] for t in after.values()), after  # Label Studio's own count: distinct people
    truth = {r["item_id"]: json.loads(r["truth"])["label"]
             for rows in iter_rows(store, spec.id, "r1", columns=("item_id", "truth")) for r in rows}
    pulled, olds = [], set()
    for ref in LabelStudioClient(ls).task_refs(project_id):
        anns = sorted(httpx.get(f"{ls.url}/api/tasks/{ref.task_id}/annotations/",
                                headers={"Authorization": f"Token {ls.token}"}, timeout=60).json(),
                      key=lambda a: a["id"])
        if ref.item_id in failing:
            old, new = anns[:2], anns[2:]
            assert len({a["completed_by"] for a in anns}) == 4, anns  # four different people
            assert all(a["result"][0]["value"]["choices"] == [truth[ref.item_id]] for a in new)
            olds |= {a["id"] for a in old}
        else:
            assert len(anns) == 2
        pulled += [{"item_id": ref.item_id, "annotation_id": a["id"], "ground_truth": a.get("ground_truth", False),
                    "was_cancelled": a["was_cancelled"],
                    "created_at": datetime.fromisoformat(a["created_at"].replace("Z", "+00:00"))} for a in anns]
    assert superseded(pulled, book) == olds
    kept = [r for r in pulled if r["annotation_id"] not in olds]
    assert all(sum(r["item_id"] == i for r in kept) == 2 for i in ids), "every item is still an overlap pair"
    # label_pull's QC: the reworked items are measured by two people again, who agree
    res_pull = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=project_id)
    assert res_pull.superseded == len(olds) == 4
    qc_rows = {r["item_id"]: r for r in store.read_table(res_pull.qc_key).to_pylist()}
    measured = {i: (qc_rows[i]["n_annotations"], qc_rows[i]["agreement"]) for i in failing}
    assert measured == dict.fromkeys(failing, (2, 1.0))
