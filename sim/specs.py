"""Small valid specs for every annotation type, for demos and tests (the real catalog is schemas/datasets)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipelines.label.client import LabelStudioClient, LabelStudioSettings
from pipelines.label.tasks import project_title
from pipelines.spec import DatasetSpec, parse_spec

_MODALITIES: dict[str, dict[str, Any]] = {
    "image": {"kind": "image", "formats": ["png"], "min_width": 32, "min_height": 32},
    "video": {"kind": "video", "formats": ["mp4"], "min_width": 32, "min_height": 32},
    "audio": {"kind": "audio", "formats": ["wav"], "sample_rates": [16000]},
    "text": {"kind": "text", "formats": ["txt"]},
    "timeseries": {"kind": "timeseries", "formats": ["csv"], "channels": ["ch1", "ch2"], "sampling_hz": 10},
}

LABELS = ["고추탄저병", "배추무름병", "정상 & <기타> \"표본\""]

# The annotation block and default modality of each annotation type.
_ANNOTATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "classification": ("text", {"labels": ["긍정", "부정", "중립"]}),
    "multi_label": ("image", {"labels": LABELS}),
    "bbox": ("image", {"labels": LABELS}),
    "polygon": ("image", {"labels": LABELS}),
    "polyline": ("image", {"labels": ["차선", "정지선"]}),
    "keypoints": ("image", {"labels": ["사람"], "keypoints": ["머리", "왼손", "오른손"],
                            "skeleton": [["머리", "왼손"], ["머리", "오른손"]]}),
    "segmentation": ("image", {"labels": ["균열", "부식"]}),
    "transcription": ("audio", {"segments": True, "dialect_tags": ["경상", "전라", "제주"]}),
    "ner": ("text", {"labels": ["PS", "LC", "OG"]}),
    "qa": ("text", {"style": "extractive"}),
    "summarisation": ("text", {"style": "both"}),
    "translation": ("text", {"target_language": "en"}),
    "dialogue_intent": ("text", {"intents": ["문의", "불만", "칭찬"], "slots": ["날짜", "장소"]}),
    "temporal_events": ("video", {"labels": ["폭행", "배회"]}),
    "timeseries_labels": ("timeseries", {"labels": ["정상", "이상"]}),
}


def demo_spec(
    annotation_type: str,
    *,
    modality: str | None = None,
    spec_id: str | None = None,
    items: int = 12,
    annotation: dict[str, Any] | None = None,
    **top: Any,
) -> DatasetSpec:
    """A minimal valid spec of ``annotation_type`` on ``modality`` (default: the type's natural one).

    ``annotation`` entries override the annotation block (e.g. ``{"overlap": 2, "overlap_share": 0.5}``);
    other keyword arguments override top-level fields.
    """
    default_modality, ann = _ANNOTATIONS[annotation_type]
    kind = modality or default_modality
    data: dict[str, Any] = {
        "id": spec_id or f"demo-{annotation_type.replace('_', '-')}-{kind}",
        "name": "데모 데이터셋 (시뮬레이터)",
        "name_en": "Demo dataset for the annotator simulator",
        "field": "vision",
        "group": "demo",
        "version": "1.0",
        "description": "A small synthetic dataset used by demos and tests of the label stage.",
        "modality": _MODALITIES[kind],
        "source": {"kind": "synthetic", "seed": 7, "items": items},
        "annotation": {"type": annotation_type, **ann, **(annotation or {})},
        "target_volume": max(items, 1),
        **top,
    }
    return parse_spec(data)


def delete_projects(ls: LabelStudioSettings, specs: Iterable[DatasetSpec]) -> int:
    """Delete the Label Studio projects and review projects of these specs (test teardown); return how many."""
    from pipelines.label.review import review_title

    client = LabelStudioClient(ls)
    n = 0
    for spec in specs:
        for title in (project_title(spec), review_title(spec)):
            pid = client.find_project(title)
            if pid is not None:
                client.sdk.projects.delete(id=pid)
                n += 1
    return n
