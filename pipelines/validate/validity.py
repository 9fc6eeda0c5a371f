"""학습모델 유효성 (model validity): a baseline model trained on the run's train split, scored on its test split.

Trainers are registered in :data:`TRAINERS` (an explicit registry, like converters and sources). A trainer says
which specs it can serve and which metrics it reports, collects a bounded sample of train and test records while
validate streams the batches, then fits and scores. Splits are the ones publish will write (the planned split of
each record comes from the run index), so the score is the one a user would reproduce on the release.

Baselines (scikit-learn, CPU, seconds on a laptop):
- ``text-tfidf-logreg``: single-label text classification (and dialogue intents): TF-IDF over character 2-4
  grams (robust to Korean agglutination without a morphological analyser) and logistic regression;
- ``image-histogram-logreg``: single-label image classification: 8x8x8 RGB colour histograms of a 64 px
  thumbnail and logistic regression.
Both are sanity baselines in the NIA sense ("a model trained on the data learns something"), not the
programme's reference models (KoBERT, YOLO ...); the spec's ``validity.model`` records those. Everything else
is reported as not measured, with the reason.

scikit-learn is imported only when a trainer runs; without it, validity is not measured (and says so).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.annotations import REGISTRY
from pipelines.spec import DatasetSpec
from pipelines.storage import ObjectStore

MAX_TRAIN = 200_000  # records kept for training (text); a baseline needs no more to show it learns
MAX_TEST = 50_000
MAX_IMAGES = 4_000  # images are decoded one by one from storage: keep the baseline to minutes
MIN_TRAIN_CLASSES = 2


@dataclass(frozen=True)
class ValidityOutcome:
    """A baseline's score, or why there is none.

    Attributes:
        trainer: Registry name of the trainer ("" when none applied).
        metric: The spec's metric.
        value: The metric on the test split (None when not measured).
        n_train: Records trained on.
        n_test: Records scored.
        reason: Why the value is None, or a caveat (tiny test split).
    """

    trainer: str
    metric: str
    value: float | None
    n_train: int = 0
    n_test: int = 0
    reason: str = ""


class Trainer(Protocol):
    """A pluggable baseline: registered by name in :data:`TRAINERS`."""

    name: str
    metrics: frozenset[str]

    def supports(self, spec: DatasetSpec) -> bool:
        """Whether this trainer can train on records of this spec."""

    def collect(self, batch: pa.RecordBatch, splits: list[str | None]) -> None:
        """Keep (a bounded sample of) the batch's train and test records."""

    def evaluate(self, metric: str) -> ValidityOutcome:
        """Fit on the train sample and score ``metric`` on the test sample."""


def _label_column(spec: DatasetSpec) -> str:
    return REGISTRY[spec.annotation.type].class_column or "label"


def _score(metric: str, truth: list[str], pred: list[str]) -> float:
    from sklearn.metrics import accuracy_score, f1_score  # type: ignore[import-untyped, import-not-found, unused-ignore]

    if metric == "accuracy":
        return float(accuracy_score(truth, pred))
    average = "macro" if metric == "macro_f1" else "micro"
    return float(f1_score(truth, pred, average=average, zero_division=0))


@dataclass
class _Samples:
    train_x: list[Any] = field(default_factory=list)
    train_y: list[str] = field(default_factory=list)
    test_x: list[Any] = field(default_factory=list)
    test_y: list[str] = field(default_factory=list)

    def add(self, x: Any, y: str, split: str | None, *, max_train: int, max_test: int) -> None:
        if split == "train" and len(self.train_x) < max_train:
            self.train_x.append(x)
            self.train_y.append(y)
        elif split == "test" and len(self.test_x) < max_test:
            self.test_x.append(x)
            self.test_y.append(y)

    def check(self, trainer: str, metric: str) -> ValidityOutcome | None:
        if len(set(self.train_y)) < MIN_TRAIN_CLASSES:
            return ValidityOutcome(trainer, metric, None, len(self.train_x), len(self.test_x),
                                   f"the train split has {len(set(self.train_y))} class(es); a classifier needs 2")
        if not self.test_x:
            return ValidityOutcome(trainer, metric, None, len(self.train_x), 0, "the test split is empty")
        return None


def _fit_predict(train_x: Any, train_y: list[str], test_x: Any) -> list[str]:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped, import-not-found, unused-ignore]

    model = LogisticRegression(max_iter=1000)
    model.fit(train_x, train_y)
    return [str(p) for p in model.predict(test_x)]


def _caveat(n_test: int) -> str:
    return f"only {n_test} test records: the score is indicative" if n_test < 100 else ""


class TextTfidfLogReg:
    """TF-IDF on character 2-4 grams + logistic regression, for single-label text classification."""

    name = "text-tfidf-logreg"
    metrics = frozenset({"accuracy", "macro_f1", "micro_f1"})

    def __init__(self, spec: DatasetSpec) -> None:
        self.label = _label_column(spec)
        self.samples = _Samples()

    def supports(self, spec: DatasetSpec) -> bool:
        return spec.annotation.type in ("classification", "dialogue_intent") and "text" in spec.modality_kinds

    def collect(self, batch: pa.RecordBatch, splits: list[str | None]) -> None:
        texts = batch.column(batch.schema.get_field_index("text")).to_pylist()
        labels = batch.column(batch.schema.get_field_index(self.label)).to_pylist()
        for text, label, split in zip(texts, labels, splits, strict=True):
            if text and label is not None:
                self.samples.add(text, str(label), split, max_train=MAX_TRAIN, max_test=MAX_TEST)

    def evaluate(self, metric: str) -> ValidityOutcome:
        s = self.samples
        missing = s.check(self.name, metric)
        if missing is not None:
            return missing
        from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped, import-not-found, unused-ignore]

        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=1, sublinear_tf=True,
                              max_features=200_000)
        pred = _fit_predict(vec.fit_transform(s.train_x), s.train_y, vec.transform(s.test_x))
        return ValidityOutcome(self.name, metric, _score(metric, s.test_y, pred), len(s.train_x), len(s.test_x),
                               _caveat(len(s.test_x)))


class ImageHistogramLogReg:
    """8x8x8 RGB colour histograms + logistic regression, for single-label image classification."""

    name = "image-histogram-logreg"
    metrics = frozenset({"accuracy", "macro_f1", "micro_f1"})

    def __init__(self, spec: DatasetSpec, store: ObjectStore) -> None:
        self.store = store
        self.label = _label_column(spec)
        self.samples = _Samples()

    def supports(self, spec: DatasetSpec) -> bool:
        return spec.annotation.type == "classification" and "image" in spec.modality_kinds

    def _features(self, key: str) -> list[float]:
        import numpy as np
        from PIL import Image

        with Image.open(io.BytesIO(self.store.read_bytes(key))) as img:
            small = np.asarray(img.convert("RGB").resize((64, 64)), dtype=np.uint8) // 32
        codes = small[..., 0].astype(np.int64) * 64 + small[..., 1] * 8 + small[..., 2]
        hist = np.bincount(codes.ravel(), minlength=512).astype(float)
        return [float(v) for v in hist / hist.sum()]

    def collect(self, batch: pa.RecordBatch, splits: list[str | None]) -> None:
        keys = pc.struct_field(batch.column(batch.schema.get_field_index("media")), "key").to_pylist()
        if "dicom" in batch.schema.names:  # PIL cannot read DICOM: a DICOM item's features come from its display PNG
            shown = pc.struct_field(batch.column(batch.schema.get_field_index("dicom")), "display_key").to_pylist()
            keys = [d or k for d, k in zip(shown, keys, strict=True)]
        labels = batch.column(batch.schema.get_field_index(self.label)).to_pylist()
        cap_train, cap_test = MAX_IMAGES, MAX_IMAGES // 4
        for key, label, split in zip(keys, labels, splits, strict=True):
            if key is None or label is None or split not in ("train", "test"):
                continue
            full = len(self.samples.train_x) >= cap_train if split == "train" else len(self.samples.test_x) >= cap_test
            if not full:
                self.samples.add(self._features(key), str(label), split, max_train=cap_train, max_test=cap_test)

    def evaluate(self, metric: str) -> ValidityOutcome:
        s = self.samples
        missing = s.check(self.name, metric)
        if missing is not None:
            return missing
        pred = _fit_predict(s.train_x, s.train_y, s.test_x)
        return ValidityOutcome(self.name, metric, _score(metric, s.test_y, pred), len(s.train_x), len(s.test_x),
                               _caveat(len(s.test_x)))


# Registry: name -> factory(spec, store). Order matters: the first that supports a spec and its metric serves it.
TRAINERS: dict[str, Callable[[DatasetSpec, ObjectStore], Trainer]] = {
    TextTfidfLogReg.name: lambda spec, store: TextTfidfLogReg(spec),
    ImageHistogramLogReg.name: ImageHistogramLogReg,
}


def select_trainer(spec: DatasetSpec, store: ObjectStore) -> tuple[Trainer | None, str]:
    """The trainer for a spec's validity target, or None and why none applies."""
    v = spec.quality.validity
    if v is None:
        return None, "the spec sets no validity target"
    for factory in TRAINERS.values():
        trainer = factory(spec, store)
        if trainer.supports(spec) and v.metric in trainer.metrics:
            try:
                import sklearn  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: F401
            except ImportError:
                return None, "scikit-learn is not installed (pip install scikit-learn)"
            return trainer, ""
    model = f" (the programme used {v.model})" if v.model else ""
    return None, (f"no baseline trainer registered for {spec.annotation.type} on "
                  f"{'+'.join(sorted(spec.modality_kinds))} reporting {v.metric}{model}")
