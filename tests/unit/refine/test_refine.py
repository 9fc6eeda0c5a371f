"""Refine on real Parquet in tmp_path: pixels from percentages, consensus, quarantine with reasons, counts reconcile."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipelines.label import write_qc
from pipelines.refine import refine
from pipelines.spec import parse_spec
from pipelines.storage import artifacts, layout, open_store
from pipelines.storage.schemas import ANNOTATION_SCHEMA, ITEM_SCHEMA, dumps, now
from tests.unit.spec.test_model import GOOD

pytestmark = pytest.mark.unit
RUN = "manual__2026-11-23T00:00:00+00:00"


def _item(i: int, **kw: Any) -> dict[str, Any]:
    row = {"item_id": f"it{i}", "dataset": "crop-disease-open-field", "shard": 0, "source_uri": f"synthetic://{i}",
           "media_key": f"media/crop-disease-open-field/{i:064d}.jpeg", "media_sha256": f"{i:064d}",
           "original_sha256": f"{i:064d}", "media_ext": "jpeg", "text": None, "width": 1280, "height": 720,
           "duration_s": None, "sample_rate": None, "channels": None,
           "meta": dumps({"crop": "고추", "field_plot": f"plot-{i % 3}", "captured_at": "2020-07-01"}),
           "truth": None, "collected_at": now(), "license": "CC-BY-4.0", "collector": "test", "deid": "{}"}
    row.update(kw)
    return row


def _box(label: str, x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 1280,
            "original_height": 720, "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                                              "rectanglelabels": [label]}}


def _ann(item: str, who: str, result: list[dict[str, Any]], aid: int) -> dict[str, Any]:
    return {"item_id": item, "task_id": aid, "project_id": 1, "annotation_id": aid, "annotator": who,
            "result": json.dumps(result, ensure_ascii=False), "ground_truth": False, "was_cancelled": False,
            "lead_time_s": 3.0, "created_at": now(), "updated_at": now(), "role": "annotate"}


def test_refine_bbox(tmp_path: Path) -> None:
    spec = parse_spec(copy.deepcopy(GOOD))
    store = open_store(str(tmp_path))
    items = [_item(i) for i in range(5)]
    store.write_table(f"{layout.run(spec.id, RUN, 'deidentify')}/part-00000.parquet",
                      pa.Table.from_pylist(items, schema=ITEM_SCHEMA))
    anns = [
        _ann("it0", "a@x", [_box("정상", 10, 10, 50, 50)], 1),
        # it1: two annotators agree, one is off: label_pull's consensus averages the majority's boxes
        _ann("it1", "a@x", [_box("고추탄저병", 10, 10, 20, 20)], 2),
        _ann("it1", "b@x", [_box("고추탄저병", 10.5, 10, 20, 20)], 3),
        _ann("it1", "c@x", [_box("고추탄저병", 60, 60, 20, 20)], 4),
        _ann("it2", "a@x", [_box("정상", 90, 90, 20, 20)], 5),  # outside the image
        _ann("it3", "a@x", [_box("감자역병", 10, 10, 20, 20)], 6),  # unknown class
        # it4: no annotation at all
    ]
    artifacts.LABEL_ANNOTATIONS.write(store, spec.id, RUN, pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    write_qc(spec=spec, store=store, run_id=RUN, rows=anns)  # label_pull's QC: the consensus refine releases
    res = refine(spec=spec, store=store, run_id=RUN)
    assert (res.items_in, res.records, res.quarantined) == (5, 2, 3)
    assert res.reasons == {"label.geometry_outside": 1, "label.unknown_class": 1, "label.missing": 1}
    rec = {r["item_id"]: r for r in store.read_table(res.records_key).to_pylist()}
    assert rec["it0"]["objects"] == [{"label": "정상", "x": 128.0, "y": 72.0, "w": 640.0, "h": 360.0}]
    assert rec["it0"]["qc_consensus"] == "single"
    assert rec["it1"]["qc_consensus"] == "iou_cluster" and rec["it1"]["qc_n_annotations"] == 3
    assert rec["it1"]["objects"] == [{"label": "고추탄저병", "x": 131.2, "y": 72.0, "w": 256.0, "h": 144.0}]
    assert rec["it0"]["crop"] == "고추" and str(rec["it0"]["captured_at"]) == "2020-07-01"
    q = store.read_table(res.quarantine_key).to_pylist()
    assert {r["item_id"]: r["reason"] for r in q} == {"it2": "label.geometry_outside", "it3": "label.unknown_class",
                                                      "it4": "label.missing"}


def _choice(label: str) -> list[dict[str, Any]]:
    return [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}}]


def test_refine_releases_label_pulls_consensus_not_each_answer(tmp_path: Path) -> None:
    """An outvoted answer is not released (nor checked); a tie is quarantined; a gold-only item releases gold."""
    spec = parse_spec(copy.deepcopy(GOOD))
    store = open_store(str(tmp_path))
    store.write_table(f"{layout.run(spec.id, RUN, 'deidentify')}/part-00000.parquet",
                      pa.Table.from_pylist([_item(i) for i in range(2)], schema=ITEM_SCHEMA))
    gold = {**_ann("it1", "admin@x", [_box("정상", 40, 40, 10, 10)], 4), "ground_truth": True, "role": "gold"}
    anns = [
        _ann("it0", "a@x", [_box("정상", 10, 10, 20, 20)], 1),
        _ann("it0", "b@x", [_box("정상", 12, 10, 20, 20)], 2),
        _ann("it0", "c@x", [_box("정상", 90, 90, 20, 20)], 3),  # outside the image, and outvoted
        gold,
    ]
    artifacts.LABEL_ANNOTATIONS.write(store, spec.id, RUN, pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    write_qc(spec=spec, store=store, run_id=RUN, rows=anns)
    res = refine(spec=spec, store=store, run_id=RUN)
    assert (res.items_in, res.records, res.quarantined) == (2, 2, 0), res.reasons
    rec = {r["item_id"]: r for r in store.read_table(res.records_key).to_pylist()}
    # the mean of the two agreeing boxes (11 % of 1280 px), the stray one dropped
    assert rec["it0"]["objects"] == [{"label": "정상", "x": 140.8, "y": 72.0, "w": 256.0, "h": 144.0}]
    assert (rec["it0"]["qc_consensus"], rec["it0"]["qc_n_annotations"]) == ("iou_cluster", 3)
    assert rec["it1"]["objects"] == [{"label": "정상", "x": 512.0, "y": 288.0, "w": 128.0, "h": 72.0}]
    assert (rec["it1"]["qc_consensus"], rec["it1"]["qc_gold"]) == ("gold", True)

    cls_doc = copy.deepcopy(GOOD)
    cls_doc["annotation"] = {**cls_doc["annotation"], "type": "classification"}
    cls = parse_spec(cls_doc)
    tie = [_ann("it0", "a@x", _choice("정상"), 1), _ann("it0", "b@x", _choice("고추탄저병"), 2),
           _ann("it1", "a@x", _choice("정상"), 3), _ann("it1", "b@x", _choice("정상"), 4)]
    artifacts.LABEL_ANNOTATIONS.write(store, cls.id, RUN, pa.Table.from_pylist(tie, schema=ANNOTATION_SCHEMA))
    write_qc(spec=cls, store=store, run_id=RUN, rows=tie)
    res = refine(spec=cls, store=store, run_id=RUN)
    assert (res.records, res.reasons) == (1, {"label.no_consensus": 1})
    (only,) = store.read_table(res.records_key).to_pylist()
    assert (only["item_id"], only["label"], only["qc_consensus"]) == ("it1", "정상", "majority")
