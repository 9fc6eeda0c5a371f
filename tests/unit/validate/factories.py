"""Specs and refined-record runs for validate/publish tests: real Parquet (record_schema), real media."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.spec import DatasetSpec, parse_spec
from pipelines.storage import ObjectStore, layout
from pipelines.storage.records import record_schema

_DESC = "A small dataset type used by the validate and publish tests; every value is synthetic."

BBOX_LABELS = ["고추탄저병", "고추흰가루병", "배추무름병", "정상"]
TEXT_LABELS = ["긍정", "부정", "중립"]


def bbox_spec(**over: Any) -> DatasetSpec:
    d: dict[str, Any] = {
        "id": "crop-disease-test", "name": "노지 작물 질병 진단 이미지", "name_en": "Crop disease images",
        "field": "agriculture", "group": "agri-crop-disease", "version": "1.0", "license": "CC-BY-4.0",
        "description": _DESC,
        "modality": {"kind": "image", "min_width": 64, "min_height": 48, "formats": ["png", "jpeg"]},
        "annotation": {"type": "bbox", "labels": BBOX_LABELS, "min_box_px": 2},
        "schema": {
            "crop": {"type": "enum", "values": ["고추", "배추"], "required": True},
            "field_plot": {"type": "string", "required": True},
            "temperature_c": {"type": "float", "min": -20, "max": 45},
            "photographer": {"type": "string", "personal": True},
        },
        "quality": {"syntactic_accuracy": 1.0, "technical_conformity": 0.99},
        "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "group_by": "field_plot"},
        "target_volume": 1000,
    }
    d.update(over)
    return parse_spec(d)


def text_spec(**over: Any) -> DatasetSpec:
    d: dict[str, Any] = {
        "id": "sentiment-text-test", "name": "감성 대화 말뭉치", "name_en": "Sentiment dialogue corpus",
        "field": "speech-language", "group": "language-emotion", "version": "1.0", "license": "CC-BY-4.0",
        "description": _DESC,
        "modality": {"kind": "text", "formats": ["jsonl"], "min_chars": 2, "max_chars": 500},
        "annotation": {"type": "classification", "labels": TEXT_LABELS},
        "schema": {
            "speaker_age": {"type": "int", "min": 0, "max": 120},
            "domain": {"type": "enum", "values": ["일상", "상담"], "required": True},
        },
        "quality": {"syntactic_accuracy": 1.0, "technical_conformity": 0.99},
        "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "stratify_by": "label"},
        "target_volume": 1000,
    }
    d.update(over)
    return parse_spec(d)


def audio_spec(**over: Any) -> DatasetSpec:
    d: dict[str, Any] = {
        "id": "dialect-speech-test", "name": "한국어 방언 발화", "name_en": "Korean dialect speech",
        "field": "speech-language", "group": "speech-dialect", "version": "1.0", "license": "CC-BY-4.0",
        "description": _DESC,
        "modality": {"kind": "audio", "formats": ["wav"], "sample_rates": [16000], "min_duration_s": 0.5,
                     "max_duration_s": 10.0},
        "annotation": {"type": "transcription", "segments": True, "dialect_tags": ["경상", "전라", "제주"]},
        "schema": {
            "speaker_id": {"type": "string", "required": True},
            "region": {"type": "enum", "values": ["경상", "전라", "제주"], "required": True},
        },
        "quality": {"syntactic_accuracy": 1.0, "technical_conformity": 0.99},
        "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "group_by": "speaker_id",
                   "stratify_by": "region"},
        "target_volume": 1000,
    }
    d.update(over)
    return parse_spec(d)


def png_bytes(width: int, height: int, seed: int) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (width, height), ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(seconds: float, rate: int, seed: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        n = int(seconds * rate)
        freq = 200 + 10 * (seed % 50)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
                               for i in range(n)))
    return buf.getvalue()


def _put_media(store: ObjectStore, ds: str, data: bytes, ext: str) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    key = layout.media(ds, sha, ext)
    if not store.exists(key):
        store.write_bytes(key, data)
    return key, sha


@dataclass
class Run:
    spec: DatasetSpec
    run_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{layout.run(self.spec.id, self.run_id, 'refine')}/records.parquet"

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=record_schema(self.spec))

    def write(self, store: ObjectStore, *, row_group_size: int | None = None) -> str:
        table = self.table()
        if row_group_size:
            path = store.path(self.key)
            store.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
            pq.write_table(table, path, filesystem=store.fs, row_group_size=row_group_size)
        else:
            store.write_table(self.key, table)
        return self.key


_T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _qc(i: int) -> dict[str, Any]:
    return {"qc_annotators": [f"annotator-{i % 3}"], "qc_n_annotations": 1, "qc_consensus": "single",
            "source_uri": f"synthetic://item/{i}", "original_sha256": f"{i:064x}", "collected_at": _T0,
            "license": "CC-BY-4.0"}


def bbox_run(store: ObjectStore, spec: DatasetSpec, run_id: str = "run-1", n: int = 40,
             media: bool = True, plots: int = 8) -> Run:
    """n good image records: 2 boxes each inside a 64x48 (or 80x60) image, every label used."""
    run = Run(spec, run_id)
    for i in range(n):
        w, h = (64, 48) if i % 2 == 0 else (80, 60)
        key, sha = (_put_media(store, spec.id, png_bytes(w, h, i), "png") if media
                    else (f"media/{spec.id}/{i:064x}.png", f"{i:064x}"))
        objs = [{"label": BBOX_LABELS[i % len(BBOX_LABELS)], "x": 1.0, "y": 2.0, "w": 20.0, "h": 10.0},
                {"label": BBOX_LABELS[(i + 1) % len(BBOX_LABELS)], "x": 30.0, "y": 20.0,
                 "w": float(w - 30), "h": float(h - 20)}]
        run.rows.append({
            "item_id": f"img-{i:04d}",
            "media": {"key": key, "sha256": sha, "ext": "png", "width": w, "height": h},
            "objects": objs, "crop": "고추" if i % 3 else "배추", "field_plot": f"plot-{i % plots}",
            "temperature_c": 10.0 + i % 20, "photographer": f"김사진{i}", **_qc(i),
        })
    return run


def text_run(spec: DatasetSpec, run_id: str = "run-1", n: int = 60) -> Run:
    run = Run(spec, run_id)
    for i in range(n):
        run.rows.append({
            "item_id": f"txt-{i:04d}",
            "text": f"문장 {i}: 오늘은 기분이 {'좋다' if i % 3 == 0 else '그렇다'}.",
            "label": TEXT_LABELS[i % len(TEXT_LABELS)], "speaker_age": 20 + i % 50,
            "domain": "일상" if i % 2 else "상담", **_qc(i),
        })
    return run


def audio_run(store: ObjectStore, spec: DatasetSpec, run_id: str = "run-1", n: int = 24) -> Run:
    run = Run(spec, run_id)
    regions = ["경상", "전라", "제주"]
    for i in range(n):
        dur = 1.0 + (i % 3) * 0.5
        key, sha = _put_media(store, spec.id, wav_bytes(dur, 16000, i), "wav")
        run.rows.append({
            "item_id": f"wav-{i:04d}",
            "media": {"key": key, "sha256": sha, "ext": "wav", "duration_s": dur, "sample_rate": 16000},
            "transcript": f"안녕하세요 {i}번 화자입니다",
            "segments": [
                {"start": 0.0, "end": dur / 2, "text": "안녕하세요", "dialect": regions[i % 3]},
                {"start": dur / 2, "end": dur, "text": f"{i}번 화자입니다", "dialect": regions[i % 3]},
            ],
            "speaker_id": f"spk-{i % 6}", "region": regions[(i % 6) % 3], **_qc(i),
        })
    return run
