"""Faults on the real stack: label_push killed with SIGKILL mid-import, and Label Studio restarted while a DAG
run's label_wait is deferred."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli.run import RunSummary, run_one
from pipelines.label import (
    LabelStudioClient,
    LabelStudioSettings,
    progress,
    project_title,
    push,
    required_annotations,
    run_item_ids,
)
from pipelines.label.client import iter_task_rows
from pipelines.label.manifests import run_ids
from pipelines.label.tasks import annotations_needed, submitted_annotations
from pipelines.spec import load_catalog
from pipelines.spec.models import DatasetSpec
from pipelines.stack import StackInfo
from pipelines.stack.core import restart_labelstudio
from pipelines.storage import layout, open_store
from sim import annotators as sim
from sim.data import write_demo_run
from sim.specs import demo_spec
from tests.integration.conftest import MADE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls")]
_COUNTED = ("id", "meta", "overlap", "total_annotations", "annotations_ids", "cancelled_annotations")
ROOT = Path(__file__).resolve().parents[2]





_PUSH = """
import sys
from pipelines.label import LabelStudioSettings, push
from pipelines.spec import load_spec
from pipelines.storage import open_store
spec = load_spec(sys.argv[1])
push(spec=spec, store=open_store(sys.argv[2]), run_id="r1", ls=LabelStudioSettings.from_env(), max_batch_tasks=20)
"""


def _count(ls: LabelStudioSettings, spec: DatasetSpec) -> int:
    pid = LabelStudioClient(ls).find_project(project_title(spec))
    return 0 if pid is None else sum(1 for _ in iter_task_rows(ls, pid, include=("id",)))


def test_push_killed_with_sigkill_mid_import_leaves_no_duplicates_on_rerun(
    tmp_path: Path, ls: LabelStudioSettings
) -> None:
    spec = demo_spec("classification", spec_id=f"it-kill-{uuid.uuid4().hex[:10]}",
                     annotation={"overlap": 2, "overlap_share": 0.3, "gold_share": 0.1})
    MADE.append(spec)
    store = open_store(str(tmp_path / "store"))
    n = 500
    ids = write_demo_run(spec=spec, store=store, run_id="r1", items=n, shards=3)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.model_dump_json(by_alias=True))
    env = {**os.environ, "DATADAM_LS_URL": ls.url, "DATADAM_LS_TOKEN": ls.token, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _PUSH, str(spec_file), store.root], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        seen = _count(ls, spec)
        if seen >= 100:  # several import requests went through, most have not
            break
        time.sleep(0.2)
    assert proc.poll() is None, f"push finished before it could be killed: {proc.stderr.read() if proc.stderr else ''}"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    partial = _count(ls, spec)
    assert 100 <= partial < n  # killed mid-import, for real

    again = push(spec=spec, store=store, run_id="r1", ls=ls)
    assert (again.tasks_total, again.tasks_existing, again.tasks_created) == (n, partial, n - partial)
    tasks = list(iter_task_rows(ls, again.project_id, include=_COUNTED, fields="all"))
    items = Counter(t["meta"]["item_id"] for t in tasks)
    assert sorted(items) == sorted(ids) and set(items.values()) == {1}  # every item once: no duplicates
    # per-task overlaps and gold answers the killed push may not have written were repaired
    for t in tasks:
        assert t["overlap"] == annotations_needed(t["meta"])
        assert t["meta"]["overlap"] == required_annotations(spec, t["meta"]["item_id"])
        assert submitted_annotations(t) == (1 if t["meta"].get("gold") else 0)  # exactly one gold answer


def test_label_studio_restarted_while_label_wait_is_deferred_the_run_resumes_and_finishes(
    tmp_path: Path, stack: StackInfo, ls: LabelStudioSettings
) -> None:
    # A catalog spec the demo does not use; its project is dropped first, so this run's tasks are new and
    # label_wait really has to wait (the synthetic source is seeded: every run collects the same items).
    spec = load_catalog().get("emotional-dialogue-corpus")
    client = LabelStudioClient(ls)
    old = client.find_project(project_title(spec))
    if old is not None:
        client.sdk.projects.delete(id=old)
    storage = (tmp_path / "storage").as_uri()
    store = open_store(storage)
    outcome: dict[str, RunSummary] = {}

    def run() -> None:
        # Nobody reviews in this test: review_wait gives up after a few polls (semantic accuracy "not measured").
        outcome["run"] = run_one(spec.id, stack=stack, storage=storage, items=60, simulate=False, poll_s=2.0,
                                 timeout_s=600.0, review_timeout_s=10.0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    # label_push has finished (its summary is in storage) and nobody has annotated: label_wait is deferred
    deadline = time.monotonic() + 600
    pushed: dict[str, Any] = {}
    while time.monotonic() < deadline and thread.is_alive():
        runs = run_ids(store, spec.id)
        key = f"{layout.run(spec.id, runs[-1], 'label_push')}/push.json" if runs else ""
        if key and store.exists(key):
            pushed = store.read_json(key)
            break
        time.sleep(1)
    assert pushed, f"label_push never finished: {outcome}"
    time.sleep(5)  # a few polls of the trigger against the live server
    scope = run_item_ids(store=store, dataset=spec.id, run_id=pushed["run_id"])
    waiting = progress(ls=ls, project_id=int(pushed["project_id"]), item_ids=scope)
    assert waiting.total == len(scope) and waiting.done == 0 and thread.is_alive()  # label_wait is deferred

    restarted = restart_labelstudio()
    assert restarted.ls_url == stack.ls_url  # same URL: the trigger's connection still points at it
    res, prog = sim.watch(ls=ls, store=store, spec=spec, project_id=int(pushed["project_id"]),
                          run_id=pushed["run_id"], annotators=3, error_rate=0.0, timeout_s=300, poll_s=2)
    assert prog.complete, (res, prog)
    thread.join(timeout=900)
    assert not thread.is_alive(), "the run did not finish after annotation completed"
    summary = outcome["run"]
    assert summary.state == "success", (summary.tasks, summary.log)
    assert summary.tasks["label_wait"]["state"] == "success"
    assert summary.release is not None and summary.rows
    log = summary.log.read_text(encoding="utf-8", errors="replace")
    assert "Label Studio not reachable" in log  # the deferred wait really spanned the outage
