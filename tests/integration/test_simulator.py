"""The annotator simulator against the real Label Studio server: progress reaches done, pull returns the
annotations with the annotators who made them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipelines.label import (
    LabelStudioError,
    LabelStudioSettings,
    aprogress,
    progress,
    pull,
    push,
    required_annotations,
    run_item_ids,
)
from pipelines.label.manifests import iter_rows
from pipelines.label.results import rectangle_pixels
from pipelines.spec.models import DatasetSpec
from pipelines.storage import ObjectStore, open_store
from pipelines.storage.schemas import ANNOTATION_SCHEMA
from sim import annotators as sim
from sim.data import write_demo_run
from sim.specs import demo_spec
from tests.integration.conftest import MADE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls")]





def _spec(kind: str, **annotation: Any) -> DatasetSpec:
    spec = demo_spec(kind, spec_id=f"it-sim-{uuid.uuid4().hex[:10]}", annotation=annotation or None)
    MADE.append(spec)
    return spec


def _truth(store: ObjectStore, spec: DatasetSpec, run_id: str) -> dict[str, dict[str, Any]]:
    return {
        r["item_id"]: json.loads(r["truth"])
        for b in iter_rows(store, spec.id, run_id, columns=("item_id", "truth"))
        for r in b
    }


def test_simulated_annotators_finish_the_run_and_pull_returns_their_work(
    tmp_path: Path, ls: LabelStudioSettings
) -> None:
    spec = _spec("classification", overlap=2, overlap_share=0.5)
    store = open_store(str(tmp_path))
    ids = write_demo_run(spec=spec, store=store, run_id="r1", items=16)
    pushed = push(spec=spec, store=store, run_id="r1", ls=ls)
    scope = run_item_ids(store=store, dataset=spec.id, run_id="r1")
    before = progress(ls=ls, project_id=pushed.project_id, item_ids=scope)
    assert (before.total, before.done, before.complete) == (16, 0, False)

    res = sim.simulate(
        ls=ls,
        store=store,
        spec=spec,
        project_id=pushed.project_id,
        annotators=3,
        error_rate=[0.0, 0.0, 0.5],
        seed=1,
    )
    need = {i: required_annotations(spec, i) for i in ids}
    assert res.annotations_created == sum(need.values()) and res.tasks_without_truth == 0
    assert set(res.annotators) == {sim.EMAIL.format(i) for i in (1, 2, 3)}

    after = progress(ls=ls, project_id=pushed.project_id, item_ids=scope)
    assert (after.total, after.done, after.complete) == (16, 16, True)
    assert after == asyncio.run(aprogress(ls=ls, project_id=pushed.project_id, item_ids=scope))
    # each annotator worked on as many tasks as they annotated (no skips here)
    assert after.per_annotator == res.per_annotator

    # a second pass finds nothing to do (the simulator is idempotent too)
    assert (
        sim.simulate(
            ls=ls, store=store, spec=spec, project_id=pushed.project_id, annotators=3, seed=1
        ).annotations_created
        == 0
    )

    pulled = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    table = store.read_table(pulled.annotations_key)
    assert table.schema.equals(ANNOTATION_SCHEMA)
    rows = table.to_pylist()
    assert (pulled.tasks, pulled.annotations, pulled.annotators) == (16, res.annotations_created, 3)
    assert Counter(r["item_id"] for r in rows) == Counter(need)
    assert Counter(r["annotator"] for r in rows) == Counter(res.per_annotator)
    for item in ids:  # overlap items were annotated by different people
        who = [r["annotator"] for r in rows if r["item_id"] == item]
        assert len(set(who)) == len(who)
    truth = _truth(store, spec, "r1")
    wrong = Counter(
        r["annotator"]
        for r in rows
        if json.loads(r["result"])[0]["value"]["choices"] != [truth[r["item_id"]]["label"]]
    )
    assert sum(wrong.values()) == res.errors_injected
    assert set(wrong) <= {sim.EMAIL.format(3)}  # only the careless annotator made mistakes
    assert all(r["lead_time_s"] and r["role"] == "annotate" and not r["was_cancelled"] for r in rows)


def test_progress_and_pull_are_scoped_to_the_run(tmp_path: Path, ls: LabelStudioSettings) -> None:
    spec = _spec("bbox")
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=6)
    write_demo_run(spec=spec, store=store, run_id="r2", items=4, start=6)
    p1 = push(spec=spec, store=store, run_id="r1", ls=ls)
    sim.simulate(ls=ls, store=store, spec=spec, project_id=p1.project_id, error_rate=0.0, run_id="r1")
    p2 = push(spec=spec, store=store, run_id="r2", ls=ls)
    assert p2.project_id == p1.project_id

    r1 = progress(
        ls=ls, project_id=p1.project_id, item_ids=run_item_ids(store=store, dataset=spec.id, run_id="r1")
    )
    r2 = progress(
        ls=ls, project_id=p1.project_id, item_ids=run_item_ids(store=store, dataset=spec.id, run_id="r2")
    )
    assert (r1.total, r1.done, r2.total, r2.done) == (6, 6, 4, 0)
    assert progress(ls=ls, project_id=p1.project_id).total == 10

    pulled = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=p1.project_id)
    rows = store.read_table(pulled.annotations_key).to_pylist()
    truth = _truth(store, spec, "r1")
    assert {r["item_id"] for r in rows} == set(truth)
    for r in rows:  # error-free annotators draw exactly the true boxes
        boxes = [rectangle_pixels(g) for g in json.loads(r["result"])]
        assert boxes == [pytest.approx(o) for o in truth[r["item_id"]]["objects"]]
    assert pull(spec=spec, store=store, run_id="r2", ls=ls, project_id=p1.project_id).annotations == 0


def test_watch_mode_and_cli_finish_a_transcription_run(
    tmp_path: Path,
    ls: LabelStudioSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = _spec("transcription")
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=4)
    pushed = push(spec=spec, store=store, run_id="r1", ls=ls)
    write_demo_run(spec=spec, store=store, run_id="r1", items=6)  # two more items arrive ...
    res, prog = sim.watch(
        ls=ls,
        store=store,
        spec=spec,
        project_id=pushed.project_id,
        run_id="r1",
        timeout_s=3,
        poll_s=0.5,
        annotators=2,
        error_rate=0.0,
    )
    # ... and are not pushed yet: watch waits for them until its timeout, the 4 tasks that exist done
    assert (prog.total, prog.done, prog.complete) == (4, 4, True) and res.annotations_created == 4

    push(spec=spec, store=store, run_id="r1", ls=ls)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.model_dump_json(by_alias=True))
    monkeypatch.setenv("DATADAM_LS_URL", ls.url)
    monkeypatch.setenv("DATADAM_LS_TOKEN", ls.token)
    code = sim.main(
        [
            "--spec",
            str(spec_file),
            "--storage",
            store.root,
            "--project-id",
            str(pushed.project_id),
            "--run-id",
            "r1",
            "--annotators",
            "2",
            "--error-rate",
            "0",
            "--watch",
            "--timeout",
            "60",
            "--poll",
            "0.5",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["progress"]["done"] == out["progress"]["total"] == 6
    assert out["simulation"]["annotations_created"] == 2
    pulled = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    rows = store.read_table(pulled.annotations_key).to_pylist()
    truth = _truth(store, spec, "r1")
    assert len(rows) == 6
    for r in rows:  # error-free annotators transcribe exactly, segment by segment
        regions = json.loads(r["result"])
        assert regions[0]["value"]["text"] == [truth[r["item_id"]]["transcript"]]
        texts = [g["value"]["text"][0] for g in regions if g["from_name"] == "segment_text"]
        assert texts == [seg["text"] for seg in truth[r["item_id"]]["segments"]]


def test_progress_of_a_missing_project_is_an_error_not_an_empty_project(ls: LabelStudioSettings) -> None:
    with pytest.raises(LabelStudioError, match="HTTP 404"):
        progress(ls=ls, project_id=987_654_321)
    with pytest.raises(LabelStudioError, match="HTTP 404"):
        asyncio.run(aprogress(ls=ls, project_id=987_654_321))
