"""The spec model: a valid spec loads; each kind of mistake fails with file, field path and bad value."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from pipelines.spec import SpecError, parse_spec

pytestmark = pytest.mark.unit

GOOD: dict[str, Any] = {
    "id": "crop-disease-open-field",
    "name": "노지 작물 질병 진단 이미지",
    "name_en": "Open-field crop disease diagnosis images",
    "field": "agriculture",
    "group": "agri-crop-disease",
    "version": "1.0",
    "license": "CC-BY-4.0",
    "description": "Photographs of open-field crops with disease lesions boxed by trained annotators.",
    "modality": {"kind": "image", "min_width": 1280, "min_height": 720, "formats": ["jpeg", "png"]},
    "source": {"kind": "synthetic", "seed": 7},
    "deidentify": ["faces", "licence_plates"],
    "annotation": {
        "type": "bbox",
        "labels": ["고추탄저병", "고추흰가루병", "배추무름병", "배추노균병", "정상"],
        "overlap": 2, "overlap_share": 0.1, "gold_share": 0.05, "review_share": 0.05,
    },
    "schema": {
        "crop": {"type": "enum", "values": ["고추", "배추", "무", "콩", "파"], "required": True},
        "growth_stage": {"type": "enum", "values": ["육묘기", "생육기", "수확기"]},
        "captured_at": {"type": "date"},
        "field_plot": {"type": "string", "required": True},
        "temperature_c": {"type": "float", "min": -20, "max": 45},
    },
    "quality": {
        "syntactic_accuracy": 1.0, "semantic_accuracy": 0.95, "agreement": 0.8, "gold_accuracy": 0.9,
        "technical_conformity": 0.99, "diversity_tolerance": 0.05, "validity": {"metric": "mAP50", "target": 0.6},
    },
    "planned_shares": {
        "label": {"고추탄저병": 0.2, "고추흰가루병": 0.2, "배추무름병": 0.2, "배추노균병": 0.2, "정상": 0.2},
    },
    "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "stratify_by": "label", "group_by": "field_plot"},
    "target_volume": 100000,
}


def test_good_spec_loads_with_defaults() -> None:
    spec = parse_spec(copy.deepcopy(GOOD))
    assert spec.id == "crop-disease-open-field"
    assert spec.labels[0] == "고추탄저병"
    assert spec.deidentify.targets == ["faces", "licence_plates"]
    assert spec.quality.sampling.method == "formula"
    assert spec.quality.validity is not None and spec.quality.validity.higher_is_better


def test_spec_is_frozen() -> None:
    spec = parse_spec(copy.deepcopy(GOOD))
    with pytest.raises(Exception, match="frozen"):
        spec.id = "other"  # type: ignore[misc]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = d
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = d
        for p in parents:
            node = node[p]
        del node[last]
    return mutate


# (mistake, mutation, expected field path, expected bad value, words of the message)
BROKEN = [
    ("id not a slug", _set("id", "Crop Disease"), "id", "Crop Disease", "pattern"),
    ("name without Hangul", _set("name", "Crop disease"), "name", "Crop disease", "Korean"),
    ("unknown key (typo)", _set("annotation.lables", ["a"]), "annotation.lables", ["a"], "did you mean 'labels'"),
    ("duplicate labels", _set("annotation.labels", ["정상", "정상"]), "annotation.labels", ["정상", "정상"], "unique"),
    ("empty label set", _set("annotation.labels", []), "annotation.labels", [], "at least 1"),
    ("unknown annotation type", _set("annotation.type", "cuboid3d"), "annotation.type", "cuboid3d", "must be one of"),
    ("split ratios do not sum to 1", _set("splits.train", 0.9), "splits", None, "sum to 1"),
    ("group_by names no column", _set("splits.group_by", "plot"), "splits.group_by", "plot", "must name a column"),
    ("stratify_by a free-text column", _set("splits.stratify_by", "field_plot"), "splits.stratify_by", "field_plot",
     "stratify by a label, enum or bool"),
    ("agreement without overlap", lambda d: d["annotation"].update(overlap=1, overlap_share=0.0),
     "quality.agreement", 0.8, "overlap >= 2"),
    ("threshold above 1", _set("quality.semantic_accuracy", 1.5), "quality.semantic_accuracy", 1.5,
     "less than or equal"),
    ("planned shares do not sum to 1", _set("planned_shares.label.정상", 0.5), "planned_shares.label", None,
     "sum to 1"),
    ("planned share for an unknown class", _set("planned_shares.label", {"고추탄저병": 0.5, "감자역병": 0.5}),
     "planned_shares.label.감자역병", "감자역병", "not a value"),
    ("gold target without gold tasks", _set("annotation.gold_share", 0.0), "quality.gold_accuracy", 0.9, "gold_share"),
    ("annotation does not fit modality", _set("annotation", {"type": "transcription"}), "annotation.type",
     "transcription", "needs a modality"),
    ("faces on a text dataset", _set("modality", {"kind": "text", "formats": ["jsonl"]}), "deidentify.targets[0]",
     "faces", "image or video"),
    ("max below min", _set("schema.temperature_c.max", -30), "schema.temperature_c.max", -30, ">= min"),
    ("negative resolution", _set("modality.min_width", -1), "modality.min_width", -1, "greater than or equal"),
    ("missing required field", _delete("target_volume"), "target_volume", None, "required field is missing"),
    ("unknown licence", _set("license", "GPL-3.0"), "license", "GPL-3.0", "Input should be"),
]


@pytest.mark.parametrize(("mistake", "mutate", "path", "value", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_spec_names_file_path_and_value(
    mistake: str, mutate: Callable[[dict[str, Any]], None], path: str, value: Any, words: str
) -> None:
    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(SpecError) as info:
        parse_spec(data, file="schemas/datasets/agriculture/crop-disease-open-field.yaml")
    issues = info.value.issues
    match = [i for i in issues if i.path == path]
    assert match, f"{mistake}: expected an issue at {path!r}, got {[str(i) for i in issues]}"
    issue = match[0]
    assert issue.file.endswith("crop-disease-open-field.yaml")
    assert words in issue.message or words in str(issue), str(issue)
    if value is not None:
        assert issue.value == value
    line = str(issue)
    assert line.startswith("schemas/datasets/agriculture/crop-disease-open-field.yaml: " + path + ": ")


def test_all_problems_reported_at_once() -> None:
    data = copy.deepcopy(GOOD)
    data["splits"]["train"] = 0.9
    data["splits"]["group_by"] = "plot"
    data["annotation"]["overlap"] = 1
    data["annotation"]["overlap_share"] = 0.0
    with pytest.raises(SpecError) as info:
        parse_spec(data, file="x.yaml")
    paths = {i.path for i in info.value.issues}
    assert {"splits", "splits.group_by", "quality.agreement"} <= paths


def test_keypoint_skeleton_must_reference_keypoints() -> None:
    data = copy.deepcopy(GOOD)
    data["annotation"] = {"type": "keypoints", "labels": ["사람"], "keypoints": ["코", "왼눈"],
                          "skeleton": [["코", "오른눈"]]}
    data["quality"].pop("agreement")
    data["quality"].pop("gold_accuracy")
    data["quality"].pop("semantic_accuracy")
    data.pop("planned_shares")
    data["splits"]["stratify_by"] = None
    with pytest.raises(SpecError) as info:
        parse_spec(data, file="x.yaml")
    assert [str(i) for i in info.value.issues] == [
        "x.yaml: annotation.skeleton[0][1]: skeleton ends must be keypoints: ['왼눈', '코'] (got '오른눈')"]
