"""Run-level characteristics: partial vs final delivery, "not measured" never passes, quarantine and agreement
summaries, and streamed results equal whole-frame results for every frame kind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from pipelines.storage import ObjectStore, layout, open_store
from pipelines.storage.schemas import QUARANTINE_SCHEMA
from pipelines.validate import gate, validate
from pipelines.validate.gate import failing_items
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def _q(store: ObjectStore, res: Any) -> dict[str, Any]:
    q: dict[str, Any] = store.read_json(res.quality_key)
    return q


def _no_reviews(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        r["qc_review"] = None


def test_a_target_with_nothing_to_measure_is_never_a_pass(store: ObjectStore) -> None:
    fam = F.family("classification", target_volume=10_000)  # 24 of 10,000: a partial run
    rows = fam.rows()
    _no_reviews(rows)
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    q = _q(store, res)

    assert res.delivery == "partial" and res.not_measured == ("semantic.review_accepted",)
    check = next(c for c in q["checks"] if c["id"] == "semantic.review_accepted")
    assert (check["status"], check["passed"], check["measured"]) == ("not_measured", None, None)
    assert "no reviewed item" in check["note"]
    sem = q["characteristics"]["semantic_accuracy"]
    assert (sem["status"], sem["passed"], sem["target"]) == ("not_measured", None, 0.9)
    # On a partial run it is reported, and the run may still be approved; the gate says what was not measured.
    assert res.success
    html = store.read_text(res.report_key)
    assert "미측정 / NOT MEASURED" in html and "semantic.review_accepted" in html


def test_a_final_delivery_cannot_pass_on_a_target_nobody_measured(store: ObjectStore) -> None:
    fam = F.family("classification")
    rows = fam.rows()
    _no_reviews(rows)
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)

    assert res.delivery == "final" and not res.success
    assert res.checks_failed == ["semantic.review_accepted"]
    assert gate(spec=fam.spec, store=store, run_id=F.RUN).status == "pending"


def test_plan_level_checks_warn_on_a_partial_run_and_block_a_final_one(store: ObjectStore) -> None:
    fam = F.family("bbox", target_volume=1000)
    rows = fam.rows()
    for i in (0, 2, 4, 6):  # crop shares 8/24 vs planned 0.5
        rows[i]["crop"] = "배추"
    F.write_run(store, fam, rows)

    partial = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    final = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False, delivery="final")

    assert partial.success and partial.delivery == "partial"
    assert sorted(partial.checks_warned) == ["conformity.volume", "diversity.crop"]
    assert not final.success and final.delivery == "final"
    assert sorted(final.checks_failed) == ["conformity.volume", "diversity.crop"]
    q = _q(store, final)
    crop = next(c for c in q["checks"] if c["id"] == "diversity.crop")
    assert crop["measured"] == pytest.approx(2 / 3 - 0.5)  # the worst deviation, in share points
    sixth = pytest.approx(1 / 6)
    assert q["shares"]["crop"] == [
        {"value": "고추", "count": 8, "planned": 0.5, "actual": pytest.approx(1 / 3), "abs_deviation": sixth},
        {"value": "배추", "count": 16, "planned": 0.5, "actual": pytest.approx(2 / 3), "abs_deviation": sixth},
    ]
    assert q["characteristics"]["conformity"]["measured"] == pytest.approx(24 / 1000)


def test_completeness_counts_what_each_stage_quarantined(store: ObjectStore) -> None:
    fam = F.family("transcription")
    F.write_run(store, fam, fam.rows(), planned=30)  # 30 planned, 24 delivered
    at = datetime(2026, 11, 2, tzinfo=UTC)
    quarantine = [
        {"item_id": f"q{i}", "stage": stage, "reason": reason, "detail": "", "source_uri": f"s://{i}", "at": at}
        for i, (stage, reason) in enumerate([("collect", "media.truncated"), ("collect", "media.truncated"),
                                             ("collect", "audio.sample_rate"), ("deidentify", "pii.unmasked"),
                                             ("refine", "label.segment_outside"), ("refine", "label.missing")])
    ]
    for stage in ("collect", "deidentify", "refine"):
        rows = [r for r in quarantine if r["stage"] == stage]
        name = "quarantine-00000.parquet" if stage != "refine" else "quarantine.parquet"
        store.write_table(f"{layout.run(fam.spec.id, F.RUN, stage)}/{name}",
                          pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA))

    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    q = _q(store, res)

    assert res.checks_failed == ["completeness.delivered"]
    assert q["characteristics"]["completeness"]["measured"] == pytest.approx(24 / 30)
    assert q["quarantine"] == {"collect": {"audio.sample_rate": 1, "media.truncated": 2},
                               "deidentify": {"pii.unmasked": 1},
                               "refine": {"label.missing": 1, "label.segment_outside": 1}}


def test_without_a_collect_plan_completeness_is_not_measured(store: ObjectStore) -> None:
    fam = F.family("ner")
    F.write_run(store, fam, fam.rows(), planned=None)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    assert res.not_measured == ("completeness.delivered",)
    assert res.checks_failed == ["completeness.delivered"]  # 24 records = target volume: final, so it blocks


def test_agreement_by_annotator_and_overall(store: ObjectStore) -> None:
    fam = F.family("classification")
    rows = fam.rows()
    rows[0]["qc_agreement"] = 0.5  # item 0: ann-0 and ann-1
    F.write_run(store, fam, rows)
    q = _q(store, validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False))
    overlap = [r for r in rows if r["qc_agreement"] is not None]
    mean = sum(r["qc_agreement"] for r in overlap) / len(overlap)
    assert next(c for c in q["checks"] if c["id"] == "agreement.mean")["measured"] == pytest.approx(mean)
    by = q["agreement_by_annotator"]
    for who in by:
        mine = [r["qc_agreement"] for r in overlap if who in r["qc_annotators"]]
        assert by[who] == {"items": len(mine), "mean_agreement": pytest.approx(sum(mine) / len(mine))}


@pytest.mark.parametrize("type_", ["keypoints", "segmentation", "ner", "qa", "polygon", "temporal_events"])
def test_streaming_equals_one_whole_frame_for_every_frame_kind(store: ObjectStore, type_: str) -> None:
    fam = F.family(type_)
    rows = fam.rows()
    rows[22]["item_id"] = rows[2]["item_id"]  # a duplicate id in another batch
    col = {"keypoints": "poses", "segmentation": "masks", "ner": "entities", "qa": "qa", "polygon": "polygons",
           "temporal_events": "events"}[type_]
    rows[11][col] = []  # an item without labels: fails its type's count/coverage checks, if any
    F.write_run(store, fam, rows)
    streamed = _q(store, validate(spec=fam.spec, store=store, run_id=F.RUN, batch_rows=5, data_docs=False))
    whole = _q(store, validate(spec=fam.spec, store=store, run_id=F.RUN, batch_rows=1000, data_docs=False))
    assert streamed["batches"] == 5 and whole["batches"] == 1
    fields = ("status", "measured", "element_count", "missing_count", "checked_count", "unexpected_count",
              "partial_unexpected_list", "missing_values")
    for a, b in zip(streamed["checks"], whole["checks"], strict=True):
        assert {k: a.get(k) for k in fields} == {k: b.get(k) for k in fields}, a["id"]
    assert streamed["checks_failed"] == whole["checks_failed"]
    assert "uniqueness.item_id" in whole["checks_failed"]


def _reviewed(rows: list[dict[str, Any]], rejected: int) -> None:
    reviewed = [r for r in rows if r["qc_review"] is not None]
    for r in reviewed[:rejected]:
        r["qc_review"] = "rejected"


def test_a_small_review_sample_below_target_warns_unless_the_miss_is_conclusive(store: ObjectStore) -> None:
    fam = F.family("classification", target_volume=10_000)
    rows = fam.rows()  # 6 reviewed items
    _reviewed(rows, 1)
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    check = next(c for c in _q(store, res)["checks"] if c["id"] == "semantic.review_accepted")
    # 5 of 6 is 83 % < 90 %, but a 95 % interval of [0.44, 0.97] cannot tell: a warning on a partial run
    assert res.success and check["status"] == "warn" and "too small to conclude" in check["note"]
    assert check["sample"]["size"] == 6 and check["sample"]["required"] == 23
    assert check["sample"]["ci"][0] < 0.9 < check["sample"]["ci"][1]

    rows = fam.rows()
    _reviewed(rows, 5)  # 1 of 6: even the upper end of the interval is below 90 %
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    assert not res.success and res.checks_failed == ["semantic.review_accepted"]


def test_sample_sizes_from_the_formula_and_iso_2859_1() -> None:
    from pipelines.spec.models import Sampling
    from pipelines.validate.sampling import required_sample, wilson_interval

    assert required_sample(Sampling(), 1_000_000) == 385  # 95 %, +-5 %, p = 0.5
    assert required_sample(Sampling(), 24) == 23  # finite population
    assert required_sample(Sampling(method="aql"), 24) == 5  # lot 16-25, level II: code C
    assert required_sample(Sampling(method="aql", inspection_level="III"), 100_000) == 800  # code P
    assert required_sample(Sampling(method="aql", inspection_level="I"), 1_000) == 32  # code G
    lo, hi = wilson_interval(95, 100, 0.95)
    assert lo == pytest.approx(0.8882, abs=1e-3) and hi == pytest.approx(0.9785, abs=1e-3)


def _overlap(rows: list[dict[str, Any]], agreements: list[float]) -> None:
    """The first ``len(agreements)`` rows become the overlap sample, with these item agreements; the rest have one
    annotator."""
    for i, r in enumerate(rows):
        overlap = i < len(agreements)
        r.update(qc_annotators=["ann-0", "ann-1"] if overlap else ["ann-0"], qc_n_annotations=2 if overlap else 1,
                 qc_agreement=agreements[i] if overlap else None, qc_consensus="best_agreeing" if overlap else "single")


def test_agreement_on_a_single_overlap_item_cannot_conclude_the_team_disagrees(store: ObjectStore) -> None:
    # issue 11: gastric-cancer-pathology-segmentation at --items 12 had one overlap item (5 % of 12), and one of its
    # two masks was a simulated brush mistake: mean mask IoU 0.33 over that one pair held a partial run at the gate.
    fam = F.family("segmentation", target_volume=10_000)
    rows = fam.rows()
    _overlap(rows, [0.33])
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    check = next(c for c in _q(store, res)["checks"] if c["id"] == "agreement.mean")
    assert check["measured"] == pytest.approx(0.33)
    assert res.success and check["status"] == "warn" and "too small to conclude" in check["note"]
    assert check["sample"]["size"] == 1 and check["sample"]["ci"][0] < 0.7 < check["sample"]["ci"][1]
    # planned: the items the overlap plan sends to several annotators (24 x overlap_share 0.2), not the review plan
    assert (check["sample"]["required"], check["sample"]["method"]) == (5, "overlap")

    rows = fam.rows()
    _overlap(rows, [0.33] * 8)  # eight overlap items that all disagree: the team does, whatever the sample's luck
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    check = next(c for c in _q(store, res)["checks"] if c["id"] == "agreement.mean")
    assert not res.success and res.checks_failed == ["agreement.mean"]
    assert check["status"] == "fail" and check["sample"]["size"] == 8 and check["sample"]["ci"][1] < 0.7


def test_agreement_on_a_single_overlap_item_still_blocks_a_final_delivery(store: ObjectStore) -> None:
    fam = F.family("segmentation")  # 24 records of a target of 24: final
    rows = fam.rows()
    _overlap(rows, [0.33])
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    assert res.delivery == "final" and not res.success and "agreement.mean" in res.checks_failed


def test_agreement_names_the_overlap_items_below_the_target_and_the_gate_sends_them_back(store: ObjectStore) -> None:
    # issue 11: agreement.mean named no item, so an inspector could not see which overlap items disagree.
    fam = F.family("segmentation", target_volume=10_000)
    rows = fam.rows()
    agreements = [0.33] * 6 + [0.9, 1.0] + [0.33] * 6
    _overlap(rows, agreements)
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    q = _q(store, res)
    check = next(c for c in q["checks"] if c["id"] == "agreement.mean")
    low = [str(r["item_id"]) for r, a in zip(rows, agreements, strict=False) if a < 0.7]
    assert check["status"] == "fail" and check["reworkable"] is True
    assert check["failing_items"] == low and len(low) == 12
    assert failing_items(q) == {i: ["agreement.mean"] for i in low}
    assert set(low) <= set(q["examples"]), "the report shows the disagreeing items"
    assert "agreement.mean" in q["examples"][low[0]]["checks"]
