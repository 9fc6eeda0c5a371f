"""Task conventions shared by push, progress and the simulator."""

from __future__ import annotations

import pytest

from pipelines.label.tasks import (
    PROJECT_TITLE_MAX,
    media_kind,
    object_kinds,
    project_title,
    required_annotations,
    target_kind,
    task_meta,
)
from sim.specs import demo_spec

pytestmark = pytest.mark.unit


def test_short_titles_are_the_contract_form() -> None:
    assert project_title(demo_spec("bbox", spec_id="crop-disease")) == "datadam:crop-disease:1.0"


def test_long_titles_fit_label_studio_and_stay_distinct() -> None:
    a = demo_spec("bbox", spec_id="x" * 60 + "-a")
    b = demo_spec("bbox", spec_id="x" * 60 + "-b")
    ta, tb = project_title(a), project_title(b)
    assert len(ta) <= PROJECT_TITLE_MAX and len(tb) <= PROJECT_TITLE_MAX
    assert ta != tb and ta.startswith("datadam:xxx") and ta.endswith(":1.0")
    assert project_title(a) == ta  # deterministic


def test_overlap_sample_is_stable_and_close_to_the_share() -> None:
    spec = demo_spec("classification", annotation={"overlap": 3, "overlap_share": 0.2})
    counts = [required_annotations(spec, f"item-{i}") for i in range(5000)]
    assert set(counts) == {1, 3}
    share = counts.count(3) / len(counts)
    assert 0.18 < share < 0.22
    assert [required_annotations(spec, f"item-{i}") for i in range(50)] == counts[:50]
    assert task_meta(spec, "item-7") == {"item_id": "item-7", "dataset": spec.id, "overlap": counts[7]}


def test_without_overlap_every_item_needs_one_annotator() -> None:
    spec = demo_spec("classification")
    assert {required_annotations(spec, f"i{i}") for i in range(200)} == {1}


def test_object_and_media_fields_follow_the_modality() -> None:
    assert (object_kinds(demo_spec("bbox")), media_kind(demo_spec("bbox"))) == (["image"], "image")
    assert media_kind(demo_spec("classification")) is None
    assert target_kind(demo_spec("transcription")) == "audio"
