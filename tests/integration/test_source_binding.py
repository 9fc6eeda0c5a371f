"""A shipped spec runs on a contractor's own data through ``--source`` (the DAG's ``source`` param, dag.test):
real photographs in a local folder and under a prefix of the loopback S3 endpoint, read with the credentials of
the connection the binding names. The spec file stays byte for byte as it was; the plan and the run summary record
the binding, and the release manifest and the card that the run was bound, naming the location by its pseudonym
(a contractor's path can name people; a release is public).

Annotation: the photographs have no ground truth, so the simulated annotators give every item the same answer
(``default_truth``), as a contractor's annotators would in Label Studio; reviewers are not waited for, so the gate
blocks (semantic accuracy not measured, required metadata absent from bare photographs) and an inspector approves,
as in production.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli.run import RunSummary, run_one
from pipelines.label import LabelStudioSettings
from pipelines.label.client import LabelStudioClient
from pipelines.label.tasks import project_title
from pipelines.spec import load_catalog
from pipelines.stack import StackInfo
from pipelines.storage import ObjectStore, layout, open_store
from pipelines.validate import record_decision
from sim.annotators import simulate
from sim.specs import delete_projects
from tests.bound_delivery import PHOTOS, SPEC_ID, assert_bound_release, copy_photos, spec_file_bytes

pytestmark = pytest.mark.integration


def _annotate_and_approve(stack: StackInfo, store: ObjectStore, runner: threading.Thread) -> bool:
    """Annotate the run's tasks as they arrive; approve at the gate once validation blocked. True if approved."""
    spec = load_catalog().get(SPEC_ID)
    ls = LabelStudioSettings(url=stack.ls_url, token=stack.ls_token)
    client = LabelStudioClient(ls)
    project: int | None = None
    while runner.is_alive():
        project = project or client.find_project(project_title(spec))
        if project is not None:
            simulate(ls=ls, store=store, spec=spec, project_id=project, annotators=3, error_rate=0.0,
                     default_truth={"label": "소등"})
        for key in [o.key for o in store.list(f"runs/{SPEC_ID}/") if o.key.endswith("/validate/quality.json")]:
            if not store.read_json(key)["success"]:
                run_dir = key[len(f"runs/{SPEC_ID}/"):].split("/", 1)[0]
                record_decision(store=store, dataset=SPEC_ID, run_id=run_dir, decision="approved",
                                by="inspector", note="contractor delivery bound at run time; metadata follows")
                return True
        time.sleep(1.0)
    return False


def _run_bound(stack: StackInfo, root: Path, source: str) -> tuple[RunSummary, ObjectStore, bool]:
    delete_projects(LabelStudioSettings(url=stack.ls_url, token=stack.ls_token), [load_catalog().get(SPEC_ID)])
    storage = (root / "storage").as_uri()
    store = open_store(storage)
    outcome: dict[str, RunSummary] = {}
    runner = threading.Thread(target=lambda: outcome.update(summary=run_one(
        SPEC_ID, stack=stack, storage=storage, items=None, simulate=False, poll_s=1.0, timeout_s=600,
        review_timeout_s=2.0, source=source)))
    runner.start()
    try:
        approved = _annotate_and_approve(stack, store, runner)
    finally:
        runner.join()
    return outcome["summary"], store, approved


def _assert_recorded(summary: RunSummary, store: ObjectStore, approved: bool, *, given: str, kind: str,
                     spec_bytes: bytes) -> dict[str, Any]:
    assert summary.state == "success", f"{summary.reason}; log: {summary.log}\n{summary.log.read_text()[-3000:]}"
    assert approved, "the gate should have waited for an inspector (bare photographs carry no metadata)"
    assert spec_file_bytes() == spec_bytes, "a bound run must not touch the spec file"
    assert summary.source == given
    manifest = assert_bound_release(store, summary.run_id or "", given=given, kind=kind)
    version = store.read_pointer(layout.latest(SPEC_ID))
    assert version is not None
    card = store.read_bytes(layout.release_file(SPEC_ID, version, "README.md")).decode()
    assert f"bound at run time: `{manifest['source']['binding']['given']}`" in card and given not in card
    return dict(manifest)


def test_a_shipped_image_spec_runs_on_a_contractors_folder_of_photographs(stack: StackInfo, tmp_path: Path) -> None:
    spec_bytes = spec_file_bytes()
    copy_photos(tmp_path / "delivery")
    given = (tmp_path / "delivery").as_uri()
    summary, store, approved = _run_bound(stack, tmp_path, given)
    manifest = _assert_recorded(summary, store, approved, given=given, kind="local", spec_bytes=spec_bytes)
    assert str(tmp_path / "delivery") not in json.dumps(manifest)  # the folder stays in the run's plan only


def test_a_shipped_image_spec_runs_on_an_s3_prefix_through_the_connection_it_names(
        stack: StackInfo, tmp_path: Path, s3_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    spec_bytes = spec_file_bytes()
    prefix = f"contractor-{uuid.uuid4().hex[:8]}/photos"
    for path in copy_photos(tmp_path / "upload"):
        s3_client.put_object(Bucket=stack.s3_bucket, Key=f"{prefix}/{path.name}", Body=path.read_bytes())
    # The contractor's key lives in its own connection; the storage root is file://, so nothing else in the run
    # knows the S3 endpoint: the listing can only succeed through this connection.
    monkeypatch.setenv("AIRFLOW_CONN_CONTRACTOR_S3", json.dumps({
        "conn_type": "aws", "login": stack.s3_access_key, "password": stack.s3_secret_key,
        "extra": {"endpoint_url": stack.s3_endpoint, "region_name": stack.s3_region}}))
    given = f"s3://{stack.s3_bucket}/{prefix}?connection=contractor_s3"
    try:
        summary, store, approved = _run_bound(stack, tmp_path, given)
        manifest = _assert_recorded(summary, store, approved, given=given, kind="s3", spec_bytes=spec_bytes)
    finally:
        for name in PHOTOS:
            s3_client.delete_object(Bucket=stack.s3_bucket, Key=f"{prefix}/{name}")
    assert prefix not in json.dumps(manifest)  # the bucket prefix stays in the run's plan only
    assert stack.s3_secret_key not in json.dumps(manifest) and stack.s3_secret_key not in summary.log.read_text()


def test_a_bad_source_param_fails_the_plan_task_at_once_in_one_line(stack: StackInfo, tmp_path: Path) -> None:
    """The trigger form's path: the param reaches the DAG unchecked by any CLI, and ``plan`` refuses it
    (dag.test with the param set; no retries, the error names the field and the value)."""
    import subprocess
    import sys

    from pipelines.cli.run import ROOT, _env
    from pipelines.orchestration.runner import FAILURES_ENV, RESULT_PREFIX

    failures = tmp_path / "failures.jsonl"
    env = {**_env(stack, (tmp_path / "storage").as_uri()), FAILURES_ENV: str(failures)}
    missing = str(tmp_path / "no-such-delivery")
    proc = subprocess.run([sys.executable, "-m", "pipelines.orchestration.runner", SPEC_ID,
                           "--storage", (tmp_path / "storage").as_uri(), "--conf", json.dumps({"source": missing})],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    outcome = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX))
                         [len(RESULT_PREFIX):])
    assert outcome["tasks"]["plan"]["state"] == "failed" and outcome["tasks"]["plan"]["try_number"] == 1
    [failure] = [json.loads(line) for line in failures.read_text().splitlines()]
    assert failure["task_id"] == "plan"
    # long values are shortened in the middle (SpecIssue), the end of the path stays
    assert failure["error"].startswith("SourceBindingError: source binding: source.root: no such folder (got '")
    assert failure["error"].endswith("no-such-delivery')") and "\n" not in failure["error"]
