"""Refine releases the consensus label_pull computed, on the real Label Studio server.

Simulated annotators who make mistakes annotate every item three times; ``label_pull`` writes the QC (and each
item's consensus) to storage; ``refine`` runs on that storage. For every overlap item the refined label must be
label_pull's consensus as written in ``qc.parquet`` (its comparison form, ``consensus``), and an item without
one (no majority) must be quarantined with the reason ``label.no_consensus``; one whose consensus fails the
type's checks (a majority chose no label) with the reason those checks give.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.annotations.base import MediaFacts
from pipelines.label import LabelStudioSettings, pull, push, qc
from pipelines.refine import CONVERTERS, InvalidLabel, refine
from pipelines.spec.models import DatasetSpec
from pipelines.storage import artifacts, layout, open_store
from sim import annotators as sim
from sim.data import write_demo_run
from sim.specs import delete_projects, demo_spec
from tests.integration.conftest import MADE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls")]
RUN = "r1"


def _spec(kind: str, ls: LabelStudioSettings) -> DatasetSpec:
    """A spec whose id is the same on every run: the simulator's dice are keyed by it (and the item ids made from
    it), so the mistakes, and so which items have a consensus, are the same each time and the counts below are
    facts about one known draw, not a bet on a random one. A project of that title left by an interrupted
    session is deleted first."""
    spec = demo_spec(kind, spec_id=f"it-cons-{kind.replace('_', '-')}",
                     annotation={"overlap": 3, "overlap_share": 1.0})
    delete_projects(ls, [spec])
    MADE.append(spec)
    return spec


def _pct(v: float, size: int) -> Any:
    # refine rounds pixels to 0.01 px; the consensus is in percent of the image
    return pytest.approx(100.0 * v / size, abs=1e-2)


def _as_consensus(kind: str, rec: dict[str, Any]) -> Any:
    """A refined record's label in the form QC writes its consensus (``qc.to_json`` of the QC value)."""
    w, h = (rec["media"] or {}).get("width"), (rec["media"] or {}).get("height")
    if kind == "classification":
        return rec["label"]
    if kind == "bbox":
        return [{"label": o["label"], "x": _pct(o["x"], w), "y": _pct(o["y"], h), "w": _pct(o["w"], w),
                 "h": _pct(o["h"], h), "frame": 0} for o in rec["objects"]]
    if kind == "polygon":
        return [{"label": p["label"], "points": [[_pct(q["x"], w), _pct(q["y"], h)] for q in p["points"]],
                 "closed": True, "frame": 0} for p in rec["polygons"]]
    if kind == "transcription":
        return rec["transcript"]
    if kind == "multi_label":
        return sorted(rec["labels"])
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["classification", "bbox", "polygon", "transcription", "multi_label"])
def test_overlap_items_release_the_consensus_label_pull_wrote(tmp_path: Path, ls: LabelStudioSettings,
                                                              kind: str) -> None:
    spec = _spec(kind, ls)
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id=RUN, items=8)
    pushed = push(spec=spec, store=store, run_id=RUN, ls=ls)
    sim.simulate(ls=ls, store=store, spec=spec, project_id=pushed.project_id, annotators=3,
                 error_rate=[0.0, 0.25, 0.5], seed=7)
    pulled = pull(spec=spec, store=store, run_id=RUN, ls=ls, project_id=pushed.project_id)
    assert pulled.qc_key == artifacts.LABEL_QC.key(spec.id, RUN)
    qc_rows = {r["item_id"]: r for r in store.read_table(pulled.qc_key).to_pylist()}
    res = refine(spec=spec, store=store, run_id=RUN)
    records = {r["item_id"]: r for r in store.read_table(res.records_key).to_pylist()}
    quarantined = {r["item_id"]: r["reason"] for r in store.read_table(res.quarantine_key).to_pylist()}
    media = {r["item_id"]: MediaFacts(r["width"], r["height"], r["duration_s"], r["text"])
             for r in store.read_table(f"{layout.run(spec.id, RUN, 'deidentify')}/part-00000.parquet").to_pylist()}
    overlap = [i for i, r in qc_rows.items() if r["n_annotations"] >= 2]
    assert len(overlap) == 8, qc_rows
    checked = 0
    for item_id in overlap:
        q = qc_rows[item_id]
        if q["consensus_result"] is None:  # no majority: nothing is released for it
            assert quarantined.get(item_id) == "label.no_consensus", (item_id, q)
            continue
        if item_id in quarantined:  # the consensus itself failed the type's checks (e.g. a majority chose nothing)
            with pytest.raises(InvalidLabel) as bad:
                CONVERTERS[kind](spec, json.loads(q["consensus_result"]), media[item_id])
            assert bad.value.reason == quarantined[item_id]
            continue
        rec = records[item_id]
        assert _as_consensus(kind, rec) == json.loads(q["consensus"]), (item_id, q["consensus"])
        assert (rec["qc_consensus"], rec["qc_agreement"]) == (q["consensus_method"], q["agreement"])
        checked += 1
    assert checked >= 4, (qc_rows, quarantined)
    # the mistakes made annotators disagree somewhere, so the consensus was more than a copy of one answer
    answers: dict[str, set[str]] = {}
    for a in store.read_table(artifacts.LABEL_ANNOTATIONS.key(spec.id, RUN)).to_pylist():
        value = qc.to_json(qc.extract(kind, json.loads(a["result"])))
        answers.setdefault(a["item_id"], set()).add(json.dumps(value, sort_keys=True))
    assert any(len(v) > 1 for v in answers.values()), answers
