"""Offline pre-annotations: keyword model for text classes, contours for boxes, nothing for transcription."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface

from pipelines.label.config import label_config
from pipelines.label.manifests import iter_rows
from pipelines.label.predict import (
    CONTOURS_VERSION,
    KEYWORD_VERSION,
    PREDICTORS,
    PredictItem,
    detect_boxes,
    keyword_scores,
    predict,
)
from pipelines.label.results import rectangle_pixels
from pipelines.spec import ANNOTATION_TYPES
from pipelines.storage import open_store
from sim.data import write_demo_run
from sim.specs import demo_spec

pytestmark = pytest.mark.unit


def test_registry_names_real_annotation_types() -> None:
    assert set(PREDICTORS) <= set(ANNOTATION_TYPES)
    assert "transcription" not in PREDICTORS  # no honest offline transcriber yet


def test_keyword_counts_label_words() -> None:
    assert keyword_scores("배송이 빨라서 긍정, 정말 긍정적", ["긍정", "부정"]) == {"긍정": 2, "부정": 0}
    assert keyword_scores("Traffic ACCIDENT on road", ["traffic accident", "fire"]) == {
        "traffic accident": 3,
        "fire": 0,
    }


def test_keyword_predicts_the_most_mentioned_label_with_a_share_as_score(tmp_path: Path) -> None:
    spec = demo_spec("classification")
    store = open_store(str(tmp_path))
    items = [PredictItem(item_id="a", text="부정 부정 긍정"), PredictItem(item_id="b", text="아무 말")]
    a, b = predict(spec=spec, store=store, items=items)
    assert b is None
    assert (
        a is not None
        and a["model_version"] == KEYWORD_VERSION
        and a["score"] == pytest.approx(2 / 3, abs=1e-4)
    )
    assert a["result"][0]["value"] == {"choices": ["부정"]}
    assert LabelInterface(label_config(spec)).validate_prediction(a)


def test_image_classification_gets_no_keyword_prediction(tmp_path: Path) -> None:
    spec = demo_spec("classification", modality="image")
    assert predict(spec=spec, store=open_store(str(tmp_path)), items=[PredictItem(item_id="x")]) == [None]


def test_contours_find_the_drawn_boxes_exactly(tmp_path: Path) -> None:
    spec = demo_spec("bbox")
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=15)
    rows = [
        r
        for batch in iter_rows(store, spec.id, "r1", columns=("item_id", "media_key", "truth"))
        for r in batch
    ]
    preds = predict(
        spec=spec,
        store=store,
        items=[PredictItem(item_id=r["item_id"], media_key=r["media_key"]) for r in rows],
    )
    li = LabelInterface(label_config(spec))
    for row, pred in zip(rows, preds, strict=True):
        assert pred is not None and pred["model_version"] == CONTOURS_VERSION
        assert li.validate_prediction(pred)
        truth = {(o["x"], o["y"], o["w"], o["h"]) for o in json.loads(row["truth"])["objects"]}
        found = {
            tuple(round(v) for v in (p["x"], p["y"], p["w"], p["h"]))
            for p in map(rectangle_pixels, pred["result"])
        }
        assert found == truth
        assert 0.99 <= pred["score"] <= 1.0  # solid rectangles fill their boxes


def test_detector_rejects_bytes_that_are_not_an_image() -> None:
    with pytest.raises(ValueError, match="decodable"):
        detect_boxes(b"not an image")


def test_transcription_gets_no_prediction(tmp_path: Path) -> None:
    spec = demo_spec("transcription")
    assert predict(spec=spec, store=open_store(str(tmp_path)), items=[PredictItem(item_id="x")]) == [None]
