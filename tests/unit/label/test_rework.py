"""An inspector's rework labels an item again as it was planned (docs/adr/0039): an overlap item gets as many new
answers, from people new to it, as its overlap, and its earlier answers are replaced only once all of them are in,
so it stays in the agreement sample; a single-annotator item behaves as before (one answer replaces the old one)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.label.client import TaskRef
from pipelines.label.rework import rework_answers, rework_overlap, superseded
from sim.annotators import _people

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 5, 19, 51, tzinfo=UTC)


def _ann(aid: int, item: str, minutes: int, **kw: Any) -> dict[str, Any]:
    return {"item_id": item, "annotation_id": aid, "created_at": AT + timedelta(minutes=minutes),
            "ground_truth": False, "was_cancelled": False, **kw}


def test_a_rework_asks_an_item_for_the_answers_it_was_planned_for() -> None:
    assert rework_answers(required=1, gold=False) == 1  # most items: one more answer, as before
    assert rework_answers(required=2, gold=False) == 2  # an overlap item of 2: labelled again by 2
    assert rework_answers(required=3, gold=False) == 3
    assert rework_answers(required=2, gold=True) == 1  # a gold task's known answer is not redone
    assert rework_answers(required=3, gold=True) == 2


def test_an_overlap_items_answers_are_replaced_only_once_the_rework_has_all_of_its_own() -> None:
    book = {"o": {"reopened_at": AT.isoformat(), "run_id": "r1", "answers": 2}}
    pair = [_ann(1, "o", -10), _ann(2, "o", -9)]
    # one new answer of two: the old pair stands (the item would otherwise leave the agreement sample)
    assert superseded([*pair, _ann(3, "o", 1)], book) == set()
    assert superseded([*pair, _ann(3, "o", 1), _ann(4, "o", 2, was_cancelled=True)], book) == set()
    # both in: the rework's pair replaces the old one, and the item is still measured by two people
    assert superseded([*pair, _ann(3, "o", 1), _ann(4, "o", 2)], book) == {1, 2}


def test_a_single_items_rework_and_a_ledger_written_before_answers_behave_as_before() -> None:
    single = {"s": {"reopened_at": AT.isoformat(), "run_id": "r1", "answers": 1}}
    assert superseded([_ann(1, "s", -10), _ann(2, "s", 1)], single) == {1}
    legacy = {"o": {"reopened_at": AT.isoformat(), "run_id": "r1"}}  # no "answers": one answer replaced all
    assert superseded([_ann(1, "o", -10), _ann(2, "o", -9), _ann(3, "o", 1)], legacy) == {1, 2}


def test_the_simulators_rework_team_is_people_new_to_the_item_the_team_first_then_reserves() -> None:
    team, done = [11, 12, 13], {11, 12}
    # An overlap item of 2 in a team of 3, re-opened: Label Studio counts distinct people against the overlap, so
    # the one fresh team member and one reserve answer it, never someone who already did.
    assert _people(random.Random("s:x:o"), team, done, 2, reserve=[12, 21, 22]) == [13, 21]
    # Not a rework: no reserve, nobody annotates a task twice (it simply lacks people).
    assert _people(random.Random("s:x:o"), team, done, 2) == [13]
    for need in (1, 2):  # the team's draws are the ones made before, so other items keep their annotations
        rng, before = random.Random("s:x:i"), random.Random("s:x:i")
        assert _people(rng, team, {11}, need, reserve=[21]) == before.sample([12, 13], need)
        assert rng.random() == before.random()  # and so are the error draws that follow


def test_a_second_rework_of_an_item_asks_for_new_answers_and_a_retry_asks_for_none() -> None:
    fresh = TaskRef(task_id=9, item_id="a", required=2, overlap=2)
    first = rework_overlap(fresh, None, run_id="r1", answers=2)
    assert first == 4  # the two planned people, and two more
    entry = {"run_id": "r1", "answers": 2, "overlap": first}
    reopened = TaskRef(task_id=9, item_id="a", required=2, overlap=first)
    assert rework_overlap(reopened, entry, run_id="r1", answers=2) == 4  # the same run's retry: nothing new
    # a later run's gate sends the item back again: the overlap already counts the first rework's people
    assert rework_overlap(reopened, entry, run_id="r2", answers=2) == 6
    # a ledger line written before it recorded the overlap: the task's own
    assert rework_overlap(reopened, {"run_id": "r1", "answers": 2}, run_id="r1", answers=2) == 4
