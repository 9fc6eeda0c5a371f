"""A contractor binds a shipped spec to their own data through the trigger form's ``source`` param, on the
production-like stack, through the REST API (issue 17 item 1; the dag.test path is tests/integration/
test_source_binding.py).

Two deliveries of real photographs (scikit-image's): a folder the Celery workers can read, and a prefix on the S3
endpoint read with the credentials of an Airflow connection the admin created through the REST API (the run's
storage is another prefix; the binding names only the connection id). The photographs have no ground truth, so
the simulated annotators give every item the same answer, and the gate waits for an inspector (bare photographs
carry none of the spec's metadata); the inspector approves through the REST API. The spec file is unchanged byte
for byte; the plan and the release manifest record the binding, without keys.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipelines.label import LabelStudioSettings
from pipelines.label.client import LabelStudioClient
from pipelines.label.tasks import project_title
from pipelines.spec import load_catalog
from pipelines.stack import production
from pipelines.stack.airflow_api import AirflowApi
from pipelines.storage import S3Settings, artifacts, open_store
from sim.annotators import simulate
from sim.specs import delete_projects
from tests.bound_delivery import PHOTOS, SPEC_ID, assert_bound_release, copy_photos, spec_file_bytes
from tests.distributed.runs import FAST_WAITS, RUN_TIMEOUT_S, task_state

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(2400)]


def _bound_run(info: production.ProductionInfo, api: AirflowApi, source: str) -> dict[str, Any]:
    """Trigger a bound run through the REST API, annotate it, approve it as the inspector; what it left."""
    stack = info.stack
    ls = LabelStudioSettings(url=stack.ls_url, token=stack.ls_token)
    spec = load_catalog().get(SPEC_ID)
    delete_projects(ls, [spec])
    storage = f"s3://{stack.s3_bucket}/bound-{uuid.uuid4().hex[:8]}"
    store = open_store(storage, s3=S3Settings(endpoint_url=stack.s3_endpoint, access_key=stack.s3_access_key,
                                              secret_key=stack.s3_secret_key, region=stack.s3_region))
    for stale in api.active_runs(SPEC_ID):
        api.fail_run(SPEC_ID, str(stale["dag_run_id"]))
    api.unpause(SPEC_ID)
    run_id = api.trigger(SPEC_ID, conf={"storage": storage, "source": source, **FAST_WAITS,
                                        "review_timeout_s": 2.0})
    client = LabelStudioClient(ls)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    state = gate = None
    while time.monotonic() < deadline:
        state = str(api.dag_run(SPEC_ID, run_id).get("state"))
        gate = task_state(api, SPEC_ID, run_id, "gate")
        if state in ("success", "failed") or gate == "awaiting_input":
            break
        project = client.find_project(project_title(spec))
        if project is not None:  # the photographs carry no truth: every annotator gives the same answer
            simulate(ls=ls, store=store, spec=spec, project_id=project, annotators=3, error_rate=0.0,
                     run_id=run_id, default_truth={"label": "소등"})
        time.sleep(2.0)
    approved = None
    if gate == "awaiting_input":
        with info.api(user=production.INSPECTOR_USER) as inspector:
            approved = inspector.respond(SPEC_ID, run_id, "gate", options=["Approve"],
                                         params={"note": "contractor delivery bound at run time"}).status_code
        state = str(api.wait_run(SPEC_ID, run_id, timeout=900).get("state"))
    tis = {ti.task_id: ti.state for ti in api.task_instances(SPEC_ID, run_id) if ti.map_index < 1}
    return {"run_id": run_id, "state": state, "gate": gate, "approved": approved, "store": store, "tis": tis}


def _assert_bound(out: dict[str, Any], *, given: str, kind: str, spec_bytes: bytes) -> dict[str, Any]:
    assert out["gate"] == "awaiting_input", out  # the inspector was asked (no metadata on bare photographs)
    assert out["approved"] == 200 and out["state"] == "success", out
    assert spec_file_bytes() == spec_bytes, "a bound run must not touch the spec file"
    manifest = assert_bound_release(out["store"], out["run_id"], given=given, kind=kind)
    assert manifest["gate"]["by"] == production.INSPECTOR_USER and manifest["gate"]["via"] == "airflow hitl"
    return manifest


def test_the_trigger_forms_source_param_binds_a_run_to_a_contractors_folder(
        production_stack: production.ProductionInfo, airflow: AirflowApi, all_dags: int, tmp_path: Path) -> None:
    spec_bytes = spec_file_bytes()
    copy_photos(tmp_path / "delivery")  # the workers run on this machine: a folder they can read
    given = (tmp_path / "delivery").as_uri()
    out = _bound_run(production_stack, airflow, given)
    manifest = _assert_bound(out, given=given, kind="local", spec_bytes=spec_bytes)
    assert str(tmp_path / "delivery") not in json.dumps(manifest)  # the folder stays in the run's plan only


def test_the_trigger_forms_source_param_binds_a_run_to_an_s3_prefix_through_a_connection(
        production_stack: production.ProductionInfo, airflow: AirflowApi, all_dags: int, tmp_path: Path,
        s3_client: Any) -> None:
    stack = production_stack.stack
    spec_bytes = spec_file_bytes()
    prefix = f"contractor-{uuid.uuid4().hex[:8]}/photos"
    for path in copy_photos(tmp_path / "upload"):
        s3_client.put_object(Bucket=stack.s3_bucket, Key=f"{prefix}/{path.name}", Body=path.read_bytes())
    # the admin stores the contractor's key as a connection; the trigger names only its id. The id is this run's
    # own: the metadata DB outlives the stack, and a row another stack's Fernet key encrypted cannot be read back.
    connection = f"contractor_s3_{uuid.uuid4().hex[:8]}"
    airflow.create_connection(connection, conn_type="aws", login=stack.s3_access_key, password=stack.s3_secret_key,
                              extra={"endpoint_url": stack.s3_endpoint, "region_name": stack.s3_region})
    given = f"s3://{stack.s3_bucket}/{prefix}?connection={connection}"
    try:
        out = _bound_run(production_stack, airflow, given)
        manifest = _assert_bound(out, given=given, kind="s3", spec_bytes=spec_bytes)
    finally:
        airflow.delete_connection(connection)
        for name in PHOTOS:
            s3_client.delete_object(Bucket=stack.s3_bucket, Key=f"{prefix}/{name}")
    assert prefix not in json.dumps(manifest)  # the bucket prefix stays in the run's plan only
    store = out["store"]
    plan = store.read_json(artifacts.COLLECT_PLAN.key(SPEC_ID, out["run_id"]))
    assert plan["binding"]["source"]["connection"] == connection  # the run's own record names the connection
    assert stack.s3_secret_key not in json.dumps(manifest)
