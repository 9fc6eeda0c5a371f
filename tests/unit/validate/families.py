"""A clean, final-delivery run of refined records for every annotation type, and defects to plant in them.

Every run has 24 records (a multiple of every label-set size here), labels cycling so the planned shares hold
exactly, one demographic column alternating between two planned values, reviewers' verdicts on every 4th item,
gold answers on 4 items, two annotators on every 5th item, and a collect plan of 24 items against a target
volume of 24: a final delivery in which every NIA characteristic is measured and passes.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from pipelines.annotations.types.segmentation import mask_to_rle
from pipelines.spec import DatasetSpec, parse_spec
from pipelines.storage import ObjectStore, layout
from pipelines.storage.records import record_schema

N = 24
RUN = "run-1"
_DESC = "A small dataset type used by the validate tests; every value is synthetic."
_T0 = datetime(2026, 11, 1, tzinfo=UTC)
LABELS4 = ["가", "나", "다", "라"]
NER_LABELS = ["PS", "LC", "OG", "DT"]
INTENTS = ["예약", "취소", "문의", "불만"]
KEYPOINTS = ["코", "왼눈", "오른눈"]

_QUALITY = {"syntactic_accuracy": 1.0, "technical_conformity": 0.99, "semantic_accuracy": 0.9, "gold_accuracy": 0.9,
            "agreement": 0.7, "completeness": 1.0, "conformity_volume": 1.0, "diversity_tolerance": 0.05}
_QC_SHARES = {"overlap": 2, "overlap_share": 0.2, "gold_share": 0.1, "review_share": 0.2}

TEXT = {"kind": "text", "formats": ["jsonl"], "min_chars": 2, "max_chars": 2000}
IMAGE = {"kind": "image", "min_width": 64, "min_height": 48, "formats": ["png"]}
AUDIO = {"kind": "audio", "formats": ["wav"], "sample_rates": [16000], "min_duration_s": 0.5, "max_duration_s": 10.0}
SERIES = {"kind": "timeseries", "formats": ["csv"], "channels": ["ch1"], "sampling_hz": 100.0,
          "min_duration_s": 1.0, "max_duration_s": 600.0}

# modality -> (group column, demographic enum column, its two values)
_META = {
    "text": ("source_doc", "domain", ["일상", "뉴스"]),
    "image": ("field_plot", "crop", ["고추", "배추"]),
    "audio": ("speaker_id", "region", ["경상", "제주"]),
    "timeseries": ("sensor_id", "site", ["실내", "실외"]),
    "multimodal": ("speaker_id", "region", ["경상", "제주"]),
}
# a silent clip and its own sound (docs/adr/0024)
CLIP_AND_SOUND = {"kind": "multimodal", "components": [
    {"kind": "video", "formats": ["mp4"], "min_width": 64, "min_height": 48, "min_fps": 10, "min_duration_s": 0.5,
     "max_duration_s": 10.0}, AUDIO]}


def _spec(type_: str, modality: dict[str, Any], annotation: dict[str, Any], *, labels: list[str] | None,
          **over: Any) -> DatasetSpec:
    annotation = over.pop("annotation_", annotation)
    modality = over.pop("modality_", modality)
    group, demo, values = _META[modality["kind"]]
    plan: dict[str, Any] = {demo: {values[0]: 0.5, values[1]: 0.5}}
    if labels:
        plan["label"] = dict.fromkeys(labels, 0.25)
    d: dict[str, Any] = {
        "id": f"{type_.replace('_', '-')}-family", "name": "품질 검증 시험 데이터", "name_en": f"{type_} family",
        "field": "vision", "group": "vis-food", "version": "1.0", "license": "CC-BY-4.0", "description": _DESC,
        "modality": modality, "annotation": {**_QC_SHARES, **annotation},
        "schema": {group: {"type": "string", "required": True},
                   demo: {"type": "enum", "values": values, "required": True}},
        "quality": dict(_QUALITY), "planned_shares": plan,
        "splits": {"train": 0.5, "validation": 0.25, "test": 0.25, "group_by": group},
        "target_volume": N,
    }
    d.update(over)
    return parse_spec(d)


def _mask(w: int, h: int) -> list[int]:
    m = np.zeros((h, w), dtype=bool)
    m[5:20, 10:30] = True
    return mask_to_rle(m)


# type -> (spec factory, labels value of item i)
def _label_values(type_: str, i: int) -> dict[str, Any]:
    lab = LABELS4[i % 4]
    if type_ == "classification":
        return {"label": lab}
    if type_ == "multi_label":
        return {"labels": [lab]}
    if type_ == "bbox":
        return {"objects": [{"label": lab, "x": 2.0, "y": 3.0, "w": 20.0, "h": 10.0}]}
    if type_ == "polygon":
        return {"polygons": [{"label": lab, "points": [{"x": 2.0, "y": 2.0}, {"x": 30.0, "y": 2.0},
                                                       {"x": 30.0, "y": 20.0}]}]}
    if type_ == "polyline":
        return {"polylines": [{"label": lab, "points": [{"x": 1.0, "y": 1.0}, {"x": 40.0, "y": 30.0}]}]}
    if type_ == "keypoints":
        return {"poses": [{"label": lab, "keypoints": [
            {"name": "코", "x": 10.0, "y": 10.0, "visible": 2},
            {"name": "왼눈", "x": 12.0, "y": 8.0, "visible": 1},
            {"name": "오른눈", "x": None, "y": None, "visible": 0}]}]}
    if type_ == "segmentation":
        return {"masks": [{"label": lab, "rle": _mask(64, 48), "width": 64, "height": 48}]}
    if type_ == "transcription":
        return {"transcript": f"안녕하세요 {i}번 화자입니다",
                "segments": [{"start": 0.0, "end": 1.0, "text": "안녕하세요", "speaker": None, "dialect": "제주"},
                             {"start": 1.0, "end": 2.0, "text": f"{i}번 화자입니다", "speaker": None,
                              "dialect": "제주"}]}
    if type_ == "ner":
        name = f"홍길동{i}"
        return {"entities": [{"label": NER_LABELS[i % 4], "start": 0, "end": len(name), "text": name}]}
    if type_ == "qa":
        answer = f"{1397 + i}년"
        return {"qa": [{"question": "세종대왕은 언제 태어났나?", "answer": answer, "answer_start": 6}]}
    if type_ == "summarisation":
        return {"summary": f"{i}번 문서의 요약: 날씨가 맑다."}
    if type_ == "translation":
        return {"translation": f"Sentence number {i}: the weather is clear today."}
    if type_ == "dialogue_intent":
        return {"turns": [{"speaker": "A", "text": "안녕하세요", "intent": None},
                          {"speaker": "B", "text": f"{i}번 예약하고 싶어요", "intent": None}],
                "intent": INTENTS[i % 4]}
    if type_ in ("temporal_events", "timeseries_labels"):
        return {"events": [{"label": lab, "start": 0.5, "end": 2.0}]}
    raise KeyError(type_)


def _text_of(type_: str, i: int) -> str | None:
    texts = {
        "ner": f"홍길동{i}은 서울에서 일한다.",
        "qa": f"세종대왕은 {1397 + i}년에 태어났다.",
        "summarisation": f"{i}번 문서. 오늘은 날씨가 맑고 바람이 분다. 시민들은 공원으로 나들이를 갔다.",
        "translation": f"{i}번 문장: 오늘은 날씨가 맑다.",
        "dialogue_intent": f"A: 안녕하세요\nB: {i}번 예약하고 싶어요",
    }
    return texts.get(type_, f"문서 {i}번: 오늘의 이야기입니다.")


@dataclass(frozen=True)
class Family:
    type: str
    spec: DatasetSpec

    @property
    def modality(self) -> str:
        return self.spec.modality.kind

    @property
    def group_column(self) -> str:
        return _META[self.modality][0]

    @property
    def demo_column(self) -> tuple[str, list[str]]:
        _, col, values = _META[self.modality]
        return col, values

    def rows(self) -> list[dict[str, Any]]:
        """24 clean records."""
        group, demo, values = _META[self.modality]
        out = []
        for i in range(N):
            row: dict[str, Any] = {"item_id": f"{self.type}-{i:03d}", **_label_values(self.type, i),
                                   group: f"g-{i // 2}", demo: values[i % 2]}
            sha = f"{zlib.crc32(self.type.encode()):08x}{i:056x}"
            if self.modality == "image":
                row["media"] = {"key": f"media/{self.spec.id}/{sha}.png", "sha256": sha, "ext": "png",
                                "width": 64, "height": 48}
            elif self.modality == "audio":
                dur = 4.0
                row["media"] = {"key": f"media/{self.spec.id}/{sha}.wav", "sha256": sha, "ext": "wav",
                                "duration_s": dur, "sample_rate": 16000}
            elif self.modality == "multimodal":
                row["media"] = {"key": f"media/{self.spec.id}/{sha}.mp4", "sha256": sha, "ext": "mp4",
                                "width": 64, "height": 48, "duration_s": 4.0}
                row["components"] = [{"kind": "audio", "key": f"media/{self.spec.id}/{sha}.wav", "sha256": sha,
                                      "ext": "wav", "duration_s": 4.0, "sample_rate": 16000, "channels": 1}]
            elif self.modality == "timeseries":
                row["media"] = {"key": f"media/{self.spec.id}/{sha}.csv", "sha256": sha, "ext": "csv",
                                "duration_s": 10.0}
            else:
                row["text"] = _text_of(self.type, i)
            overlap = i % 5 == 0
            row.update({
                "qc_annotators": [f"ann-{i % 3}", f"ann-{(i + 1) % 3}"] if overlap else [f"ann-{i % 3}"],
                "qc_n_annotations": 2 if overlap else 1, "qc_agreement": 0.9 if overlap else None,
                "qc_consensus": "medoid" if overlap else "single",
                "qc_review": "accepted" if i % 4 == 0 else None,
                "qc_gold": i % 6 == 1, "qc_gold_correct": True if i % 6 == 1 else None,
                "source_uri": f"synthetic://{self.type}/{i}", "original_sha256": sha, "collected_at": _T0,
                "license": "CC-BY-4.0",
            })
            out.append(row)
        return out


def family(type_: str, **over: Any) -> Family:
    """The family of one annotation type (spec overrides as keyword arguments; ``annotation``/``modality`` replace
    the family's)."""
    for key in ("annotation", "modality"):
        if key in over:
            over[f"{key}_"] = over.pop(key)
    make: dict[str, Callable[[], DatasetSpec]] = {
        "classification": lambda: _spec(type_, TEXT, {"type": "classification", "labels": LABELS4},
                                        labels=LABELS4, **over),
        "multi_label": lambda: _spec(type_, TEXT, {"type": "multi_label", "labels": LABELS4, "max_labels": 2},
                                     labels=LABELS4, **over),
        "bbox": lambda: _spec(type_, IMAGE, {"type": "bbox", "labels": LABELS4, "min_box_px": 2},
                              labels=LABELS4, **over),
        "polygon": lambda: _spec(type_, IMAGE, {"type": "polygon", "labels": LABELS4}, labels=LABELS4, **over),
        "polyline": lambda: _spec(type_, IMAGE, {"type": "polyline", "labels": LABELS4}, labels=LABELS4, **over),
        "keypoints": lambda: _spec(type_, IMAGE, {"type": "keypoints", "labels": LABELS4, "keypoints": KEYPOINTS,
                                                  "skeleton": [["코", "왼눈"], ["코", "오른눈"]]},
                                   labels=LABELS4, **over),
        "segmentation": lambda: _spec(type_, IMAGE, {"type": "segmentation", "labels": LABELS4},
                                      labels=LABELS4, **over),
        "transcription": lambda: _spec(type_, AUDIO, {"type": "transcription", "segments": True,
                                                      "dialect_tags": ["경상", "제주"]}, labels=None, **over),
        "ner": lambda: _spec(type_, TEXT, {"type": "ner", "labels": NER_LABELS}, labels=None,
                             **{"planned_shares": {"domain": {"일상": 0.5, "뉴스": 0.5},
                                                   "label": dict.fromkeys(NER_LABELS, 0.25)}, **over}),
        "qa": lambda: _spec(type_, TEXT, {"type": "qa", "style": "extractive"}, labels=None, **over),
        "summarisation": lambda: _spec(type_, TEXT, {"type": "summarisation", "max_summary_chars": 60},
                                       labels=None, **over),
        "translation": lambda: _spec(type_, TEXT, {"type": "translation", "target_language": "en"},
                                     labels=None, **over),
        "dialogue_intent": lambda: _spec(type_, TEXT, {"type": "dialogue_intent", "intents": INTENTS},
                                         labels=None, **{"planned_shares": {
                                             "domain": {"일상": 0.5, "뉴스": 0.5},
                                             "label": dict.fromkeys(INTENTS, 0.25)}, **over}),
        "temporal_events": lambda: _spec(type_, AUDIO, {"type": "temporal_events", "labels": LABELS4,
                                                        "min_event_s": 0.5}, labels=LABELS4, **over),
        "timeseries_labels": lambda: _spec(type_, SERIES, {"type": "timeseries_labels", "labels": LABELS4},
                                           labels=LABELS4, **over),
    }
    return Family(type_, make[type_]())


TYPES = ("classification", "multi_label", "bbox", "polygon", "polyline", "keypoints", "segmentation",
         "transcription", "ner", "qa", "summarisation", "translation", "dialogue_intent", "temporal_events",
         "timeseries_labels")


def write_run(store: ObjectStore, fam: Family, rows: list[dict[str, Any]], *, run_id: str = RUN,
              planned: int | None = N) -> str:
    """Write the records (and the collect plan the run would have had) for ``validate`` to read."""
    key = f"{layout.run(fam.spec.id, run_id, 'refine')}/records.parquet"
    store.write_table(key, pa.Table.from_pylist(copy.deepcopy(rows), schema=record_schema(fam.spec)))
    plan_key = f"{layout.run(fam.spec.id, run_id, 'collect')}/plan.json"
    if planned is not None:
        store.write_json(plan_key, {"dataset": fam.spec.id, "run_id": run_id, "items": planned})
    elif store.exists(plan_key):
        store.delete(plan_key)
    return key
