"""Simulated annotators place keypoints and trace polylines: refine reads back what the source drew, and a
spoilt answer is one a reviewer rejects."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipelines.annotations.base import MediaFacts
from pipelines.annotations.types.geometry import keypoints, polyline
from pipelines.collect.sources import SyntheticCollector
from pipelines.label import qc, results
from pipelines.spec import load_catalog
from pipelines.storage import open_store
from sim.annotators import _partner, _result, preflight

pytestmark = pytest.mark.unit


def _pixels(points: list[dict[str, float]]) -> list[tuple[float, float]]:
    return [(round(float(p["x"]), 1), round(float(p["y"]), 1)) for p in points]


@pytest.mark.parametrize("spec_id", ["fitness-posture-images", "crop-growth-keypoints", "hanwoo-body-keypoints",
                                     "lane-marking-polyline", "special-lane-polyline", "facility-crack-polyline"])
def test_geometry_round_trips_and_mistakes_are_caught(spec_id: str, tmp_path: Path) -> None:
    spec = load_catalog().get(spec_id)
    store = open_store(tmp_path.as_uri())
    preflight(spec=spec, store=store)
    src = SyntheticCollector(spec=spec, store=store)
    t = spec.annotation.type
    size = (spec.modality.min_width, spec.modality.min_height)
    media = MediaFacts(width=size[0], height=size[1], duration_s=None, text=None)
    bad_scores = []
    for i in range(8):
        truth = src.sample_truth(i)
        assert truth is not None
        good = _result(spec, truth, size, random.Random(i), wrong=False)
        if t == "keypoints":
            got = keypoints(spec, good, media)["poses"]
            assert [p["label"] for p in got] == [p["label"] for p in truth["poses"]]
            for g, want in zip(got, truth["poses"], strict=True):
                assert [(k["name"], k["visible"]) for k in g["keypoints"]] == \
                    [(k["name"], k["visible"]) for k in want["keypoints"]]
                assert _pixels(g["keypoints"]) == _pixels(want["keypoints"])
        else:
            got = polyline(spec, good, media)["polylines"]
            assert [ln["label"] for ln in got] == [ln["label"] for ln in truth["polylines"]]
            assert [_pixels(ln["points"]) for ln in got] == [_pixels(ln["points"]) for ln in truth["polylines"]]
        ref = qc.extract(t, results.from_truth(t, truth, to_name="image", size=size) or [])
        assert qc.agreement(t, qc.extract(t, good), ref) == pytest.approx(1.0)
        bad = _result(spec, truth, size, random.Random(i), wrong=True)
        # a careless answer is still one refine accepts (no orphan keypoints, enough points per line) ...
        (keypoints if t == "keypoints" else polyline)(spec, bad, media)
        bad_scores.append(qc.agreement(t, qc.extract(t, bad), ref))
    # ... but never one a reviewer or a gold check would pass
    assert max(bad_scores) < qc.CORRECT_AT[t], bad_scores


def test_left_and_right_partners_are_found_in_english_and_korean() -> None:
    names = ["left_knee", "right_knee", "왼쪽 어깨", "오른쪽 어깨", "요각 좌", "요각 우", "좌골단 좌", "좌골단 우",
             "좌측 최대폭점", "우측 최대폭점", "코"]
    assert _partner("left_knee", names) == "right_knee"
    assert _partner("오른쪽 어깨", names) == "왼쪽 어깨"
    assert _partner("요각 우", names) == "요각 좌"
    assert _partner("좌골단 좌", names) == "좌골단 우"  # the side is the second 좌, not the first
    assert _partner("좌측 최대폭점", names) == "우측 최대폭점"
    assert _partner("코", names) is None
