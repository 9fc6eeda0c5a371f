"""A whole DAG on real components: Airflow (dag.test on SQLite), the Label Studio server, the S3 endpoint.

Checks what an AI developer and an inspector would check on the release: the row count, the labels against the
consensus of what the (simulated) annotators actually submitted in Label Studio, and every manifest checksum.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from pipelines.cli.run import RunSummary, run_one
from pipelines.publish import open_dataset
from pipelines.spec import load_catalog
from pipelines.stack import StackInfo
from pipelines.storage import ObjectStore, S3Settings, layout, open_store
from pipelines.validate import record_decision

pytestmark = pytest.mark.integration


def _s3_store(stack: StackInfo, root: str) -> Any:
    s3 = S3Settings(endpoint_url=stack.s3_endpoint, access_key=stack.s3_access_key,
                    secret_key=stack.s3_secret_key, region=stack.s3_region)
    return open_store(root, s3=s3)


def _submitted_labels(stack: StackInfo, spec_id: str, item_ids: set[str]) -> dict[str, list[str]]:
    """What annotators submitted in Label Studio, read straight from the server (not from our pull)."""
    from label_studio_sdk import LabelStudio

    spec = load_catalog().get(spec_id)
    ls = LabelStudio(base_url=stack.ls_url, api_key=stack.ls_token)
    from pipelines.label.tasks import project_title

    title = project_title(spec)
    project = next(p for p in ls.projects.list() if p.title == title)
    out: dict[str, list[str]] = {}
    for task in ls.tasks.list(project=project.id, fields="all"):
        item = (task.data or {}).get("item_id")
        if item not in item_ids:
            continue
        labels = []
        for raw in task.annotations or []:
            ann = raw if isinstance(raw, dict) else raw.dict()
            if ann.get("was_cancelled"):
                continue
            choices = [c for r in ann["result"] if r.get("type") == "choices" for c in r["value"]["choices"]]
            labels.append(choices[0])
        out[item] = labels
    return out


def _fresh_project(stack: StackInfo, spec_id: str) -> None:
    """Projects are per dataset version and reused across runs (idempotency): start from none (and no review
    project), so the run really waits for the simulated annotators instead of finding last session's work."""
    from pipelines.label import LabelStudioSettings
    from sim.specs import delete_projects

    delete_projects(LabelStudioSettings(url=stack.ls_url, token=stack.ls_token), [load_catalog().get(spec_id)])


def _inspector_approves_when_blocked(store: ObjectStore, spec_id: str, runner: threading.Thread) -> dict[str, Any]:
    """Wait until the run's validation fails a blocking check, approve it as an inspector; return quality.json."""
    prefix = f"runs/{spec_id}/"
    while runner.is_alive():
        for key in [o.key for o in store.list(prefix) if o.key.endswith("/validate/quality.json")]:
            quality = store.read_json(key)
            if not quality["success"]:
                run_dir = key[len(prefix):].split("/", 1)[0]
                record_decision(store=store, dataset=spec_id, run_id=run_dir, decision="approved", by="e2e-inspector",
                                note="wrong labels seen by the reviewers are known; approved for the test")
                return dict(quality)
        time.sleep(2)
    raise AssertionError("the run ended without failing a blocking check: semantic accuracy was not enforced")


def test_text_classification_dag_end_to_end_on_s3(stack: StackInfo) -> None:
    spec_id = "civil-complaint-classification"
    _fresh_project(stack, spec_id)
    root = f"s3://{stack.s3_bucket}/e2e-{uuid.uuid4().hex[:8]}"
    store = _s3_store(stack, root)
    store.ensure_bucket()

    # Sloppy annotators (20 % wrong): the reviewers reject their wrong labels, semantic accuracy fails, the gate
    # waits; an inspector reads the report and approves with a note, as in production, and the run publishes.
    outcome: dict[str, RunSummary] = {}
    runner = threading.Thread(target=lambda: outcome.update(summary=run_one(
        spec_id, stack=stack, storage=root, items=30, simulate=True, annotators=3, error_rate=0.2,
        reviewer_error_rate=0.0, poll_s=1.0, timeout_s=600)))
    runner.start()
    blocked = _inspector_approves_when_blocked(store, spec_id, runner)
    runner.join()
    summary = outcome["summary"]
    assert summary.state == "success", f"run failed; log: {summary.log}\n{summary.log.read_text()[-4000:]}"
    assert "semantic.review_accepted" in blocked["checks_failed"], blocked
    assert summary.tasks["label_wait"]["state"] == "success"
    assert summary.tasks["review_wait"]["state"] == "success"
    assert "label progress" in summary.log.read_text(), "label_wait should have deferred and polled Label Studio"
    qc_summary = store.read_json(f"{layout.run(spec_id, summary.run_id or '', 'label_pull')}/qc_summary.json")
    assert qc_summary["review"]["reviewed"] > 0, qc_summary  # review_pull folded the reviewers' verdicts in

    # the release: LATEST -> version -> manifest
    version = store.read_pointer(layout.latest(spec_id))
    assert version is not None
    manifest = store.read_json(f"{layout.release(spec_id, version)}/manifest.json")
    refined = store.read_json(f"{layout.run(spec_id, summary.run_id or '', 'refine')}/summary.json")
    assert manifest["rows"]["total"] == refined["records"] > 0
    assert refined["items_in"] == refined["records"] + refined["quarantined"]

    # every file's checksum matches what the manifest says
    for f in manifest["files"]:
        data = store.read_bytes(f"{layout.release(spec_id, version)}/{f['key']}")
        assert hashlib.sha256(data).hexdigest() == f["sha256"], f["key"]
        assert len(data) == f["size"]

    # labels in the release equal the majority of what annotators submitted in Label Studio
    table = open_dataset(spec_id, storage=store).to_table(columns=["item_id", "label"]).to_pylist()
    released = {r["item_id"]: r["label"] for r in table}
    submitted = _submitted_labels(stack, spec_id, set(released))
    assert set(submitted) == set(released)
    mismatches = {}
    for item, label in released.items():
        counts = Counter(submitted[item]).most_common()
        top = [lab for lab, c in counts if c == counts[0][1]]
        if label not in top:
            mismatches[item] = (label, submitted[item])
    assert not mismatches, json.dumps(mismatches, ensure_ascii=False)
    assert any(len(v) >= 2 for v in submitted.values()), "the overlap share should give some items 2+ annotators"
