"""gate and record_decision: automatic approval, pending runs, inspectors' decisions bound to one report."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.storage import ObjectStore, artifacts, open_store
from pipelines.validate import GateError, gate, record_decision, validate
from pipelines.validate.gate import VIA_AIRFLOW, inspector_brief, rework_summary
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit

SPEC = f.text_spec()


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def _validated(store: ObjectStore, *, good: bool, run_id: str = "run-1", bad_row: int = 5) -> None:
    run = f.text_run(SPEC, run_id=run_id)
    if not good:
        run.rows[bad_row]["label"] = "분노"
    run.write(store)
    validate(spec=SPEC, store=store, run_id=run_id, data_docs=False)


def test_passing_run_is_approved_automatically(store: ObjectStore) -> None:
    _validated(store, good=True)
    res = gate(spec=SPEC, store=store, run_id="run-1")
    assert (res.status, res.automatic, res.by) == ("approved", True, "datadam:validate")
    written = store.read_json("runs/sentiment-text-test/run-1/gate/result.json")
    assert written["status"] == "approved" and len(written["records_sha256"]) == 64


def test_failing_run_without_a_decision_is_pending(store: ObjectStore) -> None:
    _validated(store, good=False)
    res = gate(spec=SPEC, store=store, run_id="run-1")
    assert res.status == "pending" and not res.automatic
    assert "syntactic.label_in_set" in res.note


def test_inspector_rejects_a_failing_run(store: ObjectStore) -> None:
    _validated(store, good=False)
    record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="rejected", by="이검수",
                    note="라벨 오류가 있음")
    res = gate(spec=SPEC, store=store, run_id="run-1")
    assert (res.status, res.by, res.note, res.automatic) == ("rejected", "이검수", "라벨 오류가 있음", False)


def test_inspector_approves_a_failing_run(store: ObjectStore) -> None:
    _validated(store, good=False)
    dec = record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="approved", by="김검수",
                          note="one label typo, accepted as a known issue")
    res = gate(spec=SPEC, store=store, run_id="run-1")
    assert (res.status, res.by, res.automatic) == ("approved", "김검수", False)
    saved = store.read_json("runs/sentiment-text-test/run-1/gate/decision.json")
    assert saved["decision"] == "approved" and saved["at"] == dec.at and saved["by"] == "김검수"


def test_inspector_can_reject_a_run_whose_checks_passed(store: ObjectStore) -> None:
    _validated(store, good=True)
    record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="rejected", by="박검수",
                    note="samples look blurred")
    assert gate(spec=SPEC, store=store, run_id="run-1").status == "rejected"


def test_a_decision_does_not_carry_over_to_a_new_validation(store: ObjectStore) -> None:
    _validated(store, good=False)
    record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="approved", by="김검수")
    _validated(store, good=False, bad_row=6)  # refined again and re-validated: a report not yet seen
    res = gate(spec=SPEC, store=store, run_id="run-1")
    assert res.status == "pending" and "earlier validation" in res.note
    record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="approved", by="김검수")
    assert gate(spec=SPEC, store=store, run_id="run-1").status == "approved"
    history = store.read_json("runs/sentiment-text-test/run-1/gate/decision.json")["history"]
    assert len(history) == 1 and history[0]["by"] == "김검수"


def test_gate_and_decisions_need_a_validation_and_a_valid_decision(store: ObjectStore) -> None:
    with pytest.raises(GateError, match="not been validated"):
        gate(spec=SPEC, store=store, run_id="run-1")
    with pytest.raises(GateError, match="not been validated"):
        record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="approved", by="김검수")
    _validated(store, good=True)
    with pytest.raises(GateError, match="'approved' or 'rejected'"):
        record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="maybe", by="김검수")
    with pytest.raises(GateError, match="inspector's name"):
        record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="approved", by="  ")


def test_rework_lists_the_items_that_failed_and_is_never_approved(store: ObjectStore) -> None:
    _validated(store, good=False, bad_row=5)
    record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="rework", by="김검수",
                    note="라벨을 다시 달 것")
    res = gate(spec=SPEC, store=store, run_id="run-1")
    assert (res.status, res.by, res.automatic) == ("rework", "김검수", False)
    rework = store.read_json(artifacts.GATE_REWORK.key(SPEC.id, "run-1"))
    bad = f.text_run(SPEC, run_id="run-1").rows[5]["item_id"]
    assert rework["items"] == {bad: ["syntactic.label_in_set"]}
    line = rework_summary(store=store, dataset=SPEC.id, run_id="run-1")
    assert line.startswith("sent back for rework by 김검수: 라벨을 다시 달 것; 1 items to re-annotate")
    assert bad in line


def test_a_decision_from_airflow_keeps_its_time_and_channel(store: ObjectStore) -> None:
    _validated(store, good=False)
    record_decision(store=store, dataset=SPEC.id, run_id="run-1", decision="approved", by="inspector",
                    note="ok", at="2026-12-05T10:00:00+00:00", via=VIA_AIRFLOW)
    res = gate(spec=SPEC, store=store, run_id="run-1")
    assert (res.status, res.at, res.via) == ("approved", "2026-12-05T10:00:00+00:00", "airflow hitl")
    assert store.read_json("runs/sentiment-text-test/run-1/gate/result.json")["via"] == "airflow hitl"


def test_the_inspectors_brief_shows_what_failed_against_its_target(store: ObjectStore) -> None:
    _validated(store, good=False)
    brief = inspector_brief(store=store, dataset=SPEC.id, run_id="run-1")
    syntactic = next(line for line in brief.splitlines() if "Syntactic" in line or "구문" in line)
    assert "100.00%" in syntactic and "| fail |" in syntactic, brief
    assert "`syntactic.label_in_set`" in brief
    assert "runs/sentiment-text-test/run-1/validate/report.html" in brief
