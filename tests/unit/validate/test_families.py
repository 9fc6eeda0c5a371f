"""For every annotation type: the clean final delivery passes every NIA characteristic; planted defects fail
exactly the characteristics they belong to (and the checks named), nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from pipelines.storage import ObjectStore, open_store
from pipelines.storage.records import record_schema
from pipelines.storage.splits import group_keys, new_plan
from pipelines.validate import validate
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit

Rows = list[dict[str, Any]]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ObjectStore:
    return open_store(str(tmp_path_factory.mktemp("families")))


def _run(store: ObjectStore, fam: F.Family, rows: Rows, run_id: str) -> dict[str, Any]:
    F.write_run(store, fam, rows, run_id=run_id)
    res = validate(spec=fam.spec, store=store, run_id=run_id, data_docs=False)
    q: dict[str, Any] = store.read_json(res.quality_key)
    assert q["success"] is res.success
    return q


def _failing(q: dict[str, Any]) -> set[str]:
    return {k for k, c in q["characteristics"].items() if c["status"] != "pass"}


@pytest.mark.parametrize("type_", F.TYPES)
def test_clean_final_delivery_passes_every_characteristic(store: ObjectStore, type_: str) -> None:
    fam = F.family(type_)
    q = _run(store, fam, fam.rows(), f"clean-{type_}")
    assert q["success"] is True and q["delivery"]["mode"] == "final"
    assert q["checks_failed"] == q["checks_warned"] == q["not_measured"] == []
    expected = {"syntactic_accuracy", "technical_conformity", "completeness", "uniqueness", "split_leakage",
                "conformity", "diversity", "semantic_accuracy", "gold_accuracy", "agreement"}
    assert set(q["characteristics"]) == expected
    assert {k: c["status"] for k, c in q["characteristics"].items()} == dict.fromkeys(expected, "pass")


# ------------------------------------------------------------------------ type-specific syntax defects


def _set(i: int, **values: Any) -> Callable[[Rows], None]:
    def mutate(rows: Rows) -> None:
        rows[i].update(values)
    return mutate


def _edit(i: int, column: str, fn: Callable[[Any], None]) -> Callable[[Rows], None]:
    def mutate(rows: Rows) -> None:
        fn(rows[i][column])
    return mutate


SYNTAX: list[tuple[str, str, Callable[[Rows], None], list[str]]] = [
    ("classification", "unknown label", _set(3, label="분노"), ["syntactic.label_in_set"]),
    ("multi_label", "no label", _set(5, labels=[]), ["syntactic.label_count"]),
    ("multi_label", "too many labels", _set(5, labels=["나", "다", "라"]), ["syntactic.label_count"]),
    ("bbox", "box outside the image", _edit(4, "objects", lambda o: o[0].update(x=50.0)),
     ["syntactic.box_inside_width"]),
    ("bbox", "box below min size", _edit(4, "objects", lambda o: o[0].update(h=1.0)), ["syntactic.box_min_size"]),
    ("polygon", "point outside the image", _edit(2, "polygons", lambda p: p[0]["points"][1].update(x=90.0)),
     ["syntactic.polygon_inside"]),
    ("polygon", "two points", _edit(2, "polygons", lambda p: p[0]["points"].pop()), ["syntactic.polygon_points"]),
    ("polyline", "one point", _edit(7, "polylines", lambda p: p[0]["points"].pop()), ["syntactic.polyline_points"]),
    ("keypoints", "visible keypoint without coordinates",
     _edit(6, "poses", lambda p: p[0]["keypoints"][0].update(x=None, y=None)), ["syntactic.keypoint_placed"]),
    ("keypoints", "unknown keypoint", _edit(6, "poses", lambda p: p[0]["keypoints"][2].update(name="귀")),
     ["syntactic.keypoint_name_in_set"]),
    ("keypoints", "keypoint listed twice", _edit(6, "poses", lambda p: p[0]["keypoints"][2].update(name="코")),
     ["syntactic.keypoint_complete"]),
    ("keypoints", "keypoint outside the image", _edit(6, "poses", lambda p: p[0]["keypoints"][0].update(y=60.0)),
     ["syntactic.keypoint_inside"]),
    ("segmentation", "truncated RLE", _edit(8, "masks", lambda m: m[0]["rle"].pop()),
     ["syntactic.mask_rle_covers_image"]),
    ("segmentation", "mask of another size", _edit(8, "masks", lambda m: m[0].update(width=32, rle=[32 * 48])),
     ["syntactic.mask_not_empty", "syntactic.mask_width"]),
    ("transcription", "segment past the clip", _edit(1, "segments", lambda s: s[1].update(end=9.0)),
     ["syntactic.segment_inside_clip"]),
    ("ner", "span text not at its offsets", _edit(2, "entities", lambda e: e[0].update(text="김철수")),
     ["syntactic.entity_matches"]),
    ("ner", "span past the text", _edit(2, "entities", lambda e: e[0].update(end=400)),
     ["syntactic.entity_inside", "syntactic.entity_matches"]),
    ("qa", "answer offset wrong", _edit(9, "qa", lambda q: q[0].update(answer_start=0)),
     ["syntactic.qa_answer_matches"]),
    ("qa", "empty question", _edit(9, "qa", lambda q: q[0].update(question=" ")), ["syntactic.qa_question"]),
    ("summarisation", "summary too long", _set(3, summary="긴 요약 " * 20), ["syntactic.summary_length"]),
    ("translation", "source copied", lambda rows: rows[3].update(translation=rows[3]["text"]),
     ["syntactic.translation_not_source"]),
    ("dialogue_intent", "unknown intent", _set(3, intent="잡담"), ["syntactic.label_in_set"]),
    ("dialogue_intent", "no turns", _set(3, turns=[]), ["syntactic.dialogue_turns"]),
    ("temporal_events", "event shorter than min_event_s", _edit(5, "events", lambda e: e[0].update(end=0.7)),
     ["syntactic.event_min_length"]),
    ("temporal_events", "event past the clip", _edit(5, "events", lambda e: e[0].update(end=6.0)),
     ["syntactic.event_inside_clip"]),
    ("timeseries_labels", "end before start", _edit(5, "events", lambda e: e[0].update(start=3.0)),
     ["syntactic.event_order"]),
]


@pytest.mark.parametrize(("type_", "what", "defect", "checks"), SYNTAX, ids=[f"{t}: {w}" for t, w, _, _ in SYNTAX])
def test_syntax_defect_fails_only_syntactic_accuracy(store: ObjectStore, type_: str, what: str,
                                                     defect: Callable[[Rows], None], checks: list[str]) -> None:
    fam = F.family(type_)
    rows = fam.rows()
    defect(rows)
    q = _run(store, fam, rows, f"syntax-{type_}-{what.replace(' ', '-')}")
    assert _failing(q) == {"syntactic_accuracy"}, what
    assert sorted(q["checks_failed"]) == sorted(checks)
    failed = next(c for c in q["checks"] if c["id"] == checks[0])
    assert failed["unexpected_count"] >= 1 and failed["failing_items"], "the report names the failing item"
    assert failed["reworkable"] is True, "another annotation of the item can fix a label's syntax"


# --------------------------------------------------------------------------- technical defects


TECHNICAL: list[tuple[str, Callable[[Rows], None], list[str]]] = [
    ("bbox", _edit(0, "media", lambda m: m.update(width=32)), ["technical.width"]),
    ("transcription", _edit(0, "media", lambda m: m.update(sample_rate=8000)), ["technical.sample_rate"]),
    ("classification", _set(0, text="가" * 3000), ["technical.text_length"]),
    ("timeseries_labels", _edit(0, "media", lambda m: m.update(duration_s=0.5)), ["technical.duration"]),
]


@pytest.mark.parametrize(("type_", "defect", "checks"), TECHNICAL, ids=[t for t, _, _ in TECHNICAL])
def test_technical_defect_fails_only_technical_conformity(store: ObjectStore, type_: str,
                                                         defect: Callable[[Rows], None], checks: list[str]) -> None:
    fam = F.family(type_)
    rows = fam.rows()
    defect(rows)
    if type_ == "timeseries_labels":  # keep the event inside the shortened series: only the media is at fault
        rows[0]["events"][0].update(start=0.0, end=0.5)
    q = _run(store, fam, rows, f"technical-{type_}")
    assert _failing(q) == {"technical_conformity"}
    assert q["checks_failed"] == checks
    assert [c["reworkable"] for c in q["checks"] if c["id"] in checks] == [False], "re-annotating fixes no media"


# ------------------------------------------------------------ run-level defects, on one family per modality


def _content_column(fam: F.Family) -> str:
    return "text" if fam.modality == "text" else "media"


def _copy_content(rows: Rows, fam: F.Family, src: int, dst: int) -> None:
    col = _content_column(fam)
    rows[dst][col] = dict(rows[src][col]) if col == "media" else rows[src][col]


def _planned_split(fam: F.Family, rows: Rows) -> list[str]:
    plan = new_plan(fam.spec)
    batch = pa.Table.from_pylist(rows, schema=record_schema(fam.spec)).to_batches()[0]
    return [plan.split_of(g) for g in group_keys(fam.spec, batch)]


def duplicate_in_group(fam: F.Family, rows: Rows) -> None:
    _copy_content(rows, fam, 4, 5)  # items 4 and 5 share group g-2: same split, a duplicate but no leak


def duplicate_across_splits(fam: F.Family, rows: Rows) -> None:
    splits = _planned_split(fam, rows)
    dst = next(i for i in range(len(rows)) if splits[i] != splits[0])
    _copy_content(rows, fam, 0, dst)


def skew_demographics(fam: F.Family, rows: Rows) -> None:
    col, values = fam.demo_column
    for i in (0, 2, 4, 6):
        rows[i][col] = values[1]


def reviewers_reject(fam: F.Family, rows: Rows) -> None:
    rows[0]["qc_review"] = rows[4]["qc_review"] = "rejected"


def gold_wrong(fam: F.Family, rows: Rows) -> None:
    rows[1]["qc_gold_correct"] = False


def annotators_disagree(fam: F.Family, rows: Rows) -> None:
    for r in rows:
        if r["qc_agreement"] is not None:
            r["qc_agreement"] = 0.3


def short_delivery(fam: F.Family, rows: Rows) -> None:
    del rows[-4:]  # one item of each label and two of each demographic value: shares still hold


def group_missing(fam: F.Family, rows: Rows) -> None:
    rows[7][fam.group_column] = None  # required, and the record would be split as a group of its own


RUN_LEVEL: list[tuple[Callable[[F.Family, Rows], None], set[str]]] = [
    (group_missing, {"syntactic_accuracy", "split_leakage"}),
    (duplicate_in_group, {"uniqueness"}),
    (duplicate_across_splits, {"uniqueness", "split_leakage"}),
    (skew_demographics, {"diversity"}),
    (reviewers_reject, {"semantic_accuracy"}),
    (gold_wrong, {"gold_accuracy"}),
    (annotators_disagree, {"agreement"}),
    (short_delivery, {"conformity", "completeness"}),
]


@pytest.mark.parametrize("type_", ["classification", "bbox", "transcription", "timeseries_labels"])
@pytest.mark.parametrize(("defect", "expected"), RUN_LEVEL, ids=[d.__name__ for d, _ in RUN_LEVEL])
def test_run_level_defect_fails_exactly_its_characteristics(store: ObjectStore, type_: str,
                                                            defect: Callable[[F.Family, Rows], None],
                                                            expected: set[str]) -> None:
    fam = F.family(type_)
    rows = fam.rows()
    defect(fam, rows)
    q = _run(store, fam, rows, f"run-{type_}-{defect.__name__}")
    assert _failing(q) == expected
    assert q["success"] is False and q["checks_failed"]
    assert {c["characteristic"] for c in q["checks"] if c["id"] in q["checks_failed"]} == expected


def test_a_series_one_sample_short_of_a_round_duration_conforms_as_intake_says(store: ObjectStore) -> None:
    """A day of 1,440 samples at a rounded 1/60 Hz measures 86,399.8 s: intake accepts one sample of slack, so
    validation must too; ten samples short is still a defect."""
    fam = F.family("timeseries_labels", modality={**F.SERIES, "min_duration_s": 10.0, "max_duration_s": 10.0})
    near = fam.rows()
    near[0]["media"]["duration_s"] = 10.0 - 0.5 / 100.0  # half a sample at 100 Hz
    q = _run(store, fam, near, "near")
    assert "technical.duration" not in q["checks_failed"] + q["checks_warned"]
    short = fam.rows()
    for row in short:
        row["media"]["duration_s"] = 10.0 - 10 / 100.0
    assert "technical.duration" in _run(store, fam, short, "short")["checks_failed"]


def test_a_multimodal_items_own_sound_is_checked_against_its_component(store: ObjectStore) -> None:
    """docs/adr/0024: the primary clip is ``media``; the audio component's presence, sample rate and duration are
    technical conformity checks of their own."""
    fam = F.family("transcription", modality=F.CLIP_AND_SOUND)
    q = _run(store, fam, fam.rows(), "clean-multimodal")
    assert q["success"] is True and q["checks_failed"] == q["checks_warned"] == []
    ids = {c["id"] for c in q["checks"]}
    assert {"technical.width", "technical.audio_present", "technical.audio_sample_rate",
            "technical.audio_duration"} <= ids
    rows = fam.rows()
    rows[0]["components"][0]["sample_rate"] = 8000
    rows[1]["components"] = None
    q = _run(store, fam, rows, "bad-sound")
    assert _failing(q) == {"technical_conformity"}
    assert set(q["checks_failed"]) == {"technical.audio_sample_rate", "technical.audio_present"}
