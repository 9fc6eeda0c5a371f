"""Incremental ``label_pull`` on the real Label Studio server: what changed since the last pull is exported and
replaces what the earlier pulls held; an edited annotation is picked up, a deleted one is dropped (also a task's
last one), and nothing is counted twice."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from pipelines.label import LabelStudioClient, LabelStudioSettings, pull, push
from pipelines.label.client import auth_headers, iter_task_rows
from pipelines.label.pull import CURSOR_OVERLAP
from pipelines.storage import open_store
from sim.data import write_demo_run
from sim.specs import demo_spec
from tests.integration.conftest import MADE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls")]


def _result(choice: str) -> list[dict[str, object]]:
    return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}]


def test_an_incremental_pull_picks_up_edits_and_drops_deleted_annotations(tmp_path: Path,
                                                                           ls: LabelStudioSettings) -> None:
    spec = demo_spec("classification", spec_id=f"it-pull-{uuid.uuid4().hex[:10]}", items=8,
                     annotation={"gold_share": 0.0, "review_share": 0.0})
    MADE.append(spec)
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=8)
    pushed = push(spec=spec, store=store, run_id="r1", ls=ls)
    client = LabelStudioClient(ls)
    me = client.me()
    labels = spec.labels
    tasks = sorted(iter_task_rows(ls, pushed.project_id), key=lambda t: int(t["id"]))
    ann: dict[int, list[int]] = {}
    for t in tasks:
        ann[int(t["id"])] = [client.create_annotation(int(t["id"]), result=_result(labels[0]), completed_by=me)]
    edited, twice, emptied = (int(t["id"]) for t in tasks[:3])
    ann[twice].append(client.create_annotation(twice, result=_result(labels[0]), completed_by=me))
    time.sleep(CURSOR_OVERLAP.total_seconds() + 1)

    first = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    assert not first.incremental and first.annotations == len(tasks) + 1

    with httpx.Client(timeout=60) as c:
        h = auth_headers(ls, c)
        assert c.patch(f"{ls.url}/api/annotations/{ann[edited][0]}/", json={"result": _result(labels[1])},
                       headers=h).status_code == 200
        assert c.delete(f"{ls.url}/api/annotations/{ann[twice][1]}/", headers=h).status_code == 204
        assert c.delete(f"{ls.url}/api/annotations/{ann[emptied][0]}/", headers=h).status_code == 204
    time.sleep(CURSOR_OVERLAP.total_seconds() + 1)

    second = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    assert second.incremental and 1 <= second.tasks_exported <= 3  # only the changed tasks
    rows = store.read_table(second.annotations_key).to_pylist()
    ids = Counter(r["annotation_id"] for r in rows)
    assert all(n == 1 for n in ids.values())  # nothing twice
    assert set(ids) == {a for t, a_ids in ann.items() for a in a_ids} - {ann[twice][1], ann[emptied][0]}
    assert second.annotations == len(rows) == len(tasks) - 1
    by_id = {r["annotation_id"]: r for r in rows}
    assert json.loads(by_id[ann[edited][0]]["result"])[0]["value"]["choices"] == [labels[1]]
    qc_rows = {r["item_id"]: r for r in store.read_table(second.qc_key).to_pylist()}
    task_item = {int(t["id"]): t["meta"]["item_id"] for t in tasks}
    assert task_item[emptied] not in qc_rows and qc_rows[task_item[twice]]["n_annotations"] == 1
    assert json.loads(qc_rows[task_item[edited]]["consensus"]) == labels[1]

    # nothing changed since: the next pull exports nothing and reads the same
    time.sleep(CURSOR_OVERLAP.total_seconds() + 1)
    third = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    assert third.incremental and third.tasks_exported == 0
    assert store.read_table(third.annotations_key).to_pylist() == rows
