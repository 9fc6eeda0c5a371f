"""The synthetic source: seeded, reproducible items for a spec's modality and annotation type.

Item ``i`` depends only on ``(spec, seed, i)``: shards can be cut any way and retried on any worker. A share
of ``source.defect_rate`` items is deliberately broken (truncated files, wrong sample rates, legacy encodings,
duplicates) so that every run exercises intake and quarantine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any, ClassVar

from pipelines.collect.errors import CollectError
from pipelines.collect.sources.base import RawComponent, RawItem, Source, package_version
from pipelines.collect.sources.synthetic import (
    audio,
    image,
    multimodal,
    reading,
    sound_events,
    text,
    timeseries,
    video,
)
from pipelines.collect.sources.synthetic._common import choice, item_rng
from pipelines.collect.sources.synthetic.meta import planned_label, sample_label, sample_meta
from pipelines.pii import TextDeidentifier
from pipelines.pii.dictionaries import spec_dictionaries
from pipelines.spec.models import (
    NER,
    QA,
    TEXT_PII,
    AudioModality,
    Classification,
    DatasetSpec,
    DialogueIntent,
    ImageModality,
    MultiLabel,
    MultimodalModality,
    Summarisation,
    TemporalEvents,
    TextModality,
    TimeseriesModality,
    Translation,
    VideoModality,
    modality_kinds,
)
from pipelines.spec.models import SyntheticSource as SyntheticConfig
from pipelines.storage.store import ObjectStore, S3Settings

# Which defects each modality can be given; intake must catch every one of them.
DEFECTS: dict[str, tuple[str, ...]] = {
    "image": ("truncated", "too_small", "garbage", "duplicate"),
    "audio": ("sample_rate", "too_short", "truncated", "duplicate"),
    "text": ("encoding", "too_short", "duplicate"),
    "timeseries": ("channels", "too_short", "garbage", "duplicate"),
    "video": ("truncated", "too_small", "too_short", "garbage", "duplicate"),
    "multimodal": ("missing_component", "truncated", "duplicate"),
}


def _writable(modality: Any) -> tuple[bool, str, list[str]] | None:
    """For a media modality: can the generator write a format the spec allows, what it writes, what the spec allows.
    None for the modalities checked otherwise (text, multimodal)."""
    if isinstance(modality, ImageModality):
        return (bool(image.writable_formats(modality)),
                f"images can be written as {sorted([*image.WRITERS, 'dicom'])}", list(modality.formats))
    if isinstance(modality, AudioModality):
        return "wav" in modality.formats, "audio is written as WAV", list(modality.formats)
    if isinstance(modality, TimeseriesModality):
        return (bool(timeseries.writable_formats(modality)), f"series are written as {list(timeseries.WRITERS)}",
                list(modality.formats))
    if isinstance(modality, VideoModality):
        return (bool(video.writable_formats(modality)), f"clips can be written as {sorted(video.WRITERS)}",
                list(modality.formats))
    return None


def _damaged(data: bytes, defect: str | None, *, seed: int, index: int) -> bytes:
    """An image or clip with its byte-level defect planted: cut to two thirds, or 2 KiB of noise instead."""
    if defect == "truncated":
        return data[: len(data) * 2 // 3]
    if defect == "garbage":
        return bytes(item_rng(seed, index, "garbage").bytes(2048))
    return data


class SyntheticCollector(Source):
    """Generated items: shape images with boxes, clips of moving shapes, labelled Korean texts with planted PII,
    speech-like WAVs, labelled series."""

    kind: ClassVar[str] = "synthetic"

    def __init__(self, *, spec: DatasetSpec, store: ObjectStore, run_id: str | None = None,
                 s3: S3Settings | None = None) -> None:
        super().__init__(spec=spec, store=store, run_id=run_id, s3=s3)
        assert isinstance(spec.source, SyntheticConfig)
        self.config: SyntheticConfig = spec.source
        self.modality = spec.modality
        writable = _writable(self.modality)
        if writable is not None:
            ok, written_as, allowed = writable
            if not ok:
                raise CollectError(f"{spec.id}: synthetic {written_as}; the spec allows only {allowed}")
        elif isinstance(self.modality, MultimodalModality):
            unsupported = [c.kind for c in self.modality.components if c.kind not in multimodal.KINDS]
            if unsupported:
                raise CollectError(f"{spec.id}: no synthetic {unsupported[0]} component in multimodal items yet "
                                   f"(supported: {', '.join(multimodal.KINDS)})")
        elif not isinstance(self.modality, TextModality):
            raise CollectError(
                f"{spec.id}: no synthetic generator for modality {self.modality.kind!r} yet "
                "(image, video, audio, text and timeseries are supported)"
            )
        self.dictionaries = spec_dictionaries(spec)
        speaks = isinstance(self.modality, AudioModality) or (
            isinstance(self.modality, MultimodalModality) and "audio" in modality_kinds(self.modality))
        self.engine = audio.speech_engine() if speaks else ""
        self._typed_rules: TextDeidentifier | None = None

    @property
    def collector(self) -> str:
        base = f"datadam-synthetic/{package_version()}"
        return f"{base}+{self.engine}" if self.engine else base

    def plan_size(self, *, limit: int | None = None) -> int:
        return self.config.items if limit is None else max(0, limit)

    def source_uri(self, index: int) -> str:
        return f"synthetic://{self.spec.id}/{self.config.seed}/{index}"

    def items(self, *, start: int, count: int) -> Iterator[RawItem]:
        for index in range(start, start + count):
            try:
                yield self.item(index)
            except Exception as exc:  # one failing item must not lose the shard: it is quarantined instead
                yield RawItem(
                    index=index,
                    source_uri=self.source_uri(index),
                    data=b"",
                    ext="",
                    error=f"{type(exc).__name__}: {exc}",
                )

    def item(self, index: int) -> RawItem:
        """Item ``index`` (with its defect, if it drew one)."""
        seed = self.config.seed
        meta = sample_meta(self.spec, seed=seed, index=index)
        defect = self.defect(index)
        if isinstance(self.modality, MultimodalModality):
            comps, truth = self._multimodal(self.modality, index - 1 if defect == "duplicate" else index, defect)
            main = next(c for c in comps if c.kind == self.modality.primary)
            return RawItem(index=index, source_uri=self.source_uri(index), data=main.data, ext=main.ext,
                           truth=truth, meta=meta, components=comps)
        if defect == "duplicate":
            data, ext, truth = self._content(index - 1, None)
        else:
            data, ext, truth = self._content(index, defect)
        return RawItem(
            index=index, source_uri=self.source_uri(index), data=data, ext=ext, truth=truth, meta=meta
        )

    def sample_truth(self, index: int) -> dict[str, Any] | None:
        """The ground truth item ``index`` carries (defects ignored), made as cheaply as the modality allows.

        Only the truth's shape is wanted (a preflight asks whether annotators could work from it), so clips are
        drawn small and short instead of at the spec's full resolution.
        """
        mod = self.modality
        if isinstance(mod, VideoModality):
            return video.make_video(self.spec, mod, seed=self.config.seed, index=index, scale=0.1,
                                    duration_s=mod.min_duration_s)[2]
        if isinstance(mod, MultimodalModality):
            return self._multimodal(mod, index, None, scale=0.1)[1]
        return self._content(index, None)[2]

    def _multimodal(self, mod: MultimodalModality, index: int, defect: str | None, *, scale: float = 1.0
                    ) -> tuple[tuple[RawComponent, ...], dict[str, Any] | None]:
        """The component files of item ``index`` (with its defect) and its truth (``multimodal.compose``)."""
        parts, truth = multimodal.compose(self.spec, mod, seed=self.config.seed, index=index, engine=self.engine,
                                          dictionaries=self.dictionaries, scale=scale, reading=self._reading)
        comps = [RawComponent(kind=k, data=data, ext=ext, source_uri=f"{self.source_uri(index)}.{ext}")
                 for k, (data, ext) in parts.items()]
        if defect == "missing_component":
            comps = [c for c in comps if c.kind == mod.primary]
        elif defect == "truncated":
            comps = [replace(c, data=c.data[: len(c.data) * 2 // 3]) if c.kind == mod.primary else c
                     for c in comps]
        return tuple(comps), truth

    def defect(self, index: int) -> str | None:
        """The defect item ``index`` carries, or None (a share of ``defect_rate`` items carry one)."""
        rng = item_rng(self.config.seed, index, "defect")
        if self.config.defect_rate <= 0 or rng.random() >= self.config.defect_rate:
            return None
        options = [d for d in DEFECTS[self.modality.kind] if d != "duplicate" or index > 0]
        return choice(rng, options)

    def _content(self, index: int, defect: str | None) -> tuple[bytes, str, dict[str, Any] | None]:
        seed, spec = self.config.seed, self.spec
        mod = self.modality
        if isinstance(mod, ImageModality):
            data, ext, truth = image.make_image(
                spec, mod, seed=seed, index=index, scale=0.5 if defect == "too_small" else 1.0
            )
            return _damaged(data, defect, seed=seed, index=index), ext, truth
        if isinstance(mod, VideoModality):
            data, ext, truth = video.make_video(
                spec,
                mod,
                seed=seed,
                index=index,
                scale=0.5 if defect == "too_small" else 1.0,
                duration_s=mod.min_duration_s / 4 if defect == "too_short" else None,
            )
            return _damaged(data, defect, seed=seed, index=index), ext, truth
        if isinstance(mod, AudioModality):
            kw: dict[str, Any] = {}
            if defect == "sample_rate":
                kw["sample_rate"] = next(r for r in (44100, 8000, 22050, 48000) if r not in mod.sample_rates)
            elif defect == "too_short":
                kw["duration_s"] = mod.min_duration_s / 4
            if isinstance(spec.annotation, TemporalEvents):
                data, truth = sound_events.make_events_audio(spec, mod, seed=seed, index=index, **kw)
            else:
                data, truth = audio.make_audio(
                    spec, mod, seed=seed, index=index, engine=self.engine, dictionaries=self.dictionaries, **kw
                )
            if defect == "truncated":
                data = data[: len(data) // 2]
            return data, "wav", truth
        if isinstance(mod, TimeseriesModality):
            data, ext, truth = timeseries.make_series(
                spec,
                mod,
                seed=seed,
                index=index,
                duration_s=mod.min_duration_s / 4 if defect == "too_short" else None,
                drop_channel=defect == "channels",
            )
            if defect == "garbage":
                data = item_rng(seed, index, "garbage").bytes(1024)
            return data, ext, truth
        assert isinstance(mod, TextModality)
        return self._text(mod, index, defect)

    def _text(
        self, mod: TextModality, index: int, defect: str | None
    ) -> tuple[bytes, str, dict[str, Any] | None]:
        seed, spec = self.config.seed, self.spec
        rng = item_rng(seed, index, "label")
        a = spec.annotation
        truth: dict[str, Any] | None = None
        labels: list[str] = []
        if isinstance(a, Classification | DialogueIntent):
            labels = [planned_label(spec, seed=seed, index=index)]
            truth = {"label": labels[0]}
        elif isinstance(a, MultiLabel):
            labels = sorted({sample_label(spec, rng) for _ in range(int(rng.integers(1, 3)))})
            truth = {"labels": labels}
        if isinstance(a, NER | QA | Summarisation | Translation):
            body, truth = self._reading(mod, index)
        else:
            body, _ = text.compose(
                spec, mod, seed=seed, index=index, labels=labels, dictionaries=self.dictionaries
            )
        if defect == "too_short":
            body = "네."
        fmt = next(f for f in ("txt", "jsonl", "json", "csv") if f in mod.formats)
        wrapped = text.wrap(body, fmt=fmt, index=index)
        enc_rng = item_rng(seed, index, "encoding")
        data, _ = (
            text.encode(wrapped, enc_rng, list(mod.encodings)) if isinstance(wrapped, str) else (wrapped, "")
        )
        if defect == "encoding":
            # Bytes no accepted encoding decodes: a legacy export in an encoding the spec does not accept.
            data = (
                b"\xff\xfe\x00" + wrapped.encode("utf-16-le") if isinstance(wrapped, str) else b"\xff" + data
            )
        return data, fmt, truth

    def _reading(self, mod: TextModality, index: int) -> tuple[str, dict[str, Any]]:
        """A text whose answer is planted while it is written (entities, QA pairs, summary, translation)."""
        seed, spec, a = self.config.seed, self.spec, self.spec.annotation
        if isinstance(a, Translation):
            return reading.compose_translation(spec, mod, seed=seed, index=index)
        compose = (reading.compose_ner if isinstance(a, NER) else reading.compose_qa if isinstance(a, QA)
                   else reading.compose_summary)
        return compose(spec, mod, seed=seed, index=index, dictionaries=self.dictionaries, clean=self._untouched)

    def _untouched(self, value: str) -> bool:
        """Whether refine's rules for annotator-typed text (the strictest: the spec's targets, the always-masked
        identifiers and names) find nothing in ``value``; compiled on first use."""
        if self._typed_rules is None:
            targets = (set(self.spec.deidentify.targets) & TEXT_PII) | {"names"}
            self._typed_rules = TextDeidentifier(targets=sorted(targets), dictionaries=self.dictionaries)
        return not self._typed_rules.mask(value)[1]
