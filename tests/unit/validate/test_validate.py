"""validate: GX checks built from the spec, streamed over refined records, reported per NIA characteristic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelines.storage import ObjectStore, open_store
from pipelines.validate import ValidationError, validate
from pipelines.validate.frames import box_rows, item_frame
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def _quality(store: ObjectStore, key: str) -> dict[str, Any]:
    q: dict[str, Any] = store.read_json(key)
    return q


def _check(q: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in q["checks"] if c["id"] == cid)


# ------------------------------------------------------------------------------------------- good runs


def test_good_bbox_run_passes_and_writes_report_result_and_data_docs(store: ObjectStore) -> None:
    spec = f.bbox_spec()
    f.bbox_run(store, spec, media=False).write(store)

    res = validate(spec=spec, store=store, run_id="run-1")

    # 40 of a target volume of 1,000: a partial run, reported against the volume but not blocked by it
    assert res.success and res.checks_failed == [] and res.checks_warned == ["conformity.volume"]
    assert res.items == 40 and res.delivery == "partial"
    q = _quality(store, res.quality_key)
    assert q["success"] is True
    for key in ("syntactic_accuracy", "technical_conformity", "uniqueness", "split_leakage"):
        c = q["characteristics"][key]
        assert c["passed"] is True and c["blocking"] is True and c["measured"] == 1.0, key
    assert q["characteristics"]["conformity"]["status"] == "warn"
    assert q["characteristics"]["conformity"]["measured"] == pytest.approx(0.04)
    assert q["characteristics"]["syntactic_accuracy"]["target"] == 1.0
    assert q["characteristics"]["technical_conformity"]["target"] == 0.99
    # every box of the run was checked against its image
    assert _check(q, "syntactic.box_inside_width")["checked_count"] == 80
    assert q["label_counts"] == dict.fromkeys(f.BBOX_LABELS, 20)

    html = store.read_text(res.report_key)
    assert "구문 정확성" in html and "Syntactic accuracy" in html and "합격 / PASS" in html
    assert "syntactic.box_inside_width" in html

    gx = store.read_json(res.result_key)
    assert gx["success"] is True
    assert len(gx["results"]) == len(q["checks"])
    gx_ids = {r["expectation_config"]["meta"]["check_id"] for r in gx["results"]}
    assert gx_ids == {c["id"] for c in q["checks"]}

    docs = [o.key for o in store.list("runs/crop-disease-test/run-1/validate/data_docs")]
    assert res.docs_key in docs
    assert any("/validations/" in k and k.endswith(".html") for k in docs)


@pytest.mark.parametrize("kind", ["text", "audio"])
def test_good_text_and_audio_runs_pass(store: ObjectStore, kind: str) -> None:
    if kind == "text":
        spec = f.text_spec()
        f.text_run(spec).write(store)
    else:
        spec = f.audio_spec()
        f.audio_run(store, spec).write(store)

    res = validate(spec=spec, store=store, run_id="run-1", data_docs=False)

    q = _quality(store, res.quality_key)
    assert res.success, [(c["id"], c.get("exception")) for c in q["checks"] if not c["passed"]]
    ids = {c["id"] for c in q["checks"]}
    if kind == "text":
        assert {"technical.text_length", "syntactic.label_in_set", "syntactic.meta.domain.in_set"} <= ids
    else:
        assert {"technical.sample_rate", "technical.duration", "syntactic.transcript_length",
                "syntactic.segment_inside_clip", "syntactic.segment_dialect_in_set"} <= ids
    assert res.docs_key == ""


# ------------------------------------------------------------------------------------------ defects


def _bbox_box_outside(run: f.Run) -> None:
    run.rows[4]["objects"][1]["w"] = 40.0  # x=30 + 40 > width 64


def _bbox_unknown_label(run: f.Run) -> None:
    run.rows[9]["objects"][0]["label"] = "미분류"


def _bbox_missing_meta(run: f.Run) -> None:
    run.rows[12]["crop"] = None


@pytest.mark.parametrize(("defect", "expected"), [
    (_bbox_box_outside, ["syntactic.box_inside_width"]),
    (_bbox_unknown_label, ["syntactic.label_in_set"]),
    (_bbox_missing_meta, ["syntactic.meta.crop.required"]),
])
def test_each_bbox_defect_fails_exactly_its_check(store: ObjectStore, defect: Any,
                                                  expected: list[str]) -> None:
    spec = f.bbox_spec()
    run = f.bbox_run(store, spec, media=False)
    defect(run)
    run.write(store)

    res = validate(spec=spec, store=store, run_id="run-1", data_docs=False)

    assert not res.success
    assert res.checks_failed == expected
    q = _quality(store, res.quality_key)
    failed = _check(q, expected[0])
    assert failed["unexpected_count"] == 1
    assert q["characteristics"]["syntactic_accuracy"]["passed"] is False
    assert q["characteristics"]["technical_conformity"]["passed"] is True
    assert "불합격 / FAIL" in store.read_text(res.report_key)


def test_text_defects_fail_their_checks_with_examples(store: ObjectStore) -> None:
    spec = f.text_spec()
    run = f.text_run(spec)
    run.rows[1]["label"] = "분노"  # not a label of the spec
    run.rows[2]["text"] = "가"  # shorter than min_chars=2
    run.rows[3]["domain"] = "뉴스"  # not in the enum
    run.rows[4]["speaker_age"] = 150  # above max
    run.write(store)

    res = validate(spec=spec, store=store, run_id="run-1", data_docs=False)

    assert sorted(res.checks_failed) == sorted([
        "syntactic.label_in_set", "syntactic.meta.domain.in_set", "syntactic.meta.speaker_age.range",
        "technical.text_length",
    ])
    q = _quality(store, res.quality_key)
    assert _check(q, "syntactic.label_in_set")["partial_unexpected_list"] == ["분노"]
    assert _check(q, "syntactic.meta.speaker_age.range")["partial_unexpected_list"] == [150]
    # one short text in 60 is 98.3 % conformity, under the 99 % target
    assert _check(q, "technical.text_length")["measured"] == pytest.approx(59 / 60)


def test_audio_defects_fail_their_checks(store: ObjectStore) -> None:
    spec = f.audio_spec()
    run = f.audio_run(store, spec)
    run.rows[0]["media"]["sample_rate"] = 44100
    run.rows[1]["transcript"] = "   "
    run.rows[2]["segments"][1]["end"] = 99.0
    run.write(store)

    res = validate(spec=spec, store=store, run_id="run-1", data_docs=False)

    assert sorted(res.checks_failed) == ["syntactic.segment_inside_clip", "syntactic.transcript_length",
                                         "technical.sample_rate"]


def test_thresholds_come_from_the_spec(store: ObjectStore) -> None:
    run_spec = f.bbox_spec()
    run = f.bbox_run(store, run_spec, media=False)
    run.rows[0]["media"]["ext"] = "bmp"  # not a declared format: 1 of 40 items
    run.write(store)

    strict = validate(spec=run_spec, store=store, run_id="run-1", data_docs=False)
    lenient = validate(spec=f.bbox_spec(quality={"technical_conformity": 0.95}), store=store, run_id="run-1",
                       data_docs=False)

    assert strict.checks_failed == ["technical.media_format"]  # 97.5 % < 99 %
    assert lenient.success  # 97.5 % >= 95 %
    q = _quality(store, lenient.quality_key)
    assert q["characteristics"]["technical_conformity"]["measured"] == pytest.approx(0.975)
    assert q["characteristics"]["technical_conformity"]["target"] == 0.95


def test_missing_label_blocks_only_when_the_run_could_hold_every_label(store: ObjectStore) -> None:
    spec = f.text_spec()
    big = f.text_run(spec)
    for row in big.rows:
        if row["label"] == "중립":
            row["label"] = "긍정"
    big.write(store)
    # Coverage is a check against the plan of the whole dataset: a partial delivery is warned, a final one blocked.
    partial = validate(spec=spec, store=store, run_id="run-1", data_docs=False)
    assert partial.success and "conformity.label_coverage" in partial.checks_warned
    res = validate(spec=spec, store=store, run_id="run-1", data_docs=False, delivery="final")
    assert "conformity.label_coverage" in res.checks_failed
    assert _check(_quality(store, res.quality_key), "conformity.label_coverage")["missing_values"] == ["중립"]

    small = f.text_run(spec, run_id="run-2", n=2)  # 2 items cannot cover 3 labels
    small.write(store)
    res2 = validate(spec=spec, store=store, run_id="run-2", data_docs=False)
    assert res2.success
    assert res2.checks_warned == ["conformity.volume", "conformity.label_coverage"]
    assert "경고 / WARN" in store.read_text(res2.report_key)


def test_an_empty_run_is_not_eligible(store: ObjectStore) -> None:
    spec = f.text_spec()
    f.Run(spec, "run-1").write(store)
    res = validate(spec=spec, store=store, run_id="run-1", data_docs=False)
    assert "conformity.not_empty" in res.checks_failed


def test_no_records_or_wrong_schema_is_an_error(store: ObjectStore) -> None:
    spec = f.text_spec()
    with pytest.raises(ValidationError, match="run refine first"):
        validate(spec=spec, store=store, run_id="run-1")
    f.text_run(spec).write(store)
    with pytest.raises(ValidationError, match="not the record schema"):
        validate(spec=f.bbox_spec(id="sentiment-text-test"), store=store, run_id="run-1")


# --------------------------------------------------------------------------------- streaming == whole


def _defective_bbox_run(store: ObjectStore) -> f.Run:
    spec = f.bbox_spec()
    run = f.bbox_run(store, spec, media=False, n=60)
    run.rows[3]["objects"][0]["x"] = -1.0
    run.rows[10]["objects"][1]["h"] = 45.0  # y=20 + 45 > 48
    run.rows[22]["objects"][0]["label"] = "미분류"
    run.rows[41]["crop"] = "파"
    run.rows[57]["item_id"] = run.rows[2]["item_id"]  # a duplicate far apart: different batches
    run.rows[33]["temperature_c"] = 80.0
    return run


def test_streaming_in_small_batches_equals_one_whole_frame(store: ObjectStore) -> None:
    spec = f.bbox_spec()
    _defective_bbox_run(store).write(store, row_group_size=5)

    streamed = _quality(store, validate(spec=spec, store=store, run_id="run-1", batch_rows=7,
                                        data_docs=False).quality_key)
    whole = _quality(store, validate(spec=spec, store=store, run_id="run-1", batch_rows=10_000,
                                     data_docs=False).quality_key)

    assert streamed["batches"] == 9 and whole["batches"] == 1  # ceil(60 / 7)
    fields = ("passed", "measured", "element_count", "missing_count", "checked_count", "unexpected_count",
              "partial_unexpected_list", "missing_values")
    for a, b in zip(streamed["checks"], whole["checks"], strict=True):
        assert a["id"] == b["id"]
        assert {k: a.get(k) for k in fields} == {k: b.get(k) for k in fields}, a["id"]
    assert streamed["checks_failed"] == whole["checks_failed"] == [
        "syntactic.label_in_set", "syntactic.box_x_min", "syntactic.box_inside_height",
        "syntactic.meta.crop.in_set", "syntactic.meta.temperature_c.range", "uniqueness.item_id",
    ]


def test_streamed_counts_equal_gx_on_the_whole_frame(store: ObjectStore) -> None:
    """The batch-summed counts equal plain GX expectations run once on the whole frame."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    spec = f.bbox_spec()
    run = _defective_bbox_run(store)
    run.write(store, row_group_size=5)
    q = _quality(store, validate(spec=spec, store=store, run_id="run-1", batch_rows=7,
                                 data_docs=False).quality_key)

    table = run.table()
    batch = table.to_batches(max_chunksize=table.num_rows)[0]
    ctx = gx.get_context(mode="ephemeral")
    source = ctx.data_sources.add_pandas(name="whole")
    names = iter(range(1_000))

    def run_one(frame: Any, expectation: Any) -> Any:
        # A counter, not id(): a freed expectation's id is reused by the next one.
        asset = source.add_dataframe_asset(name=f"asset{next(names)}")
        bd = asset.add_batch_definition_whole_dataframe(name="b")
        return bd.get_batch(batch_parameters={"dataframe": frame.to_pandas()}).validate(
            expectation, result_format="SUMMARY")

    unique = run_one(item_frame(batch, spec), gxe.ExpectColumnValuesToBeUnique(column="item_id"))
    inside = run_one(box_rows(batch), gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="image_height", column_B="y2", or_equal=True))
    labels = run_one(box_rows(batch), gxe.ExpectColumnValuesToBeInSet(column="label",
                                                                      value_set=f.BBOX_LABELS))

    def ours(cid: str, key: str = "unexpected_count") -> int:
        return int(_check(q, cid)[key])

    assert ours("uniqueness.item_id") == unique.result["unexpected_count"] == 2
    assert ours("syntactic.box_inside_height") == inside.result["unexpected_count"] == 1
    assert ours("syntactic.label_in_set") == labels.result["unexpected_count"] == 1
    assert ours("syntactic.box_inside_height", "checked_count") == inside.result["element_count"] == 120


def test_rerun_overwrites_outputs(store: ObjectStore) -> None:
    spec = f.text_spec()
    run = f.text_run(spec)
    run.rows[0]["label"] = "분노"
    run.write(store)
    first = validate(spec=spec, store=store, run_id="run-1", data_docs=False)
    run.rows[0]["label"] = "긍정"
    run.write(store)
    second = validate(spec=spec, store=store, run_id="run-1", data_docs=False)
    assert not first.success and second.success
    assert json.loads(store.read_text(second.quality_key))["success"] is True


def test_batches_are_sized_by_the_records_bytes(tmp_path: Any, store: ObjectStore,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Long documents get small batches (memory does not grow with record width), short records large ones; the
    verdict does not depend on the size chosen."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.validate import stage

    wide, narrow = tmp_path / "wide.parquet", tmp_path / "narrow.parquet"
    pq.write_table(pa.table({"text": ["가" * 20_000] * 300}), wide)  # 60 KB of UTF-8 a record
    pq.write_table(pa.table({"text": ["가나"] * 300}), narrow)
    assert stage.batch_rows_for(pq.ParquetFile(wide)) == stage.BATCH_BYTES // 60_004
    assert stage.batch_rows_for(pq.ParquetFile(narrow)) == stage.MAX_BATCH_ROWS

    spec = f.bbox_spec()
    _defective_bbox_run(store).write(store, row_group_size=5)
    fixed = _quality(store, validate(spec=spec, store=store, run_id="run-1", batch_rows=7, data_docs=False).quality_key)
    monkeypatch.setattr(stage, "BATCH_BYTES", 1)  # every batch at its smallest: MIN_BATCH_ROWS records
    monkeypatch.setattr(stage, "MIN_BATCH_ROWS", 11)
    sized = _quality(store, validate(spec=spec, store=store, run_id="run-1", data_docs=False).quality_key)
    assert sized["batch_rows"] == 11 and sized["batches"] == 6  # ceil(60 / 11)
    assert sized["checks_failed"] == fixed["checks_failed"] and sized["success"] == fixed["success"]
    assert [c.get("unexpected_count") for c in sized["checks"]] == [c.get("unexpected_count") for c in fixed["checks"]]
