"""The QC layer on the real Label Studio server: gold tasks, agreement and consensus per type, scorecards with
spread, the review queue with simulated reviewers, and incremental pulls."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli.label import app as label_app
from pipelines.label import LabelStudioClient, LabelStudioSettings, progress, pull, push, qc, run_item_ids
from pipelines.label.client import iter_task_rows
from pipelines.label.manifests import iter_rows
from pipelines.label.pull import CURSOR_OVERLAP, QC_SCHEMA
from pipelines.label.results import from_truth
from pipelines.label.review import review_title
from pipelines.label.tasks import is_gold_candidate, submitted_annotations, target_kind
from pipelines.spec.models import DatasetSpec
from pipelines.storage import ObjectStore, open_store
from sim import annotators as sim
from sim.data import write_demo_run
from sim.specs import demo_spec
from tests.integration.conftest import MADE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls")]
_COUNTED = ("id", "meta", "overlap", "total_annotations", "annotations_ids", "cancelled_annotations")





def _spec(kind: str, **annotation: Any) -> DatasetSpec:
    spec = demo_spec(kind, spec_id=f"it-qc-{uuid.uuid4().hex[:10]}", annotation=annotation or None)
    MADE.append(spec)
    return spec


def _truth(store: ObjectStore, spec: DatasetSpec) -> dict[str, dict[str, Any]]:
    return {r["item_id"]: r for b in iter_rows(store, spec.id, "r1", columns=("item_id", "truth", "width", "height"))
            for r in b}


def _reference(spec: DatasetSpec, row: dict[str, Any]) -> Any:
    size = (row["width"], row["height"]) if row.get("width") else None
    regions = from_truth(spec.annotation.type, json.loads(row["truth"]), to_name=target_kind(spec), size=size)
    assert regions is not None
    return qc.extract(spec.annotation.type, regions)


@pytest.mark.parametrize("kind", ["classification", "multi_label", "bbox", "polygon", "transcription",
                                  "dialogue_intent"])
def test_round_trip_per_type_with_perfect_annotators_agrees_fully(
    tmp_path: Path, ls: LabelStudioSettings, kind: str
) -> None:
    spec = _spec(kind, overlap=2, overlap_share=1.0)
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=4)
    pushed = push(spec=spec, store=store, run_id="r1", ls=ls)
    sim.simulate(ls=ls, store=store, spec=spec, project_id=pushed.project_id, annotators=2, error_rate=0.0)
    pulled = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    assert (pulled.tasks, pulled.annotations) == (4, 8)
    rows = store.read_table(pulled.qc_key).to_pylist()
    truth = _truth(store, spec)
    assert len(rows) == 4
    for r in rows:  # two error-free annotators: full agreement, and the consensus is the truth
        assert r["n_annotations"] == 2 and r["agreement"] == pytest.approx(1.0), r
        expected = qc.to_json(_reference(spec, truth[r["item_id"]]))
        got = json.loads(r["consensus"])
        if kind == "bbox":  # consensus boxes are means of percentages: compare with a tolerance
            assert [pytest.approx(b) for b in got] == expected
        else:
            assert got == expected
    summary = store.read_json(pulled.qc_summary_key)
    assert summary["agreement"]["overlap_items"] == 4
    assert summary["agreement"]["metric"] == qc.METRICS[kind]


def test_gold_scorecards_review_and_incremental_pulls(tmp_path: Path, ls: LabelStudioSettings) -> None:
    spec = _spec("classification", overlap=3, overlap_share=0.5, gold_share=0.3, review_share=0.5)
    store = open_store(str(tmp_path))
    ids = write_demo_run(spec=spec, store=store, run_id="r1", items=30)
    pushed = push(spec=spec, store=store, run_id="r1", ls=ls)
    gold_ids = {i for i in ids if is_gold_candidate(spec, i)}
    assert pushed.gold == len(gold_ids) > 0

    # gold tasks hold the known answer as a ground-truth annotation, and need one more annotation than people
    client = LabelStudioClient(ls)
    tasks = {t["meta"]["item_id"]: t for t in iter_task_rows(ls, pushed.project_id, include=_COUNTED, fields="all")}
    for i in ids:
        assert tasks[i]["meta"].get("gold", False) == (i in gold_ids)
        assert tasks[i]["overlap"] == tasks[i]["meta"]["overlap"] + (i in gold_ids)
        assert submitted_annotations(tasks[i]) == (i in gold_ids)
    assert progress(ls=ls, project_id=pushed.project_id).done == 0  # a gold answer alone is not done

    # The spec id is unique per run and the simulator's dice are keyed by it, so which answers are wrong changes
    # from run to run: the rates make what is asserted below hold on every draw (two error-free annotators outvote
    # the one who is always wrong on every overlap item; the review sample always holds wrong answers).
    res = sim.simulate(ls=ls, store=store, spec=spec, project_id=pushed.project_id, annotators=3,
                       error_rate=[0.0, 0.0, 1.0], seed=3)
    assert progress(ls=ls, project_id=pushed.project_id).complete
    # tasks changed within CURSOR_OVERLAP before a snapshot are exported again by the next pull: wait it out,
    # so the next pull's delta is exactly what changed after this one
    time.sleep(CURSOR_OVERLAP.total_seconds() + 1)
    pulled = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    assert not pulled.incremental and pulled.tasks_exported == 30
    assert pulled.annotations == res.annotations_created + len(gold_ids)

    table = store.read_table(pulled.qc_key)
    assert table.schema.equals(QC_SCHEMA)
    items = {r["item_id"]: r for r in table.to_pylist()}
    truth = {k: json.loads(v["truth"])["label"] for k, v in _truth(store, spec).items()}
    for i, r in items.items():
        assert r["gold"] == (i in gold_ids)
        if i in gold_ids:  # gold correctness = the people's consensus against the known answer
            assert r["gold_correct"] == (json.loads(r["consensus"]) == truth[i])
        else:
            assert r["gold_correct"] is None
    summary = store.read_json(pulled.qc_summary_key)
    cards = {c["annotator"]: c for c in summary["annotators"]}
    careful, careless = cards[sim.EMAIL.format(1)], cards[sim.EMAIL.format(3)]
    assert set(cards) == {sim.EMAIL.format(k) for k in (1, 2, 3)}  # the gold author is not an annotator
    assert sum(c["annotations"] for c in cards.values()) == res.annotations_created
    assert careful["agreement_with_consensus"] == 1.0 > careless["agreement_with_consensus"]
    if careful["gold_n"] and careless["gold_n"]:
        assert careful["gold_accuracy"] == 1.0 >= careless["gold_accuracy"]
    # the dataset-level alpha is Krippendorff's over the overlap items, recomputed here from the raw rows
    rows = store.read_table(pulled.annotations_key).to_pylist()
    units = [[json.loads(r["result"])[0]["value"]["choices"][0] for r in rows if r["item_id"] == i
              and not r["ground_truth"]] for i in items]
    assert summary["agreement"]["value"] == pytest.approx(qc.krippendorff_alpha(units))
    assert summary["agreement"]["fleiss_kappa"] == pytest.approx(qc.fleiss_kappa(units))

    # the review queue holds the sample; simulated reviewers judge it; the next pull reads their verdicts
    plan = summary["review_plan"]
    assert pulled.review_sampled == plan["n"] >= 0.5 * res.annotations_created
    rp = client.find_project(review_title(spec))
    assert rp == pulled.review_project_id
    assert len(list(iter_task_rows(ls, rp))) == plan["n"]
    reviewed = sim.review(ls=ls, store=store, spec=spec, reviewers=2, error_rate=0.0, run_id="r1")
    assert reviewed.reviewed == plan["n"]
    again = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    assert again.incremental and again.tasks_exported == 0  # nothing changed in the annotation project
    assert (again.annotations, again.reviewed, again.review_sampled) == (pulled.annotations, plan["n"], plan["n"])
    sem = store.read_json(again.qc_summary_key)["review"]
    assert sem["reviewed"] == plan["n"] and sem["accepted"] == reviewed.accepted
    assert sem["semantic_accuracy"] == pytest.approx(reviewed.accepted / plan["n"])
    sampled = {int(t["meta"]["annotation_id"]) for t in iter_task_rows(ls, rp)}
    right = Counter(json.loads(r["result"])[0]["value"]["choices"][0] == truth[r["item_id"]]
                    for r in rows if r["annotation_id"] in sampled)
    assert sem["accepted"] == right[True] and sem["reviewed"] - sem["accepted"] == right[False] > 0
    rejected = {r["item_id"] for r in store.read_table(again.qc_key).to_pylist() if r["review"] == "rejected"}
    for i in rejected:  # an error-free reviewer rejects only wrong annotations, with a reason
        assert items[i]["review"] is None and any(
            json.loads(r["result"])[0]["value"]["choices"][0] != truth[i] for r in rows if r["item_id"] == i)

    # one more annotation arrives on one task: the next pull exports only that task
    extra = next(i for i in ids if i not in gold_ids and tasks[i]["meta"]["overlap"] == 1)
    admin = client.me()
    client.create_annotation(tasks[extra]["id"], result=json.loads(
        next(r["result"] for r in rows if r["item_id"] == extra)), completed_by=admin)
    time.sleep(CURSOR_OVERLAP.total_seconds() + 1)
    third = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pushed.project_id)
    assert third.incremental and third.tasks_exported == 1
    assert third.annotations == pulled.annotations + 1
    scope = run_item_ids(store=store, dataset=spec.id, run_id="r1")
    assert {r["item_id"] for r in store.read_table(third.annotations_key).to_pylist()} <= scope

    # what a contractor sees: `datadam label status ID`
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.model_dump_json(by_alias=True))
    app = typer.Typer()
    app.add_typer(label_app, name="label")
    out = CliRunner().invoke(app, ["label", "status", spec.id, "--spec-file", str(spec_file), "--storage",
                                   store.root, "--run", "r1"],
                             env={"DATADAM_LS_URL": ls.url, "DATADAM_LS_TOKEN": ls.token, "COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "progress: 30/30 tasks done" in out.output
    assert "krippendorff_alpha" in out.output and "semantic accuracy" in out.output
    assert all(sim.EMAIL.format(k) in out.output for k in (1, 2, 3))
