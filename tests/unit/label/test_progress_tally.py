"""Progress counting over Data Manager rows (no server): scope, per-task overlap, annotators."""

from __future__ import annotations

import pytest

from pipelines.label.progress import Progress, _Tally

pytestmark = pytest.mark.unit

ROWS = [
    {"id": 1, "meta": {"item_id": "a", "overlap": 1}, "total_annotations": 1, "annotators": [5]},
    {
        "id": 2,
        "meta": {"item_id": "b", "overlap": 2},
        "total_annotations": 1,
        "annotators": [5, 6],
    },  # 1 skipped
    {"id": 3, "meta": {"item_id": "c", "overlap": 2}, "total_annotations": 2, "annotators": "5,6"},
    {"id": 4, "meta": {"item_id": "d"}, "total_annotations": 0, "annotators": []},
    {"id": 5, "meta": {}, "total_annotations": 3, "annotators": [7]},  # not ours
]


def _run(overlap: int = 1, scope: set[str] | None = None) -> Progress:
    t = _Tally(overlap, scope)
    for r in ROWS:
        t.add(r)
    return t.result({5: "kim@x.kr", 6: "lee@x.kr"})


def test_done_needs_the_annotations_each_task_asks_for() -> None:
    p = _run(scope={"a", "b", "c", "d"})
    assert (p.total, p.done, p.remaining, p.complete) == (4, 2, 2, False)
    assert p.per_annotator == {"kim@x.kr": 3, "lee@x.kr": 2}


def test_a_global_overlap_raises_the_bar_for_every_task() -> None:
    assert _run(overlap=2, scope={"a", "b", "c", "d"}).done == 1


def test_without_scope_every_task_counts_and_unknown_users_keep_their_id() -> None:
    p = _run()
    assert (p.total, p.done) == (5, 3)
    assert p.per_annotator["user:7"] == 1


def test_an_empty_scope_is_never_complete() -> None:
    p = _run(scope=set())
    assert (p.total, p.done, p.complete) == (0, 0, False)


def test_submitted_annotations_survive_stale_label_studio_counters() -> None:
    from pipelines.label.tasks import submitted_annotations

    # SQLite joins ids into a string, Postgres gives a list; a skipped annotation is not submitted
    assert submitted_annotations({"total_annotations": 2, "annotations_ids": "5,6,7", "cancelled_annotations": 1}) == 2
    assert submitted_annotations({"total_annotations": 1, "annotations_ids": [5], "cancelled_annotations": 0}) == 1
    # a counter that missed its update (signals off during a project delete): the joined ids still count
    assert submitted_annotations({"total_annotations": 0, "annotations_ids": "5,6", "cancelled_annotations": 0}) == 2
    assert submitted_annotations({"total_annotations": 0, "annotations_ids": None}) == 0


def test_a_task_a_rework_reopened_is_not_done_until_its_label_studio_overlap_is_met() -> None:
    # rework.py raises Label Studio's overlap above the meta's count: 1 planned answer, 1 more asked for
    row = {"id": 1, "meta": {"item_id": "a", "overlap": 1}, "overlap": 2, "total_annotations": 1, "annotators": [5]}
    t = _Tally(1, None)
    t.add(row)
    assert (t.total, t.done) == (1, 0)
    t.add({**row, "total_annotations": 2, "annotators": [5, 6]})
    assert (t.total, t.done) == (2, 1)
