"""`datadam sweep` plays the inspector's rework once: which held runs a rework can fix, how the row says it, and
which earlier annotations a rework replaces when the next run pulls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.cli.run import RunSummary, held_run, run_events
from pipelines.cli.sweep import reworkable, row_of
from pipelines.label.rework import superseded
from pipelines.spec import load_catalog
from pipelines.validate.checks import REWORKABLE_CHARACTERISTICS, RunFacts, plan_checks

pytestmark = pytest.mark.unit

# What the check table declares for every check the catalogue plans (validate writes it into quality.json).
DECLARED = {c.id: c.reworkable for spec in load_catalog().specs.values()
            for c in plan_checks(spec, items=100, facts=RunFacts(items=100, final=True))}


def _check(cid: str, characteristic: str, *, items: list[str], measured: float = 0.75,
           status: str = "fail", blocking: bool = True, reworkable: bool | None = None) -> dict[str, Any]:
    """A quality.json check row as validate writes it: ``reworkable`` as the check table declares it (for an id
    no spec plans, as its characteristic), unless given."""
    if reworkable is None:
        reworkable = DECLARED.get(cid, characteristic in REWORKABLE_CHARACTERISTICS)
    return {"id": cid, "characteristic": characteristic, "status": status, "blocking": blocking,
            "measured": measured, "target": 0.95, "failing_items": items, "reworkable": reworkable}


def _legacy(row: dict[str, Any]) -> dict[str, Any]:
    """The row as validate wrote it before checks carried ``reworkable``."""
    return {k: v for k, v in row.items() if k != "reworkable"}


def _quality(*checks: dict[str, Any]) -> dict[str, Any]:
    failed = [c["id"] for c in checks if c["status"] == "fail" and c["blocking"]]
    return {"success": not failed, "checks": list(checks), "checks_failed": failed}


def test_a_run_held_by_reviewers_rejecting_items_is_reworkable() -> None:
    q = _quality(_check("semantic.review_accepted", "semantic_accuracy", items=["a", "b", "c"]),
                 _check("completeness.delivered", "completeness", items=[], status="pass", measured=1.0))
    assert reworkable(q) == ["semantic.review_accepted 0.75"]
    gold_and_syntax = _quality(_check("semantic.gold_correct", "gold_accuracy", items=["g"], measured=0.5),
                               _check("syntactic.label_in_set", "syntactic_accuracy", items=["x"], measured=0.9))
    assert reworkable(gold_and_syntax) == ["semantic.gold_correct 0.5", "syntactic.label_in_set 0.9"]


@pytest.mark.parametrize("other", [
    _check("technical.format", "technical_conformity", items=["a"], measured=0.7),  # the media, not a label
    _check("conformity.volume", "conformity", items=[], measured=0.5),  # a plan target: run-wide
    _check("agreement.mean", "agreement", items=[], measured=0.6),  # a summary: names no item
    _check("syntactic.item_id_present", "syntactic_accuracy", items=["a"], measured=0.9),  # not a label's fault
    _check("semantic.review_accepted", "semantic_accuracy", items=[], measured=0.5),  # names no item
])
def test_any_failure_a_rework_cannot_fix_keeps_the_run_held(other: dict[str, Any]) -> None:
    q = _quality(_check("semantic.review_accepted", "semantic_accuracy", items=["a"]), other)
    assert reworkable(q) == []


def test_nothing_to_rework_in_a_passing_run_or_a_failure_the_checks_do_not_itemise() -> None:
    assert reworkable(_quality(_check("semantic.review_accepted", "semantic_accuracy", items=[], status="pass",
                                      measured=1.0))) == []
    q = _quality(_check("semantic.review_accepted", "semantic_accuracy", items=["a"]))
    q["checks_failed"].append("validate.raised")  # a failure with no check row behind it
    assert reworkable(q) == []
    warned = _quality(_check("semantic.review_accepted", "semantic_accuracy", items=["a"], status="warn",
                             blocking=False))
    assert reworkable(warned) == []


def test_the_checks_flag_decides_not_its_id_or_its_characteristic() -> None:
    held = _quality(_check("semantic.review_accepted", "semantic_accuracy", items=["a"]),
                    _check("syntactic.label_in_set", "syntactic_accuracy", items=["b"], reworkable=False))
    assert reworkable(held) == []
    # A check under another characteristic that declares a rework can fix it (say, a label-derived technical fact).
    sent = _quality(_check("technical.new_label_fact", "technical_conformity", items=["a"], reworkable=True))
    assert reworkable(sent) == ["technical.new_label_fact 0.75"]
    assert reworkable(_quality(_check("syntactic.item_id_present", "syntactic_accuracy", items=["a"],
                                      reworkable=True))) == ["syntactic.item_id_present 0.75"]


def test_a_quality_json_written_before_the_flag_is_read_by_characteristic() -> None:
    old = _quality(_legacy(_check("semantic.review_accepted", "semantic_accuracy", items=["a"])),
                   _legacy(_check("syntactic.label_in_set", "syntactic_accuracy", items=["b"])))
    assert reworkable(old) == ["semantic.review_accepted 0.75", "syntactic.label_in_set 0.75"]
    assert reworkable(_quality(_legacy(_check("technical.width", "technical_conformity", items=["a"])))) == []
    # A missing item id names no item (validate reports only ids it has), so an old file never sent it back either.
    no_id = _legacy(_check("syntactic.item_id_present", "syntactic_accuracy", items=[]))
    assert reworkable(_quality(_legacy(_check("semantic.review_accepted", "semantic_accuracy", items=["a"])),
                               no_id)) == []


def test_the_check_table_keeps_the_decisions_made_by_characteristic_and_id_before_the_flag() -> None:
    assert len(DECLARED) > 500  # every spec's checks, not an empty plan
    for spec in load_catalog().specs.values():
        for c in plan_checks(spec, items=100, facts=RunFacts(items=100, final=True)):
            before = c.characteristic in REWORKABLE_CHARACTERISTICS and c.id != "syntactic.item_id_present"
            assert c.reworkable == before, (spec.id, c.id)


def test_the_held_run_is_read_from_the_gate_event() -> None:
    line = ("2026-12-05T12:05:00Z [warning  ] blocking checks failed: waiting for an inspector's decision at "
            "runs/news-topic-tags/manual__2026-12-05T15_27_27.009282_00_00/gate/decision.json [airflow.task]")
    [(kind, what)] = list(run_events([line]))
    assert kind == "progress"
    assert held_run(what) == "runs/news-topic-tags/manual__2026-12-05T15_27_27.009282_00_00"
    assert held_run("label_pull: 12/12 annotated") is None


def _summary(state: str, reason: str | None, rows: int | None) -> RunSummary:
    from pathlib import Path

    return RunSummary(spec_id="civil-complaint-classification", run_id="r2", state=state, seconds=40.0,
                      storage="file:///x", release=None, rows=rows, report=None, log=Path("r2.log"), tasks={},
                      reason=reason)


def test_the_row_says_the_outcome_came_after_a_rework() -> None:
    spec = load_catalog().get("civil-complaint-classification")
    ok = row_of(spec, _summary("success", None, 12), reworked_for=["semantic.review_accepted 0.75"], seconds=65.0)
    assert (ok.outcome, ok.reworked, ok.rows, ok.seconds) == ("success", 1, 12, 65.0)
    assert ok.reason == "after 1 rework: semantic.review_accepted 0.75"
    still = row_of(spec, _summary("failed", "gate: blocking checks failed: semantic.review_accepted", None),
                   reworked_for=["semantic.review_accepted 0.75"], seconds=70.0)
    assert still.outcome == "failed" and still.reworked == 1
    assert still.reason == ("after 1 rework: semantic.review_accepted 0.75; then gate: blocking checks failed: "
                            "semantic.review_accepted")
    plain = row_of(spec, _summary("failed", "gate: x", None))
    assert (plain.reworked, plain.reason, plain.seconds) == (0, "gate: x", 40.0)


def test_a_rework_replaces_the_annotations_made_before_it_once_the_item_is_annotated_again() -> None:
    at = datetime(2026, 12, 5, 19, 51, tzinfo=UTC)
    book = {"a": {"reopened_at": at.isoformat(), "run_id": "r1"}, "b": {"reopened_at": at.isoformat(), "run_id": "r1"}}

    def ann(aid: int, item: str, minutes: int, **kw: Any) -> dict[str, Any]:
        return {"item_id": item, "annotation_id": aid, "created_at": at + timedelta(minutes=minutes),
                "ground_truth": False, "was_cancelled": False, **kw}

    rows = [ann(1, "a", -10), ann(2, "a", 1),  # a: wrong, then corrected after the rework
            ann(3, "b", -10),  # b: re-opened, nobody has annotated it again yet: the old one stands
            ann(4, "c", -10), ann(5, "c", 1),  # c: never sent back (an overlap item): both count
            ann(6, "a", -20, ground_truth=True)]  # a gold answer is never replaced
    assert superseded(rows, book) == {1}
    skipped = [ann(3, "b", -10), ann(7, "b", 2, was_cancelled=True)]  # a skip is not a correction
    assert superseded(skipped, book) == set()


def test_a_run_held_by_annotators_disagreeing_on_named_overlap_items_is_reworkable() -> None:
    """docs/adr/0039: a rework labels a disagreeing overlap item again by as many people as planned."""
    assert DECLARED["agreement.mean"] is True
    q = _quality(_check("agreement.mean", "agreement", items=["o1", "o2"], measured=0.33),
                 _check("semantic.review_accepted", "semantic_accuracy", items=["a"]))
    assert reworkable(q) == ["agreement.mean 0.33", "semantic.review_accepted 0.75"]
