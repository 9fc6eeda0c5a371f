"""Specs for the collect tests, built in code with ``parse_spec`` (the catalog is not needed)."""

from __future__ import annotations

import copy
from typing import Any

from pipelines.spec import DatasetSpec, parse_spec

RUN = "manual__2026-11-23T00:00:00+00:00"
_BASE: dict[str, Any] = {
    "name_en": "Collect stage test dataset",
    "field": "vision",
    "group": "vision-test",
    "version": "1.0",
    "license": "CC-BY-4.0",
    "description": "A dataset type used by the collect and de-identification tests.",
    "target_volume": 1000,
}

IMAGE: dict[str, Any] = {
    **_BASE,
    "id": "crop-disease-boxes",
    "name": "노지 작물 질병 진단 이미지",
    "modality": {"kind": "image", "min_width": 320, "min_height": 240, "formats": ["jpeg", "png"]},
    "source": {"kind": "synthetic", "seed": 7, "items": 24},
    "deidentify": ["faces", "licence_plates"],
    "annotation": {
        "type": "bbox",
        "labels": ["고추탄저병", "고추흰가루병", "배추무름병", "배추노균병", "정상"],
    },
    "schema": {
        "crop": {"type": "enum", "values": ["고추", "배추"], "required": True},
        "field_plot": {"type": "string", "required": True, "pattern": "^FP[0-9]{5}$"},
        "captured_at": {"type": "date"},
        "temperature": {"type": "float", "min": -5.0, "max": 38.0},
    },
    "planned_shares": {"crop": {"고추": 0.7, "배추": 0.3}},
    "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "group_by": "field_plot"},
}

TEXT: dict[str, Any] = {
    **_BASE,
    "id": "civil-complaint-text",
    "name": "지역 민원 분류 텍스트",
    "modality": {
        "kind": "text",
        "formats": ["jsonl"],
        "encodings": ["utf-8", "cp949", "euc-kr"],
        "min_chars": 20,
        "max_chars": 4000,
    },
    "source": {"kind": "synthetic", "seed": 3, "items": 60},
    "deidentify": {
        "targets": ["rrn", "foreigner_rn", "phone", "email", "card", "account", "names", "addresses"],
        "name_dictionary": "dictionaries/names-ko.txt",
        "address_dictionary": "dictionaries/addresses-ko.txt",
    },
    "annotation": {"type": "classification", "labels": ["교통·주차", "환경·위생", "사회복지", "상하수도"]},
    "schema": {
        "thread_id": {"type": "string", "required": True},
        "channel": {"type": "enum", "values": ["국민신문고", "콜센터", "방문"], "required": True},
        "received_at": {"type": "datetime"},
    },
    "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "stratify_by": "label", "group_by": "thread_id"},
}

AUDIO: dict[str, Any] = {
    **_BASE,
    "id": "dialect-speech-jeju",
    "name": "한국어 방언 발화(제주도)",
    "modality": {
        "kind": "audio",
        "formats": ["wav"],
        "sample_rates": [16000],
        "channels": 1,
        "bit_depth": 16,
        "min_duration_s": 1.0,
        "max_duration_s": 12.0,
    },
    "source": {"kind": "synthetic", "seed": 5, "items": 16},
    "deidentify": ["rrn", "phone", "email", "card", "account"],
    "annotation": {
        "type": "transcription",
        "segments": True,
        "style": "dual",
        "dialect_tags": ["산북", "산남"],
        "speaker_labels": True,
    },
    "schema": {
        "speaker_id": {"type": "string", "required": True, "pattern": "^JJ[0-9]{5}$"},
        "gender": {"type": "enum", "values": ["남", "여"], "required": True},
        "age": {"type": "int", "min": 20, "max": 90},
    },
    "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "group_by": "speaker_id"},
}


def make(base: dict[str, Any], **changes: Any) -> DatasetSpec:
    """A spec from ``base`` with top-level keys replaced (``source={...}`` etc.)."""
    d = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(d.get(key), dict):
            d[key] = {**d[key], **value}
        else:
            d[key] = value
    return parse_spec(d)


TIMESERIES: dict[str, Any] = {
    **_BASE,
    "id": "ecg-arrhythmia-12lead",
    "name": "심전도 부정맥 신호",
    "modality": {
        "kind": "timeseries",
        "formats": ["csv"],
        "channels": ["lead_i", "lead_ii", "v1", "v2"],
        "sampling_hz": 250,
        "min_duration_s": 10,
        "max_duration_s": 60,
    },
    "source": {"kind": "synthetic", "seed": 11, "items": 12},
    "annotation": {"type": "timeseries_labels", "labels": ["정상 동리듬", "심방세동", "심실조기수축"]},
    "schema": {"patient_id": {"type": "string", "required": True, "pattern": "^P[0-9]{7}$"}},
    "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "group_by": "patient_id"},
}


VIDEO: dict[str, Any] = {
    **_BASE,
    "id": "cctv-pedestrian-boxes",
    "name": "보행자 횡단 CCTV 영상",
    "modality": {
        "kind": "video",
        "formats": ["mp4", "avi"],
        "min_width": 160,
        "min_height": 120,
        "min_fps": 10,
        "annotation_fps": 2,
        "min_duration_s": 1.0,
        "max_duration_s": 4.0,
    },
    "source": {"kind": "synthetic", "seed": 13, "items": 24, "defect_rate": 0.3},
    "deidentify": ["faces", "licence_plates"],
    "annotation": {"type": "bbox", "labels": ["보행자", "자전거", "차량"]},
    "schema": {"camera_id": {"type": "string", "required": True, "pattern": "^CAM[0-9]{4}$"}},
    "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "group_by": "camera_id"},
}
