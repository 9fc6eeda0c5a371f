"""Result regions: pixel boxes <-> Label Studio percent, and validity against the generated configs."""

from __future__ import annotations

import pytest
from label_studio_sdk.label_interface import LabelInterface

from pipelines.label import results
from pipelines.label.config import label_config
from sim.specs import demo_spec

pytestmark = pytest.mark.unit


def test_rectangle_is_percent_of_the_image_and_converts_back() -> None:
    r = results.rectangle(label="정상", x=16, y=12, w=32, h=24, image_width=160, image_height=120)
    assert r["value"] == {
        "x": 10.0,
        "y": 10.0,
        "width": 20.0,
        "height": 20.0,
        "rotation": 0,
        "rectanglelabels": ["정상"],
    }
    assert results.rectangle_pixels(r) == {"label": "정상", "x": 16.0, "y": 12.0, "w": 32.0, "h": 24.0}


def test_rectangle_is_clipped_to_the_image() -> None:
    r = results.rectangle(label="a", x=-10, y=100, w=30, h=40, image_width=160, image_height=120)
    assert results.rectangle_pixels(r) == pytest.approx(
        {"label": "a", "x": 0.0, "y": 100.0, "w": 20.0, "h": 20.0}
    )


def test_regions_are_valid_for_the_generated_configs() -> None:
    bbox = demo_spec("bbox")
    box = results.rectangle(label=bbox.labels[-1], x=1, y=2, w=10, h=10, image_width=160, image_height=120)
    assert LabelInterface(label_config(bbox)).validate_prediction({"result": [box]})
    wrong = results.rectangle(label="없는 라벨", x=1, y=2, w=10, h=10, image_width=160, image_height=120)
    assert not LabelInterface(label_config(bbox)).validate_prediction({"result": [wrong]})

    tr = LabelInterface(label_config(demo_spec("transcription")))
    regions = results.transcript(
        "안녕 하세요",
        segments=[{"start": 0, "end": 0.5, "text": "안녕"}, {"start": 0.5, "end": 1.0, "text": "하세요"}],
    )
    assert tr.validate_prediction({"result": regions})
    # a segment's label region and its text share one id, which is how Label Studio pairs them
    assert regions[1]["id"] == regions[2]["id"] != regions[3]["id"]

    cls = LabelInterface(label_config(demo_spec("classification")))
    assert cls.validate_prediction({"result": [results.choices(["중립"], to_name="text")]})
