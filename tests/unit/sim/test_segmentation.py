"""Simulated annotators paint brush masks: exact on a good day, measurably wrong on a bad one."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.collect.sources import SyntheticCollector
from pipelines.label import qc, results
from pipelines.spec import load_catalog
from pipelines.storage import open_store
from sim.annotators import _result, preflight

pytestmark = pytest.mark.unit
SPEC_ID = "aged-facility-defect-segmentation"


def test_truth_masks_are_the_painted_pixels_and_survive_label_studio_rle(tmp_path: Path) -> None:
    spec = load_catalog().get(SPEC_ID)
    store = open_store(tmp_path.as_uri())
    preflight(spec=spec, store=store)
    src = SyntheticCollector(spec=spec, store=store)
    item = next(src.item(i) for i in range(20) if src.defect(i) is None and src.item(i).ext == "png")
    assert item.truth is not None
    image = np.asarray(Image.open(io.BytesIO(item.data)).convert("RGB")).astype(int)
    size = (image.shape[1], image.shape[0])
    regions = results.from_truth("segmentation", item.truth, to_name="image", size=size)
    assert regions
    masks = qc.extract("segmentation", regions)  # decoded back from Label Studio's RLE
    for label, mask in masks.items():
        assert label in spec.labels
        # every painted pixel of the class has one colour, far from the muted background
        colours = {tuple(c) for c in image[mask][:: max(1, int(mask.sum()) // 50)]}
        assert len(colours) == 1, (label, colours)


def test_a_spoilt_mask_is_one_a_reviewer_rejects(tmp_path: Path) -> None:
    spec = load_catalog().get(SPEC_ID)
    src = SyntheticCollector(spec=spec, store=open_store(tmp_path.as_uri()))
    size = (spec.modality.min_width, spec.modality.min_height)
    good, bad = [], []
    for i in range(24):
        truth = src.sample_truth(i)
        ref = qc.extract("segmentation", results.from_truth("segmentation", truth, to_name="image", size=size) or [])
        good.append(qc.agreement("segmentation", qc.extract("segmentation", _result(
            spec, truth, size, random.Random(i), wrong=False)), ref))
        bad.append(qc.agreement("segmentation", qc.extract("segmentation", _result(
            spec, truth, size, random.Random(i), wrong=True)), ref))
    assert min(good) == 1.0
    assert max(bad) < qc.CORRECT_AT["segmentation"], bad
