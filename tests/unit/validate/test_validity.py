"""학습모델 유효성: baselines trained on the run's train split, scored on its test split against the spec's target;
the trainer registry is pluggable; what no trainer serves is "not measured", with the reason."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pytest
from PIL import Image

from pipelines.spec import DatasetSpec
from pipelines.storage import ObjectStore, open_store
from pipelines.validate import validate
from pipelines.validate import validity as V
from pipelines.validate.validity import ValidityOutcome
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit
N = 240
KEYWORDS = {"가": "버스 정류장 주차 신호등 도로", "나": "쓰레기 악취 소음 하수구 매연",
            "다": "세금 민원서류 등본 여권 신고", "라": "공원 산책로 벤치 잔디 놀이터"}


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def _text_run(n: int, *, learnable: bool, metric: str = "macro_f1", target: float = 0.8) -> tuple[F.Family,
                                                                                                 list[dict[str, Any]]]:
    fam = F.family("classification", target_volume=n, planned_shares={},
                   quality={**F._QUALITY, "validity": {"metric": metric, "target": target}})
    base = fam.rows()
    rows = []
    for i in range(n):
        row = {**base[i % len(base)], "item_id": f"txt-{i:04d}", "source_doc": f"doc-{i}"}
        label = F.LABELS4[i % 4]
        words = KEYWORDS[label] if learnable else "오늘 어제 내일 그리고 그래서"
        row.update(label=label, text=f"{i}번 민원: {words} 관련 문의입니다. 일련번호 {i * 7919 % 1000}")
        rows.append(row)
    return fam, rows


def _validity(store: ObjectStore, fam: F.Family, rows: list[dict[str, Any]]) -> dict[str, Any]:
    F.write_run(store, fam, rows, planned=len(rows))
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    q: dict[str, Any] = store.read_json(res.quality_key)
    return q


def test_text_baseline_reaches_the_target_on_learnable_data(store: ObjectStore) -> None:
    fam, rows = _text_run(N, learnable=True)
    q = _validity(store, fam, rows)
    v = q["validity"]
    assert v["trainer"] == "text-tfidf-logreg" and v["metric"] == "macro_f1"
    assert v["n_test"] == q["splits"]["records"]["test"] > 0
    assert v["n_train"] == q["splits"]["records"]["train"]
    assert v["value"] >= 0.95
    assert q["characteristics"]["validity"]["status"] == "pass"
    assert q["success"] is True


def test_text_baseline_misses_the_target_when_labels_carry_no_signal(store: ObjectStore) -> None:
    fam, rows = _text_run(N, learnable=False)
    q = _validity(store, fam, rows)
    assert q["validity"]["value"] < 0.8
    assert q["characteristics"]["validity"]["status"] == "fail"
    assert q["checks_failed"] == ["validity.baseline"]  # a final delivery: the target blocks


def _png(colour: tuple[int, int, int], i: int) -> bytes:
    img = Image.new("RGB", (64, 48), colour)
    img.putpixel((i % 64, i % 48), (i % 256, 0, 0))  # distinct bytes per item
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_image_baseline_on_colour_histograms(store: ObjectStore) -> None:
    spec_over = {"modality": F.IMAGE, "target_volume": 160, "planned_shares": {},
                 "quality": {**F._QUALITY, "validity": {"metric": "accuracy", "target": 0.9}}}
    fam = F.family("classification", **spec_over)
    colours = {"가": (200, 30, 30), "나": (30, 200, 30), "다": (30, 30, 200), "라": (220, 220, 30)}
    base = fam.rows()
    rows = []
    for i in range(160):
        label = F.LABELS4[i % 4]
        data = _png(colours[label], i)
        key = f"media/{fam.spec.id}/{i:064x}.png"
        store.write_bytes(key, data)
        row = {**base[i % len(base)], "item_id": f"img-{i:04d}", "field_plot": f"p{i}", "label": label,
               "media": {"key": key, "sha256": f"{i:064x}", "ext": "png", "width": 64, "height": 48}}
        rows.append(row)
    q = _validity(store, fam, rows)
    assert q["validity"]["trainer"] == "image-histogram-logreg"
    assert q["validity"]["value"] == pytest.approx(1.0)
    assert q["characteristics"]["validity"]["status"] == "pass"


def test_no_trainer_for_the_metric_is_not_measured_with_the_reason(store: ObjectStore) -> None:
    fam = F.family("bbox", quality={**F._QUALITY, "validity": {"metric": "mAP50", "target": 0.6, "model": "YOLOv5"}})
    q = _validity(store, fam, fam.rows())
    check = next(c for c in q["checks"] if c["id"] == "validity.baseline")
    assert check["status"] == "not_measured"
    assert "no baseline trainer registered for bbox" in check["note"] and "YOLOv5" in check["note"]
    assert q["checks_failed"] == ["validity.baseline"]  # final delivery: an unmeasured target blocks
    assert "미측정 / not measured" in store.read_text(f"runs/{fam.spec.id}/{F.RUN}/validate/report.html")


class _MeanDurationTrainer:
    """A stand-in trainer for a speech spec: registering one is all it takes for validate to use it."""

    name = "test-mean-duration"
    metrics = frozenset({"cer"})

    def __init__(self, spec: DatasetSpec, store: ObjectStore) -> None:
        self.seen: dict[str, int] = {}

    def supports(self, spec: DatasetSpec) -> bool:
        return spec.annotation.type == "transcription"

    def collect(self, batch: pa.RecordBatch, splits: list[str | None]) -> None:
        for s in splits:
            self.seen[str(s)] = self.seen.get(str(s), 0) + 1

    def evaluate(self, metric: str) -> ValidityOutcome:
        return ValidityOutcome(self.name, metric, 0.12, self.seen.get("train", 0), self.seen.get("test", 0))


def test_the_trainer_registry_is_pluggable(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(V.TRAINERS, _MeanDurationTrainer.name, _MeanDurationTrainer)
    fam = F.family("transcription", quality={**F._QUALITY, "validity": {"metric": "cer", "target": 0.15}})
    q = _validity(store, fam, fam.rows())
    assert q["validity"]["trainer"] == "test-mean-duration"
    assert q["validity"]["n_test"] == q["splits"]["records"]["test"]
    check = next(c for c in q["checks"] if c["id"] == "validity.baseline")
    assert (check["status"], check["measured"], check["direction"]) == ("pass", 0.12, "max")  # CER: lower is better
    strict = F.family("transcription", quality={**F._QUALITY, "validity": {"metric": "cer", "target": 0.1}})
    q2 = _validity(store, strict, strict.rows())
    assert next(c for c in q2["checks"] if c["id"] == "validity.baseline")["status"] == "fail"
