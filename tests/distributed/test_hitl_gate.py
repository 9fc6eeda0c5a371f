"""The QA gate as Airflow's human-in-the-loop task, on the production-like stack (docs/adr/0020).

One real run, triggered through the REST API as a contractor would: a shipped text-classification spec, 20
items declared a final delivery (``delivery=final``), so the volume target (records / target volume) fails
and blocks automatic approval. The run is followed until its ``gate`` waits in ``awaiting_input``; then the
contractor (a user with edit rights on the DAG, not an inspector) tries to approve it through the REST API,
and the inspector approves it with ``datadam qa approve`` pointed at the api-server. What each step left
behind is kept in ``GatedRun`` and asserted by the tests below.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.cli.qa import app as qa_app
from pipelines.stack import production
from pipelines.stack.airflow_api import AirflowApi
from pipelines.storage import ObjectStore, S3Settings, artifacts, layout, open_store
from tests.distributed.runs import RunOutcome, failure_report, task_state, trigger_and_wait

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(2400)]

DATASET = "civil-complaint-classification"
ITEMS = 20
NOTE = "volume is a pilot's; labels checked by hand"


@dataclass(frozen=True)
class GatedRun:
    """A run held at the gate, the refused and the accepted answer, and how the run ended."""

    held: RunOutcome
    gate_state: str | None
    request: dict[str, Any]
    refused_status: int
    refused_body: str
    after_refusal: dict[str, Any]
    cli_exit: int
    cli_output: str
    answered: dict[str, Any]
    end_state: str
    report: str
    store: ObjectStore
    run_id: str


@pytest.fixture(scope="module")
def gated_run(production_stack: production.ProductionInfo, airflow: AirflowApi, all_dags: int,
              monkeypatch_module: pytest.MonkeyPatch) -> GatedRun:
    stack = production_stack.stack
    storage = f"s3://{stack.s3_bucket}/hitl-{uuid.uuid4().hex[:8]}"
    held = trigger_and_wait(production_stack, airflow, dag_id=DATASET, items=ITEMS, storage=storage,
                            conf={"delivery": "final"},
                            until=lambda run_id: task_state(airflow, DATASET, run_id, "gate") == "awaiting_input")
    run_id = held.run_id
    gate_state = task_state(airflow, DATASET, run_id, "gate")
    report = failure_report(production_stack, held)
    request = airflow.hitl_detail(DATASET, run_id, "gate") if gate_state == "awaiting_input" else {}

    with production_stack.api(user=production.CONTRACTOR_USER) as contractor:
        refused = contractor.respond(DATASET, run_id, "gate", options=["Approve"], params={"note": "mine"})
    after_refusal = airflow.hitl_detail(DATASET, run_id, "gate") if request else {}

    # The inspector answers as they would from a terminal: the api-server's URL and their login.
    monkeypatch_module.setenv("DATADAM_AIRFLOW_URL", production_stack.api_url)
    monkeypatch_module.setenv("DATADAM_AIRFLOW_USER", production.INSPECTOR_USER)
    monkeypatch_module.setenv("DATADAM_AIRFLOW_PASSWORD", production_stack.passwords[production.INSPECTOR_USER])
    res = CliRunner().invoke(qa_app, ["approve", run_id, "--dataset", DATASET, "--note", NOTE])
    end = airflow.wait_run(DATASET, run_id, timeout=900) if res.exit_code == 0 else airflow.dag_run(DATASET, run_id)
    answered = airflow.hitl_detail(DATASET, run_id, "gate") if request else {}
    store = open_store(storage, s3=S3Settings(endpoint_url=stack.s3_endpoint, access_key=stack.s3_access_key,
                                              secret_key=stack.s3_secret_key, region=stack.s3_region))
    return GatedRun(held=held, gate_state=gate_state, request=request, refused_status=refused.status_code,
                    refused_body=refused.text, after_refusal=after_refusal, cli_exit=res.exit_code,
                    cli_output=res.output, answered=answered, end_state=str(end.get("state")), report=report,
                    store=store, run_id=run_id)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_a_failing_run_waits_in_awaiting_input_with_what_failed(gated_run: GatedRun) -> None:
    assert gated_run.gate_state == "awaiting_input", gated_run.report
    req = gated_run.request
    assert req["options"] == ["Approve", "Reject", "Send back for rework"]
    assert [u["id"] for u in req["assigned_users"]] == [production.INSPECTOR_USER]
    body = req["body"]
    # the characteristic that failed, its target against what was measured, the failed check, the report
    assert "conformity" in body.lower() and "| fail |" in body, body
    assert "`conformity.volume`" in body, body
    assert artifacts.REPORT.key(DATASET, gated_run.run_id) in body, body
    assert next(ti.state for ti in gated_run.held.task_instances if ti.task_id == "publish") is None


def test_an_answer_from_a_non_inspector_is_refused(gated_run: GatedRun) -> None:
    assert gated_run.refused_status == 403, gated_run.refused_body
    assert "not a respondent" in gated_run.refused_body
    assert gated_run.after_refusal["response_received"] is False
    assert gated_run.after_refusal["responded_by_user"] is None


def test_the_inspectors_approval_through_the_rest_api_publishes_with_the_decision(gated_run: GatedRun) -> None:
    assert gated_run.cli_exit == 0, gated_run.cli_output
    assert f"by {production.INSPECTOR_USER}" in gated_run.cli_output
    assert gated_run.end_state == "success", gated_run.report
    store = gated_run.store
    version = store.read_pointer(layout.latest(DATASET))
    assert version is not None
    gate = store.read_json(f"{layout.release(DATASET, version)}/manifest.json")["gate"]
    assert (gate["status"], gate["by"], gate["note"], gate["via"]) == (
        "approved", production.INSPECTOR_USER, NOTE, "airflow hitl")
    assert gate["automatic"] is False
    decision = store.read_json(artifacts.GATE_DECISION.key(DATASET, gated_run.run_id))
    assert (decision["decision"], decision["by"], decision["note"]) == ("approved", production.INSPECTOR_USER, NOTE)
    # "when" is Airflow's own record of the answer, copied into the run and the manifest
    answered = gated_run.answered
    assert answered["responded_by_user"]["id"] == production.INSPECTOR_USER
    responded = datetime.fromisoformat(answered["responded_at"].replace("Z", "+00:00"))
    assert gate["at"] == decision["at"] == responded.isoformat(timespec="seconds")


def test_answering_again_is_refused_once_the_gate_is_decided(gated_run: GatedRun) -> None:
    assert gated_run.cli_exit == 0, gated_run.cli_output
    res = CliRunner().invoke(qa_app, ["reject", gated_run.run_id, "--dataset", DATASET, "--note", "late"])
    assert res.exit_code == 2
    assert "no gate waiting for an inspector" in res.output
